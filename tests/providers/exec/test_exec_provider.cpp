// The exec provider plugin through the host loader: the request it sends,
// replies and exit codes mapped onto the status classes, the timeout (the
// child and what it started are killed), the scrubbed environment, argv
// passed verbatim without a shell, no inherited fds, stderr to the log, the
// bounds on replies and stderr, program permission rules, SIGPIPE safety,
// and no zombies left behind.
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>
#include <string>
#include <thread>
#include <vector>

#include "keys/key_provider.h"
#include "support/process.h"
#include "support/provider_calls.h"

using namespace cmkfs;
using namespace cmkfs::keys;
using cmkfs::test::TempDir;
using cmkfs::test::load_error;
using Catch::Matchers::Contains;

namespace {

// A bash program in its own scratch dir. It saves the request, prints the
// files `stderr` and `reply` the test wrote beside it (if any), appends to
// `calls`, and exits with the number in `code` (default 0).
struct ScriptedProgram {
    explicit ScriptedProgram(const std::string &extra = "") : path(dir / "cmkfs-test-kms") {
        test::write_file(path, "#!/bin/bash\n"
                               "here=${0%/*}\n" +
                                   extra +
                                   "cat > \"$here/request\"\n"
                                   "echo call >> \"$here/calls\"\n"
                                   "[ -f \"$here/stderr\" ] && cat \"$here/stderr\" >&2\n"
                                   "[ -f \"$here/reply\" ] && cat \"$here/reply\"\n"
                                   "exit $(cat \"$here/code\" 2>/dev/null || echo 0)\n");
        ::chmod(path.c_str(), 0755);
    }
    void answer(const std::string &reply, int code = 0) {
        test::write_file(dir / "reply", reply);
        test::write_file(dir / "code", std::to_string(code));
    }
    nlohmann::json request() const { return nlohmann::json::parse(test::read_file(dir / "request")); }
    size_t calls() const {
        std::ifstream in(dir / "calls");
        size_t n = 0;
        for (std::string line; std::getline(in, line);) ++n;
        return n;
    }
    std::unique_ptr<KeyProvider> open(std::vector<std::string> extra = {}) const {
        extra.insert(extra.begin(), "program=" + path);
        return load_provider("exec", extra);
    }

    TempDir dir;
    std::string path;
};

struct Failure {
    ProviderStatus status = ProviderStatus::ok;
    std::string message;
};

Failure failure_of(const std::function<void()> &call) {
    try {
        call();
    } catch (const ProviderError &e) {
        return {e.status(), e.what()};
    }
    return {};
}

const KeyRef kKey{"kms:k", "alice"};
const std::vector<uint8_t> kPlain{9, 8, 7};

// Captures what the host logs (plugin log lines go through spdlog).
class LogCapture {
public:
    LogCapture() : old_(spdlog::default_logger()) {
        auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(text_);
        auto logger = std::make_shared<spdlog::logger>("capture", sink);
        logger->set_level(spdlog::level::info);
        spdlog::set_default_logger(logger);
    }
    ~LogCapture() { spdlog::set_default_logger(old_); }
    std::string text() const { return text_.str(); }

private:
    std::shared_ptr<spdlog::logger> old_;
    std::ostringstream text_;
};

size_t count_of(const std::string &haystack, const std::string &needle) {
    size_t n = 0;
    for (size_t at = haystack.find(needle); at != std::string::npos; at = haystack.find(needle, at + 1)) ++n;
    return n;
}

// Children of this process that still exist (running or zombie).
std::vector<std::string> live_children() {
    std::vector<std::string> out;
    const std::string tasks = "/proc/" + std::to_string(::getpid()) + "/task";
    for (const auto &task : std::filesystem::directory_iterator(tasks)) {
        std::ifstream in(task.path() / "children");
        for (std::string pid; in >> pid;) out.push_back(pid);
    }
    return out;
}

// True when pid is gone or a zombie (killed, waiting for its new parent).
bool dead(const std::string &pid) {
    std::ifstream in("/proc/" + pid + "/stat");
    if (!in) return true;
    std::string line;
    std::getline(in, line);
    const auto close_paren = line.rfind(')');
    return close_paren != std::string::npos && line.size() > close_paren + 2 && line[close_paren + 2] == 'Z';
}

std::string trimmed(const std::string &s) { return s.substr(0, s.find_last_not_of(" \n") + 1); }

}  // namespace

