// File-content operations on a real mount: getattr/setattr (chmod, chown,
// truncate, utimensat), create/open flags, reads and writes around block
// boundaries, unlink-while-open, several fds and writers, huge offsets,
// fallocate, SEEK_DATA/SEEK_HOLE and shared writable mmap.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "support/process.h"
#include "support/test_seed.h"

using namespace cmkfs::test;

namespace {

constexpr off_t kBlock = 4096;

// An owned fd; REQUIREs the open to succeed.
struct Fd {
    int fd = -1;
    Fd() = default;
    explicit Fd(int f) : fd(f) {}
    Fd(const Fd &) = delete;
    Fd &operator=(const Fd &) = delete;
    ~Fd() {
        if (fd >= 0) ::close(fd);
    }
    operator int() const { return fd; }
};

int open_ok(const std::string &path, int flags, mode_t mode = 0644) {
    int fd = ::open(path.c_str(), flags | O_CLOEXEC, mode);
    INFO("open " << path << ": " << std::strerror(errno));
    REQUIRE(fd >= 0);
    return fd;
}

void pwrite_all(int fd, const std::string &data, off_t off) {
    size_t done = 0;
    while (done < data.size()) {
        ssize_t n = ::pwrite(fd, data.data() + done, data.size() - done, off + static_cast<off_t>(done));
        INFO("pwrite at " << off + static_cast<off_t>(done) << ": " << std::strerror(errno));
        REQUIRE(n > 0);
        done += static_cast<size_t>(n);
    }
}

// Reads up to n bytes at off (short at EOF).
std::string pread_n(int fd, size_t n, off_t off) {
    std::string out(n, '\0');
    size_t done = 0;
    while (done < n) {
        ssize_t r = ::pread(fd, out.data() + done, n - done, off + static_cast<off_t>(done));
        INFO("pread at " << off + static_cast<off_t>(done) << ": " << std::strerror(errno));
        REQUIRE(r >= 0);
        if (r == 0) break;
        done += static_cast<size_t>(r);
    }
    out.resize(done);
    return out;
}

off_t fsize(int fd) {
    struct stat st {};
    REQUIRE(::fstat(fd, &st) == 0);
    return st.st_size;
}

off_t path_size(const std::string &path) {
    struct stat st {};
    REQUIRE(::stat(path.c_str(), &st) == 0);
    return st.st_size;
}

// Deterministic, position-dependent bytes that never repeat within a block.
std::string pattern(size_t n, unsigned salt) {
    std::string s(n, '\0');
    for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>((i * 131 + i / 251 + salt * 7 + 1) & 0xff);
    return s;
}

// Compares without dumping megabytes into the report on failure.
void require_same(const std::string &actual, const std::string &expected) {
    REQUIRE(actual.size() == expected.size());
    auto mismatch = std::mismatch(actual.begin(), actual.end(), expected.begin());
    INFO("first difference at byte " << (mismatch.first - actual.begin()));
    REQUIRE(mismatch.first == actual.end());
}

bool all_zero(const std::string &s) {
    return std::all_of(s.begin(), s.end(), [](char c) { return c == '\0'; });
}

}  // namespace

