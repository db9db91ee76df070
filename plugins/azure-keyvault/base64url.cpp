#include "base64url.h"

#include <array>

namespace cmkfs::azure {

namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

constexpr std::array<int8_t, 256> make_table() {
    std::array<int8_t, 256> t{};
    for (auto &v : t) v = -1;
    for (int i = 0; i < 64; ++i) t[static_cast<uint8_t>(kAlphabet[i])] = static_cast<int8_t>(i);
    t['+'] = 62;
    t['/'] = 63;
    return t;
}
constexpr auto kTable = make_table();

template <class Sink>
void encode(const uint8_t *data, size_t n, Sink &&put) {
    size_t i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t{data[i]} << 16) | (uint32_t{data[i + 1]} << 8) | data[i + 2];
        put(kAlphabet[(v >> 18) & 63]);
        put(kAlphabet[(v >> 12) & 63]);
        put(kAlphabet[(v >> 6) & 63]);
        put(kAlphabet[v & 63]);
    }
    if (n - i == 1) {
        uint32_t v = uint32_t{data[i]} << 16;
        put(kAlphabet[(v >> 18) & 63]);
        put(kAlphabet[(v >> 12) & 63]);
    } else if (n - i == 2) {
        uint32_t v = (uint32_t{data[i]} << 16) | (uint32_t{data[i + 1]} << 8);
        put(kAlphabet[(v >> 18) & 63]);
        put(kAlphabet[(v >> 12) & 63]);
        put(kAlphabet[(v >> 6) & 63]);
    }
}

template <class Sink>
bool decode(std::string_view text, Sink &&put) {
    while (!text.empty() && text.back() == '=') text.remove_suffix(1);
    if (text.size() % 4 == 1) return false;
    uint32_t acc = 0;
    int bits = 0;
    for (char c : text) {
        int8_t v = kTable[static_cast<uint8_t>(c)];
        if (v < 0) return false;
        acc = (acc << 6) | static_cast<uint32_t>(v);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            put(static_cast<uint8_t>((acc >> bits) & 0xff));
        }
    }
    return true;
}

}  // namespace

void base64url_encode(const uint8_t *data, size_t n, sdk::SecretBuffer &out) {
    encode(data, n, [&](char c) { out.push_back(c); });
}

std::string base64url_encode(const std::vector<uint8_t> &data) {
    std::string out;
    encode(data.data(), data.size(), [&](char c) { out.push_back(c); });
    return out;
}

bool base64url_decode(std::string_view text, sdk::SecretBuffer &out) {
    return decode(text, [&](uint8_t b) { out.push_back(static_cast<char>(b)); });
}

bool base64url_decode(std::string_view text, std::vector<uint8_t> &out) {
    return decode(text, [&](uint8_t b) { out.push_back(b); });
}

}  // namespace cmkfs::azure
