// Internal to the config layer: typed, position-aware reading of yaml-cpp nodes.
// Every failure throws ConfigError "<file>:<line>:<column>: <key.path>: <expected>, got <actual>".
#pragma once

#include <yaml-cpp/yaml.h>

#include <chrono>
#include <functional>
#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cmkfs::config::detail {

// What a user sees for "got ...": "a map", "a list", "nothing (null)", or the quoted scalar.
std::string describe(const YAML::Node &node);

// One value to read, with where to blame it.
struct Entry {
    YAML::Node value;
    std::string path;  // "fuse.options[2]"
    // The value's position, or its key's when the value is empty: yaml-cpp gives
    // an empty value the position of the next token.
    YAML::Mark where;
};

class YamlReader {
public:
    explicit YamlReader(std::string source) : source_(std::move(source)) {}

    [[noreturn]] void fail(const YAML::Mark &at, const std::string &path,
                           const std::string &expected, const std::string &got) const;
    [[noreturn]] void fail(const Entry &e, const std::string &expected) const;

    using KeyVisitor = std::function<void(const std::string &key, const Entry &value)>;
    // Visits each key of a map (null is an empty map). Rejects a non-map,
    // non-scalar keys, duplicate keys and keys outside `allowed`.
    void for_each_key(const Entry &map, std::initializer_list<std::string_view> allowed,
                      const KeyVisitor &visit) const;

    std::string string(const Entry &e) const;  // non-empty scalar
    // As string(), but an explicit null means "unset".
    std::optional<std::string> optional_string(const Entry &e) const;
    bool boolean(const Entry &e) const;
    unsigned integer(const Entry &e, unsigned max) const;
    std::chrono::seconds duration(const Entry &e, std::chrono::seconds min) const;
    std::vector<std::string> string_list(const Entry &e) const;
    std::map<std::string, std::string> string_map(const Entry &e) const;

private:
    // Records a map key; a key seen before is an error that points at both places.
    void check_unique(std::map<std::string, YAML::Mark> &seen, const YAML::Node &key,
                      const std::string &key_path) const;
    // Builds the Entry for a map value or list element.
    static Entry child(const YAML::Node &value, const std::string &path, const YAML::Mark &fallback);

    std::string source_;
};

}  // namespace cmkfs::config::detail
