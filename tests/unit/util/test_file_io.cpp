// Whole-buffer I/O and crash-safe file replacement (util/file_io.h).
#include <catch2/catch.hpp>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "support/test_seed.h"
#include "support/temp_dir.h"
#include "util/errors.h"
#include "util/file_io.h"
#include "support/random_bytes.h"

using cmkfs::UniqueFd;
using cmkfs::test::TempDir;
using Bytes = std::vector<uint8_t>;

namespace {

UniqueFd open_rw(const std::string &path) {
    UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
    REQUIRE(fd);
    return fd;
}

mode_t mode_of(const std::string &path) {
    struct stat st {};
    REQUIRE(::lstat(path.c_str(), &st) == 0);
    return st.st_mode & 07777;
}

Bytes as_bytes(const std::string &s) { return Bytes(s.begin(), s.end()); }

// Runs f and returns the errno of the SystemError it throws (0 if none).
template <class F>
int errno_thrown(F &&f) {
    try {
        f();
    } catch (const cmkfs::SystemError &e) {
        return e.error_number();
    }
    return 0;
}

// Restores the process umask on scope exit.
struct UmaskGuard {
    explicit UmaskGuard(mode_t m) : old(::umask(m)) {}
    ~UmaskGuard() { ::umask(old); }
    mode_t old;
};

}  // namespace

TEST_CASE("pwrite_full and pread_full move whole buffers at offsets", "[file_io]") {
    TempDir dir;
    UniqueFd fd = open_rw(dir / "data");
    const Bytes data = cmkfs::test::random_bytes<Bytes>(3 * 1024 * 1024 + 17, 401);  // several kernel transfers

    cmkfs::pwrite_full(fd.get(), data, 4096);
    Bytes back(data.size());
    CHECK(cmkfs::pread_full(fd.get(), back, 4096) == data.size());
    CHECK(back == data);

    SECTION("the gap before the offset reads as zeros") {
        Bytes head(4096, 0xAA);
        CHECK(cmkfs::pread_full(fd.get(), head, 0) == 4096);
        CHECK(head == Bytes(4096, 0));
    }
    SECTION("a read across EOF is short, and at EOF returns 0") {
        const off_t end = 4096 + static_cast<off_t>(data.size());
        Bytes tail(100);
        CHECK(cmkfs::pread_full(fd.get(), tail, end - 10) == 10);
        CHECK(Bytes(tail.begin(), tail.begin() + 10) == Bytes(data.end() - 10, data.end()));
        CHECK(cmkfs::pread_full(fd.get(), tail, end) == 0);
        CHECK(cmkfs::pread_full(fd.get(), tail, end + 1000) == 0);
    }
    SECTION("overwriting in the middle changes only that range") {
        const Bytes patch(10, 0x5A);
        cmkfs::pwrite_full(fd.get(), patch, 4096 + 100);
        Bytes mid(30);
        REQUIRE(cmkfs::pread_full(fd.get(), mid, 4096 + 90) == 30);
        CHECK(Bytes(mid.begin(), mid.begin() + 10) == Bytes(data.begin() + 90, data.begin() + 100));
        CHECK(Bytes(mid.begin() + 10, mid.begin() + 20) == patch);
        CHECK(Bytes(mid.begin() + 20, mid.end()) == Bytes(data.begin() + 110, data.begin() + 120));
    }
    SECTION("empty buffers are no-ops") {
        cmkfs::pwrite_full(fd.get(), {}, 0);
        CHECK(cmkfs::pread_full(fd.get(), {}, 0) == 0);
    }
}

