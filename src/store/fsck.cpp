#include "store/fsck.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cstring>

#include "format/name_codec.h"
#include "format/xattr_codec.h"
#include "store/content.h"
#include "store/directory.h"
#include "store/link_record.h"
#include "store/reencrypt_xattrs.h"
#include "util/errors.h"
#include "util/file_io.h"
#include "util/unique_fd.h"

namespace cmkfs::store {

namespace {

class Checker {
public:
    Checker(const Keyring::Access &access, uint32_t format_version, bool plaintext_names,
            const std::function<void(const FsckProgress &)> &progress)
        : access_(access), binding_{format_version, access.keys()},
          codec_(plaintext_names ? nullptr : &access.keys().names()), version_(format_version),
          progress_(progress) {}

    // The root's id comes from the (authenticated) header; in v2 its
    // `.cmkfs.dirid` must carry it, bound to the root, and its xattrs are
    // bound to it.
    void root(int fd, const format::DirId &id, const std::string &backing) {
        try {
            if (read_dir_id(fd, binding_, format::Place::root(), backing).id != id)
                problem("/", backing, "directory id differs from the header's root_dir_id");
        } catch (const IntegrityError &e) {
            problem("/", backing, dir_id_problem(e));
        }
        xattrs(fd, "", backing, owner_bytes(id));
        directory(fd, id, "", backing);
    }

    void directory(int fd, const format::DirId &id, const std::string &path, const std::string &backing) {
        ++report_.totals.directories;
        Directory dir(fd, id, codec_, binding_);
        std::vector<std::string> names;
        try {
            names = list_directory(fd);
        } catch (const SystemError &) {
            problem(path, backing, "cannot read directory");
            return;
        }
        for (const auto &name : names) {
            if (Directory::is_bookkeeping(name)) continue;
            std::string child_backing = backing;
            child_backing += '/';
            child_backing += name;
            auto plain = dir.decode(name);
            if (!plain) {
                problem(child_backing, child_backing, "name fails to authenticate");
                continue;
            }
            entry(dir, name, *plain, path + "/" + *plain, child_backing);
        }
    }

    FsckReport take() { return std::move(report_); }

private:
    static std::string dir_id_problem(const IntegrityError &e) {
        const std::string what = e.what();
        if (what.find("another place") != std::string::npos)
            return "directory id is bound to another place (swapped, moved or copied directory, or moved .cmkfs.dirid)";
        return "directory id is missing or malformed";
    }

