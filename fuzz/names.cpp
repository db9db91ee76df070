// Backing directory entry names are attacker input: direct names are
// base64url(AES-SIV), long names are ".cmkfs.long.<hash>" with the full
// encoded name in a sidecar file. Input: 16 bytes of parent directory id,
// then the text that plays the backing name, a sidecar's content and a
// plaintext name. Decoding must refuse or authenticate, never crash, and
// whatever encode() produces must decode back to the same name.
#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <string>

#include "format/name_codec.h"
#include "fuzz_support.h"
#include "util/errors.h"

using namespace cmkfs;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    format::DirId parent{};
    const size_t id_bytes = std::min(size, parent.size());
    std::copy(data, data + id_bytes, parent.begin());
    const std::string_view text = fuzz::as_text(data + id_bytes, size - id_bytes);

    const format::NameCodec encrypted(&fuzz::test_keys().names());
    const format::NameCodec plaintext(nullptr);

    // The text as a direct backing name.
    if (auto name = encrypted.decode(parent, text)) FUZZ_CHECK(!name->empty());
    if (auto name = plaintext.decode(parent, text)) FUZZ_CHECK(*name == text);

    // The text as a long name, and as a sidecar file name.
    const bool is_long = format::NameCodec::is_long_name(text);
    const bool is_sidecar = format::NameCodec::is_sidecar(text);
    FUZZ_CHECK(!(is_long && is_sidecar));
    if (is_long) FUZZ_CHECK(format::NameCodec::is_sidecar(format::NameCodec::sidecar_for(text)));

    // The text as a sidecar's content, under its own hash name and split
    // into a (backing, content) pair that normally does not match.
    (void)encrypted.decode_long(parent, format::NameCodec::long_name_for(text), text);
    const size_t half = text.size() / 2;
    (void)encrypted.decode_long(parent, text.substr(0, half), text.substr(half));
    FUZZ_CHECK(!plaintext.decode_long(parent, format::NameCodec::long_name_for(text), text));

    // The text as a plaintext name: encode, then decode what would be stored.
    for (const format::NameCodec *codec : {&encrypted, &plaintext}) {
        format::BackingName backing;
        try {
            backing = codec->encode(parent, text);
        } catch (const Error &e) {
            FUZZ_CHECK(e.error_number() == EINVAL || e.error_number() == ENAMETOOLONG ||
                       e.error_number() == EPERM);
            continue;
        }
        FUZZ_CHECK(!backing.name.empty() && backing.name.size() <= 255);
        auto back = backing.is_long() ? codec->decode_long(parent, backing.name, backing.full)
                                      : codec->decode(parent, backing.name);
        FUZZ_CHECK(back && *back == text);
        if (backing.is_long()) {
            FUZZ_CHECK(format::NameCodec::is_long_name(backing.name));
            FUZZ_CHECK(format::NameCodec::is_sidecar(backing.sidecar));
        }
    }
    return 0;
}
