#include "format/block_codec.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <stdexcept>

#include "crypto/aead.h"
#include "crypto/random.h"

namespace cmkfs::format {

namespace {
// Format 1: file id || u64be(index) (24 bytes); format 2 adds u8(last) (25).
struct BlockAad {
    std::array<uint8_t, kFileIdSize + 9> bytes{};
    size_t size = 0;
    std::span<const uint8_t> span() const { return std::span(bytes.data(), size); }
};

BlockAad make_aad(const FileId &id, uint64_t index, bool last, uint32_t version) {
    BlockAad aad;
    std::copy(id.begin(), id.end(), aad.bytes.begin());
    for (int i = 0; i < 8; ++i) aad.bytes[kFileIdSize + i] = static_cast<uint8_t>(index >> (56 - 8 * i));
    aad.size = kFileIdSize + 8;
    if (version >= 2) aad.bytes[aad.size++] = last ? 1 : 0;
    return aad;
}

bool all_zero(std::span<const uint8_t> data) {
    return std::all_of(data.begin(), data.end(), [](uint8_t b) { return b == 0; });
}
}  // namespace

void BlockCodec::draw_nonces(size_t blocks) {
    nonces_.resize(blocks * kNonceSize);
    next_nonce_ = 0;
    crypto::random_bytes(nonces_);
}

void BlockCodec::seal(uint64_t index, bool last, std::span<const uint8_t> plain, std::span<uint8_t> out) {
    if (out.size() != plain.size() + kBlockOverhead || plain.size() > kBlockPlainSize)
        throw std::invalid_argument("BlockCodec::seal: bad sizes");
    auto nonce = out.first(kNonceSize);
    if (next_nonce_ + kNonceSize <= nonces_.size()) {
        std::memcpy(nonce.data(), nonces_.data() + next_nonce_, kNonceSize);
        next_nonce_ += kNonceSize;
    } else {
        crypto::random_bytes(nonce);
    }
    const auto aad = make_aad(id_, index, last, version_);
    cipher_.seal(nonce, aad.span(), plain, out.subspan(kNonceSize, plain.size()), out.last(kTagSize));
}

BlockOpen BlockCodec::open(uint64_t index, bool last, std::span<const uint8_t> cipher, std::span<uint8_t> out) {
    if (cipher.size() != out.size() + kBlockOverhead || out.size() > kBlockPlainSize)
        throw std::invalid_argument("BlockCodec::open: bad sizes");
    const auto aad = make_aad(id_, index, last, version_);
    if (cipher_.open(cipher.first(kNonceSize), aad.span(),
                     cipher.subspan(kNonceSize, out.size()), cipher.last(kTagSize), out))
        return BlockOpen::ok;
    // Format 2: a block before the final one may still be sealed as final when
    // a crash lost the re-seal of an append (the new block reached the disk,
    // the re-sealed old one did not). Accepting it keeps durable data
    // readable and detects no less: the final block must be sealed as final,
    // so a cut or an extension still fails there. Only after a failure.
    if (version_ >= 2 && !last) {
        const auto as_final = make_aad(id_, index, true, version_);
        if (cipher_.open(cipher.first(kNonceSize), as_final.span(), cipher.subspan(kNonceSize, out.size()),
                         cipher.last(kTagSize), out))
            return BlockOpen::ok;
    }
    // Only checked after a failed open: holes are rare and the check costs a scan.
    if ((!last || final_block_may_be_hole(version_)) && all_zero(cipher)) {
        std::fill(out.begin(), out.end(), 0);
        return BlockOpen::hole;
    }
    return BlockOpen::bad;
}

}  // namespace cmkfs::format
