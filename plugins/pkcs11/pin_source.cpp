#include "pin_source.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "ck_error.h"
#include "errno_text.h"

namespace cmkfs::p11 {

namespace {

constexpr size_t kMaxPin = 256;

// Drops trailing CR/LF, so `echo PIN > file` works.
void trim_newlines(sdk::SecretBuffer &pin) {
    size_t n = pin.size();
    while (n > 0 && (pin.data()[n - 1] == '\n' || pin.data()[n - 1] == '\r')) --n;
    pin.resize_down(n);
}

class Fd {
public:
    explicit Fd(int fd) : fd_(fd) {}
    ~Fd() {
        if (fd_ >= 0) ::close(fd_);
    }
    Fd(const Fd &) = delete;
    Fd &operator=(const Fd &) = delete;
    int get() const { return fd_; }

private:
    int fd_;
};

sdk::SecretBuffer read_pin_file(const cmkfs_host &host, const std::string &path) {
    Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
    if (fd.get() < 0)
        throw P11Error(CMKFS_ERR_DENIED, "cannot read the PIN file " + path + ": " + cmkfs::plugin::errno_text(errno));
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode))
        throw P11Error(CMKFS_ERR_INVALID, "PIN file " + path + " is not a regular file");
    if (st.st_mode & (S_IRWXG | S_IRWXO))
        throw P11Error(CMKFS_ERR_INVALID, "PIN file " + path + " is accessible by group or others (chmod 600 it)");
    sdk::SecretBuffer pin(host, kMaxPin + 2);
    size_t got = 0;
    for (;;) {
        ssize_t n = ::read(fd.get(), pin.data() + got, pin.size() - got);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) throw P11Error(CMKFS_ERR_DENIED, "cannot read the PIN file " + path + ": " + cmkfs::plugin::errno_text(errno));
        if (n == 0) break;
        got += static_cast<size_t>(n);
        if (got == pin.size()) throw P11Error(CMKFS_ERR_INVALID, "PIN file " + path + " is too long");
    }
    pin.resize_down(got);
    trim_newlines(pin);
    return pin;
}

}  // namespace

PinSource PinSource::file(const std::string &path) {
    if (path.empty() || path[0] != '/') throw P11Error(CMKFS_ERR_INVALID, "option pin_file= must be an absolute path");
    return PinSource(Kind::file, path);
}

PinSource PinSource::env(const std::string &name) {
    if (name.empty()) throw P11Error(CMKFS_ERR_INVALID, "option pin_env= needs a variable name");
    return PinSource(Kind::env, name);
}

std::string PinSource::describe() const {
    switch (kind_) {
        case Kind::file: return "pin_file=" + where_;
        case Kind::env: return "pin_env=" + where_;
        case Kind::none: break;
    }
    return "no PIN configured";
}

sdk::SecretBuffer PinSource::read(const cmkfs_host &host) const {
    sdk::SecretBuffer pin(host, 0);
    if (kind_ == Kind::none)
        throw P11Error(CMKFS_ERR_DENIED, "the token needs a login but no PIN is configured (option pin_file= or pin_env=)");
    if (kind_ == Kind::file) {
        pin = read_pin_file(host, where_);
    } else {
        // Neither cmkfs nor any provider calls setenv, so reading the
        // environment from several threads is safe.
        const char *value = std::getenv(where_.c_str());  // NOLINT(concurrency-mt-unsafe)
        if (value == nullptr) throw P11Error(CMKFS_ERR_DENIED, "PIN variable " + where_ + " is not set");
        const size_t n = std::strlen(value);
        if (n > kMaxPin) throw P11Error(CMKFS_ERR_INVALID, "PIN variable " + where_ + " is too long");
        pin = sdk::SecretBuffer(host, n);
        std::memcpy(pin.data(), value, n);
        trim_newlines(pin);
    }
    if (pin.size() == 0) throw P11Error(CMKFS_ERR_INVALID, "the PIN from " + describe() + " is empty");
    return pin;
}

}  // namespace cmkfs::p11
