// The trust binding of a store: what this host expects of it, recorded outside
// the (untrusted) backing directory in a root-owned registry, one YAML file per
// volume: <registry>/<volume-id>.yaml. The provider, its options, the key id and
// the identity a command uses come from here; the volume header is only compared
// with them. The key commitment lets a command recognise the volume key itself
// (store/trust.h computes it), so a header wrapping another key is refused.
//
// Registry: $CMKFS_VOLUMES_DIR, else /etc/cmkfs/volumes (the environment of the
// user who runs cmkfs is trusted, as its config files are). The directory and
// each file must be owned by root (or by the effective user, when not root) and
// not writable by group or others; this module refuses anything else.
#pragma once

#include <map>
#include <optional>
#include <string>

namespace cmkfs::config {

inline constexpr const char *kDefaultVolumesDir = "/etc/cmkfs/volumes";
inline constexpr size_t kMaxBindingSize = 64 * 1024;

// The key settings a rotation is writing (see VolumeBinding::rotating).
struct KeySettings {
    std::string provider;
    std::map<std::string, std::string> provider_options;
    std::string key_id;
    std::string versioned_key_id;
    std::string identity;

    bool operator==(const KeySettings &) const = default;
};

struct VolumeBinding {
    std::string volume_id;                              // 32 lower-case hex digits
    std::string provider;                               // plugin name or absolute path
    std::map<std::string, std::string> provider_options;
    std::string key_id;            // as the operator gave it (version-less follows rotation)
    std::string versioned_key_id;  // the version last seen wrapping the key
    std::string identity;
    std::string key_commitment;    // 64 hex digits (docs/FORMAT.md, "Trust binding")
    // Set while a re-encryption runs: the new volume key's commitment.
    std::string pending_key_commitment;
    // Set by a rotation just before it replaces the header, cleared just
    // after: a header with these settings is this host's own rotation that
    // was interrupted between the two (kill -9, power loss), and is trusted
    // too. (A rotation never changes the volume key: the commitment holds.)
    std::optional<KeySettings> rotating;

    KeySettings settings() const;
    void set_settings(const KeySettings &k);

    bool operator==(const VolumeBinding &) const = default;
};

// $CMKFS_VOLUMES_DIR or kDefaultVolumesDir.
std::string volumes_dir();

// <volumes_dir>/<volume_id>.yaml. Throws UsageError unless volume_id is 32
// lower-case hex digits (it comes from an untrusted header: no path tricks).
std::string binding_path(const std::string &volume_id);

// Parses a binding document; errors are ConfigError "<source>:<line>:<column>: ...".
VolumeBinding parse_binding(const std::string &yaml_text, const std::string &source);
std::string binding_to_yaml(const VolumeBinding &binding);

// The binding of volume_id, or nullopt when there is none. Throws ConfigError
// for an unsafe registry directory or file (owner, mode, not a regular file),
// an oversized file, or a malformed one.
std::optional<VolumeBinding> load_binding(const std::string &volume_id);

// Writes the binding crash-safely (temp, fsync, rename, fsync dir), mode 0600,
// creating the registry directory (0700) when missing. Returns the file's path.
std::string save_binding(const VolumeBinding &binding);

// Removes the binding of volume_id (the store itself was deleted). Returns
// false when there was none; throws SystemError when it cannot be removed.
bool remove_binding(const std::string &volume_id);

}  // namespace cmkfs::config