TEST_CASE("exec: the request names op, key, identity and data; the reply comes back", "[exec]") {
    ScriptedProgram prog;
    prog.answer(R"({"data":"AAECAw==","keyId":"kms:k/7"})");
    auto p = prog.open();
    CHECK(p->name() == "exec");

    WrapResult w = p->wrap(kKey, kPlain);
    CHECK(w.wrapped == std::vector<uint8_t>{0, 1, 2, 3});
    CHECK(w.versioned_key_id == "kms:k/7");
    auto req = prog.request();
    CHECK(req["version"] == 1);
    CHECK(req["op"] == "wrap");
    CHECK(req["keyId"] == "kms:k");
    CHECK(req["identity"] == "alice");
    CHECK(req["data"] == "CQgH");  // 09 08 07

    auto plain = p->unwrap({"kms:k/7", "alice"}, std::vector<uint8_t>{5, 6});
    REQUIRE(plain.size() == 4);
    CHECK(plain.data()[3] == 3);
    CHECK(prog.request()["op"] == "unwrap");
    CHECK(prog.request()["data"] == "BQY=");

    CHECK(p->check(kKey) == "kms:k/7");
    CHECK(prog.request()["op"] == "status");
    CHECK_FALSE(prog.request().contains("data"));

    // Without keyId in the reply the host keeps the id it asked for.
    prog.answer(R"({"data":"AAECAw=="})");
    CHECK(p->wrap(kKey, kPlain).versioned_key_id == "kms:k");
}

TEST_CASE("exec: the reply's error field maps onto the status classes", "[exec]") {
    ScriptedProgram prog;
    auto p = prog.open();
    const std::vector<std::pair<std::string, ProviderStatus>> words = {
        {"denied", ProviderStatus::denied},           {"not_found", ProviderStatus::not_found},
        {"disabled", ProviderStatus::disabled},       {"unavailable", ProviderStatus::unavailable},
        {"invalid", ProviderStatus::invalid},         {"internal", ProviderStatus::internal}};
    for (const auto &[word, status] : words) {
        for (int code : {0, 1}) {
            INFO(word << ", exit " << code);
            prog.answer(R"({"error":")" + word + R"(","message":"because\nof reasons"})", code);
            for (auto call : std::vector<std::function<void()>>{[&] { p->wrap(kKey, kPlain); },
                                                                [&] { p->unwrap(kKey, kPlain); },
                                                                [&] { p->check(kKey); }}) {
                Failure f = failure_of(call);
                CHECK(f.status == status);
                CHECK_THAT(f.message, Contains(word + ": because of reasons"));
                CHECK_THAT(f.message, Contains("provider exec"));
            }
        }
    }
    // The error field wins over a contradicting exit code.
    prog.answer(R"({"error":"not_found"})", 77);
    CHECK(failure_of([&] { p->check(kKey); }).status == ProviderStatus::not_found);
    // An error word the protocol does not know is an internal error.
    prog.answer(R"({"error":"revoked"})", 0);
    Failure f = failure_of([&] { p->check(kKey); });
    CHECK(f.status == ProviderStatus::internal);
    CHECK_THAT(f.message, Contains("unknown error 'revoked'"));
}

TEST_CASE("exec: exit codes map onto the status classes when there is no error field", "[exec]") {
    ScriptedProgram prog;
    auto p = prog.open();
    const std::vector<std::pair<int, ProviderStatus>> table = {
        {65, ProviderStatus::invalid},     {66, ProviderStatus::not_found},
        {69, ProviderStatus::unavailable}, {75, ProviderStatus::unavailable},
        {77, ProviderStatus::denied},      {79, ProviderStatus::disabled},
        {1, ProviderStatus::internal},     {2, ProviderStatus::internal},
        {127, ProviderStatus::internal}};
    for (const auto &[code, status] : table) {
        INFO("exit " << code);
        prog.answer("", code);
        Failure f = failure_of([&] { p->unwrap(kKey, kPlain); });
        CHECK(f.status == status);
        CHECK_THAT(f.message, Contains("exited with status " + std::to_string(code)));
        // A data reply does not rescue a failing exit code.
        prog.answer(R"({"data":"AAECAw=="})", code);
        CHECK(failure_of([&] { p->unwrap(kKey, kPlain); }).status == status);
    }
}

