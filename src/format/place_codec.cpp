#include "format/place_codec.h"

#include <algorithm>
#include <stdexcept>

#include "crypto/kdf.h"
#include "format/layout.h"

namespace cmkfs::format {

namespace {

constexpr std::string_view kSymlinkContext = "symlink";

void append_name(std::vector<uint8_t> &out, const Place &place) {
    if (place.name.size() > 0xffff) throw std::invalid_argument("name too long for a place");
    out.insert(out.end(), place.parent->begin(), place.parent->end());
    out.push_back(static_cast<uint8_t>(place.name.size() >> 8));
    out.push_back(static_cast<uint8_t>(place.name.size() & 0xff));
    out.insert(out.end(), place.name.begin(), place.name.end());
}

crypto::Digest dir_id_tag(const crypto::DirIdKey &key, const DirId &id, const Place &place) {
    std::vector<uint8_t> msg(id.begin(), id.end());
    if (place.is_root()) {
        msg.push_back(0x00);
    } else {
        msg.push_back(0x01);
        append_name(msg, place);
    }
    return crypto::hmac_sha256(key.bytes(), msg);
}

}  // namespace

std::vector<uint8_t> symlink_aad(uint32_t format_version, const Place &place) {
    std::vector<uint8_t> aad(kSymlinkContext.begin(), kSymlinkContext.end());
    if (!binds_place(format_version)) return aad;
    if (place.is_root()) throw std::invalid_argument("a symlink is never the root");
    append_name(aad, place);
    return aad;
}

std::string seal_symlink_target(uint32_t format_version, const crypto::MetaKey &key, const Place &place,
                                std::string_view target) {
    const auto aad = symlink_aad(format_version, place);
    return NameCodec::seal_text(key, std::string_view(reinterpret_cast<const char *>(aad.data()), aad.size()),
                                target);
}

uint64_t symlink_target_length(uint64_t sealed_length) {
    const uint64_t raw = sealed_length * 3 / 4;
    constexpr uint64_t overhead = kNonceSize + kTagSize;
    return raw > overhead ? raw - overhead : 0;
}

std::optional<std::string> open_symlink_target(uint32_t format_version, const crypto::MetaKey &key,
                                               const Place &place, std::string_view sealed) {
    const auto aad = symlink_aad(format_version, place);
    return NameCodec::open_text(key, std::string_view(reinterpret_cast<const char *>(aad.data()), aad.size()),
                                sealed);
}

std::vector<uint8_t> encode_dir_id_file(uint32_t format_version, const crypto::DirIdKey &key, const DirId &id,
                                        const Place &place) {
    std::vector<uint8_t> out(id.begin(), id.end());
    if (!binds_place(format_version)) return out;
    const auto tag = dir_id_tag(key, id, place);
    out.insert(out.end(), tag.begin(), tag.end());
    return out;
}

std::optional<DirId> decode_dir_id_file(uint32_t format_version, const crypto::DirIdKey &key,
                                        std::span<const uint8_t> file, const Place &place) {
    const size_t expected = binds_place(format_version) ? kDirIdFileSizeV2 : kDirIdSize;
    if (file.size() != expected) return std::nullopt;
    DirId id{};
    std::copy_n(file.begin(), kDirIdSize, id.begin());
    if (!binds_place(format_version)) return id;
    const auto tag = dir_id_tag(key, id, place);
    if (!crypto::equal_ct(tag, file.subspan(kDirIdSize))) return std::nullopt;
    return id;
}

std::optional<DirId> unverified_dir_id(std::span<const uint8_t> file) {
    if (file.size() != kDirIdSize && file.size() != kDirIdFileSizeV2) return std::nullopt;
    DirId id{};
    std::copy_n(file.begin(), kDirIdSize, id.begin());
    return id;
}

}  // namespace cmkfs::format
