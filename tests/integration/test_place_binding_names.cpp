// Format v2 binds symlink targets and directory ids to their place (parent
// directory id and plaintext name; docs/FORMAT.md §4.1, §6). The attacks are
// done to the backing directory of a real store while it is unmounted: each
// must read as EIO with an "integrity" log line naming the backing entry, and
// `cmkfs fsck` must report it (exit 10, naming it). The behaviour tests show
// that renames, which must now rebind or re-seal, keep working and survive a
// remount, and that a version-1 store keeps the version-1 format.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <filesystem>
#include <iterator>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "support/mount_io.h"
#include "support/golden.h"
#include "support/process.h"

using namespace cmkfs::test;
namespace fsys = std::filesystem;

namespace {

// Runs `make` through the mount and returns the one backing entry it added in `backing_dir`.
std::string added_by(const std::string &backing_dir, const std::function<void()> &make) {
    auto before = listing(backing_dir);
    make();
    auto after = listing(backing_dir);
    std::vector<std::string> added;
    std::set_difference(after.begin(), after.end(), before.begin(), before.end(), std::back_inserter(added));
    REQUIRE(added.size() == 1);
    return backing_dir + "/" + added.front();
}

int readlink_errno(const std::string &path, std::string *out = nullptr) {
    std::vector<char> buf(PATH_MAX + 1);
    ssize_t n = ::readlink(path.c_str(), buf.data(), buf.size());
    if (n < 0) return errno;
    if (out) *out = std::string(buf.data(), static_cast<size_t>(n));
    return 0;
}

std::string backing_target(const std::string &path) { return fsys::read_symlink(path).string(); }

void replace_symlink(const std::string &path, const std::string &target) {
    fsys::remove(path);
    fsys::create_symlink(target, path);
}

int stat_errno(const std::string &path) {
    struct stat st {};
    return ::lstat(path.c_str(), &st) == 0 ? 0 : errno;
}

bool log_names(const std::string &log, const std::string &backing) {
    std::size_t pos = 0;
    while (pos < log.size()) {
        const std::size_t nl = log.find('\n', pos);
        const std::string line = log.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
        pos = nl == std::string::npos ? log.size() : nl + 1;
        if (line.find("integrity") != std::string::npos && line.find(backing) != std::string::npos) return true;
    }
    return false;
}

int renameat2_(const std::string &from, const std::string &to, unsigned flags) {
    return ::syscall(SYS_renameat2, AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), flags) == 0 ? 0 : errno;
}

struct stat lstat_ok(const std::string &path) {
    struct stat st {};
    INFO("lstat " << path);
    REQUIRE(::lstat(path.c_str(), &st) == 0);
    return st;
}

// Every backing name below `dir`, recursively (for leftovers of a protocol).
std::vector<std::string> backing_tree(const std::string &dir) {
    std::vector<std::string> out;
    for (const auto &e : fsys::recursive_directory_iterator(dir)) out.push_back(e.path().filename().string());
    return out;
}

// Unpacks the golden version-1 store into `store`'s backing directory and
// returns a config that reaches its (copied, test-only) vault.
std::string unpack_golden_v1(MountedStore &store) {
    const std::string config = install_golden_store(store, golden_dir(1));
    REQUIRE(nlohmann::json::parse(read_file(store.backing() + "/.cmkfs.volume")).at("format_version") == 1);
    return config;
}

int format_version_of(const MountedStore &store) {
    return nlohmann::json::parse(read_file(store.backing() + "/.cmkfs.volume")).at("format_version");
}

// Sizes of every .cmkfs.dirid below the backing root.
std::set<uintmax_t> dir_id_sizes(const std::string &backing) {
    std::set<uintmax_t> out;
    for (const auto &e : fsys::recursive_directory_iterator(backing))
        if (e.path().filename() == ".cmkfs.dirid") out.insert(fsys::file_size(e.path()));
    return out;
}

}  // namespace

