// Mounting a Filesystem with libfuse and running its request loop.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "fs/filesystem.h"

namespace cmkfs::fs {

struct SessionOptions {
    std::string mountpoint;
    std::string fsname;                     // shown in /proc/mounts, e.g. "cmkfs:/srv/store"
    std::vector<std::string> fuse_options;  // extra -o options
    bool allow_other = false;
    unsigned max_threads = 0;  // 0: libfuse default
    bool debug = false;
};

// Mounts, calls on_mounted() once the mount exists, serves until unmounted
// (or SIGINT/SIGTERM/SIGHUP), then unmounts. Throws Error when mounting fails.
void run_session(Filesystem &fs, const SessionOptions &options, const std::function<void()> &on_mounted);

}  // namespace cmkfs::fs
