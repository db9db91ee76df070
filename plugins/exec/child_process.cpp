#include "child_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include <cerrno>
#include <cstring>

#include "errno_text.h"

namespace cmkfs::exec {

namespace {

using Clock = std::chrono::steady_clock;

class Fd {
public:
    Fd() = default;
    explicit Fd(int fd) : fd_(fd) {}
    ~Fd() { reset(); }
    Fd(const Fd &) = delete;
    Fd &operator=(const Fd &) = delete;
    int get() const { return fd_; }
    void reset() {
        if (fd_ >= 0) ::close(fd_);
        fd_ = -1;
    }

private:
    int fd_ = -1;
};

struct Pipe {
    Fd read, write;
};

Pipe make_pipe() {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) throw SpawnError(std::string("pipe: ") + cmkfs::plugin::errno_text(errno));
    return {Fd(fds[0]), Fd(fds[1])};
}

void set_nonblocking(int fd) { ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK); }

// SIGPIPE is blocked in this thread while it writes to the child: a child
// that exits without reading its stdin must give EPIPE here, not kill the
// host. A SIGPIPE raised meanwhile is consumed before the mask is restored.
class SigpipeBlock {
public:
    SigpipeBlock() {
        sigset_t pipe_only;
        sigemptyset(&pipe_only);
        sigaddset(&pipe_only, SIGPIPE);
        sigset_t pending;
        sigpending(&pending);
        was_pending_ = sigismember(&pending, SIGPIPE) == 1;
        pthread_sigmask(SIG_BLOCK, &pipe_only, &old_);
    }
    ~SigpipeBlock() {
        if (!was_pending_) {
            sigset_t pipe_only;
            sigemptyset(&pipe_only);
            sigaddset(&pipe_only, SIGPIPE);
            const timespec zero{0, 0};
            while (sigtimedwait(&pipe_only, nullptr, &zero) == SIGPIPE) {
            }
        }
        pthread_sigmask(SIG_SETMASK, &old_, nullptr);
    }
    SigpipeBlock(const SigpipeBlock &) = delete;
    SigpipeBlock &operator=(const SigpipeBlock &) = delete;

private:
    sigset_t old_{};
    bool was_pending_ = false;
};

// Splits stderr into lines for the sink, bounded in count and length.
class StderrLines {
public:
    explicit StderrLines(const LineSink &sink) : sink_(sink) {}
    void feed(const char *data, size_t n) {
        for (size_t i = 0; i < n; ++i) {
            if (data[i] == '\n') {
                flush();
            } else if (line_.size() < kMaxStderrLineLength) {
                const unsigned char c = static_cast<unsigned char>(data[i]);
                line_ += (c >= 0x20 && c != 0x7f) || c == '\t' ? data[i] : '?';
            }
        }
    }
    void flush() {
        if (lines_ < kMaxStderrLines) {
            if (sink_) sink_(line_);
        } else if (lines_ == kMaxStderrLines && sink_) {
            sink_("(further stderr output dropped)");
        }
        ++lines_;
        line_.clear();
    }
    void finish() {
        if (!line_.empty()) flush();
    }

private:
    const LineSink &sink_;
    std::string line_;
    size_t lines_ = 0;
};

std::vector<char *> c_strings(std::vector<std::string> &strings) {
    std::vector<char *> out;
    out.reserve(strings.size() + 1);
    for (auto &s : strings) out.push_back(s.data());
    out.push_back(nullptr);
    return out;
}

pid_t spawn(const ChildSpec &spec, int in, int out, int err) {
    std::vector<std::string> argv_strings{spec.program};
    argv_strings.insert(argv_strings.end(), spec.args.begin(), spec.args.end());
    std::vector<std::string> env_strings = spec.environment;
    auto argv = c_strings(argv_strings);
    auto envp = c_strings(env_strings);

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, in, 0);
    posix_spawn_file_actions_adddup2(&actions, out, 1);
    posix_spawn_file_actions_adddup2(&actions, err, 2);
    // Whatever the host left open without O_CLOEXEC (FUSE, sockets, vault
    // files) stays out of the child.
    posix_spawn_file_actions_addclosefrom_np(&actions, 3);

    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &all);
    // Its own process group, so a timeout kills what it started too.
    posix_spawnattr_setpgroup(&attr, 0);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP);

    pid_t pid = -1;
    const int rc = ::posix_spawn(&pid, spec.program.c_str(), &actions, &attr, argv.data(), envp.data());
    posix_spawnattr_destroy(&attr);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) throw SpawnError("cannot run " + spec.program + ": " + cmkfs::plugin::errno_text(rc));
    return pid;
}

