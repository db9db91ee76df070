// Keyring (store/keyring.h): the mechanism that holds the keys only while
// unlocked and refuses operations otherwise (the state and its reason are
// key custody's: tests/unit/custody).
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <exception>
#include <string>
#include <thread>

#include "format/key_schedule.h"
#include "store/keyring.h"
#include "util/errors.h"

namespace format = cmkfs::format;
namespace store = cmkfs::store;
using namespace std::chrono_literals;

namespace {

format::VolumeKeys keys_filled(uint8_t byte) {
    cmkfs::crypto::SecureBytes bytes(format::kVolumeKeySize);
    for (auto &b : bytes.span()) b = byte;
    return format::VolumeKeys(cmkfs::crypto::VolumeKey(std::move(bytes)));
}

bool same(std::span<const uint8_t> a, std::span<const uint8_t> b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin());
}

}  // namespace

TEST_CASE("a new keyring holds no keys and refuses access with EACCES", "[store][keyring]") {
    store::Keyring ring;
    CHECK_THROWS_AS(ring.access(), cmkfs::LockedError);
    try {
        (void)ring.access();
    } catch (const cmkfs::LockedError &e) {
        CHECK(e.error_number() == EACCES);
    }
    CHECK_FALSE(ring.lock());  // nothing to wipe
}

TEST_CASE("unlock, lock, unlock again", "[store][keyring]") {
    store::Keyring ring;
    ring.unlock(keys_filled(1));
    {
        auto access = ring.access();
        auto expected = keys_filled(1);
        CHECK(same(access.keys().volume_key().bytes(), expected.volume_key().bytes()));
    }

    CHECK(ring.lock());
    CHECK_THROWS_AS(ring.access(), cmkfs::LockedError);
    CHECK_FALSE(ring.lock());  // already locked

    ring.unlock(keys_filled(2));
    auto access = ring.access();
    auto expected = keys_filled(2);
    CHECK(same(access.keys().volume_key().bytes(), expected.volume_key().bytes()));
}

TEST_CASE("content keys are cached per file id and dropped on lock", "[store][keyring]") {
    store::Keyring ring;
    ring.unlock(keys_filled(1));
    format::FileId a{}, b{};
    b[0] = 1;
    {
        auto access = ring.access();
        auto ka = access.content_key(a);
        CHECK(access.content_key(a) == ka);  // the same cached object
        auto kb = access.content_key(b);
        CHECK(kb != ka);
        auto expected = access.keys().content_key(a);
        CHECK(same(ka->bytes(), expected.bytes()));
    }
    ring.lock();
    ring.unlock(keys_filled(2));
    auto access = ring.access();
    auto fresh = access.content_key(a);
    auto expected = keys_filled(2).content_key(a);
    CHECK(same(fresh->bytes(), expected.bytes()));  // not the old volume's cached key
}

TEST_CASE("lock waits for an in-flight access and new accesses fail fast", "[store][keyring]") {
    store::Keyring ring;
    ring.unlock(keys_filled(1));

    // Catch2 v2 assertions are not thread-safe: the threads only record what
    // they saw, the main thread asserts after joining them.
    std::atomic<bool> holding{false}, release{false}, released{false};
    size_t key_size_after_release = 0;
    std::string op_error;
    std::thread op([&] {
        try {
            auto access = ring.access();
            holding = true;
            while (!release) std::this_thread::sleep_for(1ms);
            // Still usable: lock() has not wiped anything under us.
            format::FileId id{};
            auto key = access.content_key(id);
            key_size_after_release = key->size();
            // Set while `access` still holds the keyring: lock() may return
            // as soon as its destructor runs, which is the next step.
            released = true;
        } catch (const std::exception &e) {
            op_error = e.what();
            holding = true;  // do not leave the main thread waiting
            released = true;
        }
    });
    while (!holding) std::this_thread::sleep_for(1ms);

    std::atomic<bool> lock_returned{false};
    bool released_before_lock_returned = false;
    std::thread locker([&] {
        ring.lock();
        released_before_lock_returned = released.load();
        lock_returned = true;
    });

    // While the lock is pending, a new operation is refused instead of queued.
    bool refused = false;
    for (auto deadline = std::chrono::steady_clock::now() + 10s;
         !refused && std::chrono::steady_clock::now() < deadline;) {
        try {
            (void)ring.access();
            std::this_thread::sleep_for(1ms);
        } catch (const cmkfs::LockedError &) {
            refused = true;
        }
    }
    CHECK(refused);
    std::this_thread::sleep_for(50ms);
    CHECK_FALSE(lock_returned);  // still waiting for the in-flight access

    release = true;
    op.join();
    locker.join();
    INFO("the in-flight access threw: " << op_error);
    CHECK(op_error.empty());
    CHECK(key_size_after_release == 32);
    CHECK(released_before_lock_returned);
    CHECK_THROWS_AS(ring.access(), cmkfs::LockedError);
}

TEST_CASE("refuse_all_but_writeback grants only write-back access until the lock wipes", "[store][keyring]") {
    store::Keyring ring;
    ring.unlock(keys_filled(3));
    CHECK_NOTHROW(ring.access());

    // The before-wipe drain (fs/writeback_drain.h): the keys are still there,
    // only the kernel's WRITEs of pages it already holds get them.
    ring.refuse_all_but_writeback();
    CHECK_THROWS_AS(ring.access(), cmkfs::LockedError);
    {
        auto access = ring.access_for_writeback();  // throws if it is not granted
        auto expected = keys_filled(3);
        CHECK(same(access.keys().volume_key().bytes(), expected.volume_key().bytes()));
    }

    CHECK(ring.lock());
    CHECK_THROWS_AS(ring.access(), cmkfs::LockedError);
    CHECK_THROWS_AS(ring.access_for_writeback(), cmkfs::LockedError);

    // Unlocked again: every access is granted (the gate ended with the lock).
    ring.unlock(keys_filled(4));
    CHECK_NOTHROW(ring.access());
    CHECK_NOTHROW(ring.access_for_writeback());

    // A drain whose lock never came: the next unlock ends the gate too.
    ring.refuse_all_but_writeback();
    CHECK_THROWS_AS(ring.access(), cmkfs::LockedError);
    ring.unlock(keys_filled(5));
    CHECK_NOTHROW(ring.access());
}
