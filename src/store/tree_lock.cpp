#include "store/tree_lock.h"

namespace cmkfs::store {

NamesLock::NamesLock(Node &dir, bool take) {
    if (take) first_ = std::unique_lock(dir.names_mutex);
}

NamesLock::NamesLock(Node &a, Node &b) {
    if (&a == &b) {
        first_ = std::unique_lock(a.names_mutex);
        return;
    }
    std::lock(a.names_mutex, b.names_mutex);
    first_ = std::unique_lock(a.names_mutex, std::adopt_lock);
    second_ = std::unique_lock(b.names_mutex, std::adopt_lock);
}

void NamesLock::unlock() {
    if (second_.owns_lock()) second_.unlock();
    if (first_.owns_lock()) first_.unlock();
}

}  // namespace cmkfs::store
