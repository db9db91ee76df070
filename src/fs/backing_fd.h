// Small helpers for operating on backing objects held as O_PATH fds.
#pragma once

#include <cstdio>
#include <string>

#include "metrics/fs_metrics.h"

namespace cmkfs::fs {

// "/proc/self/fd/N": reopens or addresses an O_PATH fd by path.
inline std::string proc_path(int fd) {
    char buf[40];
    std::snprintf(buf, sizeof buf, "/proc/self/fd/%d", fd);
    return buf;
}

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
