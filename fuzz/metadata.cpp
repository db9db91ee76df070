// Symlink targets and xattrs as the backing directory holds them. A target
// is base64url(nonce || AES-GCM || tag) under the metadata key, bound in
// format 2 to its place (parent directory id + plaintext name, place_codec);
// an xattr name is "user.<base64url(AES-SIV)>"; an xattr value is raw
// nonce || GCM || tag bound to the plaintext name and, in format 2, to the
// owner's id. Opening any bytes must refuse or authenticate, for both
// versions; sealing the input and opening it must give it back, and in
// format 2 opening it at another place or for another owner must fail.
#include <cstdint>
#include <string>

#include "format/place_codec.h"
#include "format/xattr_codec.h"
#include "fuzz_support.h"

using namespace cmkfs;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const std::string_view text = fuzz::as_text(data, size);
    const auto &keys = fuzz::test_keys();
    const format::Place place = format::Place::in(fuzz::test_parent(), fuzz::kTestName);
    const format::Place other_name = format::Place::in(fuzz::test_parent(), "other");
    format::DirId other_parent_id = fuzz::test_parent();
    other_parent_id[0] ^= 1;
    const format::Place other_parent = format::Place::in(other_parent_id, fuzz::kTestName);
    const format::FileId owner = fuzz::test_file_id();
    format::FileId other_owner = owner;
    other_owner[15] ^= 1;

    for (const uint32_t version : fuzz::kFormatVersions) {
        const bool v2 = format::binds_place(version);
        const std::span<const uint8_t> own = v2 ? std::span<const uint8_t>(owner) : std::span<const uint8_t>();

        // As found on disk (readlink, getxattr).
        (void)format::open_symlink_target(version, keys.meta(), place, text);
        (void)format::open_xattr_value(keys.meta(), "user.a", text, own);

        // As written by cmkfs, then read back.
        const std::string target = format::seal_symlink_target(version, keys.meta(), place, text);
        auto opened = format::open_symlink_target(version, keys.meta(), place, target);
        FUZZ_CHECK(opened && *opened == text);
        // Format 1 binds nothing; format 2 refuses the target anywhere else.
        FUZZ_CHECK(format::open_symlink_target(version, keys.meta(), other_name, target).has_value() == !v2);
        FUZZ_CHECK(format::open_symlink_target(version, keys.meta(), other_parent, target).has_value() == !v2);

        const std::string value = format::seal_xattr_value(keys.meta(), "user.a", text, own);
        auto value_back = format::open_xattr_value(keys.meta(), "user.a", value, own);
        FUZZ_CHECK(value_back && *value_back == text);
        FUZZ_CHECK(!format::open_xattr_value(keys.meta(), "user.b", value, own));
        if (v2) {
            FUZZ_CHECK(!format::open_xattr_value(keys.meta(), "user.a", value, other_owner));
            FUZZ_CHECK(!format::open_xattr_value(keys.meta(), "user.a", value, {}));
        }
    }

    // Names of the attributes (listxattr): the same in both versions.
    if (auto name = format::decrypt_xattr_name(keys.names(), text))
        FUZZ_CHECK(name->starts_with(format::kUserXattrPrefix));
    // The file system refuses "user." alone before encrypting (xattr_ops.cpp).
    if (!text.empty()) {
        const std::string plain_name = std::string(format::kUserXattrPrefix) + std::string(text);
        const std::string backing_name = format::encrypt_xattr_name(keys.names(), plain_name);
        auto name_back = format::decrypt_xattr_name(keys.names(), backing_name);
        FUZZ_CHECK(name_back && *name_back == plain_name);
    }
    return 0;
}
