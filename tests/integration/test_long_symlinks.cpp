// Symlink targets up to 4,095 bytes (PATH_MAX - 1) on a real mount (issue
// 14): format 3 keeps a target too long for a backing symlink in an
// encrypted sidecar (docs/FORMAT.md §6.2). Creating, reading, following,
// listing, renaming (within and across directories, over another link),
// unlinking and rmdir, fsck and re-encryption; formats 1 and 2 keep refusing
// with ENAMETOOLONG. And the attacks on the sidecar, performed on the backing
// directory: sidecars swapped between two links, truncated, edited, or
// replaced by a FIFO, a directory or a symlink: EIO (never a hang), a log
// line naming the link, and fsck exit 10.
#include <catch2/catch.hpp>

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <algorithm>
#include <cstring>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "support/golden.h"
#include "support/process.h"

using namespace cmkfs::test;
namespace fsys = std::filesystem;

namespace {

constexpr std::string_view kSidecarPrefix = ".cmkfs.target.";

// A target of exactly `length` bytes that resolves to `leaf` in the link's
// directory: "./" repeated, then the leaf (length - leaf size must be even).
std::string target_of_length(size_t length, const std::string &leaf = "f") {
    std::string t;
    while (t.size() + leaf.size() < length) t += "./";
    t += leaf;
    REQUIRE(t.size() == length);
    return t;
}

// readlink(2) as (errno, target), run in a child bounded by an alarm, so a
// hang (a FIFO opened without O_NONBLOCK) fails the test instead of blocking it.
std::pair<int, std::string> bounded_readlink(const std::string &path) {
    int pipefd[2];
    REQUIRE(::pipe(pipefd) == 0);
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        ::close(pipefd[0]);
        ::alarm(20);
        char buf[PATH_MAX + 1];
        const ssize_t n = ::readlink(path.c_str(), buf, sizeof buf);
        const int err = n < 0 ? errno : 0;
        if (n > 0) (void)!::write(pipefd[1], buf, static_cast<size_t>(n));
        ::_exit(err);
    }
    ::close(pipefd[1]);
    std::string out;
    char buf[4096];
    for (ssize_t n; (n = ::read(pipefd[0], buf, sizeof buf)) > 0;) out.append(buf, static_cast<size_t>(n));
    ::close(pipefd[0]);
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    INFO("readlink child ended by signal " << (WIFSIGNALED(status) ? WTERMSIG(status) : 0) << " (14: hung)");
    REQUIRE(WIFEXITED(status));
    return {WEXITSTATUS(status), out};
}

std::vector<std::string> sidecars_in(const std::string &dir) {
    std::vector<std::string> out;
    for (const auto &e : fsys::directory_iterator(dir)) {
        const std::string n = e.path().filename().string();
        if (n.starts_with(kSidecarPrefix)) out.push_back(n);
    }
    return out;
}

std::set<std::string> names_in(const std::string &dir) {
    std::set<std::string> out;
    for (const auto &e : fsys::directory_iterator(dir)) out.insert(e.path().filename().string());
    return out;
}

// The backing symlink of the only long-target link of `backing_dir` whose
// marker names `sidecar`, i.e. the sidecar a backing symlink refers to.
std::string sidecar_of_backing_link(const std::string &backing_link) {
    const std::string marker = fsys::read_symlink(backing_link).string();
    REQUIRE(marker.starts_with(kSidecarPrefix));
    return marker.substr(0, marker.rfind('.'));
}

// Backing symlinks (full paths) of `backing_dir` that hold a marker.
std::vector<std::string> marker_links_in(const std::string &backing_dir) {
    std::vector<std::string> out;
    for (const auto &e : fsys::directory_iterator(backing_dir))
        if (e.is_symlink() && fsys::read_symlink(e.path()).string().starts_with(kSidecarPrefix))
            out.push_back(e.path().string());
    return out;
}

int fsck_exit(const MountedStore &store) { return cmkfs::test::cmkfs({"fsck", store.backing()}).exit_code; }

}  // namespace