// Kills the child's process group and reaps the child. Only called while
// the child is unreaped, so its pid still names its process group.
int kill_and_reap(pid_t pid) {
    ::kill(-pid, SIGKILL);
    ::kill(pid, SIGKILL);
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    return status;
}

}  // namespace

ChildOutcome run_child(const ChildSpec &spec, std::string_view input, const LineSink &stderr_line) {
    Pipe in = make_pipe(), out = make_pipe(), err = make_pipe();
    const pid_t pid = spawn(spec, in.read.get(), out.write.get(), err.write.get());
    in.read.reset();
    out.write.reset();
    err.write.reset();
    // Readiness of a pidfd means the child exited; without one (old kernel)
    // the loop polls waitpid every few milliseconds instead.
    // (sys/pidfd.h of glibc 2.36 lacks extern "C": call the syscall.)
    Fd exit_fd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
    set_nonblocking(in.write.get());
    set_nonblocking(out.read.get());
    set_nonblocking(err.read.get());

    SigpipeBlock no_sigpipe;
    ChildOutcome result;
    StderrLines lines(stderr_line);
    const auto deadline = Clock::now() + spec.timeout;
    size_t written = 0;
    if (input.empty()) in.write.reset();
    int status = 0;
    bool reaped = false;
    char buf[4096];

    while (!(reaped && out.read.get() < 0 && err.read.get() < 0)) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
        if (left.count() <= 0) {
            result.timed_out = true;
            break;
        }
        pollfd fds[4] = {{in.write.get(), POLLOUT, 0},
                         {out.read.get(), POLLIN, 0},
                         {err.read.get(), POLLIN, 0},
                         {reaped ? -1 : exit_fd.get(), POLLIN, 0}};
        const int wait_ms = exit_fd.get() < 0 && !reaped ? std::min<int>(5, static_cast<int>(left.count()))
                                                         : static_cast<int>(left.count());
        if (::poll(fds, 4, wait_ms) < 0 && errno != EINTR) break;

        if (fds[0].revents & (POLLOUT | POLLERR | POLLHUP)) {
            const ssize_t n = ::write(in.write.get(), input.data() + written, input.size() - written);
            if (n > 0) written += static_cast<size_t>(n);
            if ((n < 0 && errno != EAGAIN && errno != EINTR) || written == input.size()) in.write.reset();
        }
        if (fds[1].revents & (POLLIN | POLLERR | POLLHUP)) {
            const ssize_t n = ::read(out.read.get(), buf, sizeof buf);
            if (n > 0) {
                if (result.out.size() + static_cast<size_t>(n) > spec.max_stdout) {
                    result.stdout_overflow = true;
                    break;
                }
                result.out.append(std::string_view(buf, static_cast<size_t>(n)));
            } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
                out.read.reset();
            }
        }
        if (fds[2].revents & (POLLIN | POLLERR | POLLHUP)) {
            const ssize_t n = ::read(err.read.get(), buf, sizeof buf);
            if (n > 0) {
                lines.feed(buf, static_cast<size_t>(n));
            } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
                err.read.reset();
            }
        }
        if (!reaped && (exit_fd.get() < 0 || (fds[3].revents & POLLIN))) {
            if (::waitpid(pid, &status, WNOHANG) == pid) reaped = true;
        }
    }
    OPENSSL_cleanse(buf, sizeof buf);  // may have held a reply
    lines.finish();

    if (!reaped) {
        const int killed = kill_and_reap(pid);
        if (result.timed_out || result.stdout_overflow) return result;
        status = killed;
    }
    if (WIFEXITED(status)) {
        result.exited = true;
        result.exit_code = WEXITSTATUS(status);
    } else if (WIFSIGNALED(status)) {
        result.signal = WTERMSIG(status);
    }
    return result;
}

}  // namespace cmkfs::exec
