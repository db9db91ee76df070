// Backups of a store (issue 6 §3): the backing directory of a mounted, idle
// store copied with `rsync -aHAX` and with `tar --xattrs`, each copy mounted
// with the same CMK, reads identically (contents, modes, mtimes, symlinks,
// hard links, xattrs); once the key is revoked a copy no longer mounts.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "cli/exit_codes.h"
#include "e2e/e2e_fixture.h"
#include "support/mount_daemon.h"
#include "support/test_seed.h"
#include "support/tree_snapshot.h"
#include "support/random_bytes.h"

using namespace cmkfs::test;
using namespace cmkfs::test::e2e;

namespace {

namespace fs = std::filesystem;

void set_mtime(const std::string &path, time_t sec, long nsec) {
    const timespec times[2] = {{sec, nsec}, {sec, nsec}};
    if (::utimensat(AT_FDCWD, path.c_str(), times, AT_SYMLINK_NOFOLLOW) != 0)
        throw std::runtime_error("utimensat " + path + " failed");
}

void set_xattr(const std::string &path, const std::string &name, const std::string &value) {
    if (::lsetxattr(path.c_str(), name.c_str(), value.data(), value.size(), 0) != 0)
        throw std::runtime_error("setxattr " + path + " failed");
}

// A tree with every kind of thing a backup must carry, written through the mount.
void populate(const MountedStore &store) {
    const std::string random = random_bytes(300 * 1024 + 17, 31);
    fs::create_directories(store.path("etc/app/conf.d"));
    fs::create_directories(store.path("data/empty-dir"));
    write_file(store.path("etc/app/app.conf"), "listen = 127.0.0.1\nsecret-ish = plaintext that must not leak\n");
    write_file(store.path("etc/app/conf.d/empty"), "");
    write_file(store.path("data/block-exact"), std::string(4096, 'b'));
    write_file(store.path("data/random.bin"), random);
    write_file(store.path("data/" + std::string(200, 'L')), "a name long enough for a sidecar\n");
    fs::permissions(store.path("etc/app/app.conf"), fs::perms(0600));
    fs::permissions(store.path("data/random.bin"), fs::perms(0755));
    fs::permissions(store.path("data/block-exact"), fs::perms(0640));
    fs::permissions(store.path("data/empty-dir"), fs::perms(0700));
    fs::create_symlink("../etc/app/app.conf", store.path("data/conf-link"));
    fs::create_symlink("/nowhere/at/all", store.path("data/dangling"));
    fs::create_hard_link(store.path("data/random.bin"), store.path("etc/random-hardlink"));
    set_xattr(store.path("etc/app/app.conf"), "user.origin", "written by the backup test");
    set_xattr(store.path("data"), "user.dir-note", std::string("\0binary\xff", 8));
    // Distinct times with nanoseconds, children before their directories.
    long step = 0;
    for (const char *rel : {"etc/app/app.conf", "etc/app/conf.d/empty", "data/block-exact", "data/random.bin",
                            "data/conf-link", "data/dangling", "data/empty-dir", "etc/app/conf.d", "etc/app",
                            "etc", "data"}) {
        ++step;
        set_mtime(store.path(rel), 1600000000 + step * 86400, 123456789 + step * 1111);
    }
}

// rsync compares times to the second unless told otherwise: a directory
// changed within the same second as the copy would keep the copy's time.
std::string rsync_copy(const std::string &from, const std::string &to) {
    auto r = run({"rsync", "-aHAX", "--modify-window=-1", from + "/", to + "/"});
    return r.exit_code == 0 ? "" : "rsync failed: " + r.err;
}

std::string tar_copy(const std::string &from, const std::string &archive, const std::string &to) {
    auto c = run({"tar", "--xattrs", "-cpf", archive, "-C", from, "."});
    if (c.exit_code != 0) return "tar -c failed: " + c.err;
    fs::create_directories(to);
    auto x = run({"tar", "--xattrs", "-xpf", archive, "-C", to});
    return x.exit_code == 0 ? "" : "tar -x failed: " + x.err;
}

}  // namespace

TEST_CASE("backups of the backing directory mount identically with the same CMK, not after revocation",
          "[e2e][backup]") {
    announce_seed();
    MountedStore store;
    populate(store);
    const TreeSnapshot original = snapshot_tree(store.mountpoint());
    REQUIRE(original.size() >= 14);
    TempDir copies;

    REQUIRE(rsync_copy(store.backing(), copies / "rsync") == "");
    REQUIRE(tar_copy(store.backing(), copies / "backing.tar", copies / "tar") == "");
    // The mount stayed idle: the manifest taken before the copies still holds.
    REQUIRE(tree_differences(original, snapshot_tree(store.mountpoint())) == "");

    for (const char *tool : {"rsync", "tar"}) {
        SECTION(std::string("copy made with ") + tool) {
            const std::string copy = copies / tool;
            CHECK(files_containing(copy, {"plaintext that must not leak"}).empty());
            const std::string mountpoint = copies / (std::string("mnt-") + tool);
            fs::create_directories(mountpoint);
            MountDaemon mounted({"mount", "-f", copy, mountpoint}, mountpoint, copies / (std::string(tool) + ".log"));
            const std::string diff = tree_differences(original, snapshot_tree(mountpoint));
            INFO(diff);
            CHECK(diff.empty());
        }
    }

    SECTION("after revocation no copy mounts") {
        store.vault().delete_policy();
        for (const char *tool : {"rsync", "tar"}) {
            const std::string mountpoint = copies / (std::string("revoked-") + tool);
            fs::create_directories(mountpoint);
            auto r = cmkfs::test::cmkfs({"mount", copies / tool, mountpoint});
            if (is_mounted(mountpoint)) ::umount2(mountpoint.c_str(), MNT_DETACH);  // only if the check below fails
            INFO(tool << ": " << r.err);
            CHECK(r.exit_code == cmkfs::cli::kKeyAccessDenied);
            CHECK(r.err.find("denied") != std::string::npos);
            CHECK_FALSE(is_mounted(mountpoint));
        }
    }
}
