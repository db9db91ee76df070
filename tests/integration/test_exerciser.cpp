// A seeded random sequence of file operations through a real mount, checked
// against an in-memory model (one std::string per file): pwrite/pread at random
// offsets (block-straddling, past-EOF gaps), ftruncate up and down, mmap
// MAP_SHARED writes, O_APPEND writes, close/reopen, and now and then an
// unmount + remount. Replay a failure with the printed CMKFS_TEST_SEED.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "support/process.h"
#include "support/test_seed.h"
#include "support/random_bytes.h"

using namespace cmkfs::test;

// 100,000 operations in the whole suite (4 sections × 25,000) in a normal
// build. Under AddressSanitizer the daemon is several times slower, so the
// suite does 25,000 (4 × 6,250) there to stay within a few minutes.
// Env CMKFS_EXERCISER_OPS sets the total for the suite explicitly.
#if defined(__SANITIZE_ADDRESS__)
#define CMKFS_EXERCISER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CMKFS_EXERCISER_ASAN 1
#endif
#endif
#ifdef CMKFS_EXERCISER_ASAN
constexpr long kDefaultSuiteOps = 25'000;
#else
constexpr long kDefaultSuiteOps = 100'000;
#endif
constexpr int kSections = 4;

namespace {

constexpr size_t kBlock = 4096;
constexpr size_t kSmallCap = 256 * 1024;
constexpr size_t kBigCap = 4 * 1024 * 1024;

long suite_ops() {
    const char *env = std::getenv("CMKFS_EXERCISER_OPS");
    if (env != nullptr && *env != '\0') {
        long n = std::strtol(env, nullptr, 10);
        if (n > 0) return n;
    }
    return kDefaultSuiteOps;
}

struct Weights {
    int pwrite = 30, pread = 25, truncate = 6, mmap = 5, reopen = 5, stat = 5, verify = 1, fsync = 2;
    int remount_one_in = 8000;  // probability 1/N per operation
};

struct ModelFile {
    std::string name;
    std::string data;
    size_t cap = kSmallCap;
    int fd = -1;
    bool append = false;
};

class Exerciser {
public:
    Exerciser(MountedStore &store, std::mt19937_64 &rng, Weights w, int files)
        : store_(store), rng_(rng), w_(w) {
        for (int i = 0; i < files; ++i) {
            ModelFile f;
            f.name = "file-" + std::to_string(i);
            // The last file may grow to a few MiB; the others stay small.
            f.cap = i == files - 1 ? kBigCap : kSmallCap;
            files_.push_back(std::move(f));
        }
        for (auto &f : files_) open_file(f, false, true);
    }

    ~Exerciser() { close_all(); }

    // Runs n random operations; returns false (after reporting) on the first mismatch.
    bool run(long n) {
        const int total = w_.pwrite + w_.pread + w_.truncate + w_.mmap + w_.reopen + w_.stat + w_.verify + w_.fsync;
        for (op_ = 0; op_ < n; ++op_) {
            if (w_.remount_one_in > 0 && uniform(0, static_cast<size_t>(w_.remount_one_in) - 1) == 0) {
                if (!remount()) return false;
                continue;
            }
            ModelFile &f = files_[uniform(0, files_.size() - 1)];
            int pick = static_cast<int>(uniform(0, static_cast<size_t>(total) - 1));
            bool ok;
            if ((pick -= w_.pwrite) < 0) ok = do_write(f);
            else if ((pick -= w_.pread) < 0) ok = do_read(f);
            else if ((pick -= w_.truncate) < 0) ok = do_truncate(f);
            else if ((pick -= w_.mmap) < 0) ok = do_mmap(f);
            else if ((pick -= w_.reopen) < 0) ok = do_reopen(f);
            else if ((pick -= w_.stat) < 0) ok = do_stat(f);
            else if ((pick -= w_.verify) < 0) ok = verify(f);
            else ok = do_fsync(f);
            if (!ok) return false;
        }
        // Everything must still match at the end, and after a final remount.
        for (auto &f : files_)
            if (!verify(f)) return false;
        if (!remount()) return false;
        return true;
    }

