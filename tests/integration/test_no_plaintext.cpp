// Nothing written through the mount reaches the backing directory in the
// clear: contents, file and directory names, symlink targets, xattr names and
// values. Every backing entry's name, bytes, link target and xattrs are
// scanned after unmount. Identical plaintext never gives identical ciphertext.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <iterator>
#include <map>
#include <string>
#include <vector>

#include "support/process.h"

using namespace cmkfs::test;
namespace fs = std::filesystem;

namespace {

constexpr size_t kBlockPlain = 4096;
constexpr size_t kBlockCipher = 4096 + 28;
constexpr size_t kHeader = 24;

// 64 KiB built from a distinctive 32-byte unit with a running counter, so
// every 32-byte window is recognisable and no block is all zeros.
std::string distinctive_pattern() {
    std::string out;
    for (int i = 0; out.size() < 65536; ++i) {
        char unit[48];
        std::snprintf(unit, sizeof unit, "CMKFS-PLAINTEXT-PATTERN-%07d|", i % 10000000);
        out.append(unit, 32);
    }
    out.resize(65536);
    return out;
}

struct BackingEntry {
    std::string path;
    std::string name;
    std::string bytes;    // regular files
    std::string target;   // symlinks
    std::vector<std::pair<std::string, std::string>> xattrs;
};

std::vector<BackingEntry> scan_backing(const std::string &root) {
    std::vector<BackingEntry> out;
    for (const auto &e : fs::recursive_directory_iterator(root)) {
        BackingEntry b;
        b.path = e.path().string();
        b.name = e.path().filename().string();
        if (e.is_symlink()) {
            b.target = fs::read_symlink(e.path()).string();
        } else if (e.is_regular_file()) {
            b.bytes = read_file(b.path);
        }
        ssize_t n = ::llistxattr(b.path.c_str(), nullptr, 0);
        if (n > 0) {
            std::string names(static_cast<size_t>(n), '\0');
            n = ::llistxattr(b.path.c_str(), names.data(), names.size());
            REQUIRE(n >= 0);
            names.resize(static_cast<size_t>(n));
            for (size_t pos = 0; pos < names.size();) {
                std::string name(names.c_str() + pos);
                pos += name.size() + 1;
                ssize_t m = ::lgetxattr(b.path.c_str(), name.c_str(), nullptr, 0);
                std::string value(m > 0 ? static_cast<size_t>(m) : 0, '\0');
                if (m > 0) REQUIRE(::lgetxattr(b.path.c_str(), name.c_str(), value.data(), value.size()) == m);
                b.xattrs.emplace_back(name, value);
            }
        }
        out.push_back(std::move(b));
    }
    return out;
}

// Where `needle` shows up in the scanned backing, or "" when nowhere.
std::string find_anywhere(const std::vector<BackingEntry> &entries, const std::string &needle) {
    for (const auto &b : entries) {
        if (b.name.find(needle) != std::string::npos) return b.path + " (name)";
        if (b.bytes.find(needle) != std::string::npos) return b.path + " (content)";
        if (b.target.find(needle) != std::string::npos) return b.path + " (symlink target)";
        for (const auto &[n, v] : b.xattrs) {
            if (n.find(needle) != std::string::npos) return b.path + " (xattr name " + n + ")";
            if (v.find(needle) != std::string::npos) return b.path + " (xattr value of " + n + ")";
        }
    }
    return "";
}

// Backing regular files whose size is that of `plain_size` bytes of content.
std::map<std::string, std::string> backing_files_of_plain_size(const std::string &root, size_t plain_size) {
    const size_t blocks = (plain_size + kBlockPlain - 1) / kBlockPlain;
    const size_t want = kHeader + plain_size + blocks * (kBlockCipher - kBlockPlain);
    std::map<std::string, std::string> out;
    for (const auto &e : fs::recursive_directory_iterator(root)) {
        if (e.is_regular_file() && e.file_size() == want) out[e.path().string()] = read_file(e.path().string());
    }
    return out;
}

// Number of content blocks at the same index with identical ciphertext.
size_t equal_blocks(const std::string &a, const std::string &b) {
    size_t equal = 0;
    for (size_t off = kHeader; off < a.size() && off < b.size(); off += kBlockCipher) {
        if (a.compare(off, kBlockCipher, b, off, kBlockCipher) == 0) ++equal;
    }
    return equal;
}

}  // namespace

