// Format 2 binds every content ciphertext to its place (docs/FORMAT.md §3, §7,
// §9): the attacks of issue 11 list 3 on contents, xattrs and hard links,
// performed on the backing directory of a real store, must read as EIO with
// a log line naming the backing file, and `cmkfs fsck` must report them
// (exit 10). What stays a documented limit is asserted as such, so that a
// change in behaviour is noticed. Also `cmkfs upgrade` of a version-1 store
// (the golden one): it mounts, reads identically and is resumable.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <iterator>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "crypto/encoding.h"
#include "crypto/kdf.h"
#include "support/backing_bytes.h"
#include "support/mount_io.h"
#include "support/golden.h"
#include "support/process.h"
#include "support/scoped_env.h"
#include "support/test_seed.h"
#include "support/random_bytes.h"

using namespace cmkfs::test;
namespace fsys = std::filesystem;
using nlohmann::json;

namespace {

// `cmkfs fsck` exits 10 and names the backing file (and `what`, if given).
void require_fsck_reports(const MountedStore &store, const std::string &backing_file, const std::string &what = "") {
    auto r = cli({"fsck", store.backing()});
    INFO(r.out << r.err);
    CHECK(r.exit_code == 10);
    const std::string all = r.out + r.err;
    CHECK(all.find(fsys::path(backing_file).filename().string()) != std::string::npos);
    if (!what.empty()) CHECK(all.find(what) != std::string::npos);
}

void require_fsck_clean(const MountedStore &store) {
    auto r = cli({"fsck", store.backing()});
    INFO(r.out << r.err);
    CHECK(r.exit_code == 0);
}

std::string backing_xattr(const std::string &path, const std::string &name) {
    std::string value(65536, '\0');
    ssize_t n = ::lgetxattr(path.c_str(), name.c_str(), value.data(), value.size());
    REQUIRE(n >= 0);
    value.resize(static_cast<size_t>(n));
    return value;
}

// The backing user.* names on `path` (encrypted attribute names).
std::vector<std::string> backing_user_xattrs(const std::string &path) {
    std::vector<char> names(65536);
    ssize_t n = ::llistxattr(path.c_str(), names.data(), names.size());
    REQUIRE(n >= 0);
    std::vector<std::string> out;
    for (ssize_t pos = 0; pos < n;) {
        std::string name(names.data() + pos);
        pos += static_cast<ssize_t>(name.size()) + 1;
        if (name.starts_with("user.")) out.push_back(name);
    }
    return out;
}

int getxattr_errno(const std::string &path, const std::string &name, std::string *value = nullptr) {
    std::string buf(4096, '\0');
    ssize_t n = ::getxattr(path.c_str(), name.c_str(), buf.data(), buf.size());
    if (n < 0) return errno;
    if (value) *value = buf.substr(0, static_cast<size_t>(n));
    return 0;
}

constexpr size_t kFileSize = 3 * kBlock + 1000;  // three full blocks and a partial fourth

std::string sha256_hex(const std::string &data) {
    return cmkfs::crypto::hex_encode(cmkfs::crypto::sha256(cmkfs::crypto::as_bytes(data)));
}

// The golden version-1 store (tests/golden/v1) unpacked as `store`'s backing
// directory, with a config that finds its copied vault. Returns the config path.
std::string unpack_golden_v1(MountedStore &store) {
    const std::string config = install_golden_store(store, golden_dir(1));
    REQUIRE(nlohmann::json::parse(read_file(store.backing() + "/.cmkfs.volume")).at("format_version") == 1);
    return config;
}

// The mounted tree holds what the golden manifest lists: contents, sizes,
// symlink targets and xattr values.
void compare_with_golden_manifest(const MountedStore &store) {
    const json manifest = json::parse(read_file(source_dir() + "/tests/golden/v1/manifest.json"));
    for (const auto &[rel, e] : manifest.at("entries").items()) {
        INFO("entry " << rel);
        const std::string path = store.path(rel);
        const std::string type = e.at("type");
        if (type == "file") {
            std::string data;
            REQUIRE(read_errno(path, &data) == 0);
            CHECK(data.size() == e.at("size").get<uint64_t>());
            CHECK(sha256_hex(data) == e.at("sha256").get<std::string>());
        } else if (type == "symlink") {
            CHECK(fsys::read_symlink(path).string() == e.at("target").get<std::string>());
        } else {
            CHECK(fsys::is_directory(fsys::symlink_status(path)));
        }
        if (!e.contains("xattrs")) continue;
        for (const auto &[name, hex_value] : e.at("xattrs").items()) {
            std::string value;
            REQUIRE(getxattr_errno(path, name, &value) == 0);
            CHECK(cmkfs::crypto::hex_encode(cmkfs::crypto::as_bytes(value)) == hex_value.get<std::string>());
        }
    }
}

int header_version(const MountedStore &store) {
    return json::parse(read_file(store.backing() + "/.cmkfs.volume")).at("format_version").get<int>();
}

}  // namespace

