// The azure-keyvault provider's options ("key=value", one per input line).
// They come from the config and, until a store's binding is trusted, from
// the volume header in the backing directory: any of them must parse into
// Settings or be refused with INVALID naming the option.
#include <cstdint>
#include <string>
#include <vector>

#include "azure_error.h"
#include "fuzz_support.h"
#include "settings.h"

using namespace cmkfs;
using namespace cmkfs::azure;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const std::string_view text = fuzz::as_text(data, size);
    std::vector<std::string> lines;
    for (size_t start = 0; start <= text.size();) {
        const size_t end = std::min(text.find('\n', start), text.size());
        lines.emplace_back(text.substr(start, end - start));
        start = end + 1;
    }
    std::vector<const char *> options;
    for (const auto &line : lines) options.push_back(line.c_str());
    options.push_back(nullptr);
    try {
        const Settings s = parse_settings(options.data());
        FUZZ_CHECK(s.timeout.count() >= 0 && s.connect_timeout.count() >= 0);
        FUZZ_CHECK(s.retry_budget.count() >= 0 && s.retry_base.count() >= 0 && s.max_retries >= 0);
    } catch (const AzureError &e) {
        FUZZ_CHECK(e.status() == CMKFS_ERR_INVALID);
    }
    return 0;
}
