// The kernel's writeback cache, drained under the key as a key custody
// observer: in phase before_wipe of a lock (custody/observer.h), while the
// keys are still installed, every operation but the kernel's WRITEs of pages
// it already holds is refused (Keyring::refuse_all_but_writeback) and the
// kernel writes back and drops every dirty page (Filesystem::flush_dirty_pages,
// fs/writeback.cpp), so that a lock loses no write the kernel acknowledged.
// Registered by cli/cmd_mount.cpp before the kernel-cache invalidator, whose
// key_locked phase then drops whatever a late write left behind.
#pragma once

#include <exception>

#include <spdlog/spdlog.h>

#include "custody/observer.h"
#include "fs/filesystem.h"
#include "store/keyring.h"

namespace cmkfs::fs {

class WritebackDrain final : public custody::Observer {
public:
    WritebackDrain(Filesystem &filesystem, store::Keyring &keyring) : filesystem_(filesystem), keyring_(keyring) {}

    void before_wipe(custody::LockReason /*reason*/) override {
        // First the gate: a write(2) arriving during the drain must be
        // refused (its getattr is), not land in a page after its inode's
        // write-back. The lock that follows ends the gate.
        keyring_.refuse_all_but_writeback();
        try {
            filesystem_.flush_dirty_pages();
        } catch (const std::exception &e) {
            // The lock goes ahead regardless: a key must not outlive a lock.
            spdlog::error("lock: write-back before the wipe failed: {}", e.what());
        }
    }

private:
    Filesystem &filesystem_;
    store::Keyring &keyring_;
};

}  // namespace cmkfs::fs
