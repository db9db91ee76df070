#include "fs/killpriv.h"

#include <linux/fuse.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cstring>
#include <vector>

#include "fs/filesystem.h"
#include "util/errors.h"

namespace cmkfs::fs {

namespace {

// Set by the read hook for the request this thread read last, which is the
// one it serves next (libfuse's worker threads read and then process).
thread_local bool t_kills_suidgid = false;

template <typename T>
bool read_arg(const uint8_t *buf, size_t len, T &out) {
    if (len < sizeof(fuse_in_header) + sizeof(T)) return false;
    std::memcpy(&out, buf + sizeof(fuse_in_header), sizeof(T));
    return true;
}

Killpriv &killpriv_of(void *userdata) { return static_cast<Filesystem *>(userdata)->killpriv(); }

ssize_t hooked_read(int fd, void *buf, size_t len, void *userdata) {
    const ssize_t n = ::read(fd, buf, len);
    if (n > 0) killpriv_of(userdata).saw_request(buf, static_cast<size_t>(n));
    return n;
}

ssize_t hooked_writev(int fd, struct iovec *iov, int count, void *userdata) {
    // INIT's reply: the out header, then fuse_init_out (libfuse's do_init).
    if (count == 2 && iov[0].iov_len == sizeof(fuse_out_header) &&
        iov[1].iov_len >= offsetof(fuse_init_out, flags) + sizeof(uint32_t)) {
        fuse_out_header out{};
        std::memcpy(&out, iov[0].iov_base, sizeof out);
        uint32_t flags = 0;
        auto *arg = static_cast<uint8_t *>(iov[1].iov_base);
        std::memcpy(&flags, arg + offsetof(fuse_init_out, flags), sizeof flags);
        if (out.error == 0) {
            const uint32_t wanted = killpriv_of(userdata).init_reply_flags(out.unique, flags);
            if (wanted != flags) {
                std::vector<uint8_t> copy(arg, arg + iov[1].iov_len);
                std::memcpy(copy.data() + offsetof(fuse_init_out, flags), &wanted, sizeof wanted);
                struct iovec replaced[2] = {iov[0], {copy.data(), copy.size()}};
                return ::writev(fd, replaced, 2);
            }
        }
    }
    return ::writev(fd, iov, count);
}

}  // namespace

void Killpriv::install(fuse_session *session) {
    static const fuse_custom_io io = {
        .writev = hooked_writev,
        .read = hooked_read,
        .splice_receive = nullptr,
        .splice_send = nullptr,
    };
    if (fuse_session_custom_io(session, &io, fuse_session_fd(session)) != 0)
        throw Error(EIO, "cannot install FUSE I/O hooks");
}

bool Killpriv::request_kills_suidgid() { return t_kills_suidgid; }

void Killpriv::saw_request(const void *data, size_t len) {
    const auto *buf = static_cast<const uint8_t *>(data);
    t_kills_suidgid = false;
    fuse_in_header in{};
    if (len < sizeof in) return;
    std::memcpy(&in, buf, sizeof in);
    switch (in.opcode) {
    case FUSE_INIT: {
        fuse_init_in init{};
        // Only the first four fields are in every kernel's INIT.
        if (len < sizeof in + offsetof(fuse_init_in, flags) + sizeof(uint32_t)) return;
        std::memcpy(&init, buf + sizeof in, std::min(sizeof init, len - sizeof in));
        offered_.store((init.flags & FUSE_HANDLE_KILLPRIV_V2) != 0);
        init_unique_.store(in.unique);
        return;
    }
    case FUSE_WRITE: {
        fuse_write_in w{};
        if (read_arg(buf, len, w)) t_kills_suidgid = (w.write_flags & FUSE_WRITE_KILL_SUIDGID) != 0;
        return;
    }
    case FUSE_SETATTR: {
        fuse_setattr_in s{};
        if (read_arg(buf, len, s)) t_kills_suidgid = (s.valid & FATTR_KILL_SUIDGID) != 0;
        return;
    }
    default:
        return;
    }
}

uint32_t Killpriv::init_reply_flags(uint64_t unique, uint32_t flags) {
    if (unique == 0 || unique != init_unique_.load() || !offered_.load() || !wanted_.load()) return flags;
    negotiated_.store(true);
    return flags | FUSE_HANDLE_KILLPRIV_V2;
}

}  // namespace cmkfs::fs
