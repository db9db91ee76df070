#include "cli/volume_access.h"

#include <filesystem>

#include "cli/command_error.h"
#include "store/reencrypt_journal.h"
#include "store/trust.h"
#include "util/errors.h"

namespace cmkfs::cli {

std::unique_ptr<store::Volume> open_volume(const std::string &backing) {
    try {
        return std::make_unique<store::Volume>(backing);
    } catch (const IntegrityError &) {
        throw;  // a damaged header has its own exit code
    } catch (const Error &e) {
        throw CommandError(kBackingError, e.what());
    }
}

OpenedVolume open_volume_with_provider(const std::string &backing, const config::Config &cfg) {
    OpenedVolume out;
    out.volume = open_volume(backing);
    // The provider, its options, the key id and the identity come from this
    // host's binding; the header is only compared with it (store/trust.h).
    out.provider = store::bind_volume(*out.volume, cfg.provider.options, cfg.provider.name.value_or(""));
    return out;
}

store::StoreLock lock_store_for_use(const store::Volume &volume) {
    try {
        store::StoreLock lock(volume.root_fd(), volume.backing(), store::StoreLock::Mode::shared);
        store::refuse_if_reencrypting(volume.root_fd(), volume.backing());
        return lock;
    } catch (const Error &e) {
        if (e.error_number() == EBUSY) throw CommandError(kBackingError, e.what());
        throw;
    }
}

config::Config load_config_or_default(const std::string &path) {
    if (path.empty()) return config::Config{};
    return config::load_config_file(path);
}

std::string absolute_path(const std::string &path) {
    std::error_code ec;
    auto abs = std::filesystem::absolute(path, ec);
    return ec ? path : abs.lexically_normal().string();
}

void add_provider_args(std::map<std::string, std::string> &options,
                       const std::vector<std::string> &provider_option_args, const std::string &vault) {
    for (const auto &kv : provider_option_args) {
        auto eq = kv.find('=');
        if (eq == std::string::npos || eq == 0) throw UsageError("--provider-option expects KEY=VALUE, got '" + kv + "'");
        options[kv.substr(0, eq)] = kv.substr(eq + 1);
    }
    if (!vault.empty()) options["vault"] = absolute_path(vault);
}

}  // namespace cmkfs::cli
