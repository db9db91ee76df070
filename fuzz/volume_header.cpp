// The volume header (.cmkfs.volume) is read from the untrusted backing
// directory and parsed before its MAC can be checked: any bytes must give a
// header or an IntegrityError. A header that parses must survive sealing and
// parsing again unchanged, and a MAC made by another key must be refused.
#include <cstdint>
#include <string>

#include "format/volume_header.h"
#include "fuzz_support.h"
#include "util/errors.h"

using namespace cmkfs;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const std::string text(fuzz::as_text(data, size));
    format::VolumeHeader header;
    try {
        header = format::parse_volume_header(text, "fuzz/.cmkfs.volume");
    } catch (const IntegrityError &) {
        return 0;
    }
    const auto &keys = fuzz::test_keys();
    try {
        format::verify_volume_header(header, keys.header_mac(), "fuzz");
    } catch (const IntegrityError &) {
    }
    (void)header.key_rotation_enabled();
    (void)header.provider_option_list();

    format::VolumeHeader copy = header;
    const std::string sealed = format::seal_volume_header(copy, keys.header_mac());
    const format::VolumeHeader again = format::parse_volume_header(sealed, "fuzz/resealed");
    format::verify_volume_header(again, keys.header_mac(), "fuzz/resealed");
    FUZZ_CHECK(again.volume_id == header.volume_id);
    FUZZ_CHECK(again.provider == header.provider);
    FUZZ_CHECK(again.provider_options == header.provider_options);
    FUZZ_CHECK(again.key_id == header.key_id);
    FUZZ_CHECK(again.versioned_key_id == header.versioned_key_id);
    FUZZ_CHECK(again.identity == header.identity);
    FUZZ_CHECK(again.wrapped_key == header.wrapped_key);
    FUZZ_CHECK(again.root_dir_id == header.root_dir_id);
    FUZZ_CHECK(again.format_version == header.format_version);
    FUZZ_CHECK(again.block_size == header.block_size);
    FUZZ_CHECK(again.plaintext_names == header.plaintext_names);
    return 0;
}