TEST_CASE("new stores are at the current format version (3), not shared unless asked", "[place-binding]") {
    MountedStore store(MountedStore::Options::unmounted());
    const json header = json::parse(read_file(store.backing() + "/.cmkfs.volume"));
    CHECK(header.at("format_version") == 3);
    CHECK(header.at("shared_storage") == false);
}

TEST_CASE("a backing file cut at a block boundary reads as EIO", "[place-binding]") {
    MountedStore store;
    const std::string content = random_bytes(kFileSize, 1);
    const std::string backing = create_and_locate(store, "a", content);
    store.unmount();
    // Cut after block 1: a valid size for a file of two full blocks.
    REQUIRE(::truncate(backing.c_str(), static_cast<off_t>(block_offset(2))) == 0);
    store.mount();
    CHECK(fsys::file_size(store.path("a")) == 2 * kBlock);
    std::string got;
    CHECK(read_through_mount(store.path("a"), 0, kBlock, &got) == 0);  // block 0 is intact
    CHECK(got == content.substr(0, kBlock));
    CHECK(read_through_mount(store.path("a"), kBlock, kBlock) == EIO);
    CHECK(read_errno(store.path("a")) == EIO);
    const std::string log = store.daemon_log();
    INFO(log);
    CHECK(log_names(log, backing, "block 1"));
    store.unmount();
    require_fsck_reports(store, backing, "block 1");
}

TEST_CASE("zero blocks appended to a backing file read as EIO", "[place-binding]") {
    MountedStore store;
    const std::string content = random_bytes(2 * kBlock, 2);  // ends at a block boundary
    const std::string backing = create_and_locate(store, "a", content);
    store.unmount();
    size_t final_block = 0;  // of the extended file: a hole, which format 2 never leaves last
    SECTION("whole zero blocks (a sparse extension)") {
        REQUIRE(::truncate(backing.c_str(), static_cast<off_t>(block_offset(4))) == 0);
        final_block = 3;
    }
    SECTION("a short zero block") {
        write_range(backing, block_offset(2), std::string(500 + 28, '\0'));
        final_block = 2;
    }
    store.mount();
    std::string got;
    CHECK(read_through_mount(store.path("a"), 0, kBlock, &got) == 0);
    CHECK(got == content.substr(0, kBlock));
    // The zero tail is final but not sealed as such (nor sealed at all): EIO.
    // The old final block still reads, as it would after a crash that lost
    // its re-seal (FORMAT.md §3).
    CHECK(read_through_mount(store.path("a"), final_block * kBlock, 100) == EIO);
    CHECK(read_errno(store.path("a")) == EIO);
    CHECK(read_through_mount(store.path("a"), kBlock, kBlock, &got) == 0);
    CHECK(got == content.substr(kBlock));
    const std::string log = store.daemon_log();
    INFO(log);
    CHECK(log_names(log, backing, "block " + std::to_string(final_block)));
    store.unmount();
    require_fsck_reports(store, backing, "block " + std::to_string(final_block));
}

