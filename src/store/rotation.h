// Key rotation: re-wrapping a store's volume key under another customer-managed
// key (a new version of the same key, another key, another identity or another
// provider). The volume key itself never changes, so no file is touched: only
// the volume header is replaced, crash-safely. Used offline by
// `cmkfs encryption rotate-key BACKING` and online by the mount daemon.
//
// Steps, each with a failure-injection point "rotate:<step>" (util/fault.h):
//   wrap      wrap the volume key with the new key
//   verify    unwrap the result again and compare with the volume key
//   write     temp header file created, nothing written yet
//   fsync     temp header written, not yet durable
//   rename    temp header durable, not yet renamed over .cmkfs.volume
//   fsync-dir renamed, the directory entry not yet durable
//   commit    new header durable, rotation not yet reported
// (`begin` and `unwrap` are the callers': before anything, and before the
// offline path unwraps with the current key.)
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>

#include "format/key_schedule.h"
#include "format/volume_header.h"
#include "keys/key_provider.h"
#include "store/volume.h"

namespace cmkfs::store {

inline constexpr std::string_view kRotationFaultArea = "rotate";

// What the user asked for. Unset members keep the store's current value; the
// provider options are replaced as a whole when `provider` or
// `provider_options` is given (the options of one provider mean nothing to
// another), and kept otherwise.
struct RotationRequest {
    std::string key_id;  // required
    std::optional<std::string> identity;
    std::optional<std::string> provider;
    std::optional<std::map<std::string, std::string>> provider_options;
};

// The complete key settings the new header will record.
struct RotationTarget {
    std::string provider;
    std::map<std::string, std::string> provider_options;
    std::string key_id;
    std::string identity;
};

// Fills the request's gaps from the current header. Throws UsageError for an
// empty key id, or a provider option that looks like a secret (those must
// never be recorded in the header: pass them as a file, e.g. pin_file=).
RotationTarget resolve_rotation_target(const format::VolumeHeader &current, const RotationRequest &request);

// Throws UsageError naming the first option whose name says it holds a secret.
void refuse_secret_options(const std::map<std::string, std::string> &options);

// True when target names the same provider with the same options as the header,
// so the provider already loaded for the store can be reused.
bool same_provider(const format::VolumeHeader &current, const RotationTarget &target);

std::unique_ptr<keys::KeyProvider> load_target_provider(const RotationTarget &target);

// Wraps keys' volume key under target with `provider`, proves the result by
// unwrapping it again, then replaces the volume header crash-safely and returns
// it. On failure the header on disk is whichever was in place (the old one
// unless the failure came after the rename); volume.header() is re-read so it
// matches the disk.
format::VolumeHeader rewrap_volume_key(Volume &volume, const format::VolumeKeys &keys,
                                       keys::KeyProvider &provider, const RotationTarget &target);

}  // namespace cmkfs::store
