#include "custody/clock.h"

namespace cmkfs::custody {

namespace {
class SystemClock final : public Clock {
public:
    time_point now() const override { return std::chrono::steady_clock::now(); }
    wall_time wall_now() const override { return std::chrono::system_clock::now(); }
    bool wait_until(std::unique_lock<std::mutex> &lock, std::condition_variable &wake, time_point deadline,
                    const std::function<bool()> &done) override {
        return wake.wait_until(lock, deadline, done);
    }
};
}  // namespace

Clock &system_clock() {
    static SystemClock clock;
    return clock;
}

}  // namespace cmkfs::custody