TEST_CASE("pread_full and pwrite_full report failures as SystemError", "[file_io]") {
    TempDir dir;
    { open_rw(dir / "ro"); }
    UniqueFd ro(::open((dir / "ro").c_str(), O_RDONLY | O_CLOEXEC));
    REQUIRE(ro);
    Bytes buf(8, 1);
    CHECK(errno_thrown([&] { cmkfs::pwrite_full(ro.get(), buf, 0); }) == EBADF);
    CHECK(errno_thrown([&] { (void)cmkfs::pread_full(-1, buf, 0); }) == EBADF);
    int p[2];
    REQUIRE(::pipe(p) == 0);
    UniqueFd r(p[0]), w(p[1]);
    CHECK(errno_thrown([&] { (void)cmkfs::pread_full(r.get(), buf, 0); }) == ESPIPE);
    try {
        cmkfs::pwrite_full(ro.get(), buf, 0);
    } catch (const cmkfs::SystemError &e) {
        CHECK(std::string(e.what()).find(std::strerror(EBADF)) != std::string::npos);
    }
}

TEST_CASE("read_file_at reads whole files of any size and refuses symlinks", "[file_io]") {
    TempDir dir;
    UniqueFd dfd = cmkfs::open_dir(dir.path());
    for (size_t size : {size_t{0}, size_t{1}, size_t{8191}, size_t{8192}, size_t{8193},
                        size_t{16384}, size_t{100000}}) {
        INFO("size " << size);
        const Bytes data = cmkfs::test::random_bytes<Bytes>(size, 402 + size);
        UniqueFd fd = open_rw(dir / "f");
        REQUIRE(::ftruncate(fd.get(), 0) == 0);
        cmkfs::pwrite_full(fd.get(), data, 0);
        CHECK(cmkfs::read_file_at(dfd.get(), "f") == data);
        CHECK(cmkfs::read_file_at(AT_FDCWD, dir / "f") == data);
    }
    REQUIRE(::symlink("f", (dir / "link").c_str()) == 0);
    CHECK(errno_thrown([&] { (void)cmkfs::read_file_at(dfd.get(), "link"); }) == ELOOP);
    CHECK(errno_thrown([&] { (void)cmkfs::read_file_at(dfd.get(), "missing"); }) == ENOENT);
}

TEST_CASE("write_file_atomic writes the content and mode and leaves no temporary", "[file_io]") {
    TempDir dir;
    UmaskGuard umask_guard(022);
    UniqueFd dfd = cmkfs::open_dir(dir.path());
    const Bytes first = cmkfs::test::random_bytes<Bytes>(20000, 403), second = as_bytes("short");

    cmkfs::write_file_atomic(dfd.get(), "header", first, 0640);
    CHECK(cmkfs::read_file_at(dfd.get(), "header") == first);
    CHECK(mode_of(dir / "header") == 0640);
    CHECK(dir.entries() == std::vector<std::string>{"header"});

    SECTION("replacing an existing file swaps the whole content") {
        cmkfs::write_file_atomic(dfd.get(), "header", second, 0600);
        CHECK(cmkfs::read_file_at(dfd.get(), "header") == second);
        CHECK(mode_of(dir / "header") == 0600);
        CHECK(dir.entries() == std::vector<std::string>{"header"});
    }
    SECTION("by path, relative to the current directory") {
        cmkfs::write_text_file_atomic(dir / "text", "hello\n", 0644);
        CHECK(cmkfs::read_text_file(dir / "text") == "hello\n");
        CHECK(mode_of(dir / "text") == 0644);
        CHECK(dir.entries() == std::vector<std::string>{"header", "text"});
    }
    SECTION("empty content") {
        cmkfs::write_file_atomic(dfd.get(), "empty", {}, 0600);
        CHECK(cmkfs::read_file_at(dfd.get(), "empty").empty());
        CHECK(dir.entries() == std::vector<std::string>{"empty", "header"});
    }
}

