// Errors carried as exceptions through the core; the FUSE adapter turns them
// into errno in exactly one place (fs/op_guard.h).
#pragma once

#include <cerrno>
#include <stdexcept>
#include <string>

namespace cmkfs {

// Base: an error with the errno a filesystem caller should see.
class Error : public std::runtime_error {
public:
    Error(int err, const std::string &what) : std::runtime_error(what), errno_(err) {}
    int error_number() const noexcept { return errno_; }

private:
    int errno_;
};

// strerror's text, thread-safely (std::strerror shares one static buffer).
std::string errno_text(int err);

// A failed system call; message is "<context>: <strerror>".
class SystemError : public Error {
public:
    SystemError(int err, const std::string &context);
};

// Throws SystemError with the current errno.
[[noreturn]] void throw_errno(const std::string &context);

// Ciphertext, a header or a name failed to authenticate, or is malformed.
// Always EIO. The message names the file (backing path) and the block.
class IntegrityError : public Error {
public:
    explicit IntegrityError(const std::string &what) : Error(EIO, what) {}
};

// The volume is locked (key revoked or emergency lock): EACCES.
class LockedError : public Error {
public:
    explicit LockedError(const std::string &what) : Error(EACCES, what) {}
};

// Invalid input from the user (CLI, config): not a filesystem error.
class UsageError : public Error {
public:
    explicit UsageError(const std::string &what) : Error(EINVAL, what) {}
};

}  // namespace cmkfs
