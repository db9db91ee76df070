// Exact POSIX modes on a real mount, as root, with allow_other and
// default_permissions, with a second user (uid 65534) acting in a forked
// child: setuid/setgid clearing on write and truncate (issue 14), and creates
// whose mode does not depend on the daemon's umask, for short names, 255-byte
// names and paths of 255-byte components. Every case is also run on a plain
// directory of the test's own filesystem (ext4 or tmpfs), and cmkfs must
// answer exactly as it does.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <grp.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "metrics_support.h"
#include "support/process.h"

using namespace cmkfs::test;

namespace {

constexpr uid_t kOther = 65534;
constexpr gid_t kOtherGroup = 65534;

// Runs `op` in a forked child as uid:gid (no supplementary groups, umask 0);
// returns what it returns (0 or an errno). Only syscalls run in the child.
template <typename Op>
int as_user(uid_t uid, gid_t gid, Op op) {
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        ::umask(0);
        if (uid != 0 &&
            (::setgroups(0, nullptr) != 0 || ::setresgid(gid, gid, gid) != 0 || ::setresuid(uid, uid, uid) != 0))
            ::_exit(250);
        ::_exit(op());
    }
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    REQUIRE(WIFEXITED(status));
    REQUIRE(WEXITSTATUS(status) != 250);
    return WEXITSTATUS(status);
}

int as_root(auto op) { return as_user(0, 0, op); }

mode_t mode_of(const std::string &path) {
    struct stat st {};
    INFO(path);
    REQUIRE(::lstat(path.c_str(), &st) == 0);
    return st.st_mode & 07777;
}

int create_file(const std::string &path, mode_t mode) {
    const int fd = ::open(path.c_str(), O_CREAT | O_EXCL | O_WRONLY, mode);
    if (fd < 0) return errno;
    ::close(fd);
    return 0;
}

// A mount reachable by the second user, and a plain directory beside it.
struct Trees {
    explicit Trees(mode_t daemon_umask = 022) {
        MountedStore::Options options;
        options.mount = false;
        options.mount_args = {"-o", "allow_other,default_permissions"};
        store.emplace(options);
        ::chmod(store->scratch().path().c_str(), 0755);  // the second user must reach the mountpoint
        ::chmod(reference.path().c_str(), 0777);
        const mode_t old = ::umask(daemon_umask);  // the daemon inherits it
        store->mount();
        ::umask(old);
        REQUIRE(::chmod(store->mountpoint().c_str(), 0777) == 0);
    }
    std::optional<MountedStore> store;
    TempDir reference;
    std::vector<std::string> roots() const { return {store->mountpoint(), reference.path()}; }
};

std::string octal(mode_t m) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "0%o", m);
    return buf;
}

}  // namespace

TEST_CASE("a write or truncate by a non-owner clears setuid/setgid exactly as ext4 does", "[posix][killpriv]") {
    Trees trees;
    struct Writer {
        const char *what;
        uid_t uid;  // 0: root (keeps the bits: CAP_FSETID)
    };
    enum class Op { write, open_trunc, ftruncate };
    int n = 0;
    for (const mode_t mode : {06777, 04777, 02777, 02767, 06755}) {
        for (const Writer writer : {Writer{"non-owner", kOther}, Writer{"owner", kOther}, Writer{"root", 0}}) {
            for (const Op op : {Op::write, Op::open_trunc, Op::ftruncate}) {
                std::vector<std::pair<int, mode_t>> results;
                for (const std::string &root : trees.roots()) {
                    const std::string path = root + "/f" + std::to_string(n);
                    const bool owned = std::string(writer.what) == "owner";
                    // The owner case: made by the second user, so that it owns the file.
                    REQUIRE(as_user(owned ? kOther : 0, owned ? kOtherGroup : 0,
                                    [&] { return create_file(path, mode); }) == 0);
                    REQUIRE(mode_of(path) == mode);
                    const int rc = as_user(writer.uid, writer.uid == 0 ? 0 : kOtherGroup, [&] {
                        const int flags = O_WRONLY | (op == Op::open_trunc ? O_TRUNC : 0);
                        const int fd = ::open(path.c_str(), flags);
                        if (fd < 0) return errno;
                        int err = 0;
                        if (op == Op::write && ::write(fd, "x", 1) != 1) err = errno;
                        if (op == Op::ftruncate && ::ftruncate(fd, 1) != 0) err = errno;
                        ::close(fd);
                        return err;
                    });
                    results.emplace_back(rc, mode_of(path));
                }
                INFO("mode " << octal(mode) << ", " << writer.what << ", op " << static_cast<int>(op)
                             << ": cmkfs rc " << results[0].first << " mode " << octal(results[0].second)
                             << ", reference rc " << results[1].first << " mode " << octal(results[1].second));
                if (mode == 02767 && std::string(writer.what) == "non-owner") {
                    // Limit, pinned: a set-group-ID file without group execute
                    // (the old mandatory-locking marker) written by a
                    // non-member. Linux >= 6.0 filesystems clear S_ISGID
                    // (setattr_should_drop_sgid); FUSE's killpriv v2, which
                    // tells the daemon the writer lacks CAP_FSETID, defines
                    // the older rule (S_ISGID only with S_IXGRP) and does not
                    // say whether the writer is in the file's group.
                    CHECK(results[0] == std::pair<int, mode_t>{0, 02767});
                } else {
                    CHECK(results[0] == results[1]);
                }
                if (std::string(writer.what) == "non-owner" && mode == 06777) {
                    CHECK(results[0].first == 0);
                    CHECK(results[0].second == 0777);
                }
                ++n;
            }
        }
    }
    // The exact sequence on the mount.
    const std::string path = trees.store->path("suid");
    REQUIRE(as_root([&] { return create_file(path, 06777); }) == 0);
    CHECK(as_user(kOther, kOtherGroup, [&] {
              const int fd = ::open(path.c_str(), O_WRONLY);
              if (fd < 0) return errno;
              const int err = ::write(fd, "data", 4) == 4 ? 0 : errno;
              ::close(fd);
              return err;
          }) == 0);
    CHECK(mode_of(path) == 0777);
    CHECK(read_file(path) == "data");
}

