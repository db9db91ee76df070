// The exec provider end to end with the real binary, a real FUSE mount and
// the example key service (examples/exec-openssl/cmkfs-kms-openssl):
// `cmkfs provider list` shows it, `cmkfs init --provider exec` stores the
// options in the volume header, `cmkfs mount` finds them there, and revoking
// access in the key service locks the mount (EACCES) until it is restored,
// without a remount.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "support/mount_io.h"
#include "support/example_kms.h"
#include "support/process.h"

using namespace cmkfs::test;
using namespace std::chrono_literals;

namespace {

// Polls pred every 20 ms for up to timeout_s; true when it held.
bool eventually(const std::function<bool()> &pred, double timeout_s) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
    while (std::chrono::steady_clock::now() < deadline) {
        if (pred()) return true;
        std::this_thread::sleep_for(20ms);
    }
    return pred();
}

std::vector<std::string> exec_init_args(const ExampleKms &kms) {
    auto args = kms.init_args();
    args.insert(args.end(), {"--identity", kms.identity, "--key-encryption-key", "openssl:k"});
    return args;
}

}  // namespace

TEST_CASE("provider list shows the exec plugin with its ABI version and path", "[exec][cli]") {
    auto r = cmkfs::test::cmkfs({"provider", "list", "--output", "json"});
    REQUIRE(r.exit_code == 0);
    auto list = nlohmann::json::parse(r.out);
    bool found = false;
    for (const auto &p : list) {
        if (p.at("name") != "exec") continue;
        found = true;
        CHECK(p.at("abiVersion") == 1);
        CHECK(p.at("path") == build_dir() + "/plugins/libcmkfs-provider-exec.so");
        CHECK_FALSE(p.at("description").get<std::string>().empty());
    }
    CHECK(found);
    auto table = cmkfs::test::cmkfs({"provider", "list"});
    REQUIRE(table.exit_code == 0);
    CHECK(table.out.find("exec ") != std::string::npos);
    CHECK(table.out.find(build_dir() + "/plugins/libcmkfs-provider-exec.so") != std::string::npos);
}

TEST_CASE("init --provider exec records the options; encryption show reopens with them", "[exec][cli]") {
    TempDir tmp;
    ExampleKms kms(tmp / "kms");
    auto args = exec_init_args(kms);
    args.insert(args.begin(), {"init", tmp / "backing"});
    auto r = cmkfs::test::cmkfs(args);
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    auto header = nlohmann::json::parse(r.out);
    CHECK(header.dump().find("\"exec\"") != std::string::npos);
    CHECK(header.dump().find("openssl:k/1") != std::string::npos);  // the versioned id wrap reported

    // No --provider-option here: the options come from the volume header.
    auto show = cmkfs::test::cmkfs({"encryption", "show", tmp / "backing"});
    INFO(show.err);
    CHECK(show.exit_code == 0);
    CHECK(show.out.find("openssl:k/1") != std::string::npos);

    // Revoked: `encryption show` on the store says so through the exec program.
    kms.admin({"revoke", "k", kms.identity});
    show = cmkfs::test::cmkfs({"encryption", "show", tmp / "backing", "--output", "json"});
    CHECK(show.out.find("denied") != std::string::npos);

    // A bad option is refused at init with the option named (exit 8: plugin refused).
    auto bad = cmkfs::test::cmkfs({"init", tmp / "backing2", "--provider", "exec", "--provider-option",
                      "program=relative", "--identity", "x", "--key-encryption-key", "openssl:k"});
    CHECK(bad.exit_code == 8);
    CHECK(bad.err.find("must be an absolute path") != std::string::npos);
}

TEST_CASE("exec provider mount: write/read, revoke locks with EACCES, restore unlocks", "[exec][mount]") {
    TempDir tmp;
    ExampleKms kms(tmp / "kms");
    MountedStore::Options opts;
    opts.init_args = exec_init_args(kms);
    opts.mount_args = {"-o", "check_interval=1s,unavailable_grace=60s"};
    MountedStore store(opts);

    const std::string file = store.path("hello.txt");
    write_file(file, "through the exec provider\n");
    std::string content;
    REQUIRE(read_errno(file, &content) == 0);
    CHECK(content == "through the exec provider\n");
    // The backing directory holds no plaintext name or content.
    auto grep = run({"grep", "-rl", "through the exec provider", store.backing()});
    CHECK(grep.out.empty());

    SECTION("revoke the identity, then grant it again") {
        kms.admin({"revoke", "k", kms.identity});
        CHECK(eventually([&] { return read_errno(file) == EACCES; }, 15));
        kms.admin({"grant", "k", kms.identity});
        CHECK(eventually([&] { return read_errno(file, &content) == 0; }, 15));
        CHECK(content == "through the exec provider\n");
    }
    SECTION("disable the key, then enable it") {
        kms.admin({"disable", "k"});
        CHECK(eventually([&] { return read_errno(file) == EACCES; }, 15));
        kms.admin({"enable", "k"});
        CHECK(eventually([&] { return read_errno(file, &content) == 0; }, 15));
    }
    SECTION("an outage of the key service is not a revocation") {
        kms.admin({"offline"});
        // Several check intervals pass; within the grace the mount serves.
        std::this_thread::sleep_for(3s);
        CHECK(read_errno(file, &content) == 0);
        auto show = cmkfs::test::cmkfs({"encryption", "show", store.mountpoint(), "--output", "json"});
        REQUIRE(show.exit_code == 0);
        auto state = nlohmann::json::parse(show.out).at("keyState");
        CHECK(state.at("state") == "unlocked");
        // Checks keep failing (the last success is older than the last check).
        CHECK(state.at("lastSuccess").get<std::string>() < state.at("lastCheck").get<std::string>());
        // ... and show says why.
        CHECK(state.value("lastResult", "").rfind("unavailable", 0) == 0);
        // The example prints outages on stderr; the daemon logs each line.
        CHECK(store.daemon_log().find("cmkfs-kms-openssl (stderr): cmkfs-kms-openssl: key service offline") !=
              std::string::npos);
        kms.admin({"online"});
    }
    CHECK(store.mounted());
    CHECK(read_errno(file, &content) == 0);
}
