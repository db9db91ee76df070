#include "store/dir_binding.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include <spdlog/spdlog.h>

#include "util/errors.h"
#include "util/file_io.h"
#include "util/unique_fd.h"

namespace cmkfs::store {

namespace {

const std::string &current_name() {
    static const std::string name(format::kDirIdName);
    return name;
}
const std::string &next_name() {
    static const std::string name(format::kDirIdNextName);
    return name;
}

// The file's bytes, or nullopt when it does not exist; other errors throw.
std::optional<std::vector<uint8_t>> read_if_present(int dirfd, const std::string &name) {
    try {
        return read_file_at(dirfd, name);
    } catch (const SystemError &e) {
        if (e.error_number() == ENOENT) return std::nullopt;
        throw;
    }
}

[[noreturn]] void fail(const std::string &label, const std::string &why) {
    spdlog::error("integrity: {}: directory id {}", label, why);
    throw IntegrityError(label + ": directory id " + why);
}

}  // namespace

std::optional<DirIdRead> try_read_dir_id(int dirfd, const Binding &binding, const format::Place &place) {
    const auto &key = binding.keys.dir_ids();
    if (auto current = read_if_present(dirfd, current_name())) {
        if (auto id = format::decode_dir_id_file(binding.format_version, key, *current, place))
            return DirIdRead{*id, false};
    }
    if (binding.binds_place()) {
        if (auto next = read_if_present(dirfd, next_name())) {
            if (auto id = format::decode_dir_id_file(binding.format_version, key, *next, place))
                return DirIdRead{*id, true};
        }
    }
    return std::nullopt;
}

DirIdRead read_dir_id(int dirfd, const Binding &binding, const format::Place &place, const std::string &label) {
    std::optional<std::vector<uint8_t>> current;
    try {
        if (auto read = try_read_dir_id(dirfd, binding, place)) return *read;
        current = read_if_present(dirfd, current_name());
    } catch (const SystemError &e) {
        fail(label, std::string("is unreadable: ") + e.what());
    }
    if (!current) fail(label, "is missing");
    if (!binding.binds_place() || !format::unverified_dir_id(*current))
        fail(label, "is malformed (" + std::to_string(current->size()) + " bytes)");
    fail(label, "is bound to another place (a swapped, moved or copied directory)");
}

format::DirId read_dir_id(int dirfd, const std::string &label) {
    std::vector<uint8_t> raw;
    try {
        raw = read_file_at(dirfd, current_name());
    } catch (const SystemError &e) {
        fail(label, std::string("is missing (") + e.what() + ")");
    }
    auto id = format::unverified_dir_id(raw);
    if (!id) fail(label, "is malformed (" + std::to_string(raw.size()) + " bytes)");
    return *id;
}

void write_dir_id(int dirfd, const Binding &binding, const format::DirId &id, const format::Place &place) {
    UniqueFd fd(::openat(dirfd, current_name().c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0444));
    if (!fd) throw_errno("create directory id");
    pwrite_full(fd.get(), format::encode_dir_id_file(binding.format_version, binding.keys.dir_ids(), id, place), 0);
}

void prepare_rebind(int dirfd, const Binding &binding, const format::DirId &id, const format::Place &to) {
    if (!binding.binds_place()) return;
    write_file_atomic(dirfd, next_name(),
                      format::encode_dir_id_file(binding.format_version, binding.keys.dir_ids(), id, to), 0444);
}

void finish_rebind(int dirfd) {
    if (::renameat(dirfd, next_name().c_str(), dirfd, current_name().c_str()) != 0 && errno != ENOENT)
        throw_errno("rebind directory id");
}

void abandon_rebind(int dirfd) { ::unlinkat(dirfd, next_name().c_str(), 0); }

format::DirId settle_dir_id(int dirfd, const Binding &binding, const format::Place &place,
                            const std::string &label) {
    const DirIdRead read = read_dir_id(dirfd, binding, place, label);
    if (read.pending) {
        spdlog::info("{}: finishing an interrupted directory rename", label);
        finish_rebind(dirfd);
    }
    return read.id;
}

DirIdFiles DirIdFiles::take(int dirfd) {
    DirIdFiles files;
    files.current = read_if_present(dirfd, current_name());
    files.next = read_if_present(dirfd, next_name());
    if (files.next && ::unlinkat(dirfd, next_name().c_str(), 0) != 0 && errno != ENOENT)
        throw_errno("remove pending directory id");
    if (files.current && ::unlinkat(dirfd, current_name().c_str(), 0) != 0 && errno != ENOENT) {
        const int err = errno;
        files.restore(dirfd);
        throw SystemError(err, "remove directory id");
    }
    return files;
}

void DirIdFiles::restore(int dirfd) const {
    auto put = [&](const std::string &name, const std::vector<uint8_t> &bytes) {
        UniqueFd fd(::openat(dirfd, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0444));
        if (fd) pwrite_full(fd.get(), bytes, 0);
    };
    if (current) put(current_name(), *current);
    if (next) put(next_name(), *next);
}

}  // namespace cmkfs::store
