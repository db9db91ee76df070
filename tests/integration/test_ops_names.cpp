// Name operations on a real mount: lookup, mkdir/rmdir, readdir(plus) of many
// entries, unlink, rename (plain, replacing, NOREPLACE, EXCHANGE, directories
// across parents), hard links, symlinks, FIFOs and mknod, long names through
// the sidecar scheme, UTF-8 names, and plaintext-names mode.
#include <catch2/catch.hpp>

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "support/process.h"

using namespace cmkfs::test;
namespace fs = std::filesystem;

namespace {

// Names in a directory (without . and ..), each counted.
std::map<std::string, int> list_dir(const std::string &dir) {
    std::map<std::string, int> out;
    DIR *d = ::opendir(dir.c_str());
    INFO("opendir " << dir << ": " << std::strerror(errno));
    REQUIRE(d != nullptr);
    while (dirent *e = ::readdir(d)) {
        std::string n = e->d_name;
        if (n != "." && n != "..") ++out[n];
    }
    ::closedir(d);
    return out;
}

std::set<std::string> names_of(const std::map<std::string, int> &listing) {
    std::set<std::string> out;
    for (const auto &[n, count] : listing) out.insert(n);
    return out;
}

// Every entry name directly under a backing directory.
std::set<std::string> backing_names(const std::string &dir) {
    std::set<std::string> out;
    for (const auto &e : fs::directory_iterator(dir)) out.insert(e.path().filename().string());
    return out;
}

std::string readlink_str(const std::string &path) {
    std::vector<char> buf(PATH_MAX + 1);
    ssize_t n = ::readlink(path.c_str(), buf.data(), buf.size());
    INFO("readlink " << path << ": " << std::strerror(errno));
    REQUIRE(n >= 0);
    return std::string(buf.data(), static_cast<size_t>(n));
}

struct stat lstat_ok(const std::string &path) {
    struct stat st {};
    INFO("lstat " << path);
    REQUIRE(::lstat(path.c_str(), &st) == 0);
    return st;
}

int err_of(int rc) { return rc == 0 ? 0 : errno; }

int renameat2_(const std::string &from, const std::string &to, unsigned flags) {
    return static_cast<int>(::syscall(SYS_renameat2, AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), flags));
}

bool exists(const std::string &path) {
    struct stat st {};
    return ::lstat(path.c_str(), &st) == 0;
}

}  // namespace

TEST_CASE("lookup, mkdir, rmdir and unlink") {
    MountedStore store;
    CHECK(list_dir(store.mountpoint()).empty());  // bookkeeping files are hidden

    REQUIRE(::mkdir(store.path("d").c_str(), 0750) == 0);
    auto st = lstat_ok(store.path("d"));
    CHECK(S_ISDIR(st.st_mode));
    CHECK((st.st_mode & 0777) == 0750);
    CHECK(err_of(::mkdir(store.path("d").c_str(), 0755)) == EEXIST);
    CHECK(err_of(::mkdir(store.path("nope/sub").c_str(), 0755)) == ENOENT);

    REQUIRE(::mkdir(store.path("d/sub").c_str(), 0755) == 0);
    write_file(store.path("d/f"), "x");
    write_file(store.path("d/sub/g"), "y");
    CHECK(names_of(list_dir(store.path("d"))) == std::set<std::string>{"f", "sub"});
    CHECK(list_dir(store.path("d/sub")).size() == 1);

    CHECK(err_of(::rmdir(store.path("d").c_str())) == ENOTEMPTY);
    CHECK(err_of(::rmdir(store.path("d/sub").c_str())) == ENOTEMPTY);
    CHECK(err_of(::rmdir(store.path("d/f").c_str())) == ENOTDIR);
    CHECK(err_of(::unlink(store.path("d/sub").c_str())) == EISDIR);
    CHECK(read_file(store.path("d/sub/g")) == "y");  // failed rmdir changed nothing

    REQUIRE(::unlink(store.path("d/sub/g").c_str()) == 0);
    CHECK(err_of(::unlink(store.path("d/sub/g").c_str())) == ENOENT);
    REQUIRE(::rmdir(store.path("d/sub").c_str()) == 0);
    CHECK_FALSE(exists(store.path("d/sub")));
    CHECK(err_of(::rmdir(store.path("d").c_str())) == ENOTEMPTY);
    REQUIRE(::unlink(store.path("d/f").c_str()) == 0);
    REQUIRE(::rmdir(store.path("d").c_str()) == 0);
    CHECK_FALSE(exists(store.path("d")));
    CHECK(list_dir(store.mountpoint()).empty());
    CHECK(err_of(::rmdir(store.path("d").c_str())) == ENOENT);

    // A name can be reused as the other type.
    write_file(store.path("d"), "now a file");
    CHECK(read_file(store.path("d")) == "now a file");

    // The backing root holds only bookkeeping now (no leftover directory).
    store.unmount();
    for (const auto &n : backing_names(store.backing())) {
        if (n.rfind(".cmkfs", 0) == 0) continue;
        INFO("backing entry " << n);
        CHECK(fs::is_regular_file(fs::path(store.backing()) / n));
    }
}

