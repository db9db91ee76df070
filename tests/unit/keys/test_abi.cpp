// The plugin ABI is pinned: every struct size and member offset of
// include/cmkfs/provider.h (as compiled by C and by C++, which must agree),
// every enum value and constant. A change here breaks every provider built
// against an earlier header: it needs a new CMKFS_PROVIDER_ABI_VERSION.
#include <catch2/catch.hpp>

#include <cstddef>
#include <algorithm>
#include <cstring>
#include <vector>
#include <map>
#include <string>

#include "abi_layout.h"
#include "cmkfs/provider.h"
#include "keys/key_provider.h"
#include "support/process.h"

namespace {

struct Layout {
    size_t offset;
    size_t size;
    bool operator==(const Layout &o) const { return offset == o.offset && size == o.size; }
};

#define FIELD(type, member) {#type "." #member, {offsetof(type, member), sizeof(((type *)nullptr)->member)}}
#define WHOLE(type) {#type, {0, sizeof(type)}}

std::map<std::string, Layout> cxx_layout() {
    return {
        WHOLE(cmkfs_result),
        FIELD(cmkfs_result, message),
        FIELD(cmkfs_result, versioned_key_id),
        WHOLE(cmkfs_host),
        FIELD(cmkfs_host, struct_size),
        FIELD(cmkfs_host, abi_version),
        FIELD(cmkfs_host, host_ctx),
        FIELD(cmkfs_host, log),
        FIELD(cmkfs_host, secure_alloc),
        FIELD(cmkfs_host, secure_free),
        WHOLE(cmkfs_key_ref),
        FIELD(cmkfs_key_ref, key_id),
        FIELD(cmkfs_key_ref, identity),
        WHOLE(cmkfs_provider),
        FIELD(cmkfs_provider, struct_size),
        FIELD(cmkfs_provider, abi_version),
        FIELD(cmkfs_provider, name),
        FIELD(cmkfs_provider, description),
        FIELD(cmkfs_provider, open),
        FIELD(cmkfs_provider, close),
        FIELD(cmkfs_provider, wrap),
        FIELD(cmkfs_provider, unwrap),
        FIELD(cmkfs_provider, check),
        WHOLE(cmkfs_status),
        WHOLE(cmkfs_log_level),
    };
}

// ABI version 1 on LP64 Linux (x86_64, aarch64): {offset, size}.
const std::map<std::string, Layout> kPinnedLp64 = {
    {"cmkfs_result", {0, 1536}},
    {"cmkfs_result.message", {0, 512}},
    {"cmkfs_result.versioned_key_id", {512, 1024}},
    {"cmkfs_host", {0, 40}},
    {"cmkfs_host.struct_size", {0, 4}},
    {"cmkfs_host.abi_version", {4, 4}},
    {"cmkfs_host.host_ctx", {8, 8}},
    {"cmkfs_host.log", {16, 8}},
    {"cmkfs_host.secure_alloc", {24, 8}},
    {"cmkfs_host.secure_free", {32, 8}},
    {"cmkfs_key_ref", {0, 16}},
    {"cmkfs_key_ref.key_id", {0, 8}},
    {"cmkfs_key_ref.identity", {8, 8}},
    {"cmkfs_provider", {0, 64}},
    {"cmkfs_provider.struct_size", {0, 4}},
    {"cmkfs_provider.abi_version", {4, 4}},
    {"cmkfs_provider.name", {8, 8}},
    {"cmkfs_provider.description", {16, 8}},
    {"cmkfs_provider.open", {24, 8}},
    {"cmkfs_provider.close", {32, 8}},
    {"cmkfs_provider.wrap", {40, 8}},
    {"cmkfs_provider.unwrap", {48, 8}},
    {"cmkfs_provider.check", {56, 8}},
    {"cmkfs_status", {0, 4}},
    {"cmkfs_log_level", {0, 4}},
};

std::map<std::string, Layout> c_layout() {
    size_t count = 0;
    const cmkfs_abi_field *fields = cmkfs_abi_layout_c(&count);
    std::map<std::string, Layout> out;
    for (size_t i = 0; i < count; ++i) out[fields[i].name] = {fields[i].offset, fields[i].size};
    return out;
}

}  // namespace

