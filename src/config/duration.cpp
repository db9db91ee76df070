#include <cstdint>
#include <stdexcept>
#include <string>

#include "config/config.h"

namespace cmkfs::config {

namespace {
// Upper bound keeps every later conversion (to ms, to time points) far from overflow.
constexpr int64_t kMaxSeconds = int64_t{100} * 365 * 24 * 3600;

[[noreturn]] void bad(std::string_view text, const char *why) {
    throw std::invalid_argument("invalid duration \"" + std::string(text) + "\": " + why);
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

int64_t unit_seconds(char unit) {
    switch (unit) {
        case 'h': return 3600;
        case 'm': return 60;
        case 's': return 1;
        default: return 0;
    }
}
}  // namespace

std::chrono::seconds parse_duration(std::string_view text) {
    if (text.empty()) bad(text, "empty");
    int64_t total = 0;
    int64_t last_unit = INT64_MAX;  // units must strictly decrease: h, m, s
    size_t i = 0;
    while (i < text.size()) {
        if (!is_digit(text[i])) bad(text, "expected a number");
        int64_t number = 0;
        for (; i < text.size() && is_digit(text[i]); ++i) {
            number = number * 10 + (text[i] - '0');
            if (number > kMaxSeconds) bad(text, "too large");
        }
        int64_t unit = 1;
        if (i < text.size()) {
            unit = unit_seconds(text[i]);
            if (unit == 0) bad(text, "unknown unit (use h, m or s)");
            ++i;
        } else if (last_unit != INT64_MAX) {
            bad(text, "missing unit after the last number");
        }
        if (unit >= last_unit) bad(text, "units must appear once each, in the order h, m, s");
        last_unit = unit;
        total += number * unit;  // number, unit and total are small enough not to overflow
        if (total > kMaxSeconds) bad(text, "too large");
    }
    return std::chrono::seconds(total);
}

std::string format_duration(std::chrono::seconds d) {
    int64_t s = d.count();
    if (s <= 0) return std::to_string(s) + "s";
    std::string out;
    if (s >= 3600) out += std::to_string(s / 3600) + "h";
    if (s % 3600 >= 60) out += std::to_string(s % 3600 / 60) + "m";
    if (s % 60 != 0) out += std::to_string(s % 60) + "s";
    return out;
}

}  // namespace cmkfs::config