TEST_CASE("readdir lists 500 entries exactly once, with paging and seekdir") {
    MountedStore store;
    REQUIRE(::mkdir(store.path("many").c_str(), 0755) == 0);
    std::set<std::string> expected;
    for (int i = 0; i < 500; ++i) {
        const std::string name = "entry-" + std::to_string(i) + (i % 3 == 0 ? "-with-a-longer-suffix" : "");
        expected.insert(name);
        write_file(store.path("many/" + name), std::string(static_cast<size_t>(i), 'x'));
    }
    auto listing = list_dir(store.path("many"));
    CHECK(listing.size() == 500);
    CHECK(names_of(listing) == expected);
    for (const auto &[name, count] : listing) {
        INFO(name);
        CHECK(count == 1);
    }

    // Raw getdents64 with a tiny buffer: many short reads, each resumes at d_off.
    {
        int fd = ::open(store.path("many").c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        REQUIRE(fd >= 0);
        std::map<std::string, int> seen;
        alignas(8) char buf[300];
        int calls = 0;
        for (;;) {
            long n = ::syscall(SYS_getdents64, fd, buf, sizeof buf);
            REQUIRE(n >= 0);
            if (n == 0) break;
            ++calls;
            for (long pos = 0; pos < n;) {
                auto *e = reinterpret_cast<struct dirent64 *>(buf + pos);
                std::string name = e->d_name;
                if (name != "." && name != "..") ++seen[name];
                pos += e->d_reclen;
            }
        }
        ::close(fd);
        CHECK(calls > 20);
        CHECK(seen == listing);
    }

    // telldir/seekdir: resuming from a saved position repeats the same tail.
    {
        DIR *d = ::opendir(store.path("many").c_str());
        REQUIRE(d != nullptr);
        for (int i = 0; i < 150; ++i) REQUIRE(::readdir(d) != nullptr);
        const long pos = ::telldir(d);
        std::vector<std::string> tail1, tail2;
        while (dirent *e = ::readdir(d)) tail1.emplace_back(e->d_name);
        ::seekdir(d, pos);
        while (dirent *e = ::readdir(d)) tail2.emplace_back(e->d_name);
        ::rewinddir(d);
        int all = 0;
        while (::readdir(d) != nullptr) ++all;
        ::closedir(d);
        CHECK(tail1.size() == 502 - 150);
        CHECK(tail1 == tail2);
        CHECK(all == 502);
    }

    // readdirplus (ls -l): every entry stat'ed right after listing.
    store.unmount();
    store.mount();
    DIR *d = ::opendir(store.path("many").c_str());
    REQUIRE(d != nullptr);
    int checked = 0;
    while (dirent *e = ::readdir(d)) {
        std::string name = e->d_name;
        if (name == "." || name == "..") continue;
        CHECK(e->d_type == DT_REG);
        struct stat st {};
        REQUIRE(::fstatat(::dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0);
        const auto dash = name.find('-', 6);
        const long size = std::stol(name.substr(6, dash == std::string::npos ? std::string::npos : dash - 6));
        INFO(name);
        CHECK(st.st_size == size);
        CHECK(S_ISREG(st.st_mode));
        CHECK(st.st_ino == e->d_ino);
        ++checked;
    }
    ::closedir(d);
    CHECK(checked == 500);

    // Removing every other entry: the listing follows.
    int removed = 0;
    for (const auto &name : expected) {
        if (++removed % 2 == 0) {
            REQUIRE(::unlink(store.path("many/" + name).c_str()) == 0);
        }
    }
    CHECK(list_dir(store.path("many")).size() == 250);
}

TEST_CASE("rename: within and across directories, replacing, NOREPLACE, EXCHANGE") {
    MountedStore store;
    REQUIRE(::mkdir(store.path("a").c_str(), 0755) == 0);
    REQUIRE(::mkdir(store.path("b").c_str(), 0755) == 0);
    write_file(store.path("a/one"), "content one");
    write_file(store.path("a/two"), "content two");

    SECTION("within a directory") {
        REQUIRE(::rename(store.path("a/one").c_str(), store.path("a/uno").c_str()) == 0);
        CHECK_FALSE(exists(store.path("a/one")));
        CHECK(read_file(store.path("a/uno")) == "content one");
        CHECK(names_of(list_dir(store.path("a"))) == std::set<std::string>{"two", "uno"});
        // Rename to itself is a no-op.
        REQUIRE(::rename(store.path("a/uno").c_str(), store.path("a/uno").c_str()) == 0);
        CHECK(read_file(store.path("a/uno")) == "content one");
    }
    SECTION("across directories, keeping the inode and an open fd") {
        const ino_t ino = lstat_ok(store.path("a/one")).st_ino;
        int fd = ::open(store.path("a/one").c_str(), O_RDWR | O_CLOEXEC);
        REQUIRE(fd >= 0);
        REQUIRE(::rename(store.path("a/one").c_str(), store.path("b/moved").c_str()) == 0);
        CHECK_FALSE(exists(store.path("a/one")));
        CHECK(lstat_ok(store.path("b/moved")).st_ino == ino);
        REQUIRE(::pwrite(fd, "C", 1, 0) == 1);
        ::close(fd);
        CHECK(read_file(store.path("b/moved")) == "Content one");
        CHECK(names_of(list_dir(store.path("b"))) == std::set<std::string>{"moved"});
    }
    SECTION("onto an existing file replaces it") {
        REQUIRE(::rename(store.path("a/one").c_str(), store.path("a/two").c_str()) == 0);
        CHECK(read_file(store.path("a/two")) == "content one");
        CHECK_FALSE(exists(store.path("a/one")));
        CHECK(list_dir(store.path("a")).size() == 1);
        write_file(store.path("b/three"), "three");
        REQUIRE(::rename(store.path("b/three").c_str(), store.path("a/two").c_str()) == 0);
        CHECK(read_file(store.path("a/two")) == "three");
        CHECK(list_dir(store.path("b")).empty());
    }
    SECTION("RENAME_NOREPLACE refuses an existing target and changes nothing") {
        CHECK(err_of(renameat2_(store.path("a/one"), store.path("a/two"), RENAME_NOREPLACE)) == EEXIST);
        CHECK(read_file(store.path("a/one")) == "content one");
        CHECK(read_file(store.path("a/two")) == "content two");
        REQUIRE(renameat2_(store.path("a/one"), store.path("b/new"), RENAME_NOREPLACE) == 0);
        CHECK(read_file(store.path("b/new")) == "content one");
        CHECK_FALSE(exists(store.path("a/one")));
    }
    SECTION("RENAME_EXCHANGE swaps, within and across directories") {
        REQUIRE(renameat2_(store.path("a/one"), store.path("a/two"), RENAME_EXCHANGE) == 0);
        CHECK(read_file(store.path("a/one")) == "content two");
        CHECK(read_file(store.path("a/two")) == "content one");
        REQUIRE(::mkdir(store.path("b/dir").c_str(), 0755) == 0);
        write_file(store.path("b/dir/inner"), "inner");
        REQUIRE(renameat2_(store.path("a/one"), store.path("b/dir"), RENAME_EXCHANGE) == 0);
        CHECK(read_file(store.path("b/dir")) == "content two");
        CHECK(read_file(store.path("a/one/inner")) == "inner");
        CHECK(err_of(renameat2_(store.path("a/one"), store.path("a/missing"), RENAME_EXCHANGE)) == ENOENT);
    }
    SECTION("directories with contents move across directories") {
        REQUIRE(::mkdir(store.path("a/tree").c_str(), 0755) == 0);
        REQUIRE(::mkdir(store.path("a/tree/deep").c_str(), 0755) == 0);
        write_file(store.path("a/tree/x"), "x content");
        write_file(store.path("a/tree/deep/y"), "y content");
        REQUIRE(::symlink("../x", store.path("a/tree/deep/link").c_str()) == 0);
        REQUIRE(::rename(store.path("a/tree").c_str(), store.path("b/tree-moved").c_str()) == 0);
        CHECK_FALSE(exists(store.path("a/tree")));
        CHECK(read_file(store.path("b/tree-moved/x")) == "x content");
        CHECK(read_file(store.path("b/tree-moved/deep/y")) == "y content");
        CHECK(read_file(store.path("b/tree-moved/deep/link")) == "x content");
        CHECK(names_of(list_dir(store.path("b/tree-moved"))) == std::set<std::string>{"deep", "x"});
        // Onto a non-empty directory: ENOTEMPTY; onto an empty one: replaces.
        REQUIRE(::mkdir(store.path("a/full").c_str(), 0755) == 0);
        write_file(store.path("a/full/f"), "f");
        CHECK(err_of(::rename(store.path("b/tree-moved").c_str(), store.path("a/full").c_str())) == ENOTEMPTY);
        REQUIRE(::mkdir(store.path("a/empty").c_str(), 0755) == 0);
        REQUIRE(err_of(::rename(store.path("b/tree-moved").c_str(), store.path("a/empty").c_str())) == 0);
        CHECK(read_file(store.path("a/empty/deep/y")) == "y content");
        // A directory cannot move into itself.
        CHECK(err_of(::rename(store.path("a/empty").c_str(), store.path("a/empty/deep/in").c_str())) == EINVAL);
        // Survives remount (dir ids travel with the directory).
        store.unmount();
        store.mount();
        CHECK(read_file(store.path("a/empty/x")) == "x content");
        CHECK(read_file(store.path("a/empty/deep/y")) == "y content");
    }
}

TEST_CASE("hard links share content and count links") {
    MountedStore store;
    REQUIRE(::mkdir(store.path("other").c_str(), 0755) == 0);
    write_file(store.path("orig"), "shared");
    REQUIRE(::link(store.path("orig").c_str(), store.path("alias").c_str()) == 0);
    REQUIRE(::link(store.path("orig").c_str(), store.path("other/alias2").c_str()) == 0);
    CHECK(lstat_ok(store.path("orig")).st_nlink == 3);
    CHECK(lstat_ok(store.path("alias")).st_ino == lstat_ok(store.path("orig")).st_ino);
    CHECK(err_of(::link(store.path("orig").c_str(), store.path("alias").c_str())) == EEXIST);

    {
        int fd = ::open(store.path("alias").c_str(), O_WRONLY | O_CLOEXEC);
        REQUIRE(fd >= 0);
        REQUIRE(::pwrite(fd, "SHARED and more", 15, 0) == 15);
        ::close(fd);
    }
    CHECK(read_file(store.path("orig")) == "SHARED and more");
    CHECK(read_file(store.path("other/alias2")) == "SHARED and more");

    REQUIRE(::unlink(store.path("other/alias2").c_str()) == 0);
    CHECK(lstat_ok(store.path("orig")).st_nlink == 2);
    CHECK(lstat_ok(store.path("alias")).st_nlink == 2);
    REQUIRE(::unlink(store.path("orig").c_str()) == 0);
    CHECK(lstat_ok(store.path("alias")).st_nlink == 1);
    CHECK(read_file(store.path("alias")) == "SHARED and more");
    // Links to directories are refused.
    REQUIRE(::mkdir(store.path("dir").c_str(), 0755) == 0);
    CHECK(err_of(::link(store.path("dir").c_str(), store.path("dirlink").c_str())) == EPERM);

    store.unmount();
    store.mount();
    CHECK(read_file(store.path("alias")) == "SHARED and more");
    CHECK(lstat_ok(store.path("alias")).st_nlink == 1);
}

TEST_CASE("symlinks: relative, absolute, 1000-character targets, following") {
    MountedStore store;
    REQUIRE(::mkdir(store.path("sub").c_str(), 0755) == 0);
    write_file(store.path("target.txt"), "pointed to");

    REQUIRE(::symlink("target.txt", store.path("rel").c_str()) == 0);
    REQUIRE(::symlink("../target.txt", store.path("sub/up").c_str()) == 0);
    const std::string abs = store.path("target.txt");
    REQUIRE(::symlink(abs.c_str(), store.path("abs").c_str()) == 0);
    std::string long_target;
    while (long_target.size() < 1000) long_target += "segment" + std::to_string(long_target.size()) + "/";
    long_target.resize(1000);
    REQUIRE(::symlink(long_target.c_str(), store.path("long").c_str()) == 0);
    REQUIRE(::symlink("dangling-nowhere", store.path("dangling").c_str()) == 0);
    REQUIRE(::symlink("sub", store.path("dirlink").c_str()) == 0);

    auto verify = [&] {
        CHECK(readlink_str(store.path("rel")) == "target.txt");
        CHECK(readlink_str(store.path("sub/up")) == "../target.txt");
        CHECK(readlink_str(store.path("abs")) == abs);
        CHECK(readlink_str(store.path("long")) == long_target);
        // lstat's size is the target length (ls -l, readlink(1) rely on it).
        CHECK(lstat_ok(store.path("rel")).st_size == 10);
        CHECK(lstat_ok(store.path("abs")).st_size == static_cast<off_t>(abs.size()));
        CHECK(lstat_ok(store.path("long")).st_size == 1000);
        CHECK(S_ISLNK(lstat_ok(store.path("long")).st_mode));
        CHECK(read_file(store.path("rel")) == "pointed to");
        CHECK(read_file(store.path("sub/up")) == "pointed to");
        CHECK(read_file(store.path("abs")) == "pointed to");
        struct stat st {};
        CHECK(err_of(::stat(store.path("dangling").c_str(), &st)) == ENOENT);
        REQUIRE(::stat(store.path("dirlink").c_str(), &st) == 0);
        CHECK(S_ISDIR(st.st_mode));
        CHECK(read_file(store.path("dirlink/up")) == "pointed to");
    };
    verify();
    CHECK(err_of(::symlink("x", store.path("rel").c_str())) == EEXIST);
    // O_NOFOLLOW on a symlink.
    CHECK(::open(store.path("rel").c_str(), O_RDONLY | O_NOFOLLOW) == -1);
    CHECK(errno == ELOOP);
    // utimensat on the link itself.
    struct timespec ts[2] = {{1111111111, 5}, {1222222222, 6}};
    REQUIRE(::utimensat(AT_FDCWD, store.path("rel").c_str(), ts, AT_SYMLINK_NOFOLLOW) == 0);
    CHECK(lstat_ok(store.path("rel")).st_mtim.tv_sec == 1222222222);
    CHECK(lstat_ok(store.path("rel")).st_mtim.tv_nsec == 6);
    CHECK(lstat_ok(store.path("target.txt")).st_mtim.tv_sec != 1222222222);
    // Rename and unlink of a link leave the target alone.
    REQUIRE(::rename(store.path("rel").c_str(), store.path("sub/rel-moved").c_str()) == 0);
    CHECK(readlink_str(store.path("sub/rel-moved")) == "target.txt");
    REQUIRE(::unlink(store.path("sub/rel-moved").c_str()) == 0);
    CHECK(read_file(store.path("target.txt")) == "pointed to");
    REQUIRE(::symlink("target.txt", store.path("rel").c_str()) == 0);

    store.unmount();
    store.mount();
    verify();
}

TEST_CASE("mkfifo and mknod") {
    MountedStore store;
    const std::string fifo = store.path("pipe");
    REQUIRE(::mkfifo(fifo.c_str(), 0640) == 0);
    auto st = lstat_ok(fifo);
    CHECK(S_ISFIFO(st.st_mode));
    CHECK((st.st_mode & 0777) == 0640);
    CHECK(list_dir(store.mountpoint()).count("pipe") == 1);

    auto pass_bytes = [&] {
        int r = ::open(fifo.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
        REQUIRE(r >= 0);
        int w = ::open(fifo.c_str(), O_WRONLY | O_CLOEXEC);
        REQUIRE(w >= 0);
        const std::string msg = "through the fifo";
        REQUIRE(::write(w, msg.data(), msg.size()) == static_cast<ssize_t>(msg.size()));
        char buf[64] = {};
        REQUIRE(::read(r, buf, sizeof buf) == static_cast<ssize_t>(msg.size()));
        CHECK(std::string(buf, msg.size()) == msg);
        ::close(w);
        ::close(r);
    };
    pass_bytes();

    // mknod of a regular file goes through FUSE mknod.
    REQUIRE(::mknod(store.path("node").c_str(), S_IFREG | 0600, 0) == 0);
    CHECK(S_ISREG(lstat_ok(store.path("node")).st_mode));
    CHECK(lstat_ok(store.path("node")).st_size == 0);
    write_file(store.path("node"), "node data");
    CHECK(read_file(store.path("node")) == "node data");
    CHECK(err_of(::mknod(store.path("node").c_str(), S_IFIFO | 0600, 0)) == EEXIST);

    store.unmount();
    store.mount();
    CHECK(S_ISFIFO(lstat_ok(fifo).st_mode));
    pass_bytes();
    CHECK(read_file(store.path("node")) == "node data");
    REQUIRE(::unlink(fifo.c_str()) == 0);
    CHECK_FALSE(exists(fifo));
}

TEST_CASE("long names use the sidecar scheme: create, list, stat, rename, link, remove") {
    MountedStore store;
    auto long_name = [](char c, size_t len) {
        std::string n;
        while (n.size() < len) n += std::string(1, c) + std::to_string(n.size()) + "_";
        n.resize(len);
        return n;
    };
    const std::string n255 = long_name('a', 255);
    const std::string n255b = long_name('b', 255);
    const std::string n255c = long_name('c', 255);
    const std::string n200 = long_name('d', 200);
    const std::string utf8 = "h\xC3\xA9llo w\xC3\xB6rld \xE2\x98\x83 \xE6\x97\xA5\xE6\x9C\xAC.txt";  // héllo wörld ☃ 日本.txt
    REQUIRE(n255.size() == 255);

    write_file(store.path(n255), "long 255");
    write_file(store.path(n200), "long 200");
    write_file(store.path(utf8), "utf8 and spaces");
    write_file(store.path("short"), "short");
    CHECK(names_of(list_dir(store.mountpoint())) == std::set<std::string>{n255, n200, utf8, "short"});
    CHECK(lstat_ok(store.path(n255)).st_size == 8);
    CHECK(read_file(store.path(n200)) == "long 200");
    CHECK(read_file(store.path(utf8)) == "utf8 and spaces");

    // 256 bytes is one too many.
    const std::string n256 = long_name('e', 256);
    errno = 0;
    CHECK(::open(store.path(n256).c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0644) == -1);
    CHECK(errno == ENAMETOOLONG);

    // The backing directory stores the long ones under hashed names with sidecars.
    {
        int long_entries = 0, sidecars = 0;
        for (const auto &n : backing_names(store.backing())) {
            CHECK(n.size() <= 255);
            if (n.rfind(".cmkfs.long.", 0) == 0) {
                (n.size() > 5 && n.compare(n.size() - 5, 5, ".name") == 0 ? sidecars : long_entries)++;
            }
        }
        CHECK(long_entries == 2);
        CHECK(sidecars == 2);
    }

    REQUIRE(::rename(store.path(n255).c_str(), store.path(n255b).c_str()) == 0);
    CHECK_FALSE(exists(store.path(n255)));
    CHECK(read_file(store.path(n255b)) == "long 255");
    REQUIRE(::link(store.path(n255b).c_str(), store.path(n255c).c_str()) == 0);
    CHECK(lstat_ok(store.path(n255c)).st_nlink == 2);
    CHECK(names_of(list_dir(store.mountpoint())) == std::set<std::string>{n255b, n255c, n200, utf8, "short"});

    // Renaming one hard link onto another is a no-op: both long names stay.
    REQUIRE(::rename(store.path(n255b).c_str(), store.path(n255c).c_str()) == 0);
    CHECK(read_file(store.path(n255b)) == "long 255");
    CHECK(read_file(store.path(n255c)) == "long 255");

    // Long directory names hold children; long names inside them too.
    REQUIRE(::mkdir(store.path(long_name('D', 255)).c_str(), 0755) == 0);
    write_file(store.path(long_name('D', 255) + "/" + n255), "nested long");
    REQUIRE(::symlink(n200.c_str(), store.path(long_name('S', 250)).c_str()) == 0);
    CHECK(read_file(store.path(long_name('S', 250))) == "long 200");

    // Exchange of two long names and rename of a short name onto a long one.
    REQUIRE(renameat2_(store.path(n200), store.path(utf8), RENAME_EXCHANGE) == 0);
    CHECK(read_file(store.path(n200)) == "utf8 and spaces");
    CHECK(read_file(store.path(utf8)) == "long 200");
    REQUIRE(::rename(store.path("short").c_str(), store.path(n200).c_str()) == 0);
    CHECK(read_file(store.path(n200)) == "short");
    // A directory renamed over an empty directory with a long name.
    REQUIRE(::mkdir(store.path("srcdir").c_str(), 0755) == 0);
    write_file(store.path("srcdir/child"), "child");
    REQUIRE(::mkdir(store.path(long_name('E', 240)).c_str(), 0755) == 0);
    REQUIRE(::rename(store.path("srcdir").c_str(), store.path(long_name('E', 240)).c_str()) == 0);
    CHECK(read_file(store.path(long_name('E', 240) + "/child")) == "child");
    REQUIRE(::unlink(store.path(long_name('E', 240) + "/child").c_str()) == 0);
    REQUIRE(::rmdir(store.path(long_name('E', 240)).c_str()) == 0);

    store.unmount();
    store.mount();
    CHECK(names_of(list_dir(store.mountpoint())) ==
          std::set<std::string>{n255b, n255c, n200, utf8, long_name('D', 255), long_name('S', 250)});
    CHECK(read_file(store.path(long_name('D', 255) + "/" + n255)) == "nested long");
    CHECK(read_file(store.path(n255c)) == "long 255");

    // Remove everything: no long-name entry or sidecar is left behind.
    REQUIRE(::unlink(store.path(n255b).c_str()) == 0);
    CHECK(lstat_ok(store.path(n255c)).st_nlink == 1);
    REQUIRE(::unlink(store.path(n255c).c_str()) == 0);
    REQUIRE(::unlink(store.path(n200).c_str()) == 0);
    REQUIRE(::unlink(store.path(utf8).c_str()) == 0);
    REQUIRE(::unlink(store.path(long_name('S', 250)).c_str()) == 0);
    REQUIRE(::unlink(store.path(long_name('D', 255) + "/" + n255).c_str()) == 0);
    REQUIRE(::rmdir(store.path(long_name('D', 255)).c_str()) == 0);
    CHECK(list_dir(store.mountpoint()).empty());
    store.unmount();
    for (const auto &n : backing_names(store.backing())) {
        INFO("left in backing: " << n);
        CHECK(n.rfind(".cmkfs.long.", 0) != 0);
    }
}

TEST_CASE("plaintext-names mode: names visible, contents encrypted, .cmkfs names refused") {
    MountedStore::Options options;
    options.plaintext_names = true;
    MountedStore store(options);
    const std::string marker = "plaintext-names-content-marker-7f3a";
    REQUIRE(::mkdir(store.path("visible-dir").c_str(), 0755) == 0);
    write_file(store.path("visible-dir/visible-file.txt"), marker);
    REQUIRE(::symlink("visible-file.txt", store.path("visible-dir/visible-link").c_str()) == 0);
    CHECK(read_file(store.path("visible-dir/visible-link")) == marker);

    CHECK(err_of(::mkdir(store.path(".cmkfs-dir").c_str(), 0755)) == EPERM);
    errno = 0;
    CHECK(::open(store.path(".cmkfs.volume2").c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0644) == -1);
    CHECK(errno == EPERM);
    CHECK(err_of(::rename(store.path("visible-dir/visible-file.txt").c_str(),
                          store.path("visible-dir/.cmkfs.dirid").c_str())) == EPERM);
    CHECK(err_of(::symlink("x", store.path(".cmkfsx").c_str())) == EPERM);
    CHECK(err_of(::link(store.path("visible-dir/visible-file.txt").c_str(), store.path(".cmkfs.long.x").c_str())) ==
          EPERM);
    // Bookkeeping is neither listed nor reachable.
    CHECK(names_of(list_dir(store.mountpoint())) == std::set<std::string>{"visible-dir"});
    CHECK(names_of(list_dir(store.path("visible-dir"))) == std::set<std::string>{"visible-file.txt", "visible-link"});
    CHECK_FALSE(exists(store.path(".cmkfs.volume")));
    CHECK_FALSE(exists(store.path("visible-dir/.cmkfs.dirid")));
    // Names other than the reserved prefix that start with a dot are fine.
    write_file(store.path(".hidden"), "dot");
    CHECK(read_file(store.path(".hidden")) == "dot");

    store.unmount();
    CHECK(fs::is_directory(store.backing() + "/visible-dir"));
    const std::string backing_file = store.backing() + "/visible-dir/visible-file.txt";
    REQUIRE(fs::is_regular_file(backing_file));
    const std::string cipher = read_file(backing_file);
    CHECK(cipher.size() > marker.size());
    CHECK(cipher.find(marker) == std::string::npos);
    CHECK(cipher.find("content-marker") == std::string::npos);
    CHECK(fs::is_symlink(store.backing() + "/visible-dir/visible-link"));
    CHECK(fs::read_symlink(store.backing() + "/visible-dir/visible-link").string().find("visible-file") ==
          std::string::npos);  // targets stay encrypted
    store.mount();
    CHECK(read_file(store.path("visible-dir/visible-file.txt")) == marker);
}
