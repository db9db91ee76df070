// errno as text for the in-tree plugins. Providers run on the daemon's worker
// and key-check threads at once, so std::strerror (one static buffer in the
// C library) is not an option; this uses the thread-safe GNU strerror_r.
// Header-only: plugins link nothing of the host's own libraries.
#pragma once

#include <string.h>

#include <string>

namespace cmkfs::plugin {

inline std::string errno_text(int err) {
    char buf[128];
    // GNU strerror_r returns the message, which need not be in buf.
    return std::string(::strerror_r(err, buf, sizeof buf));
}

}  // namespace cmkfs::plugin
