#include "store/content.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <optional>
#include <vector>

#include <spdlog/spdlog.h>

#include "crypto/wipe.h"
#include "format/block_codec.h"
#include "store/sealed_blocks.h"
#include "util/errors.h"
#include "util/file_io.h"

namespace cmkfs::store {

namespace {

using format::kBlockOverhead;
using format::kBlockPlainSize;

// Reused per thread: the block path must not allocate per request. Slot
// kRangeSlot holds a whole request's ciphertext, kBlockSlot one block being
// read or rewritten in the middle of that request.
enum Slot { kRangeSlot = 0, kBlockSlot = 1 };
std::vector<uint8_t> &cipher_buffer(Slot slot, size_t size) {
    thread_local std::vector<uint8_t> buf[2];
    if (buf[slot].size() < size) buf[slot].resize(size);
    return buf[slot];
}

// The block sealed as the file's last (format 2). A torn tail lies after a
// block that was not the last when it was written, so then no intact block is.
uint64_t final_block_of(const format::PlainSize &size) {
    return size.torn_tail ? size.size / kBlockPlainSize : format::final_block_index(size.size);
}

uint64_t backing_size(int fd) {
    struct stat st {};
    if (::fstat(fd, &st) != 0) throw_errno("fstat");
    return static_cast<uint64_t>(st.st_size);
}

}  // namespace

uint64_t content_size_from_backing(uint64_t size) {
    // A file cut inside a block's nonce/tag (or inside its header) has a torn
    // tail no plaintext size explains. Report one byte more than the intact
    // part, so the kernel asks us for the tail and the reader gets EIO (and the
    // log names the file) instead of a silently shorter file.
    const auto plain = format::plain_size_for(size);
    return plain.size + (plain.torn_tail ? 1 : 0);
}

uint64_t content_size(int fd) { return content_size_from_backing(backing_size(fd)); }

std::string FileContent::label() const {
    if (!label_.empty()) return label_;
    char link[64];
    std::snprintf(link, sizeof link, "/proc/self/fd/%d", fd_);
    char target[4096];
    ssize_t n = ::readlink(link, target, sizeof target - 1);
    return n > 0 ? std::string(target, static_cast<size_t>(n)) : "fd " + std::to_string(fd_);
}

void FileContent::integrity_failure(const std::string &what) const {
    const std::string name = label();
    spdlog::error("integrity: {}: {}", name, what);
    throw IntegrityError(name + ": " + what);
}

std::optional<format::FileId> FileContent::file_id() {
    std::lock_guard guard(state_.id_mutex);
    if (state_.id) return state_.id;
    uint8_t raw[format::kFileHeaderSize];
    size_t n = pread_full(fd_, raw, 0);
    if (n == 0) return std::nullopt;
    auto header = format::FileHeader::decode(std::span(raw, n));
    if (!header) integrity_failure("file header is missing or has a bad magic/version");
    state_.id = header->id;
    return state_.id;
}

namespace {

// Writes `head` then `tail` contiguously at `offset` in one pwritev (a new
// file's header and its first blocks: one syscall instead of two).
void pwrite_two(int fd, std::span<const uint8_t> head, std::span<const uint8_t> tail, off_t offset) {
    iovec iov[2] = {{const_cast<uint8_t *>(head.data()), head.size()},  // NOLINT(cppcoreguidelines-pro-type-const-cast)
                    {const_cast<uint8_t *>(tail.data()), tail.size()}};  // NOLINT(cppcoreguidelines-pro-type-const-cast)
    ssize_t n;
    do {
        n = ::pwritev(fd, iov, 2, offset);
    } while (n < 0 && errno == EINTR);
    if (n < 0) throw_errno("pwrite");
    const auto done = static_cast<size_t>(n);
    if (done < head.size()) {  // short: finish one part at a time
        pwrite_full(fd, head.subspan(done), offset + static_cast<off_t>(done));
        pwrite_full(fd, tail, offset + static_cast<off_t>(head.size()));
    } else if (done < head.size() + tail.size()) {
        pwrite_full(fd, tail.subspan(done - head.size()), offset + static_cast<off_t>(done));
    }
}

}  // namespace

format::FileId FileContent::ensure_file_id() {
    if (auto id = file_id()) return *id;
    // Another host may create it meanwhile: look again under the lock.
    SharedFileLock::Write hold(state_.shared_lock, fd_);
    if (auto id = file_id()) return *id;
    return create_header();
}

format::FileId FileContent::create_header() {
    auto header = format::FileHeader::random();
    auto bytes = header.encode();
    pwrite_full(fd_, bytes, 0);
    remember_id(header.id);
    return header.id;
}

void FileContent::remember_id(const format::FileId &id) {
    std::lock_guard guard(state_.id_mutex);
    state_.id = id;
}

void FileContent::read_block(const format::FileId &id, uint64_t index, bool last, size_t len,
                             std::span<uint8_t> out) {
    const size_t clen = len + kBlockOverhead;
    auto &buf = cipher_buffer(kBlockSlot, clen);
    size_t n = pread_full(fd_, std::span(buf.data(), clen),
                          static_cast<off_t>(format::block_cipher_offset(index)));
    if (n != clen) integrity_failure("block " + std::to_string(index) + " is truncated");
    auto key = keys_.content_key(id);
    format::BlockCodec codec(*key, id, version_);
    if (codec.open(index, last, std::span(buf.data(), clen), out.first(len)) == format::BlockOpen::bad)
        integrity_failure("block " + std::to_string(index) + " failed authentication");
}

void FileContent::write_block(const format::FileId &id, uint64_t index, bool last, std::span<const uint8_t> plain) {
    auto &buf = cipher_buffer(kBlockSlot, plain.size() + kBlockOverhead);
    auto key = keys_.content_key(id);
    format::BlockCodec codec(*key, id, version_);
    std::span<uint8_t> out(buf.data(), plain.size() + kBlockOverhead);
    codec.seal(index, last, plain, out);
    pwrite_full(fd_, out, static_cast<off_t>(format::block_cipher_offset(index)));
}

// Large reads are the kernel's readahead of a sequential reader. The backing
// file only gets its own (small) readahead once our pread arrives, so cold
// reads would alternate disk and decryption; asking for the next window now
// lets the disk work while this one is decrypted. Small (random) reads get no
// hint: it would only cost them extra I/O.
void FileContent::prefetch_after(uint64_t cipher_end, uint64_t window, uint64_t cipher_size) const {
    constexpr uint64_t kSequentialRead = 128 * 1024;
    if (window < kSequentialRead || cipher_end >= cipher_size) return;
    const uint64_t len = std::min(window, cipher_size - cipher_end);
    ::posix_fadvise(fd_, static_cast<off_t>(cipher_end), static_cast<off_t>(len), POSIX_FADV_WILLNEED);
}

size_t FileContent::read(uint64_t offset, std::span<uint8_t> out) {
    // Shared storage: no other host changes a block, the size or the final
    // mark while this read sees them (shared_locks.h).
    SharedFileLock::Read hold(state_.shared_lock, fd_);
    const auto size = format::plain_size_for(backing_size(fd_));
    if (offset >= size.size || out.empty()) {
        if (size.torn_tail && offset >= size.size && !out.empty())
            integrity_failure("file is truncated inside a block");
        return 0;
    }
    const uint64_t len = std::min<uint64_t>(out.size(), size.size - offset);
    if (size.torn_tail && offset + out.size() > size.size)
        integrity_failure("file is truncated inside a block");
    auto id = file_id();
    if (!id) integrity_failure("file has data but no header");
    auto key = keys_.content_key(*id);
    format::BlockCodec codec(*key, *id, version_);
    const uint64_t final_block = final_block_of(size);

    const uint64_t first = format::block_index(offset);
    const uint64_t last = format::block_index(offset + len - 1);
    const uint64_t cbegin = format::block_cipher_offset(first);
    const uint64_t cend = std::min(format::block_cipher_offset(last + 1), format::cipher_size_for(size.size));
    auto &buf = cipher_buffer(kRangeSlot, cend - cbegin);
    if (pread_full(fd_, std::span(buf.data(), cend - cbegin), static_cast<off_t>(cbegin)) != cend - cbegin)
        integrity_failure("file shrank while being read");
    prefetch_after(cend, cend - cbegin, format::cipher_size_for(size.size));

    crypto::WipedArray<kBlockPlainSize> plain_block;  // decrypted data: wiped on return
    auto &scratch = plain_block.bytes;
    size_t produced = 0;
    for (uint64_t index = first; index <= last; ++index) {
        const uint64_t block_start = index * kBlockPlainSize;
        const size_t block_len = static_cast<size_t>(std::min<uint64_t>(kBlockPlainSize, size.size - block_start));
        std::span<const uint8_t> cipher(buf.data() + (format::block_cipher_offset(index) - cbegin),
                                        block_len + kBlockOverhead);
        const uint64_t want_from = std::max(offset, block_start);
        const uint64_t want_to = std::min(offset + len, block_start + block_len);
        const bool whole = want_from == block_start && want_to == block_start + block_len;
        std::span<uint8_t> target = whole ? out.subspan(produced, block_len) : std::span<uint8_t>(scratch, block_len);
        if (codec.open(index, index == final_block, cipher, target) == format::BlockOpen::bad)
            integrity_failure("block " + std::to_string(index) + " failed authentication");
        if (!whole)
            std::memcpy(out.data() + produced, scratch + (want_from - block_start), want_to - want_from);
        produced += want_to - want_from;
    }
    return produced;
}

void FileContent::write(uint64_t offset, std::span<const uint8_t> data, Mtime mtime) {
    if (data.empty()) return;
    // Shared storage: the size, the header (created by whichever host comes
    // first, never rewritten) and every read-modify-write below are this
    // host's alone until the new blocks are written (shared_locks.h).
    SharedFileLock::Write hold(state_.shared_lock, fd_);
    struct stat before {};  // the size, and the mtime to keep: one fstat
    if (::fstat(fd_, &before) != 0) throw_errno("fstat");
    const auto current = format::plain_size_for(static_cast<uint64_t>(before.st_size));
    if (current.torn_tail) integrity_failure("file is truncated inside a block; refusing to write");
    const uint64_t cur = current.size;
    auto existing = file_id();
    // A new file's header goes out with its first blocks when they follow it.
    std::optional<format::FileHeader> new_header;
    if (!existing) new_header = format::FileHeader::random();
    const format::FileId id = existing ? *existing : new_header->id;
    const bool marks_last = !format::BlockCodec::final_block_may_be_hole(version_);

    const uint64_t end = offset + data.size();
    const uint64_t new_size = std::max(cur, end);
    const uint64_t first = format::block_index(offset);
    const uint64_t last = format::block_index(end - 1);
    const uint64_t old_final = format::final_block_index(cur);
    const uint64_t new_final = format::final_block_index(new_size);
    // Growing past the old final block, which lies before this write: it must
    // be sealed again, zero padded if partial (so the gap reads as zeros), and
    // in format 2 also when full, because it is no longer the last. When it
    // directly precedes the write (an append) it joins this request's pwrite.
    // Otherwise (a write past the end) a partial one is padded first, still
    // sealed as final, and the re-seal as not final comes after the new data:
    // each step leaves a valid file should a crash stop it (FORMAT.md §3).
    uint64_t begin = first;
    bool reseal_after = false;
    if (new_header && begin != 0) {  // a first write past block 0: the header alone, first
        pwrite_full(fd_, new_header->encode(), 0);
        remember_id(new_header->id);
        new_header.reset();
    }
    if (cur > 0 && first > old_final && (cur % kBlockPlainSize != 0 || marks_last)) {
        if (first == old_final + 1) {
            begin = old_final;
        } else {
            if (cur % kBlockPlainSize != 0) {
                crypto::WipedArray<kBlockPlainSize> padded_block;  // decrypted data: wiped on return
                auto &padded = padded_block.bytes;
                const size_t old_len = static_cast<size_t>(cur - old_final * kBlockPlainSize);
                read_block(id, old_final, true, old_len, padded);
                std::memset(padded + old_len, 0, kBlockPlainSize - old_len);
                write_block(id, old_final, true, std::span(padded, kBlockPlainSize));
            }
            reseal_after = marks_last;
        }
    }

    crypto::WipedArray<kBlockPlainSize> plain_block;  // decrypted data: wiped on return
    auto &scratch = plain_block.bytes;
    const uint64_t cbegin = format::block_cipher_offset(begin);
    const uint64_t cend = std::min(format::block_cipher_offset(last + 1), format::cipher_size_for(new_size));
    std::vector<uint8_t> &buf = cipher_buffer(kRangeSlot, cend - cbegin);
    auto key = keys_.content_key(id);
    format::BlockCodec codec(*key, id, version_);
    codec.draw_nonces(last - begin + 1);

    for (uint64_t index = begin; index <= last; ++index) {
        const uint64_t block_start = index * kBlockPlainSize;
        const size_t block_len = static_cast<size_t>(std::min<uint64_t>(kBlockPlainSize, new_size - block_start));
        // [from, to): the part of this block the request writes (empty for
        // the old final block re-sealed ahead of an append).
        const uint64_t from = std::clamp(offset, block_start, block_start + block_len);
        const uint64_t to = std::clamp(end, from, block_start + block_len);
        std::span<const uint8_t> plain;
        if (from == block_start && to == block_start + block_len) {
            plain = data.subspan(from - offset, block_len);
        } else {
            const size_t old_len = block_start < cur
                ? static_cast<size_t>(std::min<uint64_t>(kBlockPlainSize, cur - block_start)) : 0;
            if (old_len > 0) read_block(id, index, index == old_final, old_len, scratch);
            std::memset(scratch + old_len, 0, kBlockPlainSize - old_len);
            if (to > from) std::memcpy(scratch + (from - block_start), data.data() + (from - offset), to - from);
            plain = std::span<const uint8_t>(scratch, block_len);
        }
        std::span<uint8_t> out(buf.data() + (format::block_cipher_offset(index) - cbegin),
                               block_len + kBlockOverhead);
        codec.seal(index, index == new_final, plain, out);
    }
    if (new_header) {  // cbegin is right after the header
        pwrite_two(fd_, new_header->encode(), std::span(buf.data(), cend - cbegin), 0);
        remember_id(new_header->id);
    } else {
        pwrite_full(fd_, std::span(buf.data(), cend - cbegin), static_cast<off_t>(cbegin));
    }
    if (reseal_after) {
        read_block(id, old_final, false, kBlockPlainSize, scratch);
        write_block(id, old_final, false, std::span(scratch, kBlockPlainSize));
    }
    if (mtime == Mtime::kept) {
        const struct timespec times[2] = {{0, UTIME_OMIT}, before.st_mtim};
        if (::futimens(fd_, times) != 0) throw_errno("keep mtime after write");
    }
}

void FileContent::truncate(uint64_t new_size) {
    SharedFileLock::Write hold(state_.shared_lock, fd_);
    const uint64_t backing = backing_size(fd_);
    const auto current = format::plain_size_for(backing);
    const uint64_t cur = current.size;
    if (new_size == cur && !current.torn_tail) return;
    const bool marks_last = !format::BlockCodec::final_block_may_be_hole(version_);
    if (new_size == 0) {
        // Format 2 keeps the header (and so the file id) of an emptied file:
        // its xattr values are bound to that id and must stay valid.
        bool keep_header = false;
        if (marks_last && backing >= format::kFileHeaderSize) {
            uint8_t raw[format::kFileHeaderSize];
            const size_t n = pread_full(fd_, raw, 0);
            keep_header = format::FileHeader::decode(std::span(raw, n)).has_value();
        }
        if (::ftruncate(fd_, keep_header ? static_cast<off_t>(format::kFileHeaderSize) : 0) != 0)
            throw_errno("ftruncate");
        if (!keep_header) {
            std::lock_guard guard(state_.id_mutex);
            state_.id.reset();
        }
        return;
    }
    // A header cut short (torn, cur == 0) is replaced by a new one.
    auto existing = backing >= format::kFileHeaderSize ? file_id() : std::optional<format::FileId>{};
    const format::FileId id = existing ? *existing : create_header();
    const uint64_t old_final = format::final_block_index(cur);
    const bool old_final_marked = final_block_of(current) == old_final;  // not when torn
    const uint64_t new_final = format::final_block_index(new_size);
    crypto::WipedArray<kBlockPlainSize> plain_block;  // decrypted data: wiped on return
    auto &scratch = plain_block.bytes;
    // Truncating a torn file to its intact size repairs it: the block before
    // the torn tail becomes the final one.
    if (new_size < cur || (current.torn_tail && new_size == cur)) {
        // The new final block is sealed again as such: partial, or (format 2)
        // full but now marked last. A hole there gets written out, sealed.
        if (new_size % kBlockPlainSize != 0 || marks_last) {
            const uint64_t block_start = new_final * kBlockPlainSize;
            const size_t old_len = static_cast<size_t>(std::min<uint64_t>(kBlockPlainSize, cur - block_start));
            read_block(id, new_final, new_final == old_final && old_final_marked, old_len, scratch);
            write_block(id, new_final, true, std::span(scratch, static_cast<size_t>(new_size - block_start)));
        }
    } else if (new_size > cur) {
        // Growing. Each step leaves a valid file should a crash stop it: the
        // old final block, if partial, is padded with zeros up to the end of
        // its block or the new size (still sealed as final); format 2 then
        // writes the new final block out as sealed zeros (a trailing hole
        // could not be told from zero blocks an attacker appended; the whole
        // blocks between stay holes: one 4 KiB block per growing truncate),
        // and only then seals the old final block again as not final (until
        // then it is a block before the final one sealed as final, which
        // readers accept, FORMAT.md §3).
        const bool moves = new_final != old_final;
        if (cur > 0 && cur % kBlockPlainSize != 0) {
            const uint64_t block_start = old_final * kBlockPlainSize;
            const size_t old_len = static_cast<size_t>(cur - block_start);
            const size_t new_len = static_cast<size_t>(std::min<uint64_t>(kBlockPlainSize, new_size - block_start));
            read_block(id, old_final, old_final_marked, old_len, scratch);
            std::memset(scratch + old_len, 0, new_len - old_len);
            write_block(id, old_final, true, std::span(scratch, new_len));
        }
        if (marks_last && (moves || cur == 0)) {
            const size_t len = static_cast<size_t>(new_size - new_final * kBlockPlainSize);
            std::memset(scratch, 0, len);
            write_block(id, new_final, true, std::span(scratch, len));
            if (cur > 0) {
                read_block(id, old_final, false, kBlockPlainSize, scratch);  // sealed as final either way
                write_block(id, old_final, false, std::span(scratch, kBlockPlainSize));
            }
        }
    }
    if (::ftruncate(fd_, static_cast<off_t>(format::cipher_size_for(new_size))) != 0) throw_errno("ftruncate");
}

std::vector<uint64_t> FileContent::verify_all() {
    std::vector<uint64_t> bad;
    const auto size = format::plain_size_for(backing_size(fd_));
    if (size.size == 0 && !size.torn_tail) return bad;
    std::optional<format::FileId> id;
    try {
        id = file_id();
    } catch (const IntegrityError &) {
        bad.push_back(0);
        return bad;
    }
    if (!id) return bad;
    const uint64_t blocks = (size.size + kBlockPlainSize - 1) / kBlockPlainSize;
    auto key = keys_.content_key(*id);
    format::BlockCodec codec(*key, *id, version_);
    const uint64_t final_block = final_block_of(size);
    bool final_seen = false;
    crypto::WipedArray<kBlockPlainSize> plain_block;  // decrypted data: wiped on return
    auto &scratch = plain_block.bytes;
    // Holes are skipped, not read: a sparse file of terabytes checks in the
    // time its data takes.
    SealedBlocks(fd_, backing_size(fd_), size.size)
        .for_each([&](uint64_t index, std::span<const uint8_t> cipher, size_t len) {
            final_seen = final_seen || index == final_block;
            if (codec.open(index, index == final_block, cipher, std::span(scratch, len)) == format::BlockOpen::bad)
                bad.push_back(index);
            return true;
        });
    // Format 2: the final block is never a hole, so one the scan skipped
    // (zeros appended, or a cut that left a hole last) is read and fails.
    if (!final_seen && size.size > 0 && !size.torn_tail &&
        !format::BlockCodec::final_block_may_be_hole(version_)) {
        try {
            read_block(*id, final_block, true,
                       static_cast<size_t>(size.size - final_block * kBlockPlainSize), scratch);
        } catch (const IntegrityError &) {
            bad.push_back(final_block);
        }
    }
    if (size.torn_tail) bad.push_back(blocks);
    return bad;
}

}  // namespace cmkfs::store
