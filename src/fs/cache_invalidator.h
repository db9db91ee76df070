// The kernel-cache invalidator as a key custody observer: once a lock has
// wiped the keys (phase key_locked, custody/observer.h), the kernel's page,
// attribute and name caches of the mount are dropped, so that nothing read
// under the key is served from them. Registered by cli/cmd_mount.cpp.
#pragma once

#include "custody/observer.h"
#include "fs/filesystem.h"

namespace cmkfs::fs {

class KernelCacheInvalidator final : public custody::Observer {
public:
    explicit KernelCacheInvalidator(Filesystem &filesystem) : filesystem_(filesystem) {}
    // After the wipe, not before: an operation still in flight before it
    // could otherwise put plaintext back into a cache already emptied.
    void key_locked(custody::LockReason /*reason*/) override { filesystem_.invalidate_kernel_caches(); }

private:
    Filesystem &filesystem_;
};

}  // namespace cmkfs::fs
