// A store whose volume key is wrapped by an AES key on a real SoftHSM2 token,
// on a real FUSE mount: init and mount with provider options, files written
// and read back, then revocation and restore through the token itself —
// a changed user PIN and a deleted key object lock the mount (EACCES) within
// a few check intervals; the PIN changed back and the same key material
// imported again unlock it without a remount.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <cerrno>
#include <chrono>
#include <filesystem>
#include <functional>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "support/mount_io.h"
#include "support/mount_daemon.h"
#include "support/process.h"
#include "support/softhsm.h"

using namespace cmkfs::test;
using namespace std::chrono_literals;
using Catch::Matchers::Contains;

namespace {

// check interval 1 s: a revocation must show within a few of them.
constexpr double kBudget = 6.0;
const std::vector<std::string> kFastChecks{"-o", "check_interval=1s,unavailable_grace=30s"};

struct Pkcs11Store {
    SoftHsm hsm;
    std::string kek_uri = hsm.create_aes_key("registry-kek");
    std::string backing = hsm.dir() / "backing";
    std::string mnt = hsm.dir() / "mnt";
    nlohmann::json init_output;

    Pkcs11Store() {
        std::filesystem::create_directory(mnt);
        std::vector<std::string> args{"init", backing, "--provider", "pkcs11", "--identity", "registry-id",
                                      "--key-encryption-key", kek_uri};
        auto opts = hsm.init_args();
        args.insert(args.end(), opts.begin(), opts.end());
        auto r = cmkfs::test::cmkfs(args);
        INFO("init: " << r.err << r.out);
        REQUIRE(r.exit_code == 0);
        init_output = nlohmann::json::parse(r.out);
    }

    std::vector<std::string> mount_args(const std::vector<std::string> &extra = {}) const {
        std::vector<std::string> a{"mount", "-f", backing, mnt};
        a.insert(a.end(), kFastChecks.begin(), kFastChecks.end());
        a.insert(a.end(), extra.begin(), extra.end());
        return a;
    }
    std::string log_path() { return hsm.dir() / "daemon.log"; }
};

std::string dump(const nlohmann::json &j) { return j.dump(); }

// The daemon's output when a mount must fail (a mount that works is a failure).
std::string mount_error(Pkcs11Store &s) {
    try {
        MountDaemon d(s.mount_args(), s.mnt, s.log_path());
    } catch (const std::exception &e) {
        return e.what();
    }
    FAIL("the mount succeeded");
    return "";
}

}  // namespace

TEST_CASE("pkcs11 store: init, mount, files, remount", "[pkcs11][integration]") {
    Pkcs11Store s;
    const std::string text = dump(s.init_output);
    CHECK_THAT(text, Contains("pkcs11:token=cmkfs-test;object=registry-kek;id="));
    CHECK(text.find(s.hsm.user_pin()) == std::string::npos);
    const std::string content(200000, 'x');
    {
        MountDaemon d(s.mount_args(), s.mnt, s.log_path());
        std::filesystem::create_directory(s.mnt + "/dir");
        write_file(s.mnt + "/dir/blob", content);
        write_file(s.mnt + "/hello.txt", "hello through an HSM\n");
        CHECK(read_file(s.mnt + "/dir/blob") == content);
    }
    // Mount again with nothing but the header's provider options.
    MountDaemon d(s.mount_args(), s.mnt, s.log_path());
    CHECK(read_file(s.mnt + "/hello.txt") == "hello through an HSM\n");
    CHECK(read_file(s.mnt + "/dir/blob") == content);
    const std::string log = d.log();
    CHECK(log.find(s.hsm.user_pin()) == std::string::npos);
}

