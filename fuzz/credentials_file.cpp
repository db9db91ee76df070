// The registry credentials file (.cmkfs.credentials): magic, version,
// nonce, AES-GCM of a JSON document, tag; bound to the volume id. The first
// input byte chooses what the rest is: 0 the file as found on disk (before
// authentication), 1 the JSON document sealed the way cmkfs seals it, so
// that the parsing after authentication is reached. Either way the result
// is a credentials map or an IntegrityError.
#include <algorithm>
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "crypto/aead.h"
#include "format/credentials_codec.h"
#include "fuzz_support.h"
#include "util/errors.h"

using namespace cmkfs;

namespace {
constexpr std::string_view kVolumeId = "0123456789abcdef0123456789abcdef";

// The layout of docs/FORMAT.md §7, with a fixed nonce (the key is a test key).
std::vector<uint8_t> seal_raw(const crypto::CredentialsKey &key, std::span<const uint8_t> plain) {
    std::vector<uint8_t> out(8 + crypto::kGcmNonceSize + plain.size() + crypto::kGcmTagSize);
    const std::array<uint8_t, 8> prefix = {'C', 'M', 'K', 'C', 0, 1, 0, 0};
    std::copy(prefix.begin(), prefix.end(), out.begin());
    std::vector<uint8_t> aad(prefix.begin(), prefix.end());
    aad.insert(aad.end(), kVolumeId.begin(), kVolumeId.end());
    auto all = std::span(out);
    crypto::gcm_seal(key.bytes(), all.subspan(8, crypto::kGcmNonceSize), aad, plain,
                     all.subspan(8 + crypto::kGcmNonceSize, plain.size()), all.last(crypto::kGcmTagSize));
    return out;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size == 0) return 0;
    const crypto::CredentialsKey key = fuzz::test_keys().credentials_key();
    const std::span<const uint8_t> rest(data + 1, size - 1);
    const std::vector<uint8_t> file =
        data[0] & 1 ? seal_raw(key, rest) : std::vector<uint8_t>(rest.begin(), rest.end());
    format::RegistryCredentials creds;
    try {
        creds = format::open_credentials(key, kVolumeId, file);
    } catch (const IntegrityError &) {
        return 0;
    }
    // What opens must seal and open again to the same map.
    const auto resealed = format::seal_credentials(key, kVolumeId, creds);
    FUZZ_CHECK(format::open_credentials(key, kVolumeId, resealed) == creds);
    return 0;
}
