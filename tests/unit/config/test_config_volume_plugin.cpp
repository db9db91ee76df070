// The volume_plugin section: `cmkfs volume-plugin`'s directories, socket,
// create-option defaults and removal policy, with file:line:column errors.
#include <catch2/catch.hpp>

#include <cstdlib>

#include "config/config.h"

using namespace cmkfs::config;

namespace {
std::string error_of(const std::string &yaml) {
    try {
        parse_config(yaml, "p.yaml");
    } catch (const ConfigError &e) {
        return e.what();
    }
    FAIL("parse_config accepted:\n" << yaml);
    return {};
}
}  // namespace

TEST_CASE("volume_plugin: defaults and every key", "[config][volume_plugin]") {
    const Config defaults = parse_config("", "p.yaml");
    CHECK(defaults.volume_plugin.root == "/var/lib/cmkfs/volumes");
    CHECK(defaults.volume_plugin.state_dir == "/run/cmkfs/volume-plugin");
    CHECK(defaults.volume_plugin.socket == "/run/docker/plugins/cmkfs.sock");
    CHECK(defaults.volume_plugin.defaults.empty());
    CHECK_FALSE(defaults.volume_plugin.remove_on_rm);
    CHECK_FALSE(defaults.volume_plugin.metrics_listen.has_value());

    const Config cfg = parse_config("volume_plugin:\n"
                                    "  root: /srv/volumes\n"
                                    "  state_dir: /run/x\n"
                                    "  socket: /run/docker/plugins/enc.sock\n"
                                    "  remove_on_rm: true\n"
                                    "  metrics_listen: unix:/run/x/metrics.sock\n"
                                    "  defaults:\n"
                                    "    key-encryption-key: local:///v/keys/k\n"
                                    "    identity: docker\n"
                                    "    provider: local\n"
                                    "    vault: /v\n"
                                    "    remove-on-rm: \"false\"\n",
                                    "p.yaml");
    CHECK(cfg.volume_plugin.root == "/srv/volumes");
    CHECK(cfg.volume_plugin.state_dir == "/run/x");
    CHECK(cfg.volume_plugin.socket == "/run/docker/plugins/enc.sock");
    CHECK(cfg.volume_plugin.remove_on_rm);
    CHECK(cfg.volume_plugin.metrics_listen == "unix:/run/x/metrics.sock");
    CHECK_FALSE(cfg.metrics.listen.has_value());  // the mounts' endpoint stays off
    CHECK(cfg.volume_plugin.defaults.size() == 5);
    CHECK(cfg.volume_plugin.defaults.at("identity") == "docker");
    CHECK(parse_config(to_yaml(cfg), "p.yaml") == cfg);
}

TEST_CASE("volume_plugin: unknown keys and bad values name file:line:column", "[config][volume_plugin]") {
    CHECK(error_of("volume_plugin:\n  sockets: /x\n") ==
          "p.yaml:2:3: volume_plugin.sockets: expected one of root, state_dir, socket, defaults, remove_on_rm, "
          "metrics_listen in volume_plugin, got unknown key \"sockets\"");
    const std::string remote = error_of("volume_plugin:\n  metrics_listen: 0.0.0.0:9465\n");
    CHECK(remote.rfind("p.yaml:2:19: volume_plugin.metrics_listen: expected a loopback address", 0) == 0);
    CHECK(error_of("volume_plugin:\n  defaults:\n    identity: a\n    key_encryption_key: k\n") ==
          "p.yaml:4:5: volume_plugin.defaults.key_encryption_key: expected one of key-encryption-key, identity, "
          "provider, vault, remove-on-rm in volume_plugin.defaults, got unknown key \"key_encryption_key\"");
    CHECK(error_of("volume_plugin:\n  root: relative/dir\n") ==
          "p.yaml:2:9: volume_plugin.root: expected an absolute path, got \"relative/dir\"");
    CHECK(error_of("volume_plugin:\n  remove_on_rm: sometimes\n").rfind("p.yaml:2:17: volume_plugin.remove_on_rm:", 0) ==
          0);
}

TEST_CASE("volume create options are the documented five", "[config][volume_plugin]") {
    for (const char *name : {"key-encryption-key", "identity", "provider", "vault", "remove-on-rm"})
        CHECK(is_volume_create_option(name));
    for (const char *name : {"", "key_encryption_key", "colour", "config"}) CHECK_FALSE(is_volume_create_option(name));
}

TEST_CASE("config/docker-plugin.example.yaml loads and shows every volume_plugin key", "[config][example]") {
    const char *src = std::getenv("CMKFS_SOURCE_DIR");
    REQUIRE(src != nullptr);  // set by cmkfs_add_test
    const Config cfg = load_config_file(std::string(src) + "/config/docker-plugin.example.yaml");
    CHECK(cfg.volume_plugin.socket == "/run/docker/plugins/cmkfs.sock");
    CHECK(cfg.volume_plugin.defaults.size() == 5);  // every create option
    CHECK(cfg.volume_plugin == parse_config(to_yaml(cfg), "").volume_plugin);
}
