#include <catch2/catch.hpp>

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

#include "config/config.h"
#include "support/temp_dir.h"

using namespace cmkfs::config;
using std::chrono::seconds;

namespace {
const char *kFull = R"(# every key
volume:
  backing: /srv/backing
  mountpoint: /srv/mnt
provider:
  name: /usr/lib/cmkfs/providers/libcustom.so
  options:
    vault: /var/lib/cmkfs/vault
    retries: 3
    label: "true"
key:
  key_encryption_key: local:///var/lib/cmkfs/vault/keys/k/2
  identity: id-1
revocation:
  check_interval: 1s
  unavailable_grace: 1h30m
logging:
  level: debug
  file: /var/log/cmkfs.log
  syslog: true
  audit_file: /var/log/cmkfs-audit.log
fuse:
  options: [default_permissions, "max_read=131072"]
  allow_other: true
  foreground: true
  wait_for_key: true
  threads: 64
metrics:
  listen: "[::1]:9464"
)";
}  // namespace

TEST_CASE("parse_config reads every key", "[config][load]") {
    const Config cfg = parse_config(kFull, "full.yaml");
    CHECK(cfg.source == "full.yaml");
    CHECK(cfg.mount.backing == "/srv/backing");
    CHECK(cfg.mount.mountpoint == "/srv/mnt");
    CHECK(cfg.provider.name == "/usr/lib/cmkfs/providers/libcustom.so");
    CHECK(cfg.provider.options == std::map<std::string, std::string>{
                                      {"vault", "/var/lib/cmkfs/vault"}, {"retries", "3"}, {"label", "true"}});
    CHECK(cfg.key.key_encryption_key == "local:///var/lib/cmkfs/vault/keys/k/2");
    CHECK(cfg.key.identity == "id-1");
    CHECK(cfg.revocation.check_interval == seconds(1));
    CHECK(cfg.revocation.unavailable_grace == seconds(5400));
    CHECK(cfg.logging.level == "debug");
    CHECK(cfg.logging.file == "/var/log/cmkfs.log");
    CHECK(cfg.logging.syslog);
    CHECK(cfg.logging.audit_file == "/var/log/cmkfs-audit.log");
    CHECK(cfg.mount.fuse_options == std::vector<std::string>{"default_permissions", "max_read=131072"});
    CHECK(cfg.mount.allow_other);
    CHECK(cfg.mount.foreground);
    CHECK(cfg.mount.wait_for_key);
    CHECK(cfg.mount.threads == 64);
    CHECK(cfg.metrics.listen == "[::1]:9464");
}

TEST_CASE("to_yaml output parses back to an equal config", "[config][load]") {
    const Config cfg = parse_config(kFull, "full.yaml");
    const std::string text = to_yaml(cfg);
    INFO(text);
    CHECK(parse_config(text, "full.yaml") == cfg);

    const Config defaults = parse_config(to_yaml(Config{}), "");
    CHECK(defaults == Config{});
}

TEST_CASE("round trip keeps strings that look like other YAML types", "[config][load]") {
    Config cfg;
    cfg.key.identity = "null";
    cfg.provider.options = {{"a", "~"}, {"b", "yes"}, {"c", "#x"}, {"d", "x: y"}, {"e", " lead"}};
    cfg.mount.fuse_options = {"-", "[x]"};
    const std::string text = to_yaml(cfg);
    INFO(text);
    CHECK(parse_config(text, "") == cfg);
}

TEST_CASE("empty documents and empty sections give the defaults", "[config][load]") {
    for (const char *text : {"", "# only a comment\n", "volume:\nprovider:\nkey:\nrevocation:\nlogging:\nfuse:\n",
                             "volume: {}\nfuse: {options: []}\n"}) {
        INFO(text);
        Config cfg = parse_config(text, "x.yaml");
        CHECK(cfg.source == "x.yaml");
        cfg.source.clear();
        CHECK(cfg == Config{});
    }
    const Config d;
    CHECK(d.revocation.check_interval == seconds(30));
    CHECK(d.revocation.unavailable_grace == seconds(300));
    CHECK(d.logging.level == "info");
    CHECK(d.mount.threads == 0);
}

TEST_CASE("an explicit null unsets an optional string", "[config][load]") {
    const Config cfg = parse_config("logging:\n  file: ~\n  audit_file:\nvolume:\n  backing: null\n", "n.yaml");
    CHECK_FALSE(cfg.logging.file.has_value());
    CHECK_FALSE(cfg.logging.audit_file.has_value());
    CHECK_FALSE(cfg.mount.backing.has_value());
}

TEST_CASE("plain integers are durations in seconds; quoted scalars are strings", "[config][load]") {
    const Config cfg = parse_config(
        "revocation:\n  check_interval: 5\n  unavailable_grace: \"0\"\nkey:\n  identity: 42\n", "");
    CHECK(cfg.revocation.check_interval == seconds(5));
    CHECK(cfg.revocation.unavailable_grace == seconds(0));
    CHECK(cfg.key.identity == "42");
}

TEST_CASE("load_config_file reads a file and records its path", "[config][load]") {
    cmkfs::test::TempDir dir;
    const std::string path = dir / "c.yaml";
    std::ofstream(path) << "fuse:\n  threads: 8\n";
    const Config cfg = load_config_file(path);
    CHECK(cfg.source == path);
    CHECK(cfg.mount.threads == 8);
}

TEST_CASE("load_config_file: a missing file is a ConfigError naming it", "[config][load]") {
    const std::string path = "/nonexistent-cmkfs-dir/c.yaml";
    try {
        load_config_file(path);
        FAIL("no error");
    } catch (const ConfigError &e) {
        CHECK(std::string(e.what()) == path + ": cannot read: No such file or directory");
        CHECK(e.file() == path);
        CHECK(e.line() == 0);
        CHECK(e.error_number() == EINVAL);
    }
}

TEST_CASE("load_config_file refuses an oversized file and a FIFO without reading them", "[config][load]") {
    cmkfs::test::TempDir dir;
    const std::string big = dir / "big.yaml";
    {
        std::ofstream out(big);
        out << "fuse:\n  threads: 8\n" << std::string(1 << 20, '#') << "\n";
    }
    const std::string fifo = dir / "fifo.yaml";
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    auto error_of = [](const std::string &path) -> std::string {
        try {
            load_config_file(path);
        } catch (const ConfigError &e) {
            CHECK(e.file() == path);
            return e.what();
        }
        return "";
    };
    CHECK(error_of(big) == big + ": cannot read: larger than 1048576 bytes, the limit for a config file");
    // A FIFO would block the read forever: refused at open.
    CHECK(error_of(fifo) == fifo + ": cannot read: not a regular file");
}
