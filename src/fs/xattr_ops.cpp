// Extended attributes: the replies. What is stored, and how, is
// store::Tree's (store/tree_xattr.cpp): user.* only, names encrypted with
// AES-SIV, values with AES-GCM bound to their name and (format 2) owner.
#include <string>

#include "crypto/wipe.h"
#include "fs/filesystem.h"
#include "fs/op_guard.h"

namespace cmkfs::fs {

namespace {

void reply_sized(fuse_req_t req, size_t wanted, const char *data, size_t len) {
    if (wanted == 0) fuse_reply_xattr(req, len);
    else if (wanted < len) fuse_reply_err(req, ERANGE);
    else fuse_reply_buf(req, data, len);
}

}  // namespace

void Filesystem::setxattr(fuse_req_t req, fuse_ino_t ino, const char *name, const char *value, size_t size,
                          int flags) {
    guard(req, "setxattr", [&] {
        const crypto::WipeOnExit wipe_value(value, size);  // libfuse's request buffer
        tree_.setxattr(keyring_, inode_of(ino), name, std::string_view(value, size), flags);
        fuse_reply_err(req, 0);
    });
}

void Filesystem::getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size) {
    guard(req, "getxattr", [&] {
        // The kernel asks for security.capability before writes (to clear
        // it), ls for security.selinux and ACLs: a plain reply, without the
        // key, an exception or a syscall (store/tree.h says why EOPNOTSUPP).
        if (const int refusal = store::Tree::xattr_refusal(name)) {
            fuse_reply_err(req, refusal);
            return;
        }
        if (size == 0) {
            fuse_reply_xattr(req, tree_.getxattr_size(keyring_, inode_of(ino), name));
            return;
        }
        const std::string value = tree_.getxattr(keyring_, inode_of(ino), name);
        const crypto::WipeOnExit wipe_value(value.data(), value.size());
        reply_sized(req, size, value.data(), value.size());
    });
}

void Filesystem::listxattr(fuse_req_t req, fuse_ino_t ino, size_t size) {
    guard(req, "listxattr", [&] {
        const std::string names = tree_.listxattr(keyring_, inode_of(ino));
        reply_sized(req, size, names.data(), names.size());
    });
}

void Filesystem::removexattr(fuse_req_t req, fuse_ino_t ino, const char *name) {
    guard(req, "removexattr", [&] {
        tree_.removexattr(keyring_, inode_of(ino), name);
        fuse_reply_err(req, 0);
    });
}

}  // namespace cmkfs::fs