TEST_CASE("a file grown by truncate or by writes past its end reads back and passes fsck", "[place-binding]") {
    MountedStore store;
    write_file(store.path("grown"), random_bytes(kBlock, 3));
    REQUIRE(::truncate(store.path("grown").c_str(), static_cast<off_t>(9 * kBlock + 17)) == 0);
    write_file(store.path("full"), random_bytes(2 * kBlock, 4));
    {
        int fd = ::open(store.path("full").c_str(), O_WRONLY | O_APPEND);
        REQUIRE(fd >= 0);
        REQUIRE(::write(fd, "tail", 4) == 4);
        ::close(fd);
    }
    write_file(store.path("sparse"), "x");
    {
        int fd = ::open(store.path("sparse").c_str(), O_WRONLY);
        REQUIRE(fd >= 0);
        REQUIRE(::pwrite(fd, "y", 1, 20 * kBlock) == 1);
        REQUIRE(::ftruncate(fd, 5 * kBlock) == 0);  // down to a boundary inside the holes
        ::close(fd);
    }
    write_file(store.path("allocated"), "abc");
    {
        int fd = ::open(store.path("allocated").c_str(), O_WRONLY);
        REQUIRE(fd >= 0);
        REQUIRE(::fallocate(fd, 0, 0, static_cast<off_t>(5 * kBlock + 10)) == 0);
        ::close(fd);
    }
    std::string data;
    REQUIRE(read_errno(store.path("allocated"), &data) == 0);
    CHECK(data == "abc" + std::string(5 * kBlock + 7, '\0'));
    REQUIRE(read_errno(store.path("grown"), &data) == 0);
    CHECK(data.size() == 9 * kBlock + 17);
    REQUIRE(read_errno(store.path("full"), &data) == 0);
    CHECK(data.substr(2 * kBlock) == "tail");
    REQUIRE(read_errno(store.path("sparse"), &data) == 0);
    CHECK(data == "x" + std::string(5 * kBlock - 1, '\0'));
    store.unmount();
    require_fsck_clean(store);
}

TEST_CASE("limitation: one block rolled back to an older version authenticates", "[place-binding][limitation]") {
    // Same file id, same index, same final flag: an older sealing of the block
    // is as valid as the current one. Closing it needs a freshness anchor
    // outside the store (FORMAT.md §9).
    MountedStore store;
    const std::string old_content = random_bytes(kFileSize, 5);
    const std::string backing = create_and_locate(store, "a", old_content);
    const std::string old_block = read_range(backing, block_offset(1), kCipherBlock);
    const std::string patch = random_bytes(kBlock, 6);
    {
        int fd = ::open(store.path("a").c_str(), O_WRONLY);
        REQUIRE(fd >= 0);
        REQUIRE(::pwrite(fd, patch.data(), patch.size(), kBlock) == static_cast<ssize_t>(patch.size()));
        ::close(fd);
    }
    store.unmount();
    write_range(backing, block_offset(1), old_block);
    store.mount();
    std::string got;
    REQUIRE(read_errno(store.path("a"), &got) == 0);
    CHECK(got == old_content);
    store.unmount();
    require_fsck_clean(store);
}

TEST_CASE("limitation: two files' backing contents swapped read as each other's", "[place-binding][limitation]") {
    // Contents are bound to their file id, not to their name (FORMAT.md §9:
    // binding them to the name would break hard links and make every rename
    // rewrite the file header).
    MountedStore store;
    const std::string a = random_bytes(kFileSize, 7), b = random_bytes(100, 8);
    const std::string ba = create_and_locate(store, "a", a);
    const std::string bb = create_and_locate(store, "b", b);
    REQUIRE(::setxattr(store.path("a").c_str(), "user.tag", "A", 1, 0) == 0);
    store.unmount();
    const std::string tmp = store.backing() + "/swap.tmp";
    fsys::rename(ba, tmp);
    fsys::rename(bb, ba);
    fsys::rename(tmp, bb);
    store.mount();
    CHECK(read_file(store.path("a")) == b);
    CHECK(read_file(store.path("b")) == a);
    std::string tag;
    CHECK(getxattr_errno(store.path("b"), "user.tag", &tag) == 0);  // xattrs travel with their inode
    CHECK(tag == "A");
    store.unmount();
    require_fsck_clean(store);
}

