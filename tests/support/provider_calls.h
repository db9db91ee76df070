// Helpers for tests that drive a key provider through keys::load_provider:
// the error a call that must fail throws (or a plugin that must not load),
// and byte comparison of key material.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <span>
#include <string>

#include <catch2/catch.hpp>

#include "keys/key_provider.h"

namespace cmkfs::test {

inline bool same(std::span<const uint8_t> a, std::span<const uint8_t> b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin());
}

// The ProviderError of a provider call that must fail; the test fails when
// the call succeeds.
template <class Fn>
keys::ProviderError failure(Fn &&fn) {
    try {
        fn();
    } catch (const keys::ProviderError &e) {
        return e;
    }
    FAIL("provider call succeeded");
    return keys::ProviderError(keys::ProviderStatus::internal, "unreachable");
}

// The PluginLoadError message of fn, or "" when it does not throw one.
inline std::string load_error(const std::function<void()> &fn) {
    try {
        fn();
    } catch (const keys::PluginLoadError &e) {
        return e.what();
    }
    return "";
}

}  // namespace cmkfs::test
