// A trust binding (<registry>/<volume-id>.yaml, config/binding.h). It is
// trusted (root-owned, outside the store), but a typo must give
// file:line:column, not a crash or a hang, and a binding that parses must
// write out (binding_to_yaml) and parse again to the same binding (when it
// is UTF-8 without NUL: yaml-cpp's emitter rewrites other bytes, see
// config_yaml.cpp; with a NUL in a plain scalar yaml-cpp's reader yields
// bytes that are not UTF-8, which the emitter writes as U+FFFD. cmkfs writes
// a NUL as "\x00", which reads back; a misread value no longer matches the
// header, so cmkfs refuses the store: fail-closed, regressions/binding/).
#include <cstdint>
#include <string>

#include "config/binding.h"
#include "config/config.h"
#include "fuzz_support.h"

using namespace cmkfs;

namespace {
bool valid_utf8(std::string_view s) {
    for (size_t i = 0; i < s.size();) {
        const auto c = static_cast<unsigned char>(s[i]);
        const size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
        if (n == 0 || i + n > s.size()) return false;
        for (size_t k = 1; k < n; ++k)
            if ((static_cast<unsigned char>(s[i + k]) >> 6) != 2) return false;
        i += n;
    }
    return true;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const std::string text(fuzz::as_text(data, size));
    config::VolumeBinding binding;
    try {
        binding = config::parse_binding(text, "fuzz.yaml");
    } catch (const config::ConfigError &e) {
        FUZZ_CHECK(std::string(e.what()).starts_with("fuzz.yaml"));
        return 0;
    }
    if (!valid_utf8(text) || text.find('\0') != std::string::npos) return 0;
    const config::VolumeBinding again = config::parse_binding(config::binding_to_yaml(binding), "fuzz.yaml");
    FUZZ_CHECK(again == binding);
    return 0;
}
