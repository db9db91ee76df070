// Progress of a long command on stderr: on a terminal one line redrawn in
// place (a bar when the totals are known, counts, rate, ETA); otherwise, if
// asked for, a plain line every couple of seconds for logs. Rate-limited
// here, so callers may report after every item.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace cmkfs::cli {

struct ProgressSample {
    uint64_t files = 0;
    uint64_t files_total = 0;  // 0: unknown
    uint64_t directories = 0;
    uint64_t bytes = 0;
    uint64_t bytes_total = 0;  // 0: unknown
};

class ProgressDisplay {
public:
    // `verb` starts every line ("re-encrypting", "checked").
    ProgressDisplay(std::string verb, bool lines_without_tty);
    ~ProgressDisplay();  // clears the terminal line
    ProgressDisplay(const ProgressDisplay &) = delete;
    ProgressDisplay &operator=(const ProgressDisplay &) = delete;

    void update(const ProgressSample &sample);
    // Starts a new phase: the rate and ETA restart from here; without a
    // terminal (and with lines asked for) its name is printed at once.
    void restart(std::string verb);
    // Clears the terminal line (before a summary is printed).
    void clear();
    std::chrono::steady_clock::duration elapsed() const { return std::chrono::steady_clock::now() - started_; }

private:
    std::string format(const ProgressSample &s, bool bar) const;

    std::string verb_;
    bool tty_;
    bool lines_;
    bool drawn_ = false;
    std::chrono::steady_clock::time_point started_;
    std::chrono::steady_clock::time_point phase_started_;
    std::chrono::steady_clock::time_point last_;
    // The first sample of a phase: a resumed run starts with work already
    // done, which must not count into its rate and ETA.
    bool have_base_ = false;
    ProgressSample base_;
};

// "1.5 GiB", "12.0 MiB", "512 B"
std::string human_bytes(double bytes);
// "1:02:03" or "2:03"
std::string human_duration(std::chrono::steady_clock::duration d);

}  // namespace cmkfs::cli
