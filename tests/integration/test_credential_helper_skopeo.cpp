// docker-credential-cmkfs with a real client: skopeo, told by a containers
// auth.json to ask the `cmkfs` credential helper (found in PATH) for the
// credentials of a docker-registry behind htpasswd basic auth. The helper's
// credentials live in a cmkfs store; revoking its customer-managed key must
// stop the client, restoring it must let it through again.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <optional>

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include <nlohmann/json.hpp>

#include "crypto/encoding.h"
#include "crypto/kdf.h"
#include "support/process.h"

extern char **environ;

using namespace cmkfs::test;
namespace fs = std::filesystem;

namespace {

// Sets an environment variable for the test's duration (children inherit it).
class ScopedEnv {
public:
    ScopedEnv(const char *name, const std::string &value) : name_(name) {
        if (const char *old = std::getenv(name)) old_ = old;
        ::setenv(name, value.c_str(), 1);
    }
    ~ScopedEnv() {
        if (old_) ::setenv(name_, old_->c_str(), 1);
        else ::unsetenv(name_);
    }

private:
    const char *name_;
    std::optional<std::string> old_;
};

uint16_t free_loopback_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr *>(&addr), sizeof addr) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr *>(&addr), &len) != 0)
        throw std::runtime_error("cannot find a free loopback port");
    ::close(fd);
    return ntohs(addr.sin_port);
}