TEST_CASE("getattr and setattr: chmod, chown, utimensat with nanoseconds") {
    MountedStore store;
    const std::string f = store.path("attrs.txt");
    write_file(f, "attributes");

    struct stat st {};
    REQUIRE(::stat(f.c_str(), &st) == 0);
    CHECK(S_ISREG(st.st_mode));
    CHECK(st.st_size == 10);
    CHECK(st.st_nlink == 1);

    REQUIRE(::chmod(f.c_str(), 0640) == 0);
    REQUIRE(::stat(f.c_str(), &st) == 0);
    CHECK((st.st_mode & 07777) == 0640);
    REQUIRE(::chown(f.c_str(), 1234, 5678) == 0);
    REQUIRE(::stat(f.c_str(), &st) == 0);
    CHECK(st.st_uid == 1234u);
    CHECK(st.st_gid == 5678u);
    REQUIRE(::chown(f.c_str(), static_cast<uid_t>(-1), 4321) == 0);  // gid only
    REQUIRE(::stat(f.c_str(), &st) == 0);
    CHECK(st.st_uid == 1234u);
    CHECK(st.st_gid == 4321u);
    // chown clears set-id bits (as on any Linux filesystem); set them after.
    REQUIRE(::chmod(f.c_str(), 04711) == 0);
    REQUIRE(::stat(f.c_str(), &st) == 0);
    CHECK((st.st_mode & 07777) == 04711);

    struct timespec times[2] = {{1234567890, 123456789}, {1500000000, 987654321}};
    REQUIRE(::utimensat(AT_FDCWD, f.c_str(), times, 0) == 0);
    struct statx sx {};
    REQUIRE(::statx(AT_FDCWD, f.c_str(), 0, STATX_BASIC_STATS, &sx) == 0);
    CHECK(sx.stx_atime.tv_sec == 1234567890);
    CHECK(sx.stx_atime.tv_nsec == 123456789u);
    CHECK(sx.stx_mtime.tv_sec == 1500000000);
    CHECK(sx.stx_mtime.tv_nsec == 987654321u);
    CHECK(sx.stx_size == 10u);

    // Only mtime, atime left alone (UTIME_OMIT).
    struct timespec mtime_only[2] = {{0, UTIME_OMIT}, {1600000000, 1}};
    REQUIRE(::utimensat(AT_FDCWD, f.c_str(), mtime_only, 0) == 0);
    // futimens through an fd.
    {
        Fd fd(open_ok(f, O_RDWR));
        struct timespec at_only[2] = {{1700000000, 999999999}, {0, UTIME_OMIT}};
        REQUIRE(::futimens(fd, at_only) == 0);
    }

    // Through fds: fchmod/fchown on a file, fchmod on a directory handle.
    {
        Fd fd(open_ok(f, O_RDONLY));
        REQUIRE(::fchown(fd, 1234, static_cast<gid_t>(-1)) == 0);
        REQUIRE(::fchmod(fd, 04711) == 0);
        REQUIRE(::fstat(fd, &st) == 0);
        CHECK((st.st_mode & 07777) == 04711);
        std::filesystem::create_directory(store.path("dir"));
        Fd dfd(open_ok(store.path("dir"), O_RDONLY | O_DIRECTORY));
        REQUIRE(::fchmod(dfd, 0701) == 0);
        REQUIRE(::fchown(dfd, 42, 43) == 0);
        REQUIRE(::stat(store.path("dir").c_str(), &st) == 0);
        CHECK((st.st_mode & 07777) == 0701);
        CHECK(st.st_uid == 42u);
        CHECK(st.st_gid == 43u);
    }

    // Modes, owners and times reached the backing file: they survive remount.
    store.unmount();
    store.mount();
    REQUIRE(::statx(AT_FDCWD, f.c_str(), 0, STATX_BASIC_STATS, &sx) == 0);
    CHECK(sx.stx_atime.tv_sec == 1700000000);
    CHECK(sx.stx_atime.tv_nsec == 999999999u);
    CHECK(sx.stx_mtime.tv_sec == 1600000000);
    CHECK(sx.stx_mtime.tv_nsec == 1u);
    CHECK((sx.stx_mode & 07777) == 04711);
    CHECK(sx.stx_uid == 1234u);
    CHECK(sx.stx_gid == 4321u);
    CHECK(read_file(f) == "attributes");

    // A write updates mtime/ctime to now.
    REQUIRE(::statx(AT_FDCWD, f.c_str(), 0, STATX_BASIC_STATS, &sx) == 0);
    const auto before = sx.stx_mtime.tv_sec;
    {
        Fd fd(open_ok(f, O_WRONLY));
        pwrite_all(fd, "A", 0);
    }
    REQUIRE(::statx(AT_FDCWD, f.c_str(), 0, STATX_BASIC_STATS, &sx) == 0);
    CHECK(sx.stx_mtime.tv_sec > before);
}

