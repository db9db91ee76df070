// The config file schema: one small reader per top-level section.
#include "config/config.h"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstring>
#include <optional>
#include <sstream>

#include "config/yaml_reader.h"
#include "util/file_io.h"

namespace cmkfs::config {

namespace {
using detail::Entry;
using detail::YamlReader;

// A built-in provider name, or an absolute path to a plugin.
bool is_provider_name(const std::string &name) {
    if (name.front() == '/') return true;
    return std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    });
}

void read_volume(const YamlReader &r, const Entry &section, MountConfig &m) {
    r.for_each_key(section, {"backing", "mountpoint"}, [&](const std::string &key, const Entry &e) {
        (key == "backing" ? m.backing : m.mountpoint) = r.optional_string(e);
    });
}

void read_provider(const YamlReader &r, const Entry &section, ProviderConfig &p) {
    r.for_each_key(section, {"name", "options"}, [&](const std::string &key, const Entry &e) {
        if (key == "options") {
            p.options = r.string_map(e);
            return;
        }
        p.name = r.optional_string(e);
        if (p.name && !is_provider_name(*p.name)) {
            r.fail(e, "expected a provider name (local, pkcs11, azure-keyvault, exec) "
                      "or an absolute path to a plugin");
        }
    });
}

void read_key(const YamlReader &r, const Entry &section, KeyConfig &k) {
    r.for_each_key(section, {"key_encryption_key", "identity"},
                   [&](const std::string &key, const Entry &e) {
                       (key == "identity" ? k.identity : k.key_encryption_key) = r.optional_string(e);
                   });
}

void read_revocation(const YamlReader &r, const Entry &section, RevocationConfig &rc) {
    r.for_each_key(section, {"check_interval", "unavailable_grace"},
                   [&](const std::string &key, const Entry &e) {
                       if (key == "check_interval") {
                           rc.check_interval = r.duration(e, kMinCheckInterval);
                       } else {
                           rc.unavailable_grace = r.duration(e, std::chrono::seconds(0));
                       }
                   });
}

void read_logging(const YamlReader &r, const Entry &section, LoggingConfig &l) {
    r.for_each_key(section, {"level", "file", "syslog", "audit_file"},
                   [&](const std::string &key, const Entry &e) {
                       if (key == "level") {
                           l.level = r.string(e);
                           if (!is_log_level(l.level)) r.fail(e, "expected one of debug, info, warn, error");
                       } else if (key == "syslog") {
                           l.syslog = r.boolean(e);
                       } else {
                           (key == "file" ? l.file : l.audit_file) = r.optional_string(e);
                       }
                   });
}

void read_fuse(const YamlReader &r, const Entry &section, MountConfig &m) {
    r.for_each_key(section, {"options", "allow_other", "foreground", "wait_for_key", "threads"},
                   [&](const std::string &key, const Entry &e) {
                       if (key == "options") {
                           m.fuse_options = r.string_list(e);
                       } else if (key == "threads") {
                           m.threads = r.integer(e, kMaxThreads);
                       } else {
                           bool &flag = key == "allow_other" ? m.allow_other
                                        : key == "foreground" ? m.foreground
                                                              : m.wait_for_key;
                           flag = r.boolean(e);
                       }
                   });
}

// Sees where the documents of a YAML stream start, and stops at the second.
// yaml-cpp's LoadAll never returns on some inputs (a lone "," starts document
// after document) and allocates as it goes; found by fuzz/config_yaml.cpp.
class DocumentCounter : public YAML::EventHandler {
public:
    int documents = 0;
    std::optional<YAML::Mark> second;  // the second document's first node, as LoadAll placed it
    void OnDocumentStart(const YAML::Mark &) override { ++documents; }
    void OnDocumentEnd() override {}
    void OnNull(const YAML::Mark &mark, YAML::anchor_t) override { node(mark); }
    void OnAlias(const YAML::Mark &mark, YAML::anchor_t) override { node(mark); }
    void OnScalar(const YAML::Mark &mark, const std::string &, YAML::anchor_t, const std::string &) override {
        node(mark);
    }
    void OnSequenceStart(const YAML::Mark &mark, const std::string &, YAML::anchor_t,
                         YAML::EmitterStyle::value) override {
        node(mark);
    }
    void OnSequenceEnd() override {}
    void OnMapStart(const YAML::Mark &mark, const std::string &, YAML::anchor_t, YAML::EmitterStyle::value) override {
        node(mark);
    }
    void OnMapEnd() override {}

private:
    void node(const YAML::Mark &mark) {
        if (documents == 2 && !second) second = mark;
    }
};

YAML::Node load_single_document(const std::string &text, const std::string &source) {
    try {
        std::istringstream in(text);
        YAML::Parser parser(in);
        DocumentCounter counter;
        while (counter.documents < 2 && parser.HandleNextDocument(counter)) {
        }
        if (counter.documents > 1) {
            const YAML::Mark at = counter.second.value_or(YAML::Mark());
            throw ConfigError(source, std::max(at.line, 0) + 1, std::max(at.column, 0) + 1, "(document)",
                              "expected a single YAML document, got a second one");
        }
        return counter.documents == 0 ? YAML::Node() : YAML::Load(text);
    } catch (const YAML::Exception &e) {
        throw ConfigError(source, std::max(e.mark.line, 0) + 1, std::max(e.mark.column, 0) + 1,
                          "(syntax)", "expected valid YAML, got " + e.msg);
    }
}
}  // namespace

bool is_log_level(std::string_view name) {
    return name == "debug" || name == "info" || name == "warn" || name == "error";
}

Config parse_config(const std::string &yaml_text, const std::string &source_name) {
    const YAML::Node root = load_single_document(yaml_text, source_name);
    const YamlReader r(source_name);
    Config cfg;
    cfg.source = source_name;
    const Entry top{root, "", YAML::Mark()};  // an empty document is all defaults
    r.for_each_key(top, {"volume", "provider", "key", "revocation", "logging", "fuse"},
                   [&](const std::string &key, const Entry &section) {
                       if (key == "volume") read_volume(r, section, cfg.mount);
                       if (key == "provider") read_provider(r, section, cfg.provider);
                       if (key == "key") read_key(r, section, cfg.key);
                       if (key == "revocation") read_revocation(r, section, cfg.revocation);
                       if (key == "logging") read_logging(r, section, cfg.logging);
                       if (key == "fuse") read_fuse(r, section, cfg.mount);
                   });
    return cfg;
}

Config load_config_file(const std::string &path) {
    std::string text;
    try {
        text = read_text_file(path);
    } catch (const SystemError &e) {
        throw ConfigError(path, "cannot read: " + std::string(std::strerror(e.error_number())));
    }
    return parse_config(text, path);
}

}  // namespace cmkfs::config
