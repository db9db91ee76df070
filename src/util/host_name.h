// The name this host goes by in messages to other hosts of a shared store
// ("mounted by host X"). Only ever shown, never trusted: other hosts read it
// from the backing directory's lock file, which an attacker can write.
#pragma once

#include <string>

namespace cmkfs {

// The config's `host_name:` when set (set_host_name), else $CMKFS_HOST_NAME
// (several simulated hosts on one machine), else gethostname().
std::string host_name();
// From the config, before any thread starts; "" keeps the default.
void set_host_name(const std::string &name);

}  // namespace cmkfs