TEST_CASE("v2: two symlinks with swapped backing targets read as EIO", "[place][symlink]") {
    MountedStore store;
    const std::string bx = added_by(store.backing(), [&] { REQUIRE(::symlink("target-x", store.path("x").c_str()) == 0); });
    const std::string by = added_by(store.backing(), [&] { REQUIRE(::symlink("target-y", store.path("y").c_str()) == 0); });
    store.unmount();
    const std::string tx = backing_target(bx), ty = backing_target(by);
    replace_symlink(bx, ty);
    replace_symlink(by, tx);

    store.mount();
    CHECK(readlink_errno(store.path("x")) == EIO);
    CHECK(readlink_errno(store.path("y")) == EIO);
    INFO(store.daemon_log());
    CHECK(log_names(store.daemon_log(), bx));
    CHECK(log_names(store.daemon_log(), by));
    store.unmount();

    auto r = cli({"fsck", store.backing()});
    INFO(r.out << r.err);
    CHECK(r.exit_code == 10);
    CHECK(r.out.find(bx) != std::string::npos);
    CHECK(r.out.find(by) != std::string::npos);
    CHECK(r.out.find("symlink target fails to authenticate for its place") != std::string::npos);

    // Put back, both read again: the targets themselves were never damaged.
    replace_symlink(bx, tx);
    replace_symlink(by, ty);
    CHECK(cli({"fsck", store.backing()}).exit_code == 0);
}

TEST_CASE("v2: a symlink copied from another directory cannot stand in for a file", "[place][symlink]") {
    MountedStore store;
    const std::string ba = added_by(store.backing(), [&] { write_file(store.path("a.txt"), "the real contents"); });
    REQUIRE(::mkdir(store.path("d").c_str(), 0755) == 0);
    const std::string bd = store.backing() + "/" + *listing(store.backing()).rbegin();
    std::string bd_dir;
    for (const auto &n : listing(store.backing()))
        if (fsys::is_directory(store.backing() + "/" + n)) bd_dir = store.backing() + "/" + n;
    REQUIRE_FALSE(bd_dir.empty());
    const std::string bevil =
        added_by(bd_dir, [&] { REQUIRE(::symlink("/attacker/path", store.path("d/a.txt").c_str()) == 0); });
    store.unmount();

    // a.txt becomes a copy of d/a.txt (same plaintext name, another directory).
    fsys::remove(ba);
    fsys::create_symlink(backing_target(bevil), ba);

    store.mount();
    CHECK(S_ISLNK(lstat_ok(store.path("a.txt")).st_mode));
    CHECK(readlink_errno(store.path("a.txt")) == EIO);
    CHECK(read_errno(store.path("a.txt")) == EIO);  // following it fails too
    std::string target;
    CHECK(readlink_errno(store.path("d/a.txt"), &target) == 0);  // the original is untouched
    CHECK(target == "/attacker/path");
    INFO(store.daemon_log());
    CHECK(log_names(store.daemon_log(), ba));
    store.unmount();

    auto r = cli({"fsck", store.backing()});
    INFO(r.out << r.err);
    CHECK(r.exit_code == 10);
    CHECK(r.out.find(ba) != std::string::npos);
    CHECK(r.out.find("1 problem") != std::string::npos);
}

// The documented limit (FORMAT.md §9.3, "An entry's type"): a regular file's
// contents are bound to its file id, not its place, so a regular file copied
// over a symlink's backing entry reads as that file. Pinned so that a change
// (for the better) is noticed and the threat model updated.
TEST_CASE("v2 limit: a regular file copied over a symlink's backing entry is not detected", "[place][limit]") {
    MountedStore store;
    const std::string bf = added_by(store.backing(), [&] { write_file(store.path("f"), "some file's contents"); });
    const std::string bl =
        added_by(store.backing(), [&] { REQUIRE(::symlink("target", store.path("link").c_str()) == 0); });
    store.unmount();
    fsys::remove(bl);
    fsys::copy_file(bf, bl);
    store.mount();
    CHECK(S_ISREG(lstat_ok(store.path("link")).st_mode));
    std::string data;
    CHECK(read_errno(store.path("link"), &data) == 0);
    CHECK(data == "some file's contents");
    store.unmount();
    auto r = cli({"fsck", store.backing()});
    INFO(r.out << r.err);
    CHECK(r.exit_code == 0);
}

