// What several commands do first: open a store's backing directory, load the
// provider its header names, and unwrap the volume key, with failures turned
// into the documented exit codes.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "config/config.h"
#include "format/key_schedule.h"
#include "keys/key_provider.h"
#include "store/store_lock.h"
#include "store/volume.h"

namespace cmkfs::cli {

struct OpenedVolume {
    std::unique_ptr<store::Volume> volume;
    std::unique_ptr<keys::KeyProvider> provider;
};

// Throws CommandError(kBackingError) for a missing directory or non-store.
std::unique_ptr<store::Volume> open_volume(const std::string &backing);

// Opens the volume, checks its header against this host's binding (TrustError,
// exit 5, on a difference or a missing binding) and loads the provider the
// binding names (config may add or override options).
OpenedVolume open_volume_with_provider(const std::string &backing, const config::Config &cfg);

// A mount's hold on its store for as long as the lock lives: shared for a
// shared-storage store, exclusive otherwise. Refused (kBackingError, naming
// the hosts that hold it) when another host holds it in a conflicting mode,
// while a reencrypt runs or a journal says one was interrupted.
store::StoreLock lock_store_for_mount(store::Volume &volume, const std::string &mountpoint);

// An offline command's exclusive hold (fsck, offline rotation, the
// shared-storage switch): refused (kBackingError) while any host mounts the
// store, naming each.
store::StoreLock lock_store_offline(const store::Volume &volume, const std::string &what);

// The one-line refusal of an offline command `what` (names every holder).
std::string offline_refusal(const std::string &backing, const store::StoreBusy &busy, const std::string &what);

// Reads --config FILE when given, else defaults.
config::Config load_config_or_default(const std::string &path);

// The absolute form of a path (for headers, mount names and messages).
std::string absolute_path(const std::string &path);

// Adds the command line's provider settings to `options`: each
// --provider-option KEY=VALUE (UsageError on another shape) and --vault DIR as
// vault=<absolute DIR>. init, trust and rotate-key read these flags alike.
void add_provider_args(std::map<std::string, std::string> &options,
                       const std::vector<std::string> &provider_option_args, const std::string &vault);

}  // namespace cmkfs::cli
