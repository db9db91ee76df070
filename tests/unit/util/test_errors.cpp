// The error types of util/errors.h: errno carried, message readable.
#include <catch2/catch.hpp>

#include <cerrno>
#include <cstring>
#include <string>

#include "util/errors.h"

TEST_CASE("SystemError carries the errno and '<context>: <strerror>'", "[errors]") {
    for (int err : {ENOENT, EACCES, EIO, ENOSPC, EXDEV}) {
        cmkfs::SystemError e(err, "open /some/file");
        INFO("errno " << err << " message " << e.what());
        CHECK(e.error_number() == err);
        CHECK(std::string(e.what()) == std::string("open /some/file: ") + std::strerror(err));
    }
}

TEST_CASE("throw_errno uses the current errno", "[errors]") {
    errno = ENOTDIR;
    try {
        cmkfs::throw_errno("opendir x");
        FAIL("throw_errno returned");
    } catch (const cmkfs::Error &e) {  // catchable as the common base
        CHECK(e.error_number() == ENOTDIR);
        CHECK(std::string(e.what()).find(std::strerror(ENOTDIR)) != std::string::npos);
        CHECK(std::string(e.what()).rfind("opendir x: ", 0) == 0);
        CHECK(dynamic_cast<const cmkfs::SystemError *>(&e) != nullptr);
    }
}

TEST_CASE("Each error kind maps to its errno", "[errors]") {
    CHECK(cmkfs::IntegrityError("block 3 of f tampered").error_number() == EIO);
    CHECK(cmkfs::LockedError("key revoked").error_number() == EACCES);
    CHECK(cmkfs::UsageError("bad flag").error_number() == EINVAL);
    CHECK(std::string(cmkfs::IntegrityError("block 3 of f tampered").what()) ==
          "block 3 of f tampered");
    // Everything is a std::runtime_error for code that does not know our types.
    CHECK_THROWS_AS(throw cmkfs::LockedError("x"), std::runtime_error);
}
