// The sealed blocks of a backing file, visited data region by data region
// (lseek SEEK_DATA/SEEK_HOLE), so that the holes of a sparse file are skipped
// instead of read: a hole reads as zeros, and an all-zero block is a hole
// (FORMAT.md §3), so skipping them changes no result.
#pragma once

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <span>
#include <vector>

#include "format/file_layout.h"
#include "util/errors.h"
#include "util/file_io.h"

namespace cmkfs::store {

inline constexpr uint64_t kSealedBlocksChunk = 64;  // blocks read per pread

class SealedBlocks {
public:
    SealedBlocks(int fd, uint64_t backing_size, uint64_t plain_size)
        : fd_(fd), backing_size_(backing_size),
          blocks_((plain_size + format::kBlockPlainSize - 1) / format::kBlockPlainSize), plain_size_(plain_size) {}

    // Calls visit(index, cipher span, plain length) for every block that lies
    // (partly) in a data region, in order; stop early when it returns false.
    template <class Visit>
    void for_each(Visit &&visit) {
        std::vector<uint8_t> buf(kSealedBlocksChunk * format::kBlockCipherSize);
        uint64_t index = 0;
        while (index < blocks_) {
            off_t data = ::lseek(fd_, static_cast<off_t>(format::block_cipher_offset(index)), SEEK_DATA);
            if (data < 0) {
                if (errno == ENXIO) return;  // only holes from here on
                throw_errno("seek data");
            }
            off_t hole = ::lseek(fd_, data, SEEK_HOLE);
            if (hole < 0) throw_errno("seek hole");
            index = std::max(index, block_of(static_cast<uint64_t>(data)));
            const uint64_t end = std::min(blocks_, block_of(static_cast<uint64_t>(hole) - 1) + 1);
            while (index < end) {
                const uint64_t count = std::min(kSealedBlocksChunk, end - index);
                const uint64_t from = format::block_cipher_offset(index);
                const uint64_t to = std::min(format::block_cipher_offset(index + count), backing_size_);
                if (pread_full(fd_, std::span(buf.data(), to - from), static_cast<off_t>(from)) != to - from)
                    throw Error(EIO, "file shrank while being read");
                for (uint64_t i = 0; i < count; ++i) {
                    const uint64_t b = index + i;
                    const size_t len = static_cast<size_t>(
                        std::min<uint64_t>(format::kBlockPlainSize, plain_size_ - b * format::kBlockPlainSize));
                    std::span<const uint8_t> cipher(buf.data() + i * format::kBlockCipherSize, len + format::kBlockOverhead);
                    if (!visit(b, cipher, len)) return;
                }
                index += count;
            }
        }
    }

private:
    static uint64_t block_of(uint64_t backing_offset) {
        return backing_offset < format::kFileHeaderSize ? 0 : (backing_offset - format::kFileHeaderSize) / format::kBlockCipherSize;
    }

    int fd_;
    uint64_t backing_size_;
    uint64_t blocks_;
    uint64_t plain_size_;
};

}  // namespace cmkfs::store
