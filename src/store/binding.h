// What an operation needs to bind entries to their place: the store's format
// version (a version-1 store keeps reading and writing version 1) and the
// volume's keys. Held by reference for the length of one operation.
#pragma once

#include <cstdint>

#include "format/key_schedule.h"
#include "format/place_codec.h"

namespace cmkfs::store {

struct Binding {
    uint32_t format_version;
    const format::VolumeKeys &keys;

    bool binds_place() const { return format::binds_place(format_version); }
};

}  // namespace cmkfs::store
