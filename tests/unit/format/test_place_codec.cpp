// Place binding (format/place_codec.h): symlink targets and directory-id files
// of format v1 (unbound) and v2 (bound to parent id and plaintext name).
#include <catch2/catch.hpp>

#include "format/place_codec.h"
#include "format_test_util.h"

namespace format = cmkfs::format;
using cmkfs::test::dir_id;

TEST_CASE("v2 symlink targets open only at the place they were sealed for", "[format][place]") {
    auto keys = cmkfs::test::random_volume_keys();
    const auto here = format::Place::in(dir_id(1), "a.txt");
    const std::string sealed = format::seal_symlink_target(2, keys.meta(), here, "../target");
    CHECK(format::open_symlink_target(2, keys.meta(), here, sealed) == "../target");
    // Another name, another directory, the v1 AAD, another key: all refused.
    CHECK_FALSE(format::open_symlink_target(2, keys.meta(), format::Place::in(dir_id(1), "b.txt"), sealed));
    CHECK_FALSE(format::open_symlink_target(2, keys.meta(), format::Place::in(dir_id(2), "a.txt"), sealed));
    CHECK_FALSE(format::open_symlink_target(1, keys.meta(), here, sealed));
    CHECK_FALSE(format::open_symlink_target(2, cmkfs::test::random_volume_keys().meta(), here, sealed));
    // Length-prefixed: the boundary between parent id and name is fixed.
    CHECK_FALSE(format::open_symlink_target(2, keys.meta(), format::Place::in(dir_id(1), "a.tx"), sealed));
}

TEST_CASE("v1 symlink targets carry the constant AAD and open anywhere", "[format][place]") {
    auto keys = cmkfs::test::random_volume_keys();
    const std::string v1 = format::seal_symlink_target(1, keys.meta(), format::Place::in(dir_id(1), "x"), "t");
    CHECK(format::open_symlink_target(1, keys.meta(), format::Place::in(dir_id(9), "y"), v1) == "t");
    CHECK(cmkfs::format::NameCodec::open_text(keys.meta(), "symlink", v1) == "t");  // the v1 format exactly
    CHECK_FALSE(format::open_symlink_target(2, keys.meta(), format::Place::in(dir_id(1), "x"), v1));
    CHECK(format::symlink_aad(1, format::Place::in(dir_id(1), "x")) ==
          std::vector<uint8_t>{'s', 'y', 'm', 'l', 'i', 'n', 'k'});
    auto aad = format::symlink_aad(2, format::Place::in(dir_id(1), "xy"));
    REQUIRE(aad.size() == 7 + 16 + 2 + 2);
    CHECK(aad[23] == 0);
    CHECK(aad[24] == 2);
    CHECK(aad[25] == 'x');
}

TEST_CASE("v2 directory-id files are bound to their place", "[format][place]") {
    auto keys = cmkfs::test::random_volume_keys();
    const auto id = dir_id(0x42);
    const auto place = format::Place::in(dir_id(1), "sub");
    const auto file = format::encode_dir_id_file(2, keys.dir_ids(), id, place);
    REQUIRE(file.size() == format::kDirIdFileSizeV2);
    CHECK(std::equal(id.begin(), id.end(), file.begin()));
    CHECK(format::decode_dir_id_file(2, keys.dir_ids(), file, place) == id);
    CHECK_FALSE(format::decode_dir_id_file(2, keys.dir_ids(), file, format::Place::in(dir_id(1), "other")));
    CHECK_FALSE(format::decode_dir_id_file(2, keys.dir_ids(), file, format::Place::in(dir_id(2), "sub")));
    CHECK_FALSE(format::decode_dir_id_file(2, keys.dir_ids(), file, format::Place::root()));
    CHECK_FALSE(format::decode_dir_id_file(2, cmkfs::test::random_volume_keys().dir_ids(), file, place));
    auto edited = file;
    edited[0] ^= 1;  // another id with the old tag
    CHECK_FALSE(format::decode_dir_id_file(2, keys.dir_ids(), edited, place));
    // A v1 (16-byte) file is malformed in a v2 store, and the other way round.
    CHECK_FALSE(format::decode_dir_id_file(2, keys.dir_ids(), std::span(file).first(16), place));
    CHECK_FALSE(format::decode_dir_id_file(1, keys.dir_ids(), file, place));
    CHECK(format::unverified_dir_id(file) == id);

    const auto root = format::encode_dir_id_file(2, keys.dir_ids(), id, format::Place::root());
    CHECK(format::decode_dir_id_file(2, keys.dir_ids(), root, format::Place::root()) == id);
    CHECK_FALSE(format::decode_dir_id_file(2, keys.dir_ids(), root, place));
}

TEST_CASE("v1 directory-id files are the 16 raw bytes", "[format][place]") {
    auto keys = cmkfs::test::random_volume_keys();
    const auto id = dir_id(7);
    const auto file = format::encode_dir_id_file(1, keys.dir_ids(), id, format::Place::in(dir_id(1), "x"));
    CHECK(file == std::vector<uint8_t>(id.begin(), id.end()));
    CHECK(format::decode_dir_id_file(1, keys.dir_ids(), file, format::Place::in(dir_id(3), "y")) == id);
}
