#include "format/block_codec.h"

#include <algorithm>
#include <array>
#include <stdexcept>

#include "crypto/aead.h"
#include "crypto/random.h"

namespace cmkfs::format {

namespace {
std::array<uint8_t, kFileIdSize + 8> make_aad(const FileId &id, uint64_t index) {
    std::array<uint8_t, kFileIdSize + 8> aad{};
    std::copy(id.begin(), id.end(), aad.begin());
    for (int i = 0; i < 8; ++i) aad[kFileIdSize + i] = static_cast<uint8_t>(index >> (56 - 8 * i));
    return aad;
}

bool all_zero(std::span<const uint8_t> data) {
    return std::all_of(data.begin(), data.end(), [](uint8_t b) { return b == 0; });
}
}  // namespace

void BlockCodec::seal(uint64_t index, std::span<const uint8_t> plain, std::span<uint8_t> out) {
    if (out.size() != plain.size() + kBlockOverhead || plain.size() > kBlockPlainSize)
        throw std::invalid_argument("BlockCodec::seal: bad sizes");
    auto nonce = out.first(kNonceSize);
    crypto::random_bytes(nonce);
    auto aad = make_aad(id_, index);
    cipher_.seal(nonce, aad, plain, out.subspan(kNonceSize, plain.size()), out.last(kTagSize));
}

BlockOpen BlockCodec::open(uint64_t index, std::span<const uint8_t> cipher, std::span<uint8_t> out) {
    if (cipher.size() != out.size() + kBlockOverhead || out.size() > kBlockPlainSize)
        throw std::invalid_argument("BlockCodec::open: bad sizes");
    auto aad = make_aad(id_, index);
    if (cipher_.open(cipher.first(kNonceSize), aad,
                     cipher.subspan(kNonceSize, out.size()), cipher.last(kTagSize), out))
        return BlockOpen::ok;
    // Only checked after a failed open: holes are rare and the check costs a scan.
    if (all_zero(cipher)) {
        std::fill(out.begin(), out.end(), 0);
        return BlockOpen::hole;
    }
    return BlockOpen::bad;
}

}  // namespace cmkfs::format
