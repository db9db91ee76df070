// Azure Key Vault key ids: from the config and the volume header, and the
// "kid" of every answer. A key id that parses must print (str()) as a key id
// that parses to the same key.
#include <cstdint>
#include <string>

#include "answers.h"
#include "azure_error.h"
#include "fuzz_support.h"
#include "key_id.h"

using namespace cmkfs;
using namespace cmkfs::azure;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const std::string text(fuzz::as_text(data, size));
    KeyId id;
    try {
        id = parse_key_id(text);
    } catch (const AzureError &e) {
        FUZZ_CHECK(e.status() == CMKFS_ERR_INVALID);
        return 0;
    }
    FUZZ_CHECK(!id.host.empty() && !id.name.empty());
    const KeyId again = parse_key_id(id.str());
    FUZZ_CHECK(again.host == id.host && again.name == id.name && again.version == id.version &&
               again.vault_url == id.vault_url);
    try {
        // The answer-side check: an answer naming this id for itself passes.
        const KeyId kid = versioned_kid_of(id, id.str(), "fuzz");
        FUZZ_CHECK(kid.version == id.version);
    } catch (const AzureError &e) {
        FUZZ_CHECK(id.version.empty());
    }
    return 0;
}