TEST_CASE("v2: two directories with swapped backing names read as EIO", "[place][dirid]") {
    MountedStore store;
    const std::string b1 = added_by(store.backing(), [&] { REQUIRE(::mkdir(store.path("d1").c_str(), 0755) == 0); });
    const std::string b2 = added_by(store.backing(), [&] { REQUIRE(::mkdir(store.path("d2").c_str(), 0755) == 0); });
    write_file(store.path("d1/f1"), "one");
    write_file(store.path("d2/f2"), "two");
    store.unmount();
    REQUIRE(renameat2_(b1, b2, RENAME_EXCHANGE) == 0);

    store.mount();
    CHECK(stat_errno(store.path("d1")) == EIO);
    CHECK(stat_errno(store.path("d2")) == EIO);
    CHECK(read_errno(store.path("d1/f2")) == EIO);
    CHECK(read_errno(store.path("d2/f1")) == EIO);
    // The listing still names them (so they can be found and repaired).
    CHECK(listing(store.mountpoint()) == std::set<std::string>{"d1", "d2"});
    INFO(store.daemon_log());
    CHECK(log_names(store.daemon_log(), b1));
    CHECK(log_names(store.daemon_log(), b2));
    store.unmount();

    auto r = cli({"fsck", store.backing()});
    INFO(r.out << r.err);
    CHECK(r.exit_code == 10);
    CHECK(r.out.find(b1) != std::string::npos);
    CHECK(r.out.find(b2) != std::string::npos);
    CHECK(r.out.find("bound to another place") != std::string::npos);
}

TEST_CASE("v2: a .cmkfs.dirid copied into another directory with an entry reads as EIO", "[place][dirid]") {
    MountedStore store;
    const std::string bsrc =
        added_by(store.backing(), [&] { REQUIRE(::mkdir(store.path("src").c_str(), 0755) == 0); });
    const std::string bdst =
        added_by(store.backing(), [&] { REQUIRE(::mkdir(store.path("dst").c_str(), 0755) == 0); });
    const std::string bsecret = added_by(bsrc, [&] { write_file(store.path("src/secret"), "from src"); });
    store.unmount();
    // dst gets src's id, and src's entry: with v1 it would list "secret".
    fsys::remove(bdst + "/.cmkfs.dirid");
    fsys::copy_file(bsrc + "/.cmkfs.dirid", bdst + "/.cmkfs.dirid");
    fsys::copy_file(bsecret, bdst + "/" + fsys::path(bsecret).filename().string());

    store.mount();
    CHECK(stat_errno(store.path("dst")) == EIO);
    CHECK(read_errno(store.path("dst/secret")) == EIO);
    CHECK(read_file(store.path("src/secret")) == "from src");
    INFO(store.daemon_log());
    CHECK(log_names(store.daemon_log(), bdst));
    store.unmount();

    auto r = cli({"fsck", store.backing()});
    INFO(r.out << r.err);
    CHECK(r.exit_code == 10);
    CHECK(r.out.find(bdst) != std::string::npos);
    CHECK(r.out.find("bound to another place") != std::string::npos);
    CHECK(r.out.find("1 problem") != std::string::npos);
}

