// Extended attributes. Only the user.* namespace is offered: its names are
// encrypted deterministically (AES-SIV) and its values with AES-GCM, bound to
// the attribute name and (format 2) to the file or directory carrying them.
#include <fcntl.h>
#include <sys/xattr.h>

#include <mutex>
#include <shared_mutex>

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

bool is_user_xattr(std::string_view name) {
    return name.starts_with(format::kUserXattrPrefix) && name.size() > format::kUserXattrPrefix.size();
}

// Throws ENODATA/EOPNOTSUPP for namespaces we do not store.
void require_user_namespace(std::string_view name, int unsupported_errno) {
    if (!is_user_xattr(name)) throw Error(unsupported_errno, "only user.* extended attributes are supported");
}

void reply_sized(fuse_req_t req, size_t wanted, const char *data, size_t len) {
    if (wanted == 0) fuse_reply_xattr(req, len);
    else if (wanted < len) fuse_reply_err(req, ERANGE);
    else fuse_reply_buf(req, data, len);
}

}  // namespace

std::vector<uint8_t> Filesystem::xattr_owner(const store::Keyring::Access &access, Inode &inode, bool create) {
    const uint32_t version = volume_.header().format_version;
    if (version < 2) return {};
    if (inode.type == S_IFDIR) {
        const format::DirId &id = dir_id_of(inode, binding(access));
        return {id.begin(), id.end()};
    }
    // Linux keeps user.* attributes only on regular files and directories.
    if (inode.type != S_IFREG) throw Error(create ? EPERM : ENODATA, "user.* xattrs on this file type");
    {
        std::lock_guard guard(inode.content.id_mutex);  // the common case: no open, no read
        if (inode.content.id) return {inode.content.id->begin(), inode.content.id->end()};
    }
    const std::string path = proc_path(inode.fd.get());
    UniqueFd fd(::open(path.c_str(), (create ? O_RDWR : O_RDONLY) | O_CLOEXEC));
    // A read-only file can still take xattrs: it only needs writing when it
    // has no header yet.
    if (!fd && create && errno == EACCES) fd.reset(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) throw_errno("open for xattr");
    std::optional<format::FileId> id;
    if (create) {
        std::unique_lock lock(inode.content.mutex);
        id = store::FileContent(fd.get(), inode.content, access, version, inode.label()).ensure_file_id();
    } else {
        std::shared_lock lock(inode.content.mutex);
        id = store::FileContent(fd.get(), inode.content, access, version, inode.label()).file_id();
    }
    if (!id) {
        // No header, so nothing could have sealed a value for this file.
        spdlog::error("integrity: {}: xattr value on a file with no header", inode.label());
        throw IntegrityError(inode.label() + ": xattr value on a file with no header");
    }
    return {id->begin(), id->end()};
}

void Filesystem::setxattr(fuse_req_t req, fuse_ino_t ino, const char *name, const char *value, size_t size,
                          int flags) {
    guard(req, "setxattr", [&] {
        require_user_namespace(name, EOPNOTSUPP);
        auto access = keyring_.access();
        Inode &inode = inode_of(ino);
        const crypto::WipeOnExit wipe_value(value, size);  // libfuse's request buffer
        const auto owner = xattr_owner(access, inode, /*create=*/true);
        std::string sealed =
            format::seal_xattr_value(access.keys().meta(), name, std::string_view(value, size), owner);
        if (::setxattr(proc_path(inode.fd.get()).c_str(), format::encrypt_xattr_name(access.keys().names(), name).c_str(), sealed.data(),
                       sealed.size(), flags) != 0)
            throw_errno("setxattr");
        fuse_reply_err(req, 0);
    });
}

void Filesystem::getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size) {
    guard(req, "getxattr", [&] {
        // The kernel asks for security.capability before writes (to clear
        // it): a plain reply, without the key, an exception or a syscall.
        if (!is_user_xattr(name)) {
            fuse_reply_err(req, ENODATA);
            return;
        }
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
        const auto owner = xattr_owner(access, inode, /*create=*/false);
        auto plain = format::open_xattr_value(access.keys().meta(), name, sealed, owner);
        if (!plain) {
            spdlog::error("integrity: {}: xattr value fails to authenticate", inode.label());
            throw IntegrityError(inode.label() + ": xattr value fails to authenticate");
        }
        const std::string &value = *plain;  // (clang-analyzer mistakes optional::operator-> for a reallocation)
        const crypto::WipeOnExit wipe_value(value.data(), value.size());
        reply_sized(req, size, value.data(), value.size());
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