    void entry(const Directory &dir, const std::string &name, const std::string &plain, const std::string &path,
               const std::string &backing) {
        const int parent = dir.fd();
        struct stat st {};
        if (::fstatat(parent, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
            problem(path, backing, "cannot stat");
            return;
        }
        if (S_ISDIR(st.st_mode)) {
            UniqueFd fd(::openat(parent, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
            if (!fd) return problem(path, backing, "cannot open directory");
            format::DirId id{};
            try {
                // An interrupted rename (only `.cmkfs.dirid.next` verifies) is no
                // damage: the next lookup or rename of the directory finishes it.
                id = read_dir_id(fd.get(), binding_, dir.place_of(plain), backing).id;
            } catch (const IntegrityError &e) {
                return problem(path, backing, dir_id_problem(e));
            }
            xattrs(fd.get(), path, backing, owner_bytes(id));
            directory(fd.get(), id, path, backing);
        } else if (S_ISREG(st.st_mode)) {
            // O_NONBLOCK and a second look at the opened file: the entry may
            // have been swapped for a FIFO since the fstatat.
            UniqueFd fd(::openat(parent, name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
            if (!fd) return problem(path, backing, "cannot open file");
            struct stat opened {};
            if (::fstat(fd.get(), &opened) != 0 || !S_ISREG(opened.st_mode))
                return problem(path, backing, "not a regular file");
            ContentState state;
            FileContent content(fd.get(), state, access_, version_, backing);
            for (uint64_t block : content.verify_all())
                problem(path, backing, "block " + std::to_string(block) + " fails authentication");
            std::optional<format::FileId> id;
            try {
                id = content.file_id();
            } catch (const IntegrityError &) {
                // reported by verify_all; its xattrs cannot be checked against it
            }
            xattrs(fd.get(), path, backing, id ? owner_bytes(*id) : std::vector<uint8_t>{}, !id);
            if (version_ >= 2) hard_links(fd.get(), st, id, path, backing);
            ++report_.totals.files;
            report_.totals.bytes += content.size();
            progress_(report_.totals);
        } else if (S_ISLNK(st.st_mode)) {
            char buf[PATH_MAX];
            ssize_t n = ::readlinkat(parent, name.c_str(), buf, sizeof buf);
            if (n < 0 || !dir.open_symlink(plain, std::string_view(buf, static_cast<size_t>(n)))) {
                problem(path, backing,
                        binding_.binds_place()
                            ? "symlink target fails to authenticate for its place (edited, swapped or copied "
                              "from another name or directory)"
                            : "symlink target fails to authenticate");
            } else if (binding_.binds_place() && st.st_nlink > 1) {
                problem(path, backing, "symlink has " + std::to_string(st.st_nlink) +
                                           " backing links (format v2 never hard-links a symlink)");
            }
            ++report_.totals.files;
        } else {
            ++report_.totals.files;
        }
    }

    // Format 2 binds values to `owner` (file or directory id); `no_owner`: a
    // regular file without a header, on which no value can be valid.
    template <class Id>
    std::vector<uint8_t> owner_bytes(const Id &id) const {
        if (version_ < 2) return {};
        return {id.begin(), id.end()};
    }

    void xattrs(int fd, const std::string &path, const std::string &backing, const std::vector<uint8_t> &owner,
                bool no_owner = false) {
        char list[65536];
        ssize_t n = ::flistxattr(fd, list, sizeof list);
        if (n <= 0) return;
        for (ssize_t pos = 0; pos < n;) {
            std::string name(list + pos);
            pos += static_cast<ssize_t>(name.size()) + 1;
            if (!name.starts_with(format::kUserXattrPrefix) || name.starts_with(kReservedXattrPrefix)) continue;
            auto plain_name = format::decrypt_xattr_name(access_.keys().names(), name);
            if (!plain_name) {
                problem(path, backing, "xattr name " + name + " fails to authenticate");
                continue;
            }
            std::string value(65536, '\0');
            ssize_t len = ::fgetxattr(fd, name.c_str(), value.data(), value.size());
            value.resize(len < 0 ? 0 : static_cast<size_t>(len));
            if ((no_owner && version_ >= 2) ||
                !format::open_xattr_value(access_.keys().meta(), *plain_name, value, owner))
                problem(path, backing, "xattr " + *plain_name + " value fails to authenticate");
        }
    }

    // Format 2: every backing link of a regular file must be one cmkfs made
    // (store/link_record.h); each name of an inode with extra links is named.
    void hard_links(int fd, const struct stat &st, const std::optional<format::FileId> &id, const std::string &path,
                    const std::string &backing) {
        try {
            const uint64_t extra = unexplained_links(fd, st.st_nlink, access_.keys().meta(), id, backing);
            if (extra > 0)
                problem(path, backing, std::to_string(st.st_nlink) + " backing hard links, " + std::to_string(extra) +
                                           " of them not made through cmkfs");
        } catch (const IntegrityError &) {
            problem(path, backing, "hard-link record fails to authenticate");
        }
    }

    void problem(const std::string &path, const std::string &backing, const std::string &what) {
        report_.problems.push_back({path, backing, what});
    }

    const Keyring::Access &access_;
    Binding binding_;
    format::NameCodec codec_;
    uint32_t version_;
    const std::function<void(const FsckProgress &)> &progress_;
    FsckReport report_;
};

}  // namespace

FsckReport check_volume(const Volume &volume, const Keyring::Access &access,
                        const std::function<void(const FsckProgress &)> &progress) {
    Checker checker(access, volume.header().format_version, volume.header().plaintext_names, progress);
    checker.root(volume.root_fd(), volume.header().root_dir_id, volume.backing());
    return checker.take();
}

}  // namespace cmkfs::store
