// `cmkfs vault ...`: manage a local key vault (cmkfs/localvault.h), the
// way `az keyvault` manages an Azure Key Vault. Runs as the CLI operator:
// audited as identity "operator", no access-policy check. Output is JSON.
#include <cmkfs/localvault.h>

#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "util/errors.h"

namespace cmkfs::cli {
namespace {

using json = nlohmann::json;
namespace lv = cmkfs::localvault;

// Vault errors become the CLI's errors: bad input is a usage error.
template <class Fn>
void run(Fn &&fn) {
    try {
        fn();
    } catch (const lv::VaultError &e) {
        if (e.code() == lv::Code::invalid) throw UsageError(e.what());
        throw std::runtime_error(e.what());
    }
}

void print(const json &j) { std::cout << j.dump(2) << "\n"; }

json key_json(const lv::KeyVersionInfo &k, const lv::VaultSettings &s) {
    json key = {{"kid", k.kid},
                {"kty", lv::to_string(k.kty)},
                {"keySize", k.size},
                {"keyOps", {"wrapKey", "unwrapKey"}}};
    if (k.kty == lv::KeyType::rsa) {
        key["n"] = k.rsa_n;
        key["e"] = k.rsa_e;
    }
    return {{"key", key},
            {"attributes",
             {{"enabled", k.enabled},
              {"created", k.created},
              {"updated", k.updated},
              {"recoveryLevel", s.purge_protection ? "Recoverable" : "Recoverable+Purgeable"},
              {"recoverableDays", s.retention_days}}}};
}

json key_info_json(const lv::KeyInfo &k) {
    json versions = json::array();
    for (const auto &v : k.versions)
        versions.push_back({{"kid", v.kid},
                            {"enabled", v.enabled},
                            {"created", v.created},
                            {"updated", v.updated}});
    json j = {{"kid", k.kid},
              {"name", k.name},
              {"kty", lv::to_string(k.kty)},
              {"keySize", k.size},
              {"attributes",
               {{"enabled", !k.versions.empty() && k.versions.back().enabled},
                {"created", k.versions.empty() ? "" : k.versions.front().created},
                {"updated", k.versions.empty() ? "" : k.versions.back().updated},
                {"recoveryLevel", k.recovery_level}}},
              {"versions", versions}};
    if (k.deleted) {
        j["deletedDate"] = *k.deleted;
        j["scheduledPurgeDate"] = k.scheduled_purge.value_or("");
        j["recoveryId"] = k.kid;
    }
    return j;
}

// --vault DIR --name N, shared by most key subcommands.
struct KeyTarget {
    std::string vault;
    std::string name;
};

void add_target_options(CLI::App *cmd, KeyTarget &t) {
    cmd->add_option("--vault", t.vault, "Vault directory")->required();
    cmd->add_option("--name,-n", t.name, "Key name")->required();
}

void add_vault_create(CLI::App *vault) {
    struct Options {
        std::string dir;
        int retention_days = lv::kDefaultRetentionDays;
        bool purge_protection = false;
    };
    auto o = std::make_shared<Options>();
    auto *cmd = vault->add_subcommand("create", "Create a vault directory");
    cmd->add_option("DIR", o->dir, "Vault directory (created 0700)")->required();
    cmd->add_option("--retention-days", o->retention_days,
                    "Days a deleted key stays recoverable (1..90, default 90)")
        ->check(CLI::Range(lv::kMinRetentionDays, lv::kMaxRetentionDays));
    cmd->add_flag("--purge-protection", o->purge_protection,
                  "Refuse purging deleted keys until the retention period has passed");
    cmd->callback([o] {
        run([&] {
            lv::Vault v = lv::Vault::create(o->dir, {o->retention_days, o->purge_protection, {}});
            lv::VaultSettings s = v.settings();
            print({{"vault", v.url()},
                   {"dir", v.dir()},
                   {"retentionDays", s.retention_days},
                   {"purgeProtection", s.purge_protection},
                   {"created", s.created}});
        });
    });
}

void add_key_create(CLI::App *key) {
    struct Options {
        KeyTarget t;
        std::string kty = "RSA";
        int size = 0;
    };
    auto o = std::make_shared<Options>();
    auto *cmd = key->add_subcommand("create", "Create a key, or a new version of an existing key");
    add_target_options(cmd, o->t);
    cmd->add_option("--kty", o->kty, "Key type: RSA (default) or oct (AES-256)")
        ->check(CLI::IsMember({"RSA", "oct"}, CLI::ignore_case));
    cmd->add_option("--size", o->size, "RSA key size: 2048, 3072 (default) or 4096")
        ->check(CLI::IsMember({2048, 3072, 4096}));
    cmd->callback([o] {
        run([&] {
            auto kty = lv::parse_key_type(o->kty);
            if (!kty) throw UsageError("--kty must be RSA or oct");
            if (*kty == lv::KeyType::oct && o->size != 0) throw UsageError("--size applies to RSA keys only");
            lv::Vault v = lv::Vault::open(o->t.vault);
            print(key_json(v.create_key(o->t.name, *kty, o->size), v.settings()));
        });
    });
}

void add_key_list(CLI::App *key) {
    struct Options {
        std::string vault;
        bool include_deleted = false;
    };
    auto o = std::make_shared<Options>();
    auto *cmd = key->add_subcommand("list", "List keys (JSON array)");
    cmd->add_option("--vault", o->vault, "Vault directory")->required();
    cmd->add_flag("--include-deleted", o->include_deleted, "Also list soft-deleted keys");
    cmd->callback([o] {
        run([&] {
            json out = json::array();
            for (const auto &k : lv::Vault::open(o->vault).list_keys(o->include_deleted))
                out.push_back(key_info_json(k));
            print(out);
        });
    });
}

void add_key_show(CLI::App *key) {
    struct Options {
        std::string vault;
        std::string name;
        std::string version;
        std::string id;
    };
    auto o = std::make_shared<Options>();
    auto *cmd = key->add_subcommand("show", "Show a key version (default: the newest)");
    cmd->add_option("--vault", o->vault, "Vault directory");
    auto *name = cmd->add_option("--name,-n", o->name, "Key name");
    cmd->add_option("--version", o->version, "Key version")->needs(name);
    auto *id = cmd->add_option("--id", o->id, "Key id (local://DIR/keys/NAME[/VERSION])");
    id->excludes(name);
    cmd->callback([o] {
        run([&] {
            std::string dir = o->vault;
            std::string name = o->name;
            std::string version = o->version;
            if (!o->id.empty()) {
                lv::KeyId kid = lv::parse_kid(o->id);
                if (!dir.empty() && lv::Vault::open(dir).dir() != lv::Vault::open(kid.vault_dir).dir())
                    throw UsageError("--id names vault " + kid.vault_dir + ", not --vault " + dir);
                dir = kid.vault_dir;
                name = kid.name;
                version = kid.version;
            } else if (dir.empty() || name.empty()) {
                throw UsageError("key show needs --vault and --name, or --id");
            }
            lv::Vault v = lv::Vault::open(dir);
            print(key_json(v.show_key(name, version), v.settings()));
        });
    });
}

void add_key_set_attributes(CLI::App *key) {
    struct Options {
        KeyTarget t;
        std::string version;
        std::string enabled;
    };
    auto o = std::make_shared<Options>();
    auto *cmd = key->add_subcommand("set-attributes", "Enable or disable a key version");
    add_target_options(cmd, o->t);
    cmd->add_option("--version", o->version, "Key version (default: the newest)");
    cmd->add_option("--enabled", o->enabled, "true or false")
        ->required()
        ->check(CLI::IsMember({"true", "false"}));
    cmd->callback([o] {
        run([&] {
            lv::Vault v = lv::Vault::open(o->t.vault);
            auto info = v.set_enabled(o->t.name, o->version, o->enabled == "true");
            print(key_json(v.show_key(info.name, info.version), v.settings()));
        });
    });
}

void add_key_lifecycle(CLI::App *key) {
    auto del = std::make_shared<KeyTarget>();
    auto *cmd = key->add_subcommand("delete", "Soft-delete a key (recoverable for the retention period)");
    add_target_options(cmd, *del);
    cmd->callback([del] {
        run([&] { print(key_info_json(lv::Vault::open(del->vault).delete_key(del->name))); });
    });

    auto rec = std::make_shared<KeyTarget>();
    cmd = key->add_subcommand("recover", "Recover a soft-deleted key");
    add_target_options(cmd, *rec);
    cmd->callback([rec] {
        run([&] { print(key_info_json(lv::Vault::open(rec->vault).recover_key(rec->name))); });
    });

    auto purge = std::make_shared<KeyTarget>();
    cmd = key->add_subcommand("purge", "Permanently remove a soft-deleted key");
    add_target_options(cmd, *purge);
    cmd->callback([purge] {
        run([&] {
            lv::Vault v = lv::Vault::open(purge->vault);
            v.purge_key(purge->name);
            print({{"purged", v.key_id(purge->name).str()}});
        });
    });
}

json policies_json(const std::map<std::string, std::vector<std::string>> &policies) {
    json out = json::array();
    for (const auto &[id, perms] : policies)
        out.push_back({{"identity", id}, {"permissions", {{"keys", perms}}}});
    return out;
}

void add_policy_commands(CLI::App *vault) {
    struct SetOptions {
        std::string vault;
        std::string identity;
        std::vector<std::string> permissions;
    };
    auto s = std::make_shared<SetOptions>();
    auto *cmd = vault->add_subcommand("set-policy", "Set (replace) an identity's key permissions");
    cmd->add_option("--vault", s->vault, "Vault directory")->required();
    cmd->add_option("--identity", s->identity, "Identity the policy is for")->required();
    cmd->add_option("--key-permissions", s->permissions,
                    "Permissions: get list create delete recover purge wrapKey unwrapKey update all")
        ->required()
        ->expected(1, -1);
    cmd->callback([s] {
        run([&] {
            lv::Vault v = lv::Vault::open(s->vault);
            v.set_policy(s->identity, s->permissions);
            print(policies_json(v.list_policies()));
        });
    });

    struct DeleteOptions {
        std::string vault;
        std::string identity;
    };
    auto d = std::make_shared<DeleteOptions>();
    cmd = vault->add_subcommand("delete-policy", "Remove an identity's access policy");
    cmd->add_option("--vault", d->vault, "Vault directory")->required();
    cmd->add_option("--identity", d->identity, "Identity")->required();
    cmd->callback([d] {
        run([&] {
            lv::Vault v = lv::Vault::open(d->vault);
            v.delete_policy(d->identity);
            print(policies_json(v.list_policies()));
        });
    });

    auto list_vault = std::make_shared<std::string>();
    auto *policy = vault->add_subcommand("policy", "Access policies");
    policy->require_subcommand(1);
    cmd = policy->add_subcommand("list", "List access policies (JSON)");
    cmd->add_option("--vault", *list_vault, "Vault directory")->required();
    cmd->callback([list_vault] {
        run([&] { print(policies_json(lv::Vault::open(*list_vault).list_policies())); });
    });
}

}  // namespace

void add_vault_command(CLI::App &app) {
    auto *vault = app.add_subcommand("vault", "Manage a local key vault (the `local` provider)");
    vault->require_subcommand(1);
    add_vault_create(vault);
    auto *key = vault->add_subcommand("key", "Manage keys in a vault");
    key->require_subcommand(1);
    add_key_create(key);
    add_key_list(key);
    add_key_show(key);
    add_key_set_attributes(key);
    add_key_lifecycle(key);
    add_policy_commands(vault);
}

}  // namespace cmkfs::cli