TEST_CASE("exec: malformed replies are internal errors that do not echo the reply", "[exec]") {
    ScriptedProgram prog;
    auto p = prog.open();
    for (const std::string &reply : {std::string("SECRET-REPLY not json"), std::string(""),
                                    std::string(R"(["SECRET-REPLY"])"),
                                    std::string(R"({"data":"SECRET-REPLY@@"})"),
                                    std::string(R"({"data":""})"), std::string(R"({"keyId":"kms:k/1"})"),
                                    std::string(R"({"data":"AAECAw==","keyId":5})"),
                                    std::string(R"({"data":"AAECAw=="} trailing SECRET-REPLY)")}) {
        INFO(reply);
        prog.answer(reply, 0);
        Failure f = failure_of([&] { p->unwrap(kKey, kPlain); });
        CHECK(f.status == ProviderStatus::internal);
        CHECK(f.message.find("SECRET-REPLY") == std::string::npos);
    }
}

TEST_CASE("exec: replies larger than the host's buffer are retried; oversized ones refused", "[exec]") {
    ScriptedProgram prog;
    auto p = prog.open();
    // 3000 bytes wrapped: larger than the host's first 1024-byte buffer.
    std::vector<uint8_t> big(3000, 0xab);
    const std::string b64 = [&] {
        std::string s;
        for (size_t i = 0; i < big.size(); i += 3) s += "q6ur";
        return s;
    }();
    prog.answer(R"({"data":")" + b64 + R"(","keyId":"kms:k/1"})");
    CHECK(p->wrap(kKey, kPlain).wrapped == big);
    CHECK(prog.calls() == 2);  // asked once, then again with a large enough buffer

    prog.answer(R"({"data":")" + std::string(100000, 'A') + R"("})");
    Failure f = failure_of([&] { p->wrap(kKey, kPlain); });
    CHECK(f.status == ProviderStatus::internal);
    CHECK_THAT(f.message, Contains("larger than the limit"));
}

TEST_CASE("exec: a program past its timeout is killed with what it started: UNAVAILABLE", "[exec]") {
    ScriptedProgram prog("echo $$ > \"$here/pid\"\nsleep 60 &\necho $! > \"$here/grandchild\"\nwait\n");
    // Long enough for bash to start its child under load, far below the sleep.
    auto p = prog.open({"timeout=2s"});
    const auto t0 = std::chrono::steady_clock::now();
    Failure f = failure_of([&] { p->unwrap(kKey, kPlain); });
    const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    CHECK(f.status == ProviderStatus::unavailable);
    CHECK_THAT(f.message, Contains("timed out after 2000 ms"));
    CHECK(took < 20.0);  // far below the program's 60 s sleep
    const std::string pid = trimmed(test::read_file(prog.dir / "pid"));
    const std::string grandchild = trimmed(test::read_file(prog.dir / "grandchild"));
    CHECK(dead(pid));  // reaped by the provider before it returned
    // SIGKILL is asynchronous: the grandchild (not ours to reap) dies shortly after.
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (!dead(grandchild) && std::chrono::steady_clock::now() < until)
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    CHECK(dead(grandchild));
    CHECK(live_children().empty());
}

