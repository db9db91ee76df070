// Contract fixture for the `local` vault provider, driven by the real
// `cmkfs vault` CLI (tests/support/process.h LocalVault).
#include <unistd.h>

#include <filesystem>

#include "provider_fixture.h"
#include "support/process.h"

namespace {

using cmkfs::keys::KeyRef;

class LocalFixture : public cmkfs::contract::UndoingFixture {
public:
    LocalFixture() : vault_(tmp_ / "vault") {}

    std::string plugin() const override { return "local"; }
    std::vector<std::string> options() const override { return {"vault=" + vault_.dir}; }

    // Version-less: the provider resolves it to the latest version.
    KeyRef good_key() const override {
        return {vault_.kid.substr(0, vault_.kid.rfind('/')), vault_.identity};
    }
    std::string missing_key_id() const override { return "local://" + vault_.dir + "/keys/nosuchkey"; }

    void make_denied() override {
        vault_.delete_policy();
        undo_with([this] { vault_.set_policy({"get", "wrapKey", "unwrapKey"}); });
    }
    void make_missing() override {
        vault_.delete_key();
        undo_with([this] { vault_.recover_key(); });
    }
    // A path component that is a file where the vault expects a directory
    // fails with ENOTDIR: an I/O failure (as a lost network share would give),
    // which the vault reports as unavailable, unlike ENOENT (not found).
    void make_unavailable() override {
        const std::string keys = vault_.dir + "/keys";
        std::filesystem::rename(keys, keys + ".offline");
        cmkfs::test::write_file(keys, "offline\n");
        undo_with([keys] {
            std::filesystem::remove(keys);
            std::filesystem::rename(keys + ".offline", keys);
        });
    }

private:
    cmkfs::test::TempDir tmp_;
    cmkfs::test::LocalVault vault_;
};

}  // namespace

CMKFS_REGISTER_PROVIDER_FIXTURE("local", LocalFixture);
