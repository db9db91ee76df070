// cmkfs trust BACKING [--provider P --key-encryption-key KID --identity ID
//                      [--provider-option K=V]... [--vault DIR]] [--yes] [--config FILE]
// Records this host's binding of a store made elsewhere (a new host, a
// restored backup, a rotation done on another host). The operator states what
// they expect; the header must say the same; the key is unwrapped with the
// stated provider, the header authenticated, and the binding (with the key
// commitment) written. The bare form shows what the header asks for and
// records it only with --yes.
#include <iostream>

#include "cli/command_error.h"
#include "cli/commands.h"
#include "cli/volume_access.h"
#include "config/binding.h"
#include "store/rotation.h"
#include "store/trust.h"
#include "util/errors.h"

namespace cmkfs::cli {

namespace {

struct TrustArgs {
    std::string backing;
    std::string provider;
    std::string vault;
    std::string identity;
    std::string key_id;
    std::vector<std::string> provider_options;
    std::string config_path;
    bool yes = false;
};

bool states_expectations(const TrustArgs &args) {
    return !args.provider.empty() || !args.vault.empty() || !args.identity.empty() || !args.key_id.empty() ||
           !args.provider_options.empty();
}

// What the operator expects, built the way `cmkfs init` builds a header's settings.
config::VolumeBinding stated_binding(const TrustArgs &args, const config::Config &cfg,
                                     const format::VolumeHeader &header) {
    config::VolumeBinding b;
    b.volume_id = header.volume_id;
    b.provider = !args.provider.empty() ? args.provider : cfg.provider.name.value_or("local");
    // The config's options are not compared: like at mount, they are added
    // to the binding's when the provider is loaded (relocated_from=, timeouts).
    add_provider_args(b.provider_options, args.provider_options, args.vault);
    b.identity = !args.identity.empty() ? args.identity : cfg.key.identity.value_or("");
    b.key_id = !args.key_id.empty() ? args.key_id : cfg.key.key_encryption_key.value_or("");
    if (b.identity.empty()) throw UsageError("trust needs --identity (or key.identity in the config)");
    if (b.key_id.empty()) throw UsageError("trust needs --key-encryption-key (or key.key_encryption_key in the config)");
    if (b.key_id == header.versioned_key_id && b.key_id != header.key_id) {
        // The operator named the exact version the header uses: that version is trusted.
        b.key_id = header.key_id;
        b.versioned_key_id = header.versioned_key_id;
    } else if (b.key_id == header.key_id && header.key_rotation_enabled()) {
        b.versioned_key_id = header.versioned_key_id;  // checked with the provider below
    } else {
        b.versioned_key_id = b.key_id;
    }
    return b;
}

void print_requests(const std::string &backing, const format::VolumeHeader &header) {
    std::cout << "The volume header of " << backing << " asks for:\n";
    for (const auto &line : store::header_requests(header)) std::cout << "  " << line << "\n";
    std::cout << "Trusting it lets this provider run with these options (programs, URLs, files) as this user,\n"
                 "and binds this host to the key the header wraps.\n";
}

void run_trust(const TrustArgs &args) {
    config::Config cfg = load_config_or_default(args.config_path);
    const std::string backing = absolute_path(args.backing);
    auto volume = open_volume(backing);
    const format::VolumeHeader header = volume->header();
    std::string path;
    try {
        path = config::binding_path(header.volume_id);
    } catch (const UsageError &e) {
        throw store::TrustError(volume->header_path() + ": " + e.what());
    }

    config::VolumeBinding expected;
    bool check_version = false;
    if (!states_expectations(args)) {
        print_requests(backing, header);
        if (!args.yes) {
            std::cout << "Nothing was recorded. Better, state what you expect (the header must agree):\n"
                      << "  cmkfs trust " << backing
                      << " --provider PROVIDER --key-encryption-key KEY_ID --identity IDENTITY\n"
                      << "or record exactly what is shown above:\n  cmkfs trust " << backing << " --yes\n";
            return;
        }
        expected = store::binding_from_header(header, "");
    } else {
        expected = stated_binding(args, cfg, header);
        store::require_header_matches(header, expected, volume->header_path());
        check_version = expected.key_id == header.key_id && header.key_rotation_enabled() &&
                        args.key_id != header.versioned_key_id &&
                        !store::is_version_of(header.versioned_key_id, expected.key_id);
    }
    store::refuse_secret_options(expected.provider_options);

    auto provider = store::load_bound_provider(expected, cfg.provider.options, cfg.provider.name.value_or(""));
    if (check_version) {
        const std::string current = provider->check({expected.key_id, expected.identity});
        if (current != header.versioned_key_id)
            throw store::TrustError(volume->header_path() + ": the header's key version '" + header.versioned_key_id +
                                    "' is not the current version '" + current + "' of " + expected.key_id +
                                    "; to trust that version, pass it as --key-encryption-key");
    }
    const format::VolumeKeys keys = volume->unlock(*provider);  // authenticates the header too
    expected.key_commitment = store::key_commitment(keys.volume_key(), header.volume_id);

    if (auto existing = config::load_binding(header.volume_id);
        existing && existing->key_commitment != expected.key_commitment)
        throw store::TrustError(path + " binds volume " + header.volume_id + " to another volume key than the one " +
                                backing + " wraps: two stores claim one volume id, or this header was "
                                "substituted. Refusing to replace the binding; remove " + path +
                                " yourself if you mean to.");
    config::save_binding(expected);
    std::cout << "trusted " << backing << " (volume " << header.volume_id << "): binding written to " << path
              << "\n";
}

}  // namespace

void add_trust_command(CLI::App &app) {
    auto args = std::make_shared<TrustArgs>();
    CLI::App *cmd = app.add_subcommand(
        "trust", "Record this host's binding of a store made elsewhere (new host, restored backup)");
    cmd->add_option("BACKING", args->backing, "Backing directory of the store")->required();
    cmd->add_option("--provider", args->provider, "Provider you expect (default: the config's, else local)");
    cmd->add_option("--vault", args->vault, "Local vault directory you expect (provider local)");
    cmd->add_option("--identity", args->identity, "Identity you expect");
    cmd->add_option("--key-encryption-key", args->key_id, "Key id you expect (version-less, or the exact version)");
    cmd->add_option("--provider-option", args->provider_options, "Provider option KEY=VALUE you expect (repeatable)");
    cmd->add_option("--config", args->config_path, "YAML config file");
    cmd->add_flag("--yes", args->yes, "Without stated expectations: record what the header asks for");
    cmd->callback([args] { run_trust(*args); });
}

}  // namespace cmkfs::cli
