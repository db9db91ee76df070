#include "store/rotation.h"

#include <algorithm>
#include <cctype>

#include "crypto/kdf.h"
#include "util/errors.h"
#include "util/fault.h"

namespace cmkfs::store {

namespace {

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
    return s;
}

bool ends_with(const std::string &s, std::string_view suffix) {
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// An option naming where a secret is (pin_file=, pin_env=) is fine; one whose
// value would be the secret is not.
bool names_a_secret(const std::string &option) {
    const std::string k = lower(option);
    if (ends_with(k, "_file") || ends_with(k, "_env") || ends_with(k, "_path")) return false;
    for (std::string_view word : {"pin", "password", "passphrase", "secret", "token", "apikey", "api_key"})
        if (k == word || ends_with(k, "_" + std::string(word))) return true;
    return false;
}

void fault(std::string_view step) { fault_point(kRotationFaultArea, step); }

}  // namespace

void refuse_secret_options(const std::map<std::string, std::string> &options) {
    for (const auto &[k, v] : options)
        if (names_a_secret(k))
            throw UsageError("provider option '" + k +
                             "' would store a secret in the volume header; give the secret as a file or "
                             "environment variable option instead (e.g. pin_file=, pin_env=)");
}

RotationTarget resolve_rotation_target(const format::VolumeHeader &current, const RotationRequest &request) {
    if (request.key_id.empty()) throw UsageError("rotate-key needs --key-encryption-key");
    RotationTarget t;
    t.key_id = request.key_id;
    t.identity = request.identity.value_or(current.identity);
    if (t.identity.empty()) throw UsageError("rotate-key: --identity must not be empty");
    t.provider = request.provider.value_or(current.provider);
    if (t.provider.empty()) throw UsageError("rotate-key: --provider must not be empty");
    if (request.provider || request.provider_options)
        t.provider_options = request.provider_options.value_or(std::map<std::string, std::string>{});
    else
        t.provider_options = current.provider_options;
    refuse_secret_options(t.provider_options);
    return t;
}

bool same_provider(const format::VolumeHeader &current, const RotationTarget &target) {
    return current.provider == target.provider && current.provider_options == target.provider_options;
}

std::unique_ptr<keys::KeyProvider> load_target_provider(const RotationTarget &target) {
    std::vector<std::string> list;
    for (const auto &[k, v] : target.provider_options) list.push_back(k + "=" + v);
    return keys::load_provider(target.provider, list);
}

format::VolumeHeader rewrap_volume_key(Volume &volume, const format::VolumeKeys &keys,
                                       keys::KeyProvider &provider, const RotationTarget &target) {
    format::VolumeHeader next = volume.header();
    const auto volume_key = keys.volume_key().bytes();

    fault("wrap");
    auto wrapped = provider.wrap({target.key_id, target.identity}, volume_key);
    const std::string versioned = wrapped.versioned_key_id.empty() ? target.key_id : wrapped.versioned_key_id;

    // Nothing is written until the new wrapping is proven to open.
    fault("verify");
    auto check = provider.unwrap({versioned, target.identity}, wrapped.wrapped);
    if (!crypto::equal_ct(check.span(), volume_key))
        throw std::runtime_error("provider " + provider.name() + " did not return the volume key on unwrap with " +
                                 versioned + "; the header was not changed");

    next.provider = target.provider;
    next.provider_options = target.provider_options;
    next.key_id = target.key_id;
    next.versioned_key_id = versioned;
    next.identity = target.identity;
    next.wrapped_key = std::move(wrapped.wrapped);
    next.last_rotation = format::utc_now_rfc3339();

    try {
        volume.write_header(next, keys.header_mac(), [](const char *step) { fault(step); });
        fault("commit");
    } catch (...) {
        try {
            volume.reload_header();  // the header in memory follows the disk
        } catch (...) {
        }
        throw;
    }
    return volume.header();
}

}  // namespace cmkfs::store
