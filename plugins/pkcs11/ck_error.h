// Failures inside the pkcs11 provider: one exception type carrying the
// cmkfs_status class, and the one place a PKCS#11 return value is classified.
#pragma once

#include <cmkfs/provider.h>
#include <cmkfs/provider_sdk.h>
#include <p11-kit/pkcs11.h>

#include <stdexcept>
#include <string>

namespace cmkfs::p11 {

// The SDK's ProviderError under the plugin's own name: the status class and a
// one-line reason (sdk::guarded keeps both).
class P11Error : public sdk::ProviderError {
public:
    using sdk::ProviderError::ProviderError;
};

// "CKR_PIN_INCORRECT", or "CKR 0x…" for codes without a name here.
std::string ckr_name(CK_RV rv);

// The status class of a PKCS#11 failure (see docs/providers/pkcs11.md).
cmkfs_status classify(CK_RV rv);

// Throws P11Error "<what>: CKR_…" unless rv is CKR_OK.
void check_rv(CK_RV rv, const std::string &what);

}  // namespace cmkfs::p11
