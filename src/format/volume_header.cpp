#include "format/volume_header.h"

#include <algorithm>
#include <chrono>
#include <climits>
#include <cstdint>
#include <ctime>
#include <optional>
#include <set>

#include <nlohmann/json.hpp>

#include "crypto/encoding.h"
#include "crypto/kdf.h"
#include "util/errors.h"

namespace cmkfs::format {

namespace {

using nlohmann::json;

// Everything but the MAC, in one canonical form (nlohmann sorts keys).
json authenticated_fields(const VolumeHeader &h) {
    json j{
        {"format_version", h.format_version},
        {"volume_id", h.volume_id},
        {"cipher_suite", h.cipher_suite},
        {"block_size", h.block_size},
        {"plaintext_names", h.plaintext_names},
        {"provider", h.provider},
        {"provider_options", h.provider_options},
        {"key_id", h.key_id},
        {"versioned_key_id", h.versioned_key_id},
        {"identity", h.identity},
        {"wrapped_key", crypto::base64url_encode(h.wrapped_key)},
        {"created", h.created},
        {"last_rotation", h.last_rotation},
        {"root_dir_id", crypto::hex_encode(h.root_dir_id)},
    };
    // Only from version 3 on: older headers keep exactly their members (and MACs).
    if (h.format_version >= kSharedStorageVersion) j["shared_storage"] = h.shared_storage;
    return j;
}

std::string compute_mac(const VolumeHeader &h, const crypto::HeaderMacKey &key) {
    std::string canonical = authenticated_fields(h).dump();
    return crypto::hex_encode(crypto::hmac_sha256(key.bytes(), crypto::as_bytes(canonical)));
}

[[noreturn]] void malformed(const std::string &origin, const std::string &why) {
    throw IntegrityError(origin + ": not a valid cmkfs volume header: " + why);
}

// nlohmann's get<uint32_t>() converts 4096.5 to 4096 and wraps -1 to
// 4294967295: the header is attacker input before its MAC is checked, so a
// number must be written as the non-negative integer it is.
uint32_t unsigned_field(const json &j, const char *key, const std::string &origin) {
    const json &v = j.at(key);
    if (!v.is_number_unsigned() || v.get<uint64_t>() > UINT32_MAX)
        malformed(origin, std::string(key) + " must be an unsigned 32-bit integer, got " + v.dump());
    return v.get<uint32_t>();
}

// The parser keeps the last of two equal keys; a header with two is not one
// cmkfs wrote, and which of them counts must not be a parser's choice. Parses
// `text` (discarded on a syntax error) and records the first repeated key.
json parse_recording_duplicates(const std::string &text, std::optional<std::string> &duplicate) {
    std::vector<std::set<std::string>> open_objects;
    auto watch = [&](int, json::parse_event_t event, json &parsed) {
        if (event == json::parse_event_t::object_start) open_objects.emplace_back();
        else if (event == json::parse_event_t::object_end && !open_objects.empty()) open_objects.pop_back();
        else if (event == json::parse_event_t::key && !open_objects.empty() &&
                 !open_objects.back().insert(parsed.get<std::string>()).second && !duplicate)
            duplicate = parsed.get<std::string>();
        return true;
    };
    return json::parse(text, watch, /*allow_exceptions=*/false);
}

}  // namespace

bool is_supported_format_version(uint32_t version) {
    return std::find(kSupportedFormatVersions.begin(), kSupportedFormatVersions.end(), version) !=
           kSupportedFormatVersions.end();
}

std::string supported_format_versions_text() {
    std::string out;
    for (uint32_t v : kSupportedFormatVersions) out += (out.empty() ? "" : ", ") + std::to_string(v);
    return out;
}

bool VolumeHeader::key_rotation_enabled() const { return key_id != versioned_key_id; }

std::vector<std::string> VolumeHeader::provider_option_list() const {
    std::vector<std::string> out;
    for (const auto &[k, v] : provider_options) out.push_back(k + "=" + v);
    return out;
}

VolumeHeader parse_volume_header(const std::string &json_text, const std::string &origin) {
    std::optional<std::string> duplicate;
    json j = parse_recording_duplicates(json_text, duplicate);
    if (j.is_discarded() || !j.is_object()) malformed(origin, "not a JSON object");
    if (duplicate) malformed(origin, "key \"" + *duplicate + "\" appears twice");
    VolumeHeader h;
    try {
        h.format_version = unsigned_field(j, "format_version", origin);
        if (!is_supported_format_version(h.format_version))
            malformed(origin, "format version " + std::to_string(h.format_version) +
                                  " is not supported by this cmkfs (supports " +
                                  supported_format_versions_text() + ")");
        h.volume_id = j.at("volume_id").get<std::string>();
        h.cipher_suite = j.at("cipher_suite").get<std::string>();
        h.block_size = unsigned_field(j, "block_size", origin);
        h.plaintext_names = j.at("plaintext_names").get<bool>();
        h.provider = j.at("provider").get<std::string>();
        h.provider_options = j.at("provider_options").get<std::map<std::string, std::string>>();
        h.key_id = j.at("key_id").get<std::string>();
        h.versioned_key_id = j.at("versioned_key_id").get<std::string>();
        h.identity = j.at("identity").get<std::string>();
        auto wrapped = crypto::base64url_decode(j.at("wrapped_key").get<std::string>());
        if (!wrapped || wrapped->empty()) malformed(origin, "wrapped_key is not base64url");
        h.wrapped_key = std::move(*wrapped);
        h.created = j.at("created").get<std::string>();
        h.last_rotation = j.at("last_rotation").get<std::string>();
        auto dir_id = crypto::hex_decode(j.at("root_dir_id").get<std::string>());
        if (!dir_id || dir_id->size() != kDirIdSize) malformed(origin, "root_dir_id is not 32 hex chars");
        std::copy(dir_id->begin(), dir_id->end(), h.root_dir_id.begin());
        h.mac = j.at("mac").get<std::string>();
        if (h.format_version >= kSharedStorageVersion) {
            const json &shared = j.at("shared_storage");
            if (!shared.is_boolean()) malformed(origin, "shared_storage must be true or false, got " + shared.dump());
            h.shared_storage = shared.get<bool>();
        }
    } catch (const json::exception &e) {
        malformed(origin, e.what());
    }
    if (h.cipher_suite != kCipherSuite) malformed(origin, "unknown cipher suite " + h.cipher_suite);
    if (h.block_size != kBlockPlainSize) malformed(origin, "unsupported block size");
    return h;
}

std::string seal_volume_header(VolumeHeader &header, const crypto::HeaderMacKey &key) {
    header.mac = compute_mac(header, key);
    json j = authenticated_fields(header);
    j["mac"] = header.mac;
    return j.dump(2) + "\n";
}

void verify_volume_header(const VolumeHeader &header, const crypto::HeaderMacKey &key,
                          const std::string &origin) {
    std::string expected = compute_mac(header, key);
    if (!crypto::equal_ct(crypto::as_bytes(expected), crypto::as_bytes(header.mac)))
        throw IntegrityError(origin +
                             ": volume header failed authentication (a field was edited, or it "
                             "belongs to another volume key)");
}

std::string rfc3339(std::chrono::system_clock::time_point t) {
    std::time_t secs = std::chrono::system_clock::to_time_t(t);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

std::string utc_now_rfc3339() { return rfc3339(std::chrono::system_clock::now()); }

}  // namespace cmkfs::format
