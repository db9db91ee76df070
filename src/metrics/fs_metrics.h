// The filesystem's instruments (docs/metrics.md lists them): per-operation
// latency and errors, bytes moved, integrity failures and open files.
// src/fs records into them; nothing here knows about FUSE.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <string>

#include "metrics/registry.h"

namespace cmkfs::metrics {

// One FUSE operation's instruments. Created once per operation name, never freed.
struct FuseOpStats {
    std::string name;
    Histogram *latency = nullptr;  // its _count is the operation count
    // Error counters by errno, created at the first error of each kind.
    static constexpr int kMaxErrno = 256;
    std::array<std::atomic<Counter *>, kMaxErrno> errors{};
    void count_error(int err) noexcept;
};

FuseOpStats &fuse_op_stats(const char *op);

// The op's instruments, looked up once per call site of the FUSE guard and
// then re-checked with a short string compare (a call site may serve two
// operation names, readdir and readdirplus).
class FuseOpSite {
public:
    FuseOpStats &stats(const char *op) noexcept {
        FuseOpStats *s = cached_.load(std::memory_order_acquire);
        if (s == nullptr || s->name != op) {
            s = &fuse_op_stats(op);
            cached_.store(s, std::memory_order_release);
        }
        return *s;
    }

private:
    std::atomic<FuseOpStats *> cached_{nullptr};
};

// Times one operation from construction to destruction: one clock read at
// each end and two relaxed adds; failed() adds the error count.
class OpTimer {
public:
    explicit OpTimer(FuseOpStats &stats) noexcept : stats_(stats), start_(std::chrono::steady_clock::now()) {}
    ~OpTimer() { stats_.latency->observe(std::chrono::steady_clock::now() - start_); }
    OpTimer(const OpTimer &) = delete;
    OpTimer &operator=(const OpTimer &) = delete;
    void failed(int err) noexcept { stats_.count_error(err); }

private:
    FuseOpStats &stats_;
    std::chrono::steady_clock::time_point start_;
};

Counter &bytes_read();
Counter &bytes_written();
// Blocks (or headers, names, xattrs) that failed authentication and were
// answered with EIO. No label: which file it was goes to the log, never here.
Counter &integrity_failures();
Gauge &open_files();

// Registers every family above so that a scrape shows them (at 0) from the start.
void register_filesystem_metrics();

}  // namespace cmkfs::metrics
