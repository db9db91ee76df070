// The names lock of directories: the one place where changes to a
// directory's names are serialized (store::Tree takes it; nothing else
// does). A lock that must span hosts belongs here too.
#pragma once

#include <mutex>

#include "store/tree_node.h"

namespace cmkfs::store {

class NamesLock {
public:
    // Locks `dir`'s names (`take` false: not held by this object, the caller
    // holds them already).
    explicit NamesLock(Node &dir, bool take = true);
    // Locks two directories' names without deadlock (once when they are one).
    NamesLock(Node &a, Node &b);
    void unlock();

private:
    std::unique_lock<std::mutex> first_, second_;
};

}  // namespace cmkfs::store
