// Key Vault key identifiers: https://VAULT-HOST[:PORT]/keys/NAME[/VERSION].
// A version-less id means "the latest version".
#pragma once

#include <string>
#include <vector>

namespace cmkfs::azure {

struct KeyId {
    std::string vault_url;  // https://host[:port], no trailing slash
    std::string host;       // host without port, lower case
    std::string name;
    std::string version;    // empty: latest

    std::string str() const;
    std::string key_url() const { return vault_url + "/keys/" + name + (version.empty() ? "" : "/" + version); }
};

// Throws AzureError(INVALID) naming what is wrong.
KeyId parse_key_id(const std::string &text);

// The domains of Key Vault and Managed HSM, public and sovereign clouds: the
// only hosts a bearer token is sent to unless allow-listed.
bool is_key_vault_host(const std::string &host);

// Throws AzureError(INVALID) unless key.host is a Key Vault host or in
// `allowed` (the allowed_hosts= option, from trusted configuration only).
void require_trusted_vault_host(const KeyId &key, const std::vector<std::string> &allowed);

}  // namespace cmkfs::azure
