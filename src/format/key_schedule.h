// Every key cmkfs uses is derived from the one random volume key with
// HKDF-SHA256 under a distinct label, so no key is ever used for two purposes.
#pragma once

#include "crypto/secure_bytes.h"
#include "format/file_layout.h"

namespace cmkfs::format {

inline constexpr size_t kVolumeKeySize = 32;

class VolumeKeys {
public:
    explicit VolumeKeys(crypto::VolumeKey volume_key);

    const crypto::HeaderMacKey &header_mac() const { return header_mac_; }
    const crypto::NameKey &names() const { return names_; }
    const crypto::MetaKey &meta() const { return meta_; }
    // HKDF(volume key, "cmkfs v2 directory-id"): authenticates directory ids (format v2).
    const crypto::DirIdKey &dir_ids() const { return dir_ids_; }
    // HKDF(volume key, info = "cmkfs v1 content" || file id).
    crypto::ContentKey content_key(const FileId &id) const;
    // HKDF(volume key, info = "cmkfs v1 credentials"): the store's credentials file.
    crypto::CredentialsKey credentials_key() const;
    const crypto::VolumeKey &volume_key() const { return volume_key_; }

private:
    crypto::VolumeKey volume_key_;
    crypto::HeaderMacKey header_mac_;
    crypto::NameKey names_;
    crypto::MetaKey meta_;
    crypto::DirIdKey dir_ids_;
};

crypto::VolumeKey generate_volume_key();

}  // namespace cmkfs::format
