#include "store/store_lock.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>

#include "util/file_io.h"
#include "util/host_name.h"

namespace cmkfs::store {

namespace {

constexpr const char *kLockFile = ".cmkfs.lock";
// Byte 0 is the use lock; record slots follow from kSlotBase. 64 slots: more
// holders than that still lock correctly, only the surplus is not named.
constexpr off_t kSlotBase = 4096;
constexpr off_t kSlotSize = 256;
constexpr long kSlots = 64;
constexpr size_t kMaxField = 100;

off_t slot_offset(long slot) { return kSlotBase + slot * kSlotSize; }

struct flock range(short type, off_t start, off_t len) {
    struct flock fl {};
    fl.l_type = type;
    fl.l_whence = SEEK_SET;
    fl.l_start = start;
    fl.l_len = len;
    return fl;
}

// F_OFD_SETLK without waiting: true when taken, false when someone else holds it.
bool try_lock(int fd, short type, off_t start, off_t len, const std::string &path) {
    struct flock fl = range(type, start, len);
    while (::fcntl(fd, F_OFD_SETLK, &fl) != 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EACCES) return false;
        throw SystemError(errno, "lock " + path);
    }
    return true;
}

bool locked_by_other(int fd, off_t start, off_t len) {
    struct flock fl = range(F_WRLCK, start, len);
    return ::fcntl(fd, F_OFD_GETLK, &fl) == 0 && fl.l_type != F_UNLCK;
}

// Printable ASCII only, bounded: the record is attacker input shown to an operator.
std::string cleaned(std::string_view value) {
    std::string out;
    for (char c : value.substr(0, kMaxField)) out += (c >= 0x20 && c < 0x7f) ? c : '?';
    return out;
}

std::string record_text(const std::string &what, const std::string &mountpoint) {
    std::string text = "cmkfs-holder 1\nhost=" + cleaned(host_name()) + "\npid=" + std::to_string(::getpid()) +
                       "\nwhat=" + cleaned(what) + "\nmountpoint=" + cleaned(mountpoint) + "\n";
    text.resize(kSlotSize, '\0');
    return text;
}

LockHolder parse_record(std::string_view text) {
    LockHolder h;
    text = text.substr(0, text.find('\0'));
    while (!text.empty()) {
        const size_t end = text.find('\n');
        const std::string_view line = text.substr(0, end);
        text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
        const size_t eq = line.find('=');
        if (eq == std::string_view::npos) continue;
        const std::string_view key = line.substr(0, eq);
        const std::string value = cleaned(line.substr(eq + 1));
        if (key == "host") h.host = value;
        else if (key == "pid") h.pid = value;
        else if (key == "what") h.what = value;
        else if (key == "mountpoint") h.mountpoint = value;
    }
    if (h.host.empty()) h.host = "?";
    if (h.pid.empty()) h.pid = "?";
    if (h.what.empty()) h.what = "?";
    return h;
}

// Every live record but our own: slots whose lock another holder has.
std::vector<LockHolder> live_holders(int fd, long own_slot) {
    std::vector<LockHolder> out;
    for (long slot = 0; slot < kSlots; ++slot) {
        if (slot == own_slot || !locked_by_other(fd, slot_offset(slot), kSlotSize)) continue;
        std::array<uint8_t, kSlotSize> buf{};
        size_t n = 0;
        try {
            n = pread_full(fd, std::span(buf.data(), buf.size()), slot_offset(slot));
        } catch (const std::exception &) {
            n = 0;
        }
        out.push_back(parse_record(std::string_view(reinterpret_cast<const char *>(buf.data()), n)));
    }
    return out;
}

}  // namespace

std::string LockHolder::describe() const {
    return "host " + host + " (pid " + pid + ", " + what + (mountpoint.empty() ? "" : " at " + mountpoint) + ")";
}

std::string describe_holders(const std::vector<LockHolder> &holders) {
    if (holders.empty()) return "another process";
    std::string out;
    for (const auto &h : holders) out += (out.empty() ? "" : ", ") + h.describe();
    return out;
}

StoreLock::StoreLock(int root_fd, const std::string &backing, Mode mode, const std::string &what,
                     const std::string &mountpoint) {
    const std::string path = backing + "/" + kLockFile;
    // The backing directory is untrusted: a FIFO planted here must not block
    // the open, and only a regular file is a lock we can trust.
    constexpr int flags = O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC;
    bool writable = true;
    fd_.reset(::openat(root_fd, kLockFile, O_RDWR | O_CREAT | flags, 0600));
    if (!fd_ && (errno == EROFS || errno == EACCES)) {
        writable = false;
        fd_.reset(::openat(root_fd, kLockFile, O_RDONLY | flags));
        if (!fd_ && errno == ENOENT) return;
    }
    if (!fd_) throw SystemError(errno, path);
    struct stat st {};
    if (::fstat(fd_.get(), &st) != 0) throw SystemError(errno, "stat " + path);
    if (!S_ISREG(st.st_mode)) throw SystemError(EIO, path + " is not a regular file (refused)");

    // The record first, then the use lock: whoever holds the use lock has
    // (almost always) a record another user can name it by.
    if (writable) {
        for (long slot = 0; slot < kSlots && slot_ < 0; ++slot)
            if (try_lock(fd_.get(), F_WRLCK, slot_offset(slot), kSlotSize, path)) slot_ = slot;
        if (slot_ >= 0) {
            const std::string text = record_text(what, mountpoint);
            pwrite_full(fd_.get(), std::span(reinterpret_cast<const uint8_t *>(text.data()), text.size()),
                        slot_offset(slot_));
        }
    }
    // A read-only open cannot take a write lock; nothing can rewrite a
    // read-only store anyway.
    const short type = mode == Mode::exclusive && writable ? F_WRLCK : F_RDLCK;
    if (try_lock(fd_.get(), type, 0, 1, path)) return;
    auto holders = live_holders(fd_.get(), slot_);
    release_record();
    const std::string message = backing + " is in use by " + describe_holders(holders);
    throw StoreBusy(message, std::move(holders));
}

StoreLock::~StoreLock() { release_record(); }

void StoreLock::release_record() noexcept {
    if (!fd_ || slot_ < 0) return;
    // Our record goes before our lock does (closing the file drops both).
    const std::string blank(kSlotSize, '\0');
    try {
        pwrite_full(fd_.get(), std::span(reinterpret_cast<const uint8_t *>(blank.data()), blank.size()),
                    slot_offset(slot_));
    } catch (const std::exception &) {  // NOLINT(bugprone-empty-catch): a stale record is ignored (its lock is gone)
    }
}

}  // namespace cmkfs::store
