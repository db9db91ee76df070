#include "key_id.h"

#include <cctype>
#include <string_view>

#include "azure_error.h"

namespace cmkfs::azure {

namespace {

[[noreturn]] void bad(const std::string &text, const std::string &why) {
    throw AzureError(CMKFS_ERR_INVALID, "invalid Azure Key Vault key id '" + text + "': " + why +
                                            " (expected https://VAULT.vault.azure.net/keys/NAME[/VERSION])");
}

bool valid_host(const std::string &h) {
    if (h.empty() || h.size() > 253) return false;
    for (char c : h)
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '.') return false;
    return true;
}

// Key Vault names: 1-127 of [0-9a-zA-Z-]; versions: [0-9a-zA-Z] (32 hex in practice).
bool valid_name(const std::string &s, bool dash_ok) {
    if (s.empty() || s.size() > 127) return false;
    for (char c : s)
        if (!std::isalnum(static_cast<unsigned char>(c)) && !(dash_ok && c == '-')) return false;
    return true;
}

}  // namespace

std::string KeyId::str() const { return key_url(); }

KeyId parse_key_id(const std::string &text) {
    const std::string scheme = "https://";
    if (text.compare(0, scheme.size(), scheme) != 0) bad(text, "not an https URL");
    std::string rest = text.substr(scheme.size());
    auto slash = rest.find('/');
    if (slash == std::string::npos) bad(text, "no key path");
    std::string authority = rest.substr(0, slash);
    std::string path = rest.substr(slash + 1);
    if (authority.find('@') != std::string::npos) bad(text, "user info is not allowed");
    KeyId id;
    id.host = authority;
    if (auto colon = authority.rfind(':'); colon != std::string::npos) {
        std::string port = authority.substr(colon + 1);
        if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos)
            bad(text, "bad port");
        id.host = authority.substr(0, colon);
    }
    for (auto &c : id.host) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (!valid_host(id.host)) bad(text, "bad host name");
    id.vault_url = scheme + authority;
    if (path.find_first_of("?#") != std::string::npos) bad(text, "query or fragment is not allowed");
    while (!path.empty() && path.back() == '/') path.pop_back();
    if (path.compare(0, 5, "keys/") != 0) bad(text, "the path must start with /keys/");
    path = path.substr(5);
    auto sep = path.find('/');
    id.name = path.substr(0, sep);
    if (sep != std::string::npos) id.version = path.substr(sep + 1);
    if (!valid_name(id.name, true)) bad(text, "bad key name");
    if (!id.version.empty() && !valid_name(id.version, false)) bad(text, "bad key version");
    return id;
}

bool is_key_vault_host(const std::string &host) {
    static constexpr const char *kDomains[] = {
        ".vault.azure.net",          ".managedhsm.azure.net",          // public cloud
        ".vault.azure.cn",           ".managedhsm.azure.cn",           // Azure China
        ".vault.usgovcloudapi.net",  ".managedhsm.usgovcloudapi.net",  // US Government
        ".vault.microsoftazure.de",                                    // Germany (legacy)
    };
    for (std::string_view domain : kDomains)
        if (host.size() > domain.size() && host.compare(host.size() - domain.size(), domain.size(), domain) == 0)
            return true;
    return false;
}

void require_trusted_vault_host(const KeyId &key, const std::vector<std::string> &allowed) {
    if (is_key_vault_host(key.host)) return;
    for (const auto &h : allowed)
        if (h == key.host) return;
    throw AzureError(CMKFS_ERR_INVALID,
                     "azure-keyvault: refusing to send a token for key " + key.str() + " to " + key.host +
                         ": not a Key Vault or Managed HSM host (*.vault.azure.net, *.managedhsm.azure.net or a "
                         "sovereign cloud's); allow-list it with the provider option allowed_hosts= in the "
                         "store's binding or the config");
}

}  // namespace cmkfs::azure
