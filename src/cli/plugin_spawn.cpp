#include "cli/plugin_spawn.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "util/errors.h"
#include "util/unique_fd.h"

extern char **environ;

namespace cmkfs::cli {

namespace {
constexpr size_t kMaxStderr = 64 * 1024;

std::string message_of(std::string err) {
    while (!err.empty() && (err.back() == '\n' || err.back() == '\r')) err.pop_back();
    // The last line carries the error; earlier ones are warnings.
    const size_t nl = err.rfind('\n');
    if (nl != std::string::npos) err = err.substr(nl + 1);
    if (err.rfind("cmkfs: ", 0) == 0) err = err.substr(7);
    return err;
}
}  // namespace

SelfRun run_self(const std::vector<std::string> &args) {
    int err_pipe[2];
    if (::pipe2(err_pipe, O_CLOEXEC) != 0) throw_errno("pipe");
    UniqueFd err_read(err_pipe[0]);
    UniqueFd err_write(err_pipe[1]);

    std::vector<std::string> argv{"cmkfs"};
    argv.insert(argv.end(), args.begin(), args.end());
    std::vector<char *> c_argv;
    c_argv.reserve(argv.size() + 1);
    for (auto &a : argv) c_argv.push_back(a.data());
    c_argv.push_back(nullptr);

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_adddup2(&actions, err_write.get(), 2);
    // The child starts with an empty signal mask and default dispositions,
    // whatever the plugin does with its signals.
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    sigset_t none;
    sigemptyset(&none);
    posix_spawnattr_setsigmask(&attr, &none);
    sigset_t all;
    sigfillset(&all);
    posix_spawnattr_setsigdefault(&attr, &all);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    pid_t pid = -1;
    const int rc = ::posix_spawn(&pid, "/proc/self/exe", &actions, &attr, c_argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    if (rc != 0) throw SystemError(rc, "run cmkfs " + (args.empty() ? std::string() : args[0]));
    err_write.reset();

    SelfRun result;
    std::string err;
    char buf[4096];
    for (;;) {
        const ssize_t n = ::read(err_read.get(), buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        if (err.size() < kMaxStderr) err.append(buf, static_cast<size_t>(n));
    }
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    result.error = message_of(err);
    return result;
}

}  // namespace cmkfs::cli
