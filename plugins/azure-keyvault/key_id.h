// Key Vault key identifiers: https://VAULT-HOST[:PORT]/keys/NAME[/VERSION].
// A version-less id means "the latest version".
#pragma once

#include <string>

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

}  // namespace cmkfs::azure
