// Extended attributes (format/xattr_codec.h): user.* names under AES-SIV with
// AAD "xattr", values nonce || GCM || tag with AAD "xattr:" + plaintext name.
#include <catch2/catch.hpp>

#include <string>

#include "crypto/encoding.h"
#include "format/name_codec.h"
#include "format/xattr_codec.h"
#include "unit/format/format_test_util.h"

namespace format = cmkfs::format;

TEST_CASE("xattr names round trip and stay in user.*", "[format][xattr]") {
    auto keys = cmkfs::test::random_volume_keys();
    for (std::string name : {std::string("user.a"), std::string("user.mime_type"),
                             std::string("user.") + std::string(200, 'z')}) {
        std::string backing = format::encrypt_xattr_name(keys.names(), name);
        INFO(name << " -> " << backing);
        CHECK(backing.starts_with("user."));
        CHECK(backing != name);
        CHECK(format::encrypt_xattr_name(keys.names(), name) == backing);  // deterministic
        CHECK(format::decrypt_xattr_name(keys.names(), backing) == name);
    }
}

TEST_CASE("xattr names: tampered, foreign or other-namespace names do not decrypt", "[format][xattr]") {
    auto keys = cmkfs::test::random_volume_keys();
    auto other = cmkfs::test::random_volume_keys();
    std::string backing = format::encrypt_xattr_name(keys.names(), "user.comment");
    CHECK_FALSE(format::decrypt_xattr_name(other.names(), backing));
    std::string bad = backing;
    bad.back() = bad.back() == 'A' ? 'B' : 'A';
    CHECK_FALSE(format::decrypt_xattr_name(keys.names(), bad));
    CHECK_FALSE(format::decrypt_xattr_name(keys.names(), "security.selinux"));
    CHECK_FALSE(format::decrypt_xattr_name(keys.names(), "trusted." + backing.substr(5)));
    CHECK_FALSE(format::decrypt_xattr_name(keys.names(), "user.plain"));
    CHECK_FALSE(format::decrypt_xattr_name(keys.names(), "user."));
}

TEST_CASE("format 2: xattr values are bound to their owner's id", "[format][xattr]") {
    auto keys = cmkfs::test::random_volume_keys();
    const std::vector<uint8_t> file_a(16, 0xa1), file_b(16, 0xb2);
    const std::string sealed = format::seal_xattr_value(keys.meta(), "user.k", "value", file_a);
    CHECK(format::open_xattr_value(keys.meta(), "user.k", sealed, file_a) == "value");
    // Copied to another file (or directory): another id.
    CHECK_FALSE(format::open_xattr_value(keys.meta(), "user.k", sealed, file_b));
    // Nor does it open as a format-1 value, or a format-1 value as this one.
    CHECK_FALSE(format::open_xattr_value(keys.meta(), "user.k", sealed, {}));
    const std::string v1 = format::seal_xattr_value(keys.meta(), "user.k", "value", {});
    CHECK_FALSE(format::open_xattr_value(keys.meta(), "user.k", v1, file_a));
    // The name stays bound too.
    CHECK_FALSE(format::open_xattr_value(keys.meta(), "user.kk", sealed, file_a));
}

TEST_CASE("xattr values round trip, bound to the attribute name", "[format][xattr]") {
    auto keys = cmkfs::test::random_volume_keys();
    for (std::string value : {std::string(), std::string("v"), std::string("bin\0ary\xff", 8),
                              std::string(65000, 'x')}) {
        INFO("value of " << value.size() << " bytes");
        std::string sealed = format::seal_xattr_value(keys.meta(), "user.k", value, {});
        CHECK(sealed.size() == value.size() + format::kXattrValueOverhead);
        CHECK(format::open_xattr_value(keys.meta(), "user.k", sealed, {}) == value);
        CHECK(format::seal_xattr_value(keys.meta(), "user.k", value, {}) != sealed);  // fresh nonce
        CHECK_FALSE(format::open_xattr_value(keys.meta(), "user.other", sealed, {}));
        for (size_t pos : {size_t{0}, sealed.size() / 2, sealed.size() - 1}) {
            std::string bad = sealed;
            bad[pos] ^= 0x04;
            CHECK_FALSE(format::open_xattr_value(keys.meta(), "user.k", bad, {}));
        }
        CHECK_FALSE(format::open_xattr_value(keys.meta(), "user.k", sealed.substr(0, sealed.size() - 1), {}));
    }
    CHECK_FALSE(format::open_xattr_value(keys.meta(), "user.k", std::string(27, '\0'), {}));
    // Xattr values and symlink targets share the metadata key; their AADs
    // keep one from being replayed as the other.
    std::string as_symlink = cmkfs::format::seal_bytes(keys.meta(), "symlink", "v");
    CHECK_FALSE(format::open_xattr_value(keys.meta(), "user.k", as_symlink, {}));
}