TEST_CASE("an xattr value copied to another file reads as EIO", "[place-binding]") {
    MountedStore store;
    const std::string ba = create_and_locate(store, "a", "contents of a");
    const std::string bb = create_and_locate(store, "b", "contents of b");
    const std::string be = create_and_locate(store, "empty", "");
    const std::string bd = locate_new(store, [&] { fsys::create_directory(store.path("d")); });
    const std::string be2 = locate_new(store, [&] { fsys::create_directory(store.path("e")); });
    REQUIRE(::setxattr(store.path("a").c_str(), "user.secret", "for a only", 10, 0) == 0);
    REQUIRE(::setxattr(store.path("b").c_str(), "user.secret", "b's own", 7, 0) == 0);
    REQUIRE(::setxattr(store.path("d").c_str(), "user.note", "dir d", 5, 0) == 0);
    // An empty file that gets an xattr gets a header (and so an id) too.
    REQUIRE(::setxattr(store.path("empty").c_str(), "user.e", "e", 1, 0) == 0);
    CHECK(fsys::file_size(be) == kHeader);
    CHECK(fsys::file_size(store.path("empty")) == 0);
    // Truncating to 0 keeps it, so the xattr stays valid.
    REQUIRE(::truncate(store.path("empty").c_str(), 0) == 0);
    std::string value;
    CHECK(getxattr_errno(store.path("empty"), "user.e", &value) == 0);
    CHECK(value == "e");
    store.unmount();

    const auto names_a = backing_user_xattrs(ba);
    REQUIRE(names_a.size() == 1);
    std::string victim;
    SECTION("over another file's value of the same attribute") {
        const std::string sealed = backing_xattr(ba, names_a[0]);
        REQUIRE(::lsetxattr(bb.c_str(), names_a[0].c_str(), sealed.data(), sealed.size(), 0) == 0);
        victim = bb;
        store.mount();
        CHECK(getxattr_errno(store.path("b"), "user.secret") == EIO);
    }
    SECTION("onto a file that has a header but no such attribute") {
        const std::string sealed = backing_xattr(ba, names_a[0]);
        REQUIRE(::lsetxattr(be.c_str(), names_a[0].c_str(), sealed.data(), sealed.size(), 0) == 0);
        victim = be;
        store.mount();
        CHECK(getxattr_errno(store.path("empty"), "user.secret") == EIO);
        CHECK(getxattr_errno(store.path("empty"), "user.e") == 0);  // its own still reads
    }
    SECTION("from a directory to another directory") {
        const auto names_d = backing_user_xattrs(bd);
        REQUIRE(names_d.size() == 1);
        const std::string sealed = backing_xattr(bd, names_d[0]);
        REQUIRE(::lsetxattr(be2.c_str(), names_d[0].c_str(), sealed.data(), sealed.size(), 0) == 0);
        victim = be2;
        store.mount();
        CHECK(getxattr_errno(store.path("e"), "user.note") == EIO);
        CHECK(getxattr_errno(store.path("d"), "user.note") == 0);
    }
    CHECK(getxattr_errno(store.path("a"), "user.secret", &value) == 0);
    CHECK(value == "for a only");
    const std::string log = store.daemon_log();
    INFO(log);
    CHECK(log_names(log, victim, "xattr"));
    store.unmount();
    require_fsck_reports(store, victim, "xattr");
}

TEST_CASE("an xattr planted on a file without a header reads as EIO", "[place-binding]") {
    MountedStore store;
    const std::string ba = create_and_locate(store, "a", "contents of a");
    const std::string bn = create_and_locate(store, "none", "");
    REQUIRE(::setxattr(store.path("a").c_str(), "user.k", "v", 1, 0) == 0);
    store.unmount();
    REQUIRE(fsys::file_size(bn) == 0);
    const auto names = backing_user_xattrs(ba);
    REQUIRE(names.size() == 1);
    const std::string sealed = backing_xattr(ba, names[0]);
    REQUIRE(::lsetxattr(bn.c_str(), names[0].c_str(), sealed.data(), sealed.size(), 0) == 0);
    store.mount();
    CHECK(getxattr_errno(store.path("none"), "user.k") == EIO);
    CHECK(log_names(store.daemon_log(), bn, "xattr"));
    store.unmount();
    require_fsck_reports(store, bn, "xattr");
}

