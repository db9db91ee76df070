#include "util/fd_limit.h"

#include <sys/resource.h>

#include <fstream>

namespace cmkfs {

namespace {
rlim_t kernel_max_open_files() {
    std::ifstream in("/proc/sys/fs/nr_open");
    unsigned long long n = 0;
    return (in >> n) ? static_cast<rlim_t>(n) : 0;
}
}  // namespace

uint64_t open_file_limit() noexcept {
    rlimit limit{};
    return ::getrlimit(RLIMIT_NOFILE, &limit) == 0 ? static_cast<uint64_t>(limit.rlim_cur) : 0;
}

uint64_t raise_open_file_limit() noexcept {
    rlimit limit{};
    if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return 0;
    try {
        const rlim_t kernel_max = kernel_max_open_files();
        if (kernel_max > limit.rlim_max) {
            rlimit raised{kernel_max, kernel_max};
            if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) limit = raised;  // fails without CAP_SYS_RESOURCE
        }
    } catch (...) {
        // Reading /proc failed: keep the hard limit we have.
    }
    if (limit.rlim_cur < limit.rlim_max) {
        limit.rlim_cur = limit.rlim_max;
        ::setrlimit(RLIMIT_NOFILE, &limit);
    }
    return open_file_limit();
}

}  // namespace cmkfs