TEST_CASE("pkcs11 store: a changed PIN locks the mount, the PIN changed back unlocks it",
          "[pkcs11][integration][revocation]") {
    Pkcs11Store s;
    MountDaemon d(s.mount_args(), s.mnt, s.log_path());
    write_file(s.mnt + "/f", "secret data");
    const std::string old_pin = s.hsm.user_pin();
    const auto backing_before = listing(s.backing);

    s.hsm.change_pin("1357-changed");
    const double locked = wait_for([&] { return read_errno(s.mnt + "/f") == EACCES; }, kBudget);
    INFO("daemon log: " << d.log());
    CHECK(locked >= 0);
    WARN("locked " << locked << " s after the PIN change");

    // Creating names on the locked mount is refused, each attempt with EACCES
    // (errno saved at once: Catch may change it), and none reaches the backing dir.
    const int fd = ::open((s.mnt + "/new").c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
    const int create_errno = errno;
    if (fd >= 0) ::close(fd);
    CHECK(fd == -1);
    CHECK(create_errno == EACCES);
    const int mkdir_rc = ::mkdir((s.mnt + "/new-dir").c_str(), 0755);
    const int mkdir_errno = errno;
    CHECK(mkdir_rc == -1);
    CHECK(mkdir_errno == EACCES);
    const int symlink_rc = ::symlink("f", (s.mnt + "/new-link").c_str());
    const int symlink_errno = errno;
    CHECK(symlink_rc == -1);
    CHECK(symlink_errno == EACCES);
    CHECK(listing(s.backing) == backing_before);

    s.hsm.change_pin(old_pin);
    std::string got;
    const double unlocked = wait_for([&] { return read_errno(s.mnt + "/f", &got) == 0; }, kBudget);
    REQUIRE(unlocked >= 0);
    WARN("unlocked " << unlocked << " s after the PIN was changed back");
    CHECK(got == "secret data");
    // Unlocked, the names can be looked up again: the refused creations left nothing.
    for (const char *name : {"/new", "/new-dir", "/new-link"}) {
        INFO(name);
        const int rc = ::access((s.mnt + name).c_str(), F_OK);
        const int access_errno = errno;
        CHECK(rc == -1);
        CHECK(access_errno == ENOENT);
    }
    CHECK(listing(s.backing) == backing_before);
    CHECK(d.log().find(old_pin) == std::string::npos);
    CHECK(d.log().find("1357-changed") == std::string::npos);
}

TEST_CASE("pkcs11 store: a deleted key object locks the mount, the same key imported again unlocks it",
          "[pkcs11][integration][revocation]") {
    Pkcs11Store s;
    MountDaemon d(s.mount_args(), s.mnt, s.log_path());
    write_file(s.mnt + "/f", "registry layer");

    s.hsm.delete_key("registry-kek");
    const double locked = wait_for([&] { return read_errno(s.mnt + "/f") == EACCES; }, kBudget);
    INFO("daemon log: " << d.log());
    CHECK(locked >= 0);
    WARN("locked " << locked << " s after the key was deleted");

    s.hsm.reimport_key("registry-kek");
    std::string got;
    const double unlocked = wait_for([&] { return read_errno(s.mnt + "/f", &got) == 0; }, kBudget);
    CHECK(unlocked >= 0);
    WARN("unlocked " << unlocked << " s after the key was imported again");
    CHECK(got == "registry layer");
    write_file(s.mnt + "/g", "after restore");
    CHECK(read_file(s.mnt + "/g") == "after restore");
}

TEST_CASE("pkcs11 store: provider options from a config file override the header's at mount",
          "[pkcs11][integration]") {
    Pkcs11Store s;
    {
        MountDaemon d(s.mount_args(), s.mnt, s.log_path());
        write_file(s.mnt + "/f", "moved pin file");
    }
    // The PIN file moves; the header still names the old path.
    const std::string moved = s.hsm.dir() / "moved.pin";
    std::filesystem::rename(s.hsm.pin_file(), moved);
    const std::string err = mount_error(s);
    CHECK_THAT(err, Contains("PIN file"));
    CHECK(err.find(s.hsm.user_pin()) == std::string::npos);

    const std::string config = s.hsm.dir() / "cmkfs.yaml";
    write_file(config, "provider:\n  options:\n    pin_file: " + moved + "\n");
    MountDaemon d(s.mount_args({"--config", config}), s.mnt, s.log_path());
    CHECK(read_file(s.mnt + "/f") == "moved pin file");
}

TEST_CASE("pkcs11 store: mounting with a wrong PIN fails with a clear error", "[pkcs11][integration]") {
    Pkcs11Store s;
    s.hsm.write_pin_file("0000-wrong");
    const std::string err = mount_error(s);
    CHECK_THAT(err, Contains("CKR_PIN_INCORRECT"));
    CHECK(err.find("0000-wrong") == std::string::npos);
}
