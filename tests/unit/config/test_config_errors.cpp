// Every error names file:line:column (1-based), the key path, what was expected and what was found.
#include <catch2/catch.hpp>

#include "config/config.h"

using namespace cmkfs::config;

namespace {
struct Caught {
    std::string what;
    int line = -1;
    int column = -1;
    std::string key_path;
};

Caught error_of(const std::string &yaml) {
    try {
        parse_config(yaml, "t.yaml");
    } catch (const ConfigError &e) {
        CHECK(e.file() == "t.yaml");
        return {e.what(), e.line(), e.column(), e.key_path()};
    }
    FAIL("parse_config accepted:\n" << yaml);
    return {};
}
}  // namespace

TEST_CASE("config error: unknown key", "[config][errors]") {
    const Caught e = error_of("provider:\n  name: local\n  nmae: pkcs11\n");
    CHECK(e.what == "t.yaml:3:3: provider.nmae: expected one of name, options in provider, got unknown key \"nmae\"");
    CHECK(e.line == 3);
    CHECK(e.column == 3);
    CHECK(e.key_path == "provider.nmae");

    const Caught top = error_of("volume: {}\nmount:\n  backing: /x\n");
    CHECK(top.what ==
          "t.yaml:2:1: mount: expected one of volume, provider, key, revocation, logging, fuse, volume_plugin, "
          "metrics, host_name, got unknown key \"mount\"");

    const Caught misplaced = error_of("volume:\n  backing: /b\n  check_interval: 5s\n");
    CHECK(misplaced.what ==
          "t.yaml:3:3: volume.check_interval: expected one of backing, mountpoint in volume, got unknown key \"check_interval\"");
}

TEST_CASE("config error: duplicate key", "[config][errors]") {
    const Caught e = error_of("key:\n  identity: a\n  key_encryption_key: local:///v/keys/k\n  identity: b\n");
    CHECK(e.what == "t.yaml:4:3: key.identity: expected each key once (first at line 2, column 3), got a duplicate");
    CHECK(e.line == 4);
    CHECK(e.column == 3);

    const Caught top = error_of("volume:\n  backing: /a\nfuse: {}\nvolume:\n  backing: /b\n");
    CHECK(top.what == "t.yaml:4:1: volume: expected each key once (first at line 1, column 1), got a duplicate");

    const Caught opt = error_of("provider:\n  options:\n    vault: /a\n    vault: /b\n");
    CHECK(opt.what ==
          "t.yaml:4:5: provider.options.vault: expected each key once (first at line 3, column 5), got a duplicate");
}

TEST_CASE("config error: wrong type", "[config][errors]") {
    CHECK(error_of("fuse:\n  allow_other: \"true\"\n").what ==
          "t.yaml:2:16: fuse.allow_other: expected true or false, got \"true\"");
    CHECK(error_of("fuse:\n  foreground: yes\n").what ==
          "t.yaml:2:15: fuse.foreground: expected true or false, got \"yes\"");
    CHECK(error_of("fuse:\n  options: default_permissions\n").what ==
          "t.yaml:2:12: fuse.options: expected a list of strings, got \"default_permissions\"");
    CHECK(error_of("fuse:\n  options:\n    - ro\n    - {a: b}\n").what ==
          "t.yaml:4:7: fuse.options[1]: expected a non-empty string, got a map");
    CHECK(error_of("fuse:\n  threads: many\n").what ==
          "t.yaml:2:12: fuse.threads: expected an integer from 0 to 64, got \"many\"");
    CHECK(error_of("key:\n  identity: [a, b]\n").what ==
          "t.yaml:2:13: key.identity: expected a non-empty string, got a list");
    CHECK(error_of("key:\n  identity: \"\"\n").what ==
          "t.yaml:2:13: key.identity: expected a non-empty string, got \"\"");
    CHECK(error_of("provider: local\n").what ==
          "t.yaml:1:11: provider: expected a map with keys name, options, got \"local\"");
    CHECK(error_of("provider:\n  options:\n    vault:\n").what ==
          "t.yaml:3:5: provider.options.vault: expected a non-empty string, got nothing (null)");
    CHECK(error_of("- volume\n").what ==
          "t.yaml:1:1: (top level): expected a map with keys volume, provider, key, revocation, logging, fuse, "
          "volume_plugin, metrics, host_name, got a list");
}