    std::string failure() const { return failure_; }
    long remounts() const { return remounts_; }

private:
    size_t uniform(size_t lo, size_t hi) { return std::uniform_int_distribution<size_t>(lo, hi)(rng_); }
    bool chance(int percent) { return uniform(0, 99) < static_cast<size_t>(percent); }

    void trace(const std::string &line) {
        recent_.push_back("#" + std::to_string(op_) + " " + line);
        if (recent_.size() > 24) recent_.pop_front();
    }

    bool fail(const std::string &what) {
        std::ostringstream s;
        s << "exerciser mismatch: CMKFS_TEST_SEED=" << cmkfs::test::seed() << " op " << op_ << ": " << what
          << "\nlast operations:\n";
        for (const auto &l : recent_) s << "  " << l << "\n";
        failure_ = s.str();
        return false;
    }

    bool sys_fail(const std::string &what) { return fail(what + ": " + std::strerror(errno)); }

    std::string random_bytes(size_t n) { return cmkfs::test::random_bytes(rng_, n); }

    // An offset that likes block boundaries and the end of file.
    size_t pick_offset(const ModelFile &f, size_t max) {
        size_t size = f.data.size();
        size_t off;
        switch (uniform(0, 4)) {
        case 0: off = uniform(0, std::max<size_t>(size, 1)); break;
        case 1: {  // just before or after a block boundary
            size_t b = uniform(0, size / kBlock + 1) * kBlock;
            off = b + uniform(0, 64);
            off = off > 32 ? off - 32 : 0;
            break;
        }
        case 2: off = size; break;                               // append
        case 3: off = size + uniform(1, 3 * kBlock + 100); break;  // past EOF: a gap of zeros
        default: off = uniform(0, max); break;
        }
        return std::min(off, max);
    }

    size_t pick_length() {
        switch (uniform(0, 5)) {
        case 0: return uniform(1, 16);
        case 1: return uniform(1, 700);
        case 2: return kBlock + uniform(0, 64) - 32;  // about one block
        case 3: return uniform(1, 3) * kBlock;        // whole blocks
        case 4: return uniform(1, 20000);
        default: return uniform(1, 70000);
        }
    }

    bool open_file(ModelFile &f, bool append, bool create) {
        int flags = O_RDWR | O_CLOEXEC | (append ? O_APPEND : 0) | (create ? O_CREAT : 0);
        f.fd = ::open(store_.path(f.name).c_str(), flags, 0644);
        if (f.fd < 0) return sys_fail("open " + f.name);
        f.append = append;
        return true;
    }

    void close_all() {
        for (auto &f : files_) {
            if (f.fd >= 0) ::close(f.fd);
            f.fd = -1;
        }
    }

    bool do_write(ModelFile &f) {
        if (f.data.size() >= f.cap) return do_truncate(f);
        size_t len = pick_length();
        std::string bytes;
        if (f.append) {
            len = std::min(len, f.cap - f.data.size());
            bytes = random_bytes(len);
            trace(f.name + " append " + std::to_string(len) + " at " + std::to_string(f.data.size()));
            ssize_t n = ::write(f.fd, bytes.data(), len);
            if (n != static_cast<ssize_t>(len)) return sys_fail("append write " + f.name);
            f.data += bytes;
            return true;
        }
        size_t off = pick_offset(f, f.cap - 1);
        len = std::min(len, f.cap - off);
        bytes = random_bytes(len);
        trace(f.name + " pwrite " + std::to_string(len) + " at " + std::to_string(off) + " (size " +
              std::to_string(f.data.size()) + ")");
        ssize_t n = ::pwrite(f.fd, bytes.data(), len, static_cast<off_t>(off));
        if (n != static_cast<ssize_t>(len)) return sys_fail("pwrite " + f.name);
        if (f.data.size() < off + len) f.data.resize(off + len, '\0');
        f.data.replace(off, len, bytes);
        return true;
    }

    bool compare(const ModelFile &f, size_t off, const std::string &got, const std::string &what) {
        std::string_view want = off >= f.data.size() ? std::string_view{}
                                                      : std::string_view(f.data).substr(off, got.size());
        if (got.size() != want.size())
            return fail(what + ": got " + std::to_string(got.size()) + " bytes, model has " +
                        std::to_string(want.size()));
        for (size_t i = 0; i < got.size(); ++i) {
            if (got[i] != want[i])
                return fail(what + ": first difference at file offset " + std::to_string(off + i) + " (got 0x" +
                            hex(got[i]) + ", want 0x" + hex(want[i]) + "), file size " +
                            std::to_string(f.data.size()));
        }
        return true;
    }

