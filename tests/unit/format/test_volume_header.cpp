// Volume header (format/volume_header.h): a JSON document whose every field
// is authenticated by HMAC-SHA256 over its canonical form.
#include <catch2/catch.hpp>

#include <functional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "crypto/encoding.h"
#include "format/volume_header.h"
#include "unit/format/format_test_util.h"
#include "util/errors.h"

namespace format = cmkfs::format;
using nlohmann::json;
using Catch::Matchers::Contains;

namespace {

format::VolumeHeader sample_header() {
    format::VolumeHeader h;
    h.volume_id = "0123456789abcdef0123456789abcdef";
    h.provider = "local";
    h.provider_options = {{"vault", "/var/lib/cmkfs/vault"}, {"audit", "/var/log/a.log"}};
    h.key_id = "local:///var/lib/cmkfs/vault/keys/k";
    h.versioned_key_id = "local:///var/lib/cmkfs/vault/keys/k/00112233445566778899aabbccddeeff";
    h.identity = "registry-id";
    h.wrapped_key = std::vector<uint8_t>(40, 0x5c);
    h.created = "2024-05-06T07:08:09Z";
    h.last_rotation = "";
    for (size_t i = 0; i < h.root_dir_id.size(); ++i) h.root_dir_id[i] = static_cast<uint8_t>(i * 3);
    return h;
}

// One plausible, well-formed edit per member of the document.
struct Edit {
    const char *field;
    std::function<void(json &)> apply;
};
const std::vector<Edit> &edits() {
    static const std::vector<Edit> list = {
        {"volume_id", [](json &j) { j["volume_id"] = "ffffffffffffffffffffffffffffffff"; }},
        {"plaintext_names", [](json &j) { j["plaintext_names"] = true; }},
        {"shared_storage", [](json &j) { j["shared_storage"] = !j["shared_storage"].get<bool>(); }},
        {"provider", [](json &j) { j["provider"] = "/tmp/evil.so"; }},
        {"provider_options", [](json &j) { j["provider_options"]["vault"] = "/tmp/other"; }},
        {"provider_options", [](json &j) { j["provider_options"]["extra"] = "1"; }},
        {"provider_options", [](json &j) { j["provider_options"].erase("audit"); }},
        {"key_id", [](json &j) { j["key_id"] = "local:///var/lib/cmkfs/vault/keys/other"; }},
        {"versioned_key_id", [](json &j) { j["versioned_key_id"] = j["key_id"]; }},
        {"identity", [](json &j) { j["identity"] = "attacker"; }},
        {"wrapped_key", [](json &j) { j["wrapped_key"] = cmkfs::crypto::base64url_encode(std::vector<uint8_t>(40, 1)); }},
        {"created", [](json &j) { j["created"] = "2020-01-01T00:00:00Z"; }},
        {"last_rotation", [](json &j) { j["last_rotation"] = "2025-01-01T00:00:00Z"; }},
        {"root_dir_id", [](json &j) { j["root_dir_id"] = "00000000000000000000000000000000"; }},
        {"mac", [](json &j) { j["mac"] = std::string(64, '0'); }},
    };
    return list;
}

}  // namespace

TEST_CASE("volume header seal/parse/verify round trip", "[format][header]") {
    auto keys = cmkfs::test::random_volume_keys();
    auto h = sample_header();
    std::string text = format::seal_volume_header(h, keys.header_mac());
    CHECK(h.mac.size() == 64);
    auto p = format::parse_volume_header(text, "test");
    CHECK(p.format_version == format::kFormatVersion);
    CHECK(p.volume_id == h.volume_id);
    CHECK(p.cipher_suite == "AES-256-GCM/4096+AES-256-SIV+HKDF-SHA256");
    CHECK(p.block_size == 4096);
    CHECK(p.plaintext_names == h.plaintext_names);
    CHECK(p.provider == h.provider);
    CHECK(p.provider_options == h.provider_options);
    CHECK(p.key_id == h.key_id);
    CHECK(p.versioned_key_id == h.versioned_key_id);
    CHECK(p.identity == h.identity);
    CHECK(p.wrapped_key == h.wrapped_key);
    CHECK(p.created == h.created);
    CHECK(p.last_rotation == h.last_rotation);
    CHECK(p.root_dir_id == h.root_dir_id);
    CHECK(p.mac == h.mac);
    CHECK_NOTHROW(format::verify_volume_header(p, keys.header_mac(), "test"));
    CHECK(p.key_rotation_enabled());
    CHECK(p.provider_option_list() == std::vector<std::string>{"audit=/var/log/a.log", "vault=/var/lib/cmkfs/vault"});

    // The document holds exactly the documented members.
    json j = json::parse(text);
    std::vector<std::string> members;
    for (auto it = j.begin(); it != j.end(); ++it) members.push_back(it.key());
    CHECK(members == std::vector<std::string>{"block_size", "cipher_suite", "created", "format_version",
                                              "identity", "key_id", "last_rotation", "mac",
                                              "plaintext_names", "provider", "provider_options",
                                              "root_dir_id", "shared_storage", "versioned_key_id",
                                              "volume_id", "wrapped_key"});
    CHECK(j["root_dir_id"] == cmkfs::crypto::hex_encode(h.root_dir_id));
}

