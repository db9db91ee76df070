// A custody::Clock that stands still until a test moves it: a grace period
// of minutes passes in one call. The custodian's thread waits on it in real
// slices of a millisecond, so advance() needs no hook into the waiter; each
// wait is counted and its deadline kept, so a test can see the schedule.
#pragma once

#include <chrono>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "custody/clock.h"

namespace cmkfs::test {

class FakeClock final : public custody::Clock {
public:
    time_point now() const override {
        std::lock_guard guard(mutex_);
        return start_ + offset_;
    }
    wall_time wall_now() const override {
        std::lock_guard guard(mutex_);
        return wall_start_ + std::chrono::duration_cast<wall_time::duration>(offset_);
    }
    bool wait_until(std::unique_lock<std::mutex> &lock, std::condition_variable &wake, time_point deadline,
                    const std::function<bool()> &done) override {
        {
            std::lock_guard guard(mutex_);
            ++waits_;
            deadline_ = deadline;
        }
        while (!done() && now() < deadline) wake.wait_for(lock, std::chrono::milliseconds(1));
        return done();
    }

    void advance(std::chrono::milliseconds by) {
        std::lock_guard guard(mutex_);
        offset_ += by;
    }
    // Moves to the deadline the waiter waits for, and returns how far that was.
    std::chrono::milliseconds advance_to_deadline() {
        std::lock_guard guard(mutex_);
        const auto by = std::chrono::duration_cast<std::chrono::milliseconds>(deadline_ - (start_ + offset_));
        offset_ = deadline_ - start_;
        return by;
    }
    int waits() const {
        std::lock_guard guard(mutex_);
        return waits_;
    }
    // Blocks (real time, bounded) until the waiter has begun its n-th wait.
    void settle(int n) const {
        const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        while (waits() < n) {
            if (std::chrono::steady_clock::now() > give_up) throw std::runtime_error("the custodian never waited");
            std::this_thread::sleep_for(std::chrono::microseconds(200));
        }
    }
    // How long the current wait is, from now.
    std::chrono::milliseconds pending_wait() const {
        std::lock_guard guard(mutex_);
        return std::chrono::duration_cast<std::chrono::milliseconds>(deadline_ - (start_ + offset_));
    }

private:
    mutable std::mutex mutex_;
    const time_point start_ = time_point{} + std::chrono::hours(1);
    const wall_time wall_start_ = wall_time{} + std::chrono::hours(24 * 365 * 57);
    std::chrono::nanoseconds offset_{0};
    int waits_ = 0;
    time_point deadline_{};
};

}  // namespace cmkfs::test