TEST_CASE("v2: renamed symlinks are re-sealed and keep working", "[place][symlink][rename]") {
    MountedStore store;
    REQUIRE(::mkdir(store.path("a").c_str(), 0755) == 0);
    REQUIRE(::mkdir(store.path("b").c_str(), 0755) == 0);
    write_file(store.path("a/target"), "pointed to");
    REQUIRE(::symlink("target", store.path("a/l").c_str()) == 0);
    const std::string long_name(230, 'L');

    // Within a directory, then across, then to a long name, then over a file.
    REQUIRE(::rename(store.path("a/l").c_str(), store.path("a/l2").c_str()) == 0);
    std::string t;
    CHECK(readlink_errno(store.path("a/l2"), &t) == 0);
    CHECK(t == "target");
    CHECK(read_file(store.path("a/l2")) == "pointed to");
    CHECK(lstat_ok(store.path("a/l2")).st_nlink == 1);
    REQUIRE(::rename(store.path("a/l2").c_str(), store.path("b/" + long_name).c_str()) == 0);
    CHECK(readlink_errno(store.path("b/" + long_name), &t) == 0);
    CHECK(t == "target");
    write_file(store.path("a/existing"), "replaced");
    REQUIRE(::rename(store.path("b/" + long_name).c_str(), store.path("a/existing").c_str()) == 0);
    CHECK(read_file(store.path("a/existing")) == "pointed to");
    CHECK(listing(store.path("b")).empty());
    CHECK(listing(store.path("a")) == std::set<std::string>{"existing", "target"});

    // NOREPLACE refuses; RENAME_EXCHANGE with a symlink is refused (EINVAL,
    // as on filesystems without it); hard links to symlinks are refused.
    REQUIRE(::symlink("other", store.path("a/l3").c_str()) == 0);
    CHECK(renameat2_(store.path("a/l3"), store.path("a/existing"), RENAME_NOREPLACE) == EEXIST);
    CHECK(renameat2_(store.path("a/l3"), store.path("a/target"), RENAME_EXCHANGE) == EINVAL);
    CHECK(renameat2_(store.path("a/target"), store.path("a/l3"), RENAME_EXCHANGE) == EINVAL);
    CHECK(::link(store.path("a/l3").c_str(), store.path("a/hard").c_str()) == -1);
    CHECK(errno == EPERM);
    CHECK(readlink_errno(store.path("a/l3"), &t) == 0);
    CHECK(t == "other");

    store.unmount();
    for (const auto &n : backing_tree(store.backing())) CHECK(n.rfind(".cmkfs.rename.", 0) == std::string::npos);
    auto r = cli({"fsck", store.backing()});
    INFO(r.out << r.err);
    CHECK(r.exit_code == 0);
    store.mount();
    CHECK(readlink_errno(store.path("a/existing"), &t) == 0);
    CHECK(t == "target");
    CHECK(readlink_errno(store.path("a/l3"), &t) == 0);
    CHECK(t == "other");
}

TEST_CASE("v2: renamed directories are rebound and keep working", "[place][dirid][rename]") {
    MountedStore store;
    REQUIRE(::mkdir(store.path("a").c_str(), 0755) == 0);
    REQUIRE(::mkdir(store.path("b").c_str(), 0755) == 0);
    REQUIRE(::mkdir(store.path("a/tree").c_str(), 0755) == 0);
    REQUIRE(::mkdir(store.path("a/tree/deep").c_str(), 0755) == 0);
    write_file(store.path("a/tree/deep/f"), "deep file");
    REQUIRE(::symlink("f", store.path("a/tree/deep/l").c_str()) == 0);
    const std::string long_name(220, 'D');

    REQUIRE(::rename(store.path("a/tree").c_str(), store.path("b/moved").c_str()) == 0);
    CHECK(read_file(store.path("b/moved/deep/f")) == "deep file");
    CHECK(read_file(store.path("b/moved/deep/l")) == "deep file");
    REQUIRE(::rename(store.path("b/moved").c_str(), store.path("a/" + long_name).c_str()) == 0);
    CHECK(read_file(store.path("a/" + long_name + "/deep/l")) == "deep file");
    // Over an empty directory; then exchange two directories.
    REQUIRE(::mkdir(store.path("b/empty").c_str(), 0755) == 0);
    REQUIRE(::rename(store.path("a/" + long_name).c_str(), store.path("b/empty").c_str()) == 0);
    CHECK(read_file(store.path("b/empty/deep/f")) == "deep file");
    REQUIRE(::mkdir(store.path("a/other").c_str(), 0755) == 0);
    write_file(store.path("a/other/o"), "other");
    CHECK(renameat2_(store.path("a/other"), store.path("b/empty"), RENAME_NOREPLACE) == EEXIST);
    REQUIRE(renameat2_(store.path("a/other"), store.path("b/empty"), RENAME_EXCHANGE) == 0);
    CHECK(read_file(store.path("a/other/deep/f")) == "deep file");
    CHECK(read_file(store.path("b/empty/o")) == "other");
    // The directories themselves stay the same: a lookup right after a rename works.
    REQUIRE(::rename(store.path("a").c_str(), store.path("a-renamed").c_str()) == 0);
    CHECK(read_file(store.path("a-renamed/other/deep/l")) == "deep file");

    store.unmount();
    for (const auto &n : backing_tree(store.backing())) CHECK(n != ".cmkfs.dirid.next");
    auto r = cli({"fsck", store.backing()});
    INFO(r.out << r.err);
    CHECK(r.exit_code == 0);
    store.mount();
    CHECK(read_file(store.path("a-renamed/other/deep/l")) == "deep file");
    CHECK(read_file(store.path("b/empty/o")) == "other");
    CHECK(listing(store.path("b")) == std::set<std::string>{"empty"});
}

