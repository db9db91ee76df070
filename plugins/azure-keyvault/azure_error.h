// A failed provider operation: the status class the host acts on and a
// one-line reason. Reasons name HTTP statuses, Azure error codes, hosts and
// key ids; never tokens, secrets or key material.
#pragma once

#include <stdexcept>
#include <string>

#include <cmkfs/provider.h>
#include <cmkfs/provider_sdk.h>

namespace cmkfs::azure {

class AzureError : public sdk::ProviderError {
public:
    using sdk::ProviderError::ProviderError;
};

}  // namespace cmkfs::azure
