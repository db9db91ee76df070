// An open file of the mount, as FUSE's file handle.
#pragma once

#include "metrics/fs_metrics.h"

namespace cmkfs::fs {

// An open file of the mount (the open_files gauge counts these).
struct FileHandle {
    explicit FileHandle(int fd_, bool append_) : fd(fd_), append(append_) { metrics::open_files().add(1); }
    ~FileHandle();
    FileHandle(const FileHandle &) = delete;
    FileHandle &operator=(const FileHandle &) = delete;
    int fd;
    bool append;
};

}  // namespace cmkfs::fs
