#include "util/file_io.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <charconv>
#include <string>
#include <string_view>

#include "util/errors.h"

namespace cmkfs {

size_t pread_full(int fd, std::span<uint8_t> buf, off_t offset) {
    size_t done = 0;
    while (done < buf.size()) {
        ssize_t n = ::pread(fd, buf.data() + done, buf.size() - done,
                            offset + static_cast<off_t>(done));
        if (n < 0) {
            if (errno == EINTR) continue;
            throw_errno("pread");
        }
        if (n == 0) break;
        done += static_cast<size_t>(n);
    }
    return done;
}

void pwrite_full(int fd, std::span<const uint8_t> buf, off_t offset) {
    size_t done = 0;
    while (done < buf.size()) {
        ssize_t n = ::pwrite(fd, buf.data() + done, buf.size() - done,
                             offset + static_cast<off_t>(done));
        if (n < 0) {
            if (errno == EINTR) continue;
            throw_errno("pwrite");
        }
        done += static_cast<size_t>(n);
    }
}

std::vector<uint8_t> read_file_at(int dirfd, const std::string &name, size_t max_size) {
    UniqueFd fd(::openat(dirfd, name.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK));
    if (!fd) throw_errno("open " + name);
    // Checked on the descriptor we read, so a swap after the check cannot matter.
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) throw_errno("stat " + name);
    if (!S_ISREG(st.st_mode)) throw SystemError(EIO, name + " is not a regular file (refused)");
    if (static_cast<uint64_t>(st.st_size) > max_size)
        throw SystemError(EFBIG, name + " is larger than " + std::to_string(max_size) + " bytes (refused)");
    std::vector<uint8_t> out;
    uint8_t chunk[8192];
    for (off_t off = 0;;) {
        size_t n = pread_full(fd.get(), chunk, off);
        out.insert(out.end(), chunk, chunk + n);
        off += static_cast<off_t>(n);
        // The file may grow after the fstat: the bound holds for what we read.
        if (out.size() > max_size)
            throw SystemError(EFBIG, name + " is larger than " + std::to_string(max_size) + " bytes (refused)");
        if (n < sizeof chunk) break;
    }
    return out;
}

std::string read_text_file(const std::string &path, size_t max_size) {
    auto bytes = read_file_at(AT_FDCWD, path, max_size);
    return std::string(bytes.begin(), bytes.end());
}

namespace {

std::string temporary_prefix(const std::string &name) { return name + ".tmp."; }

// The pid in "<name>.tmp.<pid>.<n>", or 0 when `entry` is not such a name.
pid_t temporary_owner(std::string_view entry, std::string_view prefix) {
    if (entry.substr(0, prefix.size()) != prefix) return 0;
    entry.remove_prefix(prefix.size());
    const auto dot = entry.find('.');
    if (dot == std::string_view::npos || dot == 0 || dot + 1 == entry.size()) return 0;
    pid_t pid = 0;
    const char *end = entry.data() + dot;
    if (std::from_chars(entry.data(), end, pid).ptr != end || pid <= 0) return 0;
    return pid;
}

// Creates a temporary beside `name` that is ours alone: O_EXCL and O_NOFOLLOW,
// so a leftover from a crash (with the wrong mode), a symlink planted there or
// a concurrent writer can never lend us their file. The name is unique per
// process and call; a collision (pid reuse after a crash) just takes the next.
UniqueFd create_temporary(int dirfd, const std::string &name, mode_t mode, std::string &tmp) {
    static std::atomic<unsigned long> counter{0};
    for (int attempt = 0;; ++attempt) {
        tmp = temporary_prefix(name) + std::to_string(::getpid()) + "." + std::to_string(counter++);
        UniqueFd fd(::openat(dirfd, tmp.c_str(),
                             O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode));
        if (fd) return fd;
        if (errno != EEXIST || attempt == 100) throw_errno("create " + tmp);
    }
}

// The directory that holds `name` (relative to dirfd), for the final fsync.
UniqueFd parent_of(int dirfd, const std::string &name) {
    auto slash = name.rfind('/');
    const std::string dir = slash == std::string::npos ? "." : name.substr(0, slash + 1);
    UniqueFd fd(::openat(dirfd, dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!fd) throw_errno("open directory of " + name);
    return fd;
}

}  // namespace

void write_file_atomic(int dirfd, const std::string &name, std::span<const uint8_t> data,
                       mode_t mode, const AtomicWriteStepHook &before_step) {
    auto step = [&](const char *what) {
        if (before_step) before_step(what);
    };
    std::string tmp;
    UniqueFd fd = create_temporary(dirfd, name, mode, tmp);
    try {
        step("write");
        pwrite_full(fd.get(), data, 0);
        step("fsync");
        if (::fsync(fd.get()) != 0) throw_errno("fsync " + tmp);
        fd.reset();
        step("rename");
        if (::renameat(dirfd, tmp.c_str(), dirfd, name.c_str()) != 0) throw_errno("rename " + tmp);
    } catch (...) {
        ::unlinkat(dirfd, tmp.c_str(), 0);  // never leave the temporary behind
        throw;
    }
    step("fsync-dir");
    UniqueFd parent = parent_of(dirfd, name);
    if (::fsync(parent.get()) != 0) throw_errno("fsync directory of " + name);
}

void write_text_file_atomic(const std::string &path, const std::string &text, mode_t mode) {
    write_file_atomic(AT_FDCWD, path,
                      std::span(reinterpret_cast<const uint8_t *>(text.data()), text.size()), mode);
}

std::vector<std::string> list_directory(int dirfd) {
    UniqueFd fd(::openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    DIR *dir = fd ? ::fdopendir(fd.get()) : nullptr;
    if (dir == nullptr) throw_errno("read directory");
    fd.release();
    std::vector<std::string> names;
    // Each call has its own DIR stream: readdir is safe from several threads then.
    while (const dirent *e = ::readdir(dir)) {  // NOLINT(concurrency-mt-unsafe)
        std::string_view n(e->d_name);
        if (n != "." && n != "..") names.emplace_back(n);
    }
    ::closedir(dir);
    return names;
}

size_t remove_orphan_temporaries(int dirfd, const std::string &name) {
    const std::string prefix = temporary_prefix(name);
    size_t removed = 0;
    for (const auto &entry : list_directory(dirfd)) {
        const pid_t owner = temporary_owner(entry, prefix);
        if (owner != 0 && ::kill(owner, 0) != 0 && errno == ESRCH && ::unlinkat(dirfd, entry.c_str(), 0) == 0)
            ++removed;
    }
    return removed;
}

UniqueFd open_dir(const std::string &path) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!fd) throw_errno("open directory " + path);
    return fd;
}

}  // namespace cmkfs
