// Symlink targets and xattrs as the backing directory holds them: a target
// is base64url(nonce || AES-GCM || tag) under the metadata key, an xattr
// name "user.<base64url(AES-SIV)>", an xattr value raw nonce || GCM || tag
// bound to the plaintext name. Opening any bytes must refuse or
// authenticate; sealing the input and opening it must give it back.
#include <cstdint>
#include <string>

#include "format/name_codec.h"
#include "format/xattr_codec.h"
#include "fuzz_support.h"

using namespace cmkfs;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const std::string_view text = fuzz::as_text(data, size);
    const auto &keys = fuzz::test_keys();

    // As found on disk (readlink, getxattr, listxattr).
    (void)format::NameCodec::open_text(keys.meta(), "symlink", text);
    (void)format::open_bytes(keys.meta(), "symlink", text);
    (void)format::open_xattr_value(keys.meta(), "user.a", text);
    if (auto name = format::decrypt_xattr_name(keys.names(), text))
        FUZZ_CHECK(name->starts_with(format::kUserXattrPrefix));

    // As written by cmkfs, then read back.
    const std::string target = format::NameCodec::seal_text(keys.meta(), "symlink", text);
    auto opened = format::NameCodec::open_text(keys.meta(), "symlink", target);
    FUZZ_CHECK(opened && *opened == text);
    FUZZ_CHECK(!format::NameCodec::open_text(keys.meta(), "symlink2", target));

    const std::string value = format::seal_xattr_value(keys.meta(), "user.a", text);
    auto value_back = format::open_xattr_value(keys.meta(), "user.a", value);
    FUZZ_CHECK(value_back && *value_back == text);
    FUZZ_CHECK(!format::open_xattr_value(keys.meta(), "user.b", value));

    // The file system refuses "user." alone before encrypting (xattr_ops.cpp).
    if (!text.empty()) {
        const std::string plain_name = std::string(format::kUserXattrPrefix) + std::string(text);
        const std::string backing_name = format::encrypt_xattr_name(keys.names(), plain_name);
        auto name_back = format::decrypt_xattr_name(keys.names(), backing_name);
        FUZZ_CHECK(name_back && *name_back == plain_name);
    }
    return 0;
}
