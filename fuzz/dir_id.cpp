// A directory's `.cmkfs.dirid` (or `.cmkfs.dirid.next`) as the attacker left
// it: 16 bytes of id in format 1; in format 2 the id || HMAC-SHA256 binding it
// to its place (parent id + plaintext name, or the root), FORMAT.md §4.
// Decoding any bytes must refuse or give the id they start with; a file
// cmkfs encodes must decode at its place, and in format 2 nowhere else.
#include <algorithm>
#include <cstdint>
#include <span>

#include "format/place_codec.h"
#include "fuzz_support.h"

using namespace cmkfs;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const std::span<const uint8_t> file(data, size);
    const auto &key = fuzz::test_keys().dir_ids();
    const format::Place place = format::Place::in(fuzz::test_parent(), fuzz::kTestName);
    const format::Place places[] = {place, format::Place::root()};

    // As found on disk: for a subdirectory and for the root, both versions.
    const auto unverified = format::unverified_dir_id(file);
    for (const uint32_t version : fuzz::kFormatVersions)
        for (const format::Place &at : places)
            if (auto id = format::decode_dir_id_file(version, key, file, at)) {
                FUZZ_CHECK(std::equal(id->begin(), id->end(), data));
                FUZZ_CHECK(unverified && *unverified == *id);
            }
    if (unverified) FUZZ_CHECK(size == format::kDirIdSize || size == format::kDirIdFileSizeV2);

    // As written by cmkfs: the first 16 bytes are the id, the rest the
    // plaintext name of its place (any bytes a name may not hold too: the
    // codec does not judge names).
    if (size < format::kDirIdSize || size - format::kDirIdSize > 0xffff) return 0;
    format::DirId id{};
    std::copy_n(data, id.size(), id.begin());
    const auto rest = fuzz::as_text(data + id.size(), size - id.size());
    const format::Place named = format::Place::in(fuzz::test_parent(), rest);
    const format::Place other_name = format::Place::in(fuzz::test_parent(), std::string(rest) + "x");
    for (const uint32_t version : fuzz::kFormatVersions) {
        const bool v2 = format::binds_place(version);
        for (const format::Place &at : {named, format::Place::root()}) {
            const auto encoded = format::encode_dir_id_file(version, key, id, at);
            FUZZ_CHECK(encoded.size() == (v2 ? format::kDirIdFileSizeV2 : format::kDirIdSize));
            auto back = format::decode_dir_id_file(version, key, encoded, at);
            FUZZ_CHECK(back && *back == id);
            FUZZ_CHECK(format::unverified_dir_id(encoded) == id);
            // Moved (another name, or the root's id file copied into a
            // subdirectory and back): format 2 refuses, format 1 cannot tell.
            const format::Place &elsewhere = at.is_root() ? named : format::Place::root();
            FUZZ_CHECK(format::decode_dir_id_file(version, key, encoded, elsewhere).has_value() == !v2);
            FUZZ_CHECK(format::decode_dir_id_file(version, key, encoded, other_name).has_value() ==
                       (!v2 || at == other_name));
            // A v1 file in a v2 store and the reverse: the sizes differ.
            FUZZ_CHECK(!format::decode_dir_id_file(v2 ? 1 : 2, key, encoded, at));
        }
    }
    return 0;
}
