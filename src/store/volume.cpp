#include "store/volume.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <cerrno>

#include "crypto/encoding.h"
#include "crypto/kdf.h"
#include "crypto/random.h"
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

void write_header_file(int root, format::VolumeHeader &header, const crypto::HeaderMacKey &key,
                       const AtomicWriteStepHook &before_step = {}) {
    std::string text = format::seal_volume_header(header, key);
    write_file_atomic(root, header_file(), crypto::as_bytes(text), 0600, before_step);
}

}  // namespace

format::VolumeHeader init_volume(const std::string &backing, keys::KeyProvider &provider,
                                 const InitOptions &options) {
    UniqueFd root = open_backing(backing);
    if (!list_directory(root.get()).empty())
        throw UsageError("backing directory " + backing + " is not empty; init needs an empty directory");

    format::VolumeHeader header;
    uint8_t volume_id[16];
    crypto::random_bytes(volume_id);
    header.volume_id = crypto::hex_encode(volume_id);
    header.plaintext_names = options.plaintext_names;
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
    return header;
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
        throw;
    }
    header_ = format::parse_volume_header(std::string(raw.begin(), raw.end()), header_path());
}

format::VolumeKeys Volume::unlock(keys::KeyProvider &provider) const {
    auto plain = provider.unwrap({header_.versioned_key_id, header_.identity}, header_.wrapped_key);
    if (plain.size() != format::kVolumeKeySize)
        throw IntegrityError(header_path() + ": unwrapped volume key has the wrong size");
    format::VolumeKeys keys{crypto::VolumeKey(std::move(plain))};
    format::verify_volume_header(header_, keys.header_mac(), header_path());
    return keys;
}

void Volume::write_header(format::VolumeHeader header, const crypto::HeaderMacKey &mac_key,
                          const AtomicWriteStepHook &before_step) {
    // A rotation killed mid-write (kill -9, power loss) leaves its temporary.
    remove_orphan_temporaries(root_.get(), header_file());
    write_header_file(root_.get(), header, mac_key, before_step);
    header_ = std::move(header);
}

std::unique_ptr<keys::KeyProvider> load_provider_for(const format::VolumeHeader &header,
                                                     const std::map<std::string, std::string> &extra,
                                                     const std::string &provider_override) {
    auto options = header.provider_options;
    for (const auto &[k, v] : extra) options[k] = v;
    std::vector<std::string> list;
    list.reserve(options.size());
    for (const auto &[k, v] : options) {
        std::string option = k;
        option += '=';
        option += v;
        list.push_back(std::move(option));
    }
    return keys::load_provider(provider_override.empty() ? header.provider : provider_override, list);
}

}  // namespace cmkfs::store
