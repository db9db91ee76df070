#include "support/tree_snapshot.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <iomanip>
#include <set>
#include <sstream>
#include <stdexcept>
#include <vector>

#include "crypto/encoding.h"
#include "crypto/kdf.h"
#include "support/oci_image.h"
#include "support/process.h"

namespace cmkfs::test {

namespace {

namespace fs = std::filesystem;

std::string xattr_list(const std::string &path) {
    ssize_t len = ::llistxattr(path.c_str(), nullptr, 0);
    if (len <= 0) return "";
    std::string names(static_cast<size_t>(len), '\0');
    len = ::llistxattr(path.c_str(), names.data(), names.size());
    if (len < 0) throw std::runtime_error("llistxattr " + path + ": " + std::strerror(errno));
    std::set<std::string> sorted;
    for (size_t at = 0; at < static_cast<size_t>(len);) {
        std::string name(names.c_str() + at);
        at += name.size() + 1;
        sorted.insert(name);
    }
    std::string out;
    for (const auto &name : sorted) {
        ssize_t vlen = ::lgetxattr(path.c_str(), name.c_str(), nullptr, 0);
        std::string value(vlen > 0 ? static_cast<size_t>(vlen) : 0, '\0');
        if (vlen > 0) vlen = ::lgetxattr(path.c_str(), name.c_str(), value.data(), value.size());
        if (vlen < 0) throw std::runtime_error("lgetxattr " + path + " " + name + ": " + std::strerror(errno));
        value.resize(static_cast<size_t>(vlen));
        out += " xattr:" + name + "=" + crypto::hex_encode(crypto::as_bytes(value));
    }
    return out;
}

}  // namespace

TreeSnapshot snapshot_tree(const std::string &root, SnapshotOptions options) {
    TreeSnapshot snapshot;
    std::map<std::pair<dev_t, ino_t>, std::string> first_link;
    std::vector<std::string> pending{"."};
    while (!pending.empty()) {
        const std::string rel = pending.back();
        pending.pop_back();
        const std::string path = rel == "." ? root : root + "/" + rel;
        struct stat st{};
        if (::lstat(path.c_str(), &st) != 0) throw std::runtime_error("lstat " + path + ": " + std::strerror(errno));
        std::ostringstream line;
        line << "mode=" << std::oct << (st.st_mode & 07777) << std::dec;
        const bool is_dir = S_ISDIR(st.st_mode);
        if (!is_dir || options.directory_mtimes)
            line << " mtime=" << st.st_mtim.tv_sec << "." << std::setw(9) << std::setfill('0') << st.st_mtim.tv_nsec;
        if (S_ISREG(st.st_mode)) {
            line << " file size=" << st.st_size;
            if (!options.size_only.count(rel)) line << " " << sha256_digest(read_file(path));
            if (st.st_nlink > 1) {
                auto [it, fresh] = first_link.emplace(std::make_pair(st.st_dev, st.st_ino), rel);
                // The group name is the first path met, which depends on traversal
                // order; so record the link count and the group's sorted-first member.
                line << " nlink=" << st.st_nlink;
                if (!fresh && rel < it->second) it->second = rel;
            }
        } else if (S_ISLNK(st.st_mode)) {
            line << " symlink -> " << fs::read_symlink(path).string();
        } else if (is_dir) {
            line << " dir";
            for (const auto &entry : fs::directory_iterator(path))
                pending.push_back(rel == "." ? entry.path().filename().string()
                                             : rel + "/" + entry.path().filename().string());
        } else {
            line << " special";
        }
        line << xattr_list(path);
        snapshot[rel] = line.str();
    }
    // Hard-link groups: name each linked file's group by its smallest path.
    for (auto &[rel, line] : snapshot) {
        const std::string path = rel == "." ? root : root + "/" + rel;
        struct stat st{};
        if (line.find(" nlink=") == std::string::npos || ::lstat(path.c_str(), &st) != 0) continue;
        line += " linkgroup=" + first_link.at({st.st_dev, st.st_ino});
    }
    return snapshot;
}

std::string tree_differences(const TreeSnapshot &expected, const TreeSnapshot &actual) {
    std::string out;
    for (const auto &[rel, line] : expected) {
        auto it = actual.find(rel);
        if (it == actual.end())
            out += "missing " + rel + ": " + line + "\n";
        else if (it->second != line)
            out += "differs " + rel + ":\n  expected " + line + "\n  actual   " + it->second + "\n";
    }
    for (const auto &[rel, line] : actual)
        if (!expected.count(rel)) out += "added " + rel + ": " + line + "\n";
    return out;
}

}  // namespace cmkfs::test
