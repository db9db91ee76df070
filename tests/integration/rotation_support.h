// Helpers shared by the key-rotation tests: the volume header and audit trail
// as JSON, a config file that turns the audit trail on, `encryption show`,
// and a writer thread that keeps writing and verifying files through a mount.
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <functional>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "support/process.h"

namespace cmkfs::test::rotation {

using namespace std::chrono_literals;

inline nlohmann::json header_of(const std::string &backing) {
    return nlohmann::json::parse(read_file(backing + "/.cmkfs.volume"));
}

// Every JSON line of an audit file (none when it does not exist yet).
inline std::vector<nlohmann::json> audit_events(const std::string &path) {
    std::vector<nlohmann::json> out;
    std::ifstream in(path);
    std::string line;
    while (std::getline(in, line))
        if (!line.empty()) out.push_back(nlohmann::json::parse(line));
    return out;
}

inline std::vector<nlohmann::json> events_named(const std::string &path, const std::string &event) {
    std::vector<nlohmann::json> out;
    for (auto &e : audit_events(path))
        if (e.value("event", "") == event) out.push_back(e);
    return out;
}

// A config file whose only setting is the audit trail.
inline std::string audit_config(TempDir &dir, const std::string &audit_file) {
    const std::string path = dir / "cmkfs.yaml";
    write_file(path, "logging:\n  audit_file: " + audit_file + "\n");
    return path;
}

inline nlohmann::json show(const std::string &target) {
    auto r = cli({"encryption", "show", target});
    INFO("encryption show " << target << ": exit " << r.exit_code << " " << r.err << r.out);
    REQUIRE(r.exit_code == 0);
    return nlohmann::json::parse(r.out);
}

// Polls pred every 20 ms for up to timeout_s seconds.
inline bool eventually(const std::function<bool()> &pred, double timeout_s) {
    const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
    while (std::chrono::steady_clock::now() < end) {
        if (pred()) return true;
        std::this_thread::sleep_for(20ms);
    }
    return pred();
}

inline std::string content_for(unsigned n) {
    std::string s = "file " + std::to_string(n) + ":";
    while (s.size() < 5000 + n % 7000) s += std::to_string(n * 2654435761u) + ",";
    return s;
}

// Keeps writing new files through the mount and reading back both the new one
// and an earlier one, counting every failed system call or wrong byte.
class Writer {
public:
    explicit Writer(std::string dir) : dir_(std::move(dir)), thread_([this] { run(); }) {}
    ~Writer() { stop(); }
    Writer(const Writer &) = delete;
    Writer &operator=(const Writer &) = delete;

    void stop() {
        stopping_ = true;
        if (thread_.joinable()) thread_.join();
    }
    unsigned files() const { return files_; }
    unsigned errors() const { return errors_; }
    std::string first_error() const {
        std::lock_guard g(mutex_);
        return first_error_;
    }
    // Waits until at least n more files were written (or errors appear).
    bool wait_for_files(unsigned n, double timeout_s) {
        const unsigned target = files_ + n;
        return eventually([&] { return files_ >= target || errors_ > 0; }, timeout_s) && errors_ == 0;
    }

private:
    std::string path(unsigned n) const { return dir_ + "/w" + std::to_string(n); }

    void fail(const std::string &what) {
        ++errors_;
        std::lock_guard g(mutex_);
        if (first_error_.empty()) first_error_ = what;
    }

    bool write_one(unsigned n) {
        const std::string data = content_for(n);
        int fd = ::open(path(n).c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0) return fail("create " + path(n) + ": " + std::strerror(errno)), false;
        ssize_t w = ::write(fd, data.data(), data.size());
        int e = errno;
        if (::close(fd) != 0 && w >= 0) w = -1, e = errno;
        if (w != static_cast<ssize_t>(data.size()))
            return fail("write " + path(n) + ": " + std::strerror(e)), false;
        return true;
    }

    void verify(unsigned n) {
        std::string got;
        int fd = ::open(path(n).c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) return fail("open " + path(n) + ": " + std::strerror(errno));
        char buf[65536];
        for (;;) {
            ssize_t r = ::read(fd, buf, sizeof buf);
            if (r < 0) {
                fail("read " + path(n) + ": " + std::strerror(errno));
                break;
            }
            if (r == 0) break;
            got.append(buf, static_cast<size_t>(r));
        }
        ::close(fd);
        if (got != content_for(n)) fail("wrong content in " + path(n));
    }

    void run() {
        for (unsigned n = 0; !stopping_; ++n) {
            if (!write_one(n)) continue;
            verify(n);
            if (n > 0) verify(n / 2);
            files_ = n + 1;
        }
    }

    std::string dir_;
    std::atomic<bool> stopping_{false};
    std::atomic<unsigned> files_{0};
    std::atomic<unsigned> errors_{0};
    mutable std::mutex mutex_;
    std::string first_error_;
    std::thread thread_;
};

}  // namespace cmkfs::test::rotation