TEST_CASE("config error: an empty value is blamed on its key", "[config][errors]") {
    const Caught e = error_of("fuse:\n  foreground:\n  threads: 2\n");
    CHECK(e.what == "t.yaml:2:3: fuse.foreground: expected true or false, got nothing (null)");
}

TEST_CASE("config error: bad duration", "[config][errors]") {
    const Caught e = error_of("revocation:\n  check_interval: 5 minutes\n");
    CHECK(e.what ==
          "t.yaml:2:19: revocation.check_interval: expected a duration such as 30s, 5m or 1h30m, got \"5 minutes\"");
    CHECK(e.line == 2);
    CHECK(e.column == 19);
    CHECK(e.key_path == "revocation.check_interval");
    CHECK(error_of("revocation:\n    unavailable_grace: -5s\n").what ==
          "t.yaml:2:24: revocation.unavailable_grace: expected a duration such as 30s, 5m or 1h30m, got \"-5s\"");
}

TEST_CASE("config error: check_interval below 1s", "[config][errors]") {
    CHECK(error_of("revocation:\n  check_interval: 0s\n").what ==
          "t.yaml:2:19: revocation.check_interval: expected a duration of at least 1s, got \"0s\"");
    CHECK(error_of("revocation: {check_interval: 0}\n").what ==
          "t.yaml:1:30: revocation.check_interval: expected a duration of at least 1s, got \"0\"");
    CHECK(parse_config("revocation:\n  check_interval: 1s\n", "").revocation.check_interval ==
          std::chrono::seconds(1));
}

TEST_CASE("config error: bad log level", "[config][errors]") {
    const Caught e = error_of("logging:\n  level: verbose\n");
    CHECK(e.what == "t.yaml:2:10: logging.level: expected one of debug, info, warn, error, got \"verbose\"");
    CHECK(error_of("logging:\n  level: INFO\n").line == 2);
}

TEST_CASE("config error: out of range and invalid values", "[config][errors]") {
    CHECK(error_of("fuse:\n  threads: 65\n").what ==
          "t.yaml:2:12: fuse.threads: expected an integer from 0 to 64, got \"65\"");
    CHECK(error_of("fuse:\n  threads: -1\n").column == 12);
    CHECK(parse_config("fuse:\n  threads: 64\n", "").mount.threads == 64);
    CHECK(error_of("provider:\n  name: ./libx.so\n").what ==
          "t.yaml:2:9: provider.name: expected a provider name (local, pkcs11, azure-keyvault, exec) "
          "or an absolute path to a plugin, got \"./libx.so\"");
}

TEST_CASE("config error: YAML syntax", "[config][errors]") {
    // yaml-cpp reports 0-based (0,4); we print 1-based.
    const Caught e = error_of("volume: backing: /x\n");
    CHECK(e.line == 1);
    CHECK(e.column == 16);
    CHECK(e.what == "t.yaml:1:16: (syntax): expected valid YAML, got illegal map value");

    const Caught flow = error_of("fuse:\n  options: [ro\n  threads: 2\n");
    CHECK(flow.line == 3);
    CHECK(flow.what.rfind("t.yaml:3:", 0) == 0);
    CHECK(flow.what.find("(syntax): expected valid YAML, got ") != std::string::npos);

    CHECK(error_of("fuse:\n\tthreads: 2\n").line == 2);
}

TEST_CASE("config error: more than one document", "[config][errors]") {
    CHECK(error_of("fuse: {}\n---\nvolume: {}\n").what ==
          "t.yaml:3:1: (document): expected a single YAML document, got a second one");
}

