// Contract fixture for the `exec` provider running the example key service
// examples/exec-openssl/cmkfs-kms-openssl (RSA-OAEP through the openssl CLI).
#include <string>
#include <vector>

#include "provider_fixture.h"
#include "support/example_kms.h"

namespace {

using cmkfs::keys::KeyRef;

class ExecFixture : public cmkfs::contract::UndoingFixture {
public:
    ExecFixture() : kms_(tmp_.path()) {}

    std::string plugin() const override { return "exec"; }
    std::vector<std::string> options() const override { return kms_.provider_options(); }

    KeyRef good_key() const override { return {"openssl:k", kms_.identity}; }
    std::string missing_key_id() const override { return "openssl:nosuchkey"; }

    void make_denied() override { change({"revoke", "k", kms_.identity}, {"grant", "k", kms_.identity}); }
    void make_missing() override { change({"delete", "k"}, {"recover", "k"}); }
    void make_unavailable() override { change({"offline"}, {"online"}); }

private:
    void change(const std::vector<std::string> &how, const std::vector<std::string> &undo) {
        kms_.admin(how);
        undo_with([this, undo] { kms_.admin(undo); });
    }

    cmkfs::test::TempDir tmp_;
    cmkfs::test::ExampleKms kms_;
};

}  // namespace

CMKFS_REGISTER_PROVIDER_FIXTURE("exec", ExecFixture);
