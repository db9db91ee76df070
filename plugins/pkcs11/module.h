// One PKCS#11 module (a shared object such as libsofthsm2.so) in this
// process: loaded and C_Initialize'd once (CKF_OS_LOCKING_OK) however many
// provider instances use it, with a pool of sessions per token and one login
// per token (PKCS#11 login state belongs to the process, not the session).
//
// Every call re-validates access before it runs: with Revalidate::reinitialize
// the module is finalized and initialized again and the user logs in afresh
// (software tokens such as SoftHSM2 keep the PIN-protected token key in the
// process, so only this sees a PIN changed by another process); with
// Revalidate::login the user logs out and in again (enough for HSMs that
// check the PIN on the device). Concurrent calls share one re-validation that
// started after they did. Operations hold a shared lock; re-validation holds
// it exclusively, so it never pulls a session from under a running operation.
#pragma once

#include <p11-kit/pkcs11.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <vector>

#include "pin_source.h"
#include "pkcs11_uri.h"

namespace cmkfs::p11 {

enum class Revalidate { reinitialize, login };

struct Credentials {
    const cmkfs_host *host;
    const PinSource *pin;
    Revalidate revalidate;
};

struct TokenContext {
    CK_FUNCTION_LIST_PTR fn;
    CK_SESSION_HANDLE session;
    std::string token_label;  // the token's CKA label, trailing blanks removed
};

class Module {
public:
    // The process-wide Module for `path` (absolute, trusted). Throws
    // P11Error(INVALID) when it cannot be loaded or is unsafe.
    static std::shared_ptr<Module> acquire(const std::string &path);
    ~Module();
    Module(const Module &) = delete;
    Module &operator=(const Module &) = delete;

    const std::string &path() const { return path_; }

    // Re-validates the login to the token `uri` selects, then runs op with a
    // pooled session on it. P11Errors from op propagate; the session is then
    // closed rather than pooled.
    void run(const KeyUri &uri, const Credentials &cred, const std::function<void(const TokenContext &)> &op);

private:
    using Clock = std::chrono::steady_clock;
    struct TokenState {
        Clock::time_point validated_at{};  // when the last re-validation started
        bool validated = false;
        uint64_t generation = 0;           // init_generation_ it logged in under
        CK_SLOT_ID slot = 0;
        std::string label;
        cmkfs_status status = CMKFS_ERR_INTERNAL;
        std::string message;
    };

    explicit Module(std::string path);
    void initialize_locked();
    void finalize_locked();
    void revalidate_locked(const KeyUri &uri, const Credentials &cred, TokenState &state, Clock::time_point started);
    CK_SLOT_ID find_slot_locked(const KeyUri &uri, std::string &label);
    void login_locked(CK_SLOT_ID slot, const Credentials &cred, bool logout_first);
    CK_SESSION_HANDLE take_session(CK_SLOT_ID slot);
    void give_back(CK_SLOT_ID slot, CK_SESSION_HANDLE session);
    void close_idle_sessions();

    std::string path_;
    void *lib_ = nullptr;
    CK_FUNCTION_LIST_PTR fn_ = nullptr;

    std::shared_mutex state_mutex_;  // exclusive: (re)initialize, log in; shared: operations
    bool initialized_ = false;
    bool owns_initialization_ = false;  // false when someone else in the process initialized it
    uint64_t init_generation_ = 0;
    std::map<std::string, TokenState> tokens_;  // by the token part of the URI

    std::mutex pool_mutex_;
    std::map<CK_SLOT_ID, std::vector<CK_SESSION_HANDLE>> idle_;
};

}  // namespace cmkfs::p11
