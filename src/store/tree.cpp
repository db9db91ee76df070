// store::Tree's core: directory ids, turning a backing entry into a node
// (with format 2's place checks), and directory streams.
#include "store/tree.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <mutex>

#include <spdlog/spdlog.h>

#include "store/dir_binding.h"
#include "store/tree_lock.h"
#include "util/errors.h"
#include "util/fault.h"

namespace cmkfs::store {

Tree::Names::Names(Tree &tree, const Keyring::Access &access, Node &dir_node)
    : codec(tree.name_codec(access)), binding(tree.binding(access)),
      dir(dir_node.fd.get(), tree.dir_id(binding, dir_node), codec, binding) {}

format::NameCodec Tree::name_codec(const Keyring::Access &access) const {
    return format::NameCodec(plaintext_names_ ? nullptr : &access.keys().names());
}

void Tree::step(std::string_view op, std::string_view what) const {
    if (step_hook_) step_hook_(op, what);
    fault_point(op, what);
}

const format::DirId &Tree::dir_id(const Binding &binding, Node &dir) {
    std::lock_guard guard(dir.dir_id_mutex);
    if (dir.dir_id) return *dir.dir_id;
    if (!binding.binds_place()) {
        dir.dir_id = read_dir_id(dir.fd.get(), binding, format::Place::root(), dir.label()).id;
    } else if (dir.place) {
        dir.dir_id = read_dir_id(dir.fd.get(), binding, *dir.place, dir.label()).id;
    } else {
        // Every directory node comes from make_entry, which verifies it.
        throw IntegrityError(dir.label() + ": directory reached at no known place");
    }
    return *dir.dir_id;
}

void Tree::verify_directory(Node &node, Node &parent, const Directory &dir, std::string_view plain,
                            bool parent_locked) {
    const Binding &bound = dir.binding();
    const format::Place place = dir.place_of(plain);
    auto remember = [&](const format::DirId &id) {
        // The id never changes; another one under the same backing inode is tampering.
        if (node.dir_id && *node.dir_id != id) {
            spdlog::error("integrity: {}: directory id changed under a mounted directory", node.label());
            throw IntegrityError(node.label() + ": directory id changed");
        }
        if (!node.dir_id) node.dir_id = id;
        node.place = place;
    };
    {
        std::lock_guard guard(node.dir_id_mutex);
        if (node.dir_id && node.place == place) return;
        const DirIdRead read = read_dir_id(node.fd.get(), bound, place, node.label());
        if (!read.pending) return remember(read.id);
    }
    // A rename of it was interrupted after its backing rename: finish it,
    // excluding renames of it (they hold the parent's names lock).
    NamesLock names(parent, /*take=*/!parent_locked);
    std::lock_guard guard(node.dir_id_mutex);
    remember(settle_dir_id(node.fd.get(), bound, place, node.label()));
}

UniqueFd Tree::open_root(int root_fd, struct stat &st) {
    UniqueFd fd(::openat(root_fd, ".", O_PATH | O_CLOEXEC));
    if (!fd) throw_errno("open backing root");
    if (::fstat(fd.get(), &st) != 0) throw_errno("stat backing root");
    return fd;
}

Entry Tree::make_entry(Node &parent, const Directory &dir, std::string_view plain, const std::string &backing,
                       bool parent_locked) {
    UniqueFd fd(::openat(parent.fd.get(), backing.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
    if (!fd) throw SystemError(errno, "lookup");
    return make_entry(parent, dir, plain, std::move(fd), parent_locked);
}

Entry Tree::make_entry(Node &parent, const Directory &dir, std::string_view plain, UniqueFd fd, bool parent_locked) {
    bool long_target = false;
    struct stat attr = stat_plaintext(fd.get(), version_, &long_target);
    Node &node = nodes_.intern(std::move(fd), attr);
    if (dir.binding().binds_place()) {
        try {
            if (S_ISDIR(attr.st_mode)) {
                verify_directory(node, parent, dir, plain, parent_locked);
            } else if (S_ISLNK(attr.st_mode)) {
                std::lock_guard guard(node.dir_id_mutex);
                node.place = dir.place_of(plain);
                // Its sidecar is in this directory (readlink has only the symlink).
                if (long_target) {
                    node.link_dir.reset(::fcntl(parent.fd.get(), F_DUPFD_CLOEXEC, 0));
                    if (!node.link_dir) throw_errno("dup directory of a long symlink target");
                }
            }
        } catch (...) {
            nodes_.release(node, 1);
            throw;
        }
    }
    return {node, attr};
}

Entry Tree::lookup(const Keyring::Access &access, Node &parent, std::string_view name) {
    auto entry = find(access, parent, name);
    if (!entry) throw SystemError(ENOENT, "lookup");
    return *entry;
}

std::optional<Entry> Tree::find(const Keyring::Access &access, Node &parent, std::string_view name) {
    Names names(*this, access, parent);
    const std::string backing = names.dir.encode(name).name;
    UniqueFd fd(::openat(parent.fd.get(), backing.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
    if (!fd) {
        if (errno == ENOENT) return std::nullopt;
        throw SystemError(errno, "lookup");
    }
    return make_entry(parent, names.dir, name, std::move(fd), /*parent_locked=*/false);
}

Entry Tree::lookup_listed(Node &parent, const Names &names, std::string_view plain, const std::string &backing) {
    return make_entry(parent, names.dir, plain, backing, /*parent_locked=*/false);
}

DirStream::DirStream(Node &dir) : dir_(nullptr) {
    UniqueFd fd(::openat(dir.fd.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!fd) throw_errno("opendir");
    DIR *d = ::fdopendir(fd.get());
    if (d == nullptr) throw_errno("opendir");
    fd.release();
    dir_ = d;
}

DirStream::~DirStream() { ::closedir(static_cast<DIR *>(dir_)); }

void DirStream::seek(off_t offset) { ::seekdir(static_cast<DIR *>(dir_), offset); }

dirent *DirStream::next() {
    errno = 0;
    // One stream per open directory handle, never shared between threads.
    dirent *entry = ::readdir(static_cast<DIR *>(dir_));  // NOLINT(concurrency-mt-unsafe)
    if (entry == nullptr && errno != 0) throw_errno("readdir");
    return entry;
}

void DirStream::sync(bool datasync) {
    int fd = ::dirfd(static_cast<DIR *>(dir_));
    if ((datasync ? ::fdatasync(fd) : ::fsync(fd)) != 0) throw_errno("fsyncdir");
}

}  // namespace cmkfs::store
