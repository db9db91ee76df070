// Bookkeeping files planted by whoever can write the backing directory: a
// FIFO or a symlink where a .cmkfs.* file belongs must be refused (EIO for
// an operation, a clear error for a command) within a bounded time; it must
// never hang the daemon, whose control socket keeps answering.
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "support/mount_io.h"
#include "support/process.h"

using namespace cmkfs::test;
namespace fsys = std::filesystem;

namespace {

constexpr int kHangSeconds = 20;

// A command that may hang on the attack is run under timeout(1): a hang is
// then exit 124 (or 137 after the KILL), a failure instead of a stuck test.
CommandResult bounded(std::vector<std::string> argv) {
    argv.insert(argv.begin(), {"timeout", "-k", "5", std::to_string(kHangSeconds)});
    return run(argv);
}

bool hung(const CommandResult &r) { return r.exit_code == 124 || r.exit_code == 137; }

// The backing directory of the one subdirectory at the mount root.
std::string only_backing_subdir(const std::string &backing) {
    std::vector<std::string> dirs;
    for (const auto &e : fsys::directory_iterator(backing))
        if (e.is_directory() && !e.is_symlink()) dirs.push_back(e.path().string());
    REQUIRE(dirs.size() == 1);
    return dirs.front();
}

void replace_with_fifo(const std::string &path) {
    REQUIRE(::unlink(path.c_str()) == 0);
    REQUIRE(::mkfifo(path.c_str(), 0644) == 0);
}

void replace_with_symlink(const std::string &path, const std::string &target) {
    REQUIRE(::unlink(path.c_str()) == 0);
    REQUIRE(::symlink(target.c_str(), path.c_str()) == 0);
}

void expect_daemon_answers(MountedStore &store) {
    auto show = bounded_cmkfs({"encryption", "show", store.mountpoint()}, kHangSeconds);
    INFO(show.out << show.err);
    CHECK(show.exit_code == 0);
    CHECK(show.out.find("\"mountpoint\"") != std::string::npos);
    CHECK(read_file(store.path("top")) == "top level");
}

}  // namespace

TEST_CASE("a FIFO or symlink as a subdirectory's .cmkfs.dirid reads as EIO, the daemon keeps serving",
          "[hostile-backing]") {
    MountedStore store;
    fsys::create_directory(store.path("sub"));
    write_file(store.path("sub/inner"), "inner");
    write_file(store.path("top"), "top level");
    store.unmount();
    const std::string dirid = only_backing_subdir(store.backing()) + "/.cmkfs.dirid";
    std::string planted;

    SECTION("FIFO") {
        replace_with_fifo(dirid);
        planted = "not a regular file";
    }
    SECTION("symlink to a directory id elsewhere") {
        // A valid id copied from the root: following it would decrypt the
        // subdirectory's names under the wrong directory.
        replace_with_symlink(dirid, store.backing() + "/.cmkfs.dirid");
        planted = "directory id";
    }

    store.mount();
    auto ls = bounded({"ls", store.path("sub")});
    INFO("ls: exit " << ls.exit_code << " " << ls.err);
    CHECK_FALSE(hung(ls));
    CHECK(ls.exit_code != 0);
    CHECK(ls.err.find("Input/output error") != std::string::npos);
    auto cat = bounded({"cat", store.path("sub/inner")});
    CHECK_FALSE(hung(cat));
    CHECK(cat.exit_code != 0);
    expect_daemon_answers(store);
    const std::string log = store.daemon_log();
    INFO(log);
    CHECK(log.find("integrity") != std::string::npos);
    CHECK(log.find(planted) != std::string::npos);
    store.unmount();

    auto fsck = bounded_cmkfs({"fsck", store.backing()}, kHangSeconds);
    INFO(fsck.out << fsck.err);
    CHECK(fsck.exit_code == 10);
}

