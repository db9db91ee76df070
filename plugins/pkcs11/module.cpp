#include "module.h"

#include <dlfcn.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "ck_error.h"
#include "errno_text.h"

namespace cmkfs::p11 {

namespace {

std::string trimmed(const CK_UTF8CHAR *field, size_t size) {
    std::string s(reinterpret_cast<const char *>(field), size);
    const auto end = s.find_last_not_of(' ');
    return end == std::string::npos ? "" : s.substr(0, end + 1);
}

// A module runs inside cmkfs with access to key material: like a provider
// plugin it must not be replaceable by anyone but its owner (root for root).
void check_trusted(const std::string &path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0)
        throw P11Error(CMKFS_ERR_INVALID, "PKCS#11 module " + path + ": " + cmkfs::plugin::errno_text(errno));
    if (!S_ISREG(st.st_mode)) throw P11Error(CMKFS_ERR_INVALID, "PKCS#11 module " + path + " is not a regular file");
    if (st.st_mode & (S_IWGRP | S_IWOTH))
        throw P11Error(CMKFS_ERR_INVALID, "refusing PKCS#11 module " + path + ": writable by group or others");
    if (::geteuid() == 0 && st.st_uid != 0)
        throw P11Error(CMKFS_ERR_INVALID, "refusing PKCS#11 module " + path + ": not owned by root");
}

std::mutex registry_mutex;
std::map<std::string, std::weak_ptr<Module>> &registry() {
    static std::map<std::string, std::weak_ptr<Module>> modules;
    return modules;
}

std::string token_key(const KeyUri &uri) {
    KeyUri t;
    t.token = uri.token;
    t.manufacturer = uri.manufacturer;
    t.model = uri.model;
    t.serial = uri.serial;
    return format_key_uri(t);
}

std::string token_description(const KeyUri &uri) {
    std::string s = token_key(uri).substr(7);  // without "pkcs11:"
    return s.empty() ? "any token" : s;
}

}  // namespace

std::shared_ptr<Module> Module::acquire(const std::string &path) {
    if (path.empty() || path[0] != '/') throw P11Error(CMKFS_ERR_INVALID, "option module= must be an absolute path");
    char real[PATH_MAX];
    if (::realpath(path.c_str(), real) == nullptr)
        throw P11Error(CMKFS_ERR_INVALID, "PKCS#11 module " + path + ": " + cmkfs::plugin::errno_text(errno));
    check_trusted(real);
    std::lock_guard guard(registry_mutex);
    auto &slot = registry()[real];
    if (auto existing = slot.lock()) return existing;
    std::shared_ptr<Module> module(new Module(real));
    slot = module;
    return module;
}

