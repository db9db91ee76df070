// Offline changes that rewrite only the volume header, never the data: the
// shared-storage switch and the upgrade from format 2 to 3 (format 3 adds the
// authenticated `shared_storage` member; its data format is version 2's).
// Each is one atomic header replacement under the caller's exclusive store
// lock, so an interrupted run leaves the old or the new header and running it
// again finishes it.
#pragma once

#include <cstdint>

#include "format/key_schedule.h"
#include "store/volume.h"

namespace cmkfs::store {

// True when a store of `version` reaches the current format by a header
// rewrite alone (2 -> 3).
bool header_only_upgrade(uint32_t version);

// Rewrites the header at the current format version, shared_storage off.
void upgrade_header(Volume &volume, const format::VolumeKeys &keys);

// Sets shared_storage; returns false when it already had that value (nothing
// written). Throws UsageError on a store older than format 3.
bool set_shared_storage(Volume &volume, const format::VolumeKeys &keys, bool shared);

}  // namespace cmkfs::store
