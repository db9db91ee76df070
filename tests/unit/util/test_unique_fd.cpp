// UniqueFd (util/unique_fd.h): one owner, closed exactly once.
#include <catch2/catch.hpp>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <type_traits>
#include <utility>

#include "util/unique_fd.h"

using cmkfs::UniqueFd;

namespace {
bool is_open(int fd) { return ::fcntl(fd, F_GETFD) != -1; }
int open_null() {
    int fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    REQUIRE(fd >= 0);
    return fd;
}
}  // namespace

static_assert(!std::is_copy_constructible_v<UniqueFd>);
static_assert(!std::is_copy_assignable_v<UniqueFd>);
static_assert(std::is_nothrow_move_constructible_v<UniqueFd>);

TEST_CASE("UniqueFd closes its descriptor when it goes out of scope", "[unique_fd]") {
    int raw = open_null();
    {
        UniqueFd fd(raw);
        CHECK(fd);
        CHECK(fd.get() == raw);
    }
    CHECK_FALSE(is_open(raw));
    CHECK(errno == EBADF);
}

TEST_CASE("UniqueFd default and negative values own nothing", "[unique_fd]") {
    UniqueFd none;
    CHECK_FALSE(none);
    CHECK(none.get() == -1);
    UniqueFd failed(-1);  // e.g. the result of a failed open()
    CHECK_FALSE(failed);
}

TEST_CASE("UniqueFd::release hands the descriptor back without closing it", "[unique_fd]") {
    int raw = open_null();
    {
        UniqueFd fd(raw);
        CHECK(fd.release() == raw);
        CHECK_FALSE(fd);
        CHECK(fd.get() == -1);
    }
    CHECK(is_open(raw));
    ::close(raw);
}

TEST_CASE("UniqueFd::reset closes the old descriptor and adopts the new one", "[unique_fd]") {
    int first = open_null(), second = open_null();
    UniqueFd fd(first);
    fd.reset(second);
    CHECK_FALSE(is_open(first));
    CHECK(is_open(second));
    CHECK(fd.get() == second);
    fd.reset();
    CHECK_FALSE(is_open(second));
    CHECK_FALSE(fd);
}

TEST_CASE("UniqueFd closes exactly once across moves", "[unique_fd]") {
    int raw = open_null();
    int reused = -1;
    {
        UniqueFd a(raw);
        UniqueFd b(std::move(a));
        CHECK_FALSE(a);  // NOLINT(bugprone-use-after-move): the moved-from state is specified
        CHECK(b.get() == raw);
        UniqueFd c;
        c = std::move(b);
        CHECK(c.get() == raw);
        c.reset();
        CHECK_FALSE(is_open(raw));
        // The kernel hands out the lowest free number: the same one again. If
        // a moved-from owner still thought it owned `raw`, leaving this scope
        // would close this unrelated descriptor.
        reused = open_null();
        REQUIRE(reused == raw);
    }
    CHECK(is_open(reused));
    ::close(reused);
}

TEST_CASE("UniqueFd move assignment closes what the target held", "[unique_fd]") {
    int first = open_null(), second = open_null();
    UniqueFd a(first), b(second);
    a = std::move(b);
    CHECK_FALSE(is_open(first));
    CHECK(a.get() == second);
    CHECK_FALSE(b);  // NOLINT(bugprone-use-after-move)
    UniqueFd &alias = a;
    a = std::move(alias);  // self-move keeps the descriptor open
    CHECK(a.get() == second);
    CHECK(is_open(second));
}
