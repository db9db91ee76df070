// One store, one mount per host: a second mount of a mounted store (by any
// name for its backing directory), a store kept inside a cmkfs mount, and a
// mount on top of a cmkfs mountpoint are refused. Each of them would leave a
// daemon that `cmkfs lock` of the first mountpoint does not reach.
#include <catch2/catch.hpp>

#include <sys/mount.h>
#include <unistd.h>

#include <csignal>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "support/mount_io.h"
#include "support/process.h"

using namespace cmkfs::test;
namespace fsys = std::filesystem;

namespace {

// Mounts in both modes; each must be refused and leave no mount.
void expect_mount_refused(const std::string &backing, const std::string &mountpoint, int code,
                          const std::vector<std::string> &needles) {
    for (bool foreground : {true, false}) {
        std::vector<std::string> args{"mount"};
        if (foreground) args.push_back("-f");
        args.insert(args.end(), {backing, mountpoint});
        auto r = bounded_cmkfs(args);
        INFO((foreground ? "foreground" : "background") << " mount: exit " << r.exit_code << " " << r.err);
        CHECK(r.exit_code == code);
        for (const auto &n : needles) CHECK(r.err.find(n) != std::string::npos);
        // A mount that wrongly succeeded is undone (the topmost one, should it
        // sit on the first mount's mountpoint).
        if (r.exit_code == 0) run({"umount", "-l", mountpoint});
    }
}

// The first mount still serves, and its lock reaches it: reads fail after.
void expect_lock_reaches(MountedStore &store) {
    CHECK(read_file(store.path("f")) == "first");
    auto lock = bounded_cmkfs({"lock", store.mountpoint()});
    INFO(lock.err);
    REQUIRE(lock.exit_code == 0);
    std::ifstream in(store.path("f"));
    std::string got;
    CHECK_FALSE((in && std::getline(in, got) && got == "first"));
}

class BindMount {
public:
    BindMount(const std::string &from, const std::string &to) : to_(to) {
        fsys::create_directory(to);
        REQUIRE(::mount(from.c_str(), to.c_str(), nullptr, MS_BIND, nullptr) == 0);
    }
    ~BindMount() { ::umount2(to_.c_str(), MNT_DETACH); }
    BindMount(const BindMount &) = delete;
    BindMount &operator=(const BindMount &) = delete;

private:
    std::string to_;
};

}  // namespace

TEST_CASE("a second mount of a mounted store is refused with exit 4 naming the first", "[mount-conflicts]") {
    MountedStore store;
    write_file(store.path("f"), "first");
    const std::string second = store.scratch() / "mnt2";
    fsys::create_directory(second);

    SECTION("same backing path") {
        expect_mount_refused(store.backing(), second, 4, {"already mounted at " + store.mountpoint()});
    }
    SECTION("the backing directory under another name (bind mount)") {
        BindMount bind(store.backing(), store.scratch() / "alias");
        expect_mount_refused(store.scratch() / "alias", second, 4, {"already mounted at " + store.mountpoint()});
    }
    CHECK_FALSE(is_mounted(second));
    expect_lock_reaches(store);
}

TEST_CASE("a store inside a cmkfs mount (stacked) is refused with exit 4", "[mount-conflicts]") {
    MountedStore store;
    write_file(store.path("f"), "first");
    const std::string inner = store.path("inner");
    auto init = bounded_cmkfs({"init", inner, "--provider", "local", "--identity", store.vault().identity,
                               "--key-encryption-key", store.vault().kid});
    REQUIRE(init.exit_code == 0);
    const std::string second = store.scratch() / "mnt2";
    fsys::create_directory(second);
    expect_mount_refused(inner, second, 4, {"inside the cmkfs mount at " + store.mountpoint(), "stacked"});
    CHECK_FALSE(is_mounted(second));
    expect_lock_reaches(store);
}

TEST_CASE("a mount on top of a cmkfs mountpoint is refused, the first keeps its control socket",
          "[mount-conflicts]") {
    MountedStore store;
    write_file(store.path("f"), "first");
    MountedStore other(MountedStore::Options::unmounted());
    expect_mount_refused(other.backing(), store.mountpoint(), 9,
                         {store.mountpoint() + " is already a cmkfs mount (of " + store.backing() + ")"});
    auto show = bounded_cmkfs({"encryption", "show", store.mountpoint()});
    CHECK(show.exit_code == 0);
    CHECK(show.out.find("\"mountpoint\": \"" + store.mountpoint() + "\"") != std::string::npos);
    expect_lock_reaches(store);
}

TEST_CASE("after an unmount the store mounts again, elsewhere too", "[mount-conflicts]") {
    MountedStore store;
    write_file(store.path("f"), "first");
    store.unmount();
    const std::string second = store.scratch() / "mnt2";
    fsys::create_directory(second);
    auto r = bounded_cmkfs({"mount", store.backing(), second});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    CHECK(read_file(second + "/f") == "first");
    CHECK(bounded_cmkfs({"umount", second}).exit_code == 0);
    store.mount();
    CHECK(read_file(store.path("f")) == "first");
}

TEST_CASE("the dead mount of a killed daemon does not block mounting the store elsewhere", "[mount-conflicts]") {
    MountedStore store;
    write_file(store.path("f"), "first");
    REQUIRE(::kill(store.daemon_pid(), SIGKILL) == 0);
    // The kernel keeps the dead mount listed (ENOTCONN) until it is unmounted.
    REQUIRE(wait_for([&] { return ::access(store.path("f").c_str(), F_OK) != 0 && errno == ENOTCONN; }, 10) >= 0);
    REQUIRE(is_mounted(store.mountpoint()));
    const std::string second = store.scratch() / "mnt2";
    fsys::create_directory(second);
    auto r = bounded_cmkfs({"mount", store.backing(), second});
    INFO(r.err);
    CHECK(r.exit_code == 0);
    CHECK(read_file(second + "/f") == "first");
    CHECK(bounded_cmkfs({"umount", second}).exit_code == 0);
    ::umount2(store.mountpoint().c_str(), MNT_DETACH);
}
