/*
 * cmkfs provider SDK: the glue every C++ provider needs around the C ABI of
 * include/cmkfs/provider.h, written once.
 *
 *  - copy_host:   a zero-extended copy of what the host passed (a host built
 *                 against an older, shorter cmkfs_host leaves the rest NULL);
 *  - log:         one line to the host's log, if it has one;
 *  - set_message, set_kid: fill cmkfs_result (always NUL-terminated, cut to
 *                 the ABI's sizes);
 *  - deliver:     copy a result to the caller's buffer or answer
 *                 CMKFS_ERR_BUFFER_TOO_SMALL with the size needed;
 *  - ProviderError + guarded(): the exception fence. Every ABI entry point
 *                 runs its body inside guarded(), which turns every exception
 *                 into a status and a one-line message, so that nothing ever
 *                 unwinds into the host (C code).
 *  - SecretBuffer (cmkfs/secret_buffer.h): where secrets live.
 *
 * Header-only, C++17, no dependency beyond provider.h and libc; the ABI itself
 * stays plain C. examples/provider-skeleton/ shows all of it in use.
 */
#ifndef CMKFS_PROVIDER_SDK_H
#define CMKFS_PROVIDER_SDK_H

#include <cmkfs/provider.h>
#include <cmkfs/secret_buffer.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <new>
#include <stdexcept>
#include <string>
#include <string_view>

namespace cmkfs::sdk {

// A failure of a provider operation: the status class the host acts on
// (denied / not found / disabled lock the volume, unavailable is waited out)
// and a one-line reason without secrets.
class ProviderError : public std::runtime_error {
public:
    ProviderError(cmkfs_status status, const std::string &what) : std::runtime_error(what), status_(status) {}
    cmkfs_status status() const noexcept { return status_; }

private:
    cmkfs_status status_;
};

// What the host passed, zero-extended: members a shorter (older) host table
// does not have read as NULL.
inline cmkfs_host copy_host(const cmkfs_host *host) noexcept {
    cmkfs_host copy{};
    if (host != nullptr)
        std::memcpy(&copy, host, host->struct_size < sizeof(cmkfs_host) ? host->struct_size : sizeof(cmkfs_host));
    return copy;
}

// One line to the host's log; nothing when there is no host or no log.
// Never pass key material, PINs, secrets or tokens.
inline void log(const cmkfs_host *host, cmkfs_log_level level, const std::string &message) {
    if (host != nullptr && host->log != nullptr) host->log(host->host_ctx, level, message.c_str());
}

namespace detail {
template <size_t N>
void copy_cut(char (&to)[N], std::string_view text) noexcept {
    const size_t n = text.size() < N - 1 ? text.size() : N - 1;
    if (n > 0) std::memcpy(to, text.data(), n);
    to[n] = '\0';
}
}  // namespace detail

// The one-line reason a call failed (cut to CMKFS_MESSAGE_MAX - 1 bytes).
inline void set_message(cmkfs_result *result, std::string_view message) noexcept {
    if (result != nullptr) detail::copy_cut(result->message, message);
}

// Whether a versioned key id fits cmkfs_result::versioned_key_id uncut.
inline bool kid_fits(std::string_view kid) noexcept { return kid.size() < CMKFS_KEY_ID_MAX; }

// The versioned key id wrap and check report (cut to CMKFS_KEY_ID_MAX - 1
// bytes; check kid_fits first where a cut id would be wrong).
inline void set_kid(cmkfs_result *result, std::string_view kid) noexcept {
    if (result != nullptr) detail::copy_cut(result->versioned_key_id, kid);
}

// Copies n bytes to the caller's buffer `out` of capacity *out_len, or
// reports the size needed: "<what> needs <n> bytes", CMKFS_ERR_BUFFER_TOO_SMALL.
inline cmkfs_status deliver(const uint8_t *data, size_t n, uint8_t *out, size_t *out_len, cmkfs_result *result,
                            std::string_view what) {
    if (out == nullptr || *out_len < n) {
        *out_len = n;
        if (result != nullptr)  // snprintf, not std::to_string: keeps libstdc++'s
                                // unique symbols out of a provider's dynamic table
            std::snprintf(result->message, sizeof result->message, "%.*s needs %zu bytes",
                          static_cast<int>(what.size()), what.data(), n);
        return CMKFS_ERR_BUFFER_TOO_SMALL;
    }
    if (n > 0) std::memcpy(out, data, n);
    *out_len = n;
    return CMKFS_OK;
}

// How guarded() words what it catches.
struct Fence {
    const cmkfs_host *host = nullptr;  // where a failure's debug line goes (may be null)
    std::string_view log_prefix;       // "<log_prefix><op>: <reason>" at CMKFS_LOG_DEBUG
    std::string_view prefix;           // before every message guarded() sets ("exec: ")
    std::string_view unexpected;       // before the text of an exception that is not Error
};

// The status of an expected failure: Error::status().
struct StatusOf {
    template <class E>
    cmkfs_status operator()(const E &e) const noexcept {
        return e.status();
    }
};

// Runs fn (returning cmkfs_status) and turns every exception into a status
// and a message. An `Error` (ProviderError, or the provider's own type with
// `classify`) keeps its class and reason and is logged at debug level;
// bad_alloc, any other exception and non-standard throws are
// CMKFS_ERR_INTERNAL. Nothing escapes.
template <class Error = ProviderError, class Fn, class Classify = StatusOf>
cmkfs_status guarded(const Fence &fence, const char *op, cmkfs_result *result, Fn &&fn,
                     Classify classify = {}) noexcept {
    const auto say = [&](std::string_view head, std::string_view text) {
        try {
            set_message(result, std::string(fence.prefix) + std::string(head) + std::string(text));
        } catch (...) {
            set_message(result, "out of memory");
        }
    };
    try {
        return fn();
    } catch (const Error &e) {
        say({}, e.what());
        try {
            log(fence.host, CMKFS_LOG_DEBUG, std::string(fence.log_prefix) + op + ": " + e.what());
        } catch (...) {
        }
        return classify(e);
    } catch (const std::bad_alloc &) {
        say(fence.unexpected, "out of memory");
    } catch (const std::exception &e) {
        say(fence.unexpected, e.what());
    } catch (...) {
        say(fence.unexpected, "unknown error");
    }
    return CMKFS_ERR_INTERNAL;
}

}  // namespace cmkfs::sdk

#endif /* CMKFS_PROVIDER_SDK_H */
