// Re-encrypting a whole store under a fresh volume key (for when the volume
// key itself may have been exposed; a key rotation only re-wraps it). Offline:
// the caller makes sure the store is not mounted; this takes the store's
// exclusive lock. Crash-safe and resumable: see docs/reencrypt.md.
#pragma once

#include <cstdint>
#include <functional>

#include "keys/key_provider.h"
#include "store/reencrypt_tree.h"
#include "store/volume.h"

namespace cmkfs::store {

struct ReencryptProgress {
    enum class Phase { verify, convert } phase = Phase::convert;
    TreeCounts done;
    TreeCounts total;  // from a stat-only scan; zero while verifying
};

struct ReencryptSummary {
    bool resumed = false;  // a journal from an interrupted run was found
    TreeCounts counts;     // files/bytes visited, of which `converted` this run
    bool header_only = false;  // an upgrade that rewrote only the header (2 -> 3)
};

// Starts (or, when BACKING/.cmkfs.reencrypt exists, resumes) a re-encryption.
// A fresh start first verifies the whole store under the current key and
// refuses (IntegrityError) when anything fails, so damage is never carried
// over silently. Throws Error(EBUSY) when the store is in use.
//
// Whatever the store's format version, the result is in the current one
// (format::kFormatVersion): re-encrypting a version-1 store upgrades it.
// `upgrade_only` (`cmkfs upgrade`): refuse (Error(EALREADY)) to start on a
// store already at the current version; an interrupted run is resumed either way.
// A version-2 store is upgraded to 3 by rewriting its header only
// (store/header_settings.h), under the same key.
ReencryptSummary reencrypt_volume(Volume &volume, keys::KeyProvider &provider,
                                  const std::function<void(const ReencryptProgress &)> &progress,
                                  bool upgrade_only = false);

}  // namespace cmkfs::store
