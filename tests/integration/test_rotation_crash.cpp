// Crash safety of key rotation (issue 5 §4): at every step of a rotation the
// process is killed (SIGKILL) or the step fails with ENOSPC, through the
// CMKFS_FAULT hook, both offline (the CLI on a backing directory) and online
// (the mount daemon). Afterwards the store opens with the old key or with the
// new key, as the step says, never with neither: the other key is deleted and
// the store still mounts and reads. The audit trail names the outcome.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

#include "integration/rotation_support.h"
#include "support/process.h"

using namespace cmkfs::test;
using namespace cmkfs::test::rotation;

namespace {

struct Step {
    std::string name;
    bool header_replaced;  // the rename has happened when the fault hits
};

const std::vector<Step> kSteps = {
    {"begin", false}, {"unwrap", false}, {"wrap", false},     {"verify", false}, {"write", false},
    {"fsync", false}, {"rename", false}, {"fsync-dir", true}, {"commit", true},
};

constexpr unsigned kFiles = 6;

void write_files(const MountedStore &store) {
    for (unsigned i = 0; i < kFiles; ++i) write_file(store.path("f" + std::to_string(i)), content_for(i));
}

void check_files(const MountedStore &store) {
    for (unsigned i = 0; i < kFiles; ++i) CHECK(read_file(store.path("f" + std::to_string(i))) == content_for(i));
}

// Sets CMKFS_FAULT for the children started while it lives (the daemon reads
// it at its first fault point; spawned children copy the environment).
class FaultEnv {
public:
    explicit FaultEnv(const std::string &value) { ::setenv("CMKFS_FAULT", value.c_str(), 1); }
    ~FaultEnv() { ::unsetenv("CMKFS_FAULT"); }
    FaultEnv(const FaultEnv &) = delete;
    FaultEnv &operator=(const FaultEnv &) = delete;
};

// What must hold after the fault, whichever path: the header names exactly the
// key the step implies, the audit trail agrees, the other key is not needed.
void check_outcome(MountedStore &store, const Step &step, const std::string &kind, const std::string &audit,
                   const std::string &old_kid, const std::string &new_kid) {
    const std::string expected = step.header_replaced ? new_kid : old_kid;
    const auto header = header_of(store.backing());
    CHECK(header.at("versioned_key_id") == expected);

    const auto events = audit_events(audit);
    std::vector<nlohmann::json> rotation;
    for (const auto &e : events)
        if (e.value("event", "").rfind("rotation-", 0) == 0) rotation.push_back(e);
    REQUIRE_FALSE(rotation.empty());
    CHECK(rotation.front().at("event") == "rotation-started");
    CHECK(rotation.front().at("fromKeyId") == old_kid);
    CHECK(rotation.front().at("toKeyId") == new_kid);
    if (kind == "kill") {
        CHECK(rotation.size() == 1);  // died after "started"; the header tells the rest
    } else {
        REQUIRE(rotation.size() == 2);
        CHECK(rotation.back().at("event") == "rotation-aborted");
        CHECK(rotation.back().at("inEffectKeyId") == expected);
        CHECK(rotation.back().at("headerChanged") == step.header_replaced);
        CHECK(rotation.back().at("error").get<std::string>().find("No space left on device") != std::string::npos);
    }

    // Never with neither: retire the key the header does not name, then open.
    const std::string other = expected == old_kid ? "k2" : "k";
    auto del = cli({"vault", "key", "delete", "--vault", store.vault().dir, "--name", other});
    REQUIRE(del.exit_code == 0);
    auto status = show(store.backing());
    CHECK(status.at("keyState").at("state") == "accessible");
    auto fsck = cli({"fsck", store.backing()});
    INFO(fsck.out << fsck.err);
    CHECK(fsck.exit_code == 0);
    store.mount();
    check_files(store);
    CHECK(events_named(audit, "unlock").back().at("keyId") == expected);
}

}  // namespace

