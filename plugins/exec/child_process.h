// Runs one program to completion: no shell, a fixed environment, the request
// on stdin, the reply from stdout (bounded), stderr line by line to a sink,
// killed (with its process group) at the deadline, always reaped.
#pragma once

#include <chrono>
#include <functional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <cmkfs/secret_buffer.h>

namespace cmkfs::exec {

// The program could not be started (posix_spawn failed).
class SpawnError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

struct ChildSpec {
    std::string program;                   // absolute path, executed directly
    std::vector<std::string> args;         // argv[1..]
    std::vector<std::string> environment;  // the child's whole environment
    std::chrono::milliseconds timeout{10000};
    size_t max_stdout = 64 * 1024;
};

struct ChildOutcome {
    bool timed_out = false;       // killed at the deadline
    bool stdout_overflow = false;  // killed for writing more than max_stdout
    bool exited = false;           // exit_code is valid
    int exit_code = -1;
    int signal = 0;                // set when killed by a signal we did not send
    sdk::SecretBuffer out;         // what it wrote on stdout (it may carry a key)
};

// Called once per stderr line (without the newline), at most
// kMaxStderrLines times per run; longer lines are cut.
using LineSink = std::function<void(std::string_view line)>;
inline constexpr size_t kMaxStderrLines = 64;
inline constexpr size_t kMaxStderrLineLength = 512;

// Throws SpawnError when the program cannot be started.
ChildOutcome run_child(const ChildSpec &spec, std::string_view input, const LineSink &stderr_line);

}  // namespace cmkfs::exec
