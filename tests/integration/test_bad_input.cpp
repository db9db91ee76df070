// Wrong keys, wrong directories, wrong plugins and wrong files: each is
// refused with its documented exit code (README "Exit codes") and one clear
// line on stderr, and a refused mount never leaves a mount behind.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <filesystem>
#include <string>
#include <vector>

#include "support/process.h"

using namespace cmkfs::test;
namespace fsys = std::filesystem;

namespace {

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
    return s;
}

// Exit code, one line on stderr starting with "cmkfs: ", mentioning `needle`.
void expect_refusal(const CommandResult &r, int code, const std::string &needle) {
    INFO("exit " << r.exit_code << "\nstdout: " << r.out << "\nstderr: " << r.err);
    CHECK(r.exit_code == code);
    CHECK(r.err.rfind("cmkfs: ", 0) == 0);
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
    CHECK(!r.err.empty());
    CHECK(r.err.back() == '\n');
    CHECK(lower(r.err).find(lower(needle)) != std::string::npos);
}

// Tries both a background mount and a foreground (-f) one; neither may
// succeed or leave a mount behind.
void expect_mount_refused(const std::string &backing, const std::string &mountpoint, int code,
                          const std::string &needle, const std::vector<std::string> &extra = {}) {
    for (bool foreground : {false, true}) {
        std::vector<std::string> args{"mount"};
        if (foreground) args.push_back("-f");
        args.push_back(backing);
        args.push_back(mountpoint);
        args.insert(args.end(), extra.begin(), extra.end());
        INFO((foreground ? "foreground" : "background") << " mount");
        auto r = cli(args);
        expect_refusal(r, code, needle);
        const bool left = is_mounted(mountpoint);
        CHECK_FALSE(left);
        if (left) cli({"umount", "--lazy", mountpoint});
    }
}

std::string abi99_plugin() { return build_dir() + "/tests/plugins/libcmkfs-provider-abi99.so"; }

}  // namespace

TEST_CASE("a key the identity may no longer use is refused with exit 6", "[bad-input]") {
    MountedStore store(MountedStore::Options::unmounted());

    SECTION("access policy deleted") {
        store.vault().delete_policy();
        expect_mount_refused(store.backing(), store.mountpoint(), 6, "denied");
    }
    SECTION("access policy without unwrapKey") {
        store.vault().set_policy({"get", "wrapKey"});
        expect_mount_refused(store.backing(), store.mountpoint(), 6, "denied");
    }
    SECTION("key disabled") {
        store.vault().set_enabled(false);
        expect_mount_refused(store.backing(), store.mountpoint(), 6, "disabled");
    }
    SECTION("key deleted") {
        store.vault().delete_key();
        expect_mount_refused(store.backing(), store.mountpoint(), 6, "");
    }
    SECTION("fsck is refused the same way") {
        store.vault().delete_policy();
        expect_refusal(cli({"fsck", store.backing()}), 6, "denied");
    }
    // And once access is back, the same store mounts: the refusals changed nothing.
    store.vault().set_policy({"get", "wrapKey", "unwrapKey"});
    try {
        store.vault().recover_key();
    } catch (...) {
        // only the "key deleted" section has something to recover
    }
    store.vault().set_enabled(true);
    store.mount();
    CHECK(store.mounted());
}

TEST_CASE("init with a key the identity may not use is refused with exit 6 and leaves no store", "[bad-input]") {
    TempDir dir;
    LocalVault vault(dir / "vault");
    vault.delete_policy();
    auto r = cli({"init", dir / "backing", "--provider", "local", "--identity", vault.identity,
                    "--key-encryption-key", vault.kid});
    expect_refusal(r, 6, "denied");
    CHECK_FALSE(fsys::exists(dir / "backing/.cmkfs.volume"));
}

TEST_CASE("backing directories that are missing or not a store are refused with exit 4", "[bad-input]") {
    TempDir dir;
    fsys::create_directory(dir / "mnt");
    SECTION("missing") {
        expect_mount_refused(dir / "does-not-exist", dir / "mnt", 4, "does-not-exist");
        expect_refusal(cli({"fsck", dir / "does-not-exist"}), 4, "does-not-exist");
        expect_refusal(cli({"encryption", "show", dir / "does-not-exist"}), 4, "does-not-exist");
    }
    SECTION("an empty directory") {
        fsys::create_directory(dir / "empty");
        expect_mount_refused(dir / "empty", dir / "mnt", 4, "not a cmkfs store");
        expect_refusal(cli({"fsck", dir / "empty"}), 4, "not a cmkfs store");
    }
    SECTION("a directory with other files") {
        fsys::create_directory(dir / "other");
        write_file(dir / "other/readme.txt", "hello");
        expect_mount_refused(dir / "other", dir / "mnt", 4, "not a cmkfs store");
    }
    SECTION("a regular file") {
        write_file(dir / "file", "x");
        expect_mount_refused(dir / "file", dir / "mnt", 4, "not a directory");
    }
    SECTION("init into a non-empty directory") {
        LocalVault vault(dir / "vault");
        fsys::create_directory(dir / "full");
        write_file(dir / "full/keep", "x");
        auto r = cli({"init", dir / "full", "--provider", "local", "--identity", vault.identity,
                        "--key-encryption-key", vault.kid});
        expect_refusal(r, 4, "not empty");
        CHECK(read_file(dir / "full/keep") == "x");
    }
}

