#include "store/reencrypt_tree.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "crypto/kdf.h"
#include "format/file_layout.h"
#include "store/dir_binding.h"
#include "store/directory.h"
#include "store/link_record.h"
#include "store/reencrypt_content.h"
#include "store/reencrypt_xattrs.h"
#include "store/symlink_target.h"
#include "util/errors.h"
#include "util/fault.h"
#include "util/file_io.h"
#include "util/unique_fd.h"

namespace cmkfs::store {

namespace {

constexpr std::string_view kStagingPrefix = ".cmkfs.reenc.link.";
// Old names removed per directory fsync: bounds the fsyncs per entry without
// keeping an unbounded list.
constexpr size_t kBatch = 256;

bool exists_at(int dirfd, const std::string &name) {
    struct stat st {};
    if (::fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) return true;
    if (errno != ENOENT) throw_errno("stat " + name);
    return false;
}

void unlink_if_present(int dirfd, const std::string &name, int flags = 0) {
    if (::unlinkat(dirfd, name.c_str(), flags) != 0 && errno != ENOENT) throw_errno("remove " + name);
}

void fsync_fd(int fd, const std::string &label) {
    if (::fsync(fd) != 0) throw SystemError(errno, "fsync " + label);
}

UniqueFd open_subdirectory(int dirfd, const std::string &name, const std::string &label) {
    UniqueFd fd(::openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!fd) throw SystemError(errno, "open " + label);
    return fd;
}

// A directory's atime/mtime from before the walk renamed anything in it,
// kept in an xattr on the directory itself so that a resumed run restores
// the original times, not those of the interrupted run.
void remember_times(int fd) {
    const std::string path = fd_path(fd);
    if (::getxattr(path.c_str(), kReencryptTimesXattr.data(), nullptr, 0) >= 0) return;
    if (errno != ENODATA) throw_errno("read saved directory times");
    struct stat st {};
    if (::fstat(fd, &st) != 0) throw_errno("stat directory");
    const timespec times[2] = {st.st_atim, st.st_mtim};
    if (::setxattr(path.c_str(), kReencryptTimesXattr.data(), times, sizeof times, XATTR_CREATE) != 0)
        throw_errno("save directory times");
}

void restore_times(int fd) {
    const std::string path = fd_path(fd);
    timespec times[2];
    if (::getxattr(path.c_str(), kReencryptTimesXattr.data(), times, sizeof times) != sizeof times) {
        if (errno == ENODATA) return;
        throw_errno("read saved directory times");
    }
    if (::futimens(fd, times) != 0) throw_errno("restore directory times");
    if (::removexattr(path.c_str(), kReencryptTimesXattr.data()) != 0 && errno != ENODATA)
        throw_errno("remove saved directory times");
}

void write_sidecar(int dirfd, const format::BackingName &name) {
    if (name.is_long()) write_file_atomic(dirfd, name.sidecar, crypto::as_bytes(name.full), 0444);
}

// Offline, under the exclusive store lock: no other host can make `to`, so a
// backing filesystem without RENAME_NOREPLACE (ceph-fuse) may check and rename.
void rename_noreplace(int dirfd, const std::string &from, const std::string &to, const std::string &label) {
    const std::string what = "rename " + label;
    rename_no_replace(dirfd, from, to, what.c_str());
}

std::optional<format::FileId> read_file_id(int fd) {
    uint8_t raw[format::kFileHeaderSize];
    const size_t n = pread_full(fd, raw, 0);
    if (n == 0) return std::nullopt;
    auto header = format::FileHeader::decode(std::span(raw, n));
    if (!header) throw IntegrityError("file header is missing or has a bad magic/version");
    return header->id;
}

void count(int dirfd, TreeCounts &counts) {
    ++counts.directories;
    for (const auto &name : list_directory(dirfd)) {
        if (Directory::is_bookkeeping(name)) continue;
        struct stat st {};
        if (::fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
        if (S_ISDIR(st.st_mode)) {
            UniqueFd sub(::openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
            if (sub) count(sub.get(), counts);
            continue;
        }
        ++counts.files;
        if (S_ISREG(st.st_mode)) counts.bytes += format::plain_size_for(static_cast<uint64_t>(st.st_size)).size;
    }
}

}  // namespace

struct TreeConverter::Pending {
    std::vector<std::string> old_names;     // replaced entries, removed once the new ones are durable
    std::vector<std::string> old_sidecars;  // of old long names, removed after their entries
    size_t size() const { return old_names.size() + old_sidecars.size(); }

    void retire(const std::string &old_name, bool unlink_entry) {
        if (unlink_entry) old_names.push_back(old_name);
        if (format::NameCodec::is_long_name(old_name))
            old_sidecars.push_back(format::NameCodec::sidecar_for(old_name));
    }
};

TreeCounts count_tree(int root_fd) {
    TreeCounts counts;
    count(root_fd, counts);
    return counts;
}

TreeConverter::TreeConverter(int root_fd, std::string backing, bool plaintext_names, const ReencryptKeys &keys,
                             std::function<void(const TreeCounts &)> progress)
    : root_fd_(root_fd), backing_(std::move(backing)), plaintext_names_(plaintext_names), keys_(keys),
      old_codec_(plaintext_names ? nullptr : &keys.old_keys.names()),
      new_codec_(plaintext_names ? nullptr : &keys.new_keys.names()), progress_(std::move(progress)) {}

void TreeConverter::run(const format::DirId &root_id) {
    remember_times(root_fd_);
    rebind_dir_id(root_fd_, format::Place::root(), backing_);
    directory(root_fd_, root_id, backing_);
}

void TreeConverter::rebind_dir_id(int fd, const format::Place &place, const std::string &label) const {
    const Binding new_binding{keys_.new_version, keys_.new_keys};
    if (auto done = try_read_dir_id(fd, new_binding, place)) {
        // Done already (by an interrupted run), possibly with the rename of `.next` left.
        if (done->pending) finish_rebind(fd);
        return;
    }
    const format::DirId id = settle_dir_id(fd, Binding{keys_.old_version, keys_.old_keys}, place, label);
    const auto bytes = format::encode_dir_id_file(new_binding.format_version, keys_.new_keys.dir_ids(), id, place);
    write_file_atomic(fd, std::string(format::kDirIdNextName), bytes, 0444);
    finish_rebind(fd);
}

void TreeConverter::remove_staging() const {
    for (const auto &name : list_directory(root_fd_))
        if (name.starts_with(kStagingPrefix)) unlink_if_present(root_fd_, name);
}

void TreeConverter::directory(int fd, const format::DirId &id, const std::string &label) {
    ++counts_.directories;
    remember_times(fd);
    for (const auto &name : list_directory(fd))
        if (name.starts_with(kReencryptTempPrefix) || name.starts_with(kRenameTempPrefix))
            unlink_if_present(fd, name);  // an interrupted build, or a symlink rename's leftover
    // A directory keeps its id (only its binding to its place changes, done
    // before this), so its values are bound to the same owner on both sides.
    convert_xattrs_in_place(fd_path(fd), keys_, {id, id}, label);

    Pending pending;
    std::vector<std::string> subdirs;
    for (const auto &name : list_directory(fd)) {
        if (Directory::is_bookkeeping(name)) continue;
        std::string entry_label = label;
        entry_label += '/';
        entry_label += name;
        entry(fd, id, name, entry_label, pending, subdirs);
        if (pending.size() >= kBatch) flush(fd, pending);
    }
    flush(fd, pending);
    // Sidecars whose entry is gone: of old long names removed by an
    // interrupted run, or of new ones whose entry never got renamed in.
    for (const auto &name : list_directory(fd)) {
        if (!format::NameCodec::is_sidecar(name)) continue;
        if (!exists_at(fd, name.substr(0, name.size() - format::kLongNameSidecarSuffix.size())))
            unlink_if_present(fd, name);
    }
    fsync_fd(fd, label);
    restore_times(fd);
    progress_(counts_);

    for (const auto &name : subdirs) {
        std::string sub_label = label;
        sub_label += '/';
        sub_label += name;
        UniqueFd sub = open_subdirectory(fd, name, sub_label);
        directory(sub.get(), read_dir_id(sub.get(), sub_label), sub_label);
    }
}

void TreeConverter::entry(int dirfd, const format::DirId &id, const std::string &name, const std::string &label,
                          Pending &pending, std::vector<std::string> &subdirs) {
    struct stat st {};
    if (::fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) throw SystemError(errno, "stat " + label);
    std::string plain;
    const KeyGeneration by_name =
        plaintext_names_ ? KeyGeneration::keyless : name_generation(dirfd, id, name, label, plain);

    if (plaintext_names_) plain = name;
    const format::Place place = format::Place::in(id, plain);

    if (S_ISDIR(st.st_mode)) {
        {
            // Its times are saved before anything (the rebind, the rename) can touch them.
            UniqueFd sub = open_subdirectory(dirfd, name, label);
            remember_times(sub.get());
            rebind_dir_id(sub.get(), place, label);
        }
        if (by_name != KeyGeneration::old_key) {
            subdirs.push_back(name);
            return;
        }
        // The directory keeps its id, so its children's names stay valid.
        const auto new_name = new_codec_.encode(id, plain);
        write_sidecar(dirfd, new_name);
        rename_noreplace(dirfd, name, new_name.name, label);
        pending.retire(name, /*unlink_entry=*/false);
        subdirs.push_back(new_name.name);
        return;
    }

    ++counts_.files;
    const uint64_t bytes =
        S_ISREG(st.st_mode) ? format::plain_size_for(static_cast<uint64_t>(st.st_size)).size : 0;
    if (S_ISREG(st.st_mode) || S_ISLNK(st.st_mode)) {
        if (plaintext_names_) {
            if (content_generation(dirfd, name, st, keys_, place, label) == KeyGeneration::old_key) {
                replace(dirfd, name, st, format::BackingName{name, {}, {}}, place, label, pending);
                converted_one();
            } else if (S_ISREG(st.st_mode)) {
                // Nothing sealed in its contents, but its xattrs may be.
                UniqueFd fd(::openat(dirfd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
                if (!fd) throw SystemError(errno, "open " + label);
                // Kept in place, so it keeps its file id (if it has a header).
                const auto id = read_file_id(fd.get());
                const auto owner = id ? std::span<const uint8_t>(*id) : std::span<const uint8_t>{};
                convert_xattrs_in_place(fd_path(fd.get()), keys_, {owner, owner}, label);
                if (id && keys_.new_version >= 2)
                    convert_link_record(fd.get(), keys_.old_keys.meta(), keys_.new_keys.meta(), keys_.old_version,
                                        *id, st.st_nlink, label);
            }
        } else if (by_name == KeyGeneration::old_key) {
            replace(dirfd, name, st, new_codec_.encode(id, plain), place, label, pending);
            converted_one();
        } else if (S_ISLNK(st.st_mode) && keys_.old_version != keys_.new_version &&
                   content_generation(dirfd, name, st, keys_, place, label) == KeyGeneration::old_key) {
            // The name is already right (the same key, as when only the format
            // changes): the target is re-sealed over the same name.
            replace(dirfd, name, st, format::BackingName{name, {}, {}}, place, label, pending);
            converted_one();
        }
    } else {
        // Device nodes, FIFOs, sockets: nothing sealed but xattrs and the name,
        // so the inode itself is kept (hard links included) and renamed.
        UniqueFd fd(::openat(dirfd, name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
        if (!fd) throw SystemError(errno, "open " + label);
        convert_xattrs_in_place(fd_path(fd.get()), keys_, {}, label);
        if (by_name == KeyGeneration::old_key) {
            const auto new_name = new_codec_.encode(id, plain);
            write_sidecar(dirfd, new_name);
            rename_noreplace(dirfd, name, new_name.name, label);
            pending.retire(name, /*unlink_entry=*/false);
            converted_one();
        }
    }
    counts_.bytes += bytes;
    progress_(counts_);
}

void TreeConverter::replace(int dirfd, const std::string &old_name, const struct stat &st,
                            const format::BackingName &new_name, const format::Place &place, const std::string &label,
                            Pending &pending) {
    const bool same_name = new_name.name == old_name;  // plaintext names
    // The old symlink's long-target sidecar (format 3) goes with its old
    // name, once the replacement is durable (flush).
    if (S_ISLNK(st.st_mode) && format::keeps_long_targets(keys_.old_version))
        if (auto sidecar = long_target_sidecar_of(dirfd, old_name)) pending.old_sidecars.push_back(*sidecar);
    if (!same_name && exists_at(dirfd, new_name.name)) {
        // An interrupted run already put the replacement in place (it is only
        // ever renamed in complete): what is left is removing the old name.
        pending.retire(old_name, /*unlink_entry=*/true);
        return;
    }
    const std::string staged = staging_for(dirfd, old_name, st, place, label);
    write_sidecar(dirfd, new_name);
    if (staged.empty()) {
        const Replacement r = build_replacement(dirfd, old_name, st, dirfd, keys_, place, label);
        if (same_name) {
            if (::renameat(dirfd, r.temp_name.c_str(), dirfd, old_name.c_str()) != 0)
                throw SystemError(errno, "rename over " + label);
        } else {
            rename_noreplace(dirfd, r.temp_name, new_name.name, label);
        }
    } else if (same_name) {
        const std::string temp = new_reencrypt_temp_name();
        if (::linkat(root_fd_, staged.c_str(), dirfd, temp.c_str(), 0) != 0) throw SystemError(errno, "link " + label);
        if (::renameat(dirfd, temp.c_str(), dirfd, old_name.c_str()) != 0)
            throw SystemError(errno, "rename over " + label);
    } else if (::linkat(root_fd_, staged.c_str(), dirfd, new_name.name.c_str(), 0) != 0) {
        throw SystemError(errno, "link " + label);
    }
    if (!same_name) pending.retire(old_name, /*unlink_entry=*/true);
}

std::string TreeConverter::staging_for(int dirfd, const std::string &name, const struct stat &st,
                                       const format::Place &place, const std::string &label) {
    // A symlink's target is bound to its place in v2: every name gets its own.
    if (S_ISLNK(st.st_mode) && format::binds_place(keys_.new_version)) return {};
    // Keyed by the old inode: old inodes are never created during a
    // re-encryption, so the key cannot be reused while an old link is left.
    std::string staged =
        std::string(kStagingPrefix) + std::to_string(st.st_dev) + "." + std::to_string(st.st_ino);
    if (exists_at(root_fd_, staged)) return staged;
    if (st.st_nlink <= 1) return {};
    const Replacement r = build_replacement(dirfd, name, st, root_fd_, keys_, place, label);
    if (::renameat(root_fd_, r.temp_name.c_str(), root_fd_, staged.c_str()) != 0)
        throw SystemError(errno, "stage " + label);
    fsync_fd(root_fd_, backing_);
    return staged;
}

KeyGeneration TreeConverter::name_generation(int dirfd, const format::DirId &id, const std::string &name,
                                             const std::string &label, std::string &plain) const {
    if (format::NameCodec::is_long_name(name)) {
        std::vector<uint8_t> raw;
        try {
            raw = read_file_at(dirfd, format::NameCodec::sidecar_for(name));
        } catch (const SystemError &) {
            throw IntegrityError(label + ": long name has no readable sidecar");
        }
        const std::string_view full(reinterpret_cast<const char *>(raw.data()), raw.size());
        if (auto p = new_codec_.decode_long(id, name, full)) return plain = *p, KeyGeneration::new_key;
        if (auto p = old_codec_.decode_long(id, name, full)) return plain = *p, KeyGeneration::old_key;
    } else {
        if (auto p = new_codec_.decode(id, name)) return plain = *p, KeyGeneration::new_key;
        if (auto p = old_codec_.decode(id, name)) return plain = *p, KeyGeneration::old_key;
    }
    throw IntegrityError(label + ": name fails to authenticate under the old and the new key");
}

void TreeConverter::flush(int dirfd, Pending &pending) {
    if (pending.size() == 0) return;
    fsync_fd(dirfd, "directory");  // the new names are on disk before any old one goes
    for (const auto &name : pending.old_names) unlink_if_present(dirfd, name);
    if (!pending.old_sidecars.empty()) {
        fsync_fd(dirfd, "directory");  // an old long entry never outlives its sidecar
        for (const auto &name : pending.old_sidecars) unlink_if_present(dirfd, name);
    }
    pending = Pending{};
}

void TreeConverter::converted_one() {
    ++counts_.converted;
    fault_point("reencrypt", "after-files-" + std::to_string(counts_.converted));
}

}  // namespace cmkfs::store
