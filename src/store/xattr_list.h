// The raw extended-attribute names of a backing path, as the kernel lists
// them (encrypted user.* names and any others): one listxattr loop for the
// tree's listxattr and for re-encryption.
#pragma once

#include <string>
#include <vector>

namespace cmkfs::store {

enum class XattrsUnsupported { fail, empty };

// Retries when the list grows between the size query and the read (ERANGE);
// throws the errno otherwise. With XattrsUnsupported::empty a filesystem
// without xattrs (ENOTSUP on the size query) has none instead of failing.
std::vector<std::string> list_xattr_names(const std::string &path,
                                          XattrsUnsupported unsupported = XattrsUnsupported::fail);

}  // namespace cmkfs::store
