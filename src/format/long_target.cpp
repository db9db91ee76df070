#include "format/long_target.h"

#include <algorithm>
#include <stdexcept>

#include "crypto/encoding.h"
#include "format/name_codec.h"

namespace cmkfs::format {

namespace {

constexpr std::string_view kContext = "symlink-long";
constexpr size_t kIdTextLength = 22;  // base64url of 16 bytes, unpadded

std::string aad(const LinkId &id, const Place &place) {
    if (place.is_root()) throw std::invalid_argument("a symlink is never the root");
    if (place.name.size() > 0xffff) throw std::invalid_argument("name too long for a place");
    std::string out(kContext);
    out.append(reinterpret_cast<const char *>(id.data()), id.size());
    out.append(reinterpret_cast<const char *>(place.parent->data()), place.parent->size());
    out.push_back(static_cast<char>(place.name.size() >> 8));
    out.push_back(static_cast<char>(place.name.size() & 0xff));
    out.append(place.name);
    return out;
}

}  // namespace

std::string long_target_marker(const LongTargetRef &ref) {
    return long_target_sidecar_name(ref.id) + "." + std::to_string(ref.length);
}

std::optional<LongTargetRef> parse_long_target_marker(std::string_view text) {
    if (text.size() < kMinMarkerLength || text.size() > kMaxMarkerLength || !text.starts_with(kLongTargetPrefix))
        return std::nullopt;
    text.remove_prefix(kLongTargetPrefix.size());
    if (text[kIdTextLength] != '.') return std::nullopt;
    // base64url_decode accepts only the canonical form, so one id has one marker.
    const auto id = crypto::base64url_decode(text.substr(0, kIdTextLength));
    if (!id || id->size() != kLinkIdSize) return std::nullopt;
    const std::string_view digits = text.substr(kIdTextLength + 1);
    if (digits.empty() || digits.size() > 4 || digits.front() == '0') return std::nullopt;
    size_t length = 0;
    for (const char c : digits) {
        if (c < '0' || c > '9') return std::nullopt;
        length = length * 10 + static_cast<size_t>(c - '0');
    }
    if (length > kMaxSymlinkTarget) return std::nullopt;
    LongTargetRef ref;
    std::copy(id->begin(), id->end(), ref.id.begin());
    ref.length = length;
    return ref;
}

std::string long_target_sidecar_name(const LinkId &id) {
    return std::string(kLongTargetPrefix) + crypto::base64url_encode(id);
}

bool is_long_target_sidecar(std::string_view name) {
    return name.size() == kLongTargetPrefix.size() + kIdTextLength && name.starts_with(kLongTargetPrefix);
}

std::string seal_long_target(const crypto::MetaKey &key, const LinkId &id, const Place &place,
                             std::string_view target) {
    return seal_bytes(key, aad(id, place), target);
}

std::optional<std::string> open_long_target(const crypto::MetaKey &key, const LinkId &id, const Place &place,
                                            std::string_view sealed) {
    return open_bytes(key, aad(id, place), sealed);
}

}  // namespace cmkfs::format
