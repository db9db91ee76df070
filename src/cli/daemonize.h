// Going to the background without losing the ability to report failure: the
// parent waits on a pipe until the child has mounted (exit 0) or failed (the
// child's exit code and one-line message are passed back and shown).
#pragma once

#include <string>

namespace cmkfs::cli {

class Daemonizer {
public:
    // Forks. Returns in the child only; the parent exits with the child's status.
    static Daemonizer fork_and_wait();
    Daemonizer(Daemonizer &&) noexcept;
    ~Daemonizer();

    // The child is up: the parent exits 0; stdio goes to /dev/null.
    void succeeded();
    // The child failed before mounting: the parent prints `message`, exits `code`.
    void failed(int code, const std::string &message);

private:
    explicit Daemonizer(int fd) : fd_(fd) {}
    int fd_;
};

}  // namespace cmkfs::cli
