// The registry credentials kept in a store (format/credentials_codec.h): read
// and replaced under the store's volume key, which is unwrapped through the
// provider for each use, so revoking the customer-managed key revokes the
// credentials at once.
#pragma once

#include <functional>

#include "format/credentials_codec.h"
#include "format/key_schedule.h"
#include "keys/key_provider.h"
#include "store/volume.h"

namespace cmkfs::store {

class StoreCredentials {
public:
    // Unwraps the volume key (ProviderError when access is revoked or the
    // provider is unavailable; IntegrityError for a bad header).
    StoreCredentials(const Volume &volume, keys::KeyProvider &provider);

    // Every credential; none when the store has no credentials file yet.
    format::RegistryCredentials read() const;
    // Read, change, write back crash-safely, under an exclusive lock so that
    // concurrent helpers do not lose each other's changes.
    void update(const std::function<void(format::RegistryCredentials &)> &change);

private:
    format::RegistryCredentials read_unlocked() const;

    const Volume &volume_;
    format::VolumeKeys keys_;
};

}  // namespace cmkfs::store
