#include "credhelper/protocol.h"

#include <nlohmann/json.hpp>

#ifndef CMKFS_VERSION
#define CMKFS_VERSION "unknown"
#endif

namespace cmkfs::credhelper {

namespace {

std::string trimmed(std::string_view s) {
    const auto first = s.find_first_not_of(" \t\r\n");
    if (first == std::string_view::npos) return "";
    return std::string(s.substr(first, s.find_last_not_of(" \t\r\n") - first + 1));
}

std::string server_url_from(std::string_view input) {
    std::string url = trimmed(input);
    if (url.empty()) throw HelperError(kMissingServerUrl);
    return url;
}

std::string string_field(const nlohmann::json &doc, const char *name) {
    auto it = doc.find(name);
    if (it == doc.end() || it->is_null()) return "";
    if (!it->is_string()) throw HelperError(std::string("credentials field ") + name + " must be a string");
    return it->get<std::string>();
}

struct StoreRequest {
    std::string url;
    format::RegistryCredential credential;
};

StoreRequest parse_store_input(std::string_view input) {
    nlohmann::json doc;
    try {
        doc = nlohmann::json::parse(input);
    } catch (const nlohmann::json::exception &) {
        // parse_error, and out_of_range for a number too large for a double
        // (its message quotes the number): the input holds a secret, never echoed.
        doc = nullptr;
    }
    if (!doc.is_object()) throw HelperError("credentials to store are not a JSON object");
    StoreRequest request{string_field(doc, "ServerURL"), {string_field(doc, "Username"), string_field(doc, "Secret")}};
    if (request.url.empty()) throw HelperError(kMissingServerUrl);
    if (request.credential.username.empty()) throw HelperError(kMissingUsername);
    return request;
}

std::string get(std::string_view input, CredentialBackend &backend) {
    const std::string url = server_url_from(input);
    const auto all = backend.read();
    const auto it = all.find(url);
    if (it == all.end()) throw HelperError(kNotFound);
    return nlohmann::json{{"ServerURL", url}, {"Username", it->second.username}, {"Secret", it->second.secret}}
               .dump() +
           "\n";
}

void erase(std::string_view input, CredentialBackend &backend) {
    const std::string url = server_url_from(input);
    bool found = false;
    backend.update([&](format::RegistryCredentials &all) { found = all.erase(url) > 0; });
    if (!found) throw HelperError(kNotFound);
}

std::string list(CredentialBackend &backend) {
    nlohmann::json doc = nlohmann::json::object();
    for (const auto &[url, credential] : backend.read()) doc[url] = credential.username;
    return doc.dump() + "\n";
}

}  // namespace

std::string run_action(std::string_view action, std::string_view input, const BackendFactory &open_backend) {
    if (action == "version") return "docker-credential-cmkfs (cmkfs) " CMKFS_VERSION "\n";
    if (action != "store" && action != "get" && action != "erase" && action != "list")
        throw HelperError("Unknown credential action `" + std::string(action) + "`");
    // Input errors come before the key is touched.
    if (action == "get" || action == "erase") server_url_from(input);
    if (action == "store") {
        StoreRequest request = parse_store_input(input);
        open_backend()->update(
            [&](format::RegistryCredentials &all) { all[request.url] = std::move(request.credential); });
        return "";
    }
    auto backend = open_backend();
    if (action == "get") return get(input, *backend);
    if (action == "erase") {
        erase(input, *backend);
        return "";
    }
    return list(*backend);
}

}  // namespace cmkfs::credhelper