TEST_CASE("a version-1 store still reads, and its renames keep writing version 1", "[place][v1]") {
    MountedStore store(MountedStore::Options::unmounted());
    const std::string config = unpack_golden_v1(store);
    store.mount({"--config", config});
    std::string t;
    REQUIRE(readlink_errno(store.path("link-relative"), &t) == 0);
    CHECK(t == "dir/sub/deeper/note.txt");
    REQUIRE(::rename(store.path("link-relative").c_str(), store.path("dir/sub/moved-link").c_str()) == 0);
    REQUIRE(::rename(store.path("dir/sub").c_str(), store.path("sub-moved").c_str()) == 0);
    CHECK(readlink_errno(store.path("sub-moved/moved-link"), &t) == 0);
    CHECK(t == "dir/sub/deeper/note.txt");
    CHECK(read_file(store.path("sub-moved/deeper/note.txt")) == "deep inside\n");
    // A v1 store keeps allowing what v1 allowed.
    REQUIRE(::link(store.path("sub-moved/moved-link").c_str(), store.path("hard-to-link").c_str()) == 0);
    store.unmount();

    CHECK(format_version_of(store) == 1);
    CHECK(dir_id_sizes(store.backing()) == std::set<uintmax_t>{16});
    for (const auto &n : backing_tree(store.backing())) CHECK(n != ".cmkfs.dirid.next");
    // fsck reads it with the version-1 rules: a symlink sealed the v2 way would fail.
    auto r = cli({"fsck", store.backing(), "--config", config});
    INFO(r.out << r.err);
    CHECK(r.exit_code == 0);
    store.mount({"--config", config});
    CHECK(readlink_errno(store.path("hard-to-link"), &t) == 0);
    CHECK(t == "dir/sub/deeper/note.txt");
}

TEST_CASE("reencrypt upgrades a version-1 store to version 2", "[place][v1][reencrypt]") {
    MountedStore store(MountedStore::Options::unmounted());
    const std::string config = unpack_golden_v1(store);
    SECTION("in one run") {
        CHECK_FALSE(std::filesystem::exists(store.backing() + "/.cmkfs.reencrypt"));  // nothing to resume
    }
    SECTION("killed half way, then resumed") {
        ::setenv("CMKFS_FAULT", "reencrypt:after-files-6:kill", 1);
        auto killed = cli({"reencrypt", store.backing(), "--config", config});
        ::unsetenv("CMKFS_FAULT");
        REQUIRE(killed.exit_code != 0);
        CHECK(format_version_of(store) == 1);  // the header is swapped last
        CHECK(dir_id_sizes(store.backing()) == std::set<uintmax_t>{16, 48});  // the root is rebound first
    }
    auto r = cli({"reencrypt", store.backing(), "--config", config});
    INFO(r.out << r.err);
    REQUIRE(r.exit_code == 0);
    CHECK(format_version_of(store) == 3);
    CHECK(dir_id_sizes(store.backing()) == std::set<uintmax_t>{48});
    r = cli({"fsck", store.backing(), "--config", config});
    INFO(r.out << r.err);
    CHECK(r.exit_code == 0);
    store.mount({"--config", config});
    std::string t;
    CHECK(readlink_errno(store.path("link-relative"), &t) == 0);
    CHECK(t == "dir/sub/deeper/note.txt");
    CHECK(readlink_errno(store.path("dir/link-long-target"), &t) == 0);
    CHECK(t == std::string(300, 'x'));
    CHECK(read_file(store.path("dir/sub/deeper/note.txt")) == "deep inside\n");
    CHECK(read_file(store.path(std::string(200, 'D') + "/inside")) == "in a directory with a long name\n");
    // Now a v2 store: the place binding holds.
    CHECK(renameat2_(store.path("link-relative"), store.path("one-byte"), RENAME_EXCHANGE) == EINVAL);
}

