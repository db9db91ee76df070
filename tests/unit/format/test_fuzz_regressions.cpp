// Inputs the fuzz targets found (fuzz/regressions/, docs/fuzzing.md) replayed
// through the normal tree's parsers, each asserting the documented refusal.
// The fuzz binaries replay the same files in scripts/fuzz.sh; these tests
// also run in the sanitizer tree, where undefined behaviour aborts.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "crypto/secure_bytes.h"
#include "format/volume_header.h"
#include "util/errors.h"

namespace format = cmkfs::format;
namespace fsys = std::filesystem;
using Catch::Matchers::Contains;

namespace {

std::vector<std::string> regression_inputs(const std::string &target) {
    const char *source = std::getenv("CMKFS_SOURCE_DIR");
    REQUIRE(source != nullptr);
    std::vector<std::string> out;
    for (const auto &entry : fsys::directory_iterator(fsys::path(source) / "fuzz/regressions" / target)) {
        std::ifstream in(entry.path(), std::ios::binary);
        std::stringstream text;
        text << in.rdbuf();
        out.push_back(text.str());
    }
    REQUIRE(!out.empty());
    return out;
}

// A well-formed header document with one member replaced by `literal`.
std::string header_with(const std::string &field, const std::string &literal) {
    format::VolumeHeader h;
    h.volume_id = "0123456789abcdef0123456789abcdef";
    h.provider = "local";
    h.key_id = "k";
    h.versioned_key_id = "k/1";
    h.wrapped_key = std::vector<uint8_t>(40, 0x5c);
    const std::vector<uint8_t> zero(32, 0);
    auto doc = nlohmann::json::parse(format::seal_volume_header(h, cmkfs::crypto::HeaderMacKey(cmkfs::crypto::SecureBytes(zero))));
    doc[field] = nullptr;
    std::string text = doc.dump();
    const std::string placeholder = "\"" + field + "\":null";
    return text.replace(text.find(placeholder), placeholder.size(), "\"" + field + "\":" + literal);
}

}  // namespace

TEST_CASE("fuzz regressions: volume headers are refused, never converted", "[format][fuzz]") {
    for (const auto &input : regression_inputs("volume_header"))
        CHECK_THROWS_AS(format::parse_volume_header(input, "b/.cmkfs.volume"), cmkfs::IntegrityError);

    // 40e96 does not fit a uint32_t: converting it was undefined behaviour.
    for (const auto &[field, literal] : std::vector<std::pair<std::string, std::string>>{
             {"block_size", "40e96"}, {"block_size", "4096.5"}, {"block_size", "4096.0"},
             {"block_size", "4294971392"}, {"format_version", "-1"}, {"format_version", "1.0"}}) {
        INFO(field << ": " << literal);
        CHECK_THROWS_WITH(format::parse_volume_header(header_with(field, literal), "b/.cmkfs.volume"),
                          Contains(field + " must be an unsigned 32-bit integer"));
    }
    CHECK(format::parse_volume_header(header_with("block_size", "4096"), "b").block_size == 4096);
}
