// Volume::follow_header: a shared-storage host picks up another host's key
// rotation (store/volume.h).
#include <spdlog/spdlog.h>

#include "store/trust.h"
#include "store/volume.h"
#include "util/errors.h"
#include "util/file_io.h"

namespace cmkfs::store {

namespace {

// What only an offline command may change, or nobody: a header that differs
// here is not another host's rotation.
std::vector<std::string> fixed_differences(const format::VolumeHeader &now, const format::VolumeHeader &next) {
    std::vector<std::string> out;
    auto differs = [&](bool changed, const char *field) {
        if (changed) out.emplace_back(field);
    };
    differs(now.volume_id != next.volume_id, "volume_id");
    differs(now.provider != next.provider, "provider");
    differs(now.provider_options != next.provider_options, "provider_options");
    differs(now.identity != next.identity, "identity");
    differs(now.format_version != next.format_version, "format_version");
    differs(now.shared_storage != next.shared_storage, "shared_storage");
    differs(now.plaintext_names != next.plaintext_names, "plaintext_names");
    differs(now.root_dir_id != next.root_dir_id, "root_dir_id");
    differs(now.cipher_suite != next.cipher_suite || now.block_size != next.block_size, "cipher_suite");
    return out;
}

}  // namespace

bool Volume::follow_header(keys::KeyProvider &provider) {
    // Bounded, non-blocking, regular files only (util/file_io): attacker input.
    const std::vector<uint8_t> raw = read_file_at(root_.get(), std::string(format::kVolumeHeaderName));
    format::VolumeHeader next = format::parse_volume_header(std::string(raw.begin(), raw.end()), header_path());
    if (next.mac == header_.mac) return false;
    const std::string origin = header_path();
    if (const auto diffs = fixed_differences(header_, next); !diffs.empty()) {
        std::string fields;
        for (const auto &d : diffs) fields += (fields.empty() ? "" : ", ") + d;
        throw TrustError(origin + ": the volume header changed " + fields +
                         " while mounted; only a key rotation may change it then. Staying on the current key.");
    }
    if (!trusted()) throw TrustError(origin + ": no trust binding armed; not following a changed header");
    // The header names the key to unwrap with; the provider is this host's
    // (from the binding). Whatever it names, only the volume key this host's
    // binding commits to is accepted, and the MAC must verify under it.
    auto plain = provider.unwrap({next.versioned_key_id, next.identity}, next.wrapped_key);
    if (plain.size() != format::kVolumeKeySize)
        throw IntegrityError(origin + ": the changed header's volume key has the wrong size");
    format::VolumeKeys keys{crypto::VolumeKey(std::move(plain))};
    check_key_commitment(keys.volume_key(), next.volume_id, anchor_.key_commitment, anchor_.pending_key_commitment,
                         origin);
    format::verify_volume_header(next, keys.header_mac(), origin);
    // Two steps, as a rotation of our own: the binding trusts both headers
    // until it records the new one.
    if (anchor_.prepare) anchor_.prepare(next);
    header_ = std::move(next);
    if (anchor_.record) anchor_.record(header_, anchor_);
    return true;
}

}  // namespace cmkfs::store