TEST_CASE("symlink targets up to 4095 bytes work in format 3", "[symlink][long-target]") {
    MountedStore store;
    write_file(store.path("f"), "the leaf");
    REQUIRE(::mkdir(store.path("d").c_str(), 0755) == 0);
    write_file(store.path("d/f"), "the other leaf");
    for (const size_t length : {size_t{3001}, size_t{3041}, size_t{3101}, size_t{4001}, size_t{4095}}) {
        INFO("target of " << length << " bytes");
        const std::string target = target_of_length(length);
        const std::string link = store.path("l" + std::to_string(length));
        REQUIRE(::symlink(target.c_str(), link.c_str()) == 0);
        CHECK(fsys::read_symlink(link).string() == target);
        struct stat st {};
        REQUIRE(::lstat(link.c_str(), &st) == 0);
        CHECK(S_ISLNK(st.st_mode));
        CHECK(static_cast<size_t>(st.st_size) == length);
        CHECK(read_file(link) == "the leaf");  // followed by the kernel
    }
    // The kernel's own limit: 4096 bytes is not a path.
    CHECK(::symlink(std::string(4096, 'x').c_str(), store.path("too-long").c_str()) == -1);
    CHECK(errno == ENAMETOOLONG);
    // Listings show the links, never the sidecars.
    CHECK(names_in(store.mountpoint()) ==
          std::set<std::string>{"f", "d", "l3001", "l3041", "l3101", "l4001", "l4095"});
    const size_t long_ones = sidecars_in(store.backing()).size();
    CHECK(long_ones >= 3);  // 3101, 4001, 4095 at least (the exact threshold is the encoding's)

    // Renamed across directories and over another long link: the target follows,
    // sidecars are neither lost nor left behind.
    const std::string t4095 = target_of_length(4095), t4001 = target_of_length(4001);
    REQUIRE(::rename(store.path("l4095").c_str(), store.path("d/moved").c_str()) == 0);
    CHECK(fsys::read_symlink(store.path("d/moved")).string() == t4095);
    CHECK(read_file(store.path("d/moved")) == "the other leaf");  // resolved in its new directory
    REQUIRE(::rename(store.path("l4001").c_str(), store.path("d/moved").c_str()) == 0);
    CHECK(fsys::read_symlink(store.path("d/moved")).string() == t4001);
    const std::string sub_backing = [&] {
        for (const auto &e : fsys::directory_iterator(store.backing()))
            if (fsys::is_directory(e.symlink_status())) return e.path().string();
        FAIL("no backing subdirectory");
        return std::string();
    }();
    CHECK(sidecars_in(sub_backing).size() == 1);
    CHECK(sidecars_in(store.backing()).size() == long_ones - 2);
    // A long link renamed within its directory, and one replaced by a file.
    REQUIRE(::rename(store.path("l3101").c_str(), store.path("renamed").c_str()) == 0);
    CHECK(fsys::read_symlink(store.path("renamed")).string() == target_of_length(3101));
    write_file(store.path("plain"), "x");
    REQUIRE(::rename(store.path("plain").c_str(), store.path("renamed").c_str()) == 0);
    CHECK(sidecars_in(store.backing()).size() == long_ones - 3);
    // Unlink and rmdir take the sidecar with them.
    REQUIRE(::unlink(store.path("d/moved").c_str()) == 0);
    CHECK(sidecars_in(sub_backing).empty());
    REQUIRE(::unlink(store.path("d/f").c_str()) == 0);
    REQUIRE(::rmdir(store.path("d").c_str()) == 0);

    // fsck checks them; re-encryption re-seals them (new key, new sidecars).
    REQUIRE(::symlink(t4095.c_str(), store.path("kept").c_str()) == 0);
    store.unmount();
    auto fsck = cmkfs::test::cmkfs({"fsck", store.backing()});
    INFO(fsck.out << fsck.err);
    CHECK(fsck.exit_code == 0);
    const auto before = sidecars_in(store.backing());
    auto re = cmkfs::test::cmkfs({"reencrypt", store.backing()});
    INFO(re.out << re.err);
    REQUIRE(re.exit_code == 0);
    const auto after = sidecars_in(store.backing());
    CHECK(after.size() == before.size());
    for (const auto &name : after) CHECK(std::find(before.begin(), before.end(), name) == before.end());
    CHECK(fsck_exit(store) == 0);
    store.mount();
    CHECK(fsys::read_symlink(store.path("kept")).string() == t4095);
    CHECK(fsys::read_symlink(store.path("l3001")).string() == target_of_length(3001));
    CHECK(read_file(store.path("kept")) == "the leaf");
}