TEST_CASE("a corrupted volume header is refused with exit 5", "[bad-input]") {
    MountedStore store(MountedStore::Options::unmounted());
    const std::string header = store.backing() + "/.cmkfs.volume";
    auto corrupt = [&](const std::string &text) {
        write_file(header, text);
        REQUIRE(read_file(header) == text);
    };
    SECTION("garbage") { corrupt("{ this is : not json ]]\n"); }
    SECTION("empty") { corrupt(""); }
    SECTION("valid JSON, wrong shape") { corrupt("[1, 2, 3]\n"); }
    SECTION("binary noise") { corrupt(std::string("\x00\xff\x13\x37 binary", 12)); }
    SECTION("missing wrapped key") {
        std::string text = read_file(header);
        auto pos = text.find("\"wrapped_key\"");
        REQUIRE(pos != std::string::npos);
        text.replace(pos, 13, "\"wrapped_kex\"");
        corrupt(text);
    }
    expect_mount_refused(store.backing(), store.mountpoint(), 5, ".cmkfs.volume");
    expect_refusal(cli({"fsck", store.backing()}), 5, ".cmkfs.volume");
}

TEST_CASE("a provider plugin with the wrong ABI is refused with exit 8", "[bad-input]") {
    REQUIRE(fsys::exists(abi99_plugin()));
    TempDir dir;
    LocalVault vault(dir / "vault");
    SECTION("init --provider /abs/path.so") {
        auto r = cli({"init", dir / "backing", "--provider", abi99_plugin(), "--identity", vault.identity,
                        "--key-encryption-key", vault.kid});
        expect_refusal(r, 8, "ABI");
        CHECK_FALSE(fsys::exists(dir / "backing/.cmkfs.volume"));
    }
    SECTION("mount with provider.name set to the plugin in a config file") {
        MountedStore store(MountedStore::Options::unmounted());
        const std::string config = dir / "abi99.yaml";
        write_file(config, "provider:\n  name: " + abi99_plugin() + "\n");
        expect_mount_refused(store.backing(), store.mountpoint(), 8, "ABI", {"--config", config});
    }
}

TEST_CASE("a mountpoint that does not exist is refused with exit 9", "[bad-input]") {
    MountedStore store(MountedStore::Options::unmounted());
    expect_mount_refused(store.backing(), store.scratch() / "no-such-mountpoint", 9, "no-such-mountpoint");
}

TEST_CASE("cmkfs umount of something that is not a cmkfs mount exits 11", "[bad-input]") {
    TempDir dir;
    fsys::create_directory(dir / "plain");
    expect_refusal(cli({"umount", dir / "plain"}), 11, "not a cmkfs mount");
    expect_refusal(cli({"umount", dir / "missing"}), 11, "not a cmkfs mount");
    // A real mount of another kind (the root filesystem) is not ours either.
    expect_refusal(cli({"umount", "/"}), 11, "not a cmkfs mount");
}

TEST_CASE("a bad config file is refused with exit 3 naming file:line:column", "[bad-input]") {
    MountedStore store(MountedStore::Options::unmounted());
    const std::string config = store.scratch() / "bad.yaml";
    SECTION("unknown key") {
        write_file(config, "revocation:\n  check_interval: 5s\n  no_such_key: 1\n");
        expect_mount_refused(store.backing(), store.mountpoint(), 3, config + ":3:3:", {"--config", config});
    }
    SECTION("wrong type") {
        write_file(config, "fuse:\n  allow_other: maybe\n");
        expect_mount_refused(store.backing(), store.mountpoint(), 3, config + ":2:16:", {"--config", config});
    }
    SECTION("given through -o config=") {
        write_file(config, "logging:\n  level: loud\n");
        expect_mount_refused(store.backing(), store.mountpoint(), 3, config + ":2:10:", {"-o", "config=" + config});
    }
    SECTION("missing file") {
        expect_mount_refused(store.backing(), store.mountpoint(), 3, config, {"--config", config});
    }
}

TEST_CASE("out of descriptors: creates fail with EMFILE, the log names the limit, nothing is lost", "[bad-input]") {
    MountedStore store;
    write_file(store.path("before.txt"), "kept");
    // The daemon holds one descriptor per inode the kernel caches: with a low
    // limit, creating files soon runs out.
    const std::string pid = std::to_string(store.daemon_pid());
    // Soft limit only: raising a hard limit again needs CAP_SYS_RESOURCE, which a
    // container may not grant.
    REQUIRE(run({"prlimit", "--pid", pid, "--nofile=64:"}).exit_code == 0);
    int created = 0;
    int failure = 0;
    for (int i = 0; i < 200 && failure == 0; ++i) {
        const int fd = ::open(store.path("f" + std::to_string(i)).c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
        if (fd < 0) {
            failure = errno;
        } else {
            ::close(fd);
            ++created;
        }
    }
    INFO("created " << created << "\ndaemon log:\n" << store.daemon_log());
    CHECK(failure == EMFILE);
    CHECK(created > 0);
    CHECK(store.daemon_log().find("open-file limit (64)") != std::string::npos);

    // Raised again: everything made before is there, and creating works again.
    REQUIRE(run({"prlimit", "--pid", pid, "--nofile=4096:"}).exit_code == 0);
    CHECK(read_file(store.path("before.txt")) == "kept");
    for (int i = 0; i < created; ++i) CHECK(fsys::exists(store.path("f" + std::to_string(i))));
    write_file(store.path("after.txt"), "works");
    CHECK(read_file(store.path("after.txt")) == "works");
}
