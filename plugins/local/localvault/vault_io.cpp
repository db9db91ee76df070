#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>

#include "vault_internal.h"
#include "errno_text.h"

namespace cmkfs::localvault::detail {

int64_t now_ms() {
    using namespace std::chrono;
    return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

std::string format_rfc3339(int64_t epoch_ms) {
    time_t secs = static_cast<time_t>(epoch_ms / 1000);
    int ms = static_cast<int>(epoch_ms % 1000);
    struct tm tm {};
    gmtime_r(&secs, &tm);
    char buf[96];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
    return buf;
}

// Reads what format_rfc3339 writes: YYYY-MM-DDTHH:MM:SS[.mmm]Z.
int64_t parse_rfc3339(const std::string &text) {
    auto malformed = [&] { return VaultError(Code::internal, "vault: malformed timestamp '" + text + "'"); };
    auto number = [&](size_t pos, size_t len) {
        if (pos + len > text.size()) throw malformed();
        int value = 0;
        const char *first = text.data() + pos;
        const char *last = first + len;
        if (!std::all_of(first, last, [](char c) { return c >= '0' && c <= '9'; }) ||
            std::from_chars(first, last, value).ptr != last)
            throw malformed();
        return value;
    };
    if (text.size() < 20 || text[4] != '-' || text[7] != '-' || text[10] != 'T' || text[13] != ':' ||
        text[16] != ':')
        throw malformed();
    struct tm tm {};
    tm.tm_year = number(0, 4);
    tm.tm_mon = number(5, 2);
    tm.tm_mday = number(8, 2);
    tm.tm_hour = number(11, 2);
    tm.tm_min = number(14, 2);
    tm.tm_sec = number(17, 2);
    const int ms = text[19] == '.' ? number(20, 3) : 0;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return static_cast<int64_t>(timegm(&tm)) * 1000 + ms;
}

void throw_io(const std::string &context, int err) {
    Code code = err == ENOENT ? Code::not_found : Code::unavailable;
    throw VaultError(code, context + ": " + cmkfs::plugin::errno_text(err));
}

bool exists(const std::string &path) {
    struct stat st {};
    if (::lstat(path.c_str(), &st) == 0) return true;
    if (errno != ENOENT) throw_io("stat " + path, errno);
    return false;
}

namespace {

// Reads `path` (never through a symlink) in chunks handed to `append`; the
// chunk buffer is wiped however the read ends, since vault files hold keys.
template <class Append>
void read_chunks(const std::string &path, Append &&append) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) throw_io("open " + path, errno);
    char chunk[4096];
    try {
        for (;;) {
            ssize_t n = ::read(fd, chunk, sizeof chunk);
            if (n < 0) {
                if (errno == EINTR) continue;
                int err = errno;
                throw_io("read " + path, err);
            }
            if (n == 0) break;
            append(std::string_view(chunk, static_cast<size_t>(n)));
        }
    } catch (...) {
        ::close(fd);
        OPENSSL_cleanse(chunk, sizeof chunk);
        throw;
    }
    OPENSSL_cleanse(chunk, sizeof chunk);
    ::close(fd);
}

}  // namespace

std::string read_file(const std::string &path) {
    std::string out;
    try {
        read_chunks(path, [&](std::string_view chunk) {
            // Grow without leaving copies of (possibly secret) bytes behind.
            if (out.size() + chunk.size() > out.capacity()) {
                std::string bigger;
                bigger.reserve((out.size() + chunk.size()) * 2);
                bigger.append(out);
                cleanse(out);
                out.swap(bigger);
            }
            out.append(chunk);
        });
    } catch (...) {
        cleanse(out);
        throw;
    }
    return out;
}

SecretBuffer read_secret_file(const std::string &path) {
    SecretBuffer out;
    read_chunks(path, [&](std::string_view chunk) { out.append(chunk); });  // grows without leaving copies
    return out;
}

static void write_all(int fd, std::string_view data, const std::string &path) {
    size_t done = 0;
    while (done < data.size()) {
        ssize_t n = ::write(fd, data.data() + done, data.size() - done);
        if (n < 0) {
            if (errno == EINTR) continue;
            throw_io("write " + path, errno);
        }
        done += static_cast<size_t>(n);
    }
}

