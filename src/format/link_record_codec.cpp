#include "format/link_record_codec.h"

#include "format/name_codec.h"

namespace cmkfs::format {

namespace {

// "links:" || file id: a record copied to another file fails.
std::string context_for(const FileId &id) {
    std::string context = "links:";
    context.append(reinterpret_cast<const char *>(id.data()), id.size());
    return context;
}

}  // namespace

std::string seal_link_record(const crypto::MetaKey &key, const FileId &id, uint32_t links) {
    const char plain[4] = {static_cast<char>(links >> 24), static_cast<char>(links >> 16),
                           static_cast<char>(links >> 8), static_cast<char>(links)};
    return seal_bytes(key, context_for(id), std::string_view(plain, 4));
}

std::optional<uint32_t> open_link_record(const crypto::MetaKey &key, const FileId &id, std::string_view sealed) {
    auto plain = open_bytes(key, context_for(id), sealed);
    if (!plain || plain->size() != 4) return std::nullopt;
    uint32_t links = 0;
    for (char c : *plain) links = links << 8 | static_cast<uint8_t>(c);
    return links;
}

}  // namespace cmkfs::format
