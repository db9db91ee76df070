// The provider's options ("key=value" strings from the volume header and the
// config), parsed and checked once at open. See docs/providers/azure-keyvault.md.
#pragma once

#include <chrono>
#include <string>
#include <vector>

namespace cmkfs::azure {

using Millis = std::chrono::milliseconds;

enum class CredentialKind { managed_identity, client_secret };
enum class CheckMode { roundtrip, get };

struct Settings {
    CredentialKind credential = CredentialKind::managed_identity;
    std::string imds_endpoint = "http://169.254.169.254/metadata/identity/oauth2/token";
    std::string authority_host = "https://login.microsoftonline.com";
    std::string tenant_id;
    std::string client_secret_file;
    std::string client_id;  // overrides the volume's identity for authentication
    std::string resource;   // empty: derived from the vault host
    std::string ca_file;    // empty: the system's CA store
    Millis connect_timeout{5000};
    Millis timeout{15000};  // one HTTP exchange
    int max_retries = 4;    // transient failures retried at most this often
    Millis retry_budget{30000};  // a call gives up on transient failures after this long
    Millis retry_base{500};      // first backoff; doubles each retry
    CheckMode check = CheckMode::roundtrip;
    // Hosts besides Key Vault's and Managed HSM's own domains that may receive
    // a token (a private endpoint, a test vault). Exact names, lower case.
    std::vector<std::string> allowed_hosts;
};

// Throws AzureError(INVALID) naming the offending option.
Settings parse_settings(const char *const *options);

}  // namespace cmkfs::azure