TEST_CASE("offline rotation: kill -9 or ENOSPC at any step leaves a store that opens with the old or the new key",
          "[rotation][crash]") {
    const auto step = kSteps[GENERATE(range(size_t{0}, kSteps.size()))];
    const std::string kind = GENERATE(as<std::string>{}, "kill", "enospc");
    INFO("fault: rotate:" << step.name << ":" << kind << " (offline)");

    TempDir cfgdir;
    const std::string audit = cfgdir / "audit.log";
    const std::string config = audit_config(cfgdir, audit);
    MountedStore::Options options;
    options.mount_args = {"--config", config};
    MountedStore store(options);
    write_files(store);
    store.unmount();
    const std::string old_kid = store.vault().kid;
    const std::string new_kid = store.vault().create_key("k2");

    auto r = run({"env", "CMKFS_FAULT=rotate:" + step.name + ":" + kind, cmkfs_binary(), "encryption", "rotate-key",
                  store.backing(), "--key-encryption-key", new_kid, "--config", config});
    INFO("rotate-key: exit " << r.exit_code << ": " << r.err);
    if (kind == "kill") {
        CHECK(r.exit_code == 128 + 9);
    } else {
        CHECK(r.exit_code == 1);
        CHECK(r.err.find("No space left on device") != std::string::npos);
        CHECK(r.err.find("rotate:" + step.name) != std::string::npos);
    }
    check_outcome(store, step, kind, audit, old_kid, new_kid);
}

TEST_CASE("online rotation: the daemon killed or hitting ENOSPC at any step leaves the old or the new key",
          "[rotation][crash]") {
    const auto step = kSteps[GENERATE(range(size_t{0}, kSteps.size()))];
    const std::string kind = GENERATE(as<std::string>{}, "kill", "enospc");
    INFO("fault: rotate:" << step.name << ":" << kind << " (online)");

    TempDir cfgdir;
    const std::string audit = cfgdir / "audit.log";
    auto options = MountedStore::Options::unmounted();
    options.mount_args = {"-o", "check_interval=1s", "--config", audit_config(cfgdir, audit)};
    MountedStore store(options);
    {
        FaultEnv fault("rotate:" + step.name + ":" + kind);
        store.mount();
    }
    write_files(store);
    const std::string old_kid = store.vault().kid;
    const std::string new_kid = store.vault().create_key("k2");

    auto r = cli({"encryption", "rotate-key", store.mountpoint(), "--key-encryption-key", new_kid});
    INFO("rotate-key: exit " << r.exit_code << ": " << r.err << "\ndaemon log:\n" << store.daemon_log());
    CHECK(r.exit_code != 0);
    if (kind == "kill") {
        CHECK(r.err.find("closed the control connection") != std::string::npos);
        store.kill_daemon();  // reaps it and detaches the dead mount
    } else {
        CHECK(r.err.find("No space left on device") != std::string::npos);
        // The mount carries on, unlocked, with the key the header names.
        CHECK(show(store.mountpoint()).at("keyState").at("state") == "unlocked");
        check_files(store);
        std::this_thread::sleep_for(1500ms);  // a key check with the header as it is now
        CHECK(show(store.mountpoint()).at("keyState").at("state") == "unlocked");
        store.unmount();
    }
    check_outcome(store, step, kind, audit, old_kid, new_kid);
}

TEST_CASE("after an aborted rotation a retry succeeds", "[rotation][crash]") {
    TempDir cfgdir;
    const std::string audit = cfgdir / "audit.log";
    const std::string config = audit_config(cfgdir, audit);
    MountedStore::Options options;
    options.mount_args = {"--config", config};
    MountedStore store(options);
    write_files(store);
    store.unmount();
    const std::string new_kid = store.vault().create_key("k2");

    auto r = run({"env", "CMKFS_FAULT=rotate:rename:kill", cmkfs_binary(), "encryption", "rotate-key",
                  store.backing(), "--key-encryption-key", new_kid, "--config", config});
    REQUIRE(r.exit_code == 128 + 9);
    auto header_temporaries = [&] {
        int n = 0;
        for (const auto &e : std::filesystem::directory_iterator(store.backing()))
            n += e.path().filename().string().rfind(".cmkfs.volume.tmp.", 0) == 0 ? 1 : 0;
        return n;
    };
    CHECK(header_temporaries() == 1);  // the killed rotation's temporary; readers ignore it

    r = cli({"encryption", "rotate-key", store.backing(), "--key-encryption-key", new_kid, "--config", config});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    CHECK(header_of(store.backing()).at("versioned_key_id") == new_kid);
    CHECK(events_named(audit, "rotation-committed").size() == 1);
    CHECK(header_temporaries() == 0);  // the next header write removed the dead writer's temporary
    auto del = cli({"vault", "key", "delete", "--vault", store.vault().dir, "--name", "k"});
    REQUIRE(del.exit_code == 0);
    store.mount();
    check_files(store);
}