TEST_CASE("a FIFO as .cmkfs.volume is refused by mount, show and fsck without hanging", "[hostile-backing]") {
    MountedStore store(MountedStore::Options::unmounted());
    replace_with_fifo(store.backing() + "/.cmkfs.volume");

    // The background mount last: a daemon child that hung would keep the
    // output pipes open, so the first hang ends the test instead.
    for (const auto &args : std::vector<std::vector<std::string>>{
             {"mount", "-f", store.backing(), store.mountpoint()},
             {"encryption", "show", store.backing()},
             {"fsck", store.backing()},
             {"mount", store.backing(), store.mountpoint()}}) {
        auto r = bounded_cmkfs(args, kHangSeconds);
        INFO(args[0] << ": exit " << r.exit_code << " " << r.err);
        REQUIRE_FALSE(hung(r));
        CHECK(r.exit_code == 4);
        CHECK(r.err.find(store.backing() + "/.cmkfs.volume is not a regular file") != std::string::npos);
        CHECK_FALSE(is_mounted(store.mountpoint()));
    }
}

TEST_CASE("an oversized .cmkfs.volume is refused before it is read", "[hostile-backing]") {
    MountedStore store(MountedStore::Options::unmounted());
    const std::string header = store.backing() + "/.cmkfs.volume";
    fsys::resize_file(header, 64u << 20);  // sparse: costs the attacker nothing
    auto r = bounded_cmkfs({"encryption", "show", store.backing()}, kHangSeconds);
    INFO(r.err);
    CHECK(r.exit_code == 4);
    CHECK(r.err.find("larger than") != std::string::npos);
}

TEST_CASE("a FIFO as .cmkfs.lock is refused by mount without hanging", "[hostile-backing]") {
    MountedStore store(MountedStore::Options::unmounted());
    const std::string lock = store.backing() + "/.cmkfs.lock";
    ::unlink(lock.c_str());
    REQUIRE(::mkfifo(lock.c_str(), 0600) == 0);
    auto r = bounded_cmkfs({"mount", "-f", store.backing(), store.mountpoint()}, kHangSeconds);
    INFO(r.err);
    CHECK_FALSE(hung(r));
    CHECK(r.exit_code != 0);
    CHECK(r.err.find(".cmkfs.lock is not a regular file") != std::string::npos);
    CHECK_FALSE(is_mounted(store.mountpoint()));
}

TEST_CASE("a header with a non-integer number or a duplicate key is refused with exit 5", "[hostile-backing]") {
    MountedStore store(MountedStore::Options::unmounted());
    const std::string header = store.backing() + "/.cmkfs.volume";
    const std::string original = read_file(header);
    const std::string version_member =
        "\"format_version\": " + std::to_string(nlohmann::json::parse(original).at("format_version").get<int>());
    struct Case {
        std::string from, to, message;
    };
    for (const Case &c : std::vector<Case>{
             {"\"block_size\": 4096", "\"block_size\": 4096.5", "block_size must be an unsigned 32-bit integer"},
             {version_member, "\"format_version\": -1", "format_version must be an unsigned 32-bit integer"},
             {version_member, "\"format_version\": 7", "format version 7 is not supported"},
             {"\"block_size\": 4096", "\"block_size\": 4096, \"block_size\": 4096", "appears twice"}}) {
        std::string text = original;
        const auto at = text.find(c.from);
        REQUIRE(at != std::string::npos);
        write_file(header, text.replace(at, c.from.size(), c.to));
        for (const auto &args : std::vector<std::vector<std::string>>{
                 {"mount", "-f", store.backing(), store.mountpoint()}, {"encryption", "show", store.backing()}}) {
            auto r = bounded_cmkfs(args, kHangSeconds);
            INFO(c.to << " / " << args[0] << ": " << r.err);
            CHECK(r.exit_code == 5);
            CHECK(r.err.find(header) != std::string::npos);
            CHECK(r.err.find(c.message) != std::string::npos);
            CHECK_FALSE(is_mounted(store.mountpoint()));
        }
    }
    // Positive control: the untouched header still mounts.
    write_file(header, original);
    store.mount();
    CHECK(store.mounted());
}