TEST_CASE("a version-1 store mounted by this cmkfs keeps reading and writing version 1", "[place-binding][upgrade]") {
    MountedStore store(MountedStore::Options::unmounted());
    const std::string config = unpack_golden_v1(store);
    store.mount({"--config", config});
    const std::string content = random_bytes(2 * kBlock, 9);
    write_file(store.path("new-in-v1"), content);
    REQUIRE(::truncate(store.path("new-in-v1").c_str(), static_cast<off_t>(6 * kBlock)) == 0);  // a trailing hole
    REQUIRE(::setxattr(store.path("new-in-v1").c_str(), "user.k", "v", 1, 0) == 0);
    write_file(store.path("emptied"), "x");
    REQUIRE(::truncate(store.path("emptied").c_str(), 0) == 0);
    compare_with_golden_manifest(store);
    store.unmount();
    CHECK(header_version(store) == 1);
    auto fsck = cli({"fsck", store.backing(), "--config", config});
    INFO(fsck.out << fsck.err);
    CHECK(fsck.exit_code == 0);
    store.mount({"--config", config});
    std::string data;
    REQUIRE(read_errno(store.path("new-in-v1"), &data) == 0);
    CHECK(data == content + std::string(4 * kBlock, '\0'));
    CHECK(fsys::file_size(store.path("emptied")) == 0);
    store.unmount();
}

TEST_CASE("cmkfs upgrade moves a version-1 store to the current version", "[place-binding][upgrade]") {
    MountedStore store(MountedStore::Options::unmounted());
    const std::string config = unpack_golden_v1(store);
    const std::string old_header = read_file(store.backing() + "/.cmkfs.volume");

    SECTION("in one run") {
        auto r = cli({"upgrade", store.backing(), "--config", config});
        INFO(r.out << r.err);
        REQUIRE(r.exit_code == 0);
        CHECK(r.out.find("format version 3") != std::string::npos);
    }
    SECTION("killed part way, then resumed") {
        {
            ScopedEnv env("CMKFS_FAULT", "reencrypt:after-files-4:kill");
            auto killed = cli({"upgrade", store.backing(), "--config", config});
            REQUIRE(killed.exit_code == 128 + SIGKILL);
        }
        CHECK(header_version(store) == 1);
        auto mount = cli({"mount", "-f", store.backing(), store.mountpoint(), "--config", config});
        CHECK(mount.exit_code == 4);  // refused while the journal exists
        {
            ScopedEnv env("CMKFS_FAULT", "reencrypt:after-header:kill");
            auto killed = cli({"upgrade", store.backing(), "--config", config});
            REQUIRE(killed.exit_code == 128 + SIGKILL);
        }
        CHECK(header_version(store) == 3);
        auto r = cli({"upgrade", store.backing(), "--config", config});
        INFO(r.out << r.err);
        REQUIRE(r.exit_code == 0);
        CHECK(r.out.find("resumed") != std::string::npos);
    }
    CHECK(header_version(store) == 3);
    CHECK(read_file(store.backing() + "/.cmkfs.volume") != old_header);
    CHECK_FALSE(fsys::exists(store.backing() + "/.cmkfs.reencrypt"));
    auto fsck = cli({"fsck", store.backing(), "--config", config});
    INFO(fsck.out << fsck.err);
    CHECK(fsck.exit_code == 0);
    store.mount({"--config", config});
    compare_with_golden_manifest(store);
    // The sparse file's trailing hole became a sealed final block: cutting the
    // upgraded store's files at a block boundary is now detected.
    store.unmount();

    // Already current: refused, and nothing changes.
    const std::string header = read_file(store.backing() + "/.cmkfs.volume");
    auto again = cli({"upgrade", store.backing(), "--config", config});
    INFO(again.out << again.err);
    CHECK(again.exit_code == 2);
    CHECK(again.err.find("already at format version 3") != std::string::npos);
    CHECK(read_file(store.backing() + "/.cmkfs.volume") == header);

    // The names half of version 2 came with it: every directory id (the root's,
    // the nested and the long-named directories') is the 48-byte form bound to
    // its place, and the symlinks are sealed for theirs, so the root's two
    // symlinks with their backing targets swapped now read as EIO.
    std::set<uintmax_t> id_sizes;
    for (const auto &e : fsys::recursive_directory_iterator(store.backing()))
        if (e.path().filename() == ".cmkfs.dirid") id_sizes.insert(fsys::file_size(e.path()));
    CHECK(id_sizes == std::set<uintmax_t>{48});
    std::vector<fsys::path> links;
    for (const auto &e : fsys::directory_iterator(store.backing()))
        if (e.is_symlink()) links.push_back(e.path());
    REQUIRE(links.size() == 2);
    const fsys::path t0 = fsys::read_symlink(links[0]), t1 = fsys::read_symlink(links[1]);
    fsys::remove(links[0]);
    fsys::remove(links[1]);
    fsys::create_symlink(t1, links[0]);
    fsys::create_symlink(t0, links[1]);
    store.mount({"--config", config});
    for (const char *name : {"link-relative", "link-dangling"}) {
        INFO(name);
        char buf[4096];
        errno = 0;
        CHECK(::readlink(store.path(name).c_str(), buf, sizeof buf) < 0);
        CHECK(errno == EIO);
    }
    store.unmount();
    auto damaged = cli({"fsck", store.backing(), "--config", config});
    INFO(damaged.out << damaged.err);
    CHECK(damaged.exit_code == 10);
}

