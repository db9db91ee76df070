#include "store/reencrypt_xattrs.h"

#include <sys/xattr.h>

#include <cerrno>
#include <optional>
#include <vector>

#include "format/xattr_codec.h"
#include "store/xattr_list.h"
#include "util/errors.h"

namespace cmkfs::store {

namespace {

std::string get_value(const std::string &path, const std::string &name) {
    std::string value;
    for (;;) {
        ssize_t n = ::getxattr(path.c_str(), name.c_str(), nullptr, 0);
        if (n < 0) throw_errno("getxattr " + name);
        value.resize(static_cast<size_t>(n));
        n = ::getxattr(path.c_str(), name.c_str(), value.data(), value.size());
        if (n >= 0) {
            value.resize(static_cast<size_t>(n));
            return value;
        }
        if (errno != ERANGE) throw_errno("getxattr " + name);
    }
}

void set_value(const std::string &path, const std::string &name, const std::string &value) {
    if (::setxattr(path.c_str(), name.c_str(), value.data(), value.size(), 0) != 0)
        throw_errno("setxattr " + name);
}

struct Resealed {
    std::string name;
    std::string value;
};

// The new-key form of a user.* attribute; nullopt when it already is new.
std::span<const uint8_t> bound(uint32_t version, std::span<const uint8_t> owner) {
    return version >= 2 ? owner : std::span<const uint8_t>{};
}

std::optional<Resealed> reseal(const std::string &path, const std::string &name, const ReencryptKeys &keys,
                               const XattrOwners &owners, const std::string &label) {
    if (format::decrypt_xattr_name(keys.new_keys.names(), name)) return std::nullopt;
    auto plain_name = format::decrypt_xattr_name(keys.old_keys.names(), name);
    if (!plain_name) throw IntegrityError(label + ": xattr name " + name + " fails to authenticate");
    auto value = (keys.old_version >= 2 && owners.old_owner.empty())
        ? std::nullopt
        : format::open_xattr_value(keys.old_keys.meta(), *plain_name, get_value(path, name),
                                   bound(keys.old_version, owners.old_owner));
    if (!value) throw IntegrityError(label + ": the value of xattr " + name + " fails to authenticate");
    return Resealed{format::encrypt_xattr_name(keys.new_keys.names(), *plain_name),
                    format::seal_xattr_value(keys.new_keys.meta(), *plain_name, *value,
                                             bound(keys.new_version, owners.new_owner))};
}

bool is_user(const std::string &name) { return name.starts_with(format::kUserXattrPrefix); }

}  // namespace

bool is_reserved_xattr(std::string_view name) { return name.starts_with(kReservedXattrPrefix); }

bool has_user_xattrs(const std::string &path) {
    for (const auto &name : list_xattr_names(path, XattrsUnsupported::empty))
        if (is_user(name) && !is_reserved_xattr(name)) return true;
    return false;
}

std::string fd_path(int fd) { return "/proc/self/fd/" + std::to_string(fd); }

void copy_xattrs_resealed(const std::string &from, const std::string &to, const ReencryptKeys &keys,
                          const XattrOwners &owners, const std::string &label) {
    for (const auto &name : list_xattr_names(from, XattrsUnsupported::empty)) {
        if (!is_user(name)) {
            // security.* and the like belong to the host: carry them over when allowed.
            try {
                set_value(to, name, get_value(from, name));
            } catch (const SystemError &e) {
                if (e.error_number() != EPERM && e.error_number() != ENOTSUP) throw;
            }
            continue;
        }
        if (name == kReencryptTimesXattr) continue;
        if (is_reserved_xattr(name)) continue;  // cmkfs's own records are rebuilt by their owners
        if (auto resealed = reseal(from, name, keys, owners, label)) set_value(to, resealed->name, resealed->value);
        else set_value(to, name, get_value(from, name));
    }
}

void convert_xattrs_in_place(const std::string &path, const ReencryptKeys &keys, const XattrOwners &owners,
                             const std::string &label) {
    for (const auto &name : list_xattr_names(path, XattrsUnsupported::empty)) {
        if (!is_user(name) || is_reserved_xattr(name)) continue;
        auto resealed = reseal(path, name, keys, owners, label);
        if (!resealed) continue;
        // New first, then old: a crash in between leaves both, and the old one
        // is converted again (same plaintext) on resume.
        set_value(path, resealed->name, resealed->value);
        if (::removexattr(path.c_str(), name.c_str()) != 0 && errno != ENODATA) throw_errno("removexattr " + name);
    }
}

}  // namespace cmkfs::store
