// cmkfs init BACKING --provider P --identity ID --key-encryption-key KID
// Creates an encrypted store whose volume key is wrapped by the CMK.
#include <sys/stat.h>

#include <cerrno>
#include <iostream>

#include "cli/command_error.h"
#include "cli/commands.h"
#include "cli/encryption_status.h"
#include "cli/volume_access.h"
#include "keys/key_provider.h"
#include "config/binding.h"
#include "store/rotation.h"
#include "store/trust.h"
#include "store/volume.h"
#include "util/errors.h"

namespace cmkfs::cli {

namespace {

struct InitArgs {
    std::string backing;
    std::string provider;
    std::string vault;
    std::string identity;
    std::string key_id;
    std::vector<std::string> provider_options;
    std::string config_path;
    bool plaintext_names = false;
    bool shared_storage = false;
};

void run_init(const InitArgs &args) {
    config::Config cfg = load_config_or_default(args.config_path);
    store::InitOptions opts;
    opts.provider = !args.provider.empty() ? args.provider : cfg.provider.name.value_or("local");
    opts.provider_options = cfg.provider.options;
    add_provider_args(opts.provider_options, args.provider_options, args.vault);
    store::refuse_secret_options(opts.provider_options);  // the header is not a place for secrets
    opts.identity = !args.identity.empty() ? args.identity : cfg.key.identity.value_or("");
    opts.key_id = !args.key_id.empty() ? args.key_id : cfg.key.key_encryption_key.value_or("");
    opts.plaintext_names = args.plaintext_names;
    opts.shared_storage = args.shared_storage;
    if (opts.identity.empty()) throw UsageError("init needs --identity (or key.identity in the config)");
    if (opts.key_id.empty())
        throw UsageError("init needs --key-encryption-key (or key.key_encryption_key in the config)");

    const std::string backing = absolute_path(args.backing);
    if (::mkdir(backing.c_str(), 0700) != 0 && errno != EEXIST)
        throw CommandError(kBackingError, SystemError(errno, "create " + backing).what());

    std::vector<std::string> option_list;
    for (const auto &[k, v] : opts.provider_options) option_list.push_back(k + "=" + v);
    auto provider = keys::load_provider(opts.provider, option_list);
    store::InitResult created;
    try {
        created = store::init_volume(backing, *provider, opts);
    } catch (const UsageError &e) {
        throw CommandError(kBackingError, e.what());
    }
    // This host trusts what it just made: the binding is what later commands
    // check the (untrusted) header against.
    config::save_binding(store::binding_from_header(created.header, created.key_commitment));
    std::cout << encryption_status_json(created.header, nullptr).dump(2) << "\n";
}

}  // namespace

void add_init_command(CLI::App &app) {
    auto args = std::make_shared<InitArgs>();
    CLI::App *cmd = app.add_subcommand("init", "Create an encrypted store in BACKING");
    cmd->add_option("BACKING", args->backing, "Backing directory (created if missing; must be empty; left mode 0700)")->required();
    cmd->add_option("--provider", args->provider, "Key provider: local, pkcs11, azure-keyvault, exec or a .so path (default local)");
    cmd->add_option("--vault", args->vault, "Local vault directory (provider local)");
    cmd->add_option("--identity", args->identity, "Identity the provider authenticates as");
    cmd->add_option("--key-encryption-key", args->key_id,
                    "Key id of the CMK; a version-less id follows the latest version");
    cmd->add_option("--provider-option", args->provider_options, "Provider option KEY=VALUE (repeatable)");
    cmd->add_option("--config", args->config_path, "YAML config file");
    cmd->add_flag("--plaintext-names", args->plaintext_names, "Leave file names readable in the backing directory");
    cmd->add_flag("--shared-storage", args->shared_storage,
                  "Several hosts mount the store at once (e.g. on CephFS); switch later with "
                  "`cmkfs shared-storage enable|disable`");
    cmd->callback([args] { run_init(*args); });
}

}  // namespace cmkfs::cli
