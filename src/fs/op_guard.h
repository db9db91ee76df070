// The one place where errors become errno. Every FUSE operation body runs
// inside guard(); bodies reply on success and throw on failure.
#pragma once

#define FUSE_USE_VERSION 312
#include <fuse_lowlevel.h>

#include <cerrno>
#include <new>
#include <type_traits>

#include <spdlog/spdlog.h>

#include "keys/key_provider.h"
#include "metrics/fs_metrics.h"
#include "util/errors.h"

namespace cmkfs::fs {

// Returns the errno for the exception in flight (call inside a catch).
int current_exception_errno(const char *op) noexcept;

// Every replying operation passes here, so this is also where operations are
// counted and timed (docs/metrics.md): `site` is one per call site (each body
// is its own lambda type), so the op's instruments are looked up once.
// A body may also return an errno (0: it replied) for an expected failure
// on a hot path, where an exception would cost more than the operation
// (a negative lookup).
template <class Body>
void guard(fuse_req_t req, const char *op, Body &&body) noexcept {
    static metrics::FuseOpSite site;
    metrics::OpTimer timer(site.stats(op));
    try {
        if constexpr (std::is_same_v<std::invoke_result_t<Body>, int>) {
            if (const int err = body()) {
                timer.failed(err);
                fuse_reply_err(req, err);
            }
        } else {
            body();
        }
    } catch (...) {
        const int err = current_exception_errno(op);
        timer.failed(err);
        fuse_reply_err(req, err);
    }
}

// For operations that must not reply (forget): errors are only logged.
template <class Body>
void guard_noreply(const char *op, Body &&body) noexcept {
    try {
        body();
    } catch (...) {
        current_exception_errno(op);
    }
}

}  // namespace cmkfs::fs
