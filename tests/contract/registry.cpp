#include "provider_fixture.h"

namespace cmkfs::contract {

namespace {
// A function-local static: fixtures register from static initializers in
// other translation units, whose order is unspecified.
std::vector<RegisteredFixture> &registry() {
    static std::vector<RegisteredFixture> fixtures;
    return fixtures;
}
}  // namespace

const std::vector<RegisteredFixture> &registered_fixtures() { return registry(); }

FixtureRegistrar::FixtureRegistrar(std::string name, FixtureFactory make) {
    registry().push_back({std::move(name), std::move(make)});
}

std::unique_ptr<keys::KeyProvider> open_provider(const ProviderFixture &fixture) {
    return keys::load_provider(fixture.plugin(), fixture.options(), fixture.plugin_dirs());
}

}  // namespace cmkfs::contract
