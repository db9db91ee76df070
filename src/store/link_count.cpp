#include "store/link_count.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <shared_mutex>

#include <spdlog/spdlog.h>

#include "store/content.h"
#include "store/link_record.h"
#include "util/errors.h"
#include "util/file_io.h"

namespace cmkfs::store {

namespace {

std::mutex &records_mutex() {
    static std::mutex mutex;
    return mutex;
}

}  // namespace

LinkRecordChange LinkRecordChange::for_new_link(const Keyring::Access &access, uint32_t format_version,
                                                Node &inode) {
    LinkRecordChange change(access);
    if (format_version < 2 || inode.type != S_IFREG) return change;
    change.lock_ = std::unique_lock(records_mutex());
    change.label_ = inode.label();
    const std::string path = proc_path(inode.fd.get());
    change.fd_.reset(::open(path.c_str(), O_RDWR | O_CLOEXEC));
    if (!change.fd_) change.fd_.reset(::open(path.c_str(), O_RDONLY | O_CLOEXEC));  // has a header already, or fails below
    if (!change.fd_) throw_errno("open for link");
    {
        std::unique_lock content_lock(inode.content.mutex);
        change.id_ = FileContent(change.fd_.get(), inode.content, access, format_version, change.label_)
                         .ensure_file_id();
    }
    change.before_ = read_link_record(change.fd_.get(), access.keys().meta(), change.id_, change.label_);
    write_link_record(change.fd_.get(), access.keys().meta(), change.id_, change.before_.value_or(1) + 1);
    change.active_ = true;
    return change;
}

LinkRecordChange LinkRecordChange::for_removal(const Keyring::Access &access, uint32_t format_version,
                                               int dirfd, const std::string &name) {
    LinkRecordChange change(access);
    if (format_version < 2) return change;
    struct stat st {};
    if (::fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode) || st.st_nlink <= 1)
        return change;
    change.fd_.reset(::openat(dirfd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
    if (!change.fd_) return change;
    uint8_t raw[format::kFileHeaderSize];
    auto header = format::FileHeader::decode(std::span(raw, pread_full(change.fd_.get(), raw, 0)));
    if (!header) return change;  // no header: no record to lower
    change.lock_ = std::unique_lock(records_mutex());
    change.id_ = header->id;
    change.label_ = proc_path(change.fd_.get());
    change.active_ = true;
    return change;
}

void LinkRecordChange::undo() {
    if (!active_) return;
    active_ = false;
    if (before_) write_link_record(fd_.get(), access_->keys().meta(), id_, *before_);
    else remove_link_record(fd_.get());
}

void LinkRecordChange::commit() {
    if (!active_) return;
    active_ = false;
    try {
        const auto links = read_link_record(fd_.get(), access_->keys().meta(), id_, label_);
        if (!links) return;  // links nobody recorded: fsck reports what is left
        if (*links <= 2) remove_link_record(fd_.get());
        else write_link_record(fd_.get(), access_->keys().meta(), id_, *links - 1);
    } catch (const std::exception &e) {
        spdlog::error("integrity: hard-link record not lowered: {}", e.what());
    }
}

bool same_inode(int dir_a, const std::string &a, int dir_b, const std::string &b) {
    struct stat sa {}, sb {};
    return ::fstatat(dir_a, a.c_str(), &sa, AT_SYMLINK_NOFOLLOW) == 0 &&
           ::fstatat(dir_b, b.c_str(), &sb, AT_SYMLINK_NOFOLLOW) == 0 && sa.st_ino == sb.st_ino &&
           sa.st_dev == sb.st_dev;
}

void check_link_count(const Keyring::Access &access, uint32_t format_version, int fd,
                      ContentState &state, const std::string &label) {
    if (format_version < 2) return;
    struct stat st {};
    if (::fstat(fd, &st) != 0) throw_errno("fstat");
    if (!S_ISREG(st.st_mode) || st.st_nlink <= 1) return;
    std::optional<format::FileId> id;
    {
        std::shared_lock lock(state.mutex);
        id = FileContent(fd, state, access, format_version, label).file_id();
    }
    uint64_t extra;
    try {
        extra = unexplained_links(fd, st.st_nlink, access.keys().meta(), id, label);
    } catch (const IntegrityError &e) {
        spdlog::error("integrity: {}", e.what());
        throw;
    }
    if (extra > 0) {
        const std::string what = label + ": " + std::to_string(extra) +
                                 " backing hard link(s) that no link made through cmkfs explains";
        spdlog::error("integrity: {}", what);
        throw IntegrityError(what);
    }
}

}  // namespace cmkfs::store
