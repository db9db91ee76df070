// The time key custody runs on, injected so that tests can drive a grace
// period or a backoff schedule in milliseconds of run time (a fake clock,
// tests/unit/custody/fake_clock.h) and the daemon runs on the real one.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>

namespace cmkfs::custody {

class Clock {
public:
    using time_point = std::chrono::steady_clock::time_point;
    using wall_time = std::chrono::system_clock::time_point;

    virtual ~Clock() = default;
    // Monotonic time: grace periods and the retry schedule are measured on it.
    virtual time_point now() const = 0;
    // Calendar time: only what the status reports ("since", "lastCheck").
    virtual wall_time wall_now() const = 0;
    // Blocks on `wake` (with `lock` held on entry and exit) until `deadline`
    // on this clock, or until `done()` holds after a notify. Returns done().
    virtual bool wait_until(std::unique_lock<std::mutex> &lock, std::condition_variable &wake, time_point deadline,
                            const std::function<bool()> &done) = 0;
};

// The real clocks; one instance serves every custodian.
Clock &system_clock();

}  // namespace cmkfs::custody
