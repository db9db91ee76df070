// The provider SDK every in-tree plugin and the skeleton use: guarded() turns
// every exception into a status and a message and lets none escape; the
// result helpers cut to the ABI's sizes; SecretBuffer takes the host's locked
// heap when offered (own locked pages otherwise), wipes what it frees and
// never leaves a copy behind when it grows.
#include <catch2/catch.hpp>
#include <cmkfs/provider_sdk.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <map>
#include <new>
#include <stdexcept>
#include <string>
#include <vector>

namespace sdk = cmkfs::sdk;

namespace {

// A host that records its log and hands out heap memory it can inspect on free.
struct RecordingHost {
    std::vector<std::string> lines;
    std::map<void *, size_t> live;  // allocations not yet freed
    size_t allocations = 0;
    bool freed_dirty = false;  // a block came back with a non-zero byte

    cmkfs_host host() {
        cmkfs_host h{};
        h.struct_size = sizeof h;
        h.abi_version = CMKFS_PROVIDER_ABI_VERSION;
        h.host_ctx = this;
        h.log = [](void *ctx, cmkfs_log_level, const char *m) { static_cast<RecordingHost *>(ctx)->lines.push_back(m); };
        h.secure_alloc = [](void *ctx, size_t n) -> void * {
            auto *self = static_cast<RecordingHost *>(ctx);
            void *p = std::calloc(1, n);
            self->live[p] = n;
            ++self->allocations;
            return p;
        };
        h.secure_free = [](void *ctx, void *p, size_t n) {
            auto *self = static_cast<RecordingHost *>(ctx);
            const auto *bytes = static_cast<const uint8_t *>(p);
            for (size_t i = 0; i < n; ++i)
                if (bytes[i] != 0) self->freed_dirty = true;
            if (self->live.count(p) == 0 || self->live[p] != n) self->freed_dirty = true;  // wrong size
            self->live.erase(p);
            std::free(p);
        };
        return h;
    }
};

long locked_kib() {
    std::ifstream status("/proc/self/status");
    std::string line;
    while (std::getline(status, line))
        if (line.rfind("VmLck:", 0) == 0) return std::stol(line.substr(6));
    return -1;
}

struct OtherError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

}  // namespace

TEST_CASE("guarded: a ProviderError keeps its class and reason and is logged at debug", "[sdk]") {
    RecordingHost rec;
    const cmkfs_host host = rec.host();
    cmkfs_result result{};
    const sdk::Fence fence{&host, "demo provider: ", "", ""};
    const cmkfs_status st = sdk::guarded(fence, "unwrap", &result, []() -> cmkfs_status {
        throw sdk::ProviderError(CMKFS_ERR_DENIED, "identity may not unwrapKey");
    });
    CHECK(st == CMKFS_ERR_DENIED);
    CHECK(std::string(result.message) == "identity may not unwrapKey");
    REQUIRE(rec.lines.size() == 1);
    CHECK(rec.lines[0] == "demo provider: unwrap: identity may not unwrapKey");
}

TEST_CASE("guarded: unexpected exceptions are INTERNAL with a message, none escapes", "[sdk]") {
    cmkfs_result result{};
    const sdk::Fence fence{nullptr, "", "exec: ", "azure-keyvault: "};
    CHECK(sdk::guarded(fence, "wrap", &result, []() -> cmkfs_status { throw std::logic_error("broken"); }) ==
          CMKFS_ERR_INTERNAL);
    CHECK(std::string(result.message) == "exec: azure-keyvault: broken");
    CHECK(sdk::guarded(fence, "wrap", &result, []() -> cmkfs_status { throw std::bad_alloc(); }) ==
          CMKFS_ERR_INTERNAL);
    CHECK(std::string(result.message) == "exec: azure-keyvault: out of memory");
    CHECK(sdk::guarded(fence, "wrap", &result, []() -> cmkfs_status { throw 42; }) == CMKFS_ERR_INTERNAL);
    CHECK(std::string(result.message) == "exec: azure-keyvault: unknown error");
    CHECK(sdk::guarded(fence, "wrap", &result, [] { return CMKFS_OK; }) == CMKFS_OK);
    // A null result is allowed: the status still comes back.
    CHECK(sdk::guarded(fence, "wrap", nullptr, []() -> cmkfs_status { throw std::runtime_error("x"); }) ==
          CMKFS_ERR_INTERNAL);
}

TEST_CASE("guarded: a provider's own error type is classified by the given function", "[sdk]") {
    cmkfs_result result{};
    const sdk::Fence fence{nullptr, "", "", "unexpected: "};
    const cmkfs_status st = sdk::guarded<OtherError>(
        fence, "open", &result, []() -> cmkfs_status { throw OtherError("bad option"); },
        [](const OtherError &) { return CMKFS_ERR_INVALID; });
    CHECK(st == CMKFS_ERR_INVALID);
    CHECK(std::string(result.message) == "bad option");  // expected: no "unexpected" prefix
}