static std::string parent_dir(const std::string &path) {
    auto slash = path.rfind('/');
    if (slash == std::string::npos) return ".";
    if (slash == 0) return "/";
    return path.substr(0, slash);
}

static void fsync_dir(const std::string &dir) {
    int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) throw_io("open directory " + dir, errno);
    int rc = ::fsync(fd);
    int err = errno;
    ::close(fd);
    if (rc != 0) throw_io("fsync directory " + dir, err);
}

void write_file_atomic(const std::string &path, std::string_view data, unsigned mode) {
    const std::string tmp = path + ".tmp." + random_hex(6);
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
                    static_cast<mode_t>(mode));
    if (fd < 0) throw_io("create " + tmp, errno);
    try {
        if (::fchmod(fd, static_cast<mode_t>(mode)) != 0) throw_io("chmod " + tmp, errno);
        write_all(fd, data, tmp);
        if (::fsync(fd) != 0) throw_io("fsync " + tmp, errno);
    } catch (...) {
        ::close(fd);
        ::unlink(tmp.c_str());
        throw;
    }
    ::close(fd);
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
        int err = errno;
        ::unlink(tmp.c_str());
        throw_io("rename " + tmp, err);
    }
    fsync_dir(parent_dir(path));
}

void make_dir(const std::string &path, unsigned mode) {
    if (::mkdir(path.c_str(), static_cast<mode_t>(mode)) != 0 && errno != EEXIST)
        throw_io("mkdir " + path, errno);
    if (::chmod(path.c_str(), static_cast<mode_t>(mode)) != 0) throw_io("chmod " + path, errno);
}

std::vector<std::string> list_dir(const std::string &path) {
    DIR *d = ::opendir(path.c_str());
    if (d == nullptr) throw_io("open directory " + path, errno);
    std::vector<std::string> names;
    // readdir is safe from several threads as long as each uses its own DIR
    // stream (glibc; readdir_r is deprecated).
    while (const dirent *e = ::readdir(d)) {  // NOLINT(concurrency-mt-unsafe)
        std::string name = e->d_name;
        if (name != "." && name != "..") names.push_back(std::move(name));
    }
    ::closedir(d);
    return names;
}

void remove_tree(const std::string &path) {
    if (!exists(path)) return;
    for (const auto &name : list_dir(path)) {
        std::string p = path;
        p += '/';
        p += name;
        struct stat st {};
        if (::lstat(p.c_str(), &st) != 0) continue;
        if (S_ISDIR(st.st_mode))
            remove_tree(p);
        else if (::unlink(p.c_str()) != 0)
            throw_io("unlink " + p, errno);
    }
    if (::rmdir(path.c_str()) != 0) throw_io("rmdir " + path, errno);
    fsync_dir(parent_dir(path));
}

void append_line(const std::string &path, const std::string &line) {
    int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) throw_io("open audit log " + path, errno);
    std::string buf = line + "\n";
    ssize_t n;
    do {
        n = ::write(fd, buf.data(), buf.size());
    } while (n < 0 && errno == EINTR);
    int err = errno;
    ::close(fd);
    if (n < 0) throw_io("write audit log " + path, err);
    if (static_cast<size_t>(n) != buf.size())
        throw VaultError(Code::unavailable, "short write to audit log " + path);
}

DirLock::DirLock(const std::string &vault_dir, bool exclusive) {
    const std::string path = vault_dir + "/.lock";
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd_ < 0 && errno == EACCES && !exclusive)
        fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd_ < 0) throw_io("open lock " + path, errno);
    while (::flock(fd_, exclusive ? LOCK_EX : LOCK_SH) != 0) {
        if (errno == EINTR) continue;
        int err = errno;
        ::close(fd_);
        fd_ = -1;
        throw_io("lock " + path, err);
    }
}

DirLock::~DirLock() {
    if (fd_ >= 0) ::close(fd_);  // releases the flock
}

}  // namespace cmkfs::localvault::detail
