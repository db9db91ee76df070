#include "store/directory.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>

#include <spdlog/spdlog.h>

#include "crypto/encoding.h"
#include "crypto/kdf.h"
#include "crypto/random.h"
#include "store/symlink_target.h"
#include "util/errors.h"
#include "util/fault.h"
#include "util/file_io.h"
#include "util/unique_fd.h"

namespace cmkfs::store {

namespace {
const std::string kDirIdFile(format::kDirIdName);

std::string_view as_text(std::span<const uint8_t> bytes) {
    return {reinterpret_cast<const char *>(bytes.data()), bytes.size()};
}
}  // namespace

void Directory::write_sidecar(const format::BackingName &name) const {
    if (!name.is_long()) return;
    write_file_atomic(fd_, name.sidecar, crypto::as_bytes(name.full), 0444);
}

void Directory::remove_sidecar(const format::BackingName &name) const {
    if (!name.is_long()) return;
    if (::unlinkat(fd_, name.sidecar.c_str(), 0) != 0 && errno != ENOENT)
        throw_errno("remove long-name sidecar");
}

bool Directory::is_bookkeeping(std::string_view backing) {
    return backing == "." || backing == ".." ||
           (format::is_reserved_name(backing) && !format::NameCodec::is_long_name(backing));
}

std::optional<std::string> Directory::decode(std::string_view backing) const {
    if (is_bookkeeping(backing)) return std::nullopt;
    std::optional<std::string> name;
    if (format::NameCodec::is_long_name(backing)) {
        try {
            auto full = read_file_at(fd_, format::NameCodec::sidecar_for(backing));
            name = codec_.decode_long(id_, backing, as_text(full));
        } catch (const SystemError &) {
            name.reset();
        }
    } else {
        name = codec_.decode(id_, backing);
    }
    if (!name) spdlog::warn("integrity: directory entry {} fails to authenticate; hidden", backing);
    return name;
}

std::string Directory::seal_symlink(std::string_view plain, std::string_view target) const {
    return format::seal_symlink_target(binding_.format_version, binding_.keys.meta(), place_of(plain), target);
}

std::optional<std::string> Directory::open_symlink(std::string_view plain, std::string_view raw) const {
    return open_link_target(fd_, raw, binding_.format_version, binding_.keys.meta(), place_of(plain));
}

void Directory::make_symlink(const std::string &backing, std::string_view plain, std::string_view target) const {
    make_link(fd_, backing, binding_.format_version, binding_.keys.meta(), place_of(plain), target);
}

std::optional<std::string> Directory::long_target_sidecar(const std::string &backing) const {
    if (!format::keeps_long_targets(binding_.format_version)) return std::nullopt;
    return long_target_sidecar_of(fd_, backing);
}

void Directory::remove_long_target_sidecar(const std::optional<std::string> &sidecar) const {
    store::remove_long_target_sidecar(fd_, sidecar);
}

std::string Directory::read_symlink(int fd_or_dir, const std::string &backing, std::string_view plain,
                                    const std::string &label) const {
    auto target = open_symlink(plain, read_backing_link(fd_or_dir, backing));
    if (!target) {
        spdlog::error("integrity: {}: symlink target fails to authenticate for its place "
                      "(edited, swapped or copied from another name or directory, or its long-target sidecar "
                      "is missing or damaged)", label);
        throw IntegrityError(label + ": symlink target fails to authenticate");
    }
    return *target;
}

void rename_no_replace(int dirfd, const std::string &from, const std::string &to, const char *what) {
    try {
        fault_point("rename", "noreplace");  // tests: a backing filesystem without the flag
        if (::renameat2(dirfd, from.c_str(), dirfd, to.c_str(), RENAME_NOREPLACE) == 0) return;
        if (errno != EINVAL) throw_errno(what);
    } catch (const SystemError &e) {
        if (e.error_number() != EINVAL) throw;
    }
    struct stat st {};
    if (::fstatat(dirfd, to.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) throw SystemError(EEXIST, what);
    if (errno != ENOENT) throw_errno(what);
    if (::renameat(dirfd, from.c_str(), dirfd, to.c_str()) != 0) throw_errno(what);
}

void Directory::make_subdirectory(const format::BackingName &name, std::string_view plain, mode_t mode) const {
    // Build it under a temporary name so the real name never exists without an id.
    uint8_t rnd[8];
    crypto::random_bytes(rnd);
    const std::string tmp = std::string(format::kReservedPrefix) + ".mkdir." + crypto::hex_encode(rnd);
    if (::mkdirat(fd_, tmp.c_str(), 0700) != 0) throw_errno("mkdir");
    try {
        UniqueFd sub(::openat(fd_, tmp.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        if (!sub) throw_errno("open new directory");
        format::DirId id{};
        crypto::random_bytes(id);
        write_dir_id(sub.get(), binding_, id, place_of(plain));
        if (::fchmod(sub.get(), mode & 07777) != 0) throw_errno("chmod new directory");
        write_sidecar(name);
        rename_no_replace(fd_, tmp, name.name, "mkdir");
    } catch (...) {
        UniqueFd sub(::openat(fd_, tmp.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        if (sub) ::unlinkat(sub.get(), kDirIdFile.c_str(), 0);
        ::unlinkat(fd_, tmp.c_str(), AT_REMOVEDIR);
        throw;
    }
}

Directory::Detached Directory::detach_empty_subdirectory(const format::BackingName &name) const {
    Detached d;
    d.fd.reset(::openat(fd_, name.name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!d.fd) throw_errno("open subdirectory");
    // One pass (rm -rf makes one rmdir per directory): it stops at the first
    // entry that is not bookkeeping, and notes the leftovers to remove.
    std::vector<std::string> leftovers;
    {
        UniqueFd dup(::dup(d.fd.get()));
        if (!dup) throw_errno("dup");
        DIR *dir = ::fdopendir(dup.get());
        if (dir == nullptr) throw_errno("opendir");
        dup.release();
        bool empty = true;
        while (dirent *e = ::readdir(dir)) {  // NOLINT(concurrency-mt-unsafe): a stream of our own
            std::string_view n(e->d_name);
            if (n == "." || n == "..") continue;
            // Id files, and temporaries of a rebind, go with the directory.
            // So do long-target sidecars: with no symlink left, any is an orphan.
            if (!n.starts_with(kDirIdFile) && !n.starts_with(kRenameTempPrefix) && !format::is_long_target_sidecar(n)) {
                empty = false;
                break;
            }
            // The id files themselves are DirIdFiles::take's (below); the rest
            // is a crashed rebind's or rename's temporary, or an orphan sidecar.
            if (n != kDirIdFile && n != format::kDirIdNextName) leftovers.emplace_back(n);
        }
        ::closedir(dir);
        if (!empty) throw Error(ENOTEMPTY, "directory not empty");
    }
    for (const auto &n : leftovers) ::unlinkat(d.fd.get(), n.c_str(), 0);
    d.ids = DirIdFiles::take(d.fd.get());
    return d;
}

void Directory::remove_subdirectory(const format::BackingName &name) const {
    Detached d = detach_empty_subdirectory(name);
    if (::unlinkat(fd_, name.name.c_str(), AT_REMOVEDIR) != 0) {
        int err = errno;
        d.restore();  // someone raced a create in
        throw SystemError(err, "rmdir");
    }
    remove_sidecar(name);
}

}  // namespace cmkfs::store
