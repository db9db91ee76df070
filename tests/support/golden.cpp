#include "support/golden.h"

#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>

#include <nlohmann/json.hpp>

namespace cmkfs::test {

namespace fsys = std::filesystem;
using nlohmann::json;

std::string golden_dir(int version) { return source_dir() + "/tests/golden/v" + std::to_string(version); }

std::string vault_dir_of(const std::string &kid) {
    const std::string scheme = "local://";
    REQUIRE(kid.starts_with(scheme));
    const auto keys = kid.rfind("/keys/");
    REQUIRE(keys != std::string::npos);
    return kid.substr(scheme.size(), keys - scheme.size());
}

void trust_golden(const std::string &backing, const std::string &config) {
    const json header = json::parse(read_file(backing + "/.cmkfs.volume"));
    // Every copy of one golden store has the same volume id: a binding left by
    // an earlier test of this process (tests run in random order; one may have
    // re-encrypted its copy under another key) is not this copy's, and `cmkfs
    // trust` rightly refuses to replace a binding of another key. Start from none.
    const char *registry = std::getenv("CMKFS_VOLUMES_DIR");
    REQUIRE(registry != nullptr);  // tests/support/catch_main.cpp sets it per process
    fsys::remove(std::string(registry) + "/" + header.at("volume_id").get<std::string>() + ".yaml");
    auto trust = cmkfs({"trust", backing, "--provider", "local", "--key-encryption-key",
                        header.at("key_id").get<std::string>(), "--identity", "golden-id", "--config", config});
    INFO(trust.out << trust.err);
    REQUIRE(trust.exit_code == 0);
}

std::string install_golden_store(MountedStore &store, const std::string &golden) {
    const std::string unpack = store.scratch() / "golden";
    fsys::create_directory(unpack);
    auto tar = run({"tar", "--extract", "--file", golden + "/store.tar", "--xattrs", "--xattrs-include=user.*",
                    "--preserve-permissions", "--same-owner", "--directory", unpack});
    REQUIRE(tar.exit_code == 0);
    fsys::remove_all(store.backing());
    fsys::rename(unpack + "/store", store.backing());

    const std::string vault = store.scratch() / "golden-vault";
    fsys::copy(golden + "/vault", vault, fsys::copy_options::recursive);
    const json header = json::parse(read_file(store.backing() + "/.cmkfs.volume"));
    const std::string config = store.scratch() / "golden.yaml";
    write_file(config, "provider:\n  options:\n    vault: " + vault + "\n    relocated_from: " +
                           vault_dir_of(header.at("versioned_key_id")) + "\n");
    // A store made elsewhere: this host binds it first, stating what it expects.
    trust_golden(store.backing(), config);
    return config;
}

}  // namespace cmkfs::test
