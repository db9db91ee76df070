#include "format/file_layout.h"

#include <algorithm>

#include "crypto/random.h"

namespace cmkfs::format {

namespace {
constexpr uint16_t kFileVersion = 1;
}

std::array<uint8_t, kFileHeaderSize> FileHeader::encode() const {
    std::array<uint8_t, kFileHeaderSize> out{};
    std::copy(std::begin(kFileMagic), std::end(kFileMagic), out.begin());
    out[4] = static_cast<uint8_t>(kFileVersion >> 8);
    out[5] = static_cast<uint8_t>(kFileVersion & 0xff);
    std::copy(id.begin(), id.end(), out.begin() + 8);
    return out;
}

std::optional<FileHeader> FileHeader::decode(std::span<const uint8_t> bytes) {
    if (bytes.size() < kFileHeaderSize) return std::nullopt;
    if (!std::equal(std::begin(kFileMagic), std::end(kFileMagic), bytes.begin())) return std::nullopt;
    uint16_t version = static_cast<uint16_t>(bytes[4] << 8 | bytes[5]);
    if (version != kFileVersion) return std::nullopt;
    FileHeader h;
    std::copy(bytes.begin() + 8, bytes.begin() + 8 + kFileIdSize, h.id.begin());
    return h;
}

FileHeader FileHeader::random() {
    FileHeader h;
    crypto::random_bytes(h.id);
    return h;
}

uint64_t cipher_size_for(uint64_t plain_size) {
    if (plain_size == 0) return 0;
    uint64_t full = plain_size / kBlockPlainSize;
    uint64_t rest = plain_size % kBlockPlainSize;
    return kFileHeaderSize + full * kBlockCipherSize + (rest ? rest + kBlockOverhead : 0);
}

PlainSize plain_size_for(uint64_t cipher_size) {
    if (cipher_size == 0) return {};
    if (cipher_size < kFileHeaderSize) return {0, true};
    uint64_t body = cipher_size - kFileHeaderSize;
    uint64_t full = body / kBlockCipherSize;
    uint64_t rest = body % kBlockCipherSize;
    if (rest == 0) return {full * kBlockPlainSize, false};
    if (rest <= kBlockOverhead) return {full * kBlockPlainSize, true};
    return {full * kBlockPlainSize + rest - kBlockOverhead, false};
}

}  // namespace cmkfs::format
