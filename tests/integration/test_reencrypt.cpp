// cmkfs reencrypt on real stores: a tree of thousands of files (nested
// directories, long names, symlinks, hard links, xattrs, a FIFO) and a 3 GiB
// sparse file, built through a real FUSE mount. The run is SIGKILLed part way
// (CMKFS_FAULT), the half-converted store must refuse to mount, a resumed run
// is killed again, and the final resume must leave a store that fsck passes,
// that mounts with the identical tree (contents, modes, mtimes, symlinks,
// links, xattrs, holes), and in which nothing authenticates under the old
// volume key any more.
#include <catch2/catch.hpp>

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "crypto/kdf.h"
#include "format/block_codec.h"
#include "format/file_layout.h"
#include "format/key_schedule.h"
#include "format/name_codec.h"
#include "format/place_codec.h"
#include "format/volume_header.h"
#include "format/xattr_codec.h"
#include "store/trust.h"
#include "store/directory.h"
#include "store/volume.h"
#include "support/process.h"
#include "support/scoped_env.h"
#include "support/test_seed.h"
#include "support/tree_snapshot.h"
#include "util/unique_fd.h"
#include "support/random_bytes.h"

using namespace cmkfs::test;
namespace fsys = std::filesystem;

namespace {

constexpr uint64_t kGiB = uint64_t{1} << 30;
const std::string kBig = "big.img";

void set_mtime(const std::string &path, time_t sec, long nsec) {
    const timespec times[2] = {{sec, nsec}, {sec, nsec}};
    REQUIRE(::utimensat(AT_FDCWD, path.c_str(), times, AT_SYMLINK_NOFOLLOW) == 0);
}

void set_xattr(const std::string &path, const std::string &name, const std::string &value) {
    INFO(path << " " << name);
    REQUIRE(::setxattr(path.c_str(), name.c_str(), value.data(), value.size(), 0) == 0);
}

void pwrite_at(int fd, const std::string &data, uint64_t offset) {
    REQUIRE(::pwrite(fd, data.data(), data.size(), static_cast<off_t>(offset)) == static_cast<ssize_t>(data.size()));
}

// The regions written into the sparse file; everything else is a hole.
struct Region {
    uint64_t offset;
    std::string data;
};

struct Built {
    size_t files = 0;  // non-directory entries
    std::vector<Region> big_regions;
};

// The tree every test re-encrypts. `scale` = leaf directories of 100 files.
Built build_tree(MountedStore &store, int scale, bool with_big_file) {
    auto rng = cmkfs::test::rng(5);
    Built built;
    const std::string root = store.mountpoint();
    std::vector<std::string> files;
    for (int i = 0; i < scale; ++i) {
        const std::string top = root + "/a" + std::to_string(i / 3);
        fsys::create_directories(top);
        const std::string dir = top + "/b" + std::to_string(i % 3);
        fsys::create_directory(dir);
        for (int k = 0; k < 100; ++k) {
            const std::string path = dir + "/f" + std::to_string(k);
            write_file(path, random_bytes(rng, std::uniform_int_distribution<size_t>(0, 9000)(rng)));
            files.push_back(path);
            if (k % 10 == 0) set_mtime(path, 1500000000 + k, 123456789);
        }
    }
    built.files = files.size();
    // Long names (stored as .cmkfs.long.* with sidecars): files and a directory.
    const std::string long_dir = root + "/a0/" + std::string(190, 'D');
    fsys::create_directory(long_dir);
    for (int k = 0; k < 10; ++k) {
        write_file(root + "/a0/b0/" + std::string(200, 'L') + std::to_string(k), random_bytes(rng, 5000));
        write_file(long_dir + "/in-long-dir-" + std::to_string(k), random_bytes(rng, 100));
        built.files += 2;
    }
    // Symlinks, a few with long targets.
    for (int k = 0; k < 50; ++k) {
        const std::string target = k % 10 == 0 ? std::string(2000, 't') : "../b0/f" + std::to_string(k);
        REQUIRE(::symlink(target.c_str(), (root + "/a0/b1/link" + std::to_string(k)).c_str()) == 0);
        ++built.files;
    }
    // Hard links across directories, some with a third, long-named link.
    for (int k = 0; k < 20; ++k) {
        const std::string first = files[static_cast<size_t>(k * 7)];
        REQUIRE(::link(first.c_str(), (root + "/a0/b2/hl" + std::to_string(k)).c_str()) == 0);
        ++built.files;
        if (k % 4 == 0) {
            REQUIRE(::link(first.c_str(), (root + "/" + std::string(180, 'H') + std::to_string(k)).c_str()) == 0);
            ++built.files;
        }
    }
    // Xattrs on files (including a hard-linked one) and directories.
    for (size_t k = 0; k < files.size(); k += 25) {
        set_xattr(files[k], "user.color", random_bytes(rng, 40));
        set_xattr(files[k], "user.origin", "file " + std::to_string(k));
    }
    set_xattr(root + "/a0", "user.dir-note", "top directory");
    set_xattr(long_dir, "user.long-dir", random_bytes(rng, 10));
    REQUIRE(::mkfifo((root + "/fifo").c_str(), 0640) == 0);
    ++built.files;
    write_file(root + "/empty", "");
    ++built.files;

    if (with_big_file) {
        // 3 GiB, three written regions (one unaligned, one at the very end).
        int fd = ::open((root + "/" + kBig).c_str(), O_CREAT | O_WRONLY, 0600);
        REQUIRE(fd >= 0);
        built.big_regions = {{0, random_bytes(rng, 1 << 20)},
                             {kGiB + 4095, random_bytes(rng, 100000)},
                             {3 * kGiB - 70000, random_bytes(rng, 70000)}};
        for (const auto &r : built.big_regions) pwrite_at(fd, r.data, r.offset);
        REQUIRE(::close(fd) == 0);
        ++built.files;
    }
    // Directory times last, once nothing changes inside them any more.
    for (int i = 0; i < (scale + 2) / 3; ++i) set_mtime(root + "/a" + std::to_string(i), 1400000000 + i, 42);
    set_mtime(long_dir, 1300000000, 7);
    return built;
}

// The mounted tree as a comparable snapshot; the big sparse file's contents
// are compared region by region instead (check_big_file).
TreeSnapshot snapshot_of(const MountedStore &store) {
    SnapshotOptions options;
    options.size_only = {kBig};
    return snapshot_tree(store.mountpoint(), options);
}

void check_big_file(const std::string &path, const std::vector<Region> &regions) {
    struct stat st {};
    REQUIRE(::stat(path.c_str(), &st) == 0);
    CHECK(static_cast<uint64_t>(st.st_size) == 3 * kGiB);
    // Holes stayed holes: a few MiB allocated, not 3 GiB.
    INFO("st_blocks " << st.st_blocks);
    CHECK(static_cast<uint64_t>(st.st_blocks) * 512 < 16 * (uint64_t{1} << 20));
    int fd = ::open(path.c_str(), O_RDONLY);
    REQUIRE(fd >= 0);
    for (const auto &r : regions) {
        std::string got(r.data.size(), '\0');
        REQUIRE(::pread(fd, got.data(), got.size(), static_cast<off_t>(r.offset)) == static_cast<ssize_t>(got.size()));
        CHECK(got == r.data);
    }
    // A hole between the regions reads as zeros.
    std::string hole(8192, 'x');
    REQUIRE(::pread(fd, hole.data(), hole.size(), static_cast<off_t>(2 * kGiB)) == static_cast<ssize_t>(hole.size()));
    CHECK(hole == std::string(8192, '\0'));
    ::close(fd);
}

// --- Looking at the backing directory with a given volume key -------------

struct AuthCount {
    size_t items = 0;      // sealed things seen: names, data blocks, symlink targets, xattrs
    size_t under_key = 0;  // of those, how many authenticate under the key
};

bool all_zero(const std::vector<uint8_t> &b) {
    return std::all_of(b.begin(), b.end(), [](uint8_t c) { return c == 0; });
}


std::optional<cmkfs::format::FileId> file_id_of(int fd) {
    uint8_t raw[cmkfs::format::kFileHeaderSize];
    if (::pread(fd, raw, sizeof raw, 0) != static_cast<ssize_t>(sizeof raw)) return std::nullopt;
    auto header = cmkfs::format::FileHeader::decode(raw);
    if (!header) return std::nullopt;
    return header->id;
}

void count_xattrs(int fd, const cmkfs::format::VolumeKeys &keys, std::span<const uint8_t> owner, AuthCount &c) {
    const std::string path = "/proc/self/fd/" + std::to_string(fd);
    std::vector<char> names(65536);
    ssize_t n = ::listxattr(path.c_str(), names.data(), names.size());
    REQUIRE(n >= 0);
    for (ssize_t pos = 0; pos < n;) {
        std::string name(names.data() + pos);
        pos += static_cast<ssize_t>(name.size()) + 1;
        if (!name.starts_with("user.") || name.starts_with("user.cmkfs.")) continue;  // cmkfs's own records
        ++c.items;
        std::string value(65536, '\0');
        ssize_t len = ::getxattr(path.c_str(), name.c_str(), value.data(), value.size());
        REQUIRE(len >= 0);
        value.resize(static_cast<size_t>(len));
        auto plain = cmkfs::format::decrypt_xattr_name(keys.names(), name);
        if (plain && cmkfs::format::open_xattr_value(keys.meta(), *plain, value, owner)) ++c.under_key;
    }
}

void count_blocks(int fd, const cmkfs::format::VolumeKeys &keys, uint32_t version, AuthCount &c) {
    namespace f = cmkfs::format;
    struct stat st {};
    REQUIRE(::fstat(fd, &st) == 0);
    const auto size = f::plain_size_for(static_cast<uint64_t>(st.st_size));
    if (size.size == 0) return;
    uint8_t raw[f::kFileHeaderSize];
    REQUIRE(::pread(fd, raw, sizeof raw, 0) == static_cast<ssize_t>(sizeof raw));
    auto header = f::FileHeader::decode(raw);
    REQUIRE(header);
    const auto key = keys.content_key(header->id);
    f::BlockCodec codec(key, header->id, version);
    const uint64_t final_block = f::final_block_index(size.size);
    const uint64_t blocks = (size.size + f::kBlockPlainSize - 1) / f::kBlockPlainSize;
    for (uint64_t index = 0; index < blocks;) {
        off_t data = ::lseek(fd, static_cast<off_t>(f::block_cipher_offset(index)), SEEK_DATA);
        if (data < 0) break;
        index = std::max<uint64_t>(index, (static_cast<uint64_t>(data) - std::min<uint64_t>(data, f::kFileHeaderSize)) /
                                              f::kBlockCipherSize);
        if (index >= blocks) break;
        const size_t len = static_cast<size_t>(std::min<uint64_t>(f::kBlockPlainSize, size.size - index * f::kBlockPlainSize));
        std::vector<uint8_t> cipher(len + f::kBlockOverhead), plain(len);
        REQUIRE(::pread(fd, cipher.data(), cipher.size(), static_cast<off_t>(f::block_cipher_offset(index))) ==
                static_cast<ssize_t>(cipher.size()));
        if (!all_zero(cipher)) {
            ++c.items;
            if (codec.open(index, index == final_block, cipher, plain) == f::BlockOpen::ok) ++c.under_key;
        }
        ++index;
    }
}

void count_tree(int dirfd, const cmkfs::format::DirId &id, const cmkfs::format::VolumeKeys &keys, bool plaintext,
                uint32_t version, AuthCount &c) {
    namespace f = cmkfs::format;
    f::NameCodec codec(plaintext ? nullptr : &keys.names());
    for (const auto &e : fsys::directory_iterator("/proc/self/fd/" + std::to_string(dirfd))) {
        const std::string name = e.path().filename().string();
        if (cmkfs::store::Directory::is_bookkeeping(name)) continue;
        std::optional<std::string> plain = name;  // where symlinks and directory ids are bound (v2)
        if (!plaintext) {
            ++c.items;
            if (f::NameCodec::is_long_name(name)) {
                const std::string full = read_file("/proc/self/fd/" + std::to_string(dirfd) + "/" + f::NameCodec::sidecar_for(name));
                plain = codec.decode_long(id, name, full);
            } else {
                plain = codec.decode(id, name);
            }
            if (plain) ++c.under_key;
        }
        struct stat st {};
        REQUIRE(::fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0);
        if (S_ISLNK(st.st_mode)) {
            ++c.items;
            std::vector<char> target(8192);
            ssize_t n = ::readlinkat(dirfd, name.c_str(), target.data(), target.size());
            REQUIRE(n > 0);
            if (plain && f::open_symlink_target(version, keys.meta(), f::Place::in(id, *plain),
                                                std::string_view(target.data(), static_cast<size_t>(n))))
                ++c.under_key;
            continue;
        }
        cmkfs::UniqueFd fd(::openat(dirfd, name.c_str(), (S_ISDIR(st.st_mode) ? O_RDONLY | O_DIRECTORY
                                                           : S_ISREG(st.st_mode) ? O_RDONLY : O_PATH) |
                                                              O_NOFOLLOW | O_CLOEXEC));
        REQUIRE(fd);
        std::vector<uint8_t> owner;
        std::optional<f::DirId> dir_id;
        if (S_ISDIR(st.st_mode)) {
            dir_id = cmkfs::store::read_dir_id(fd.get(), name);
            owner.assign(dir_id->begin(), dir_id->end());
        } else if (S_ISREG(st.st_mode)) {
            if (auto file_id = file_id_of(fd.get())) owner.assign(file_id->begin(), file_id->end());
        }
        count_xattrs(fd.get(), keys, owner, c);
        if (S_ISREG(st.st_mode)) count_blocks(fd.get(), keys, version, c);
        if (S_ISDIR(st.st_mode) && f::binds_place(version)) {
            ++c.items;  // the directory id's binding
            const std::string id_file = read_file("/proc/self/fd/" + std::to_string(fd.get()) + "/.cmkfs.dirid");
            if (plain && f::decode_dir_id_file(version, keys.dir_ids(), cmkfs::crypto::as_bytes(id_file),
                                               f::Place::in(id, *plain)))
                ++c.under_key;
        }
        if (dir_id) count_tree(fd.get(), *dir_id, keys, plaintext, version, c);
    }
}

// Unwraps the key of a header document (through the store's CMK) and counts
// what in the backing directory authenticates under it.
AuthCount count_under(const std::string &backing, const std::string &header_text) {
    auto header = cmkfs::format::parse_volume_header(header_text, "header");
    auto provider = cmkfs::store::load_bound_provider(cmkfs::store::binding_from_header(header, ""));
    cmkfs::format::VolumeKeys keys{
        cmkfs::crypto::VolumeKey(provider->unwrap({header.versioned_key_id, header.identity}, header.wrapped_key))};
    cmkfs::format::verify_volume_header(header, keys.header_mac(), "header");
    cmkfs::UniqueFd root(::open(backing.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    REQUIRE(root);
    AuthCount c;
    count_xattrs(root.get(), keys, header.root_dir_id, c);
    count_tree(root.get(), header.root_dir_id, keys, header.plaintext_names, header.format_version, c);
    return c;
}

std::string header_of(const MountedStore &store) { return read_file(store.backing() + "/.cmkfs.volume"); }
bool journal_exists(const MountedStore &store) { return fsys::exists(store.backing() + "/.cmkfs.reencrypt"); }

CommandResult reencrypt_killed_at(const MountedStore &store, const std::string &fault) {
    ScopedEnv env("CMKFS_FAULT", fault);
    return cli({"reencrypt", store.backing()});
}

void require_mount_refused(MountedStore &store) {
    auto r = cli({"mount", "-f", store.backing(), store.mountpoint()});
    INFO(r.out << r.err);
    CHECK(r.exit_code == 4);
    CHECK(r.err.find("cmkfs reencrypt " + store.backing()) != std::string::npos);
    CHECK_FALSE(store.mounted());
    auto f = cli({"fsck", store.backing()});
    CHECK(f.exit_code == 4);
}

void require_converted(const MountedStore &store, const std::string &old_header, const AuthCount &before) {
    const AuthCount under_old = count_under(store.backing(), old_header);
    const AuthCount under_new = count_under(store.backing(), header_of(store));
    INFO("sealed items " << under_new.items << ", before " << before.items);
    CHECK(under_new.items == before.items);
    CHECK(under_new.under_key == under_new.items);  // all of it opens with the new key
    CHECK(under_old.under_key == 0);                 // none of it with the old one
}

}  // namespace

TEST_CASE("reencrypt: thousands of files and a sparse 3 GiB file, killed twice, resume to an identical tree",
          "[reencrypt]") {
    MountedStore store;
    const Built built = build_tree(store, 30, /*with_big_file=*/true);
    REQUIRE(built.files > 3000);
    const TreeSnapshot before = snapshot_of(store);
    check_big_file(store.path(kBig), built.big_regions);
    // While mounted, reencrypt refuses and changes nothing.
    {
        auto r = cli({"reencrypt", store.backing()});
        INFO(r.out << r.err);
        CHECK(r.exit_code == 4);
        CHECK(r.err.find("is mounted at " + store.mountpoint()) != std::string::npos);
        CHECK_FALSE(journal_exists(store));
    }
    store.unmount();
    const std::string old_header = header_of(store);
    const AuthCount sealed = count_under(store.backing(), old_header);
    REQUIRE(sealed.items > 3000);
    REQUIRE(sealed.under_key == sealed.items);

    // Killed after 1200 files: a journal, a half-converted store that refuses to mount.
    auto first = reencrypt_killed_at(store, "reencrypt:after-files-1200:kill");
    INFO(first.out << first.err);
    REQUIRE(first.exit_code == 128 + SIGKILL);
    CHECK(first.err.find("verifying") != std::string::npos);
    CHECK(first.err.find("re-encrypting") != std::string::npos);
    REQUIRE(journal_exists(store));
    CHECK(header_of(store) == old_header);
    {
        const AuthCount mixed_old = count_under(store.backing(), old_header);
        CHECK(mixed_old.under_key > 0);
        CHECK(mixed_old.under_key < mixed_old.items);
    }
    require_mount_refused(store);

    // The resume is killed too.
    auto second = reencrypt_killed_at(store, "reencrypt:after-files-900:kill");
    INFO(second.out << second.err);
    REQUIRE(second.exit_code == 128 + SIGKILL);
    REQUIRE(journal_exists(store));

    auto last = cli({"reencrypt", store.backing()});
    INFO(last.out << last.err);
    REQUIRE(last.exit_code == 0);
    CHECK(last.out.find("resumed and finished") != std::string::npos);
    CHECK_FALSE(journal_exists(store));
    CHECK(header_of(store) != old_header);
    // Nothing of ours is left behind in the backing root.
    for (const auto &e : fsys::directory_iterator(store.backing())) {
        const std::string n = e.path().filename().string();
        CHECK(n.find(".cmkfs.reenc") == std::string::npos);
    }

    auto fsck = cli({"fsck", store.backing()});
    INFO(fsck.out << fsck.err);
    CHECK(fsck.exit_code == 0);
    require_converted(store, old_header, sealed);

    store.mount();
    CHECK(tree_differences(before, snapshot_of(store)) == "");
    check_big_file(store.path(kBig), built.big_regions);
}

TEST_CASE("reencrypt: plaintext-names store, kills around the header swap", "[reencrypt]") {
    MountedStore::Options options;
    options.plaintext_names = true;
    MountedStore store(options);
    build_tree(store, 3, /*with_big_file=*/false);
    const TreeSnapshot before = snapshot_of(store);
    store.unmount();
    const std::string old_header = header_of(store);
    const AuthCount sealed = count_under(store.backing(), old_header);
    REQUIRE(sealed.items > 300);

    auto killed = reencrypt_killed_at(store, "reencrypt:after-files-150:kill");
    REQUIRE(killed.exit_code == 128 + SIGKILL);
    require_mount_refused(store);
    // Everything converted, killed just before the header is replaced...
    killed = reencrypt_killed_at(store, "reencrypt:before-header:kill");
    REQUIRE(killed.exit_code == 128 + SIGKILL);
    CHECK(header_of(store) == old_header);
    CHECK(count_under(store.backing(), old_header).under_key == 0);
    // ...and, resumed, just after it (only the journal's removal is left).
    killed = reencrypt_killed_at(store, "reencrypt:after-header:kill");
    REQUIRE(killed.exit_code == 128 + SIGKILL);
    CHECK(header_of(store) != old_header);
    require_mount_refused(store);

    auto done = cli({"reencrypt", store.backing()});
    INFO(done.out << done.err);
    REQUIRE(done.exit_code == 0);
    CHECK_FALSE(journal_exists(store));
    auto fsck = cli({"fsck", store.backing()});
    INFO(fsck.out << fsck.err);
    CHECK(fsck.exit_code == 0);
    require_converted(store, old_header, sealed);

    store.mount();
    CHECK(tree_differences(before, snapshot_of(store)) == "");
}

TEST_CASE("reencrypt: uninterrupted run, then again; a damaged store is refused untouched", "[reencrypt]") {
    MountedStore store;
    write_file(store.path("one"), "first contents");
    fsys::create_directory(store.path("dir"));
    write_file(store.path("dir/two"), std::string(10000, 'x'));
    store.unmount();

    const std::string header0 = header_of(store);
    auto r = cli({"reencrypt", store.backing()});
    INFO(r.out << r.err);
    REQUIRE(r.exit_code == 0);
    CHECK(r.out.find("re-encrypted " + store.backing() + ": 2 files (2 converted by this run), 2 directories") !=
          std::string::npos);
    const std::string header1 = header_of(store);
    CHECK(header1 != header0);
    // Twice in a row: another fresh key; the volume id stays.
    r = cli({"reencrypt", store.backing()});
    REQUIRE(r.exit_code == 0);
    CHECK(header_of(store) != header1);
    CHECK(cmkfs::format::parse_volume_header(header_of(store), "h").volume_id ==
          cmkfs::format::parse_volume_header(header0, "h").volume_id);
    CHECK(count_under(store.backing(), header0).under_key == 0);
    CHECK(count_under(store.backing(), header1).under_key == 0);

    // One flipped byte in a block: refused before anything changes.
    const std::string header2 = header_of(store);
    std::string victim;
    for (const auto &e : fsys::directory_iterator(store.backing()))
        if (e.is_regular_file() && !e.path().filename().string().starts_with(".")) victim = e.path().string();
    REQUIRE_FALSE(victim.empty());  // the backing file of "one"
    {
        int fd = ::open(victim.c_str(), O_RDWR);
        REQUIRE(fd >= 0);
        char byte = 0;
        REQUIRE(::pread(fd, &byte, 1, 40) == 1);
        byte = static_cast<char>(~byte);
        REQUIRE(::pwrite(fd, &byte, 1, 40) == 1);
        ::close(fd);
    }
    r = cli({"reencrypt", store.backing()});
    INFO(r.out << r.err);
    CHECK(r.exit_code == 5);
    CHECK(r.err.find("nothing was changed") != std::string::npos);
    CHECK(r.err.find(victim) != std::string::npos);
    CHECK_FALSE(journal_exists(store));
    CHECK(header_of(store) == header2);

    // Bad input: one clear line, no crash.
    r = cli({"reencrypt", store.scratch() / "nope"});
    CHECK(r.exit_code == 4);
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
}
