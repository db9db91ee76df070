// The YAML config file. It is trusted (root-owned, outside the store), but a
// typo must give file:line:column, not a crash or a hang, and a config that
// loads must write out (to_yaml) and load again to the same Config.
#include <cstdint>
#include <string>

#include "config/config.h"
#include "fuzz_support.h"

using namespace cmkfs;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const std::string text(fuzz::as_text(data, size));
    config::Config cfg;
    try {
        cfg = config::parse_config(text, "fuzz.yaml");
    } catch (const config::ConfigError &e) {
        FUZZ_CHECK(std::string(e.what()).starts_with("fuzz.yaml"));
        return 0;
    }
    const config::Config again = config::parse_config(config::to_yaml(cfg), "fuzz.yaml");
    FUZZ_CHECK(again == cfg);
    return 0;
}