Module::Module(std::string path) : path_(std::move(path)) {
    lib_ = ::dlopen(path_.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (lib_ == nullptr) {
        const char *why = ::dlerror();  // NOLINT(concurrency-mt-unsafe): glibc keeps it per thread
        throw P11Error(CMKFS_ERR_INVALID, "cannot load PKCS#11 module " + path_ + ": " + (why ? why : "?"));
    }
    auto get = reinterpret_cast<CK_C_GetFunctionList>(::dlsym(lib_, "C_GetFunctionList"));
    if (get == nullptr || get(&fn_) != CKR_OK || fn_ == nullptr) {
        ::dlclose(lib_);
        throw P11Error(CMKFS_ERR_INVALID, "PKCS#11 module " + path_ + " has no usable C_GetFunctionList");
    }
}

Module::~Module() {
    std::unique_lock guard(state_mutex_);
    finalize_locked();
    ::dlclose(lib_);
}

void Module::initialize_locked() {
    CK_C_INITIALIZE_ARGS args{};
    args.flags = CKF_OS_LOCKING_OK;
    const CK_RV rv = fn_->C_Initialize(&args);
    if (rv != CKR_OK && rv != CKR_CRYPTOKI_ALREADY_INITIALIZED)
        throw P11Error(classify(rv) == CMKFS_ERR_INTERNAL ? CMKFS_ERR_UNAVAILABLE : classify(rv),
                       "C_Initialize of " + path_ + ": " + ckr_name(rv));
    initialized_ = true;
    owns_initialization_ = rv == CKR_OK;
    ++init_generation_;
}

void Module::finalize_locked() {
    close_idle_sessions();
    if (initialized_ && owns_initialization_) fn_->C_Finalize(nullptr);
    initialized_ = false;
    owns_initialization_ = false;
    for (auto &[key, state] : tokens_) state.validated = false;
}

void Module::close_idle_sessions() {
    std::lock_guard guard(pool_mutex_);
    if (initialized_)
        for (auto &[slot, sessions] : idle_)
            for (auto s : sessions) fn_->C_CloseSession(s);
    idle_.clear();
}

CK_SLOT_ID Module::find_slot_locked(const KeyUri &uri, std::string &label) {
    CK_ULONG count = 0;
    check_rv(fn_->C_GetSlotList(CK_TRUE, nullptr, &count), "C_GetSlotList");
    std::vector<CK_SLOT_ID> slots(count);
    if (count > 0) check_rv(fn_->C_GetSlotList(CK_TRUE, slots.data(), &count), "C_GetSlotList");
    slots.resize(count);
    std::vector<std::pair<CK_SLOT_ID, std::string>> matches;
    for (CK_SLOT_ID slot : slots) {
        CK_TOKEN_INFO info{};
        if (fn_->C_GetTokenInfo(slot, &info) != CKR_OK) continue;
        const std::string tlabel = trimmed(info.label, sizeof info.label);
        if (uri.token && *uri.token != tlabel) continue;
        if (uri.manufacturer && *uri.manufacturer != trimmed(info.manufacturerID, sizeof info.manufacturerID)) continue;
        if (uri.model && *uri.model != trimmed(info.model, sizeof info.model)) continue;
        if (uri.serial && *uri.serial != trimmed(info.serialNumber, sizeof info.serialNumber)) continue;
        matches.emplace_back(slot, tlabel);
    }
    if (matches.empty())
        throw P11Error(CMKFS_ERR_UNAVAILABLE, "no token matching " + token_description(uri) + " is present in " + path_);
    if (matches.size() > 1)
        throw P11Error(CMKFS_ERR_INVALID, std::to_string(matches.size()) + " tokens match " + token_description(uri) +
                                              "; name one with token= or serial=");
    label = matches[0].second;
    return matches[0].first;
}

void Module::login_locked(CK_SLOT_ID slot, const Credentials &cred, bool logout_first) {
    CK_TOKEN_INFO info{};
    check_rv(fn_->C_GetTokenInfo(slot, &info), "C_GetTokenInfo");
    if (!(info.flags & CKF_LOGIN_REQUIRED)) return;
    // Never burn the last try: a revoked PIN retried every check interval
    // would otherwise lock the user PIN for good on a real HSM.
    if (info.flags & CKF_USER_PIN_LOCKED) throw P11Error(CMKFS_ERR_DENIED, "the token's user PIN is locked");
    if (info.flags & CKF_USER_PIN_FINAL_TRY)
        throw P11Error(CMKFS_ERR_DENIED,
                       "one user PIN try is left on the token; not logging in (check the PIN, reset it with the SO PIN)");
    sdk::SecretBuffer pin = cred.pin->read(*cred.host);
    CK_SESSION_HANDLE session = take_session(slot);
    if (logout_first) fn_->C_Logout(session);
    const CK_RV rv = fn_->C_Login(session, CKU_USER, pin.data(), pin.size());
    give_back(slot, session);
    if (rv != CKR_OK && rv != CKR_USER_ALREADY_LOGGED_IN)
        throw P11Error(classify(rv), "login with the PIN from " + cred.pin->describe() + ": " + ckr_name(rv));
}

void Module::revalidate_locked(const KeyUri &uri, const Credentials &cred, TokenState &state,
                               Clock::time_point started) {
    try {
        const bool reinit = cred.revalidate == Revalidate::reinitialize || !initialized_;
        if (initialized_ && reinit) {
            if (owns_initialization_) {
                finalize_locked();
            } else {
                close_idle_sessions();  // someone else initialized it: only log in again
            }
        }
        if (!initialized_) initialize_locked();
        state.slot = find_slot_locked(uri, state.label);
        login_locked(state.slot, cred, !reinit || !owns_initialization_);
        state.generation = init_generation_;
        state.status = CMKFS_OK;
        state.message.clear();
    } catch (const P11Error &e) {
        state.generation = init_generation_;
        state.status = e.status();
        state.message = e.what();
    }
    // After the work: finalizing above marks every token not validated.
    state.validated_at = started;
    state.validated = true;
}

CK_SESSION_HANDLE Module::take_session(CK_SLOT_ID slot) {
    {
        std::lock_guard guard(pool_mutex_);
        auto &idle = idle_[slot];
        if (!idle.empty()) {
            CK_SESSION_HANDLE s = idle.back();
            idle.pop_back();
            return s;
        }
    }
    CK_SESSION_HANDLE session = CK_INVALID_HANDLE;
    check_rv(fn_->C_OpenSession(slot, CKF_SERIAL_SESSION, nullptr, nullptr, &session), "C_OpenSession");
    return session;
}

void Module::give_back(CK_SLOT_ID slot, CK_SESSION_HANDLE session) {
    std::lock_guard guard(pool_mutex_);
    idle_[slot].push_back(session);
}

void Module::run(const KeyUri &uri, const Credentials &cred, const std::function<void(const TokenContext &)> &op) {
    const auto started = Clock::now();
    const std::string key = token_key(uri);
    // A re-initialization for another token between our re-validation and
    // our operation logs this token out: validate again (bounded).
    for (int attempt = 0; attempt < 8; ++attempt) {
        {
            std::unique_lock exclusive(state_mutex_);
            TokenState &state = tokens_[key];
            if (!state.validated || state.validated_at < started || state.generation != init_generation_)
                revalidate_locked(uri, cred, state, Clock::now());
        }
        std::shared_lock shared(state_mutex_);
        const TokenState &state = tokens_.at(key);  // never erased once created
        if (!state.validated || state.generation != init_generation_) continue;
        if (state.status != CMKFS_OK) throw P11Error(state.status, state.message);
        CK_SESSION_HANDLE session = take_session(state.slot);
        try {
            op(TokenContext{fn_, session, state.label});
        } catch (...) {
            fn_->C_CloseSession(session);  // it may hold an unfinished operation
            throw;
        }
        give_back(state.slot, session);
        return;
    }
    throw P11Error(CMKFS_ERR_UNAVAILABLE, "the token kept being re-initialized; try again");
}

}  // namespace cmkfs::p11
