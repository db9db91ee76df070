// kill -9 of the daemon in the middle of a mixed write load: after a remount
// every fsynced file (and every file whose writes were acknowledged and which
// was closed: a killed process loses nothing the kernel already has) reads
// back exactly and the volume header is intact. A torn block, simulated
// deterministically by writing garbage into a backing file after the kill,
// fails only that block (EIO) and fsck names it (exit 10).
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "support/mount_io.h"
#include "support/process.h"
#include "support/test_seed.h"
#include "support/random_bytes.h"

using namespace cmkfs::test;
namespace fsys = std::filesystem;

namespace {

// Writes and fsyncs `name` at the mount root; returns its backing file.
std::string create_synced(MountedStore &store, const std::string &name, const std::string &content) {
    auto before = listing(store.backing());
    int fd = ::open(store.path(name).c_str(), O_CREAT | O_WRONLY | O_TRUNC, 0644);
    REQUIRE(fd >= 0);
    REQUIRE(::write(fd, content.data(), content.size()) == static_cast<ssize_t>(content.size()));
    REQUIRE(::fsync(fd) == 0);
    REQUIRE(::close(fd) == 0);
    auto after = listing(store.backing());
    std::vector<std::string> added;
    std::set_difference(after.begin(), after.end(), before.begin(), before.end(), std::back_inserter(added));
    REQUIRE(added.size() == 1);
    return store.backing() + "/" + added.front();
}

struct Written {
    std::string content;
    bool fsynced = false;
};

// The load: each thread creates files under `dirfd` (opened before the kill,
// so after the kill every call fails instead of landing in the bare
// mountpoint), writes them in random chunks, fsyncs about half, and records
// a file only once everything about it was acknowledged.
class Load {
public:
    Load(int dirfd, int threads) : dirfd_(dirfd) {
        for (int t = 0; t < threads; ++t) workers_.emplace_back([this, t] { work(t); });
    }
    ~Load() { join(); }

    void join() {
        for (auto &w : workers_)
            if (w.joinable()) w.join();
    }
    size_t synced() const { return synced_.load(); }
    std::map<std::string, Written> done() {
        std::lock_guard g(mutex_);
        return done_;
    }
    std::set<std::string> started() {
        std::lock_guard g(mutex_);
        return started_;
    }

private:
    void work(int t) {
        auto rng = cmkfs::test::rng(1000 + static_cast<uint64_t>(t));
        for (int i = 0; i < 5000; ++i) {
            const std::string name = "t" + std::to_string(t) + "-" + std::to_string(i);
            const size_t size = std::uniform_int_distribution<size_t>(0, 48 * 1024)(rng);
            const std::string content = random_bytes(rng, size);
            const bool do_sync = (rng() & 1) != 0;
            {
                std::lock_guard g(mutex_);
                started_.insert(name);
            }
            int fd = ::openat(dirfd_, name.c_str(), O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0644);
            if (fd < 0) return;
            size_t off = 0;
            bool ok = true;
            while (off < size && ok) {
                size_t chunk = std::min(size - off, std::uniform_int_distribution<size_t>(1, 3 * kBlock)(rng));
                ok = ::pwrite(fd, content.data() + off, chunk, static_cast<off_t>(off)) ==
                     static_cast<ssize_t>(chunk);
                off += chunk;
            }
            if (ok && do_sync) ok = ::fsync(fd) == 0;
            ok = ::close(fd) == 0 && ok;
            if (!ok) return;
            std::lock_guard g(mutex_);
            done_[name] = Written{content, do_sync};
            if (do_sync) ++synced_;
        }
    }

    int dirfd_;
    std::vector<std::thread> workers_;
    std::mutex mutex_;
    std::map<std::string, Written> done_;
    std::set<std::string> started_;
    std::atomic<size_t> synced_{0};
};

}  // namespace

