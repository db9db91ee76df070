#include "store/volume.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <cerrno>

#include "crypto/encoding.h"
#include "crypto/kdf.h"
#include "crypto/random.h"
#include "store/directory.h"
#include "store/trust.h"
#include "store/dir_binding.h"
#include "util/errors.h"
#include "util/file_io.h"

namespace cmkfs::store {

namespace {

// A function-local static: built on first use, so its construction cannot throw before main.
const std::string &header_file() {
    static const std::string name(format::kVolumeHeaderName);
    return name;
}

UniqueFd open_backing(const std::string &backing) {
    UniqueFd fd(::open(backing.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!fd) throw SystemError(errno, "backing directory " + backing);
    return fd;
}

std::string write_header_file(int root, format::VolumeHeader &header, const crypto::HeaderMacKey &key,
                              const AtomicWriteStepHook &before_step = {}) {
    std::string text = format::seal_volume_header(header, key);
    write_file_atomic(root, header_file(), crypto::as_bytes(text), 0600, before_step);
    return text;
}

// True when the header file holds exactly `text` (a write that failed after its rename).
bool header_file_is(int root, const std::string &text) {
    try {
        const auto raw = read_file_at(root, header_file());
        return std::string(raw.begin(), raw.end()) == text;
    } catch (const std::exception &) {
        return false;
    }
}

}  // namespace

InitResult init_volume(const std::string &backing, keys::KeyProvider &provider, const InitOptions &options) {
    UniqueFd root = open_backing(backing);
    if (!list_directory(root.get()).empty())
        throw UsageError("backing directory " + backing + " is not empty; init needs an empty directory");
    // An empty directory we were asked to use: whatever its mode was (0755
    // after a plain mkdir), the store's names and sizes are for us alone.
    if (::fchmod(root.get(), 0700) != 0) throw_errno("chmod 0700 " + backing);

    format::VolumeHeader header;
    uint8_t volume_id[16];
    crypto::random_bytes(volume_id);
    header.volume_id = crypto::hex_encode(volume_id);
    header.plaintext_names = options.plaintext_names;
    header.shared_storage = options.shared_storage;
    header.provider = options.provider;
    header.provider_options = options.provider_options;
    header.key_id = options.key_id;
    header.identity = options.identity;
    header.created = format::utc_now_rfc3339();
    crypto::random_bytes(header.root_dir_id);

    auto volume_key = format::generate_volume_key();
    keys::KeyRef ref{options.key_id, options.identity};
    auto wrapped = provider.wrap(ref, volume_key.bytes());
    header.wrapped_key = std::move(wrapped.wrapped);
    header.versioned_key_id = wrapped.versioned_key_id.empty() ? options.key_id : wrapped.versioned_key_id;

    // Prove the wrapped key opens before anything depends on it.
    auto check = provider.unwrap({header.versioned_key_id, options.identity}, header.wrapped_key);
    if (!crypto::equal_ct(check.span(), volume_key.bytes()))
        throw std::runtime_error("provider " + provider.name() + " did not return the wrapped key on unwrap");

    format::VolumeKeys keys(std::move(volume_key));
    write_dir_id(root.get(), Binding{header.format_version, keys}, header.root_dir_id, format::Place::root());
    write_header_file(root.get(), header, keys.header_mac());
    if (::fsync(root.get()) != 0) throw_errno("fsync " + backing);
    return {header, key_commitment(keys.volume_key(), header.volume_id)};
}

Volume::Volume(const std::string &backing) : backing_(backing), root_(open_backing(backing)) {
    reload_header();
}

std::string Volume::header_path() const { return backing_ + "/" + header_file(); }

void Volume::reload_header() {
    std::vector<uint8_t> raw;
    try {
        raw = read_file_at(root_.get(), header_file());
    } catch (const SystemError &e) {
        if (e.error_number() == ENOENT)
            throw Error(ENOENT, backing_ + " is not a cmkfs store (no " + header_file() + "; run cmkfs init)");
        throw Error(e.error_number(), backing_ + "/" + e.what());
    }
    format::VolumeHeader header = format::parse_volume_header(std::string(raw.begin(), raw.end()), header_path());
    if (anchor_.check) anchor_.check(header);
    header_ = std::move(header);
}

format::VolumeKeys Volume::unlock(keys::KeyProvider &provider) const {
    auto plain = provider.unwrap({header_.versioned_key_id, header_.identity}, header_.wrapped_key);
    if (plain.size() != format::kVolumeKeySize)
        throw IntegrityError(header_path() + ": unwrapped volume key has the wrong size");
    format::VolumeKeys keys{crypto::VolumeKey(std::move(plain))};
    // The commitment first: a header wrapping another key (copied from another
    // store, or wrapped under an RSA key's public half) carries a valid MAC
    // under that key, and only the commitment says it is not this store's.
    if (trusted())
        check_key_commitment(keys.volume_key(), header_.volume_id, anchor_.key_commitment,
                             anchor_.pending_key_commitment, header_path());
    format::verify_volume_header(header_, keys.header_mac(), header_path());
    return keys;
}

void Volume::write_header(format::VolumeHeader header, const crypto::HeaderMacKey &mac_key,
                          const AtomicWriteStepHook &before_step) {
    // A rotation killed mid-write (kill -9, power loss) leaves its temporary.
    remove_orphan_temporaries(root_.get(), header_file());
    if (anchor_.prepare) anchor_.prepare(header);
    std::string text;
    try {
        text = write_header_file(root_.get(), header, mac_key, before_step);
    } catch (...) {
        // Failed after the rename (fsync of the directory): the new header is
        // what the store now opens with, so the binding must follow it.
        if (anchor_.record && header_file_is(root_.get(), format::seal_volume_header(header, mac_key)))
            anchor_.record(header, anchor_);
        throw;
    }
    header_ = std::move(header);
    if (anchor_.record) anchor_.record(header_, anchor_);
}

void Volume::begin_key_change(const crypto::VolumeKey &new_key, bool fresh) {
    if (!trusted()) return;
    const std::string commitment = key_commitment(new_key, header_.volume_id);
    if (!fresh) {
        if (anchor_.pending_key_commitment.empty())
            throw TrustError(backing_ + ": an interrupted re-encryption is to be resumed, but this host's binding "
                                        "records none begun (no pending key commitment); its journal is not "
                                        "trusted. Refusing to re-encrypt under the journal's key.");
        if (commitment != anchor_.pending_key_commitment)
            throw TrustError(backing_ + ": the re-encryption journal wraps another key than the one this host "
                                        "recorded when the re-encryption began; refusing it.");
        return;
    }
    anchor_.pending_key_commitment = commitment;
    if (anchor_.record) anchor_.record(header_, anchor_);
}

void Volume::commit_key_change() {
    if (!trusted() || anchor_.pending_key_commitment.empty()) return;
    anchor_.key_commitment = anchor_.pending_key_commitment;
    anchor_.pending_key_commitment.clear();
    if (anchor_.record) anchor_.record(header_, anchor_);
}

}  // namespace cmkfs::store