TEST_CASE("formats 1 and 2 keep refusing long symlink targets", "[symlink][long-target]") {
    const int version = GENERATE(1, 2);
    INFO("golden v" << version);
    MountedStore store(MountedStore::Options::unmounted());
    const std::string config = install_golden_store(store, golden_dir(version));
    store.mount({"--config", config});
    CHECK(::symlink(target_of_length(3001).c_str(), store.path("short-enough").c_str()) == 0);
    CHECK(::symlink(target_of_length(3101).c_str(), store.path("too-long").c_str()) == -1);
    CHECK(errno == ENAMETOOLONG);
    CHECK(sidecars_in(store.backing()).empty());
}

TEST_CASE("a version-2 store upgraded to 3 takes long symlink targets and the shared-storage switch",
          "[symlink][long-target][upgrade]") {
    MountedStore store(MountedStore::Options::unmounted());
    const std::string config = install_golden_store(store, golden_dir(2));
    const std::string wrapped_before =
        nlohmann::json::parse(read_file(store.backing() + "/.cmkfs.volume")).at("wrapped_key");
    auto up = cmkfs::test::cmkfs({"upgrade", store.backing(), "--config", config});
    INFO(up.out << up.err);
    REQUIRE(up.exit_code == 0);
    CHECK(up.out.find("header only") != std::string::npos);
    nlohmann::json header = nlohmann::json::parse(read_file(store.backing() + "/.cmkfs.volume"));
    CHECK(header.at("format_version") == 3);
    CHECK(header.at("shared_storage") == false);
    CHECK(header.at("wrapped_key") == wrapped_before);  // the same volume key: nothing re-encrypted

    // The format-3 features on the upgraded store: a long target, then shared mode.
    const std::string target = target_of_length(4095);
    store.mount({"--config", config});
    REQUIRE(::symlink(target.c_str(), store.path("long-after-upgrade").c_str()) == 0);
    CHECK(sidecars_in(store.backing()).size() == 1);
    store.unmount();
    auto on = cmkfs::test::cmkfs({"shared-storage", "enable", store.backing(), "--config", config});
    INFO(on.out << on.err);
    REQUIRE(on.exit_code == 0);
    header = nlohmann::json::parse(read_file(store.backing() + "/.cmkfs.volume"));
    CHECK(header.at("shared_storage") == true);
    store.mount({"--config", config});
    CHECK(fsys::read_symlink(store.path("long-after-upgrade")).string() == target);
    REQUIRE(::symlink(target_of_length(4001).c_str(), store.path("long-in-shared-mode").c_str()) == 0);
    CHECK(fsys::read_symlink(store.path("long-in-shared-mode")).string() == target_of_length(4001));
    store.unmount();
    auto fsck = cmkfs::test::cmkfs({"fsck", store.backing(), "--config", config});
    INFO(fsck.out << fsck.err);
    CHECK(fsck.exit_code == 0);
    auto again = cmkfs::test::cmkfs({"upgrade", store.backing(), "--config", config});
    CHECK(again.exit_code == 2);  // already current
}