TEST_CASE("write_file_atomic is not misled by a stale temporary from a crash", "[file_io]") {
    TempDir dir;
    UmaskGuard umask_guard(022);
    UniqueFd dfd = cmkfs::open_dir(dir.path());
    const Bytes secret = as_bytes("key material");

    SECTION("a world-readable leftover does not lend its mode to the new file") {
        {
            UniqueFd stale(::open((dir / "key.tmp").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0666));
            REQUIRE(stale);
            REQUIRE(::fchmod(stale.get(), 0666) == 0);
        }
        cmkfs::write_file_atomic(dfd.get(), "key", secret, 0600);
        CHECK(mode_of(dir / "key") == 0600);
        CHECK(cmkfs::read_file_at(dfd.get(), "key") == secret);
    }
    SECTION("a symlink planted at the temporary name is not followed") {
        REQUIRE(::symlink((dir / "elsewhere").c_str(), (dir / "key.tmp").c_str()) == 0);
        cmkfs::write_file_atomic(dfd.get(), "key", secret, 0600);
        CHECK(cmkfs::read_file_at(dfd.get(), "key") == secret);
        struct stat st {};
        CHECK(::lstat((dir / "elsewhere").c_str(), &st) == -1);
        CHECK(errno == ENOENT);
    }
}

TEST_CASE("write_file_atomic that fails leaves the old file and no temporary", "[file_io]") {
    TempDir dir;
    UniqueFd dfd = cmkfs::open_dir(dir.path());
    // Renaming a file over a non-empty directory fails (EISDIR).
    REQUIRE(::mkdir((dir / "target").c_str(), 0700) == 0);
    REQUIRE(::mkdir((dir / "target/child").c_str(), 0700) == 0);
    CHECK(errno_thrown([&] { cmkfs::write_file_atomic(dfd.get(), "target", as_bytes("x"), 0600); }) ==
          EISDIR);
    CHECK(dir.entries() == std::vector<std::string>{"target"});
    CHECK(errno_thrown([&] {
              cmkfs::write_text_file_atomic(dir / "missing-dir/f", "x", 0600);
          }) == ENOENT);
}

TEST_CASE("concurrent write_file_atomic of one name never tears the content", "[file_io]") {
    TempDir dir;
    UniqueFd dfd = cmkfs::open_dir(dir.path());
    constexpr int kThreads = 4, kRounds = 25;
    std::vector<Bytes> versions;
    for (int t = 0; t < kThreads; ++t) versions.push_back(Bytes(256 * 1024, static_cast<uint8_t>('a' + t)));
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t)
        threads.emplace_back([&, t] {
            for (int r = 0; r < kRounds; ++r)
                cmkfs::write_file_atomic(dfd.get(), "shared", versions[static_cast<size_t>(t)], 0600);
        });
    for (auto &th : threads) th.join();
    const Bytes final_content = cmkfs::read_file_at(dfd.get(), "shared");
    CHECK(std::find(versions.begin(), versions.end(), final_content) != versions.end());
    CHECK(dir.entries() == std::vector<std::string>{"shared"});
}

TEST_CASE("open_dir opens directories only", "[file_io]") {
    TempDir dir;
    UniqueFd d = cmkfs::open_dir(dir.path());
    CHECK(d);
    { open_rw(dir / "file"); }
    CHECK(errno_thrown([&] { (void)cmkfs::open_dir(dir / "file"); }) == ENOTDIR);
    CHECK(errno_thrown([&] { (void)cmkfs::open_dir(dir / "nope"); }) == ENOENT);
}

TEST_CASE("write_file_atomic runs its step hook in order; a failure before the rename keeps the old file",
          "[file_io]") {
    TempDir dir;
    UniqueFd dfd = cmkfs::open_dir(dir.path());
    const Bytes old_content = as_bytes("old header"), new_content = as_bytes("new header");
    cmkfs::write_file_atomic(dfd.get(), "header", old_content, 0600);

    std::vector<std::string> steps;
    cmkfs::write_file_atomic(dfd.get(), "header", new_content, 0600,
                             [&](const char *step) { steps.emplace_back(step); });
    CHECK(steps == std::vector<std::string>{"write", "fsync", "rename", "fsync-dir"});
    cmkfs::write_file_atomic(dfd.get(), "header", old_content, 0600);

    for (const std::string failing : {"write", "fsync", "rename", "fsync-dir"}) {
        INFO("failing at " << failing);
        auto hook = [&](const char *step) {
            if (failing == step) throw cmkfs::SystemError(ENOSPC, "injected");
        };
        CHECK(errno_thrown([&] { cmkfs::write_file_atomic(dfd.get(), "header", new_content, 0600, hook); }) ==
              ENOSPC);
        // Before the rename: the old file, whole. After it: the new one, whole.
        CHECK(cmkfs::read_file_at(dfd.get(), "header") == (failing == "fsync-dir" ? new_content : old_content));
        CHECK(dir.entries() == std::vector<std::string>{"header"});
        cmkfs::write_file_atomic(dfd.get(), "header", old_content, 0600);
    }
}

