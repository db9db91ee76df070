// Extended attributes. Only the user.* namespace is offered: its names are
// encrypted deterministically (AES-SIV) and its values with AES-GCM, bound to
// the attribute name.
#include <sys/xattr.h>

#include <string>
#include <vector>

#include "crypto/wipe.h"
#include "format/xattr_codec.h"
#include "fs/backing_fd.h"
#include "fs/filesystem.h"
#include "fs/op_guard.h"
#include "util/errors.h"

namespace cmkfs::fs {

namespace {

// Throws ENODATA/EOPNOTSUPP for namespaces we do not store.
void require_user_namespace(std::string_view name, int unsupported_errno) {
    if (!name.starts_with(format::kUserXattrPrefix) || name.size() == format::kUserXattrPrefix.size())
        throw Error(unsupported_errno, "only user.* extended attributes are supported");
}

void reply_sized(fuse_req_t req, size_t wanted, const char *data, size_t len) {
    if (wanted == 0) fuse_reply_xattr(req, len);
    else if (wanted < len) fuse_reply_err(req, ERANGE);
    else fuse_reply_buf(req, data, len);
}

}  // namespace

void Filesystem::setxattr(fuse_req_t req, fuse_ino_t ino, const char *name, const char *value, size_t size,
                          int flags) {
    guard(req, "setxattr", [&] {
        require_user_namespace(name, EOPNOTSUPP);
        auto access = keyring_.access();
        Inode &inode = inode_of(ino);
        const crypto::WipeOnExit wipe_value(value, size);  // libfuse's request buffer
        std::string sealed = format::seal_xattr_value(access.keys().meta(), name, std::string_view(value, size));
        if (::setxattr(proc_path(inode.fd.get()).c_str(), format::encrypt_xattr_name(access.keys().names(), name).c_str(), sealed.data(),
                       sealed.size(), flags) != 0)
            throw_errno("setxattr");
        fuse_reply_err(req, 0);
    });
}

void Filesystem::getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size) {
    guard(req, "getxattr", [&] {
        require_user_namespace(name, ENODATA);
        auto access = keyring_.access();
        Inode &inode = inode_of(ino);
        const std::string path = proc_path(inode.fd.get());
        const std::string backing_name = format::encrypt_xattr_name(access.keys().names(), name);
        std::string sealed;
        for (;;) {  // the value may grow between the size query and the read
            ssize_t n = ::getxattr(path.c_str(), backing_name.c_str(), nullptr, 0);
            if (n < 0) throw_errno("getxattr");
            sealed.resize(static_cast<size_t>(n));
            n = ::getxattr(path.c_str(), backing_name.c_str(), sealed.data(), sealed.size());
            if (n >= 0) {
                sealed.resize(static_cast<size_t>(n));
                break;
            }
            if (errno != ERANGE) throw_errno("getxattr");
        }
        if (sealed.size() < format::kXattrValueOverhead) throw IntegrityError(inode.label() + ": xattr value is truncated");
        if (size == 0) {
            fuse_reply_xattr(req, sealed.size() - format::kXattrValueOverhead);
            return;
        }
        auto plain = format::open_xattr_value(access.keys().meta(), name, sealed);
        if (!plain) {
            spdlog::error("integrity: {}: xattr value fails to authenticate", inode.label());
            throw IntegrityError(inode.label() + ": xattr value fails to authenticate");
        }
        const crypto::WipeOnExit wipe_value(plain->data(), plain->size());
        reply_sized(req, size, plain->data(), plain->size());
    });
}

void Filesystem::listxattr(fuse_req_t req, fuse_ino_t ino, size_t size) {
    guard(req, "listxattr", [&] {
        auto access = keyring_.access();
        Inode &inode = inode_of(ino);
        const std::string path = proc_path(inode.fd.get());
        std::vector<char> raw;
        for (;;) {
            ssize_t n = ::listxattr(path.c_str(), nullptr, 0);
            if (n < 0) throw_errno("listxattr");
            raw.resize(static_cast<size_t>(n));
            n = ::listxattr(path.c_str(), raw.data(), raw.size());
            if (n >= 0) {
                raw.resize(static_cast<size_t>(n));
                break;
            }
            if (errno != ERANGE) throw_errno("listxattr");
        }
        std::string out;
        for (size_t pos = 0; pos < raw.size();) {
            std::string_view entry(raw.data() + pos);
            pos += entry.size() + 1;
            if (auto plain = format::decrypt_xattr_name(access.keys().names(), entry)) {
                out += *plain;
                out += '\0';
            }
        }
        reply_sized(req, size, out.data(), out.size());
    });
}

void Filesystem::removexattr(fuse_req_t req, fuse_ino_t ino, const char *name) {
    guard(req, "removexattr", [&] {
        require_user_namespace(name, ENODATA);
        auto access = keyring_.access();
        Inode &inode = inode_of(ino);
        if (::removexattr(proc_path(inode.fd.get()).c_str(), format::encrypt_xattr_name(access.keys().names(), name).c_str()) != 0)
            throw_errno("removexattr");
        fuse_reply_err(req, 0);
    });
}

}  // namespace cmkfs::fs
