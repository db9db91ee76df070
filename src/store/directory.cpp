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
#include "store/shared_locks.h"
#include "util/errors.h"
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

std::optional<std::string> Directory::open_symlink(std::string_view plain, std::string_view sealed) const {
    return format::open_symlink_target(binding_.format_version, binding_.keys.meta(), place_of(plain), sealed);
}

std::string Directory::read_symlink(int fd_or_dir, const std::string &backing, std::string_view plain,
                                    const std::string &label) const {
    char buf[PATH_MAX + 1];
    ssize_t n = ::readlinkat(fd_or_dir, backing.c_str(), buf, sizeof buf - 1);
    if (n < 0) throw_errno("readlink");
    auto target = open_symlink(plain, std::string_view(buf, static_cast<size_t>(n)));
    if (!target) {
        spdlog::error("integrity: {}: symlink target fails to authenticate for its place "
                      "(edited, swapped or copied from another name or directory)", label);
        throw IntegrityError(label + ": symlink target fails to authenticate");
    }
    return *target;
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
        rename_no_replace(fd_, tmp, name.name);  // two hosts making one name: one wins (shared_locks.h)
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
    {
        UniqueFd dup(::dup(d.fd.get()));
        if (!dup) throw_errno("dup");
        DIR *dir = ::fdopendir(dup.get());
        if (dir == nullptr) throw_errno("opendir");
        dup.release();
        bool empty = true;
        while (dirent *e = ::readdir(dir)) {
            std::string_view n(e->d_name);
            // Id files, and temporaries of a rebind, go with the directory.
            if (n == "." || n == ".." || n.starts_with(kDirIdFile) || n.starts_with(kRenameTempPrefix)) continue;
            empty = false;
            break;
        }
        ::closedir(dir);
        if (!empty) throw Error(ENOTEMPTY, "directory not empty");
    }
    for (const auto &n : list_directory(d.fd.get()))
        if ((n.starts_with(kDirIdFile) && n != kDirIdFile && n != format::kDirIdNextName) ||
            n.starts_with(kRenameTempPrefix))
            ::unlinkat(d.fd.get(), n.c_str(), 0);  // a crashed rebind's or rename's temporary
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
