// Byte-range locks between hosts of a shared-storage store (README "Shared
// storage", FORMAT.md §13). Within one host, ContentState::mutex already
// serializes a file's writers against its readers; across hosts only the
// backing filesystem can, so in shared-storage mode every content operation
// also holds an OFD lock (fcntl F_OFD_SETLKW; CephFS arbitrates them across
// clients) on the backing file:
//   - a read holds a shared lock while it reads and opens its blocks, so it
//     never sees a block, a final-block mark or a size another host is
//     changing;
//   - a write or truncate holds an exclusive lock while it creates the file
//     header (re-reading it under the lock: another host may have won), reads
//     and re-seals partial blocks, and writes. The range is the whole file:
//     any write that grows it re-seals the old final block, and a lock taken
//     before the size is known must cover it.
// Each inode has one lock descriptor of its own (its own open file
// description), so the ranges of two handles never merge; concurrent reads
// on one host share one lock, counted.
#pragma once

#include <mutex>
#include <string>

#include "util/unique_fd.h"

namespace cmkfs::store {

// Set once at mount (before serving) from the header's shared_storage: a
// process serves one store. A global so that every FileContent (the mount's,
// and the ones store::Tree makes) follows it without a new parameter. Name
// changes lock across hosts in store::NamesLock (store/tree_lock.h).
void enable_shared_storage_locks(bool on);
bool shared_storage_locks();

// Per inode (in ContentState): the lock descriptor and the count of reads on
// this host that hold its shared lock.
class SharedFileLock {
public:
    // A read's hold: shared; the first reader on this host takes it, the last
    // one drops it. Waits for another host's writer.
    class Read {
    public:
        Read(SharedFileLock &lock, int fd);
        ~Read();
        Read(const Read &) = delete;
        Read &operator=(const Read &) = delete;

    private:
        SharedFileLock *lock_ = nullptr;
    };
    // A write's hold: exclusive (the caller holds ContentState::mutex
    // exclusively, so no read on this host holds the shared one).
    class Write {
    public:
        Write(SharedFileLock &lock, int fd);
        ~Write();
        Write(const Write &) = delete;
        Write &operator=(const Write &) = delete;

    private:
        SharedFileLock *lock_ = nullptr;
    };

private:
    // Opens the inode's own descriptor from `fd` on first use.
    int descriptor(int fd);
    void set(short type);

    std::mutex mutex_;
    UniqueFd fd_;
    int readers_ = 0;
};

}  // namespace cmkfs::store
