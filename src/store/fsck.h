// Offline verification of a whole store: every directory id, name, symlink
// target, xattr and content block must authenticate under the volume key.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "store/keyring.h"
#include "store/volume.h"

namespace cmkfs::store {

struct FsckProgress {
    uint64_t files = 0;
    uint64_t directories = 0;
    uint64_t bytes = 0;
};

struct FsckProblem {
    std::string path;     // plaintext path when the names decrypt, else backing path
    std::string backing;  // backing path
    std::string what;     // e.g. "block 3 fails authentication"
};

struct FsckReport {
    FsckProgress totals;
    std::vector<FsckProblem> problems;
};

FsckReport check_volume(const Volume &volume, const Keyring::Access &access,
                        const std::function<void(const FsckProgress &)> &progress);

}  // namespace cmkfs::store
