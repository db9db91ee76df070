#include "util/host_name.h"

#include <unistd.h>

#include <climits>
#include <cstdlib>

namespace cmkfs {

namespace {

std::string &configured() {
    static std::string name;
    return name;
}

}  // namespace

void set_host_name(const std::string &name) { configured() = name; }

std::string host_name() {
    if (!configured().empty()) return configured();
    // Read before any daemon thread starts and never set by us: getenv is safe here.
    const char *env = std::getenv("CMKFS_HOST_NAME");  // NOLINT(concurrency-mt-unsafe)
    if (env != nullptr && *env != '\0') return env;
    char buf[HOST_NAME_MAX + 1] = {};
    if (::gethostname(buf, sizeof buf - 1) != 0 || buf[0] == '\0') return "localhost";
    return buf;
}

}  // namespace cmkfs
