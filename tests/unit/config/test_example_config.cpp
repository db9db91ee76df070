// The shipped example must always load, and must show every key.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "config/config.h"

using namespace cmkfs::config;

namespace {
std::string example_path() {
    const char *src = std::getenv("CMKFS_SOURCE_DIR");
    REQUIRE(src != nullptr);  // set by cmkfs_add_test
    return std::string(src) + "/config/cmkfs.example.yaml";
}
}  // namespace

TEST_CASE("config/cmkfs.example.yaml loads", "[config][example]") {
    const Config cfg = load_config_file(example_path());
    CHECK(cfg.provider.name == "local");
    CHECK(cfg.key.key_encryption_key == "local:///var/lib/cmkfs/vault/keys/registry-kek");
    CHECK(cfg.key.identity == "registry-id");
    CHECK(cfg.revocation.check_interval == std::chrono::seconds(30));
    CHECK(cfg.revocation.unavailable_grace == std::chrono::seconds(300));
    CHECK(cfg.logging.level == "info");
}

TEST_CASE("config/cmkfs.example.yaml shows every key", "[config][example]") {
    std::ifstream in(example_path());
    std::stringstream text;
    text << in.rdbuf();
    for (const char *key :
         {"volume:", "backing:", "mountpoint:", "provider:", "name:", "options:", "key:",
          "key_encryption_key:", "identity:", "revocation:", "check_interval:", "unavailable_grace:",
          "logging:", "level:", "file:", "syslog:", "audit_file:", "fuse:", "allow_other:",
          "foreground:", "wait_for_key:", "threads:", "writeback_cache:", "metrics:", "listen:", "host_name:"}) {
        INFO(key);
        CHECK(text.str().find(key) != std::string::npos);
    }
    // Set values in the example, so a key shown there is also parsed there.
    const Config cfg = load_config_file(example_path());
    CHECK(cfg.mount.backing.has_value());
    CHECK(cfg.mount.mountpoint.has_value());
    CHECK_FALSE(cfg.provider.options.empty());
    CHECK(cfg.logging.file.has_value());
    CHECK(cfg.logging.audit_file.has_value());
    CHECK_FALSE(cfg.mount.fuse_options.empty());
    CHECK(cfg.metrics.listen == "127.0.0.1:9464");
}