TEST_CASE("truncate down and up, mid-block and at block boundaries") {
    MountedStore store;
    const std::string f = store.path("trunc.bin");
    const std::string data = pattern(3 * kBlock + 1000, 1);  // 13288 bytes: 3 full blocks + partial
    write_file(f, data);
    Fd fd(open_ok(f, O_RDWR));
    REQUIRE(fsize(fd) == static_cast<off_t>(data.size()));

    std::string model = data;
    auto truncate_to = [&](off_t size) {
        INFO("ftruncate to " << size);
        REQUIRE(::ftruncate(fd, size) == 0);
        model.resize(static_cast<size_t>(size), '\0');
        REQUIRE(fsize(fd) == size);
        REQUIRE(path_size(f) == size);
        require_same(pread_n(fd, model.size() + 100, 0), model);
    };

    SECTION("down then up: the cut-off bytes read back as zeros, never stale") {
        truncate_to(2 * kBlock + 5);       // mid-block 2
        truncate_to(3 * kBlock + 1000);    // up again: [8197, 13288) must be zeros
        CHECK(all_zero(model.substr(2 * kBlock + 5)));
        truncate_to(2 * kBlock);           // exactly at a boundary
        truncate_to(kBlock + 1);           // one byte into block 1
        truncate_to(kBlock - 1);           // one short of a boundary
        truncate_to(kBlock);               // up by one byte: a zero
        truncate_to(kBlock + kBlock / 2);  // up within the next block
        truncate_to(10 * kBlock + 17);     // up over several hole blocks
        truncate_to(1);
        truncate_to(0);
        truncate_to(5 * kBlock);            // from empty: all zeros
        CHECK(all_zero(pread_n(fd, 5 * kBlock, 0)));
    }
    SECTION("truncate by path (no open handle in setattr) and via O_TRUNC-less open") {
        REQUIRE(::truncate(f.c_str(), 4097) == 0);
        model.resize(4097);
        require_same(read_file(f), model);
        REQUIRE(::truncate(f.c_str(), 9000) == 0);
        model.resize(9000, '\0');
        require_same(read_file(f), model);
        REQUIRE(::truncate(f.c_str(), 0) == 0);
        CHECK(read_file(f).empty());
    }
    SECTION("truncate up, write beyond, remount: everything persists") {
        truncate_to(20000);
        pwrite_all(fd, "tail", 30000);
        model.resize(30000, '\0');
        model += "tail";
        ::close(fd.fd);
        fd.fd = -1;
        store.unmount();
        store.mount();
        require_same(read_file(f), model);
    }
}

