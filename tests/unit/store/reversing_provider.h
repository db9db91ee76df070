// An in-process key provider for the store unit tests: it "wraps" by
// prefixing the key id and a zero byte and reversing the bytes, enough to tell
// keys apart without a vault. Its unwrap can be told to misbehave
// (corrupt_unwrap), a failure no honest provider produces on purpose.
#pragma once

#include <algorithm>
#include <cstdint>
#include <iterator>
#include <span>
#include <string>
#include <vector>

#include "crypto/secure_bytes.h"
#include "keys/key_provider.h"

namespace cmkfs::test {

class ReversingProvider final : public keys::KeyProvider {
public:
    bool corrupt_unwrap = false;
    const std::string &name() const override { return name_; }
    keys::WrapResult wrap(const keys::KeyRef &key, std::span<const uint8_t> plain) override {
        std::vector<uint8_t> out(key.key_id.begin(), key.key_id.end());
        out.push_back(0);
        out.insert(out.end(), plain.rbegin(), plain.rend());
        return {out, key.key_id + "/v1"};
    }
    crypto::SecureBytes unwrap(const keys::KeyRef &, std::span<const uint8_t> wrapped) override {
        auto zero = std::find(wrapped.begin(), wrapped.end(), uint8_t{0});
        std::vector<uint8_t> plain(std::reverse_iterator(wrapped.end()), std::reverse_iterator(zero + 1));
        if (corrupt_unwrap) plain[0] ^= 1;
        return crypto::SecureBytes(std::span<const uint8_t>(plain));
    }
    std::string check(const keys::KeyRef &key) override { return key.key_id + "/v1"; }

private:
    std::string name_ = "reversing";
};

}  // namespace cmkfs::test