TEST_CASE("created entries keep their exact mode whatever the daemon's umask", "[posix][umask]") {
    const mode_t daemon_umask = GENERATE(mode_t{077}, mode_t{022});
    INFO("daemon umask " << octal(daemon_umask));
    Trees trees(daemon_umask);
    const std::string long_name(255, 'L');
    const std::string mid_name = std::string(254, 'M') + "2";
    // Names: short, 255 bytes (a long name with a sidecar), and a path of 255-byte components.
    const std::vector<std::string> dirs{"", long_name + "/", long_name + "/" + mid_name + "/"};
    for (const std::string &root : trees.roots()) {
        REQUIRE(as_root([&] { return ::mkdir((root + "/" + dirs[1]).c_str(), 0777) == 0 ? 0 : errno; }) == 0);
        REQUIRE(as_root([&] { return ::mkdir((root + "/" + dirs[2]).c_str(), 0777) == 0 ? 0 : errno; }) == 0);
    }
    for (const uid_t uid : {uid_t{0}, kOther}) {
        for (const std::string &dir : dirs) {
            for (const bool long_leaf : {false, true}) {
                // 254 bytes, so that the name with the mode and a type letter is 255 bytes long.
                const std::string id = std::to_string(uid);
                const std::string leaf = id + (long_leaf ? std::string(254 - id.size(), 'x') : std::string("x"));
                for (const mode_t mode : {0620, 0642, 0751, 04755, 02755, 0}) {
                    const std::string m = octal(mode);
                    std::vector<std::string> made;
                    for (const std::string &root : trees.roots()) {
                        const std::string base = root + "/" + dir + leaf.substr(0, leaf.size() - m.size()) + m;
                        REQUIRE(as_user(uid, uid == 0 ? 0 : kOtherGroup, [&] {
                                    if (int err = create_file(base + "f", mode)) return err;
                                    if (::mkdir((base + "d").c_str(), mode | 01000) != 0) return errno;
                                    if (::mknod((base + "p").c_str(), S_IFIFO | mode, 0) != 0) return errno;
                                    if (::symlink("target", (base + "l").c_str()) != 0) return errno;
                                    return 0;
                                }) == 0);
                        made.push_back(base);
                    }
                    INFO("uid " << uid << ", mode " << m << ", name " << made[0].size() << " bytes");
                    for (const char *type : {"f", "d", "p", "l"}) {
                        INFO(type);
                        const mode_t got = mode_of(made[0] + type);
                        CHECK(got == mode_of(made[1] + type));
                        if (std::string(type) == "f" || std::string(type) == "p") CHECK(got == mode);
                        if (std::string(type) == "d") CHECK(got == ((mode & 0777) | 01000));  // mkdir drops S_ISUID/S_ISGID
                        struct stat st {};
                        REQUIRE(::lstat((made[0] + type).c_str(), &st) == 0);
                        CHECK(st.st_uid == uid);
                    }
                }
            }
        }
    }
}

TEST_CASE("a set-group-ID directory passes its group and the bit on, as ext4 does", "[posix][umask]") {
    Trees trees(077);
    for (const std::string &root : trees.roots()) {
        REQUIRE(::mkdir((root + "/g").c_str(), 0777) == 0);
        REQUIRE(::chown((root + "/g").c_str(), 0, 4242) == 0);
        REQUIRE(::chmod((root + "/g").c_str(), 02777) == 0);
        REQUIRE(as_user(kOther, kOtherGroup, [&] {
                    if (int err = create_file(root + "/g/f", 02775)) return err;
                    return ::mkdir((root + "/g/d").c_str(), 0750) == 0 ? 0 : errno;
                }) == 0);
    }
    for (const char *name : {"/g/f", "/g/d"}) {
        INFO(name);
        struct stat a {}, b {};
        REQUIRE(::stat((trees.store->mountpoint() + name).c_str(), &a) == 0);
        REQUIRE(::stat((trees.reference.path() + name).c_str(), &b) == 0);
        CHECK(octal(a.st_mode & 07777) == octal(b.st_mode & 07777));
        CHECK(a.st_gid == b.st_gid);
        CHECK(a.st_gid == 4242);
        CHECK(a.st_uid == kOther);
    }
}

TEST_CASE("killpriv v2: the kernel asks for security.capability once per file, not before every write",
          "[posix][killpriv]") {
    // Without FUSE_HANDLE_KILLPRIV_V2 the kernel cannot mark an inode
    // S_NOSEC and asks before each write(2) whether there are file
    // capabilities to clear: one GETXATTR round trip per write.
    MountedStore store;
    const std::string path = store.path("many-writes");
    const double before = op_count(stats(store.mountpoint()), "getxattr");
    const int fd = ::open(path.c_str(), O_CREAT | O_WRONLY | O_EXCL, 0644);
    REQUIRE(fd >= 0);
    for (int i = 0; i < 64; ++i) REQUIRE(::write(fd, "0123456789abcdef", 16) == 16);
    REQUIRE(::close(fd) == 0);
    CHECK(op_count(stats(store.mountpoint()), "getxattr") - before <= 2);
    CHECK(read_file(path).size() == 64 * 16);
}