TEST_CASE("kill -9 during a write load loses no acknowledged write; torn blocks fail alone", "[crash]") {
    MountedStore store;
    auto rng = cmkfs::test::rng(7);

    // Two files whose backing we know, written before the load and fsynced.
    const std::string victim = random_bytes(rng, 5 * kBlock);
    const std::string victim_backing = create_synced(store, "victim", victim);
    const std::string tail = random_bytes(rng, 3 * kBlock);
    const std::string tail_backing = create_synced(store, "tail-victim", tail);

    fsys::create_directory(store.path("load"));
    int dirfd = ::open(store.path("load").c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    REQUIRE(dirfd >= 0);
    std::map<std::string, Written> done;
    std::set<std::string> started;
    {
        Load load(dirfd, 4);
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
        while (load.synced() < 80 && std::chrono::steady_clock::now() < deadline)
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        // The threads are still writing: kill the daemon under them.
        store.kill_daemon();
        load.join();
        done = load.done();
        started = load.started();
    }
    ::close(dirfd);
    size_t synced = 0;
    for (const auto &[name, w] : done) synced += w.fsynced ? 1 : 0;
    INFO("CMKFS_TEST_SEED=" << cmkfs::test::seed() << ": " << done.size() << " files completed, " << synced
                            << " fsynced, " << started.size() << " started");
    REQUIRE(synced >= 20);
    REQUIRE(started.size() > done.size());  // the kill really hit the load mid-way (threads were in flight)

    // The volume header is intact: the store mounts again.
    store.mount();
    for (const auto &[name, w] : done) {
        std::string got;
        const int err = read_through_mount(store.path("load/" + name), 0, w.content.size() + 1, &got);
        INFO(name << (w.fsynced ? " (fsynced)" : " (closed, not fsynced)"));
        REQUIRE(err == 0);
        REQUIRE(got.size() == w.content.size());
        REQUIRE(got == w.content);
    }
    CHECK(read_file(store.path("victim")) == victim);
    CHECK(read_file(store.path("tail-victim")) == tail);
    store.unmount();

    // fsck may only complain about files that were in flight at the kill.
    {
        auto r = cli({"fsck", store.backing()});
        INFO(r.out << r.err);
        CHECK((r.exit_code == 0 || r.exit_code == 10));
        std::istringstream lines(r.out);
        std::string line;
        while (std::getline(lines, line)) {
            if (line.rfind("BAD ", 0) != 0) continue;
            const std::string path = line.substr(4, line.find(':') - 4);
            const std::string name = path.substr(path.rfind('/') + 1);
            INFO(line);
            CHECK(path.rfind("/load/", 0) == 0);
            CHECK(done.count(name) == 0);
        }
    }

    // A torn block: part of block 2 of `victim` overwritten with garbage, as
    // if a block write had reached the disk half way.
    {
        const std::string garbage = random_bytes(rng, 1500);
        int fd = ::open(victim_backing.c_str(), O_WRONLY);
        REQUIRE(fd >= 0);
        REQUIRE(::pwrite(fd, garbage.data(), garbage.size(), static_cast<off_t>(block_offset(2) + 2000)) ==
                static_cast<ssize_t>(garbage.size()));
        ::close(fd);
    }
    // A torn extension: `tail-victim` grew by a partial block that never
    // got its nonce/tag right (garbage appended after the last full block).
    {
        const std::string garbage = random_bytes(rng, 300);
        int fd = ::open(tail_backing.c_str(), O_WRONLY | O_APPEND);
        REQUIRE(fd >= 0);
        REQUIRE(::write(fd, garbage.data(), garbage.size()) == static_cast<ssize_t>(garbage.size()));
        ::close(fd);
    }

    auto r = cli({"fsck", store.backing()});
    INFO(r.out << r.err);
    CHECK(r.exit_code == 10);
    CHECK(r.out.find(victim_backing + ")") != std::string::npos);
    CHECK(r.out.find("BAD /victim: block 2 ") != std::string::npos);
    CHECK(r.out.find("BAD /tail-victim: block 3 ") != std::string::npos);
    CHECK(r.out.find("BAD /victim: block 0") == std::string::npos);

    store.mount();
    std::string got;
    CHECK(read_through_mount(store.path("victim"), 2 * kBlock, kBlock) == EIO);
    CHECK(read_through_mount(store.path("victim"), 2 * kBlock + 4000, 10) == EIO);
    for (size_t b : {0u, 1u, 3u, 4u}) {
        INFO("block " << b);
        CHECK(read_through_mount(store.path("victim"), b * kBlock, kBlock, &got) == 0);
        CHECK(got == victim.substr(b * kBlock, kBlock));
    }
    CHECK(read_through_mount(store.path("tail-victim"), 0, 3 * kBlock, &got) == 0);
    CHECK(got == tail);
    CHECK(read_through_mount(store.path("tail-victim"), 3 * kBlock, 100) == EIO);
    // Every other file is untouched by all this: each one the load completed
    // (fsynced or only closed) still reads back whole and exact.
    size_t intact = 0;
    for (const auto &[name, w] : done) {
        INFO(name << (w.fsynced ? " (fsynced)" : " (closed, not fsynced)"));
        const int err = read_through_mount(store.path("load/" + name), 0, w.content.size() + 1, &got);
        const bool same = err == 0 && got == w.content;  // not CHECK(got == ...): no binary dumps
        CHECK(err == 0);
        CHECK(got.size() == w.content.size());
        CHECK(same);
        if (same) ++intact;
    }
    CHECK(intact == done.size());
    const std::string log = store.daemon_log();
    INFO(log);
    CHECK(log.find("integrity: " + victim_backing + ": block 2") != std::string::npos);
}
