#include "store/rename.h"

#include <fcntl.h>
#include <linux/limits.h>
#include <stdio.h>
#include <unistd.h>

#include <cerrno>

#include "crypto/encoding.h"
#include "crypto/random.h"
#include "crypto/wipe.h"
#include "store/dir_binding.h"
#include "util/errors.h"
#include "util/fault.h"
#include "util/unique_fd.h"

namespace cmkfs::store {

namespace {

std::string label_of(const Directory &dir, const std::string &backing) {
    char link[40];
    std::snprintf(link, sizeof link, "/proc/self/fd/%d", dir.fd());
    char path[PATH_MAX];
    ssize_t n = ::readlink(link, path, sizeof path - 1);
    return (n > 0 ? std::string(path, static_cast<size_t>(n)) : std::string("?")) + "/" + backing;
}

// One directory whose id file is being rebound for this rename.
struct Rebinding {
    UniqueFd fd;
    void abandon() const {
        if (fd) abandon_rebind(fd.get());
    }
};

Rebinding rebind(const Directory &dir, const std::string &backing, const format::Place &from,
                 const format::Place &to) {
    Rebinding r;
    r.fd.reset(::openat(dir.fd(), backing.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!r.fd) throw_errno("open directory to rename");
    // An earlier rename of it that crashed after its backing rename is
    // finished first: `.cmkfs.dirid` must verify here before `.next` is reused.
    const format::DirId id = settle_dir_id(r.fd.get(), dir.binding(), from, label_of(dir, backing));
    prepare_rebind(r.fd.get(), dir.binding(), id, to);
    return r;
}

RenameOutcome rename_symlink(const Directory &from, std::string_view name, const format::BackingName &old_b,
                             const Directory &to, std::string_view newname, const format::BackingName &new_b,
                             const struct stat &src, unsigned flags, const RenameStepHook &step) {
    const std::string target = from.read_symlink(from.fd(), old_b.name, name, label_of(from, old_b.name));
    const crypto::WipeOnExit wipe_target(target.data(), target.size());
    uint8_t rnd[8];
    crypto::random_bytes(rnd);
    const std::string tmp = std::string(kRenameTempPrefix) + crypto::hex_encode(rnd);
    // Format 3: a long target gets a new sidecar bound to the new place; the
    // old one (and a replaced destination's) goes once the rename is done.
    const auto old_sidecar = from.long_target_sidecar(old_b.name);
    const auto replaced_sidecar = to.long_target_sidecar(new_b.name);
    to.make_symlink(tmp, newname, target);
    try {
        if ((src.st_uid != ::geteuid() || src.st_gid != ::getegid()) &&
            ::fchownat(to.fd(), tmp.c_str(), src.st_uid, src.st_gid, AT_SYMLINK_NOFOLLOW) != 0 && errno != EPERM)
            throw_errno("chown symlink");
        const timespec times[2] = {src.st_atim, src.st_mtim};
        if (::utimensat(to.fd(), tmp.c_str(), times, AT_SYMLINK_NOFOLLOW) != 0) throw_errno("set symlink times");
        to.write_sidecar(new_b);
        if (step) step("rename");
        const int rc = (flags & RENAME_NOREPLACE)
                           ? ::renameat2(to.fd(), tmp.c_str(), to.fd(), new_b.name.c_str(), RENAME_NOREPLACE)
                           : ::renameat(to.fd(), tmp.c_str(), to.fd(), new_b.name.c_str());
        if (rc != 0) throw SystemError(errno, "rename");
    } catch (...) {
        const auto new_sidecar = to.long_target_sidecar(tmp);
        ::unlinkat(to.fd(), tmp.c_str(), 0);
        to.remove_long_target_sidecar(new_sidecar);
        throw;
    }
    to.remove_long_target_sidecar(replaced_sidecar);
    if (step) step("remove-source");
    if (::unlinkat(from.fd(), old_b.name.c_str(), 0) != 0 && errno != ENOENT) throw_errno("remove renamed symlink");
    from.remove_sidecar(old_b);
    from.remove_long_target_sidecar(old_sidecar);
    return {src};
}

}  // namespace

RenameOutcome rename_entry(const Directory &from, std::string_view name, const Directory &to,
                           std::string_view newname, unsigned flags, const RenameStepHook &before_step) {
    auto step = [&](const char *what) {
        if (before_step) before_step(what);
        fault_point("rename", what);  // crash tests of the mounted daemon (util/fault.h)
    };
    if (flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE)) throw Error(EINVAL, "rename flags");
    const auto old_b = from.encode(name);
    const auto new_b = to.encode(newname);
    struct stat src {}, dst {};
    const bool have_src = ::fstatat(from.fd(), old_b.name.c_str(), &src, AT_SYMLINK_NOFOLLOW) == 0;
    const bool have_dst = ::fstatat(to.fd(), new_b.name.c_str(), &dst, AT_SYMLINK_NOFOLLOW) == 0;
    const bool same_inode = have_src && have_dst && src.st_ino == dst.st_ino && src.st_dev == dst.st_dev;
    const Binding &binding = from.binding();
    const bool bind = binding.binds_place() && have_src && !same_inode;

    if (bind) {
        const bool links = S_ISLNK(src.st_mode) || (have_dst && S_ISLNK(dst.st_mode));
        if ((flags & RENAME_EXCHANGE) && links)
            throw Error(EINVAL, "RENAME_EXCHANGE of a symlink is not supported: its target is bound to its place");
        if (S_ISLNK(src.st_mode) && !(flags & RENAME_EXCHANGE))
            return rename_symlink(from, name, old_b, to, newname, new_b, src, flags, before_step);
    }

    Rebinding moved, exchanged;
    std::optional<Directory::Detached> replaced;
    // A long-target symlink replaced by this rename leaves its sidecar behind.
    const auto replaced_sidecar = have_dst && S_ISLNK(dst.st_mode) && !same_inode && !(flags & RENAME_EXCHANGE)
                                      ? to.long_target_sidecar(new_b.name)
                                      : std::nullopt;
    try {
        if (bind && S_ISDIR(src.st_mode)) {
            step("bind");
            moved = rebind(from, old_b.name, from.place_of(name), to.place_of(newname));
        }
        if (bind && (flags & RENAME_EXCHANGE) && have_dst && S_ISDIR(dst.st_mode)) {
            step("bind");
            exchanged = rebind(to, new_b.name, to.place_of(newname), from.place_of(name));
        }
        // A directory replacing an empty one: the target still holds its id
        // files in the backing, so take them out first (put back on failure).
        if (!(flags & (RENAME_EXCHANGE | RENAME_NOREPLACE)) && have_src && have_dst && !same_inode &&
            S_ISDIR(src.st_mode) && S_ISDIR(dst.st_mode))
            replaced = to.detach_empty_subdirectory(new_b);
        to.write_sidecar(new_b);
    } catch (const Error &) {
        moved.abandon();
        exchanged.abandon();
        throw;
    }
    step("rename");
    if (::renameat2(from.fd(), old_b.name.c_str(), to.fd(), new_b.name.c_str(), flags) != 0) {
        const int err = errno;
        if (replaced) replaced->restore();
        moved.abandon();
        exchanged.abandon();
        throw SystemError(err, "rename");
    }
    step("finish");
    if (moved.fd) finish_rebind(moved.fd.get());
    if (exchanged.fd) finish_rebind(exchanged.fd.get());
    if (!(flags & RENAME_EXCHANGE) && !same_inode) from.remove_sidecar(old_b);
    to.remove_long_target_sidecar(replaced_sidecar);
    return {};
}

}  // namespace cmkfs::store
