// A store on a backing directory: creating one (init), and opening one:
// reading its header, unwrapping the volume key through the provider and
// verifying the header under it.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "format/key_schedule.h"
#include "format/volume_header.h"
#include "keys/key_provider.h"
#include "util/file_io.h"
#include "util/unique_fd.h"

namespace cmkfs::store {

struct InitOptions {
    std::string provider;                               // name or absolute path
    std::map<std::string, std::string> provider_options;
    std::string key_id;
    std::string identity;
    bool plaintext_names = false;
};

// Creates a new store in `backing` (which must exist and be empty). The
// volume key is generated here, wrapped, checked by unwrapping it again, and
// wiped. Returns the header written.
format::VolumeHeader init_volume(const std::string &backing, keys::KeyProvider &provider,
                                 const InitOptions &options);

class Volume {
public:
    // Opens the backing directory and parses its header (not yet verified).
    // Throws Error(ENOENT/ENOTDIR) or IntegrityError with a one-line reason.
    explicit Volume(const std::string &backing);

    const std::string &backing() const { return backing_; }
    int root_fd() const { return root_.get(); }
    const format::VolumeHeader &header() const { return header_; }
    std::string header_path() const;

    // Unwraps the volume key and verifies the header with it. Throws
    // ProviderError (denied, unavailable, …) or IntegrityError.
    format::VolumeKeys unlock(keys::KeyProvider &provider) const;

    // Re-reads the header from disk (after a rotation by another process).
    void reload_header();

    // Replaces the header crash-safely (temp, fsync, rename, fsync dir);
    // before_step runs before each of those steps (fault injection).
    void write_header(format::VolumeHeader header, const crypto::HeaderMacKey &mac_key,
                      const AtomicWriteStepHook &before_step = {});

private:
    std::string backing_;
    UniqueFd root_;
    format::VolumeHeader header_;
};

// Loads the provider named by a header, with the header's options and any
// extra options (config) overriding them.
std::unique_ptr<keys::KeyProvider> load_provider_for(const format::VolumeHeader &header,
                                                     const std::map<std::string, std::string> &extra = {},
                                                     const std::string &provider_override = {});

}  // namespace cmkfs::store