    static std::string hex(char c) {
        static const char *digits = "0123456789abcdef";
        auto u = static_cast<unsigned char>(c);
        return {digits[u >> 4], digits[u & 15]};
    }

    // Reads [off, off+len) fully (looping on short reads until EOF).
    bool read_range(ModelFile &f, size_t off, size_t len, std::string &out) {
        out.assign(len, '\0');
        size_t done = 0;
        while (done < len) {
            ssize_t n = ::pread(f.fd, out.data() + done, len - done, static_cast<off_t>(off + done));
            if (n < 0) return sys_fail("pread " + f.name + " " + std::to_string(len) + " at " + std::to_string(off));
            if (n == 0) break;
            done += static_cast<size_t>(n);
        }
        out.resize(done);
        return true;
    }

    bool do_read(ModelFile &f) {
        size_t off = pick_offset(f, f.cap + kBlock);
        size_t len = pick_length();
        trace(f.name + " pread " + std::to_string(len) + " at " + std::to_string(off) + " (size " +
              std::to_string(f.data.size()) + ")");
        std::string got;
        if (!read_range(f, off, len, got)) return false;
        const size_t expect = off >= f.data.size() ? 0 : std::min(len, f.data.size() - off);
        if (got.size() != expect)
            return fail("pread " + f.name + " " + std::to_string(len) + " at " + std::to_string(off) + " returned " +
                        std::to_string(got.size()) + " bytes, want " + std::to_string(expect) +
                        " (model size " + std::to_string(f.data.size()) + ")");
        return compare(f, off, got, "pread " + f.name);
    }

    bool verify(ModelFile &f) {
        trace(f.name + " verify (size " + std::to_string(f.data.size()) + ")");
        struct stat st {};
        if (::fstat(f.fd, &st) != 0) return sys_fail("fstat " + f.name);
        if (static_cast<size_t>(st.st_size) != f.data.size())
            return fail(f.name + " st_size " + std::to_string(st.st_size) + ", model " + std::to_string(f.data.size()));
        std::string got;
        if (!read_range(f, 0, f.data.size() + 1, got)) return false;
        if (got.size() != f.data.size())
            return fail(f.name + " full read gave " + std::to_string(got.size()) + " bytes, model " +
                        std::to_string(f.data.size()));
        return compare(f, 0, got, "full read of " + f.name);
    }

    bool do_truncate(ModelFile &f) {
        size_t size = f.data.size();
        size_t to;
        switch (uniform(0, 4)) {
        case 0: to = size > 0 ? uniform(0, size - 1) : 0; break;  // down
        case 1: to = std::min(f.cap, size + uniform(1, 3 * kBlock)); break;  // up a little
        case 2: to = (uniform(0, size / kBlock + 1)) * kBlock + (chance(50) ? 0 : uniform(1, kBlock - 1)); break;
        case 3: to = chance(20) ? 0 : size / 2; break;
        default: to = uniform(0, f.cap / (chance(80) ? 4 : 1)); break;
        }
        to = std::min(to, f.cap);
        trace(f.name + " ftruncate " + std::to_string(size) + " -> " + std::to_string(to));
        if (::ftruncate(f.fd, static_cast<off_t>(to)) != 0) return sys_fail("ftruncate " + f.name);
        f.data.resize(to, '\0');
        return true;
    }

