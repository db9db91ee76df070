// The daemon's open-file limit (util/fd_limit.h).
#include <catch2/catch.hpp>
#include <sys/resource.h>

#include "util/fd_limit.h"

TEST_CASE("raise_open_file_limit lifts a low soft limit to at least the hard limit", "[fd_limit]") {
    rlimit original{};
    REQUIRE(::getrlimit(RLIMIT_NOFILE, &original) == 0);
    REQUIRE(original.rlim_max > 256);
    rlimit low{256, original.rlim_max};
    REQUIRE(::setrlimit(RLIMIT_NOFILE, &low) == 0);
    REQUIRE(cmkfs::open_file_limit() == 256);

    const uint64_t raised = cmkfs::raise_open_file_limit();
    rlimit now{};
    REQUIRE(::getrlimit(RLIMIT_NOFILE, &now) == 0);
    CHECK(raised == now.rlim_cur);
    CHECK(now.rlim_cur == now.rlim_max);
    CHECK(now.rlim_max >= original.rlim_max);  // root may raise the hard limit to fs.nr_open
    ::setrlimit(RLIMIT_NOFILE, &original);     // only if it went up: lowering is allowed
}
