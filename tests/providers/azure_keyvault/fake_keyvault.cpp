#include "fake_keyvault.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char **environ;

namespace cmkfs::test {

namespace {

void must(const CommandResult &r, const std::string &what) {
    if (r.exit_code != 0)
        throw std::runtime_error(what + " failed (exit " + std::to_string(r.exit_code) + "): " + r.err + r.out);
}

// A CA and a server certificate for 127.0.0.1 signed by it (P-256: quick).
void make_certificates(const TempDir &dir) {
    const std::string ec = "ec_paramgen_curve:prime256v1";
    must(run({"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", ec, "-nodes", "-keyout", dir / "ca.key",
              "-out", dir / "ca.pem", "-days", "2", "-subj", "/CN=cmkfs test CA"}),
         "openssl CA");
    must(run({"openssl", "req", "-newkey", "ec", "-pkeyopt", ec, "-nodes", "-keyout", dir / "server.key", "-out",
              dir / "server.csr", "-subj", "/CN=127.0.0.1"}),
         "openssl server key");
    write_file(dir / "ext.cnf", "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n");
    must(run({"openssl", "x509", "-req", "-in", dir / "server.csr", "-CA", dir / "ca.pem", "-CAkey", dir / "ca.key",
              "-CAcreateserial", "-out", dir / "server.pem", "-days", "2", "-extfile", dir / "ext.cnf"}),
         "openssl sign");
}

}  // namespace

FakeKeyVault::FakeKeyVault() {
    make_certificates(dir_);
    const std::string script = source_dir() + "/tests/providers/azure_keyvault/fake_keyvault.py";
    std::vector<std::string> argv{"python3", script, "--cert", dir_ / "server.pem", "--key", dir_ / "server.key",
                                  "--log", dir_ / "requests.jsonl"};
    write_file(dir_ / "requests.jsonl", "");
    int out[2];
    if (::pipe2(out, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
    const std::string err_log = dir_ / "server.err";
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&actions, out[1], 1);
    posix_spawn_file_actions_addopen(&actions, 2, err_log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    std::vector<char *> cargv;
    for (auto &a : argv) cargv.push_back(a.data());
    cargv.push_back(nullptr);
    int rc = ::posix_spawnp(&pid_, "python3", &actions, nullptr, cargv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(out[1]);
    if (rc != 0) {
        ::close(out[0]);
        throw std::runtime_error(std::string("cannot start python3: ") + std::strerror(rc));
    }
    // The first line on stdout names the ports.
    std::string line;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (line.find('\n') == std::string::npos && std::chrono::steady_clock::now() < deadline) {
        pollfd p{out[0], POLLIN, 0};
        if (::poll(&p, 1, 200) <= 0) continue;
        char buf[256];
        ssize_t n = ::read(out[0], buf, sizeof buf);
        if (n <= 0) break;
        line.append(buf, static_cast<size_t>(n));
    }
    ::close(out[0]);
    try {
        auto j = nlohmann::json::parse(line.substr(0, line.find('\n')));
        port_ = j.at("port").get<int>();
        imds_port_ = j.at("imds_port").get<int>();
    } catch (const std::exception &) {
        std::string why = read_file(err_log);
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, nullptr, 0);
        pid_ = -1;
        throw std::runtime_error("fake key vault did not start: " + line + why);
    }
}

FakeKeyVault::~FakeKeyVault() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    for (int i = 0; i < 200; ++i) {
        if (::waitpid(pid_, nullptr, WNOHANG) == pid_) return;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
}

nlohmann::json FakeKeyVault::control(const nlohmann::json &request) {
    auto r = run({"curl", "-sS", "--fail-with-body", "--cacert", ca_file(), "-H", "Content-Type: application/json",
                  "--data-binary", request.dump(), vault_url() + "/_control"});
    if (r.exit_code != 0)
        throw std::runtime_error("fake key vault control " + request.dump() + " failed: " + r.err + r.out);
    return nlohmann::json::parse(r.out);
}

std::string FakeKeyVault::create_key(const std::string &name) {
    return control({{"op", "create_key"}, {"name", name}}).at("kid").get<std::string>();
}

void FakeKeyVault::add_identity(const std::string &client_id, const std::vector<std::string> &permissions) {
    control({{"op", "add_identity"}, {"client_id", client_id}});
    control({{"op", "set_policy"}, {"identity", client_id}, {"permissions", permissions}});
}

void FakeKeyVault::set_enabled(const std::string &name, bool enabled, const std::string &version) {
    nlohmann::json req{{"op", "set_enabled"}, {"name", name}, {"enabled", enabled}};
    if (!version.empty()) req["version"] = version;
    control(req);
}

void FakeKeyVault::fault(const std::string &target, int status, int count, int retry_after) {
    nlohmann::json req{{"op", "fault"}, {"target", target}, {"status", status}, {"count", count}};
    if (retry_after >= 0) req["retry_after"] = retry_after;
    control(req);
}

std::vector<std::string> FakeKeyVault::provider_options(const std::vector<std::string> &extra) const {
    std::vector<std::string> out{"imds_endpoint=" + imds_endpoint(), "ca_file=" + ca_file(),
                                 "authority_host=" + vault_url(), "retry_base=50ms",
                                 "allowed_hosts=127.0.0.1"};
    out.insert(out.end(), extra.begin(), extra.end());
    return out;
}

std::vector<nlohmann::json> FakeKeyVault::requests(const std::string &server) const {
    std::vector<nlohmann::json> out;
    std::ifstream in(dir_ / "requests.jsonl");
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty()) continue;
        auto j = nlohmann::json::parse(line);
        if (server.empty() || j.at("server") == server) out.push_back(std::move(j));
    }
    return out;
}

void FakeKeyVault::clear_requests() { write_file(dir_ / "requests.jsonl", ""); }

}  // namespace cmkfs::test
