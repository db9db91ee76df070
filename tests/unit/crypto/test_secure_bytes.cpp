// SecureBytes ownership (crypto/secure_bytes.h) and random_bytes (crypto/random.h).
#include <catch2/catch.hpp>
#include <openssl/crypto.h>

#include <algorithm>
#include <type_traits>
#include <utility>

#include "crypto/random.h"
#include "crypto/secure_bytes.h"
#include "unit/crypto/hex.h"

namespace crypto = cmkfs::crypto;
using cmkfs::test::Bytes;

namespace {
crypto::SecureBytes filled(size_t size, uint8_t first) {
    crypto::SecureBytes b(size);
    for (size_t i = 0; i < size; ++i) b.data()[i] = static_cast<uint8_t>(first + i);
    return b;
}
Bytes contents(const crypto::SecureBytes &b) { return Bytes(b.span().begin(), b.span().end()); }
}  // namespace

static_assert(!std::is_copy_constructible_v<crypto::SecureBytes>);
static_assert(!std::is_copy_assignable_v<crypto::SecureBytes>);
static_assert(std::is_nothrow_move_constructible_v<crypto::SecureBytes>);
static_assert(std::is_nothrow_move_assignable_v<crypto::SecureBytes>);
static_assert(!std::is_copy_constructible_v<crypto::VolumeKey>);

TEST_CASE("SecureBytes starts zeroed and copies from a span", "[secure_bytes]") {
    crypto::SecureBytes zero(48);
    CHECK(zero.size() == 48);
    CHECK_FALSE(zero.empty());
    CHECK(contents(zero) == Bytes(48, 0));

    const Bytes src{1, 2, 3, 4};
    crypto::SecureBytes copy(std::span<const uint8_t>{src});
    CHECK(contents(copy) == src);
    CHECK(copy.data() != src.data());

    crypto::SecureBytes none;
    CHECK(none.empty());
    CHECK(none.data() == nullptr);
    CHECK(crypto::SecureBytes(size_t{0}).empty());
}

TEST_CASE("SecureBytes lives on the OpenSSL secure heap when it is set up", "[secure_bytes]") {
    // catch_main calls init_secure_heap(); it may fail without RLIMIT_MEMLOCK.
    crypto::SecureBytes b(32);
    if (CRYPTO_secure_malloc_initialized()) {
        CHECK(CRYPTO_secure_allocated(b.data()) == 1);
    } else {
        WARN("secure heap not initialised here; allocation check skipped");
    }
}

TEST_CASE("SecureBytes moves ownership and leaves the source empty", "[secure_bytes]") {
    crypto::SecureBytes a = filled(32, 7);
    const uint8_t *ptr = a.data();
    const Bytes expected = contents(a);

    SECTION("move construction") {
        crypto::SecureBytes b(std::move(a));
        CHECK(b.data() == ptr);
        CHECK(contents(b) == expected);
        CHECK(a.empty());  // NOLINT(bugprone-use-after-move): the moved-from state is specified
        CHECK(a.data() == nullptr);
    }
    SECTION("move assignment over an existing buffer") {
        crypto::SecureBytes b = filled(16, 100);
        b = std::move(a);
        CHECK(b.data() == ptr);
        CHECK(contents(b) == expected);
        CHECK(a.empty());  // NOLINT(bugprone-use-after-move)
        CHECK(a.size() == 0);
    }
    SECTION("self move assignment keeps the contents") {
        crypto::SecureBytes &alias = a;
        a = std::move(alias);
        CHECK(contents(a) == expected);
    }
}

TEST_CASE("SecureBytes::wipe empties and can be repeated", "[secure_bytes]") {
    crypto::SecureBytes a = filled(64, 1);
    a.wipe();
    CHECK(a.empty());
    CHECK(a.size() == 0);
    CHECK(a.data() == nullptr);
    CHECK(a.span().empty());
    a.wipe();
    CHECK(a.empty());
}

TEST_CASE("SecureBytes::clone is an independent copy", "[secure_bytes]") {
    crypto::SecureBytes a = filled(32, 9);
    crypto::SecureBytes b = a.clone();
    CHECK(b.data() != a.data());
    CHECK(contents(b) == contents(a));
    b.data()[0] ^= 0xff;
    CHECK(a.data()[0] == 9);
    b.wipe();
    CHECK(contents(a) == contents(filled(32, 9)));
    CHECK(crypto::SecureBytes().clone().empty());
}

TEST_CASE("Key<Tag> clones, wipes and moves like its bytes", "[secure_bytes]") {
    crypto::ContentKey key(filled(32, 3));
    crypto::ContentKey copy = key.clone();
    CHECK(copy.size() == 32);
    CHECK(copy.bytes().data() != key.bytes().data());
    CHECK(std::equal(copy.bytes().begin(), copy.bytes().end(), key.bytes().begin()));
    key.wipe();
    CHECK(key.empty());
    CHECK(copy.size() == 32);
    crypto::ContentKey moved(std::move(copy));
    CHECK(moved.size() == 32);
    CHECK(copy.empty());  // NOLINT(bugprone-use-after-move)
}

TEST_CASE("random_bytes fills the buffer and does not repeat", "[random]") {
    Bytes a(64), b(64);
    crypto::random_bytes(a);
    crypto::random_bytes(b);
    CHECK(a != b);
    CHECK(a != Bytes(64, 0));
    crypto::random_bytes(std::span<uint8_t>{});  // empty is a no-op
}
