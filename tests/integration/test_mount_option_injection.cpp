// A backing path is any bytes: a comma in it must not inject a FUSE mount
// option (the path goes into fsname=), and a backslash must survive. And
// fsname=/subtype= are cmkfs's: given by the user they would hide the mount
// from umount, lock and `encryption show`, so they are refused.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "support/mountinfo.h"
#include "support/process.h"

using namespace cmkfs::test;
namespace fsys = std::filesystem;

namespace {

struct MountInfo {
    bool found = false;
    std::string options;        // per-mount options
    std::string source;         // fsname
    std::string super_options;  // where FUSE's allow_other shows
};

MountInfo mount_info(const std::string &mountpoint) {
    for (const auto &m : read_mountinfo())
        if (m.mountpoint == mountpoint) return {true, m.options, m.source, m.super_options};
    return {};
}

// A store whose backing directory has an awkward name, mounted in the background.
class OddStore {
public:
    explicit OddStore(const std::string &backing_name)
        : vault_(dir_ / "vault"), backing_(dir_ / backing_name), mountpoint_(dir_ / "mnt") {
        fsys::create_directory(mountpoint_);
        auto init = bounded_cmkfs({"init", backing_, "--provider", "local", "--identity", vault_.identity,
                                   "--key-encryption-key", vault_.kid});
        INFO(init.err);
        REQUIRE(init.exit_code == 0);
    }
    ~OddStore() {
        if (is_mounted(mountpoint_)) bounded_cmkfs({"umount", "--lazy", mountpoint_});
    }
    OddStore(const OddStore &) = delete;
    OddStore &operator=(const OddStore &) = delete;
    const std::string &backing() const { return backing_; }
    const std::string &mountpoint() const { return mountpoint_; }

private:
    TempDir dir_;
    LocalVault vault_;
    std::string backing_;
    std::string mountpoint_;
};

}  // namespace

TEST_CASE("a comma or backslash in the backing path injects no mount option", "[mount-options]") {
    const std::string name = GENERATE(std::string("a,allow_other"), std::string("back\\slash,allow_other\\054x"));
    OddStore store(name);
    auto mount = bounded_cmkfs({"mount", store.backing(), store.mountpoint()});
    INFO(name << ": " << mount.err);
    REQUIRE(mount.exit_code == 0);
    const MountInfo info = mount_info(store.mountpoint());
    INFO(info.source << " | " << info.options << " | " << info.super_options);
    REQUIRE(info.found);
    CHECK(info.source == store.backing());  // the name is the path, whole
    CHECK(info.super_options.find("allow_other") == std::string::npos);

    write_file(store.mountpoint() + "/f", "data");
    auto show = bounded_cmkfs({"encryption", "show", store.mountpoint()});
    INFO(show.err);
    CHECK(show.exit_code == 0);
    auto lock = bounded_cmkfs({"lock", store.mountpoint()});
    INFO(lock.err);
    CHECK(lock.exit_code == 0);
    auto umount = bounded_cmkfs({"umount", store.mountpoint()});
    INFO(umount.err);
    CHECK(umount.exit_code == 0);
    CHECK_FALSE(is_mounted(store.mountpoint()));
}

TEST_CASE("user-given fsname= or subtype= is refused", "[mount-options]") {
    MountedStore store(MountedStore::Options::unmounted());
    for (const std::string opt : {"fsname=foo", "subtype=bar", "ro,fsname=foo", "check_interval=5s,subtype=x"}) {
        auto r = bounded_cmkfs({"mount", "-f", store.backing(), store.mountpoint(), "-o", opt});
        INFO(opt << ": " << r.err);
        CHECK(r.exit_code == 2);
        CHECK((r.err.find("fsname") != std::string::npos || r.err.find("subtype") != std::string::npos));
        CHECK(r.err.find("not allowed") != std::string::npos);
        CHECK_FALSE(is_mounted(store.mountpoint()));
    }
    const std::string config = store.scratch() / "config.yaml";
    write_file(config, "fuse:\n  options:\n    - ro\n    - fsname=foo\n");
    auto r = bounded_cmkfs({"mount", "-f", store.backing(), store.mountpoint(), "--config", config});
    INFO(r.err);
    CHECK(r.exit_code == 3);
    CHECK(r.err.find(config + ":3:") != std::string::npos);
    CHECK(r.err.find("fsname") != std::string::npos);
    CHECK_FALSE(is_mounted(store.mountpoint()));
}

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kSanitizerBuild = true;
#else
constexpr bool kSanitizerBuild = false;
#endif

TEST_CASE("a config built to exhaust memory is refused quickly under a memory limit", "[mount-options][config]") {
    MountedStore store(MountedStore::Options::unmounted());
    std::string laughs = "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n";
    for (char c = 'b'; c <= 'j'; ++c) {
        laughs += std::string(1, c) + ": &" + c + " [";
        for (int i = 0; i < 9; ++i) laughs += std::string(i ? "," : "") + "*" + static_cast<char>(c - 1);
        laughs += "]\n";
    }
    laughs += "fuse: {options: *j}\n";
    struct Case {
        std::string name, text, message;
    };
    for (const Case &c : std::vector<Case>{
             {"laughs.yaml", laughs, ":1:4: (anchor): expected no YAML anchors"},
             {"cycle.yaml", "fuse: &a {options: *a}\n", "(anchor)"},
             {"deep.yaml", "fuse: " + std::string(100000, '[') + std::string(100000, ']') + "\n",
              "expected nesting at most 32 levels deep"},
             {"big.yaml", "fuse: {}\n" + std::string(2 << 20, '#') + "\n", "larger than 1048576 bytes"}}) {
        const std::string path = store.scratch() / c.name;
        write_file(path, c.text);
        // 256 MiB of address space: enough for cmkfs, far from enough for a bomb.
        // An ASan build reserves terabytes of shadow address space and cannot
        // start under such a limit; there the time bound alone holds it (the
        // normal tree runs the same case with the memory bound too).
        std::vector<std::string> argv = {"timeout", "-k", "5", "20"};
        if (!kSanitizerBuild) argv.insert(argv.end(), {"prlimit", "--as=268435456"});
        argv.insert(argv.end(), {cmkfs_binary(), "mount", "-f", store.backing(), store.mountpoint(), "--config", path});
        auto r = run(argv);
        INFO(c.name << ": exit " << r.exit_code << " " << r.err);
        CHECK(r.exit_code == 3);
        CHECK(r.err.find(path) != std::string::npos);
        CHECK(r.err.find(c.message) != std::string::npos);
        CHECK_FALSE(is_mounted(store.mountpoint()));
    }
}
