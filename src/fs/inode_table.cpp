#include "fs/inode_table.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <string>

namespace cmkfs::fs {

Inode &InodeTable::find_or_insert(UniqueFd fd, const struct stat &st) {
    std::lock_guard guard(mutex_);
    if (root_ && root_->dev == st.st_dev && root_->ino == st.st_ino) return *root_;
    auto key = std::make_pair(st.st_ino, st.st_dev);
    auto &slot = inodes_[key];
    if (!slot) {
        slot = std::make_unique<Inode>();
        slot->fd = std::move(fd);
        slot->dev = st.st_dev;
        slot->ino = st.st_ino;
        slot->type = st.st_mode & S_IFMT;
    }
    ++slot->nlookup;
    return *slot;
}

void InodeTable::repoint(const struct stat &old_st, const UniqueFd &new_fd, const struct stat &new_st,
                         const std::function<void(store::Node &)> &update) {
    std::lock_guard guard(mutex_);
    auto it = inodes_.find({old_st.st_ino, old_st.st_dev});
    if (it == inodes_.end() || inodes_.count({new_st.st_ino, new_st.st_dev}) != 0) return;
    std::unique_ptr<Inode> inode = std::move(it->second);
    inodes_.erase(it);
    {
        std::lock_guard inner(inode->dir_id_mutex);
        if (::dup3(new_fd.get(), inode->fd.get(), O_CLOEXEC) < 0) {
            inodes_[{old_st.st_ino, old_st.st_dev}] = std::move(inode);
            return;  // keeps the old (unlinked) symlink, which still reads
        }
        inode->dev = new_st.st_dev;
        inode->ino = new_st.st_ino;
        update(*inode);
    }
    inodes_[{new_st.st_ino, new_st.st_dev}] = std::move(inode);
}

void InodeTable::forget(Inode &inode, uint64_t n) {
    if (&inode == root_.get()) return;
    std::unique_ptr<Inode> doomed;  // freed (fd closed) outside the lock
    {
        std::lock_guard guard(mutex_);
        inode.nlookup -= std::min(n, inode.nlookup);
        if (inode.nlookup == 0) {
            auto it = inodes_.find({inode.ino, inode.dev});
            if (it != inodes_.end()) {
                doomed = std::move(it->second);
                inodes_.erase(it);
            }
        }
    }
}

std::vector<Inode *> InodeTable::snapshot() {
    std::lock_guard guard(mutex_);
    std::vector<Inode *> out;
    out.reserve(inodes_.size());
    for (auto &[key, inode] : inodes_) {
        ++inode->nlookup;
        out.push_back(inode.get());
    }
    return out;
}

void InodeTable::release(const std::vector<Inode *> &inodes) {
    for (Inode *inode : inodes) forget(*inode, 1);
}

}  // namespace cmkfs::fs
