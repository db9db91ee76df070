// Contract fixture for the `pkcs11` provider against a real SoftHSM2 token
// (tests/support/softhsm.h) holding one imported AES key. Token changes are
// made by another process, behind the open provider instance.
#include <filesystem>
#include <functional>

#include "provider_fixture.h"
#include "support/softhsm.h"

namespace {

namespace fs = std::filesystem;
using cmkfs::keys::KeyRef;

const std::string kKeyLabel = "contract";
const std::string kOtherPin = "1357-changed-by-admin";

class Pkcs11Fixture : public cmkfs::contract::UndoingFixture {
public:
    Pkcs11Fixture() : key_uri_(hsm_.create_aes_key(kKeyLabel)) {}

    std::string plugin() const override { return "pkcs11"; }
    std::vector<std::string> options() const override { return hsm_.provider_options(); }

    // The token user is the identity; the plugin logs in with the PIN file.
    KeyRef good_key() const override { return {key_uri_, "token-user"}; }
    std::string missing_key_id() const override { return "pkcs11:token=" + hsm_.token_label() + ";object=nosuchkey"; }

    // The token's PIN is changed by an administrator; the PIN file the
    // provider reads still holds the old one.
    void make_denied() override {
        const std::string old_pin = hsm_.user_pin();
        hsm_.change_pin(kOtherPin);
        undo_with([this, old_pin] { hsm_.change_pin(old_pin); });
    }
    // Deleted from the token; restore imports the same material, label and id.
    void make_missing() override {
        hsm_.delete_key(kKeyLabel);
        undo_with([this] { hsm_.reimport_key(kKeyLabel); });
    }
    // The token is removed: its directory leaves SoftHSM2's token directory,
    // so the next C_Initialize no longer lists it (like an unplugged HSM).
    void make_unavailable() override {
        const fs::path tokens = hsm_.dir() / "tokens";
        const fs::path removed = hsm_.dir() / "tokens-removed";
        fs::create_directories(removed);
        for (const auto &entry : fs::directory_iterator(tokens))
            fs::rename(entry.path(), removed / entry.path().filename());
        undo_with([tokens, removed] {
            for (const auto &entry : fs::directory_iterator(removed))
                fs::rename(entry.path(), tokens / entry.path().filename());
        });
    }

private:
    cmkfs::test::SoftHsm hsm_;
    std::string key_uri_;
};

}  // namespace

CMKFS_REGISTER_PROVIDER_FIXTURE("pkcs11", Pkcs11Fixture);
