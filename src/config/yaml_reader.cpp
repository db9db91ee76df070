#include "config/yaml_reader.h"

#include <algorithm>
#include <stdexcept>

#include "config/config.h"

namespace cmkfs::config::detail {

namespace {
constexpr size_t kMaxShown = 60;

std::string quote(std::string_view text) {
    std::string out = "\"";
    for (char c : text.substr(0, kMaxShown)) {
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (static_cast<unsigned char>(c) < 0x20) {
            out += c == '\n' ? "\\n" : c == '\t' ? "\\t" : "?";
        } else {
            out += c;
        }
    }
    return out + (text.size() > kMaxShown ? "...\"" : "\"");
}

std::string join(std::initializer_list<std::string_view> names) {
    std::string out;
    for (auto name : names) out += (out.empty() ? "" : ", ") + std::string(name);
    return out;
}

std::string child_path(const std::string &path, const std::string &key) {
    return path.empty() ? key : path + "." + key;
}

// A plain (unquoted) scalar, as needed for booleans and numbers.
bool is_plain_scalar(const YAML::Node &node) { return node.IsScalar() && node.Tag() == "?"; }
}  // namespace

std::string describe(const YAML::Node &node) {
    switch (node.Type()) {
        case YAML::NodeType::Map: return "a map";
        case YAML::NodeType::Sequence: return "a list";
        case YAML::NodeType::Scalar: return quote(node.Scalar());
        default: return "nothing (null)";
    }
}

void YamlReader::fail(const YAML::Mark &at, const std::string &path, const std::string &expected,
                      const std::string &got) const {
    // yaml-cpp marks are 0-based; a null mark (-1) is shown as 1:1.
    throw ConfigError(source_, std::max(at.line, 0) + 1, std::max(at.column, 0) + 1,
                      path.empty() ? "(top level)" : path, expected + ", got " + got);
}

void YamlReader::fail(const Entry &e, const std::string &expected) const {
    fail(e.where, e.path, expected, describe(e.value));
}

Entry YamlReader::child(const YAML::Node &value, const std::string &path,
                        const YAML::Mark &fallback) {
    const bool positioned = !value.IsNull() && !value.Mark().is_null();
    return Entry{value, path, positioned ? value.Mark() : fallback};
}

void YamlReader::check_unique(std::map<std::string, YAML::Mark> &seen, const YAML::Node &key,
                              const std::string &key_path) const {
    auto [first, inserted] = seen.emplace(key.Scalar(), key.Mark());
    if (inserted) return;
    fail(key.Mark(), key_path,
         "expected each key once (first at line " + std::to_string(first->second.line + 1) +
             ", column " + std::to_string(first->second.column + 1) + ")",
         "a duplicate");
}

void YamlReader::for_each_key(const Entry &map, std::initializer_list<std::string_view> allowed,
                              const KeyVisitor &visit) const {
    if (map.value.IsNull()) return;
    if (!map.value.IsMap()) fail(map, "expected a map with keys " + join(allowed));
    std::map<std::string, YAML::Mark> seen;
    for (const auto &pair : map.value) {  // the pair is a temporary: copy nodes, no references
        const YAML::Node key = pair.first;
        if (!key.IsScalar()) fail(child(key, map.path, map.where), "expected a key name");
        const std::string name = key.Scalar();
        const std::string key_path = child_path(map.path, name);
        if (std::find(allowed.begin(), allowed.end(), name) == allowed.end()) {
            fail(key.Mark(), key_path,
                 "expected one of " + join(allowed) + (map.path.empty() ? "" : " in " + map.path),
                 "unknown key " + quote(name));
        }
        check_unique(seen, key, key_path);
        visit(name, child(pair.second, key_path, key.Mark()));
    }
}

std::string YamlReader::string(const Entry &e) const {
    if (!e.value.IsScalar() || e.value.Scalar().empty()) fail(e, "expected a non-empty string");
    return e.value.Scalar();
}

std::optional<std::string> YamlReader::optional_string(const Entry &e) const {
    if (e.value.IsNull()) return std::nullopt;
    return string(e);
}

bool YamlReader::boolean(const Entry &e) const {
    if (is_plain_scalar(e.value)) {
        const std::string &s = e.value.Scalar();
        if (s == "true" || s == "True" || s == "TRUE") return true;
        if (s == "false" || s == "False" || s == "FALSE") return false;
    }
    fail(e, "expected true or false");
}

unsigned YamlReader::integer(const Entry &e, unsigned max) const {
    if (is_plain_scalar(e.value)) {
        const std::string &s = e.value.Scalar();
        const bool digits = !s.empty() && s.size() <= 9 &&
                            std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
        if (digits && std::stoul(s) <= max) return static_cast<unsigned>(std::stoul(s));
    }
    fail(e, "expected an integer from 0 to " + std::to_string(max));
}

std::chrono::seconds YamlReader::duration(const Entry &e, std::chrono::seconds min) const {
    std::chrono::seconds value{};
    try {
        if (!e.value.IsScalar()) throw std::invalid_argument("not a scalar");
        value = parse_duration(e.value.Scalar());
    } catch (const std::invalid_argument &) {
        fail(e, "expected a duration such as 30s, 5m or 1h30m");
    }
    if (value < min) fail(e, "expected a duration of at least " + format_duration(min));
    return value;
}

std::vector<std::string> YamlReader::string_list(const Entry &e) const {
    std::vector<std::string> out;
    if (e.value.IsNull()) return out;
    if (!e.value.IsSequence()) fail(e, "expected a list of strings");
    for (size_t i = 0; i < e.value.size(); ++i) {
        out.push_back(string(child(e.value[i], e.path + "[" + std::to_string(i) + "]", e.where)));
    }
    return out;
}

std::map<std::string, std::string> YamlReader::string_map(const Entry &e) const {
    std::map<std::string, std::string> out;
    if (e.value.IsNull()) return out;
    if (!e.value.IsMap()) fail(e, "expected a map of strings");
    std::map<std::string, YAML::Mark> seen;
    for (const auto &pair : e.value) {
        const YAML::Node key = pair.first;
        const std::string name = string(child(key, e.path, e.where));
        const std::string key_path = child_path(e.path, name);
        check_unique(seen, key, key_path);
        out[name] = string(child(pair.second, key_path, key.Mark()));
    }
    return out;
}

}  // namespace cmkfs::config::detail