TEST_CASE("set_message and set_kid cut to the ABI's sizes and always terminate", "[sdk]") {
    cmkfs_result result;
    std::memset(&result, 'x', sizeof result);
    const std::string long_text(CMKFS_MESSAGE_MAX + 50, 'm');
    sdk::set_message(&result, long_text);
    CHECK(std::string(result.message) == long_text.substr(0, CMKFS_MESSAGE_MAX - 1));
    const std::string long_kid(CMKFS_KEY_ID_MAX, 'k');
    CHECK_FALSE(sdk::kid_fits(long_kid));
    CHECK(sdk::kid_fits(long_kid.substr(1)));
    sdk::set_kid(&result, long_kid);
    CHECK(std::string(result.versioned_key_id) == long_kid.substr(0, CMKFS_KEY_ID_MAX - 1));
    sdk::set_kid(&result, "");
    CHECK(std::string(result.versioned_key_id).empty());
    sdk::set_message(nullptr, "ignored");
    sdk::set_kid(nullptr, "ignored");
}

TEST_CASE("deliver copies or asks for the size needed", "[sdk]") {
    const uint8_t data[5] = {1, 2, 3, 4, 5};
    uint8_t out[8] = {};
    size_t len = 4;
    cmkfs_result result{};
    CHECK(sdk::deliver(data, sizeof data, out, &len, &result, "wrapped key") == CMKFS_ERR_BUFFER_TOO_SMALL);
    CHECK(len == 5);
    CHECK(std::string(result.message) == "wrapped key needs 5 bytes");
    CHECK(out[0] == 0);  // nothing written into a buffer too small
    len = sizeof out;
    CHECK(sdk::deliver(data, sizeof data, out, &len, &result, "wrapped key") == CMKFS_OK);
    CHECK(len == 5);
    CHECK(std::memcmp(out, data, 5) == 0);
    len = 0;
    CHECK(sdk::deliver(data, sizeof data, nullptr, &len, &result, "x") == CMKFS_ERR_BUFFER_TOO_SMALL);
}

TEST_CASE("copy_host zero-extends a host table shorter than ours", "[sdk]") {
    RecordingHost rec;
    cmkfs_host full = rec.host();
    full.struct_size = offsetof(cmkfs_host, secure_alloc);  // an older host without the allocator
    const cmkfs_host copy = sdk::copy_host(&full);
    CHECK(copy.log == full.log);
    CHECK(copy.secure_alloc == nullptr);
    CHECK(copy.secure_free == nullptr);
    const cmkfs_host none = sdk::copy_host(nullptr);
    CHECK(none.log == nullptr);
}

TEST_CASE("SecretBuffer uses the host's heap and hands every block back wiped", "[sdk][secret]") {
    RecordingHost rec;
    const cmkfs_host host = rec.host();
    {
        sdk::SecretBuffer buf(&host);
        const std::string secret(40, 's');
        buf.append(secret);
        for (int i = 0; i < 200; ++i) buf.push_back('t');  // grows twice: the old blocks go back wiped
        CHECK(buf.size() == 240);
        CHECK(buf.view().substr(0, 40) == secret);
        CHECK(buf.c_str()[240] == '\0');
        buf.resize_down(10);
        CHECK(buf.view() == std::string(10, 's'));
        CHECK(buf.data()[10] == 0);  // the cut tail is wiped at once
        sdk::SecretBuffer moved(std::move(buf));
        CHECK(buf.empty());
        CHECK(moved.view() == std::string(10, 's'));
        moved.clear();
        CHECK(moved.empty());
    }
    CHECK(rec.allocations >= 3);
    CHECK(rec.live.empty());
    CHECK_FALSE(rec.freed_dirty);
}

TEST_CASE("SecretBuffer without a host heap takes locked pages of its own", "[sdk][secret]") {
    const long page = ::sysconf(_SC_PAGESIZE);
    const long before = locked_kib();
    REQUIRE(before >= 0);
    {
        sdk::SecretBuffer buf(nullptr, 1 << 20);
        CHECK(reinterpret_cast<uintptr_t>(buf.data()) % static_cast<uintptr_t>(page) == 0);
        CHECK(buf.data()[0] == 0);
        CHECK(buf.data()[(1 << 20) - 1] == 0);
        // The test runs as root (CAP_IPC_LOCK): mlock cannot fail here.
        REQUIRE(::geteuid() == 0);
#if !defined(__SANITIZE_ADDRESS__)
        // AddressSanitizer's mlock interceptor does nothing ("ASan ignores
        // mlock"), so VmLck is checked in the normal tree only.
        CHECK(locked_kib() >= before + 1024);
#endif
    }
    CHECK(locked_kib() == before);
    // The allocator flavour (for a JSON parser's strings) is the same memory.
    sdk::SecretAllocator<char> alloc;
    char *p = alloc.allocate(3);
    CHECK(reinterpret_cast<uintptr_t>(p) % static_cast<uintptr_t>(page) == 0);
    alloc.deallocate(p, 3);
}
