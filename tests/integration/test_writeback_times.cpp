// The kernel's writeback cache is on by default, and with it the kernel owns
// a file's mtime: the daemon must keep the time the kernel gave the write(2),
// not the time the pages reached the store (store/content.h). Backup tools
// and `cmkfs reencrypt` compare mtimes across remounts, so a file written
// and closed must show the same mtime, to the nanosecond, after a remount.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "metrics_support.h"
#include "support/process.h"

using namespace cmkfs::test;

namespace {

struct timespec mtime_of(const std::string &path) {
    struct stat st {};
    INFO(path);
    REQUIRE(::stat(path.c_str(), &st) == 0);
    return st.st_mtim;
}

bool same_time(const struct timespec &a, const struct timespec &b) {
    return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec;
}

// 64 write(2)s of 4 KiB, each of which moves the kernel's mtime.
void write_chunks(int fd) {
    const std::vector<char> chunk(4096, 'w');
    for (int i = 0; i < 64; ++i) REQUIRE(::write(fd, chunk.data(), chunk.size()) == 4096);
}

}  // namespace

TEST_CASE("writeback cache: on by default, and a file's mtime is the kernel's across a remount",
          "[writeback][times]") {
    MountedStore store;
    const double writes_before = op_count(stats(store.mountpoint()), "write");

    // Closed right away: close() sends the kernel's mtime in a SETATTR while
    // the pages go out in the background, and which of the two the daemon
    // serves first is up to its threads (a third of the time the pages came
    // last when the daemon let them move the mtime): so 20 files.
    std::vector<std::string> closed;
    for (int i = 0; i < 20; ++i) {
        closed.push_back(store.path("closed" + std::to_string(i)));
        const int fd = ::open(closed.back().c_str(), O_CREAT | O_WRONLY | O_EXCL, 0644);
        REQUIRE(fd >= 0);
        write_chunks(fd);
        REQUIRE(::close(fd) == 0);
    }
    // Written over two seconds, then fsynced and closed.
    const std::string slow = store.path("slow");
    {
        const int fd = ::open(slow.c_str(), O_CREAT | O_WRONLY | O_EXCL, 0644);
        REQUIRE(fd >= 0);
        write_chunks(fd);
        ::usleep(1'100'000);
        write_chunks(fd);
        REQUIRE(::fsync(fd) == 0);
        REQUIRE(::close(fd) == 0);
    }
    // A time set while pages are still dirty (touch -d on an open file).
    const std::string touched = store.path("touched");
    const struct timespec set_time = {1'600'000'000, 123'456'789};
    {
        const int fd = ::open(touched.c_str(), O_CREAT | O_WRONLY | O_EXCL, 0644);
        REQUIRE(fd >= 0);
        write_chunks(fd);
        const struct timespec times[2] = {{0, UTIME_OMIT}, set_time};
        REQUIRE(::utimensat(AT_FDCWD, touched.c_str(), times, 0) == 0);
        REQUIRE(::close(fd) == 0);
    }
    // The writes reached the daemon as far fewer, larger WRITEs than the
    // 22 × 64 write(2) calls: the writeback cache is on.
    const double writes = op_count(stats(store.mountpoint()), "write") - writes_before;
    CHECK(writes > 0);
    CHECK(writes < 22 * 64 / 4);

    std::vector<struct timespec> closed_mtimes;
    for (const auto &path : closed) closed_mtimes.push_back(mtime_of(path));
    const struct timespec slow_mtime = mtime_of(slow);
    CHECK(same_time(mtime_of(touched), set_time));
    store.unmount();
    store.mount();
    for (size_t i = 0; i < closed.size(); ++i) {
        INFO(closed[i]);
        CHECK(same_time(mtime_of(closed[i]), closed_mtimes[i]));
    }
    CHECK(same_time(mtime_of(slow), slow_mtime));
    CHECK(same_time(mtime_of(touched), set_time));
    // And the contents are all there.
    struct stat st {};
    REQUIRE(::stat(slow.c_str(), &st) == 0);
    CHECK(st.st_size == 2 * 64 * 4096);
}

TEST_CASE("writeback cache: -o no_writeback_cache sends every write(2) to the daemon", "[writeback][times]") {
    MountedStore::Options options;
    options.mount_args = {"-o", "no_writeback_cache"};
    MountedStore store(options);
    const double writes_before = op_count(stats(store.mountpoint()), "write");
    const std::string path = store.path("f");
    const int fd = ::open(path.c_str(), O_CREAT | O_WRONLY | O_EXCL, 0644);
    REQUIRE(fd >= 0);
    write_chunks(fd);
    REQUIRE(::close(fd) == 0);
    CHECK(op_count(stats(store.mountpoint()), "write") - writes_before == 64);
    const struct timespec mtime = mtime_of(path);
    store.unmount();
    store.mount();
    CHECK(same_time(mtime_of(path), mtime));
}
