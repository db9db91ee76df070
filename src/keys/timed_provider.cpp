#include "keys/timed_provider.h"

namespace cmkfs::keys {

const char *to_string(ProviderCall call) {
    switch (call) {
    case ProviderCall::wrap: return "wrap";
    case ProviderCall::unwrap: return "unwrap";
    case ProviderCall::check: return "check";
    }
    return "unknown";
}

template <class F>
auto TimedProvider::timed(ProviderCall call, F &&f) -> decltype(f()) {
    const auto start = std::chrono::steady_clock::now();
    try {
        auto result = f();
        observer_(call, std::chrono::steady_clock::now() - start, true);
        return result;
    } catch (...) {
        observer_(call, std::chrono::steady_clock::now() - start, false);
        throw;
    }
}

WrapResult TimedProvider::wrap(const KeyRef &key, std::span<const uint8_t> plain) {
    return timed(ProviderCall::wrap, [&] { return inner_->wrap(key, plain); });
}

crypto::SecureBytes TimedProvider::unwrap(const KeyRef &key, std::span<const uint8_t> wrapped) {
    return timed(ProviderCall::unwrap, [&] { return inner_->unwrap(key, wrapped); });
}

std::string TimedProvider::check(const KeyRef &key) {
    return timed(ProviderCall::check, [&] { return inner_->check(key); });
}

}  // namespace cmkfs::keys