TEST_CASE("the MAC covers the canonical form, not the file's layout", "[format][header]") {
    auto keys = cmkfs::test::random_volume_keys();
    auto h = sample_header();
    json j = json::parse(format::seal_volume_header(h, keys.header_mac()));
    for (int indent : {-1, 0, 7}) {
        auto p = format::parse_volume_header(j.dump(indent), "reformatted");
        CHECK_NOTHROW(format::verify_volume_header(p, keys.header_mac(), "reformatted"));
    }
    // Unknown members are ignored by readers and not authenticated: a later
    // format that adds meaning to a member must raise format_version.
    j["comment"] = "added by hand";
    auto p = format::parse_volume_header(j.dump(), "extra");
    CHECK_NOTHROW(format::verify_volume_header(p, keys.header_mac(), "extra"));
}

TEST_CASE("editing any single field of the header fails verification", "[format][header]") {
    auto keys = cmkfs::test::random_volume_keys();
    auto h = sample_header();
    const json original = json::parse(format::seal_volume_header(h, keys.header_mac()));
    std::set<std::string> covered;
    for (const auto &edit : edits()) {
        json j = original;
        edit.apply(j);
        REQUIRE(j != original);
        covered.insert(edit.field);
        INFO("edited " << edit.field);
        auto p = format::parse_volume_header(j.dump(2), "edited");
        CHECK_THROWS_AS(format::verify_volume_header(p, keys.header_mac(), "edited"), cmkfs::IntegrityError);
    }
    // Fields a reader refuses outright instead of authenticating.
    const std::vector<std::pair<std::string, json>> refused = {
        {"format_version", 4}, {"cipher_suite", "AES-128-CBC"}, {"block_size", 8192}};
    for (const auto &[field, value] : refused) {
        json j = original;
        j[field] = value;
        covered.insert(field);
        INFO("edited " << field);
        CHECK_THROWS_AS(format::parse_volume_header(j.dump(), "edited"), cmkfs::IntegrityError);
    }
    // Every member of the document was edited once.
    for (auto it = original.begin(); it != original.end(); ++it) {
        INFO("member " << it.key());
        CHECK(covered.count(it.key()) == 1);
    }
}

TEST_CASE("editing any field of the parsed struct fails verification", "[format][header]") {
    auto keys = cmkfs::test::random_volume_keys();
    auto h = sample_header();
    format::seal_volume_header(h, keys.header_mac());
    const std::vector<std::function<void(format::VolumeHeader &)>> mutations = {
        [](auto &x) { x.format_version = x.format_version == 1 ? 2 : 1; },
        [](auto &x) { x.volume_id[0] = 'f'; },
        [](auto &x) { x.cipher_suite += "x"; },
        [](auto &x) { x.block_size = 8192; },
        [](auto &x) { x.plaintext_names = !x.plaintext_names; },
        [](auto &x) { x.shared_storage = !x.shared_storage; },
        [](auto &x) { x.provider += "x"; },
        [](auto &x) { x.provider_options["k"] = "v"; },
        [](auto &x) { x.key_id += "x"; },
        [](auto &x) { x.versioned_key_id += "x"; },
        [](auto &x) { x.identity += "x"; },
        [](auto &x) { x.wrapped_key.back() ^= 1; },
        [](auto &x) { x.created[0] = '1'; },
        [](auto &x) { x.last_rotation = "now"; },
        [](auto &x) { x.root_dir_id[15] ^= 1; },
        [](auto &x) { x.mac[0] = x.mac[0] == '0' ? '1' : '0'; },
    };
    for (size_t i = 0; i < mutations.size(); ++i) {
        auto copy = h;
        mutations[i](copy);
        INFO("mutation " << i);
        CHECK_THROWS_AS(format::verify_volume_header(copy, keys.header_mac(), "struct"), cmkfs::IntegrityError);
    }
}

