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

// Shared use of a store (mount, fsck) for as long as the lock lives: refused
// (kBackingError) while a reencrypt runs or a journal says one was interrupted.
store::StoreLock lock_store_for_use(const store::Volume &volume);

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
