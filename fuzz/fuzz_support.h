// Shared by the fuzz targets: a fixed test key (the targets check parsing
// before and after authentication, not the secrecy of a key), views of the
// input, and a check that aborts so libFuzzer records the input.
#pragma once

#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <string_view>

#include "crypto/secure_bytes.h"
#include "format/file_layout.h"
#include "format/key_schedule.h"
#include "format/name_codec.h"

namespace cmkfs::fuzz {

// The same keys on every run, so a committed crash input replays.
inline const format::VolumeKeys &test_keys() {
    static const format::VolumeKeys keys = [] {
        std::array<uint8_t, format::kVolumeKeySize> raw{};
        for (size_t i = 0; i < raw.size(); ++i) raw[i] = static_cast<uint8_t>(0x42 + i);
        return format::VolumeKeys(crypto::VolumeKey(crypto::SecureBytes(raw)));
    }();
    return keys;
}

// The place (FORMAT.md §4) of the seeds' symlinks and directories, the file
// id of their files and the owner of their xattrs: make_seeds writes for
// these, so the seeds authenticate in the targets.
inline format::DirId test_parent() {
    format::DirId id{};
    id.fill(0x22);
    return id;
}
inline constexpr std::string_view kTestName = "entry";
inline format::FileId test_file_id() {
    format::FileId id{};
    id.fill(0x33);
    return id;
}
// Both format versions: every keyed target reads what each writes.
inline constexpr uint32_t kFormatVersions[] = {1, 2};

inline std::string_view as_text(const uint8_t *data, size_t size) {
    return {reinterpret_cast<const char *>(data), size};
}

// An invariant of the code under test failed: abort (libFuzzer saves the input).
#define FUZZ_CHECK(cond)                                                               \
    do {                                                                               \
        if (!(cond)) {                                                                 \
            std::fprintf(stderr, "%s:%d: FUZZ_CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
            std::abort();                                                              \
        }                                                                              \
    } while (0)

}  // namespace cmkfs::fuzz
