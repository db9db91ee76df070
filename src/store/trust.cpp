#include "store/trust.h"

#include <memory>

#include "crypto/encoding.h"
#include "crypto/kdf.h"

namespace cmkfs::store {

namespace {

constexpr std::string_view kCommitmentLabel = "cmkfs key-commitment";
constexpr size_t kMaxShown = 200;

// Header values are attacker input: shown quoted, control characters escaped,
// so a diff cannot rewrite the operator's terminal.
std::string shown(const std::string &value) {
    static const char *hex = "0123456789abcdef";
    std::string out = "'";
    for (size_t i = 0; i < value.size() && i < kMaxShown; ++i) {
        const auto c = static_cast<unsigned char>(value[i]);
        if (c < 0x20 || c == 0x7f || c == '\\' || c == '\'') {
            out += "\\x";
            out += hex[c >> 4];
            out += hex[c & 15];
        } else {
            out += static_cast<char>(c);
        }
    }
    return out + (value.size() > kMaxShown ? "...'" : "'");
}

std::string shown(const std::optional<std::string> &value) { return value ? shown(*value) : "(unset)"; }

void compare(std::vector<std::string> &out, const std::string &field, const std::optional<std::string> &header,
             const std::optional<std::string> &binding) {
    if (header != binding) out.push_back(field + ": header says " + shown(header) + ", binding says " + shown(binding));
}

std::optional<std::string> option(const std::map<std::string, std::string> &options, const std::string &key) {
    auto it = options.find(key);
    return it == options.end() ? std::nullopt : std::optional(it->second);
}

std::string shell_quote(const std::string &s) {
    std::string out = "'";
    for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return out + "'";
}

}  // namespace

std::string key_commitment(const crypto::VolumeKey &volume_key, const std::string &volume_id) {
    std::string data(kCommitmentLabel);
    data += volume_id;
    const crypto::Digest d = crypto::hmac_sha256(volume_key.bytes(), crypto::as_bytes(data));
    return crypto::hex_encode(d);
}

void check_key_commitment(const crypto::VolumeKey &volume_key, const std::string &volume_id,
                          const std::string &expected, const std::string &pending, const std::string &origin) {
    const std::string actual = key_commitment(volume_key, volume_id);
    const bool ok = crypto::equal_ct(crypto::as_bytes(actual), crypto::as_bytes(expected)) ||
                    (!pending.empty() && crypto::equal_ct(crypto::as_bytes(actual), crypto::as_bytes(pending)));
    if (!ok)
        throw TrustError(origin + ": the unwrapped volume key is not the one this host's binding commits to (" +
                         config::binding_path(volume_id) +
                         "); the header wraps another key (a substituted or forged header). Refusing it.");
}

std::vector<std::string> header_binding_differences(const format::VolumeHeader &header,
                                                    const config::VolumeBinding &binding) {
    std::vector<std::string> out;
    compare(out, "volume_id", header.volume_id, binding.volume_id);
    compare(out, "provider", header.provider, binding.provider);
    std::map<std::string, bool> keys;
    for (const auto &[k, v] : header.provider_options) keys[k] = true;
    for (const auto &[k, v] : binding.provider_options) keys[k] = true;
    for (const auto &[k, unused] : keys)
        compare(out, "provider_options." + k, option(header.provider_options, k), option(binding.provider_options, k));
    compare(out, "key_id", header.key_id, binding.key_id);
    compare(out, "identity", header.identity, binding.identity);
    // A versioned key id is its own version: nothing can explain another one.
    if (binding.key_id == binding.versioned_key_id)
        compare(out, "versioned_key_id", header.versioned_key_id, binding.versioned_key_id);
    return out;
}

void require_header_matches(const format::VolumeHeader &header, const config::VolumeBinding &binding,
                            const std::string &origin) {
    const auto diffs = header_binding_differences(header, binding);
    if (diffs.empty()) return;
    // One line, like every cmkfs error (logs, systemd status), fields separated by "; ".
    std::string message = origin + ": the volume header does not match this host's binding " +
                          config::binding_path(binding.volume_id) + ", refusing it (the backing directory is "
                          "not trusted): ";
    for (size_t i = 0; i < diffs.size(); ++i) message += (i == 0 ? "" : "; ") + diffs[i];
    message += ". If the store was legitimately changed elsewhere (a rotation on another host), state what you "
               "expect with `cmkfs trust`.";
    throw TrustError(message);
}

bool is_version_of(const std::string &versioned, const std::string &key_id) {
    if (key_id.empty() || key_id.back() == '/' || versioned.size() <= key_id.size() + 1) return false;
    if (versioned.compare(0, key_id.size(), key_id) != 0 || versioned[key_id.size()] != '/') return false;
    const std::string version = versioned.substr(key_id.size() + 1);
    return version.find_first_of("/?#@\\") == std::string::npos && version != "." && version != "..";
}

void accept_header(const format::VolumeHeader &header, config::VolumeBinding &binding, const std::string &origin) {
    if (header_binding_differences(header, binding).empty()) return;
    if (binding.rotating) {
        config::VolumeBinding next = binding;
        next.set_settings(*binding.rotating);
        next.rotating.reset();
        if (header_binding_differences(header, next).empty() && header.versioned_key_id == next.versioned_key_id) {
            config::save_binding(next);
            binding = std::move(next);
            return;
        }
    }
    require_header_matches(header, binding, origin);
}

std::string resolve_versioned_key_id(const format::VolumeHeader &header, const config::VolumeBinding &binding,
                                     keys::KeyProvider &provider) {
    if (header.versioned_key_id == binding.versioned_key_id) return header.versioned_key_id;
    const bool versionless = binding.key_id != binding.versioned_key_id;
    if (versionless && is_version_of(header.versioned_key_id, binding.key_id)) return header.versioned_key_id;
    std::string current;
    // A provider error (revoked, unavailable) propagates: it is the reason.
    if (versionless) current = provider.check({binding.key_id, binding.identity});
    if (!current.empty() && current == header.versioned_key_id) return current;
    throw TrustError("the volume header's key version " + shown(header.versioned_key_id) + " is neither the one " +
                     "this host's binding " + config::binding_path(binding.volume_id) + " records (" +
                     shown(binding.versioned_key_id) + ") nor the current version of " + shown(binding.key_id) +
                     (current.empty() ? std::string() : " (" + shown(current) + ")") +
                     "; refusing it. If that version is legitimate, trust it with `cmkfs trust`.");
}

std::unique_ptr<keys::KeyProvider> load_bound_provider(const config::VolumeBinding &binding,
                                                       const std::map<std::string, std::string> &extra,
                                                       const std::string &provider_override) {
    auto options = binding.provider_options;
    for (const auto &[k, v] : extra) options[k] = v;
    std::vector<std::string> list;
    list.reserve(options.size());
    for (const auto &[k, v] : options) {
        std::string option = k;
        option += '=';
        option += v;
        list.push_back(std::move(option));
    }
    return keys::load_provider(provider_override.empty() ? binding.provider : provider_override, list);
}

config::VolumeBinding binding_from_header(const format::VolumeHeader &header, const std::string &commitment) {
    config::VolumeBinding b;
    b.volume_id = header.volume_id;
    b.provider = header.provider;
    b.provider_options = header.provider_options;
    b.key_id = header.key_id;
    b.versioned_key_id = header.versioned_key_id;
    b.identity = header.identity;
    b.key_commitment = commitment;
    return b;
}

std::vector<std::string> header_requests(const format::VolumeHeader &header) {
    std::vector<std::string> out;
    out.push_back("volume_id: " + shown(header.volume_id));
    out.push_back("provider: " + shown(header.provider));
    for (const auto &[k, v] : header.provider_options) out.push_back("provider_options." + k + ": " + shown(v));
    out.push_back("key_id: " + shown(header.key_id));
    out.push_back("versioned_key_id: " + shown(header.versioned_key_id));
    out.push_back("identity: " + shown(header.identity));
    return out;
}

std::string trust_hint(const std::string &backing) {
    return "run `cmkfs trust " + shell_quote(backing) +
           " --provider PROVIDER --key-encryption-key KEY_ID --identity IDENTITY` stating the provider, key and "
           "identity you expect this store to use (or `cmkfs trust " + shell_quote(backing) +
           "` to review what its header asks for)";
}

TrustAnchor anchor_for(const config::VolumeBinding &binding) {
    TrustAnchor anchor;
    anchor.key_commitment = binding.key_commitment;
    anchor.pending_key_commitment = binding.pending_key_commitment;
    // What the binding says now: rotations change it as they go.
    auto current = std::make_shared<config::VolumeBinding>(binding);
    // A rotation changes the key settings, never the volume key (the
    // commitment stays); a re-encryption changes the key (pending, then
    // committed) and keeps the settings.
    anchor.prepare = [current](const format::VolumeHeader &header) {
        config::VolumeBinding next = *current;
        next.rotating = binding_from_header(header, "").settings();
        config::save_binding(next);
        *current = std::move(next);
    };
    anchor.record = [current](const format::VolumeHeader &header, const TrustAnchor &now) {
        config::VolumeBinding next = binding_from_header(header, now.key_commitment);
        next.pending_key_commitment = now.pending_key_commitment;
        config::save_binding(next);
        *current = std::move(next);
    };
    anchor.check = [current](const format::VolumeHeader &header) {
        const std::string origin = config::binding_path(current->volume_id);
        accept_header(header, *current, origin);
        if (header.versioned_key_id != current->versioned_key_id)
            throw TrustError(origin + ": the volume header now names key version " + shown(header.versioned_key_id) +
                             ", the binding " + shown(current->versioned_key_id) + "; refusing it");
    };
    return anchor;
}

std::unique_ptr<keys::KeyProvider> bind_volume(Volume &volume, const std::map<std::string, std::string> &extra,
                                               const std::string &provider_override) {
    const format::VolumeHeader &header = volume.header();
    try {
        (void)config::binding_path(header.volume_id);
    } catch (const UsageError &e) {
        // A malformed volume id comes from the header: the header is bad.
        throw TrustError(volume.header_path() + ": " + e.what());
    }
    std::optional<config::VolumeBinding> binding = config::load_binding(header.volume_id);
    if (!binding)
        throw TrustError(volume.header_path() + ": no trust binding for volume " + header.volume_id + " in " +
                         config::volumes_dir() + " (this host has not trusted the store); " +
                         trust_hint(volume.backing()));
    accept_header(header, *binding, volume.header_path());
    auto provider = load_bound_provider(*binding, extra, provider_override);
    const std::string versioned = resolve_versioned_key_id(header, *binding, *provider);
    if (versioned != binding->versioned_key_id) {
        // Another host followed a rotation that the provider confirms.
        binding->versioned_key_id = versioned;
        config::save_binding(*binding);
    }
    volume.set_trust_anchor(anchor_for(*binding));
    return provider;
}

TrustedVolume open_trusted_volume(const std::string &backing, const std::map<std::string, std::string> &extra,
                                  const std::string &provider_override) {
    TrustedVolume out;
    out.volume = std::make_unique<Volume>(backing);
    out.provider = bind_volume(*out.volume, extra, provider_override);
    return out;
}

}  // namespace cmkfs::store
