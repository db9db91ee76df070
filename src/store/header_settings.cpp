#include "store/header_settings.h"

#include "format/layout.h"
#include "util/errors.h"

namespace cmkfs::store {

bool header_only_upgrade(uint32_t version) {
    return version >= 2 && version < format::kFormatVersion && format::kFormatVersion == format::kSharedStorageVersion;
}

void upgrade_header(Volume &volume, const format::VolumeKeys &keys) {
    format::VolumeHeader header = volume.header();
    header.format_version = format::kFormatVersion;
    header.shared_storage = false;
    volume.write_header(std::move(header), keys.header_mac());
}

bool set_shared_storage(Volume &volume, const format::VolumeKeys &keys, bool shared) {
    if (volume.header().format_version < format::kSharedStorageVersion)
        throw UsageError(volume.backing() + " is at format version " +
                         std::to_string(volume.header().format_version) + "; shared-storage mode needs format " +
                         std::to_string(format::kSharedStorageVersion) + " (run `cmkfs upgrade " + volume.backing() +
                         "` first)");
    if (volume.header().shared_storage == shared) return false;
    format::VolumeHeader header = volume.header();
    header.shared_storage = shared;
    volume.write_header(std::move(header), keys.header_mac());
    return true;
}

}  // namespace cmkfs::store
