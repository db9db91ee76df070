// The committed golden stores (tests/golden/vN, docs/FORMAT.md §11) installed
// as a test store's backing directory: unpacked, with a copy of their
// test-only vault, a config that reaches it, and this host's trust binding.
#pragma once

#include <string>

#include "support/process.h"

namespace cmkfs::test {

// <source>/tests/golden/v<version>
std::string golden_dir(int version);

// The vault directory a local key id names: local://DIR/keys/NAME[/VERSION] -> DIR.
std::string vault_dir_of(const std::string &kid);

// `cmkfs trust` of a golden store with the key and identity every golden store
// was made with (tests/golden/make_golden.sh).
void trust_golden(const std::string &backing, const std::string &config);

// Replaces store's backing directory with the golden store in `golden` (a
// golden_dir()), copies its vault into the store's scratch directory, writes a
// config that finds the vault there (relocated_from, FORMAT.md §10) and trusts
// the store. Returns the config's path.
std::string install_golden_store(MountedStore &store, const std::string &golden);

}  // namespace cmkfs::test
