#include "store/credentials.h"

#include <fcntl.h>
#include <sys/file.h>

#include "util/errors.h"
#include "util/file_io.h"

namespace cmkfs::store {

namespace {

// flock on a second descriptor of the backing root: the lock is held by this
// open file description only, and no extra file appears in the store.
class RootLock {
public:
    RootLock(const std::string &backing, int operation) : fd_(open_dir(backing)) {
        while (::flock(fd_.get(), operation) != 0)
            if (errno != EINTR) throw_errno("lock " + backing);
    }

private:
    UniqueFd fd_;
};

}  // namespace

StoreCredentials::StoreCredentials(const Volume &volume, keys::KeyProvider &provider)
    : volume_(volume), keys_(volume.unlock(provider)) {}

format::RegistryCredentials StoreCredentials::read_unlocked() const {
    const std::string name(format::kCredentialsFileName);
    std::vector<uint8_t> sealed;
    try {
        sealed = read_file_at(volume_.root_fd(), name);
    } catch (const SystemError &e) {
        if (e.error_number() == ENOENT) return {};
        throw;
    }
    return format::open_credentials(keys_.credentials_key(), volume_.header().volume_id, sealed);
}

format::RegistryCredentials StoreCredentials::read() const {
    RootLock lock(volume_.backing(), LOCK_SH);
    return read_unlocked();
}

void StoreCredentials::update(const std::function<void(format::RegistryCredentials &)> &change) {
    RootLock lock(volume_.backing(), LOCK_EX);
    format::RegistryCredentials credentials = read_unlocked();
    change(credentials);
    const auto sealed = format::seal_credentials(keys_.credentials_key(), volume_.header().volume_id, credentials);
    write_file_atomic(volume_.root_fd(), std::string(format::kCredentialsFileName), sealed, 0600);
}

}  // namespace cmkfs::store
