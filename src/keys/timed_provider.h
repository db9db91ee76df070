// A KeyProvider that reports how long each call to the provider it wraps
// took, and whether it succeeded, to a callback. The callback knows about
// metrics; this layer does not.
#pragma once

#include <chrono>
#include <functional>
#include <memory>

#include "keys/key_provider.h"

namespace cmkfs::keys {

enum class ProviderCall { wrap, unwrap, check };
const char *to_string(ProviderCall call);

using ProviderCallObserver = std::function<void(ProviderCall call, std::chrono::nanoseconds took, bool ok)>;

class TimedProvider : public KeyProvider {
public:
    TimedProvider(std::shared_ptr<KeyProvider> inner, ProviderCallObserver observer)
        : inner_(std::move(inner)), observer_(std::move(observer)) {}

    const std::string &name() const override { return inner_->name(); }
    WrapResult wrap(const KeyRef &key, std::span<const uint8_t> plain) override;
    crypto::SecureBytes unwrap(const KeyRef &key, std::span<const uint8_t> wrapped) override;
    std::string check(const KeyRef &key) override;

private:
    template <class F>
    auto timed(ProviderCall call, F &&f) -> decltype(f());

    std::shared_ptr<KeyProvider> inner_;
    ProviderCallObserver observer_;
};

}  // namespace cmkfs::keys
