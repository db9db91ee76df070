// dist/systemd/cmkfs-docker-plugin.service: systemd accepts the unit
// (systemd-analyze verify), it is ordered before docker.service and leaves
// the volume daemons alone when it stops, and its ExecStart, run as systemd
// would run it, serves Docker's plugin protocol. The unit is the configured
// one from the build tree with the installed binary replaced by the cmkfs
// under test and /etc/cmkfs moved into the test's scratch.
#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>
#include <sstream>
#include <thread>

#include "support/child_process.h"
#include "support/process.h"
#include "support/systemd_unit.h"

using namespace cmkfs::test;
namespace fs = std::filesystem;

namespace {

std::string configured_unit() { return cmkfs::test::configured_unit("cmkfs-docker-plugin.service"); }

std::string unit_for_test(const std::string &config_dir) { return cmkfs::test::unit_for_test("cmkfs-docker-plugin.service", config_dir); }

}  // namespace

TEST_CASE("systemd-analyze verify accepts cmkfs-docker-plugin.service", "[systemd][docker]") {
    TempDir dir;
    const std::string unit = dir / "cmkfs-docker-plugin.service";
    write_file(unit, unit_for_test(dir.path()));
    auto r = run({"systemd-analyze", "verify", "--man=no", unit});
    INFO(r.out << r.err);
    CHECK(r.exit_code == 0);
    CHECK(r.err.empty());
    // The check can fail: a binary that is not there is an error.
    write_file(unit, replace_all(unit_for_test(dir.path()), fs::absolute(cmkfs_binary()).string(), dir / "no-cmkfs"));
    CHECK(run({"systemd-analyze", "verify", "--man=no", unit}).exit_code != 0);
}

TEST_CASE("the plugin unit starts before docker and leaves the volume daemons running when it stops",
          "[systemd][docker]") {
    const std::string unit = configured_unit();
    CHECK(values_of(unit, "Before") == std::vector<std::string>{"docker.service"});
    CHECK(values_of(unit, "KillMode") == std::vector<std::string>{"process"});
    CHECK(values_of(unit, "ExecStart") ==
          std::vector<std::string>{CMKFS_INSTALL_BINDIR "/cmkfs volume-plugin --config /etc/cmkfs/docker-plugin.yaml"});
    for (const char *key : {"PrivateTmp", "ProtectSystem", "ProtectHome", "PrivateDevices", "PrivateMounts",
                            "ReadOnlyPaths", "TemporaryFileSystem", "MountFlags"})
        CHECK(values_of(unit, key).empty());
}

TEST_CASE("the plugin unit's ExecStart serves Docker's plugin protocol", "[systemd][docker]") {
    TempDir dir;
    write_file(dir / "docker-plugin.yaml", "volume_plugin:\n  root: " + dir / "volumes" + "\n  state_dir: " +
                                               dir / "state" + "\n  socket: " + dir / "plugin.sock" + "\n");
    std::vector<std::string> argv;
    std::istringstream words(values_of(unit_for_test(dir.path()), "ExecStart").at(0));
    for (std::string word; words >> word;) argv.push_back(word);
    ChildProcess plugin(argv, dir / "plugin.log");
    bool listening = false;
    for (int i = 0; i < 200 && !listening; ++i) {
        listening = fs::exists(dir / "plugin.sock");
        if (!listening) std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
    INFO(plugin.log());
    REQUIRE(listening);
    auto r = run({"curl", "-sS", "--max-time", "10", "--unix-socket", dir / "plugin.sock", "-X", "POST", "-d", "{}",
                  "http://plugin/Plugin.Activate"});
    CHECK(r.out == R"({"Implements":["VolumeDriver"]})");
    plugin.stop();
    CHECK_FALSE(fs::exists(dir / "plugin.sock"));  // removed on SIGTERM
}
