#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include "crypto/secure_bytes.h"
#include "support/test_seed.h"

int main(int argc, char *argv[]) {
    cmkfs::crypto::init_secure_heap();
    cmkfs::test::announce_seed();
    return Catch::Session().run(argc, argv);
}
