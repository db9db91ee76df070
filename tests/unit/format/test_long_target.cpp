// Format 3 long symlink targets (format/long_target.h, docs/FORMAT.md §6.2):
// the marker is parsed in its one canonical form only, and a sealed target
// opens for its link id and place only.
#include <catch2/catch.hpp>

#include <string>

#include "format/long_target.h"
#include "format_test_util.h"

namespace format = cmkfs::format;
using cmkfs::test::dir_id;
using cmkfs::test::link_id;

TEST_CASE("long-target markers round-trip and nothing else parses", "[format][long-target]") {
    const format::LongTargetRef ref{link_id(0x42), 4001};
    const std::string marker = format::long_target_marker(ref);
    CHECK(marker == ".cmkfs.target.QkJCQkJCQkJCQkJCQkJCQg.4001");
    CHECK(format::parse_long_target_marker(marker) == ref);
    CHECK(format::long_target_sidecar_name(ref.id) == ".cmkfs.target.QkJCQkJCQkJCQkJCQkJCQg");
    CHECK(format::is_long_target_sidecar(format::long_target_sidecar_name(ref.id)));
    CHECK_FALSE(format::is_long_target_sidecar(marker));
    CHECK(format::parse_long_target_marker(".cmkfs.target.QkJCQkJCQkJCQkJCQkJCQg.1")->length == 1);
    CHECK(format::parse_long_target_marker(".cmkfs.target.QkJCQkJCQkJCQkJCQkJCQg.4095")->length == 4095);
    for (const char *bad : {
             ".cmkfs.target.QkJCQkJCQkJCQkJCQkJCQg.4096",   // longer than a target can be
             ".cmkfs.target.QkJCQkJCQkJCQkJCQkJCQg.0401",   // leading zero
             ".cmkfs.target.QkJCQkJCQkJCQkJCQkJCQg.0",      // zero
             ".cmkfs.target.QkJCQkJCQkJCQkJCQkJCQg.",       // no length
             ".cmkfs.target.QkJCQkJCQkJCQkJCQkJCQg.40a1",   // not decimal
             ".cmkfs.target.QkJCQkJCQkJCQkJCQkJCQh.4001",   // non-canonical base64url (low bits set)
             ".cmkfs.target.QkJCQkJCQkJCQkJCQkJCQ.4001",    // id too short
             ".cmkfs.target.QkJCQkJCQkJCQkJCQkJCQg+4001",   // separator
             ".cmkfs.targetsQkJCQkJCQkJCQkJCQkJCQg.4001",   // prefix
             "QkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQg",  // a sealed target's alphabet
         }) {
        INFO(bad);
        CHECK_FALSE(format::parse_long_target_marker(bad));
    }
}

TEST_CASE("a long target opens only for its link id and place", "[format][long-target]") {
    auto keys = cmkfs::test::random_volume_keys();
    const auto here = format::Place::in(dir_id(1), "link");
    const std::string target(4000, 't');
    const std::string sealed = format::seal_long_target(keys.meta(), link_id(7), here, target);
    CHECK(sealed.size() == target.size() + 28);
    CHECK(format::open_long_target(keys.meta(), link_id(7), here, sealed) == target);
    CHECK_FALSE(format::open_long_target(keys.meta(), link_id(8), here, sealed));
    CHECK_FALSE(format::open_long_target(keys.meta(), link_id(7), format::Place::in(dir_id(2), "link"), sealed));
    CHECK_FALSE(format::open_long_target(keys.meta(), link_id(7), format::Place::in(dir_id(1), "lin"), sealed));
    CHECK_FALSE(format::open_long_target(cmkfs::test::random_volume_keys().meta(), link_id(7), here, sealed));
    std::string edited = sealed;
    edited[20] ^= 1;
    CHECK_FALSE(format::open_long_target(keys.meta(), link_id(7), here, edited));
    // A format-2 sealing of the same target at the same place is not a sidecar.
    CHECK_FALSE(format::open_long_target(keys.meta(), link_id(7), here,
                                         format::seal_symlink_target(2, keys.meta(), here, target)));
    CHECK(format::keeps_long_targets(3));
    CHECK_FALSE(format::keeps_long_targets(2));
}