TEST_CASE("a header verified with another volume key fails", "[format][header]") {
    auto keys = cmkfs::test::random_volume_keys();
    auto other = cmkfs::test::random_volume_keys();
    auto h = sample_header();
    auto p = format::parse_volume_header(format::seal_volume_header(h, keys.header_mac()), "test");
    CHECK_THROWS_WITH(format::verify_volume_header(p, other.header_mac(), "/b/.cmkfs.volume"),
                      Contains("/b/.cmkfs.volume") && Contains("failed authentication"));
}

TEST_CASE("unknown format versions are refused at parse", "[format][header]") {
    auto keys = cmkfs::test::random_volume_keys();
    auto h = sample_header();
    json j = json::parse(format::seal_volume_header(h, keys.header_mac()));
    for (int version : {0, 4, 99}) {
        j["format_version"] = version;
        INFO("version " << version);
        CHECK_THROWS_WITH(format::parse_volume_header(j.dump(), "v.json"),
                          Contains("v.json") && Contains("format version " + std::to_string(version)));
    }
}

TEST_CASE("format versions 1, 2 and 3 parse (version-1 stores still mount)", "[format][header]") {
    auto keys = cmkfs::test::random_volume_keys();
    auto h = sample_header();
    json j = json::parse(format::seal_volume_header(h, keys.header_mac()));
    for (int version : {1, 2, 3}) {
        j["format_version"] = version;
        INFO("version " << version);
        CHECK(format::parse_volume_header(j.dump(), "v.json").format_version == static_cast<uint32_t>(version));
    }
}

TEST_CASE("malformed header documents are refused at parse", "[format][header]") {
    auto keys = cmkfs::test::random_volume_keys();
    auto h = sample_header();
    const json good = json::parse(format::seal_volume_header(h, keys.header_mac()));
    CHECK_THROWS_AS(format::parse_volume_header("", "x"), cmkfs::IntegrityError);
    CHECK_THROWS_AS(format::parse_volume_header("{", "x"), cmkfs::IntegrityError);
    CHECK_THROWS_AS(format::parse_volume_header("[]", "x"), cmkfs::IntegrityError);
    CHECK_THROWS_AS(format::parse_volume_header("null", "x"), cmkfs::IntegrityError);
    for (auto it = good.begin(); it != good.end(); ++it) {
        json j = good;
        j.erase(it.key());
        INFO("without " << it.key());
        CHECK_THROWS_AS(format::parse_volume_header(j.dump(), "x"), cmkfs::IntegrityError);
        j = good;
        j[it.key()] = 12345;
        INFO("with a number for " << it.key());
        CHECK_THROWS_AS(format::parse_volume_header(j.dump(), "x"), cmkfs::IntegrityError);
    }
    json j = good;
    j["wrapped_key"] = "not base64!";
    CHECK_THROWS_AS(format::parse_volume_header(j.dump(), "x"), cmkfs::IntegrityError);
    j = good;
    j["wrapped_key"] = "";
    CHECK_THROWS_AS(format::parse_volume_header(j.dump(), "x"), cmkfs::IntegrityError);
    j = good;
    j["root_dir_id"] = "0011";
    CHECK_THROWS_AS(format::parse_volume_header(j.dump(), "x"), cmkfs::IntegrityError);
    j = good;
    j["root_dir_id"] = std::string(32, 'g');
    CHECK_THROWS_AS(format::parse_volume_header(j.dump(), "x"), cmkfs::IntegrityError);
}

TEST_CASE("key rotation follows a version-less key id", "[format][header]") {
    auto h = sample_header();
    CHECK(h.key_rotation_enabled());
    h.key_id = h.versioned_key_id;
    CHECK_FALSE(h.key_rotation_enabled());
}

TEST_CASE("timestamps are RFC 3339 UTC", "[format][header]") {
    std::string t = format::utc_now_rfc3339();
    REQUIRE(t.size() == 20);
    CHECK(t[4] == '-');
    CHECK(t[10] == 'T');
    CHECK(t[19] == 'Z');
}