TEST_CASE("cmkfs upgrade refuses a mounted store", "[place-binding][upgrade]") {
    MountedStore store(MountedStore::Options::unmounted());
    const std::string config = unpack_golden_v1(store);
    store.mount({"--config", config});
    auto r = cli({"upgrade", store.backing(), "--config", config});
    INFO(r.out << r.err);
    CHECK(r.exit_code == 4);
    CHECK(r.err.find("is mounted at") != std::string::npos);
    store.unmount();
    CHECK(header_version(store) == 1);
}

TEST_CASE("hard links made through cmkfs are recorded and pass fsck", "[place-binding][hardlink]") {
    MountedStore store;
    write_file(store.path("a"), "shared contents");
    write_file(store.path("empty"), "");
    fsys::create_directory(store.path("d"));
    fsys::create_hard_link(store.path("a"), store.path("d/a2"));
    fsys::create_hard_link(store.path("a"), store.path("a3"));
    fsys::create_hard_link(store.path("empty"), store.path("empty2"));  // gets a header for its record
    CHECK(fsys::hard_link_count(store.path("a")) == 3);
    CHECK(read_file(store.path("d/a2")) == "shared contents");
    CHECK(read_file(store.path("empty2")).empty());
    store.unmount();
    require_fsck_clean(store);

    store.mount();
    // Fewer links: unlink, and a rename over one of them.
    fsys::remove(store.path("a3"));
    write_file(store.path("other"), "other");
    fsys::rename(store.path("other"), store.path("d/a2"));
    CHECK(fsys::hard_link_count(store.path("a")) == 1);
    // Renaming one link over another of the same inode changes nothing.
    fsys::create_hard_link(store.path("a"), store.path("a4"));
    REQUIRE(::rename(store.path("a4").c_str(), store.path("a").c_str()) == 0);
    CHECK(fsys::hard_link_count(store.path("a")) == 2);
    CHECK(read_file(store.path("a")) == "shared contents");
    CHECK(read_file(store.path("d/a2")) == "other");
    store.unmount();
    require_fsck_clean(store);
}

TEST_CASE("a backing hard link planted in place of another file is refused and reported", "[place-binding][hardlink]") {
    MountedStore store;
    const std::string ba = create_and_locate(store, "a", "a's contents");
    const std::string bb = create_and_locate(store, "b", "b's contents");
    SECTION("onto a file with one link") { CHECK(fsys::hard_link_count(store.path("a")) == 1); }
    SECTION("onto a file that already has links made through cmkfs") {
        fsys::create_hard_link(store.path("a"), store.path("a2"));
        CHECK(fsys::hard_link_count(store.path("a")) == 2);
    }
    store.unmount();
    // The attacker replaces b by a link to a: writes through one would change the other.
    fsys::remove(bb);
    fsys::create_hard_link(ba, bb);
    store.mount();
    CHECK(read_errno(store.path("b")) == EIO);
    CHECK(read_errno(store.path("a")) == EIO);
    const std::string log = store.daemon_log();
    INFO(log);
    CHECK(log_names(log, "hard link"));
    store.unmount();
    auto r = cli({"fsck", store.backing()});
    INFO(r.out << r.err);
    CHECK(r.exit_code == 10);
    CHECK(r.out.find("BAD /b: ") != std::string::npos);
    CHECK(r.out.find("not made through cmkfs") != std::string::npos);
}