TEST_CASE("exec: the program sees only PATH and env= variables, argv verbatim, no host fds", "[exec]") {
    TempDir tmp;
    const std::string dump = tmp / "dump";
    const std::string program = test::build_dir() + "/tests/plugins/cmkfs_exec_env_dump";
    ::setenv("CMKFS_EXEC_TEST_LEAK", "must-not-be-seen", 1);
    ::setenv("CMKFS_EXEC_TEST_PASS", "passed through", 1);
    ::unsetenv("CMKFS_EXEC_TEST_UNSET");
    const std::string tricky = "two words; $(touch " + (tmp / "pwned") + ") `id` *";
    // arg10 sorts before arg2 as text: the order must be numeric.
    auto p = load_provider("exec", {"program=" + program, "arg10=tenth", "arg1=" + dump, "arg2=" + tricky,
                                    "env=CMKFS_EXEC_TEST_PASS,CMKFS_EXEC_TEST_UNSET",
                                    "env.FIXED=fixed value"});
    // An fd the host opened without O_CLOEXEC must not reach the child.
    const int leaky = ::open("/dev/null", O_RDONLY);
    REQUIRE(leaky >= 0);
    WrapResult w = p->wrap(kKey, kPlain);
    ::close(leaky);
    CHECK(w.wrapped == std::vector<uint8_t>{0, 1, 2, 3});

    std::vector<std::string> argv;
    std::set<std::string> env, fds;
    std::ifstream in(dump);
    for (std::string line; std::getline(in, line);) {
        if (line.rfind("argv ", 0) == 0) argv.push_back(line.substr(5));
        if (line.rfind("env ", 0) == 0) env.insert(line.substr(4));
        if (line.rfind("fd ", 0) == 0) fds.insert(line.substr(3));
    }
    CHECK(argv == std::vector<std::string>{program, dump, tricky, "tenth"});
    CHECK(env == std::set<std::string>{"PATH=/usr/bin:/bin", "CMKFS_EXEC_TEST_PASS=passed through",
                                       "FIXED=fixed value"});
    CHECK(fds == std::set<std::string>{"0", "1", "2"});
    CHECK_FALSE(std::filesystem::exists(tmp / "pwned"));
    ::unsetenv("CMKFS_EXEC_TEST_LEAK");
    ::unsetenv("CMKFS_EXEC_TEST_PASS");
}

TEST_CASE("exec: stderr reaches the host log one line at a time, bounded", "[exec]") {
    ScriptedProgram prog;
    prog.answer(R"({"data":"AAECAw=="})");
    auto p = prog.open();
    {
        LogCapture log;
        test::write_file(prog.dir / "stderr", "first line\nsecond\tline\x01\nno newline at the end");
        p->wrap(kKey, kPlain);
        const std::string text = log.text();
        CHECK_THAT(text, Contains("provider exec: cmkfs-test-kms (stderr): first line"));
        CHECK_THAT(text, Contains("cmkfs-test-kms (stderr): second\tline?"));
        CHECK_THAT(text, Contains("cmkfs-test-kms (stderr): no newline at the end"));
    }
    {
        LogCapture log;
        std::string flood;
        for (int i = 0; i < 1000; ++i) flood += "line " + std::to_string(i) + "\n";
        flood += std::string(5000, 'x') + "\n";
        test::write_file(prog.dir / "stderr", flood);
        p->wrap(kKey, kPlain);
        const std::string text = log.text();
        CHECK(count_of(text, "(stderr): line ") == 64);
        CHECK_THAT(text, Contains("(further stderr output dropped)"));
        CHECK(text.find(std::string(513, 'x')) == std::string::npos);
    }
}

TEST_CASE("exec: a program that exits without reading its request does not kill the host", "[exec]") {
    // A request larger than a pipe buffer: the write must meet EPIPE.
    ScriptedProgram prog("exec 0<&-\nexit 77\n");
    auto p = prog.open();
    const std::vector<uint8_t> huge(200000, 1);
    for (int i = 0; i < 3; ++i) CHECK(failure_of([&] { p->wrap(kKey, huge); }).status == ProviderStatus::denied);
    sigset_t pending;
    sigpending(&pending);
    CHECK(sigismember(&pending, SIGPIPE) == 0);
    CHECK(live_children().empty());
}

