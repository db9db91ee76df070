#include "store/tree_node.h"

#include <unistd.h>

#include <cstdio>
#include <string>

namespace cmkfs::store {

std::string proc_path(int fd) {
    char buf[40];
    std::snprintf(buf, sizeof buf, "/proc/self/fd/%d", fd);
    return buf;
}

std::string Node::label() const {
    char target[4096];
    ssize_t n = ::readlink(proc_path(fd.get()).c_str(), target, sizeof target - 1);
    if (n <= 0) return "inode " + std::to_string(ino);
    return std::string(target, static_cast<size_t>(n));
}

}  // namespace cmkfs::store
