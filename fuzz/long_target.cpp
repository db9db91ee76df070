// Format 3's long symlink targets (docs/FORMAT.md §6.2): a backing symlink's
// target as the attacker left it, parsed as a marker, and a sidecar's bytes
// as the attacker left them, opened. A marker parses only in its one
// canonical form (it prints back byte for byte, and names a sidecar of the
// sidecar form); a sidecar cmkfs seals opens for its link id and place only.
#include <algorithm>
#include <cstdint>
#include <string>

#include "format/long_target.h"
#include "fuzz_support.h"

using namespace cmkfs;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const auto text = fuzz::as_text(data, size);
    const auto &key = fuzz::test_keys().meta();
    const format::Place place = format::Place::in(fuzz::test_parent(), fuzz::kTestName);

    // A backing symlink's target.
    if (const auto ref = format::parse_long_target_marker(text)) {
        FUZZ_CHECK(format::long_target_marker(*ref) == text);
        FUZZ_CHECK(ref->length <= format::kMaxSymlinkTarget);
        FUZZ_CHECK(format::is_long_target_sidecar(format::long_target_sidecar_name(ref->id)));
    }

    // A sidecar's bytes: only what cmkfs sealed opens.
    format::LinkId id{};
    std::fill(id.begin(), id.end(), uint8_t{0x42});
    (void)format::open_long_target(key, id, place, text);

    // As written: any target is sealed, opens at its place with its id, and
    // nowhere else.
    if (size > format::kMaxSymlinkTarget) return 0;
    const std::string sealed = format::seal_long_target(key, id, place, text);
    const auto back = format::open_long_target(key, id, place, sealed);
    FUZZ_CHECK(back && *back == text);
    format::LinkId other_id = id;
    other_id[0] ^= 1;
    FUZZ_CHECK(!format::open_long_target(key, other_id, place, sealed));
    FUZZ_CHECK(!format::open_long_target(key, id, format::Place::in(fuzz::test_parent(), "other"), sealed));
    return 0;
}
