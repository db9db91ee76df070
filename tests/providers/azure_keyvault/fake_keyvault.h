// The fake Azure Key Vault (fake_keyvault.py) run by a test: a private CA and
// server certificate made with openssl, the server started on 127.0.0.1 and
// killed by its PID when the object goes away, control through its /_control
// endpoint and the requests it served read back from its JSON-lines log.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "support/process.h"

namespace cmkfs::test {

class FakeKeyVault {
public:
    FakeKeyVault();
    ~FakeKeyVault();
    FakeKeyVault(const FakeKeyVault &) = delete;
    FakeKeyVault &operator=(const FakeKeyVault &) = delete;

    int port() const { return port_; }
    std::string vault_url() const { return "https://127.0.0.1:" + std::to_string(port_); }
    std::string key_url(const std::string &name) const { return vault_url() + "/keys/" + name; }
    std::string imds_endpoint() const {
        return "http://127.0.0.1:" + std::to_string(imds_port_) + "/metadata/identity/oauth2/token";
    }
    std::string ca_file() const { return dir_ / "ca.pem"; }
    TempDir &scratch() { return dir_; }

    // POST /_control; throws with the server's answer when it is not 200.
    nlohmann::json control(const nlohmann::json &request);
    std::string create_key(const std::string &name);  // a new version; returns its kid
    void add_identity(const std::string &client_id, const std::vector<std::string> &permissions = {
                                                        "get", "wrapKey", "unwrapKey"});
    void set_enabled(const std::string &name, bool enabled, const std::string &version = "");
    void fault(const std::string &target, int status, int count, int retry_after = -1);

    // Options that point the provider at this fake (imds_endpoint, ca_file,
    // authority_host) with short retry delays, plus `extra`.
    std::vector<std::string> provider_options(const std::vector<std::string> &extra = {}) const;

    // Every request served so far (control requests excluded), oldest first;
    // optionally only those of one server: "vault", "imds" or "aad".
    std::vector<nlohmann::json> requests(const std::string &server = "") const;
    void clear_requests();

private:
    TempDir dir_;
    pid_t pid_ = -1;
    int port_ = 0;
    int imds_port_ = 0;
};

}  // namespace cmkfs::test
