#include "store/symlink_target.h"

#include <fcntl.h>
#include <linux/limits.h>
#include <unistd.h>

#include <cerrno>

#include "crypto/random.h"
#include "util/errors.h"
#include "util/file_io.h"

namespace cmkfs::store {

std::string read_backing_link(int fd_or_dir, const std::string &name) {
    char buf[PATH_MAX + 1];
    const ssize_t n = ::readlinkat(fd_or_dir, name.c_str(), buf, sizeof buf - 1);
    if (n < 0) throw_errno("readlink");
    return std::string(buf, static_cast<size_t>(n));
}

std::optional<std::string> open_link_target(int dir, std::string_view raw, uint32_t version,
                                            const crypto::MetaKey &key, const format::Place &place) {
    if (format::keeps_long_targets(version)) {
        if (const auto ref = format::parse_long_target_marker(raw)) {
            if (dir < 0) return std::nullopt;
            std::vector<uint8_t> sealed;
            try {
                sealed = read_file_at(dir, format::long_target_sidecar_name(ref->id));
            } catch (const SystemError &) {
                return std::nullopt;  // missing, or not a small regular file: damage
            }
            auto target = format::open_long_target(
                key, ref->id, place, std::string_view(reinterpret_cast<const char *>(sealed.data()), sealed.size()));
            // The marker's length is not authenticated: it must agree.
            if (target && target->size() != ref->length) return std::nullopt;
            return target;
        }
    }
    return format::open_symlink_target(version, key, place, raw);
}

void make_link(int dir, const std::string &name, uint32_t version, const crypto::MetaKey &key,
               const format::Place &place, std::string_view target) {
    if (target.size() > format::kMaxSymlinkTarget) throw Error(ENAMETOOLONG, "symlink target too long");
    const std::string sealed = format::seal_symlink_target(version, key, place, target);
    if (sealed.size() < PATH_MAX) {
        if (::symlinkat(sealed.c_str(), dir, name.c_str()) != 0) throw_errno("symlink");
        return;
    }
    if (!format::keeps_long_targets(version))
        throw Error(ENAMETOOLONG, "symlink target too long for a backing symlink (format 3 keeps it in a sidecar)");
    format::LongTargetRef ref;
    crypto::random_bytes(ref.id);
    ref.length = target.size();
    const std::string sidecar = format::long_target_sidecar_name(ref.id);
    const std::string content = format::seal_long_target(key, ref.id, place, target);
    write_file_atomic(dir, sidecar, std::span(reinterpret_cast<const uint8_t *>(content.data()), content.size()),
                      0400);
    if (::symlinkat(format::long_target_marker(ref).c_str(), dir, name.c_str()) != 0) {
        const int err = errno;
        ::unlinkat(dir, sidecar.c_str(), 0);
        throw SystemError(err, "symlink");
    }
}

std::optional<std::string> long_target_sidecar_of(int dir, const std::string &name) {
    char buf[format::kMaxMarkerLength + 1];
    const ssize_t n = ::readlinkat(dir, name.c_str(), buf, sizeof buf);
    if (n < 0 || static_cast<size_t>(n) > format::kMaxMarkerLength) return std::nullopt;
    const auto ref = format::parse_long_target_marker(std::string_view(buf, static_cast<size_t>(n)));
    if (!ref) return std::nullopt;
    return format::long_target_sidecar_name(ref->id);
}

void remove_long_target_sidecar(int dir, const std::optional<std::string> &sidecar) {
    if (!sidecar) return;
    if (::unlinkat(dir, sidecar->c_str(), 0) != 0 && errno != ENOENT) throw_errno("remove long-target sidecar");
}

std::optional<size_t> long_target_length(int fd, off_t backing_size) {
    if (backing_size < static_cast<off_t>(format::kMinMarkerLength) ||
        backing_size > static_cast<off_t>(format::kMaxMarkerLength))
        return std::nullopt;
    const auto ref = format::parse_long_target_marker(read_backing_link(fd, ""));
    if (!ref) return std::nullopt;
    return ref->length;
}

}  // namespace cmkfs::store
