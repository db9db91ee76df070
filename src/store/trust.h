// Trust anchors outside the backing directory. The volume header is attacker
// input until authenticated, and it can only be authenticated with the key it
// names, so nothing in it may choose the provider, its options (programs,
// URLs, files), the key id or the identity. Those come from the store's
// binding (config/binding.h); the header is compared with it, field by field,
// and after every unwrap the volume key must reproduce the binding's key
// commitment, which defeats a header wrapping some other key.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "config/binding.h"
#include "crypto/secure_bytes.h"
#include "format/volume_header.h"
#include "keys/key_provider.h"
#include "store/volume.h"
#include "util/errors.h"

namespace cmkfs::store {

// The header and the binding disagree (or there is no binding): exit 5.
class TrustError : public IntegrityError {
public:
    using IntegrityError::IntegrityError;
};

// hex(HMAC-SHA256(key = volume key, data = "cmkfs key-commitment" || volume_id)).
std::string key_commitment(const crypto::VolumeKey &volume_key, const std::string &volume_id);

// Throws TrustError (exit 5) when the volume key reproduces neither `expected`
// nor `pending` (a re-encryption's new key; empty when none runs).
void check_key_commitment(const crypto::VolumeKey &volume_key, const std::string &volume_id,
                          const std::string &expected, const std::string &pending, const std::string &origin);

// "field: header says X, binding says Y" for each field that differs (the
// versioned key id only when it is not explained by a rotation; see
// resolve_versioned_key_id). Empty when they agree.
std::vector<std::string> header_binding_differences(const format::VolumeHeader &header,
                                                    const config::VolumeBinding &binding);

// Throws TrustError listing header_binding_differences, when there are any.
void require_header_matches(const format::VolumeHeader &header, const config::VolumeBinding &binding,
                            const std::string &origin);

// As require_header_matches, but a header with the settings of the binding's
// interrupted rotation (binding.rotating) is accepted too: the binding is then
// brought up to date (saved) before returning.
void accept_header(const format::VolumeHeader &header, config::VolumeBinding &binding, const std::string &origin);

// True when versioned is key_id + "/" + one more path segment: how the
// local and azure-keyvault providers name a version of a key.
bool is_version_of(const std::string &versioned, const std::string &key_id);

// The versioned key id to unwrap with. The header's is used only when it is
// the binding's, or, for a version-less key id, a version of that key
// (is_version_of), or what the provider (loaded from the binding) says is the
// key's current version: another host followed a rotation. Anything else is
// a TrustError.
std::string resolve_versioned_key_id(const format::VolumeHeader &header, const config::VolumeBinding &binding,
                                     keys::KeyProvider &provider);

// The provider a binding names, with extra (trusted config) options over its own.
std::unique_ptr<keys::KeyProvider> load_bound_provider(const config::VolumeBinding &binding,
                                                       const std::map<std::string, std::string> &extra = {},
                                                       const std::string &provider_override = {});

// The binding a header describes (for init, and for `cmkfs trust --yes`).
config::VolumeBinding binding_from_header(const format::VolumeHeader &header, const std::string &commitment);

// What a header asks for, one "field: 'value'" line each (values quoted and
// escaped: they are attacker input), for an operator to review.
std::vector<std::string> header_requests(const format::VolumeHeader &header);

// The command an operator runs to trust a store found without a binding.
std::string trust_hint(const std::string &backing);

struct TrustedVolume {
    std::unique_ptr<Volume> volume;
    std::unique_ptr<keys::KeyProvider> provider;
};

// Arms an opened store the trusted way: its binding must exist (else
// TrustError with trust_hint), the header must match it, the provider comes
// from it (config options may add to it), and the volume is armed with the key
// commitment and keeps the binding in step with its own rotations. Returns the
// provider.
std::unique_ptr<keys::KeyProvider> bind_volume(Volume &volume, const std::map<std::string, std::string> &extra = {},
                                               const std::string &provider_override = {});

// Volume + bind_volume.
TrustedVolume open_trusted_volume(const std::string &backing, const std::map<std::string, std::string> &extra = {},
                                  const std::string &provider_override = {});

// A trust anchor that checks `binding`'s commitment and records rotations in it.
TrustAnchor anchor_for(const config::VolumeBinding &binding);

}  // namespace cmkfs::store
