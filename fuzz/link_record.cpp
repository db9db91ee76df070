// The hard-link record (`user.cmkfs.links` of a backing inode, format 2,
// FORMAT.md §3.1) as the attacker left it: it must authenticate for the file
// id and hold exactly 4 bytes, or be refused. A record cmkfs writes opens to
// its count for its file and for no other (a record copied between files).
// Input: 4 bytes of link count, the rest the xattr value as found on disk.
#include <cstdint>
#include <string>

#include "format/link_record_codec.h"
#include "fuzz_support.h"

using namespace cmkfs;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const auto &key = fuzz::test_keys().meta();
    const format::FileId id = fuzz::test_file_id();
    format::FileId other = id;
    other[0] ^= 0x80;

    // As found on disk: the whole input, and the part after the count.
    (void)format::open_link_record(key, id, fuzz::as_text(data, size));
    if (size >= 4) (void)format::open_link_record(key, id, fuzz::as_text(data + 4, size - 4));
    if (size < 4) return 0;

    // As written by cmkfs.
    uint32_t links = 0;
    for (size_t i = 0; i < 4; ++i) links = links << 8 | data[i];
    const std::string sealed = format::seal_link_record(key, id, links);
    FUZZ_CHECK(format::open_link_record(key, id, sealed) == links);
    FUZZ_CHECK(!format::open_link_record(key, other, sealed));
    // The store reads the record into 64 bytes; a record it writes fits.
    FUZZ_CHECK(sealed.size() <= 64);
    return 0;
}