// A rename over one of a file's names removes that link, so its record must
// come down with it, whichever kind of entry is renamed over it (a symlink
// goes through the v2 re-seal path of store::rename_entry). Were the record
// left too high, one planted backing link would go unnoticed.
TEST_CASE("a rename over one of a file's links lowers its record", "[place-binding][hardlink]") {
    MountedStore store;
    const std::string ba = create_and_locate(store, "a", "a's contents");
    const std::string bb = create_and_locate(store, "b", "b's contents");
    fsys::create_hard_link(store.path("a"), store.path("a2"));
    SECTION("a regular file renamed over it") {
        write_file(store.path("other"), "other");
        fsys::rename(store.path("other"), store.path("a2"));
        CHECK(read_file(store.path("a2")) == "other");
    }
    SECTION("a symlink renamed over it") {
        fsys::create_symlink("somewhere", store.path("l"));
        fsys::rename(store.path("l"), store.path("a2"));
        CHECK(fsys::read_symlink(store.path("a2")) == "somewhere");
    }
    CHECK(fsys::hard_link_count(store.path("a")) == 1);
    CHECK(read_file(store.path("a")) == "a's contents");
    store.unmount();
    require_fsck_clean(store);
    // The attacker replaces b by a second link to a.
    fsys::remove(bb);
    fsys::create_hard_link(ba, bb);
    store.mount();
    CHECK(read_errno(store.path("a")) == EIO);
    store.unmount();
    auto r = cli({"fsck", store.backing()});
    INFO(r.out << r.err);
    CHECK(r.exit_code == 10);
    CHECK(r.out.find("not made through cmkfs") != std::string::npos);
}

TEST_CASE("xattrs on the root, a directory and files pass fsck and survive a remount", "[place-binding]") {
    MountedStore store;
    REQUIRE(::setxattr(store.mountpoint().c_str(), "user.root", "r", 1, 0) == 0);
    fsys::create_directory(store.path("d"));
    REQUIRE(::setxattr(store.path("d").c_str(), "user.dir", "d", 1, 0) == 0);
    write_file(store.path("f"), "");
    REQUIRE(::setxattr(store.path("f").c_str(), "user.file", "f", 1, 0) == 0);
    write_file(store.path("f"), "now with data");  // O_TRUNC keeps the id, and so the xattr
    store.unmount();
    require_fsck_clean(store);
    store.mount();
    std::string value;
    CHECK(getxattr_errno(store.mountpoint(), "user.root", &value) == 0);
    CHECK(value == "r");
    CHECK(getxattr_errno(store.path("d"), "user.dir", &value) == 0);
    CHECK(getxattr_errno(store.path("f"), "user.file", &value) == 0);
    CHECK(value == "f");
    CHECK(read_file(store.path("f")) == "now with data");
    store.unmount();
}

TEST_CASE("reencrypt carries hard-link records over, also for files kept in place", "[place-binding][hardlink]") {
    MountedStore::Options options;
    options.plaintext_names = GENERATE(false, true);
    MountedStore store(options);
    INFO("plaintext names " << options.plaintext_names);
    write_file(store.path("data"), random_bytes(2 * kBlock + 5, 10));
    fsys::create_hard_link(store.path("data"), store.path("data2"));
    // Empty: no blocks, so a plaintext-names re-encryption keeps the inode in place.
    write_file(store.path("empty"), "");
    fsys::create_hard_link(store.path("empty"), store.path("empty2"));
    REQUIRE(::setxattr(store.path("empty").c_str(), "user.k", "v", 1, 0) == 0);
    store.unmount();
    auto r = cli({"reencrypt", store.backing()});
    INFO(r.out << r.err);
    REQUIRE(r.exit_code == 0);
    require_fsck_clean(store);
    store.mount();
    std::string data;
    CHECK(read_errno(store.path("data2"), &data) == 0);
    CHECK(data.size() == 2 * kBlock + 5);
    CHECK(read_errno(store.path("empty2"), &data) == 0);
    CHECK(data.empty());
    std::string value;
    CHECK(getxattr_errno(store.path("empty2"), "user.k", &value) == 0);
    CHECK(value == "v");
    CHECK(fsys::hard_link_count(store.path("empty")) == 2);
    store.unmount();
}