// docker-registry on 127.0.0.1 behind htpasswd basic auth, stopped by its PID.
// (A minimal local copy until tests/support/registry.h from the e2e work is on main.)
class HtpasswdRegistry {
public:
    HtpasswdRegistry(const std::string &dir, const std::string &user, const std::string &password) {
        fs::create_directories(dir + "/data");
        auto htpasswd = run({"htpasswd", "-Bbn", user, password});
        if (htpasswd.exit_code != 0) throw std::runtime_error("htpasswd failed: " + htpasswd.err);
        write_file(dir + "/htpasswd", htpasswd.out);
        address_ = "127.0.0.1:" + std::to_string(free_loopback_port());
        write_file(dir + "/config.yml", "version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: " + dir +
                                            "/data\nhttp:\n  addr: " + address_ +
                                            "\nauth:\n  htpasswd:\n    realm: cmkfs-test\n    path: " + dir +
                                            "/htpasswd\n");
        log_ = dir + "/registry.log";
        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
        posix_spawn_file_actions_addopen(&actions, 1, log_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
        posix_spawn_file_actions_adddup2(&actions, 1, 2);
        std::string config = dir + "/config.yml";
        char *argv[] = {const_cast<char *>("docker-registry"), const_cast<char *>("serve"), config.data(), nullptr};
        const int rc = ::posix_spawnp(&pid_, "docker-registry", &actions, nullptr, argv, environ);
        posix_spawn_file_actions_destroy(&actions);
        if (rc != 0) throw std::runtime_error("cannot start docker-registry");
        for (int i = 0; i < 200 && status("/v2/") != 401; ++i)
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        if (status("/v2/") != 401) {
            stop();
            throw std::runtime_error("docker-registry did not come up: " + read_file(log_));
        }
    }
    ~HtpasswdRegistry() { stop(); }
    const std::string &address() const { return address_; }
    // HTTP status of an unauthenticated GET.
    int status(const std::string &path) const {
        auto r = run({"curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "http://" + address_ + path});
        return r.exit_code == 0 ? std::stoi(r.out) : -1;
    }

private:
    void stop() {
        if (pid_ <= 0) return;
        ::kill(pid_, SIGTERM);
        for (int i = 0; i < 100; ++i) {
            if (::waitpid(pid_, nullptr, WNOHANG) == pid_) {
                pid_ = -1;
                return;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, nullptr, 0);
        pid_ = -1;
    }
    std::string address_;
    std::string log_;
    pid_t pid_ = -1;
};

std::string digest_of(const std::string &bytes) {
    return "sha256:" + cmkfs::crypto::hex_encode(cmkfs::crypto::sha256(cmkfs::crypto::as_bytes(bytes)));
}

// A one-layer OCI image layout tagged `tag`, written without network.
void write_oci_layout(const std::string &layout, const std::string &tag, const std::string &layer_dir) {
    fs::create_directories(layout + "/blobs/sha256");
    auto put = [&](const std::string &bytes) {
        const std::string digest = digest_of(bytes);
        write_file(layout + "/blobs/sha256/" + digest.substr(7), bytes);
        return digest;
    };
    const std::string tar_path = layout + "/layer.tar";
    auto tar = run({"tar", "--sort=name", "--owner=0", "--group=0", "--mtime=@0", "-C", layer_dir, "-cf", tar_path, "."});
    if (tar.exit_code != 0) throw std::runtime_error("tar failed: " + tar.err);
    const std::string layer = read_file(tar_path);
    fs::remove(tar_path);
    const std::string layer_digest = put(layer);
    const std::string config =
        nlohmann::json{{"architecture", "amd64"},
                       {"os", "linux"},
                       {"rootfs", {{"type", "layers"}, {"diff_ids", {layer_digest}}}}}
            .dump();
    const std::string config_digest = put(config);
    const std::string manifest =
        nlohmann::json{{"schemaVersion", 2},
                       {"mediaType", "application/vnd.oci.image.manifest.v1+json"},
                       {"config",
                        {{"mediaType", "application/vnd.oci.image.config.v1+json"},
                         {"digest", config_digest},
                         {"size", config.size()}}},
                       {"layers",
                        {{{"mediaType", "application/vnd.oci.image.layer.v1.tar"},
                          {"digest", layer_digest},
                          {"size", layer.size()}}}}}
            .dump();
    const std::string manifest_digest = put(manifest);
    write_file(layout + "/oci-layout", R"({"imageLayoutVersion":"1.0.0"})");
    write_file(layout + "/index.json",
               nlohmann::json{{"schemaVersion", 2},
                              {"manifests",
                               {{{"mediaType", "application/vnd.oci.image.manifest.v1+json"},
                                 {"digest", manifest_digest},
                                 {"size", manifest.size()},
                                 {"annotations", {{"org.opencontainers.image.ref.name", tag}}}}}}}
                   .dump());
}

}  // namespace

TEST_CASE("skopeo pushes through docker-credential-cmkfs; revoking the CMK stops it, restoring lets it through") {
    MountedStore::Options options;
    options.mount = false;
    MountedStore store{options};
    const std::string config = store.scratch() / "credentials.yaml";
    write_file(config, "volume:\n  backing: " + store.backing() + "\n");
    ScopedEnv credentials_config("CMKFS_CREDENTIALS_CONFIG", config);
    // skopeo runs `docker-credential-cmkfs` from PATH.
    ScopedEnv path("PATH", build_dir() + "/src/credhelper:" + std::getenv("PATH"));

    HtpasswdRegistry registry(store.scratch() / "registry", "registry-user", "Reg1stry-Pa55");
    const std::string authfile = store.scratch() / "auth.json";
    write_file(authfile, R"({"credHelpers":{")" + registry.address() + R"(":"cmkfs"}})");

    fs::create_directory(store.scratch() / "layer");
    write_file(store.scratch() / "layer/hello.txt", "hello from a layer\n");
    const std::string layout = store.scratch() / "oci";
    write_oci_layout(layout, "v1", store.scratch() / "layer");
    auto push = [&](const std::string &tag) {
        return run({"skopeo", "copy", "--authfile", authfile, "--dest-tls-verify=false", "oci:" + layout + ":v1",
                    "docker://" + registry.address() + "/cmk/app:" + tag});
    };
    auto helper = [&](const std::string &action, const std::string &input) {
        return run({"docker-credential-cmkfs", action}, input);
    };

    // No credentials stored: the helper says so, skopeo goes anonymous and the registry refuses.
    auto r = push("anonymous");
    CHECK(r.exit_code != 0);
    const bool refused = r.err.find("401") != std::string::npos || r.err.find("nauthorized") != std::string::npos;
    INFO(r.err);
    CHECK(refused);

    r = helper("store", R"({"ServerURL":")" + registry.address() +
                            R"(","Username":"registry-user","Secret":"Reg1stry-Pa55"})");
    REQUIRE(r.exit_code == 0);
    r = push("v1");
    INFO(r.err);
    CHECK(r.exit_code == 0);

    // Revoked: the helper refuses with the reason, and skopeo cannot authenticate.
    store.vault().delete_policy();
    r = helper("get", registry.address());
    CHECK(r.exit_code == 1);
    CHECK(r.out.find("access to the customer-managed key") != std::string::npos);
    CHECK(r.out.find("is revoked") != std::string::npos);
    r = push("while-revoked");
    CHECK(r.exit_code != 0);
    CHECK(r.err.find("is revoked") != std::string::npos);

    // Restored: the same credentials work again.
    store.vault().set_policy({"get", "wrapKey", "unwrapKey"});
    r = push("v2");
    INFO(r.err);
    CHECK(r.exit_code == 0);
    CHECK(registry.status("/v2/cmk/app/manifests/v2") == 401);  // still protected without credentials
}