TEST_CASE("create and open flags: O_EXCL, O_TRUNC, O_APPEND") {
    MountedStore store;
    const std::string f = store.path("flags.txt");

    {
        Fd fd(open_ok(f, O_CREAT | O_EXCL | O_WRONLY, 0600));
        pwrite_all(fd, "first content", 0);
    }
    struct stat st {};
    REQUIRE(::stat(f.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
    errno = 0;
    CHECK(::open(f.c_str(), O_CREAT | O_EXCL | O_WRONLY, 0600) == -1);
    CHECK(errno == EEXIST);
    CHECK(read_file(f) == "first content");

    // O_CREAT without O_EXCL on an existing file opens it unchanged.
    { Fd fd(open_ok(f, O_CREAT | O_RDWR)); CHECK(pread_n(fd, 100, 0) == "first content"); }

    // O_TRUNC empties it.
    { Fd fd(open_ok(f, O_WRONLY | O_TRUNC)); CHECK(fsize(fd) == 0); }
    CHECK(path_size(f) == 0);
    CHECK(read_file(f).empty());
    // O_CREAT|O_TRUNC on an existing file with data empties it too.
    write_file(f, pattern(9000, 2));
    { Fd fd(open_ok(f, O_CREAT | O_TRUNC | O_RDWR)); CHECK(fsize(fd) == 0); pwrite_all(fd, "new", 0); }
    CHECK(read_file(f) == "new");

    // Opening a missing file without O_CREAT.
    errno = 0;
    CHECK(::open(store.path("missing").c_str(), O_RDONLY) == -1);
    CHECK(errno == ENOENT);

    SECTION("two appenders interleave; size is the sum") {
        const std::string g = store.path("append.log");
        write_file(g, "");
        Fd a(open_ok(g, O_WRONLY | O_APPEND));
        Fd b(open_ok(g, O_WRONLY | O_APPEND));
        std::string expected;
        for (int i = 0; i < 60; ++i) {
            const std::string ra = "A" + std::to_string(i) + std::string(100 + static_cast<size_t>(i), 'a') + "\n";
            const std::string rb = "B" + std::to_string(i) + std::string(37 * static_cast<size_t>(i % 5), 'b') + "\n";
            REQUIRE(::write(a, ra.data(), ra.size()) == static_cast<ssize_t>(ra.size()));
            REQUIRE(::write(b, rb.data(), rb.size()) == static_cast<ssize_t>(rb.size()));
            expected += ra + rb;
        }
        CHECK(path_size(g) == static_cast<off_t>(expected.size()));
        require_same(read_file(g), expected);
        // pwrite on O_APPEND appends on Linux as well.
        REQUIRE(::pwrite(a, "END", 3, 0) == 3);
        expected += "END";
        require_same(read_file(g), expected);
    }

    SECTION("concurrent appenders: every record lands whole, size is the sum") {
        const std::string g = store.path("append-mt.log");
        write_file(g, "");
        constexpr int kThreads = 4, kRecords = 200;
        constexpr size_t kLen = 97;  // crosses block boundaries at varying places
        std::atomic<int> failures{0};
        std::vector<std::thread> threads;
        for (int t = 0; t < kThreads; ++t) {
            threads.emplace_back([&, t] {
                int fd = ::open(g.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
                if (fd < 0) { ++failures; return; }
                for (int r = 0; r < kRecords; ++r) {
                    std::string rec = "t" + std::to_string(t) + "r" + std::to_string(r) + ":";
                    rec.resize(kLen - 1, static_cast<char>('a' + t));
                    rec += '\n';
                    if (::write(fd, rec.data(), rec.size()) != static_cast<ssize_t>(rec.size())) ++failures;
                }
                ::close(fd);
            });
        }
        for (auto &th : threads) th.join();
        REQUIRE(failures == 0);
        const std::string all = read_file(g);
        REQUIRE(all.size() == kThreads * kRecords * kLen);
        std::vector<int> next(kThreads, 0);
        for (size_t pos = 0; pos < all.size(); pos += kLen) {
            const std::string rec = all.substr(pos, kLen);
            REQUIRE(rec[0] == 't');
            const int t = rec[1] - '0';
            REQUIRE((t >= 0 && t < kThreads));
            std::string want = "t" + std::to_string(t) + "r" + std::to_string(next[t]) + ":";
            want.resize(kLen - 1, static_cast<char>('a' + t));
            want += '\n';
            REQUIRE(rec == want);  // each thread's records in its own order
            ++next[t];
        }
    }
}

TEST_CASE("writes at offsets spanning block boundaries match a model") {
    MountedStore store;
    const std::string f = store.path("blocks.bin");
    Fd fd(open_ok(f, O_CREAT | O_RDWR));
    std::string model;
    unsigned salt = 10;
    auto write_at = [&](off_t off, size_t len) {
        const std::string data = pattern(len, ++salt);
        INFO("write " << len << " bytes at " << off);
        pwrite_all(fd, data, off);
        if (model.size() < static_cast<size_t>(off) + len) model.resize(static_cast<size_t>(off) + len, '\0');
        model.replace(static_cast<size_t>(off), len, data);
        REQUIRE(fsize(fd) == static_cast<off_t>(model.size()));
        require_same(pread_n(fd, model.size() + 10, 0), model);
    };
    // Partial first block, then boundary straddles.
    write_at(0, 100);
    write_at(4095, 1);
    write_at(4095, 2);
    write_at(4096, 1);
    write_at(4097, 4096);
    write_at(8191, 4097);
    write_at(100, 8000);
    // Past EOF: a gap that must read as zeros, with the old partial last block padded.
    const size_t before_gap = model.size();
    write_at(40000, 10);
    CHECK(all_zero(model.substr(before_gap, 40000 - before_gap)));
    CHECK(all_zero(pread_n(fd, 40000 - before_gap, static_cast<off_t>(before_gap))));
    write_at(40010, 3);   // contiguous append within the last block
    write_at(49152, 4096); // exactly one aligned block after another gap
    write_at(20000, 12288);  // fills into the hole, crossing blocks
    // Larger than one FUSE request (1 MiB): split by the kernel at unaligned offsets.
    write_at(4095, (3u << 20) + 123);
    write_at(1 << 20, 70000);
    REQUIRE(::ftruncate(fd, 60000) == 0);
    model.resize(60000);
    // Reads at odd offsets and lengths agree with the model.
    for (off_t off : {0L, 1L, 4095L, 4096L, 4097L, 8191L, 12345L, 39999L, 53247L}) {
        for (size_t len : {1UL, 2UL, 4095UL, 4096UL, 4097UL, 10000UL}) {
            const size_t o = static_cast<size_t>(off);
            const std::string want = o < model.size() ? model.substr(o, len) : std::string();
            INFO("read " << len << " at " << off);
            REQUIRE(pread_n(fd, len, off) == want);
        }
    }

    SECTION("randomized writes and truncates (replay with CMKFS_TEST_SEED)") {
        announce_seed();
        auto gen = rng(7);
        for (int i = 0; i < 150; ++i) {
            const auto op = gen() % 10;
            if (op == 0) {
                const off_t size = static_cast<off_t>(gen() % 60000);
                INFO("truncate to " << size);
                REQUIRE(::ftruncate(fd, size) == 0);
                model.resize(static_cast<size_t>(size), '\0');
            } else {
                write_at(static_cast<off_t>(gen() % 60000), 1 + gen() % 9000);
            }
        }
        ::fsync(fd);
        ::close(fd.fd);
        fd.fd = -1;
        store.unmount();
        store.mount();
        require_same(read_file(f), model);
    }
}

TEST_CASE("flush, release, fsync, fdatasync and fsyncdir succeed") {
    MountedStore store;
    const std::string f = store.path("sync.txt");
    int fd = open_ok(f, O_CREAT | O_RDWR);
    pwrite_all(fd, pattern(10000, 3), 0);
    CHECK(::fsync(fd) == 0);
    CHECK(::fdatasync(fd) == 0);
    int dup = ::dup(fd);
    REQUIRE(dup >= 0);
    CHECK(::close(dup) == 0);  // flush without release
    CHECK(::close(fd) == 0);   // flush + release
    std::filesystem::create_directory(store.path("d"));
    Fd dfd(open_ok(store.path("d"), O_RDONLY | O_DIRECTORY));
    CHECK(::fsync(dfd) == 0);
    CHECK(::fdatasync(dfd) == 0);
    Fd root(open_ok(store.mountpoint(), O_RDONLY | O_DIRECTORY));
    CHECK(::fsync(root) == 0);
    require_same(read_file(f), pattern(10000, 3));
}

TEST_CASE("unlink while open keeps the data readable and writable through the fd") {
    MountedStore store;
    const std::string f = store.path("doomed.bin");
    const std::string data = pattern(3 * kBlock + 5, 4);
    write_file(f, data);
    Fd fd(open_ok(f, O_RDWR));
    REQUIRE(::unlink(f.c_str()) == 0);
    struct stat st {};
    errno = 0;
    CHECK(::stat(f.c_str(), &st) == -1);
    CHECK(errno == ENOENT);
    require_same(pread_n(fd, data.size() + 10, 0), data);
    REQUIRE(::fstat(fd, &st) == 0);
    CHECK(st.st_nlink == 0);
    CHECK(st.st_size == static_cast<off_t>(data.size()));
    pwrite_all(fd, "more", static_cast<off_t>(data.size()) + 100);
    pwrite_all(fd, "XY", 4095);
    std::string model = data;
    model.resize(data.size() + 100, '\0');
    model += "more";
    model.replace(4095, 2, "XY");
    require_same(pread_n(fd, model.size() + 10, 0), model);
    REQUIRE(::ftruncate(fd, 5000) == 0);
    model.resize(5000);
    require_same(pread_n(fd, 6000, 0), model);
    // The name is free again and is a new, different file.
    write_file(f, "new");
    CHECK(read_file(f) == "new");
    require_same(pread_n(fd, 6000, 0), model);
}

TEST_CASE("two fds on one file see each other's writes") {
    MountedStore store;
    const std::string f = store.path("shared.bin");
    write_file(f, "");
    Fd a(open_ok(f, O_RDWR));
    Fd b(open_ok(f, O_RDWR));
    Fd r(open_ok(f, O_RDONLY));
    pwrite_all(a, "hello from a", 0);
    CHECK(pread_n(b, 100, 0) == "hello from a");
    pwrite_all(b, "B", 6);
    CHECK(pread_n(a, 100, 0) == "hello Brom a");
    CHECK(pread_n(r, 100, 0) == "hello Brom a");
    pwrite_all(b, pattern(5000, 5), 4090);
    CHECK(fsize(a) == 9090);
    CHECK(pread_n(a, 10, 4090) == pattern(5000, 5).substr(0, 10));
    REQUIRE(::ftruncate(a, 3) == 0);
    CHECK(pread_n(b, 100, 0) == "hel");
    CHECK(pread_n(r, 100, 0) == "hel");
}

TEST_CASE("concurrent writers of interleaved records never corrupt a block") {
    MountedStore store;
    const std::string f = store.path("records.bin");
    constexpr int kThreads = 8;
    constexpr size_t kRecord = 1000;  // not a divisor of 4096: blocks are shared
    constexpr int kRecords = 800;
    write_file(f, "");
    std::string expected;
    for (int i = 0; i < kRecords; ++i) {
        std::string rec = "record " + std::to_string(i) + " ";
        for (size_t k = rec.size(); k < kRecord; ++k) rec += static_cast<char>('A' + (i * 7 + static_cast<int>(k)) % 26);
        expected += rec;
    }
    announce_seed();
    std::atomic<int> failures{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
            int fd = ::open(f.c_str(), O_WRONLY | O_CLOEXEC);
            if (fd < 0) { ++failures; return; }
            std::vector<int> mine;
            for (int i = t; i < kRecords; i += kThreads) mine.push_back(i);
            auto gen = rng(100 + static_cast<uint64_t>(t));
            std::shuffle(mine.begin(), mine.end(), gen);
            for (int i : mine) {
                const off_t off = static_cast<off_t>(i) * static_cast<off_t>(kRecord);
                if (::pwrite(fd, expected.data() + off, kRecord, off) != static_cast<ssize_t>(kRecord)) ++failures;
            }
            ::close(fd);
        });
    }
    for (auto &th : threads) th.join();
    REQUIRE(failures == 0);
    require_same(read_file(f), expected);
    store.unmount();
    store.mount();
    require_same(read_file(f), expected);
}

TEST_CASE("a write at a 5 GiB offset") {
    MountedStore store;
    const std::string f = store.path("huge.bin");
    constexpr off_t k5G = 5LL << 30;
    constexpr off_t k4G = 4LL << 30;
    const std::string data = "written at five gibibytes";
    {
        Fd fd(open_ok(f, O_CREAT | O_RDWR));
        pwrite_all(fd, "head", 0);
        pwrite_all(fd, data, k5G);
        CHECK(fsize(fd) == k5G + static_cast<off_t>(data.size()));
        CHECK(pread_n(fd, data.size() + 10, k5G) == data);
        CHECK(all_zero(pread_n(fd, 8192, k4G)));
        CHECK(pread_n(fd, 4, 0) == "head");
        CHECK(all_zero(pread_n(fd, 100, k5G - 100)));
    }
    // Stored sparsely in the backing directory.
    struct stat st {};
    REQUIRE(::stat(f.c_str(), &st) == 0);
    CHECK(st.st_size == k5G + static_cast<off_t>(data.size()));
    store.unmount();
    store.mount();
    Fd fd(open_ok(f, O_RDONLY));
    CHECK(pread_n(fd, data.size(), k5G) == data);
    CHECK(all_zero(pread_n(fd, 4096, k4G + 4096)));
}

TEST_CASE("fallocate mode 0 extends the size and reads zeros") {
    MountedStore store;
    const std::string f = store.path("falloc.bin");
    write_file(f, pattern(100, 6));
    Fd fd(open_ok(f, O_RDWR));
    REQUIRE(::fallocate(fd, 0, 0, 10000) == 0);
    CHECK(fsize(fd) == 10000);
    std::string model = pattern(100, 6);
    model.resize(10000, '\0');
    require_same(pread_n(fd, 20000, 0), model);
    // Inside the file: size and content unchanged.
    REQUIRE(::fallocate(fd, 0, 50, 100) == 0);
    CHECK(fsize(fd) == 10000);
    // Beyond EOF with a gap.
    REQUIRE(::fallocate(fd, 0, 20000, 5000) == 0);
    CHECK(fsize(fd) == 25000);
    model.resize(25000, '\0');
    require_same(pread_n(fd, 30000, 0), model);
    // Writable afterwards, including inside the reserved range.
    pwrite_all(fd, "reserved", 21000);
    model.replace(21000, 8, "reserved");
    require_same(pread_n(fd, 30000, 0), model);
    ::close(fd.fd);
    fd.fd = -1;
    store.unmount();
    store.mount();
    require_same(read_file(f), model);
}

TEST_CASE("lseek SEEK_DATA and SEEK_HOLE on a sparse file") {
    MountedStore store;
    const std::string f = store.path("sparse.bin");
    constexpr off_t k1G = 1LL << 30;
    constexpr off_t kFirst = 3 * kBlock + 100;  // first written range [0, 12388)
    Fd fd(open_ok(f, O_CREAT | O_RDWR));
    pwrite_all(fd, pattern(static_cast<size_t>(kFirst), 7), 0);
    pwrite_all(fd, pattern(4096, 8), k1G);
    const off_t size = k1G + 4096;
    REQUIRE(fsize(fd) == size);

    CHECK(::lseek(fd, 0, SEEK_DATA) == 0);
    CHECK(::lseek(fd, 100, SEEK_DATA) == 100);  // inside data: the offset itself

    const off_t hole = ::lseek(fd, 0, SEEK_HOLE);
    INFO("SEEK_HOLE from 0 = " << hole);
    CHECK(hole >= kFirst);
    CHECK(hole <= k1G);
    CHECK(hole % kBlock == 0);

    const off_t in_hole = k1G / 2;
    const off_t data = ::lseek(fd, in_hole, SEEK_DATA);
    INFO("SEEK_DATA from " << in_hole << " = " << data);
    CHECK(data > in_hole);
    CHECK(data <= k1G);

    // Inside a hole, SEEK_HOLE returns the offset itself.
    CHECK(::lseek(fd, in_hole, SEEK_HOLE) == in_hole);
    // From inside the last data range, the hole is at EOF.
    CHECK(::lseek(fd, k1G + 10, SEEK_HOLE) == size);
    CHECK(::lseek(fd, k1G + 10, SEEK_DATA) == k1G + 10);
    // At or past EOF: ENXIO.
    errno = 0;
    CHECK(::lseek(fd, size, SEEK_DATA) == -1);
    CHECK(errno == ENXIO);
    errno = 0;
    CHECK(::lseek(fd, size + 5, SEEK_HOLE) == -1);
    CHECK(errno == ENXIO);
    // Ordinary whence values still work.
    CHECK(::lseek(fd, 0, SEEK_END) == size);
    CHECK(::lseek(fd, 7, SEEK_SET) == 7);
    CHECK(::lseek(fd, 3, SEEK_CUR) == 10);
    // And reading at what SEEK_DATA found gives the data.
    CHECK(pread_n(fd, 4096, k1G) == pattern(4096, 8));
}

TEST_CASE("shared writable mmap: msync, munmap, read back, remount") {
    MountedStore store;
    const std::string f = store.path("mapped.bin");
    const size_t len = 3 * kBlock + 100;
    std::string model = pattern(len, 9);
    write_file(f, model);
    {
        Fd fd(open_ok(f, O_RDWR));
        void *p = ::mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        REQUIRE(p != MAP_FAILED);
        auto *bytes = static_cast<char *>(p);
        REQUIRE(std::string(bytes, len) == model);  // page-in through FUSE read
        const std::string update = pattern(8000, 10);
        std::memcpy(bytes + 1000, update.data(), update.size());
        bytes[len - 1] = 'Z';  // last partial page
        model.replace(1000, update.size(), update);
        model[len - 1] = 'Z';
        REQUIRE(::msync(p, len, MS_SYNC) == 0);
        REQUIRE(::munmap(p, len) == 0);
        CHECK(fsize(fd) == static_cast<off_t>(len));
        require_same(pread_n(fd, len + 10, 0), model);
    }
    // Through a fresh fd and a fresh mount (the bytes reached the backing file).
    require_same(read_file(f), model);
    store.unmount();
    store.mount();
    require_same(read_file(f), model);

    // Written through mmap without msync: munmap + close must still write back.
    {
        Fd fd(open_ok(f, O_RDWR));
        void *p = ::mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        REQUIRE(p != MAP_FAILED);
        std::memset(static_cast<char *>(p) + 4096, 'm', 10);
        model.replace(4096, 10, std::string(10, 'm'));
        REQUIRE(::munmap(p, len) == 0);
        REQUIRE(::fsync(fd) == 0);
    }
    store.unmount();
    store.mount();
    require_same(read_file(f), model);
}
