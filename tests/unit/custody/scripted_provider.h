// An in-process key provider whose answers a test scripts: the status every
// call returns (ok, denied, disabled, not found, unavailable), the newest key
// version check() reports, and whether unwrap gives back a key that is not
// the volume's. It "wraps" as tests/unit/store/reversing_provider.h does.
#pragma once

#include <algorithm>
#include <atomic>
#include <iterator>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "crypto/secure_bytes.h"
#include "keys/key_provider.h"

namespace cmkfs::test {

class ScriptedProvider final : public keys::KeyProvider {
public:
    void answer(keys::ProviderStatus status) {
        std::lock_guard guard(mutex_);
        status_ = status;
    }
    void set_latest_version(int version) {
        std::lock_guard guard(mutex_);
        version_ = version;
    }
    void fail_check(bool fail) {
        std::lock_guard guard(mutex_);
        fail_check_ = fail;
    }
    int unwraps() const { return unwraps_.load(); }

    const std::string &name() const override { return name_; }
    keys::WrapResult wrap(const keys::KeyRef &key, std::span<const uint8_t> plain) override {
        std::lock_guard guard(mutex_);
        throw_unless_ok();
        std::vector<uint8_t> out(key.key_id.begin(), key.key_id.end());
        out.push_back(0);
        out.insert(out.end(), plain.rbegin(), plain.rend());
        return {out, versioned(key.key_id)};
    }
    crypto::SecureBytes unwrap(const keys::KeyRef &, std::span<const uint8_t> wrapped) override {
        ++unwraps_;
        std::lock_guard guard(mutex_);
        throw_unless_ok();
        auto zero = std::find(wrapped.begin(), wrapped.end(), uint8_t{0});
        std::vector<uint8_t> plain(std::reverse_iterator(wrapped.end()), std::reverse_iterator(zero + 1));
        return crypto::SecureBytes(std::span<const uint8_t>(plain));
    }
    std::string check(const keys::KeyRef &key) override {
        std::lock_guard guard(mutex_);
        if (fail_check_) throw keys::ProviderError(keys::ProviderStatus::unavailable, "scripted: check failed");
        return versioned(key.key_id);
    }

private:
    // "k" -> "k/v<latest>"; an id that names a version stays as it is.
    std::string versioned(const std::string &key_id) const {
        return key_id.find("/v") != std::string::npos ? key_id : key_id + "/v" + std::to_string(version_);
    }
    void throw_unless_ok() const {
        if (status_ != keys::ProviderStatus::ok)
            throw keys::ProviderError(status_, std::string("scripted: ") + keys::to_string(status_));
    }

    mutable std::mutex mutex_;
    keys::ProviderStatus status_ = keys::ProviderStatus::ok;
    int version_ = 1;
    bool fail_check_ = false;
    std::atomic<int> unwraps_{0};
    std::string name_ = "scripted";
};

}  // namespace cmkfs::test
