// The kernel's writeback cache under a lock (issue 14): writes sit in the
// page cache until the kernel writes them back, so a lock must first have
// every dirty page written back under the key, and only then wipe it. On a
// real mount, in the middle of a write storm (writers with fsync, writers
// that only close), for an operator's emergency lock and for a revoked key:
// - after the lock no read returns plaintext (EACCES), open fds included;
// - data written but neither fsynced nor closed before the lock (parked in
//   the page cache) is in the store after the key comes back;
// - every acknowledged write (fsynced, or in a file closed successfully) is
//   intact, and every other file is whole-page consistent: each 4 KiB page
//   holds the page written there, or nothing.
// kill -9 of the daemon during writes is test_crash.cpp (writeback is on by
// default, so it covers it).
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "support/mount_io.h"
#include "support/process.h"

using namespace cmkfs::test;
using namespace std::chrono_literals;

namespace {

constexpr size_t kPage = 4096;

std::string page_of(const std::string &tag, size_t size) {
    std::string s(size, '\0');
    uint32_t x = 2166136261u;
    for (char c : tag) x = (x ^ static_cast<unsigned char>(c)) * 16777619u;
    size_t n = std::min(tag.size(), size);
    std::memcpy(s.data(), tag.data(), n);
    for (size_t i = n; i < size; ++i) {
        x = x * 1664525u + 1013904223u;
        s[i] = static_cast<char>('a' + (x >> 24) % 26);
    }
    return s;
}

// The storm. Appenders pwrite 1000-byte records (some straddle pages) and
// fsync each; a record is acknowledged when both succeed, else retried at the
// same offset. Closers write files of three whole pages without fsync; a
// file is acknowledged when every write and the close succeed.
class Storm {
public:
    Storm(MountedStore &store) : store_(store) {
        for (int t = 0; t < 2; ++t) {
            int fd = ::open(store.path("append" + std::to_string(t)).c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
            REQUIRE(fd >= 0);
            append_fds_.push_back(fd);
            appended_.emplace_back();
        }
        for (int t = 0; t < 2; ++t) threads_.emplace_back([this, t] { append(t); });
        for (int t = 0; t < 2; ++t) threads_.emplace_back([this, t] { close_files(t); });
    }
    ~Storm() { stop(); }

    void stop() {
        stop_ = true;
        for (auto &t : threads_)
            if (t.joinable()) t.join();
        for (int fd : append_fds_) ::close(fd);
        append_fds_.clear();
    }
    int acked() const { return acked_.load(); }
    int refused() const { return refused_.load(); }

    std::mutex mutex;
    std::vector<std::string> appended_;                // acknowledged bytes per appender
    std::map<std::string, std::string> closed;         // name -> content, closed successfully
    std::map<std::string, std::string> attempted;      // name -> intended content, not acknowledged
    std::vector<std::string> unexpected;

private:
    void append(int t) {
        off_t next = 0;
        for (int n = 0; !stop_;) {
            const std::string rec = page_of("a" + std::to_string(t) + "-" + std::to_string(n) + " ", 999) + "\n";
            const ssize_t w = ::pwrite(append_fds_[static_cast<size_t>(t)], rec.data(), rec.size(), next);
            const int werr = w < 0 ? errno : 0;
            const bool full = w == static_cast<ssize_t>(rec.size());
            const int serr = full && ::fsync(append_fds_[static_cast<size_t>(t)]) != 0 ? errno : 0;
            if (full && serr == 0) {
                std::lock_guard guard(mutex);
                appended_[static_cast<size_t>(t)] += rec;
                next += static_cast<off_t>(rec.size());
                ++n;
                ++acked_;
            } else if (werr == EACCES || serr == EACCES || serr == EIO || (w >= 0 && !full)) {
                ++refused_;
                std::this_thread::sleep_for(2ms);  // a locked mount: retry the record
            } else {
                std::lock_guard guard(mutex);
                unexpected.push_back("append write " + std::to_string(w) + " errno " + std::to_string(werr) + "/" +
                                     std::to_string(serr));
                std::this_thread::sleep_for(2ms);
            }
        }
    }

    void close_files(int t) {
        for (int gen = 0; !stop_; ++gen) {
            const std::string name = "closed" + std::to_string(t) + "-" + std::to_string(gen);
            std::string content;
            for (int p = 0; p < 3; ++p) content += page_of(name + "/" + std::to_string(p) + " ", kPage);
            {
                std::lock_guard guard(mutex);
                attempted[name] = content;
            }
            int fd = ::open(store_.path(name).c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
            if (fd < 0) {
                ++refused_;
                std::this_thread::sleep_for(2ms);
                continue;
            }
            bool ok = true;
            for (size_t off = 0; off < content.size() && ok; off += kPage)
                ok = ::pwrite(fd, content.data() + off, kPage, static_cast<off_t>(off)) == static_cast<ssize_t>(kPage);
            ok = ::close(fd) == 0 && ok;
            if (!ok) {
                ++refused_;
                continue;
            }
            std::lock_guard guard(mutex);
            closed[name] = content;
            attempted.erase(name);
            ++acked_;
        }
    }

    MountedStore &store_;
    std::vector<int> append_fds_;
    std::vector<std::thread> threads_;
    std::atomic<bool> stop_{false};
    std::atomic<int> acked_{0};
    std::atomic<int> refused_{0};
};

struct Parked {
    std::string name;
    std::string content;
};

// A child process that holds the parked files open, unflushed. They must
// live outside the test process: every fork+exec it makes (the CLI for the
// lock, the vault) closes its copies of the fds, and each close makes the
// kernel write the file's dirty pages back (FUSE FLUSH), long before a lock.
// The child only makes async-signal-safe calls (the test has threads).
class ParkedHolder {
public:
    ParkedHolder(MountedStore &store, const std::vector<Parked> &parked) {
        int to[2], from[2];
        REQUIRE(::pipe(to) == 0);
        REQUIRE(::pipe(from) == 0);
        std::vector<std::string> paths;
        for (const auto &p : parked) paths.push_back(store.path(p.name));
        pid_ = ::fork();
        REQUIRE(pid_ >= 0);
        if (pid_ == 0) {
            ::close(to[1]);
            ::close(from[0]);
            std::vector<int> fds;
            for (size_t i = 0; i < parked.size(); ++i) {
                int fd = ::open(paths[i].c_str(), O_RDWR | O_CREAT, 0644);
                const std::string &c = parked[i].content;
                if (fd < 0 || ::pwrite(fd, c.data(), c.size(), 0) != static_cast<ssize_t>(c.size())) ::_exit(3);
                fds.push_back(fd);
            }
            char cmd;
            while (::write(from[1], "r", 1) == 1 && ::read(to[0], &cmd, 1) == 1 && cmd == 'c') {
                // For each fd: 0 if the whole content reads back, else the errno (or EBADMSG).
                for (size_t i = 0; i < fds.size(); ++i) {
                    char buf[4096];
                    const ssize_t n = ::pread(fds[i], buf, sizeof buf, 0);
                    int result = n < 0 ? errno : (n > 0 ? 0 : EBADMSG);
                    if (::write(from[1], &result, sizeof result) != sizeof result) ::_exit(4);
                }
            }
            ::_exit(0);  // closing the fds: the kernel flushes them (the key is back by then)
        }
        ::close(to[0]);
        ::close(from[1]);
        to_ = to[1];
        from_ = from[0];
        char ready;
        REQUIRE(::read(from_, &ready, 1) == 1);  // written, and still open
        count_ = parked.size();
    }
    ~ParkedHolder() { finish(); }

    // The result of a pread of each parked file through the fds opened and
    // written before the lock: 0 (it read data) or the errno.
    std::vector<int> pread_errnos() {
        std::vector<int> out(count_, -1);
        REQUIRE(::write(to_, "c", 1) == 1);
        for (auto &r : out) REQUIRE(::read(from_, &r, sizeof r) == sizeof r);
        char ready;
        REQUIRE(::read(from_, &ready, 1) == 1);
        return out;
    }
    // Closes the child's fds and reaps it; its exit status.
    int finish() {
        if (pid_ <= 0) return 0;
        ::close(to_);
        int status = 0;
        ::waitpid(pid_, &status, 0);
        ::close(from_);
        pid_ = -1;
        return status;
    }

private:
    pid_t pid_ = -1;
    int to_ = -1, from_ = -1;
    size_t count_ = 0;
};

}  // namespace

TEST_CASE("writeback cache: a lock in a write storm writes dirty pages back under the key, then serves no plaintext",
          "[writeback][revocation]") {
    const bool revoke = GENERATE(false, true);
    INFO((revoke ? "revoked key" : "emergency lock"));
    MountedStore::Options options;
    options.mount_args = {"-o", "check_interval=1s,unavailable_grace=3s,writeback_cache"};
    MountedStore store(options);

    // Parked: written, neither fsynced nor closed, so (with the writeback
    // cache) still only dirty pages in the kernel when the lock comes. Sizes
    // with a partial last page.
    std::vector<Parked> parked;
    for (int i = 0; i < 3; ++i)
        parked.push_back({"parked" + std::to_string(i), page_of("parked" + std::to_string(i), 64 * 1024 + 1000 * (i + 1))});
    ParkedHolder holder(store, parked);  // forked before the storm's threads exist

    Storm storm(store);
    REQUIRE(wait_for([&] { return storm.acked() >= 30; }, 30.0) >= 0);

    // ---- the lock, with the storm still running ----
    if (revoke) {
        store.vault().delete_policy();
        // The audit line is written after the lock's last step (the caches dropped).
        REQUIRE(wait_for([&] { return store.daemon_log().find("\"event\":\"lock\"") != std::string::npos; }, 10.0) >=
                0);
    } else {
        auto r = cli({"lock", store.mountpoint()});
        INFO("lock: " << r.err << r.out);
        REQUIRE(r.exit_code == 0);
    }

    // No read returns plaintext: not through the fds open before the lock
    // (the page cache was dropped), not through a new open.
    for (int err : holder.pread_errnos()) CHECK(err == EACCES);
    for (const auto &p : parked) CHECK(read_errno(store.path(p.name)) == EACCES);
    REQUIRE(wait_for([&] { return storm.refused() > 5; }, 10.0) >= 0);  // the storm hit the lock
    const int acked_before_restore = storm.acked();

    // ---- restore, and let the storm go on under the key ----
    if (revoke) {
        store.vault().set_policy({"get", "wrapKey", "unwrapKey"});
    } else {
        auto r = cli({"unlock", store.mountpoint()});
        INFO("unlock: " << r.err << r.out);
        REQUIRE(r.exit_code == 0);
    }
    REQUIRE(wait_for([&] { return storm.acked() > acked_before_restore + 10; }, 15.0) >= 0);
    storm.stop();

    INFO("daemon log:\n" << store.daemon_log());
    {
        std::lock_guard guard(storm.mutex);
        std::string first;
        for (size_t i = 0; i < storm.unexpected.size() && i < 5; ++i) first += storm.unexpected[i] + "; ";
        INFO("unexpected: " << first);
        CHECK(storm.unexpected.empty());
    }

    auto verify = [&](const char *when) {
        INFO(when);
        // Parked data was written back before the wipe.
        for (const auto &p : parked) {
            std::string got;
            REQUIRE(read_errno(store.path(p.name), &got) == 0);
            CHECK(got.size() == p.content.size());
            CHECK((got == p.content));
        }
        for (size_t t = 0; t < storm.appended_.size(); ++t) {
            std::string got;
            REQUIRE(read_errno(store.path("append" + std::to_string(t)), &got) == 0);
            const std::string &want = storm.appended_[t];
            REQUIRE(got.size() >= want.size());
            CHECK((got.substr(0, want.size()) == want));
        }
        for (const auto &[name, content] : storm.closed) {
            std::string got;
            REQUIRE(read_errno(store.path(name), &got) == 0);
            CHECK((got == content));
        }
        // Unacknowledged files: every page is the one written there, or absent
        // (a hole reads as zeros); never torn, never another page's bytes.
        for (const auto &[name, content] : storm.attempted) {
            std::string got;
            const int err = read_errno(store.path(name), &got);
            if (err == ENOENT) continue;
            REQUIRE(err == 0);
            REQUIRE(got.size() <= content.size());
            for (size_t off = 0; off < got.size(); off += kPage) {
                const std::string page = got.substr(off, kPage);
                INFO(name << " page at " << off);
                CHECK((page == content.substr(off, page.size()) || page == std::string(page.size(), '\0')));
            }
        }
    };
    CHECK(holder.finish() == 0);
    verify("after restore");
    store.unmount();
    store.mount();
    verify("after remount");
}
