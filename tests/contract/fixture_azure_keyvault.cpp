// Contract fixture for the `azure-keyvault` provider against the fake Azure
// Key Vault (tests/providers/azure_keyvault/fake_keyvault.py: a local HTTPS server implementing
// Key Vault's REST contract with real RSA-OAEP-256, plus IMDS).
#include <functional>

#include "providers/azure_keyvault/fake_keyvault.h"
#include "provider_fixture.h"

namespace {

using cmkfs::keys::KeyRef;

const std::string kIdentity = "c0ffee00-0000-4000-8000-000000000001";
const std::vector<std::string> kPermissions = {"get", "wrapKey", "unwrapKey"};
const std::string kKeyName = "contract";

class AzureKeyVaultFixture : public cmkfs::contract::UndoingFixture {
public:
    AzureKeyVaultFixture() {
        vault_.add_identity(kIdentity, kPermissions);
        vault_.create_key(kKeyName);
    }

    std::string plugin() const override { return "azure-keyvault"; }
    // Outages fail fast: one retry, short waits.
    std::vector<std::string> options() const override {
        return vault_.provider_options({"max_retries=1", "retry_budget=2s"});
    }

    // Version-less: the provider resolves it to the latest version.
    KeyRef good_key() const override { return {vault_.key_url(kKeyName), kIdentity}; }
    std::string missing_key_id() const override { return vault_.key_url("nosuchkey"); }

    // The identity's access policy is removed from the vault.
    void make_denied() override {
        vault_.control({{"op", "delete_policy"}, {"identity", kIdentity}});
        undo_with([this] { vault_.control({{"op", "set_policy"}, {"identity", kIdentity}, {"permissions", kPermissions}}); });
    }
    // Soft-deleted; restore recovers it with the same material.
    void make_missing() override {
        vault_.control({{"op", "delete_key"}, {"name", kKeyName}});
        undo_with([this] { vault_.control({{"op", "recover_key"}, {"name", kKeyName}}); });
    }
    // The vault answers 503 Service Unavailable to everything.
    void make_unavailable() override {
        vault_.fault("vault", 503, 1000000);
        undo_with([this] { vault_.control({{"op", "clear_faults"}}); });
    }

private:
    cmkfs::test::FakeKeyVault vault_;
};

}  // namespace

CMKFS_REGISTER_PROVIDER_FIXTURE("azure-keyvault", AzureKeyVaultFixture);
