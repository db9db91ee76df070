// store::Tree's extended attributes. Only the user.* namespace is offered:
// its names are encrypted deterministically (AES-SIV) and its values with
// AES-GCM, bound to the attribute name and (format 2) to the file or
// directory carrying them (format/xattr_codec.h).
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>

#include <mutex>
#include <shared_mutex>
#include <string>
#include <vector>

#include <spdlog/spdlog.h>

#include "crypto/wipe.h"
#include "format/xattr_codec.h"
#include "store/tree.h"
#include "store/xattr_list.h"
#include "util/errors.h"

namespace cmkfs::store {

namespace {

// Throws EOPNOTSUPP for namespaces we do not store (ENODATA for "user.").
void require_user_namespace(std::string_view name) {
    if (const int refusal = Tree::xattr_refusal(name))
        throw Error(refusal, "only user.* extended attributes are supported");
}

// The sealed value of backing attribute `backing_name` of `path`.
std::string read_sealed(const std::string &path, const std::string &backing_name) {
    std::string sealed;
    for (;;) {  // the value may grow between the size query and the read
        ssize_t n = ::getxattr(path.c_str(), backing_name.c_str(), nullptr, 0);
        if (n < 0) throw_errno("getxattr");
        sealed.resize(static_cast<size_t>(n));
        n = ::getxattr(path.c_str(), backing_name.c_str(), sealed.data(), sealed.size());
        if (n >= 0) {
            sealed.resize(static_cast<size_t>(n));
            return sealed;
        }
        if (errno != ERANGE) throw_errno("getxattr");
    }
}

}  // namespace

bool Tree::stores_xattr(std::string_view name) {
    return name.starts_with(format::kUserXattrPrefix) && name.size() > format::kUserXattrPrefix.size();
}

int Tree::xattr_refusal(std::string_view name) {
    if (stores_xattr(name)) return 0;
    // A file here has no capabilities (setting them is refused): Docker's
    // vfs driver copies security.capability of every file of a layer and
    // takes only "no value" for an answer.
    if (name.starts_with(format::kUserXattrPrefix) || name == "security.capability") return ENODATA;
    return EOPNOTSUPP;
}

std::vector<uint8_t> Tree::xattr_owner(const Keyring::Access &access, Node &node, bool create) {
    if (version_ < 2) return {};
    if (node.type == S_IFDIR) {
        const format::DirId &id = dir_id(binding(access), node);
        return {id.begin(), id.end()};
    }
    // Linux keeps user.* attributes only on regular files and directories.
    if (node.type != S_IFREG) throw Error(create ? EPERM : ENODATA, "user.* xattrs on this file type");
    {
        std::lock_guard guard(node.content.id_mutex);  // the common case: no open, no read
        if (node.content.id) return {node.content.id->begin(), node.content.id->end()};
    }
    const std::string path = proc_path(node.fd.get());
    UniqueFd fd(::open(path.c_str(), (create ? O_RDWR : O_RDONLY) | O_CLOEXEC));
    // A read-only file can still take xattrs: it only needs writing when it
    // has no header yet.
    if (!fd && create && errno == EACCES) fd.reset(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) throw_errno("open for xattr");
    std::optional<format::FileId> id;
    if (create) {
        std::unique_lock lock(node.content.mutex);
        id = FileContent(fd.get(), node.content, access, version_, node.label()).ensure_file_id();
    } else {
        std::shared_lock lock(node.content.mutex);
        id = FileContent(fd.get(), node.content, access, version_, node.label()).file_id();
    }
    if (!id) {
        // No header, so nothing could have sealed a value for this file.
        spdlog::error("integrity: {}: xattr value on a file with no header", node.label());
        throw IntegrityError(node.label() + ": xattr value on a file with no header");
    }
    return {id->begin(), id->end()};
}

void Tree::setxattr(const Keyring &keyring, Node &node, std::string_view name, std::string_view value,
                    int flags) {
    // "user." has no name to encrypt: EOPNOTSUPP like any other (ext4 says EINVAL).
    if (!stores_xattr(name)) throw Error(EOPNOTSUPP, "only user.* extended attributes are supported");
    const auto access = keyring.access();
    const auto owner = xattr_owner(access, node, /*create=*/true);
    std::string sealed = format::seal_xattr_value(access.keys().meta(), name, value, owner);
    if (::setxattr(proc_path(node.fd.get()).c_str(), format::encrypt_xattr_name(access.keys().names(), name).c_str(),
                   sealed.data(), sealed.size(), flags) != 0)
        throw_errno("setxattr");
}

size_t Tree::getxattr_size(const Keyring &keyring, Node &node, std::string_view name) {
    require_user_namespace(name);
    const auto access = keyring.access();
    const std::string sealed =
        read_sealed(proc_path(node.fd.get()), format::encrypt_xattr_name(access.keys().names(), name));
    if (sealed.size() < format::kXattrValueOverhead) throw IntegrityError(node.label() + ": xattr value is truncated");
    return sealed.size() - format::kXattrValueOverhead;
}

std::string Tree::getxattr(const Keyring &keyring, Node &node, std::string_view name) {
    require_user_namespace(name);
    const auto access = keyring.access();
    const std::string sealed =
        read_sealed(proc_path(node.fd.get()), format::encrypt_xattr_name(access.keys().names(), name));
    if (sealed.size() < format::kXattrValueOverhead) throw IntegrityError(node.label() + ": xattr value is truncated");
    const auto owner = xattr_owner(access, node, /*create=*/false);
    auto plain = format::open_xattr_value(access.keys().meta(), name, sealed, owner);
    if (!plain) {
        spdlog::error("integrity: {}: xattr value fails to authenticate", node.label());
        throw IntegrityError(node.label() + ": xattr value fails to authenticate");
    }
    const std::string &value = *plain;  // (clang-analyzer mistakes optional::operator-> for a reallocation)
    const crypto::WipeOnExit wipe_value(value.data(), value.size());
    return value;  // a copy for the caller, who wipes it; this one is wiped here
}

std::string Tree::listxattr(const Keyring &keyring, Node &node) {
    const auto access = keyring.access();
    const std::string path = proc_path(node.fd.get());
    std::string out;
    for (const auto &entry : list_xattr_names(path)) {
        if (auto plain = format::decrypt_xattr_name(access.keys().names(), entry)) {
            out += *plain;
            out += '\0';
        }
    }
    return out;
}

void Tree::removexattr(const Keyring &keyring, Node &node, std::string_view name) {
    require_user_namespace(name);
    const auto access = keyring.access();
    if (::removexattr(proc_path(node.fd.get()).c_str(),
                      format::encrypt_xattr_name(access.keys().names(), name).c_str()) != 0)
        throw_errno("removexattr");
}

}  // namespace cmkfs::store