TEST_CASE("v2 with plaintext names: a symlink or directory renamed in the backing reads as EIO",
          "[place][plaintext]") {
    MountedStore::Options options;
    options.plaintext_names = true;
    MountedStore store(options);
    REQUIRE(::symlink("somewhere", store.path("link").c_str()) == 0);
    REQUIRE(::mkdir(store.path("dir").c_str(), 0755) == 0);
    write_file(store.path("dir/f"), "in dir");
    store.unmount();
    // Names are not encrypted here, so renaming is all the attacker needs.
    fsys::rename(store.backing() + "/link", store.backing() + "/other-link");
    fsys::rename(store.backing() + "/dir", store.backing() + "/other-dir");
    store.mount();
    CHECK(readlink_errno(store.path("other-link")) == EIO);
    CHECK(stat_errno(store.path("other-dir")) == EIO);
    INFO(store.daemon_log());
    CHECK(log_names(store.daemon_log(), store.backing() + "/other-link"));
    CHECK(log_names(store.daemon_log(), store.backing() + "/other-dir"));
    // Renamed through the mount they are rebound and read.
    store.unmount();
    fsys::rename(store.backing() + "/other-link", store.backing() + "/link");
    fsys::rename(store.backing() + "/other-dir", store.backing() + "/dir");
    store.mount();
    REQUIRE(::rename(store.path("link").c_str(), store.path("other-link").c_str()) == 0);
    REQUIRE(::rename(store.path("dir").c_str(), store.path("other-dir").c_str()) == 0);
    std::string t;
    CHECK(readlink_errno(store.path("other-link"), &t) == 0);
    CHECK(t == "somewhere");
    CHECK(read_file(store.path("other-dir/f")) == "in dir");
    store.unmount();
    CHECK(cli({"fsck", store.backing()}).exit_code == 0);
}

TEST_CASE("v2: a daemon killed between a directory's backing rename and its rebind leaves it readable",
          "[place][dirid][crash]") {
    MountedStore store;
    REQUIRE(::mkdir(store.path("a").c_str(), 0755) == 0);
    REQUIRE(::mkdir(store.path("a/d").c_str(), 0755) == 0);
    write_file(store.path("a/d/f"), "still here");
    store.unmount();
    ::setenv("CMKFS_FAULT", "rename:finish:kill", 1);
    store.mount();
    ::unsetenv("CMKFS_FAULT");
    CHECK(::rename(store.path("a/d").c_str(), store.path("moved").c_str()) != 0);  // the daemon died
    store.kill_daemon();

    // The backing rename happened; only `.cmkfs.dirid.next` is bound to the new place.
    std::string moved;
    for (const auto &n : listing(store.backing()))
        if (fsys::exists(store.backing() + "/" + n + "/.cmkfs.dirid.next")) moved = store.backing() + "/" + n;
    REQUIRE_FALSE(moved.empty());
    auto r = cli({"fsck", store.backing()});
    INFO(r.out << r.err);
    CHECK(r.exit_code == 0);

    store.mount();
    CHECK(read_file(store.path("moved/f")) == "still here");  // the lookup finishes the rename
    CHECK_FALSE(fsys::exists(moved + "/.cmkfs.dirid.next"));
    CHECK(stat_errno(store.path("a/d")) == ENOENT);
    REQUIRE(::rename(store.path("moved").c_str(), store.path("a/back").c_str()) == 0);
    CHECK(read_file(store.path("a/back/f")) == "still here");
}
