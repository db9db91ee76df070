// `cmkfs vault ...` and `cmkfs provider list`, run through CLI11 in-process.
#include <catch2/catch.hpp>
#include <cmkfs/localvault.h>
#include <algorithm>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "unit/keys/keys_test_util.h"
#include "util/errors.h"

using cmkfs::test::TempDir;
using Catch::Matchers::Contains;
using json = nlohmann::json;

namespace {

// Runs `cmkfs ARGS...` and returns what it printed on stdout.
std::string cmkfs_cli(std::vector<std::string> args) {
    CLI::App app("cmkfs");
    app.require_subcommand(1);
    cmkfs::cli::add_vault_command(app);
    cmkfs::cli::add_provider_command(app);
    args.insert(args.begin(), "cmkfs");
    std::vector<char *> argv;
    for (auto &a : args) argv.push_back(a.data());
    std::ostringstream out;
    auto *old = std::cout.rdbuf(out.rdbuf());
    try {
        app.parse(static_cast<int>(argv.size()), argv.data());
    } catch (...) {
        std::cout.rdbuf(old);
        throw;
    }
    std::cout.rdbuf(old);
    return out.str();
}

json cli_json(std::vector<std::string> args) { return json::parse(cmkfs_cli(std::move(args))); }

std::string error_of(std::vector<std::string> args) {
    try {
        cmkfs_cli(std::move(args));
    } catch (const std::exception &e) {
        return e.what();
    }
    return "";
}

}  // namespace

TEST_CASE("vault CLI: create, keys, policies, lifecycle", "[keys][cli]") {
    TempDir tmp;
    const std::string dir = tmp / "vault";
    auto created = cli_json({"vault", "create", dir, "--retention-days", "7", "--purge-protection"});
    CHECK(created["retentionDays"] == 7);
    CHECK(created["purgeProtection"] == true);

    auto rsa = cli_json({"vault", "key", "create", "--vault", dir, "--name", "cmk", "--size", "2048"});
    CHECK(rsa["key"]["kty"] == "RSA");
    CHECK(rsa["key"]["keyOps"] == json({"wrapKey", "unwrapKey"}));
    CHECK(rsa["key"]["e"] == "AQAB");
    CHECK_FALSE(rsa["key"]["n"].get<std::string>().empty());
    CHECK(rsa["attributes"]["enabled"] == true);
    CHECK(rsa["attributes"]["recoveryLevel"] == "Recoverable");
    const std::string kid = rsa["key"]["kid"];
    CHECK_THAT(kid, Contains("/keys/cmk/"));

    auto oct = cli_json({"vault", "key", "create", "--vault", dir, "--name", "sym", "--kty", "oct"});
    CHECK(oct["key"]["kty"] == "oct");
    CHECK_FALSE(oct["key"].contains("n"));

    auto shown = cli_json({"vault", "key", "show", "--id", kid});
    CHECK(shown["key"]["kid"] == kid);
    shown = cli_json({"vault", "key", "show", "--vault", dir, "--name", "cmk"});
    CHECK(shown["key"]["kid"] == kid);

    auto list = cli_json({"vault", "key", "list", "--vault", dir});
    REQUIRE(list.size() == 2);
    CHECK(list[0]["name"] == "cmk");

    auto pol = cli_json({"vault", "set-policy", "--vault", dir, "--identity", "registry-id",
                         "--key-permissions", "get", "wrapKey", "unwrapKey"});
    REQUIRE(pol.size() == 1);
    CHECK(pol[0]["identity"] == "registry-id");
    CHECK(pol[0]["permissions"]["keys"] == json({"get", "wrapKey", "unwrapKey"}));
    pol = cli_json({"vault", "policy", "list", "--vault", dir});
    CHECK(pol.size() == 1);

    auto dis = cli_json({"vault", "key", "set-attributes", "--vault", dir, "--name", "cmk",
                         "--enabled", "false"});
    CHECK(dis["attributes"]["enabled"] == false);
    CHECK(dis["key"]["kid"] == kid);

    auto del = cli_json({"vault", "key", "delete", "--vault", dir, "--name", "cmk"});
    CHECK(del.contains("deletedDate"));
    CHECK(del.contains("scheduledPurgeDate"));
    CHECK(cli_json({"vault", "key", "list", "--vault", dir}).size() == 1);
    CHECK(cli_json({"vault", "key", "list", "--vault", dir, "--include-deleted"}).size() == 2);
    CHECK_THAT(error_of({"vault", "key", "purge", "--vault", dir, "--name", "cmk"}),
               Contains("purge protection"));
    CHECK_THAT(error_of({"vault", "key", "purge", "--vault", dir, "--name", "sym"}),
               Contains("not deleted"));
    auto rec = cli_json({"vault", "key", "recover", "--vault", dir, "--name", "cmk"});
    CHECK_FALSE(rec.contains("deletedDate"));

    cli_json({"vault", "delete-policy", "--vault", dir, "--identity", "registry-id"});
    CHECK(cli_json({"vault", "policy", "list", "--vault", dir}).empty());

    // Every management operation is audited as the operator.
    CHECK_THAT(cmkfs::test::slurp(dir + "/audit.log"), Contains("\"identity\":\"operator\""));
}

TEST_CASE("vault CLI: errors are clear", "[keys][cli]") {
    TempDir tmp;
    const std::string dir = tmp / "vault";
    CHECK_THROWS_AS(cmkfs_cli({"vault", "create", dir, "--retention-days", "0"}), CLI::ValidationError);
    cmkfs_cli({"vault", "create", dir});
    CHECK_THAT(error_of({"vault", "create", dir}), Contains("already exists"));
    CHECK_THROWS_AS(cmkfs_cli({"vault", "key", "create", "--vault", dir, "--name", "k", "--kty", "EC"}),
                    CLI::ValidationError);
    CHECK_THROWS_AS(cmkfs_cli({"vault", "key", "create", "--vault", dir, "--name", "bad/name"}),
                    cmkfs::UsageError);
    CHECK_THAT(error_of({"vault", "key", "show", "--vault", dir, "--name", "missing"}),
               Contains("not found"));
    CHECK_THAT(error_of({"vault", "key", "list", "--vault", tmp / "none"}), Contains("no local vault"));
    CHECK_THROWS_AS(cmkfs_cli({"vault", "set-policy", "--vault", dir, "--identity", "x",
                               "--key-permissions", "fly"}),
                    cmkfs::UsageError);
    CHECK_THROWS_AS(cmkfs_cli({"vault", "key", "show", "--vault", dir}), cmkfs::UsageError);
}

TEST_CASE("provider list shows plugins with name, ABI version and path", "[keys][cli]") {
    auto list = cli_json({"provider", "list", "--output", "json", "--plugin-dir",
                          cmkfs::test::plugin_build_dir()});
    REQUIRE(list.size() == cmkfs::test::built_plugin_count());
    bool found_local = false;
    for (const auto &p : list) {
        CHECK(p["abiVersion"] == 1);
        if (p["name"] != "local") continue;
        found_local = true;
        CHECK(p["path"] == cmkfs::test::local_plugin());
    }
    CHECK(found_local);
    const bool exec_listed = std::any_of(list.begin(), list.end(), [](const json &p) {
        return p["name"] == "exec" &&
               p["path"] == cmkfs::test::plugin_build_dir() + "/libcmkfs-provider-exec.so";
    });
    CHECK(exec_listed);
}