TEST_CASE("config error: anchors and aliases are refused before the tree is built", "[config][errors]") {
    // Billion laughs: each level doubles nine times; never expanded, never walked.
    std::string laughs = "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n";
    for (char c = 'b'; c <= 'i'; ++c)
        laughs += std::string(1, c) + ": &" + c + " [" + [&] {
            std::string refs;
            for (int i = 0; i < 9; ++i) refs += std::string(i ? "," : "") + "*" + static_cast<char>(c - 1);
            return refs;
        }() + "]\n";
    laughs += "fuse: {options: *i}\n";
    const Caught bomb = error_of(laughs);
    CHECK(bomb.what == "t.yaml:1:4: (anchor): expected no YAML anchors (write the value out), got an anchor");

    // A node that contains itself: any walk over it would never end.
    const Caught cycle = error_of("fuse: &a {options: *a}\n");
    CHECK(cycle.line == 1);
    CHECK(cycle.key_path == "(anchor)");
    CHECK(error_of("volume:\n  backing: &b /srv/x\n  mountpoint: *b\n").key_path == "(anchor)");
}

TEST_CASE("config error: nesting and size beyond any config are refused", "[config][errors]") {
    const Caught deep = error_of("fuse: " + std::string(5000, '[') + std::string(5000, ']') + "\n");
    CHECK(deep.key_path == "(document)");
    CHECK(deep.what.find("expected nesting at most 32 levels deep") != std::string::npos);
    CHECK(deep.line == 1);

    std::string block = "fuse:\n";
    for (int level = 0; level < 40; ++level) block += std::string(2 * level + 2, ' ') + "k" + std::to_string(level) + ":\n";
    CHECK(error_of(block).what.find("levels deep") != std::string::npos);

    std::string many = "fuse:\n  options:\n";
    for (int i = 0; i < 120000; ++i) many += "    - o\n";
    const Caught wide = error_of(many);
    CHECK(wide.what.find("expected at most 100000 values") != std::string::npos);
}

TEST_CASE("config error: fsname= or subtype= in fuse.options", "[config][errors]") {
    const Caught e = error_of("fuse:\n  options:\n    - ro\n    - allow_root,fsname=x\n");
    CHECK(e.line == 3);
    CHECK(e.key_path == "fuse.options");
    CHECK(e.what.find("FUSE options without fsname=") != std::string::npos);
    CHECK(error_of("fuse:\n  options: [subtype=y]\n").what.find("without subtype=") != std::string::npos);
}

// Found by fuzz/config_yaml.cpp (fuzz/regressions/config_yaml/): yaml-cpp's
// LoadAll never returned on a lone ",", which begins document after document,
// and allocated as it went.
TEST_CASE("config error: a stream that never ends its documents is refused", "[config][errors]") {
    CHECK(error_of(",").what.find("(document): expected a single YAML document") != std::string::npos);
}

TEST_CASE("config error: metrics.listen", "[config][errors][metrics]") {
    const Caught remote = error_of("metrics:\n  listen: 0.0.0.0:9464\n");
    CHECK(remote.line == 2);
    CHECK(remote.column == 11);
    CHECK(remote.key_path == "metrics.listen");
    CHECK(remote.what.find("expected a loopback address") != std::string::npos);
    CHECK(remote.what.find("got \"0.0.0.0:9464\"") != std::string::npos);

    const Caught unknown = error_of("metrics:\n  listen: 127.0.0.1:9464\n  port: 9464\n");
    CHECK(unknown.what == "t.yaml:3:3: metrics.port: expected one of listen in metrics, got unknown key \"port\"");

    const Caught relative = error_of("metrics:\n  listen: unix:metrics.sock\n");
    CHECK(relative.what.find("metrics.listen: expected unix:/ABSOLUTE/PATH") != std::string::npos);
    CHECK(relative.line == 2);

    CHECK(parse_config("metrics:\n  listen: \"[::1]:9464\"\n", "t.yaml").metrics.listen == "[::1]:9464");
    CHECK_FALSE(parse_config("metrics: {}\n", "t.yaml").metrics.listen.has_value());
}