TEST_CASE("exec: bad options are refused at open with the option named", "[exec]") {
    TempDir tmp;
    const std::string not_exec = tmp / "not-executable";
    test::write_file(not_exec, "#!/bin/sh\n");
    ::chmod(not_exec.c_str(), 0644);
    ScriptedProgram prog;
    const std::string ok = "program=" + prog.path;
    const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
        {{}, "needs option program="},
        {{"program=relative/kms"}, "must be an absolute path"},
        {{"program=" + (tmp / "missing")}, "No such file"},
        {{"program=" + not_exec}, "not executable"},
        {{"program=" + tmp.path()}, "not a regular file"},
        {{ok, ok}, "program= given twice"},
        {{ok, "tiemout=5s"}, "unknown option 'tiemout'"},
        {{ok, "timeout=soon"}, "timeout=soon"},
        {{ok, "timeout=0"}, "between 1ms and 10m"},
        {{ok, "timeout=11m"}, "between 1ms and 10m"},
        {{ok, "env=PATH"}, "PATH is fixed"},
        {{ok, "env=1BAD"}, "not a valid environment variable name"},
        {{ok, "env.A=1", "env.A=2"}, "env.A= given twice"},
        {{ok, "env=A,A"}, "A given twice"},
        {{ok, "env=B", "env.B=1"}, "B given twice"},
        {{ok, "arg1=x", "arg1=y"}, "arg1= given twice"},
        {{ok, "arg0=x"}, "unknown option 'arg0'"},
        {{ok, "arg65=x"}, "unknown option 'arg65'"},
        {{ok, "arg=x"}, "unknown option 'arg'"},
        {{ok, "noequals"}, "expected key=value"},
    };
    for (const auto &[options, expected] : cases) {
        INFO(expected);
        std::string msg = load_error([&] { load_provider("exec", options); });
        CHECK_THAT(msg, Contains("refused to open: invalid"));
        CHECK_THAT(msg, Contains(expected));
        CHECK(msg.find('\n') == std::string::npos);
    }
    for (const std::string timeout : {"timeout=2m", "timeout=1500ms", "timeout=3", "timeout=10s"})
        CHECK(load_error([&] { load_provider("exec", {ok, timeout}); }).empty());
}

TEST_CASE("exec: as root, programs must be root-owned and not writable by others", "[exec][root]") {
    REQUIRE(::geteuid() == 0);  // the test suite runs as root (FUSE mounts)
    ScriptedProgram prog;
    prog.answer(R"({"data":"AAECAw=="})");
    ::chmod(prog.dir.path().c_str(), 0755);
    auto p = prog.open();  // positive control
    CHECK(p->wrap(kKey, kPlain).wrapped.size() == 4);

    ::chmod(prog.path.c_str(), 0777);
    CHECK_THAT(load_error([&] { prog.open(); }), Contains("is writable by group or others (mode 0777)"));
    // Checked again before every run: the open instance refuses too.
    Failure f = failure_of([&] { p->wrap(kKey, kPlain); });
    CHECK(f.status == ProviderStatus::internal);
    CHECK_THAT(f.message, Contains("writable by group or others"));

    ::chmod(prog.path.c_str(), 0755);
    ::chmod(prog.dir.path().c_str(), 0775);
    CHECK_THAT(load_error([&] { prog.open(); }), Contains("directory " + prog.dir.path()));
    ::chmod(prog.dir.path().c_str(), 0755);
    REQUIRE(::chown(prog.path.c_str(), 1, 1) == 0);
    CHECK_THAT(load_error([&] { prog.open(); }), Contains("owned by uid 1, not root"));
    REQUIRE(::chown(prog.path.c_str(), 0, 0) == 0);
    CHECK(p->wrap(kKey, kPlain).wrapped.size() == 4);
}

TEST_CASE("exec: many calls, failing and succeeding, leave no child processes", "[exec]") {
    ScriptedProgram prog;
    auto p = prog.open();
    for (int i = 0; i < 10; ++i) {
        prog.answer(i % 2 ? R"({"data":"AAECAw=="})" : "", i % 2 ? 0 : 69);
        (void)failure_of([&] { p->unwrap(kKey, kPlain); });
    }
    CHECK(prog.calls() == 10);
    CHECK(live_children().empty());
}
