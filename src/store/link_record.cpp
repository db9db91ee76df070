#include "store/link_record.h"

#include <sys/xattr.h>

#include <cerrno>
#include <string>

#include "format/link_record_codec.h"
#include "util/errors.h"

namespace cmkfs::store {

namespace {

std::string path_of(int fd) { return "/proc/self/fd/" + std::to_string(fd); }

}  // namespace

std::optional<uint32_t> read_link_record(int fd, const crypto::MetaKey &key, const format::FileId &id,
                                         const std::string &label) {
    char raw[64];
    const ssize_t n = ::getxattr(path_of(fd).c_str(), kLinkRecordXattr.data(), raw, sizeof raw);
    if (n < 0) {
        if (errno == ENODATA || errno == ENOTSUP) return std::nullopt;
        if (errno != ERANGE) throw_errno("read link record");
        throw IntegrityError(label + ": hard-link record fails to authenticate");
    }
    auto links = format::open_link_record(key, id, std::string_view(raw, static_cast<size_t>(n)));
    if (!links) throw IntegrityError(label + ": hard-link record fails to authenticate");
    return links;
}

void write_link_record(int fd, const crypto::MetaKey &key, const format::FileId &id, uint32_t links) {
    const std::string sealed = format::seal_link_record(key, id, links);
    if (::setxattr(path_of(fd).c_str(), kLinkRecordXattr.data(), sealed.data(), sealed.size(), 0) != 0)
        throw_errno("write link record");
}

void remove_link_record(int fd) {
    if (::removexattr(path_of(fd).c_str(), kLinkRecordXattr.data()) != 0 && errno != ENODATA)
        throw_errno("remove link record");
}

void convert_link_record(int fd, const crypto::MetaKey &old_key, const crypto::MetaKey &new_key,
                         uint32_t old_version, const format::FileId &id, uint64_t st_nlink, const std::string &label) {
    try {
        if (read_link_record(fd, new_key, id, label)) return;  // converted already
        if (old_version < 2 && st_nlink > 1) write_link_record(fd, new_key, id, static_cast<uint32_t>(st_nlink));
    } catch (const IntegrityError &) {
        // Not under the new key: under the old one, or damaged.
        if (auto links = read_link_record(fd, old_key, id, label)) write_link_record(fd, new_key, id, *links);
    }
}

uint64_t unexplained_links(int fd, uint64_t st_nlink, const crypto::MetaKey &key,
                           const std::optional<format::FileId> &id, const std::string &label) {
    if (st_nlink <= 1) return 0;
    // Without a header there is no id to bind a record to: cmkfs gives a file
    // one before it links it, so every extra link is unexplained.
    const uint64_t recorded = id ? read_link_record(fd, key, *id, label).value_or(1) : 1;
    return st_nlink > recorded ? st_nlink - recorded : 0;
}

}  // namespace cmkfs::store
