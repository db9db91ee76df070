// Process exit codes of the `cmkfs` command. Documented in README.md; scripts
// depend on them, so values never change meaning.
#pragma once

namespace cmkfs::cli {

enum ExitCode : int {
    kOk = 0,
    kFailure = 1,          // unexpected error
    kUsage = 2,            // bad command line
    kConfigError = 3,      // config file invalid (file:line:column in the message)
    kBackingError = 4,     // backing directory missing, not a store, or unreadable
    kVolumeCorrupt = 5,    // volume header fails authentication or is malformed
    kKeyAccessDenied = 6,  // provider denied / key disabled / key not found
    kKeyUnavailable = 7,   // provider unreachable
    kProviderError = 8,    // plugin refused to load (ABI, symbol, permissions)
    kMountFailed = 9,      // FUSE could not mount
    kIntegrityErrors = 10, // fsck found bad files or blocks
    kNotMounted = 11,      // no cmkfs mount at that mountpoint
};

}  // namespace cmkfs::cli
