// dist/systemd/cmkfs@.service: systemd accepts the unit (systemd-analyze
// verify), and its ExecStart and ExecStop, run as systemd would run them for
// an instance, mount and unmount the store its config names. The unit is the
// configured one from the build tree with two paths moved into the test's
// scratch: the installed binary -> the cmkfs under test, /etc/cmkfs -> scratch.
#include <catch2/catch.hpp>

#include <filesystem>
#include <sstream>

#include "support/background_mount.h"
#include "support/process.h"
#include "support/systemd_unit.h"

using namespace cmkfs::test;
namespace fs = std::filesystem;

namespace {

std::string configured_unit() { return cmkfs::test::configured_unit("cmkfs@.service"); }

std::string unit_for_test(const std::string &config_dir) { return cmkfs::test::unit_for_test("cmkfs@.service", config_dir); }

// A command line as systemd splits it (no quoting used in our unit), %i expanded.
std::vector<std::string> command_for(const std::string &value, const std::string &instance) {
    std::vector<std::string> argv;
    std::istringstream words(replace_all(value, "%i", instance));
    for (std::string word; words >> word;) argv.push_back(word);
    return argv;
}

}  // namespace

TEST_CASE("systemd-analyze verify accepts the cmkfs@ template and an instance of it") {
    TempDir dir;
    write_file(dir / "cmkfs@.service", unit_for_test(dir.path()));
    for (const std::string unit : {"cmkfs@.service", "cmkfs@registry.service"}) {
        auto r = run({"systemd-analyze", "verify", "--man=no", dir / unit});
        INFO(unit << ": " << r.out << r.err);
        CHECK(r.exit_code == 0);
        CHECK(r.err.empty());
    }
    // The check can fail: a binary that is not there is an error.
    write_file(dir / "cmkfs@.service", replace_all(unit_for_test(dir.path()), fs::absolute(cmkfs_binary()).string(),
                                                   dir / "no-such-cmkfs"));
    CHECK(run({"systemd-analyze", "verify", "--man=no", dir / "cmkfs@registry.service"}).exit_code != 0);
}

TEST_CASE("the unit starts before the registry and container runtimes and after the network") {
    const std::string unit = configured_unit();
    CHECK(values_of(unit, "Type") == std::vector<std::string>{"forking"});
    CHECK(values_of(unit, "Before") == std::vector<std::string>{"docker.service containerd.service docker-registry.service"});
    REQUIRE(values_of(unit, "After").size() == 1);
    CHECK(values_of(unit, "After")[0].find("network-online.target") != std::string::npos);
    CHECK(values_of(unit, "ExecStart") ==
          std::vector<std::string>{CMKFS_INSTALL_BINDIR "/cmkfs mount --config /etc/cmkfs/%i.yaml"});
    // Options that give the service its own mount namespace would hide the mount.
    for (const char *key : {"PrivateTmp", "ProtectSystem", "ProtectHome", "PrivateDevices", "PrivateMounts",
                            "ReadOnlyPaths", "TemporaryFileSystem", "MountFlags"})
        CHECK(values_of(unit, key).empty());
}

TEST_CASE("ExecStart mounts the store named by /etc/cmkfs/%i.yaml, ExecStop unmounts it") {
    MountedStore store{MountedStore::Options::unmounted()};
    const std::string config_dir = store.scratch() / "etc-cmkfs";
    fs::create_directory(config_dir);
    write_file(config_dir + "/registry.yaml", "volume:\n  backing: " + store.backing() +
                                                  "\n  mountpoint: " + store.mountpoint() +
                                                  "\nrevocation:\n  check_interval: 5s\n");
    const std::string unit = unit_for_test(config_dir);
    BackgroundMount mount(store.mountpoint(), config_dir);

    // systemd runs ExecStart and, Type=forking, waits for it to exit: the store is mounted by then.
    const auto start = values_of(unit, "ExecStart");
    REQUIRE(start.size() == 1);
    auto r = run(command_for(start[0], "registry"));
    INFO(r.out << r.err);
    REQUIRE(r.exit_code == 0);
    REQUIRE(mount_fstype(store.mountpoint()) == "fuse.cmkfs");
    CHECK(mount.daemons().size() == 1);
    write_file(store.path("blob"), "layer data");
    CHECK(read_file(store.path("blob")) == "layer data");

    const auto stop = values_of(unit, "ExecStop");
    REQUIRE(stop.size() == 1);
    r = run(command_for(stop[0], "registry"));
    CHECK(r.exit_code == 0);
    CHECK_FALSE(is_mounted(store.mountpoint()));
    CHECK(mount.wait_daemons_gone(10));

    // An instance without a config fails loudly rather than leaving the mountpoint bare.
    r = run(command_for(start[0], "absent"));
    CHECK(r.exit_code == 3);
    CHECK(r.err.find("absent.yaml") != std::string::npos);
}