    bool do_mmap(ModelFile &f) {
        if (f.data.empty()) return do_write(f);
        const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
        size_t off = uniform(0, f.data.size() - 1);
        size_t len = std::min(uniform(1, 3 * kBlock), f.data.size() - off);
        size_t map_off = off / page * page;
        size_t map_len = off + len - map_off;
        trace(f.name + " mmap write " + std::to_string(len) + " at " + std::to_string(off));
        void *p = ::mmap(nullptr, map_len, PROT_READ | PROT_WRITE, MAP_SHARED, f.fd, static_cast<off_t>(map_off));
        if (p == MAP_FAILED) return sys_fail("mmap " + f.name);
        auto *base = static_cast<char *>(p);
        // The mapping must show the current contents before we change them.
        std::string before(base + (off - map_off), len);
        if (!compare(f, off, before, "mmap view of " + f.name)) {
            ::munmap(p, map_len);
            return false;
        }
        std::string bytes = random_bytes(len);
        std::memcpy(base + (off - map_off), bytes.data(), len);
        if (chance(50) && ::msync(p, map_len, MS_SYNC) != 0) {
            ::munmap(p, map_len);
            return sys_fail("msync " + f.name);
        }
        if (::munmap(p, map_len) != 0) return sys_fail("munmap " + f.name);
        f.data.replace(off, len, bytes);
        std::string got;
        if (!read_range(f, off, len, got)) return false;
        return compare(f, off, got, "read after mmap write of " + f.name);
    }

    bool do_reopen(ModelFile &f) {
        bool append = chance(30);
        trace(f.name + " reopen" + (append ? " O_APPEND" : ""));
        if (::close(f.fd) != 0) {
            f.fd = -1;
            return sys_fail("close " + f.name);
        }
        f.fd = -1;
        if (!open_file(f, append, false)) return false;
        return true;
    }

    bool do_stat(ModelFile &f) {
        trace(f.name + " stat");
        struct stat st {};
        if (::stat(store_.path(f.name).c_str(), &st) != 0) return sys_fail("stat " + f.name);
        if (static_cast<size_t>(st.st_size) != f.data.size())
            return fail(f.name + " st_size " + std::to_string(st.st_size) + ", model " + std::to_string(f.data.size()));
        return true;
    }

    bool do_fsync(ModelFile &f) {
        const bool data_only = chance(50);
        trace(f.name + (data_only ? " fdatasync" : " fsync"));
        if ((data_only ? ::fdatasync(f.fd) : ::fsync(f.fd)) != 0) return sys_fail("fsync " + f.name);
        return true;
    }

    bool remount() {
        trace("unmount + remount");
        ++remounts_;
        std::vector<bool> append;
        for (auto &f : files_) append.push_back(f.append);
        close_all();
        store_.unmount();
        store_.mount();
        for (size_t i = 0; i < files_.size(); ++i)
            if (!open_file(files_[i], append[i], false)) return false;
        // Every file must have survived exactly.
        for (auto &f : files_)
            if (!verify(f)) return false;
        return true;
    }

    MountedStore &store_;
    std::mt19937_64 &rng_;
    Weights w_;
    std::vector<ModelFile> files_;
    long op_ = 0;
    long remounts_ = 0;
    std::deque<std::string> recent_;
    std::string failure_;
};

void exercise(uint64_t stream, Weights weights, int files, bool plaintext_names = false) {
    const long ops = std::max<long>(1, suite_ops() / kSections);
    MountedStore::Options options;
    options.plaintext_names = plaintext_names;
    MountedStore store(options);
    auto rng = cmkfs::test::rng(stream);
    Exerciser ex(store, rng, weights, files);
    const bool ok = ex.run(ops);
    INFO("CMKFS_TEST_SEED=" << cmkfs::test::seed() << " stream " << stream << ", " << ops << " ops, "
                            << ex.remounts() << " remounts");
    if (!ok) {
        INFO(ex.failure());
        INFO("daemon log:\n" << store.daemon_log());
        FAIL("the mount disagrees with the model");
    }
    SUCCEED(ops << " operations matched the model");
}

}  // namespace

TEST_CASE("random file operations through the mount match an in-memory model", "[exerciser]") {
    SECTION("mixed operations on a handful of files") { exercise(1, Weights{}, 5); }
    SECTION("write and truncate heavy, one file growing to a few MiB") {
        Weights w;
        w.pwrite = 40;
        w.truncate = 12;
        w.pread = 20;
        exercise(2, w, 3);
    }
    SECTION("mmap, O_APPEND and reopen heavy") {
        Weights w;
        w.mmap = 15;
        w.reopen = 12;
        w.pwrite = 25;
        exercise(3, w, 4);
    }
    SECTION("plaintext names, more frequent remounts") {
        Weights w;
        w.remount_one_in = 2500;
        exercise(4, w, 5, true);
    }
}
