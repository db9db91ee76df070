// Who may use a backing directory at the same time: a mount (and fsck) hold a
// shared lock on BACKING/.cmkfs.lock for as long as they run; an offline
// rewrite of the whole store (reencrypt) holds it exclusively. flock(2)
// locks die with their process, so a crash never leaves a stale lock.
#pragma once

#include <string>

#include "util/unique_fd.h"

namespace cmkfs::store {

class StoreLock {
public:
    enum class Mode { shared, exclusive };

    // Never waits. Throws Error(EBUSY) naming the backing directory and what
    // holds it when the lock is taken in a conflicting mode. A read-only
    // backing directory without a lock file is not locked (nothing can
    // rewrite it either).
    StoreLock(int root_fd, const std::string &backing, Mode mode);

private:
    UniqueFd fd_;
};

}  // namespace cmkfs::store
