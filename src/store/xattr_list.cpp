#include "store/xattr_list.h"

#include <sys/xattr.h>

#include <cerrno>

#include "util/errors.h"

namespace cmkfs::store {

std::vector<std::string> list_xattr_names(const std::string &path, XattrsUnsupported unsupported) {
    std::string raw;
    for (;;) {
        ssize_t n = ::listxattr(path.c_str(), nullptr, 0);
        if (n < 0) {
            if (errno == ENOTSUP && unsupported == XattrsUnsupported::empty) return {};
            throw_errno("listxattr");
        }
        raw.resize(static_cast<size_t>(n));
        n = ::listxattr(path.c_str(), raw.data(), raw.size());
        if (n >= 0) {
            raw.resize(static_cast<size_t>(n));
            break;
        }
        if (errno != ERANGE) throw_errno("listxattr");
    }
    std::vector<std::string> names;
    for (size_t pos = 0; pos < raw.size();) {
        std::string name(raw.c_str() + pos);
        pos += name.size() + 1;
        names.push_back(std::move(name));
    }
    return names;
}

}  // namespace cmkfs::store