TEST_CASE("header numbers must be the integers they claim to be, keys unique", "[format][header]") {
    auto keys = cmkfs::test::random_volume_keys();
    auto h = sample_header();
    // Compact text, so one member is one replaceable substring.
    const std::string good = json::parse(format::seal_volume_header(h, keys.header_mac())).dump();
    const std::string version_member = "\"format_version\":" + std::to_string(h.format_version);
    REQUIRE_NOTHROW(format::parse_volume_header(good, "x"));
    auto with = [&](const std::string &from, const std::string &to) {
        std::string text = good;
        const auto at = text.find(from);
        REQUIRE(at != std::string::npos);
        return text.replace(at, from.size(), to);
    };
    struct Case {
        std::string from, to, message;
    };
    const std::vector<Case> cases = {
        {version_member, "\"format_version\":-1", "format_version must be an unsigned 32-bit integer, got -1"},
        {version_member, "\"format_version\":1.0", "format_version must be an unsigned 32-bit integer"},
        {version_member, "\"format_version\":1e0", "format_version must be an unsigned 32-bit integer"},
        {version_member, "\"format_version\":\"1\"", "format_version must be an unsigned 32-bit integer"},
        {version_member, "\"format_version\":4294967297", "format_version must be an unsigned 32-bit integer"},
        {version_member, "\"format_version\":true", "format_version must be an unsigned 32-bit integer"},
        {"\"block_size\":4096", "\"block_size\":4096.5", "block_size must be an unsigned 32-bit integer, got 4096.5"},
        {"\"block_size\":4096", "\"block_size\":4096.0", "block_size must be an unsigned 32-bit integer"},
        {"\"block_size\":4096", "\"block_size\":-4096", "block_size must be an unsigned 32-bit integer"},
        {"\"block_size\":4096", "\"block_size\":\"4096\"", "block_size must be an unsigned 32-bit integer"},
        // 2^32 + 4096 would wrap to 4096 as a uint32_t.
        {"\"block_size\":4096", "\"block_size\":4294971392", "block_size must be an unsigned 32-bit integer"},
        {"\"plaintext_names\":false", "\"plaintext_names\":0", "type must be boolean"},
        // Duplicates: the parser would keep the last one silently.
        {"\"block_size\":4096", "\"block_size\":4096,\"block_size\":4096", "key \"block_size\" appears twice"},
        {"\"provider\":\"local\"", "\"provider\":\"local\",\"provider\":\"exec\"", "key \"provider\" appears twice"},
        {"\"vault\":", "\"vault\":\"/x\",\"vault\":", "key \"vault\" appears twice"},
    };
    for (const auto &c : cases) {
        const std::string text = with(c.from, c.to);
        INFO(text);
        CHECK_THROWS_AS(format::parse_volume_header(text, "/b/.cmkfs.volume"), cmkfs::IntegrityError);
        CHECK_THROWS_WITH(format::parse_volume_header(text, "/b/.cmkfs.volume"),
                          Contains("/b/.cmkfs.volume: not a valid cmkfs volume header") && Contains(c.message));
    }
}

TEST_CASE("the set of supported format versions is one list", "[format][header]") {
    for (uint32_t v : format::kSupportedFormatVersions) CHECK(format::is_supported_format_version(v));
    CHECK_FALSE(format::is_supported_format_version(0));
    CHECK_FALSE(format::is_supported_format_version(UINT32_MAX));
    CHECK(format::supported_format_versions_text().find('1') != std::string::npos);
}

TEST_CASE("shared_storage: authenticated from format 3 on, absent before", "[format][header]") {
    auto keys = cmkfs::test::random_volume_keys();
    auto h = sample_header();
    h.shared_storage = true;
    json j = json::parse(format::seal_volume_header(h, keys.header_mac()));
    CHECK(j.at("shared_storage") == true);
    CHECK(format::parse_volume_header(j.dump(), "v3").shared_storage);
    // A format-3 header must say it: a missing or non-boolean member is refused.
    for (const json &bad : {json(nullptr), json(1), json("true")}) {
        json k = j;
        if (bad.is_null()) k.erase("shared_storage");
        else k["shared_storage"] = bad;
        INFO(k.dump());
        CHECK_THROWS_WITH(format::parse_volume_header(k.dump(), "v.json"), Contains("shared_storage"));
    }
    // A version-2 header keeps its members (and MAC): shared_storage is not one.
    h.format_version = 2;
    json v2 = json::parse(format::seal_volume_header(h, keys.header_mac()));
    CHECK_FALSE(v2.contains("shared_storage"));
    v2["shared_storage"] = true;  // unknown to version 2: ignored, not authenticated
    auto p = format::parse_volume_header(v2.dump(), "v2");
    CHECK_FALSE(p.shared_storage);
    CHECK_NOTHROW(format::verify_volume_header(p, keys.header_mac(), "v2"));
}
