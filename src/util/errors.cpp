#include "util/errors.h"

#include <cstring>

namespace cmkfs {

std::string errno_text(int err) {
    char buf[256];
    // GNU strerror_r returns the message pointer (may not use buf).
    return std::string(strerror_r(err, buf, sizeof buf));
}

SystemError::SystemError(int err, const std::string &context)
    : Error(err, context + ": " + errno_text(err)) {}

void throw_errno(const std::string &context) { throw SystemError(errno, context); }

}  // namespace cmkfs
