// The two volume keys of a re-encryption. Every sealed thing in the store
// (name, content block, symlink target, xattr) authenticates under exactly one
// of them, which is how a resumed run tells done from not done.
#pragma once

#include <string>

#include "format/key_schedule.h"
#include "format/layout.h"

namespace cmkfs::store {

struct ReencryptKeys {
    const format::VolumeKeys &old_keys;
    const format::VolumeKeys &new_keys;
    // Format versions: what the store is read as (its header's) and what is
    // written (always the current one, so re-encrypting a version-1 store,
    // which is what `cmkfs upgrade` does, moves it to the current format).
    uint32_t old_version = format::kFormatVersion;
    uint32_t new_version = format::kFormatVersion;
};

enum class KeyGeneration {
    old_key,
    new_key,
    keyless,  // carries nothing sealed (an empty or all-hole file): valid under both
};

// Backing names of our own temporaries (hidden bookkeeping, §1 of FORMAT.md).
inline constexpr std::string_view kReencryptTempPrefix = ".cmkfs.reenc.tmp.";
std::string new_reencrypt_temp_name();

}  // namespace cmkfs::store
