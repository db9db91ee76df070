// FUSE_HANDLE_KILLPRIV_V2, which libfuse 3.14 neither negotiates nor passes
// on: the daemon clears setuid/setgid itself when the kernel says a write or
// truncate must (the writer lacks CAP_FSETID), and in return the kernel
// marks inodes S_NOSEC and stops asking for security.capability before
// every write(2) -- one GETXATTR round trip per write otherwise, and one
// GETATTR before every chown.
//
// It sits on libfuse's custom I/O hooks (fuse_session_custom_io, same
// /dev/fuse fd): each request is looked at as it is read, on the thread that
// will then serve it, and the INIT reply gets the flag added when the kernel
// offered it and the daemon wants it. Nothing else is changed.
#pragma once

#define FUSE_USE_VERSION 312
#include <fuse_lowlevel.h>

#include <atomic>
#include <cstdint>

namespace cmkfs::fs {

class Killpriv {
public:
    // Installs the hooks on `session` (after fuse_session_mount). The
    // session's userdata must be the Filesystem owning this object.
    void install(fuse_session *session);
    // Called from the INIT handler: whether to take the flag if offered.
    void want(bool on) { wanted_.store(on); }
    // Whether the kernel agreed (known once INIT was answered).
    bool negotiated() const { return negotiated_.load(); }

    // For the request the calling thread is serving: the kernel asks that
    // setuid (and setgid, if group-executable) be cleared first (a WRITE
    // with FUSE_WRITE_KILL_SUIDGID, a SETATTR with FATTR_KILL_SUIDGID).
    static bool request_kills_suidgid();

    // The hooks' work, on raw protocol bytes (public for the unit test).
    void saw_request(const void *buf, size_t len);
    // Returns the flags the INIT reply should carry instead of `flags`.
    uint32_t init_reply_flags(uint64_t unique, uint32_t flags);

private:
    std::atomic<bool> wanted_{false};
    std::atomic<bool> offered_{false};
    std::atomic<bool> negotiated_{false};
    std::atomic<uint64_t> init_unique_{0};
};

}  // namespace cmkfs::fs
