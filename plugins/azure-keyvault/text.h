// Small text helpers for messages built from what a server sent.
#pragma once

#include <cctype>
#include <string>

namespace cmkfs::azure {

// One line of at most `max` characters: server text must not break the
// host's one-line messages or fill them.
inline std::string one_line(std::string s, size_t max = 200) {
    for (auto &c : s)
        if (c == '\r' || c == '\n' || c == '\t') c = ' ';
    if (s.size() > max) s = s.substr(0, max) + "...";
    return s;
}

inline std::string lower(std::string s) {
    for (auto &c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

}  // namespace cmkfs::azure
