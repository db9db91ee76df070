// The diagnostic log (config/logging.h): file and stderr lines, levels, and
// syslog observed for real: the syslog cases run in a child process whose
// /dev is private and holds only a /dev/log that leads to a datagram socket
// of the test, so glibc's syslog(3) delivers there and nowhere else.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sched.h>
#include <spdlog/spdlog.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <syslog.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "config/config.h"
#include "config/logging.h"
#include "support/temp_dir.h"

using namespace cmkfs::config;
using cmkfs::test::TempDir;

namespace {
std::string slurp(const std::string &path) {
    spdlog::default_logger()->flush();
    std::ifstream in(path);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}
}  // namespace

TEST_CASE("background logging with a file writes time, level and thread id", "[config][logging]") {
    TempDir dir;
    LoggingConfig cfg;
    cfg.file = dir.path() + "/cmkfs.log";
    setup_logging(cfg, false);
    spdlog::info("hello {}", 42);
    spdlog::debug("not at info");
    const std::string text = slurp(*cfg.file);
    CHECK(text.find("[info] [tid ") != std::string::npos);
    CHECK(text.find("hello 42") != std::string::npos);
    CHECK(text.find("not at info") == std::string::npos);
    CHECK(text.size() > 24);
    CHECK(text[4] == '-');  // starts with a date

    set_log_level("debug");
    spdlog::debug("now at debug");
    CHECK(slurp(*cfg.file).find("[debug]") != std::string::npos);

    set_log_level("error");
    spdlog::warn("hidden warning");
    CHECK(slurp(*cfg.file).find("hidden warning") == std::string::npos);
    setup_logging(LoggingConfig{}, true);  // leave stderr logging for other tests
}

TEST_CASE("set_log_level rejects unknown names", "[config][logging]") {
    setup_logging(LoggingConfig{}, true);
    CHECK_THROWS_WITH(set_log_level("verbose"),
                      "log level: expected one of debug, info, warn, error, got \"verbose\"");
    CHECK_THROWS_AS(set_log_level("warning"), ConfigError);
    CHECK_THROWS_AS(set_log_level(""), ConfigError);
    CHECK(spdlog::default_logger()->level() == spdlog::level::info);
    CHECK_NOTHROW(set_log_level("warn"));
    CHECK(spdlog::default_logger()->level() == spdlog::level::warn);
}

TEST_CASE("setup_logging rejects a bad level and an unwritable file", "[config][logging]") {
    LoggingConfig bad_level;
    bad_level.level = "loud";
    CHECK_THROWS_AS(setup_logging(bad_level, true), ConfigError);

    TempDir dir;
    std::ofstream(dir.path() + "/plain") << "x";
    LoggingConfig bad_file;
    bad_file.file = dir.path() + "/plain/cmkfs.log";  // parent is a regular file
    CHECK_THROWS_WITH(setup_logging(bad_file, false),
                      Catch::StartsWith(*bad_file.file + ": logging.file: expected a writable file, got "));
}

namespace {

// A datagram socket standing in for the syslog daemon: what syslog(3) sends
// to /dev/log in a child made by log_in_private_dev() arrives here.
class FakeSyslog {
public:
    explicit FakeSyslog(const std::string &path) : path_(path) {
        fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        REQUIRE(fd_ >= 0);
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        REQUIRE(path.size() < sizeof(addr.sun_path));
        std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
        REQUIRE(::bind(fd_, reinterpret_cast<const sockaddr *>(&addr), sizeof(addr)) == 0);
    }
    ~FakeSyslog() { ::close(fd_); }
    FakeSyslog(const FakeSyslog &) = delete;
    FakeSyslog &operator=(const FakeSyslog &) = delete;
    const std::string &path() const { return path_; }

