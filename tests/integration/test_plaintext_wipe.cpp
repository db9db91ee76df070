// After a lock the keys are gone; decrypted data must be gone too. A memory
// dump of the daemon taken after `cmkfs lock` (as root: /proc/PID/mem) must
// not contain file contents, xattr values or symlink targets that went
// through it, however often they were read or rewritten.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "support/mount_io.h"
#include "support/process.h"
#include "support/test_seed.h"

using namespace cmkfs::test;

namespace {

// A string no program holds by accident: a prefix and 32 random hex digits.
std::string marker(const std::string &what, uint64_t stream) {
    auto rng = cmkfs::test::rng(stream);
    std::string s = "MARK-" + what + "-";
    for (int i = 0; i < 32; ++i) s += "0123456789abcdef"[rng() & 15];
    return s;
}

// The readable mappings of pid that hold `needle`, as "start-end path"
// lines of /proc/PID/maps (empty when none does).
std::vector<std::string> mappings_holding(pid_t pid, const std::string &needle) {
    std::vector<std::string> found;
    std::ifstream maps("/proc/" + std::to_string(pid) + "/maps");
    const int mem = ::open(("/proc/" + std::to_string(pid) + "/mem").c_str(), O_RDONLY | O_CLOEXEC);
    REQUIRE(mem >= 0);
    std::string line;
    std::vector<char> chunk(1 << 20);
    while (std::getline(maps, line)) {
        unsigned long long start = 0, end = 0;
        char perms[5] = {};
        if (std::sscanf(line.c_str(), "%llx-%llx %4s", &start, &end, perms) != 3 || perms[0] != 'r') continue;
        if (line.find("[vvar") != std::string::npos) continue;  // not readable through mem
        // A sanitizer build reserves terabytes of readable shadow memory; no
        // heap or stack of ours is that large, and reading it would take hours.
        if (end - start > (1ull << 30)) continue;
        // Chunks overlap by needle.size() - 1 so a match across a boundary counts.
        for (unsigned long long at = start; at < end;) {
            const size_t want = static_cast<size_t>(std::min<unsigned long long>(chunk.size(), end - at));
            const ssize_t n = ::pread(mem, chunk.data(), want, static_cast<off_t>(at));
            if (n <= 0) break;
            if (std::search(chunk.begin(), chunk.begin() + n, needle.begin(), needle.end()) != chunk.begin() + n) {
                found.push_back(line);
                break;
            }
            if (static_cast<size_t>(n) < needle.size() || at + static_cast<size_t>(n) >= end) break;
            at += static_cast<size_t>(n) - (needle.size() - 1);
        }
    }
    ::close(mem);
    return found;
}

void pwrite_all(const std::string &path, const std::string &data, off_t off) {
    const int fd = ::open(path.c_str(), O_WRONLY);
    REQUIRE(fd >= 0);
    REQUIRE(::pwrite(fd, data.data(), data.size(), off) == static_cast<ssize_t>(data.size()));
    ::close(fd);
}

}  // namespace

TEST_CASE("no decrypted data stays in the daemon's memory after a lock", "[plaintext-wipe]") {
    MountedStore store;
    const std::string content = marker("content", 1);
    const std::string rewritten = marker("rewrite", 2);
    const std::string xattr_value = marker("xattr", 3);
    const std::string link_target = "/" + marker("symlink", 4);

    // The marker straddles a block boundary (two partial blocks), then a
    // second one is written into the middle of a block (read-modify-write).
    const std::string file = store.path("secret");
    write_file(file, std::string(4096 - 10, 'a') + content + std::string(6000, 'b'));
    pwrite_all(file, rewritten, 9000);
    REQUIRE(::setxattr(file.c_str(), "user.note", xattr_value.data(), xattr_value.size(), 0) == 0);
    REQUIRE(::symlink(link_target.c_str(), store.path("link").c_str()) == 0);
    for (int i = 0; i < 5; ++i) {
        std::string got;
        REQUIRE(read_errno(file, &got) == 0);
        REQUIRE(got.find(content) != std::string::npos);
        REQUIRE(got.find(rewritten) != std::string::npos);
        char value[256];
        REQUIRE(::getxattr(file.c_str(), "user.note", value, sizeof value) == static_cast<ssize_t>(xattr_value.size()));
        char target[256];
        REQUIRE(::readlink(store.path("link").c_str(), target, sizeof target) == static_cast<ssize_t>(link_target.size()));
    }

    auto lock = cli({"lock", store.mountpoint()});
    INFO(lock.err);
    REQUIRE(lock.exit_code == 0);
    REQUIRE(read_errno(file) != 0);  // locked

    const pid_t pid = store.daemon_pid();
    REQUIRE(pid > 0);
    // Positive control: the scan does find what the daemon does hold.
    CHECK_FALSE(mappings_holding(pid, store.mountpoint()).empty());
    for (const auto &needle : {content, rewritten, xattr_value, link_target.substr(1)}) {
        const auto where = mappings_holding(pid, needle);
        INFO(needle << " found in:\n" << [&] {
            std::string s;
            for (const auto &w : where) s += w + "\n";
            return s;
        }());
        CHECK(where.empty());
    }
}
