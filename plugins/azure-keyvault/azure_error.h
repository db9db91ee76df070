// A failed provider operation: the status class the host acts on and a
// one-line reason. Reasons name HTTP statuses, Azure error codes, hosts and
// key ids; never tokens, secrets or key material.
#pragma once

#include <stdexcept>
#include <string>

#include <cmkfs/provider.h>

namespace cmkfs::azure {

class AzureError : public std::runtime_error {
public:
    AzureError(cmkfs_status status, const std::string &what) : std::runtime_error(what), status_(status) {}
    cmkfs_status status() const noexcept { return status_; }

private:
    cmkfs_status status_;
};

}  // namespace cmkfs::azure