    // Every message received so far. Call it after the sender exited: a
    // datagram is queued here when its send() returns, so nothing is in flight.
    std::vector<std::string> messages() {
        std::vector<std::string> out;
        char buf[4096];
        for (;;) {
            const ssize_t n = ::recv(fd_, buf, sizeof(buf), MSG_DONTWAIT);
            if (n < 0) break;
            out.emplace_back(buf, static_cast<size_t>(n));
        }
        return out;
    }

private:
    std::string path_;
    int fd_ = -1;
};

// Runs `body` in a child process with its own mount namespace, whose /dev is
// an empty tmpfs except /dev/log -> `syslog` (a symlink; connect() follows
// it). Returns the child's pid and its exit status (0: body ran to the end;
// 10+N: setup step N failed, no Catch assertion is made in the child).
std::pair<pid_t, int> log_in_private_dev(const FakeSyslog &syslog, const std::function<void()> &body) {
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        if (::unshare(CLONE_NEWNS) != 0) ::_exit(11);
        if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) ::_exit(12);
        if (::mount("tmpfs", "/dev", "tmpfs", 0, "mode=0755") != 0) ::_exit(13);
        if (::symlink(syslog.path().c_str(), "/dev/log") != 0) ::_exit(14);
        ::closelog();  // a connection inherited from the parent would bypass our /dev/log
        body();
        spdlog::shutdown();
        ::_exit(0);
    }
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    return {pid, WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status)};
}

std::string joined(const std::vector<std::string> &lines) {
    std::string out;
    for (const auto &l : lines) out += l + "\n";
    return out;
}

bool contains(const std::string &text, const std::string &part) { return text.find(part) != std::string::npos; }

}  // namespace

TEST_CASE("background logging without a file goes to syslog", "[config][logging][syslog]") {
    TempDir dir;
    FakeSyslog syslog(dir / "log");
    const auto [pid, status] = log_in_private_dev(syslog, [] {
        LoggingConfig cfg;
        cfg.level = "warn";
        setup_logging(cfg, false);
        spdlog::info("below the level");
        spdlog::warn("the disk is {}", "full");
        spdlog::error("a second line");
    });
    REQUIRE(status == 0);
    const auto got = syslog.messages();
    INFO("received " << got.size() << " messages:\n" << joined(got));
    REQUIRE(got.size() == 2);
    // <PRI> is facility * 8 + severity: LOG_DAEMON (3) with LOG_WARNING (4), then LOG_ERR (3).
    CHECK(got[0].rfind("<28>", 0) == 0);
    CHECK(got[1].rfind("<27>", 0) == 0);
    // ident "cmkfs" with the pid (LOG_PID), then the syslog pattern: level and
    // thread id, no timestamp of our own (syslog adds it).
    const std::string tag = "cmkfs[" + std::to_string(pid) + "]: ";
    CHECK(contains(got[0], tag + "[warning] [tid "));
    CHECK(contains(got[0], "] the disk is full"));
    CHECK(contains(got[1], tag + "[error] [tid "));
    CHECK(contains(got[1], "] a second line"));
    CHECK_FALSE(contains(got[0] + got[1], "below the level"));
}

TEST_CASE("logging.syslog sends to syslog as well as to stderr or the file", "[config][logging][syslog]") {
    TempDir dir;
    FakeSyslog syslog(dir / "log");
    const std::string file = dir / "cmkfs.log";
    const auto [pid, status] = log_in_private_dev(syslog, [&] {
        LoggingConfig cfg;
        cfg.syslog = true;
        setup_logging(cfg, true);  // foreground: stderr and syslog
        spdlog::info("foreground line");
        cfg.file = file;
        setup_logging(cfg, false);  // background with a file: the file and syslog
        spdlog::info("background line");
    });
    REQUIRE(status == 0);
    const auto got = syslog.messages();
    INFO("received " << got.size() << " messages:\n" << joined(got));
    REQUIRE(got.size() == 2);
    CHECK(got[0].rfind("<30>", 0) == 0);  // LOG_DAEMON, LOG_INFO
    CHECK(contains(got[0], "cmkfs[" + std::to_string(pid) + "]: [info] [tid "));
    CHECK(contains(got[0], "foreground line"));
    CHECK(contains(got[1], "background line"));
    std::ifstream in(file);
    std::stringstream text;
    text << in.rdbuf();
    CHECK(contains(text.str(), "[info] [tid "));
    CHECK(contains(text.str(), "background line"));
    CHECK_FALSE(contains(text.str(), "foreground line"));
}
