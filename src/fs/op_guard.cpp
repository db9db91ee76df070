#include "fs/op_guard.h"

#include <atomic>
#include <chrono>
#include <exception>

#include "util/fd_limit.h"

namespace cmkfs::fs {

namespace {
// Out of descriptors is an operator's problem (a limit to raise), not the
// caller's: say so, with the numbers, but at most once a minute.
void warn_out_of_descriptors(const char *op, const char *what) noexcept {
    using Clock = std::chrono::steady_clock;
    static std::atomic<int64_t> next_warning{0};
    const int64_t now = std::chrono::duration_cast<std::chrono::seconds>(Clock::now().time_since_epoch()).count();
    int64_t due = next_warning.load();
    if (now < due || !next_warning.compare_exchange_strong(due, now + 60)) return;
    spdlog::warn("{}: {}: the daemon keeps one descriptor per inode the kernel caches and has reached its "
                 "open-file limit ({}); raise LimitNOFILE / ulimit -n (docs/deploy.md)",
                 op, what, open_file_limit());
}
}  // namespace

// Exempt from UBSan's vptr check (sanitizer builds only): this runs exactly when
// the daemon may be out of descriptors, and on a type-cache miss that check
// probes the vtable through a pipe it then cannot create, reporting a valid
// object as "invalid vptr" and aborting the daemon (a known false positive,
// cf. microsoft/CCF#3433). Suppression files cannot help: the standalone UBSan
// runtime reads its options lazily, from /proc, at the first report.
#if defined(__GNUC__)
__attribute__((no_sanitize("vptr")))
#endif
int current_exception_errno(const char *op) noexcept {
    try {
        throw;
    } catch (const IntegrityError &e) {
        // Already logged with the file and block by the store; say which op.
        spdlog::error("{}: {}", op, e.what());
        metrics::integrity_failures().inc();
        return EIO;
    } catch (const LockedError &) {
        return EACCES;
    } catch (const keys::ProviderError &e) {
        spdlog::error("{}: key provider: {}", op, e.what());
        return e.error_number();
    } catch (const Error &e) {
        int err = e.error_number();
        if (err == 0) err = EIO;
        if (err == EMFILE || err == ENFILE) warn_out_of_descriptors(op, e.what());
        if (err != ENOENT && err != EEXIST && err != ENOTEMPTY && err != ENODATA && err != EACCES)
            spdlog::debug("{}: {}", op, e.what());
        return err;
    } catch (const std::bad_alloc &) {
        spdlog::error("{}: out of memory", op);
        return ENOMEM;
    } catch (const std::exception &e) {
        spdlog::error("{}: unexpected error: {}", op, e.what());
        return EIO;
    } catch (...) {
        spdlog::error("{}: unknown exception", op);
        return EIO;
    }
}

}  // namespace cmkfs::fs
