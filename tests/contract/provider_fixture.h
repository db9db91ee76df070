// The provider contract suite's extension point. Each provider adds one
// fixture (tests/contract/fixture_<provider>.cpp) that knows how to set up a
// working key for one identity and how to break it in the ways a real
// backend breaks: the identity loses access, the key disappears, the backend
// goes away. The suite (contract_suite.cpp) then checks the same promises
// against every provider through the host loader, exactly as cmkfs uses it.
// See tests/contract/README.md.
#pragma once

#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "keys/key_provider.h"

namespace cmkfs::contract {

class ProviderFixture {
public:
    virtual ~ProviderFixture() = default;

    // What load_provider() gets: a provider name searched in plugin_dirs(),
    // or an absolute path to the .so.
    virtual std::string plugin() const = 0;
    virtual std::vector<std::string> plugin_dirs() const { return keys::default_plugin_dirs(); }
    // "key=value" options for a provider that reaches the working key.
    virtual std::vector<std::string> options() const = 0;

    // A key the identity may get/wrap/unwrap (version-less or versioned).
    virtual keys::KeyRef good_key() const = 0;
    // A well-formed key id of this provider that names no key.
    virtual std::string missing_key_id() const = 0;
    // A key id this provider cannot parse at all.
    virtual std::string malformed_key_id() const { return "not-a-key-id"; }

    // State changes made behind the back of an already open provider
    // instance; the open instance must notice them on its next call, as a
    // mount notices revocation. Each is followed by restore() before the
    // next one.
    virtual void make_denied() = 0;       // the identity loses access to good_key()
    virtual void make_missing() = 0;      // good_key() is deleted
    virtual void make_unavailable() = 0;  // the backend cannot be reached
    virtual void restore() = 0;           // undo the last make_*(): good_key() works again

    // False when a deleted key cannot come back with the same material
    // (restore() creates a new one): the suite then checks restore with a
    // fresh wrap instead of unwrapping the old wrapped key.
    virtual bool restore_keeps_key() const { return true; }
};

// A fixture whose make_*() records how to undo itself (undo_with); restore()
// runs that once.
class UndoingFixture : public ProviderFixture {
public:
    void restore() final {
        if (!undo_) throw std::logic_error("restore() without a make_*() before it");
        auto undo = std::move(undo_);
        undo_ = nullptr;
        undo();
    }

protected:
    void undo_with(std::function<void()> undo) { undo_ = std::move(undo); }

private:
    std::function<void()> undo_;
};

using FixtureFactory = std::function<std::unique_ptr<ProviderFixture>()>;

struct RegisteredFixture {
    std::string name;
    FixtureFactory make;
};

// Every fixture linked into this test binary, in registration order.
const std::vector<RegisteredFixture> &registered_fixtures();

struct FixtureRegistrar {
    FixtureRegistrar(std::string name, FixtureFactory make);
};

// Loads the fixture's provider through the host loader.
std::unique_ptr<keys::KeyProvider> open_provider(const ProviderFixture &fixture);

}  // namespace cmkfs::contract

// Registers fixture TYPE under NAME; put it once in fixture_<provider>.cpp.
#define CMKFS_REGISTER_PROVIDER_FIXTURE(NAME, TYPE)                                  \
    static const ::cmkfs::contract::FixtureRegistrar cmkfs_contract_registrar_##TYPE{ \
        NAME, [] { return std::unique_ptr<::cmkfs::contract::ProviderFixture>(new TYPE()); }}
