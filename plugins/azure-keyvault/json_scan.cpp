#include "json_scan.h"

#include <cctype>
#include <cstddef>

namespace cmkfs::azure {

namespace {

class Scanner {
public:
    explicit Scanner(std::string_view s) : s_(s) {}

    void skip_ws() {
        while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r'))
            ++pos_;
    }
    bool eat(char c) {
        skip_ws();
        if (pos_ < s_.size() && s_[pos_] == c) {
            ++pos_;
            return true;
        }
        return false;
    }
    bool peek(char c) {
        skip_ws();
        return pos_ < s_.size() && s_[pos_] == c;
    }
    // A string at pos_; *escaped tells whether it had escapes.
    std::optional<std::string_view> string(bool *escaped) {
        if (!eat('"')) return std::nullopt;
        size_t start = pos_;
        *escaped = false;
        while (pos_ < s_.size() && s_[pos_] != '"') {
            if (s_[pos_] == '\\') {
                *escaped = true;
                ++pos_;
            }
            ++pos_;
        }
        if (pos_ >= s_.size()) return std::nullopt;
        return s_.substr(start, pos_++ - start);
    }
    std::optional<std::string_view> number() {
        skip_ws();
        size_t start = pos_;
        while (pos_ < s_.size() && (std::isdigit(static_cast<unsigned char>(s_[pos_])) || s_[pos_] == '.' ||
                                    s_[pos_] == '-' || s_[pos_] == '+' || s_[pos_] == 'e' || s_[pos_] == 'E'))
            ++pos_;
        if (pos_ == start) return std::nullopt;
        return s_.substr(start, pos_ - start);
    }
    // Skips any JSON value (strings respected, brackets counted).
    bool skip_value() {
        skip_ws();
        if (pos_ >= s_.size()) return false;
        if (s_[pos_] == '"') {
            bool escaped;
            return string(&escaped).has_value();
        }
        int depth = 0;
        while (pos_ < s_.size()) {
            char c = s_[pos_];
            if (c == '"') {
                bool escaped;
                if (!string(&escaped)) return false;
                continue;
            }
            if (c == '{' || c == '[') ++depth;
            else if (c == '}' || c == ']') {
                if (depth == 0) return true;
                --depth;
            } else if (c == ',' && depth == 0) {
                return true;
            }
            ++pos_;
            if (depth == 0 && (c == '}' || c == ']')) return true;
        }
        return depth == 0;
    }

private:
    std::string_view s_;
    size_t pos_ = 0;
};

}  // namespace

namespace {

std::optional<std::string_view> find_member(std::string_view json, std::string_view key, bool numbers) {
    Scanner sc(json);
    if (!sc.eat('{')) return std::nullopt;
    if (sc.eat('}')) return std::nullopt;
    for (;;) {
        bool escaped = false;
        auto name = sc.string(&escaped);
        if (!name || !sc.eat(':')) return std::nullopt;
        if (!escaped && *name == key) {
            if (!sc.peek('"')) return numbers ? sc.number() : std::nullopt;
            auto value = sc.string(&escaped);
            if (!value || escaped) return std::nullopt;
            return value;
        }
        if (!sc.skip_value()) return std::nullopt;
        if (sc.eat(',')) continue;
        return std::nullopt;  // '}' (member absent) or malformed
    }
}

}  // namespace

std::optional<std::string_view> find_plain_string_member(std::string_view json, std::string_view key) {
    return find_member(json, key, false);
}

std::optional<std::string_view> find_scalar_member(std::string_view json, std::string_view key) {
    return find_member(json, key, true);
}

}  // namespace cmkfs::azure