TEST_CASE("ABI: C and C++ lay out every provider.h struct identically", "[keys][abi]") {
    const auto c = c_layout();
    const auto cxx = cxx_layout();
    REQUIRE(c.size() == cxx.size());
    for (const auto &[name, layout] : cxx) {
        INFO(name);
        REQUIRE(c.count(name) == 1);
        CHECK(c.at(name).offset == layout.offset);
        CHECK(c.at(name).size == layout.size);
    }
}

TEST_CASE("ABI: struct sizes and offsets of version 1 are pinned (LP64)", "[keys][abi]") {
    REQUIRE(sizeof(void *) == 8);  // the pinned table is for LP64 Linux
    const auto cxx = cxx_layout();
    REQUIRE(cxx.size() == kPinnedLp64.size());
    for (const auto &[name, pinned] : kPinnedLp64) {
        INFO(name);
        REQUIRE(cxx.count(name) == 1);
        CHECK(cxx.at(name).offset == pinned.offset);
        CHECK(cxx.at(name).size == pinned.size);
    }
}

TEST_CASE("ABI: enum values, constants and the entry symbol are pinned", "[keys][abi]") {
    CHECK(CMKFS_PROVIDER_ABI_VERSION == 1u);
    CHECK(std::string(CMKFS_PROVIDER_ENTRY_SYMBOL) == "cmkfs_provider_entry");
    CHECK(CMKFS_MESSAGE_MAX == 512);
    CHECK(CMKFS_KEY_ID_MAX == 1024);

    CHECK(CMKFS_OK == 0);
    CHECK(CMKFS_ERR_DENIED == 1);
    CHECK(CMKFS_ERR_NOT_FOUND == 2);
    CHECK(CMKFS_ERR_DISABLED == 3);
    CHECK(CMKFS_ERR_UNAVAILABLE == 4);
    CHECK(CMKFS_ERR_INVALID == 5);
    CHECK(CMKFS_ERR_INTERNAL == 6);
    CHECK(CMKFS_ERR_BUFFER_TOO_SMALL == 7);

    CHECK(CMKFS_LOG_DEBUG == 0);
    CHECK(CMKFS_LOG_INFO == 1);
    CHECK(CMKFS_LOG_WARN == 2);
    CHECK(CMKFS_LOG_ERROR == 3);

    // The entry point's type: one host pointer in, one table pointer out.
    cmkfs_provider_entry_fn entry = nullptr;
    const cmkfs_provider *(*expected)(const cmkfs_host *) = entry;
    CHECK(expected == nullptr);
}

TEST_CASE("ABI: the skeleton builds with its README command from the header alone, and loads",
          "[keys][abi][examples]") {
    // Exactly what examples/provider-skeleton/README.md tells a provider
    // author to run, plus -Werror: nothing of cmkfs but include/cmkfs/ (the
    // ABI and the header-only provider SDK), no cmkfs library.
    cmkfs::test::TempDir tmp;
    const std::string src = cmkfs::test::source_dir();
    const std::string so = tmp / "libcmkfs-provider-skeleton.so";
    auto cc = cmkfs::test::run({"c++", "-std=c++17", "-Wall", "-Wextra", "-Werror", "-shared", "-fPIC",
                                "-fvisibility=hidden", "-I" + src + "/include", "-o", so,
                                src + "/examples/provider-skeleton/skeleton.cpp"});
    INFO(cc.err);
    REQUIRE(cc.exit_code == 0);
    // Exactly one exported symbol: the entry point.
    auto nm = cmkfs::test::run({"nm", "-D", "--defined-only", so});
    REQUIRE(nm.exit_code == 0);
    CHECK(nm.out.find(" T cmkfs_provider_entry") != std::string::npos);
    CHECK(nm.out.find(" T sk_") == std::string::npos);

    auto p = cmkfs::keys::load_provider(so, {"pad=0x21"});
    CHECK(p->name() == "skeleton");
    const std::vector<uint8_t> plain{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    auto w = p->wrap({"skeleton:k", "me"}, plain);
    CHECK(w.wrapped != plain);
    auto back = p->unwrap({"skeleton:k", "me"}, w.wrapped);
    REQUIRE(back.size() == plain.size());
    CHECK(std::equal(plain.begin(), plain.end(), back.data()));
}