TEST_CASE("remove_orphan_temporaries removes a dead writer's temporaries only", "[file_io]") {
    TempDir dir;
    UniqueFd dfd = cmkfs::open_dir(dir.path());
    // A pid that ran and is gone: a child that exited and was reaped.
    const pid_t dead = ::fork();
    if (dead == 0) ::_exit(0);
    REQUIRE(dead > 0);
    REQUIRE(::waitpid(dead, nullptr, 0) == dead);
    const std::string live = std::to_string(::getpid());
    const std::vector<std::string> names = {
        "hdr.tmp." + std::to_string(dead) + ".0",  // orphan: removed
        "hdr.tmp." + std::to_string(dead) + ".7",  // orphan: removed
        "hdr.tmp." + live + ".1",                  // a live writer's: kept
        "other.tmp." + std::to_string(dead) + ".0", // another file's: kept
        "hdr.tmp.notapid.0",                       // not our pattern: kept
        "hdr.tmp." + std::to_string(dead),         // no counter: kept
        "hdr",
    };
    for (const auto &n : names) cmkfs::write_file_atomic(dfd.get(), n, as_bytes("x"), 0600);

    CHECK(cmkfs::remove_orphan_temporaries(dfd.get(), "hdr") == 2);
    std::vector<std::string> left;
    for (const auto &e : std::filesystem::directory_iterator(dir.path())) left.push_back(e.path().filename());
    std::sort(left.begin(), left.end());
    std::vector<std::string> expected(names.begin() + 2, names.end());
    std::sort(expected.begin(), expected.end());
    CHECK(left == expected);
    CHECK(cmkfs::remove_orphan_temporaries(dfd.get(), "hdr") == 0);
}

TEST_CASE("read_file_at reads only regular files, bounded, never blocking", "[file_io]") {
    TempDir dir;
    const UniqueFd root(::open(dir.path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    REQUIRE(root);
    auto error_of = [&](const std::string &name, size_t max = cmkfs::kMaxSmallFileSize) -> std::pair<int, std::string> {
        try {
            (void)cmkfs::read_file_at(root.get(), name, max);
        } catch (const cmkfs::SystemError &e) {
            return {e.error_number(), e.what()};
        }
        return {0, ""};
    };
    {
        const UniqueFd f(::openat(root.get(), "small", O_WRONLY | O_CREAT, 0600));
        REQUIRE(::write(f.get(), "12345678", 8) == 8);
    }
    CHECK(cmkfs::read_file_at(root.get(), "small", 8) == Bytes{'1', '2', '3', '4', '5', '6', '7', '8'});
    CHECK(error_of("small", 7) == std::pair<int, std::string>{EFBIG, "small is larger than 7 bytes (refused): File too large"});

    // A FIFO would block the open (and the reader) until a writer comes.
    REQUIRE(::mkfifoat(root.get(), "fifo", 0600) == 0);
    CHECK(error_of("fifo") == std::pair<int, std::string>{EIO, "fifo is not a regular file (refused): Input/output error"});
    REQUIRE(::mkdirat(root.get(), "dir", 0700) == 0);
    CHECK(error_of("dir").first == EIO);
    REQUIRE(::symlinkat("small", root.get(), "link") == 0);
    CHECK(error_of("link").first == ELOOP);
    CHECK(error_of("missing").first == ENOENT);
}