TEST_CASE("attacks on long-target sidecars read as EIO, never as another target or a hang",
          "[symlink][long-target][attack]") {
    MountedStore store;
    const std::string ta = target_of_length(4001, "a"), tb = target_of_length(4001, "b");
    REQUIRE(::symlink(ta.c_str(), store.path("la").c_str()) == 0);
    REQUIRE(::symlink(tb.c_str(), store.path("lb").c_str()) == 0);
    const auto links = marker_links_in(store.backing());
    REQUIRE(links.size() == 2);
    const std::string sa = store.backing() + "/" + sidecar_of_backing_link(links[0]);
    const std::string sb = store.backing() + "/" + sidecar_of_backing_link(links[1]);
    const std::string saved_a = read_file(sa);
    // `failing` of the two links read as EIO (the tampered ones); any other
    // reads as its own target, never as the other's.
    auto check_eio = [&](const std::string &what, int failing = 1) {
        INFO(what);
        int eio = 0;
        for (const char *name : {"la", "lb"}) {
            const auto [err, target] = bounded_readlink(store.path(name));
            if (err == 0) {
                CHECK(target == (std::string(name) == "la" ? ta : tb));
            } else {
                CHECK(err == EIO);
                ++eio;
            }
        }
        CHECK(eio == failing);
        const std::string log = store.daemon_log();
        CHECK(log.find("integrity: ") != std::string::npos);
        CHECK(log.find(fsys::path(links[0]).filename().string()) != std::string::npos);
    };

    SECTION("two sidecars swapped between the links") {
        const std::string tmp = sa + ".swap";
        fsys::rename(sa, tmp);
        fsys::rename(sb, sa);
        fsys::rename(tmp, sb);
        check_eio("swapped", 2);
    }
    SECTION("the markers of the two backing symlinks swapped") {
        // Unmounted: the mount holds the backing symlinks it looked up, so
        // new ones under the same names are seen only by a new mount.
        store.unmount();
        const std::string ma = fsys::read_symlink(links[0]).string(), mb = fsys::read_symlink(links[1]).string();
        fsys::remove(links[0]);
        fsys::remove(links[1]);
        fsys::create_symlink(mb, links[0]);
        fsys::create_symlink(ma, links[1]);
        store.mount();
        check_eio("markers swapped", 2);
    }
    SECTION("a sidecar truncated") {
        REQUIRE(::truncate(sa.c_str(), static_cast<off_t>(saved_a.size() - 1)) == 0);
        check_eio("truncated");
    }
    SECTION("a sidecar emptied") {
        REQUIRE(::truncate(sa.c_str(), 0) == 0);
        check_eio("emptied");
    }
    SECTION("a sidecar byte flipped") {
        std::string edited = saved_a;
        edited[edited.size() / 2] ^= 0x01;
        ::chmod(sa.c_str(), 0600);
        write_file(sa, edited);
        check_eio("edited");
    }
    SECTION("a sidecar removed") {
        fsys::remove(sa);
        check_eio("removed");
    }
    SECTION("a sidecar replaced by a FIFO") {
        fsys::remove(sa);
        REQUIRE(::mkfifo(sa.c_str(), 0644) == 0);
        check_eio("FIFO");
    }
    SECTION("a sidecar replaced by a directory") {
        fsys::remove(sa);
        fsys::create_directory(sa);
        check_eio("directory");
    }
    SECTION("a sidecar replaced by a symlink to the other's sidecar") {
        fsys::remove(sa);
        fsys::create_symlink(sb, sa);
        check_eio("symlink");
    }
    SECTION("a sidecar replaced by a copy of the other's (same length, other place and id)") {
        ::chmod(sa.c_str(), 0600);
        write_file(sa, read_file(sb));
        check_eio("copied");
    }
    // Each case is damage fsck reports.
    store.unmount();
    CHECK(fsck_exit(store) == 10);
}

TEST_CASE("an orphan long-target sidecar (a crash leftover) is hidden and goes with its directory",
          "[symlink][long-target]") {
    MountedStore store;
    REQUIRE(::mkdir(store.path("d").c_str(), 0755) == 0);
    std::string sub;
    for (const auto &e : fsys::directory_iterator(store.backing()))
        if (fsys::is_directory(e.symlink_status())) sub = e.path().string();
    REQUIRE(!sub.empty());
    // What a crash between writing the sidecar and making the symlink leaves.
    write_file(sub + "/.cmkfs.target.QkJCQkJCQkJCQkJCQkJCQg", std::string(4029, 'x'));
    CHECK(names_in(store.path("d")).empty());
    store.unmount();
    CHECK(fsck_exit(store) == 0);
    store.mount();
    CHECK(::rmdir(store.path("d").c_str()) == 0);
    CHECK_FALSE(fsys::exists(sub));
}
