// A key rotation with its audit trail, the same for the offline CLI and the
// mount daemon: "rotation-started" before anything happens, then
// "rotation-committed" once the new header is durable, or "rotation-aborted"
// with the error and the key version the header on disk names now. The
// records carry key ids, providers and identities, never key bytes.
#pragma once

#include <functional>
#include <string>

#include "custody/audit_log.h"
#include "format/key_schedule.h"
#include "keys/key_provider.h"
#include "store/rotation.h"
#include "store/volume.h"

namespace cmkfs::custody {

// get_keys yields the volume key: unwrapped with the current key (offline) or
// copied from the unlocked keyring (online). `trigger` says why ("operator",
// "automatic: new key version"). Returns the new header; rethrows on failure.
format::VolumeHeader audited_rotation(store::Volume &volume, const std::function<format::VolumeKeys()> &get_keys,
                                      keys::KeyProvider &new_provider, const store::RotationTarget &target,
                                      AuditLog &audit, const std::string &trigger);

}  // namespace cmkfs::custody
