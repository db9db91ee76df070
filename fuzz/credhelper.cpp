// docker-credential-cmkfs's protocol: an action and what the client writes
// on stdin. Input: the action, a newline, then stdin. Every outcome is
// stdout text or a HelperError, against credentials kept in memory.
#include <cstdint>
#include <string>

#include "credhelper/protocol.h"
#include "fuzz_support.h"

using namespace cmkfs;
using namespace cmkfs::credhelper;

namespace {
class MemoryBackend : public CredentialBackend {
public:
    explicit MemoryBackend(format::RegistryCredentials &creds) : creds_(creds) {}
    format::RegistryCredentials read() override { return creds_; }
    void update(const std::function<void(format::RegistryCredentials &)> &change) override { change(creds_); }

private:
    format::RegistryCredentials &creds_;
};
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const std::string_view text = fuzz::as_text(data, size);
    const size_t newline = text.find('\n');
    const std::string_view action = text.substr(0, newline);
    const std::string_view input = newline == std::string_view::npos ? "" : text.substr(newline + 1);

    format::RegistryCredentials creds = {{"registry.example", {"user", "secret"}}};
    const BackendFactory open = [&] { return std::make_unique<MemoryBackend>(creds); };
    try {
        const std::string out = run_action(action, input, open);
        if (action == "store") {
            FUZZ_CHECK(out.empty());
            // What was stored can be read back with get.
            const std::string listed = run_action("list", "", open);
            FUZZ_CHECK(!listed.empty());
        }
    } catch (const HelperError &) {
    }
    return 0;
}
