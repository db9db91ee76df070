#include "store/reencrypt_content.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <vector>

#include "crypto/encoding.h"
#include "crypto/random.h"
#include "crypto/secure_bytes.h"
#include "crypto/wipe.h"
#include "format/block_codec.h"
#include "format/file_layout.h"
#include "format/name_codec.h"
#include "store/link_record.h"
#include "store/reencrypt_xattrs.h"
#include "store/sealed_blocks.h"
#include "store/symlink_target.h"
#include "util/errors.h"
#include "util/file_io.h"
#include "util/unique_fd.h"

namespace cmkfs::store {

namespace {

using format::kBlockCipherSize;
using format::kBlockOverhead;
using format::kBlockPlainSize;
using format::kFileHeaderSize;

struct OpenedContent {
    UniqueFd fd;
    uint64_t plain_size = 0;
    std::optional<format::FileId> id;  // unset for an empty file
};

OpenedContent open_content(int dir, const std::string &name, const struct stat &st, const std::string &label) {
    OpenedContent c;
    // O_NONBLOCK and S_ISREG on the descriptor: the untrusted entry may have
    // been swapped for a FIFO since the caller's stat.
    c.fd.reset(::openat(dir, name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
    if (!c.fd) throw SystemError(errno, "open " + label);
    struct stat opened {};
    if (::fstat(c.fd.get(), &opened) != 0) throw SystemError(errno, "stat " + label);
    if (!S_ISREG(opened.st_mode)) throw IntegrityError(label + ": not a regular file");
    const auto size = format::plain_size_for(static_cast<uint64_t>(st.st_size));
    if (size.torn_tail) throw IntegrityError(label + ": file is truncated inside a block");
    c.plain_size = size.size;
    // A header-only file (24 bytes) is empty but has an id, which format 2
    // binds its xattrs and link record to.
    if (static_cast<uint64_t>(st.st_size) < kFileHeaderSize) return c;
    uint8_t raw[kFileHeaderSize];
    auto header = format::FileHeader::decode(std::span(raw, pread_full(c.fd.get(), raw, 0)));
    if (!header) {
        if (c.plain_size == 0) return c;  // nothing reads an empty file's header (fsck neither)
        throw IntegrityError(label + ": file header is missing or has a bad magic/version");
    }
    c.id = header->id;
    return c;
}

std::string read_link(int dir, const std::string &name, const std::string &label) {
    char buf[PATH_MAX];
    ssize_t n = ::readlinkat(dir, name.c_str(), buf, sizeof buf);
    if (n < 0) throw SystemError(errno, "readlink " + label);
    return std::string(buf, static_cast<size_t>(n));
}

void set_owner_mode_times(int fd, const struct stat &st) {
    if (::fchown(fd, st.st_uid, st.st_gid) != 0) throw_errno("chown replacement");
    if (::fchmod(fd, st.st_mode & 07777) != 0) throw_errno("chmod replacement");
    const timespec times[2] = {st.st_atim, st.st_mtim};
    if (::futimens(fd, times) != 0) throw_errno("set times of replacement");
}

Replacement build_file(int src_dir, const std::string &src_name, const struct stat &st, int temp_dir,
                       const ReencryptKeys &keys, const std::string &label) {
    OpenedContent src = open_content(src_dir, src_name, st, label);
    Replacement out{new_reencrypt_temp_name(), src.plain_size};
    const bool marks_last = !format::BlockCodec::final_block_may_be_hole(keys.new_version);
    // Format 2 binds xattr values to the file id, so an empty file carrying
    // xattrs gets a header-only file (which reads as empty).
    const bool needs_header =
        src.id || (keys.new_version >= 2 && has_user_xattrs(fd_path(src.fd.get())));
    std::optional<format::FileHeader> header;
    UniqueFd dst(::openat(temp_dir, out.temp_name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                          0600));
    if (!dst) throw_errno("create " + out.temp_name);
    try {
        if (needs_header) {
            // A fresh file id: the new file cannot even be matched to the old one by id.
            header = format::FileHeader::random();
            pwrite_full(dst.get(), header->encode(), 0);
            if (src.plain_size > 0 &&
                ::ftruncate(dst.get(), static_cast<off_t>(format::cipher_size_for(src.plain_size))) != 0)
                throw_errno("size replacement");
        }
        if (src.id) {
            const auto old_key = keys.old_keys.content_key(*src.id);
            const auto new_key = keys.new_keys.content_key(header->id);
            format::BlockCodec opener(old_key, *src.id, keys.old_version);
            format::BlockCodec sealer(new_key, header->id, keys.new_version);
            const uint64_t final_block = format::final_block_index(src.plain_size);
            bool final_sealed = false;
            crypto::SecureBytes plain_buf(kBlockPlainSize);  // wiped when freed
            uint8_t *plain = plain_buf.data();
            std::vector<uint8_t> sealed(kBlockCipherSize);
            auto seal_block = [&](uint64_t index, size_t len) {
                auto out_block = std::span(sealed.data(), len + kBlockOverhead);
                sealer.seal(index, index == final_block, std::span(plain, len), out_block);
                pwrite_full(dst.get(), out_block, static_cast<off_t>(format::block_cipher_offset(index)));
                final_sealed = final_sealed || index == final_block;
            };
            SealedBlocks(src.fd.get(), static_cast<uint64_t>(st.st_size), src.plain_size)
                .for_each([&](uint64_t index, std::span<const uint8_t> cipher, size_t len) {
                    switch (opener.open(index, index == final_block, cipher, std::span(plain, len))) {
                    case format::BlockOpen::hole:
                        if (index == final_block && marks_last) break;  // sealed below, as zeros
                        return true;  // stays a hole
                    case format::BlockOpen::bad:
                        throw IntegrityError(label + ": block " + std::to_string(index) +
                                             " fails authentication");
                    case format::BlockOpen::ok: break;
                    }
                    seal_block(index, len);
                    return true;
                });
            // A format-1 file may end in a hole; format 2 seals its final block.
            if (marks_last && src.plain_size > 0 && !final_sealed) {
                const size_t len = static_cast<size_t>(src.plain_size - final_block * kBlockPlainSize);
                std::fill(plain, plain + len, 0);
                seal_block(final_block, len);
            }
        }
        const std::span<const uint8_t> old_owner =
            src.id ? std::span<const uint8_t>(*src.id) : std::span<const uint8_t>{};
        const std::span<const uint8_t> new_owner =
            header ? std::span<const uint8_t>(header->id) : std::span<const uint8_t>{};
        copy_xattrs_resealed(fd_path(src.fd.get()), fd_path(dst.get()), keys, {old_owner, new_owner}, label);
        // One replacement serves every link of a hard-linked inode (the tree
        // converter links it under each name); format 2 records how many. A
        // format-2 source was verified first, so its links are all explained;
        // an upgraded one keeps the links it had.
        if (keys.new_version >= 2 && st.st_nlink > 1) {
            if (!header) {
                header = format::FileHeader::random();
                pwrite_full(dst.get(), header->encode(), 0);
            }
            write_link_record(dst.get(), keys.new_keys.meta(), header->id, static_cast<uint32_t>(st.st_nlink));
        }
        set_owner_mode_times(dst.get(), st);
        if (::fsync(dst.get()) != 0) throw_errno("fsync " + out.temp_name);
    } catch (...) {
        ::unlinkat(temp_dir, out.temp_name.c_str(), 0);
        throw;
    }
    return out;
}

Replacement build_symlink(int src_dir, const std::string &src_name, const struct stat &st, int temp_dir,
                          const ReencryptKeys &keys, const format::Place &place, const std::string &label) {
    // A long target (format 3) is followed to its sidecar, beside the symlink.
    auto target = open_link_target(src_dir, read_link(src_dir, src_name, label), keys.old_version,
                                   keys.old_keys.meta(), place);
    if (!target) throw IntegrityError(label + ": symlink target fails to authenticate");
    const std::string &text = *target;  // (clang-analyzer mistakes optional::operator-> for a reallocation)
    const crypto::WipeOnExit wipe_target(text.data(), text.size());
    Replacement out{new_reencrypt_temp_name(), 0};
    // A long target's new sidecar must be beside the replacement's final
    // name: symlinks are never staged elsewhere (staging_for), so temp_dir
    // is that directory.
    make_link(temp_dir, out.temp_name, keys.new_version, keys.new_keys.meta(), place, text);
    try {
        if (::fchownat(temp_dir, out.temp_name.c_str(), st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) != 0)
            throw_errno("chown replacement");
        const timespec times[2] = {st.st_atim, st.st_mtim};
        if (::utimensat(temp_dir, out.temp_name.c_str(), times, AT_SYMLINK_NOFOLLOW) != 0)
            throw_errno("set times of replacement");
    } catch (...) {
        const auto sidecar = long_target_sidecar_of(temp_dir, out.temp_name);
        ::unlinkat(temp_dir, out.temp_name.c_str(), 0);
        remove_long_target_sidecar(temp_dir, sidecar);
        throw;
    }
    // A symlink cannot be fsynced itself: the caller's fsync of the directory
    // that names it commits it.
    return out;
}

}  // namespace

std::string new_reencrypt_temp_name() {
    uint8_t rnd[8];
    crypto::random_bytes(rnd);
    return std::string(kReencryptTempPrefix) + crypto::hex_encode(rnd);
}

Replacement build_replacement(int src_dir, const std::string &src_name, const struct stat &st, int temp_dir,
                              const ReencryptKeys &keys, const format::Place &place, const std::string &label) {
    if (S_ISLNK(st.st_mode)) return build_symlink(src_dir, src_name, st, temp_dir, keys, place, label);
    return build_file(src_dir, src_name, st, temp_dir, keys, label);
}

KeyGeneration content_generation(int dir, const std::string &name, const struct stat &st,
                                 const ReencryptKeys &keys, const format::Place &place, const std::string &label) {
    if (S_ISLNK(st.st_mode)) {
        const std::string sealed = read_link(dir, name, label);
        if (open_link_target(dir, sealed, keys.new_version, keys.new_keys.meta(), place))
            return KeyGeneration::new_key;
        if (open_link_target(dir, sealed, keys.old_version, keys.old_keys.meta(), place))
            return KeyGeneration::old_key;
        throw IntegrityError(label + ": symlink target fails to authenticate");
    }
    OpenedContent c = open_content(dir, name, st, label);
    if (!c.id) {
        // Format 2 has no valid xattr or link record on a file without
        // header: a format-1 file with xattrs or several links needs the
        // replacement, which gets a header.
        if (keys.new_version >= 2 && keys.old_version < 2 &&
            (st.st_nlink > 1 || has_user_xattrs(fd_path(c.fd.get()))))
            return KeyGeneration::old_key;
        return KeyGeneration::keyless;
    }
    const auto new_key = keys.new_keys.content_key(*c.id);
    const auto old_key = keys.old_keys.content_key(*c.id);
    format::BlockCodec as_new(new_key, *c.id, keys.new_version);
    format::BlockCodec as_old(old_key, *c.id, keys.old_version);
    const uint64_t final_block = format::final_block_index(c.plain_size);
    KeyGeneration found = KeyGeneration::keyless;
    crypto::SecureBytes plain_buf(kBlockPlainSize);
    uint8_t *plain = plain_buf.data();
    SealedBlocks(c.fd.get(), static_cast<uint64_t>(st.st_size), c.plain_size)
        .for_each([&](uint64_t index, std::span<const uint8_t> cipher, size_t len) {
            const bool last = index == final_block;
            // The versions may differ on whether a final hole is allowed.
            const auto as_new_result = as_new.open(index, last, cipher, std::span(plain, len));
            if (as_new_result == format::BlockOpen::ok) {
                found = KeyGeneration::new_key;
                return false;
            }
            const auto as_old_result = as_old.open(index, last, cipher, std::span(plain, len));
            if (as_old_result == format::BlockOpen::ok) {
                found = KeyGeneration::old_key;
                return false;
            }
            if (as_new_result == format::BlockOpen::hole || as_old_result == format::BlockOpen::hole) return true;
            throw IntegrityError(label + ": block " + std::to_string(index) + " fails authentication");
        });
    // Only holes: fine in format 1, but format 2 seals the final block, so
    // such a file is still to be converted.
    if (found == KeyGeneration::keyless && c.plain_size > 0 && keys.new_version >= 2 && keys.old_version < 2)
        return KeyGeneration::old_key;
    return found;
}

}  // namespace cmkfs::store
