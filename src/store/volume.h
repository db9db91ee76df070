// A store on a backing directory: creating one (init), and opening one:
// reading its header, unwrapping the volume key through the provider and
// verifying the header under it.
#pragma once

#include <functional>
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
    bool shared_storage = false;
};

struct InitResult {
    format::VolumeHeader header;
    std::string key_commitment;  // for the store's trust binding (store/trust.h)
};

// Creates a new store in `backing` (which must exist and be empty; its mode
// becomes 0700: the store's names and sizes are nobody else's business). The
// volume key is generated here, wrapped, checked by unwrapping it again, and
// wiped. Returns the header written and the key commitment.
InitResult init_volume(const std::string &backing, keys::KeyProvider &provider, const InitOptions &options);

// What this host trusts about a store (from its binding, outside the backing
// directory): the key commitment every unwrap must reproduce, and where a
// rotation records the header's new key settings.
struct TrustAnchor {
    std::string key_commitment;
    // While a re-encryption runs: the commitment of the new volume key, which
    // unwraps also accept (the header is swapped before the journal goes).
    std::string pending_key_commitment;
    // Records the header's key settings and the anchor in the binding; called
    // after a header this process wrote is on disk, and as a key change
    // begins and ends.
    std::function<void(const format::VolumeHeader &, const TrustAnchor &)> record;
    // Called just before a header this process wrote replaces the old one,
    // with the new header: the binding then trusts both until record().
    std::function<void(const format::VolumeHeader &)> prepare;
    // Throws TrustError when a header read again from disk (reload_header)
    // does not match the binding.
    std::function<void(const format::VolumeHeader &)> check;
};

class Volume {
public:
    // Opens the backing directory and parses its header (not yet verified).
    // Throws Error(ENOENT/ENOTDIR) or IntegrityError with a one-line reason.
    explicit Volume(const std::string &backing);

    const std::string &backing() const { return backing_; }
    int root_fd() const { return root_.get(); }
    const format::VolumeHeader &header() const { return header_; }
    std::string header_path() const;

    // Unwraps the volume key and verifies the header with it; with a trust
    // anchor, also that the key is the one the binding commits to. Throws
    // ProviderError (denied, unavailable, …) or IntegrityError.
    format::VolumeKeys unlock(keys::KeyProvider &provider) const;

    // Arms the key-commitment check and the binding update on rotation.
    void set_trust_anchor(TrustAnchor anchor) { anchor_ = std::move(anchor); }
    bool trusted() const { return !anchor_.key_commitment.empty(); }

    // Re-encryption (a new volume key). begin_key_change records the new
    // key's commitment as pending (fresh), or, resuming, requires the
    // journal's key to be the one recorded when it began (TrustError
    // otherwise: a journal is backing-directory input too).
    // commit_key_change makes the pending commitment the store's.
    void begin_key_change(const crypto::VolumeKey &new_key, bool fresh);
    void commit_key_change();

    // Re-reads the header from disk (after a rotation by another process);
    // with a trust anchor, it must still match the binding.
    void reload_header();

    // Shared storage: another host may have rotated the key (re-wrapped the
    // same volume key and replaced the header). Reads the header again
    // (bounded, untrusted); when it changed, accepts it only if nothing but
    // the key settings changed, the provider unwraps it to the volume key the
    // binding commits to, and its MAC verifies under that key; then this
    // host's binding records it (prepare, record) and it becomes header().
    // Returns whether it changed. Throws TrustError / IntegrityError (the
    // header stays as it was), ProviderError.
    bool follow_header(keys::KeyProvider &provider);

    // Replaces the header crash-safely (temp, fsync, rename, fsync dir);
    // before_step runs before each of those steps (fault injection).
    void write_header(format::VolumeHeader header, const crypto::HeaderMacKey &mac_key,
                      const AtomicWriteStepHook &before_step = {});

private:
    std::string backing_;
    UniqueFd root_;
    format::VolumeHeader header_;
    TrustAnchor anchor_;
};

}  // namespace cmkfs::store
