#include "metrics/fs_metrics.h"

#include <cstring>
#include <map>
#include <memory>
#include <mutex>

namespace cmkfs::metrics {

namespace {
Family<Histogram> &latency_family() {
    static auto &f = registry().histogram_family(
        "cmkfs_fuse_operation_duration_seconds",
        "Time the daemon spent on each FUSE operation, by operation; _count is the number of operations.",
        {"op"});
    return f;
}

Family<Counter> &error_family() {
    static auto &f = registry().counter_family(
        "cmkfs_fuse_errors_total", "FUSE operations answered with an error, by operation and errno name.",
        {"op", "errno"});
    return f;
}

std::string errno_name(int err) {
    // strerrorname_np (glibc 2.32+) names every errno the kernel defines: a bounded set.
    const char *name = err > 0 ? strerrorname_np(err) : nullptr;
    return name != nullptr ? name : "other";
}
}  // namespace

void FuseOpStats::count_error(int err) noexcept {
    try {
        const size_t slot = err > 0 && err < kMaxErrno ? static_cast<size_t>(err) : 0;
        Counter *c = errors[slot].load(std::memory_order_acquire);
        if (c == nullptr) {
            c = &error_family().with({name, slot == 0 ? std::string("other") : errno_name(err)});
            errors[slot].store(c, std::memory_order_release);
        }
        c->inc();
    } catch (...) {
        // Out of memory while creating a counter: losing one count beats failing the reply.
    }
}

FuseOpStats &fuse_op_stats(const char *op) {
    static std::mutex mutex;
    static auto *ops = new std::map<std::string, std::unique_ptr<FuseOpStats>, std::less<>>();  // never freed
    std::lock_guard guard(mutex);
    auto it = ops->find(std::string_view(op));
    if (it == ops->end()) {
        auto stats = std::make_unique<FuseOpStats>();
        stats->name = op;
        stats->latency = &latency_family().with({op});
        it = ops->emplace(op, std::move(stats)).first;
    }
    return *it->second;
}

Counter &bytes_read() {
    static auto &c = registry().counter("cmkfs_read_bytes_total", "Plaintext bytes returned by read operations.");
    return c;
}

Counter &bytes_written() {
    static auto &c =
        registry().counter("cmkfs_written_bytes_total", "Plaintext bytes accepted by write operations.");
    return c;
}

Counter &integrity_failures() {
    static auto &c = registry().counter(
        "cmkfs_integrity_failures_total",
        "Operations answered with EIO because data from the backing directory failed authentication.");
    return c;
}

Gauge &open_files() {
    static auto &g = registry().gauge("cmkfs_open_files", "Files currently open through the mount.");
    return g;
}

void register_filesystem_metrics() {
    latency_family();
    error_family();
    bytes_read();
    bytes_written();
    integrity_failures();
    open_files();
}

}  // namespace cmkfs::metrics