TEST_CASE("no plaintext reaches the backing directory") {
    MountedStore store;
    const std::string pattern = distinctive_pattern();
    const std::string marker = "zebra-marker-42";
    const std::string file_name = "secret-file-name-xyz";
    const std::string dir_name = "secret-dir-name-abc";
    const std::string nested_name = "nested-secret-name-uvw";
    const std::string long_file_name = "long-secret-name-" + std::string(230, 'L');
    const std::string link_name = "secret-link-name-mno";
    const std::string link_target = "secret-link-target-qrs/and/more";
    const std::string xattr_name = "user.secret-xattr-name-def";
    const std::string xattr_value = "secret-xattr-value-ghi";

    REQUIRE(::mkdir(store.path(dir_name).c_str(), 0755) == 0);
    write_file(store.path(dir_name + "/" + file_name), pattern);
    write_file(store.path(marker + "-file"), marker);
    write_file(store.path(dir_name + "/" + nested_name), marker + marker);
    write_file(store.path(long_file_name), pattern.substr(0, 5000));
    REQUIRE(::symlink(link_target.c_str(), store.path(dir_name + "/" + link_name).c_str()) == 0);
    REQUIRE(::setxattr(store.path(dir_name + "/" + file_name).c_str(), xattr_name.c_str(), xattr_value.data(),
                       xattr_value.size(), 0) == 0);
    REQUIRE(::setxattr(store.path(dir_name).c_str(), xattr_name.c_str(), xattr_value.data(), xattr_value.size(),
                       0) == 0);
    // A short file whose content is a single marker (one partial block).
    write_file(store.path("short"), "PLAINMARK");
    // Renamed things keep no trace of their old names either.
    write_file(store.path("renamed-away-name-jkl"), "x");
    REQUIRE(::rename(store.path("renamed-away-name-jkl").c_str(), store.path("renamed-to-name-tuv").c_str()) == 0);
    store.unmount();

    const auto entries = scan_backing(store.backing());
    REQUIRE(entries.size() > 5);
    // Contents: the marker, every 32-byte unit of the pattern, and shorter windows.
    CHECK(find_anywhere(entries, marker) == "");
    CHECK(find_anywhere(entries, "PLAINMARK") == "");
    CHECK(find_anywhere(entries, "CMKFS-PLAINTEXT") == "");
    CHECK(find_anywhere(entries, "PATTERN-") == "");
    for (size_t off = 0; off + 32 <= pattern.size(); off += 32 * 97) {
        INFO("pattern unit at " << off);
        CHECK(find_anywhere(entries, pattern.substr(off, 32)) == "");
    }
    // Names, targets, xattr names and values.
    for (const std::string &secret : {file_name, dir_name, nested_name, long_file_name.substr(0, 17), link_name,
                                      link_target, std::string("secret-link-target"), xattr_name,
                                      std::string("secret-xattr-name"), xattr_value, std::string("renamed-away"),
                                      std::string("renamed-to")}) {
        INFO(secret);
        CHECK(find_anywhere(entries, secret) == "");
    }
    CHECK(find_anywhere(entries, "secret") == "");
    CHECK(find_anywhere(entries, std::string(40, 'L')) == "");

    // The scan itself works: what was written is there, decrypted, on remount.
    store.mount();
    CHECK(read_file(store.path(dir_name + "/" + file_name)) == pattern);
    CHECK(read_file(store.path("short")) == "PLAINMARK");
}

TEST_CASE("identical plaintext gives different ciphertext; rewrites use fresh nonces") {
    MountedStore store;
    const std::string pattern = distinctive_pattern();
    write_file(store.path("first"), pattern);
    write_file(store.path("second"), pattern);
    store.unmount();

    auto before = backing_files_of_plain_size(store.backing(), pattern.size());
    REQUIRE(before.size() == 2);
    const std::string &a = before.begin()->second;
    const std::string &b = std::next(before.begin())->second;
    CHECK(a != b);
    CHECK(a.substr(0, kHeader) != b.substr(0, kHeader));  // different file ids
    CHECK(equal_blocks(a, b) == 0);

    // Rewrite "first" in place with the very same bytes (no truncate).
    store.mount();
    {
        int fd = ::open(store.path("first").c_str(), O_WRONLY | O_CLOEXEC);
        REQUIRE(fd >= 0);
        REQUIRE(::pwrite(fd, pattern.data(), pattern.size(), 0) == static_cast<ssize_t>(pattern.size()));
        ::close(fd);
    }
    CHECK(read_file(store.path("first")) == pattern);
    store.unmount();

    auto after = backing_files_of_plain_size(store.backing(), pattern.size());
    REQUIRE(after.size() == 2);
    int changed = 0;
    for (const auto &[path, bytes] : after) {
        REQUIRE(before.count(path) == 1);
        const std::string &old = before[path];
        if (bytes == old) continue;
        ++changed;
        CHECK(bytes.substr(0, kHeader) == old.substr(0, kHeader));  // same file, same id
        CHECK(equal_blocks(bytes, old) == 0);                        // every block re-sealed freshly
    }
    CHECK(changed == 1);  // only "first" was rewritten; "second" is untouched

    // Rewriting through O_TRUNC with the same content changes it again.
    store.mount();
    write_file(store.path("second"), pattern);
    store.unmount();
    auto third = backing_files_of_plain_size(store.backing(), pattern.size());
    REQUIRE(third.size() == 2);
    changed = 0;
    for (const auto &[path, bytes] : third) {
        if (bytes != after[path]) {
            ++changed;
            CHECK(equal_blocks(bytes, after[path]) == 0);
        }
    }
    CHECK(changed == 1);
}
