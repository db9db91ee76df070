#include "format/key_schedule.h"

#include <stdexcept>
#include <vector>

#include "crypto/kdf.h"
#include "crypto/random.h"

namespace cmkfs::format {

namespace {
crypto::SecureBytes derive(const crypto::VolumeKey &vk, std::string_view label, size_t size) {
    return crypto::hkdf_sha256(vk.bytes(), {}, crypto::as_bytes(label), size);
}
}  // namespace

VolumeKeys::VolumeKeys(crypto::VolumeKey volume_key)
    : volume_key_(std::move(volume_key)),
      header_mac_(derive(volume_key_, "cmkfs v1 volume-header-mac", 32)),
      names_(derive(volume_key_, "cmkfs v1 names", 64)),
      meta_(derive(volume_key_, "cmkfs v1 metadata", 32)),
      dir_ids_(derive(volume_key_, "cmkfs v2 directory-id", 32)) {
    if (volume_key_.size() != kVolumeKeySize) throw std::invalid_argument("volume key must be 32 bytes");
}

crypto::ContentKey VolumeKeys::content_key(const FileId &id) const {
    constexpr std::string_view label = "cmkfs v1 content";
    std::vector<uint8_t> info(label.begin(), label.end());
    info.insert(info.end(), id.begin(), id.end());
    return crypto::ContentKey(crypto::hkdf_sha256(volume_key_.bytes(), {}, info, 32));
}

crypto::CredentialsKey VolumeKeys::credentials_key() const {
    return crypto::CredentialsKey(derive(volume_key_, "cmkfs v1 credentials", 32));
}

crypto::VolumeKey generate_volume_key() {
    crypto::SecureBytes bytes(kVolumeKeySize);
    crypto::random_bytes(bytes.span());
    return crypto::VolumeKey(std::move(bytes));
}

}  // namespace cmkfs::format
