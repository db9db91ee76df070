// The sealed value of a hard-link record (docs/FORMAT.md §3.1): u32be(links)
// sealed with the metadata key under the context "links:" || file id, so a
// record copied to another file fails. Pure: the xattr I/O is in
// store/link_record.cpp; this is the part that parses untrusted bytes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "crypto/secure_bytes.h"
#include "format/file_layout.h"

namespace cmkfs::format {

std::string seal_link_record(const crypto::MetaKey &key, const FileId &id, uint32_t links);
// nullopt when `sealed` does not authenticate for `id` or is not 4 bytes inside.
std::optional<uint32_t> open_link_record(const crypto::MetaKey &key, const FileId &id, std::string_view sealed);

}  // namespace cmkfs::format
