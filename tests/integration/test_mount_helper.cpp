// cmkfs under mount(8): `mount -t fuse.cmkfs`, an fstab line, umount(8), and
// the command line mount.fuse3 uses for the `cmkfs#SOURCE` form. mount(8)
// finds /sbin/mount.fuse.cmkfs; for the test's duration that is a symlink to
// the build tree's cmkfs (held under a lock, the previous link restored).
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <filesystem>

#include "support/background_mount.h"
#include "support/process.h"
#include "util/unique_fd.h"

using namespace cmkfs::test;
namespace fs = std::filesystem;

namespace {

const fs::path kHelper = "/sbin/mount.fuse.cmkfs";

// Installs kHelper -> the cmkfs under test; another build tree's test waits.
class HelperSymlink {
public:
    HelperSymlink() : lock_(::open("/run/lock/cmkfs-mount-helper-test.lock", O_RDWR | O_CREAT | O_CLOEXEC, 0600)) {
        if (!lock_ || ::flock(lock_.get(), LOCK_EX) != 0) throw std::runtime_error("cannot lock the helper lock file");
        std::error_code ec;
        if (fs::exists(fs::symlink_status(kHelper))) {
            if (!fs::is_symlink(fs::symlink_status(kHelper)))
                throw std::runtime_error(kHelper.string() + " is an installed file, not replacing it");
            previous_ = fs::read_symlink(kHelper);
            fs::remove(kHelper);
        }
        fs::create_symlink(fs::absolute(cmkfs_binary()), kHelper);
    }
    ~HelperSymlink() {
        std::error_code ec;
        fs::remove(kHelper, ec);
        if (!previous_.empty()) fs::create_symlink(previous_, kHelper, ec);
    }

private:
    cmkfs::UniqueFd lock_;
    fs::path previous_;
};

// A store created with the local vault, not mounted, plus a config file.
struct Fixture {
    MountedStore store{MountedStore::Options::unmounted()};
    std::string config = store.scratch() / "store.yaml";
    std::string log = store.scratch() / "helper-daemon.log";
    Fixture() { write_file(config, "revocation:\n  check_interval: 7s\nlogging:\n  file: " + log + "\n"); }
};

void check_mounted_and_encrypting(const MountedStore &store) {
    REQUIRE(mount_fstype(store.mountpoint()) == "fuse.cmkfs");
    write_file(store.path("visible-name.txt"), "plaintext through the helper mount");
    CHECK(read_file(store.path("visible-name.txt")) == "plaintext through the helper mount");
    for (const auto &entry : fs::recursive_directory_iterator(store.backing()))
        CHECK(entry.path().filename().string().find("visible-name") == std::string::npos);
}

}  // namespace

TEST_CASE("mount -t fuse.cmkfs runs the helper; fstab-only options never reach FUSE; umount(8) ends it") {
    HelperSymlink helper;
    Fixture f;
    BackgroundMount mount(f.store.mountpoint(), f.store.backing());
    // mount(8) passes rw, _netdev, nofail and (for user) nodev,nosuid,noexec,user on to
    // the helper; FUSE would refuse rw-less leftovers like _netdev and nofail.
    auto r = run({"mount", "-t", "fuse.cmkfs", f.store.backing(), f.store.mountpoint(), "-o",
                  "config=" + f.config + ",_netdev,nofail,rw,noatime,x-systemd.requires=a.service"});
    INFO(r.err << r.out);
    REQUIRE(r.exit_code == 0);
    check_mounted_and_encrypting(f.store);
    // config= reached cmkfs: the daemon logs to the file the config names.
    CHECK(read_file(f.log).find("mounted " + f.store.backing()) != std::string::npos);
    REQUIRE(mount.daemons().size() == 1);

    r = run({"umount", f.store.mountpoint()});
    CHECK(r.exit_code == 0);
    CHECK_FALSE(is_mounted(f.store.mountpoint()));
    CHECK(mount.wait_daemons_gone(10));
}

TEST_CASE("an fstab line of type fuse.cmkfs mounts with mount(8) and unmounts with umount(8)") {
    HelperSymlink helper;
    Fixture f;
    BackgroundMount mount(f.store.mountpoint(), f.store.backing());
    const std::string fstab = f.store.scratch() / "fstab";
    write_file(fstab, "# test fstab\n" + f.store.backing() + " " + f.store.mountpoint() +
                          " fuse.cmkfs config=" + f.config + ",_netdev,nofail,x-systemd.automount,defaults 0 0\n");
    auto r = run({"mount", "--fstab", fstab, f.store.mountpoint()});
    INFO(r.err << r.out);
    REQUIRE(r.exit_code == 0);
    check_mounted_and_encrypting(f.store);

    r = run({"umount", f.store.mountpoint()});
    CHECK(r.exit_code == 0);
    CHECK_FALSE(is_mounted(f.store.mountpoint()));
    CHECK(mount.wait_daemons_gone(10));

    // Mounted again from fstab, the file written before is there.
    r = run({"mount", "--fstab", fstab, f.store.mountpoint()});
    REQUIRE(r.exit_code == 0);
    CHECK(read_file(f.store.path("visible-name.txt")) == "plaintext through the helper mount");
    CHECK(cmkfs::test::cmkfs({"umount", f.store.mountpoint()}).exit_code == 0);
    CHECK(mount.wait_daemons_gone(10));
}

TEST_CASE("the helper reports a bad option of ours and mounts nothing") {
    HelperSymlink helper;
    Fixture f;
    BackgroundMount mount(f.store.mountpoint(), f.store.backing());
    auto r = run({"mount", "-t", "fuse.cmkfs", f.store.backing(), f.store.mountpoint(), "-o",
                  "check_interval=soon,_netdev"});
    CHECK(r.exit_code != 0);
    CHECK(r.err.find("check_interval") != std::string::npos);
    CHECK_FALSE(is_mounted(f.store.mountpoint()));

    r = run({kHelper, f.store.backing(), f.store.mountpoint(), "-N", "/proc/1/ns/mnt"});
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("-N") != std::string::npos);
    CHECK_FALSE(is_mounted(f.store.mountpoint()));
}

TEST_CASE("the helper's fake mode (mount -f) mounts nothing and succeeds") {
    HelperSymlink helper;
    Fixture f;
    BackgroundMount mount(f.store.mountpoint(), f.store.backing());
    auto r = run({kHelper, f.store.backing(), f.store.mountpoint(), "-f", "-o", "rw,config=" + f.config});
    CHECK(r.exit_code == 0);
    CHECK_FALSE(is_mounted(f.store.mountpoint()));
}

TEST_CASE("the command line mount.fuse3 runs for cmkfs#SOURCE mounts the store") {
    Fixture f;
    BackgroundMount mount(f.store.mountpoint(), f.store.backing());
    // What mount.fuse3 executes for `mount -t fuse cmkfs#BACKING MOUNTPOINT -o config=...,_netdev`.
    auto r = cmkfs::test::cmkfs({f.store.backing(), f.store.mountpoint(), "-o", "rw,config=" + f.config + ",dev,suid"});
    INFO(r.err << r.out);
    REQUIRE(r.exit_code == 0);
    check_mounted_and_encrypting(f.store);
    CHECK(cmkfs::test::cmkfs({"umount", f.store.mountpoint()}).exit_code == 0);
    CHECK(mount.wait_daemons_gone(10));
}
