// cmkfs as a mount helper. mount(8) runs
//   /sbin/mount.fuse.cmkfs SOURCE TARGET [-sfnvrw] [-N NS] [-o OPTIONS] [-t TYPE]
// for `mount -t fuse.cmkfs` and fstab lines of type fuse.cmkfs (the installed
// /sbin/mount.fuse.cmkfs is a symlink to cmkfs); mount.fuse3 runs
//   cmkfs SOURCE TARGET -o OPTIONS
// for the `cmkfs#SOURCE` form of type fuse. Both mean
//   cmkfs mount SOURCE TARGET -o OPTIONS
// minus the options only mount(8) and systemd act on.
#pragma once

#include <string>
#include <vector>

namespace cmkfs::cli {

// The command line to parse: argv as it is unless this is a mount-helper call,
// which is translated. Empty when there is nothing to do (-f, mount's fake
// mode). Throws UsageError for a helper call we cannot honour.
std::vector<std::string> command_line_for(int argc, char **argv);

}  // namespace cmkfs::cli
