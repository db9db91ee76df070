#include "cli/volume_access.h"

#include <chrono>
#include <filesystem>
#include <thread>

#include "cli/command_error.h"
#include "cli/mount_table.h"
#include "store/reencrypt_journal.h"
#include "store/trust.h"
#include "util/errors.h"
#include "util/host_name.h"

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

namespace {

// "BACKING is mounted at M by host H (…)" for each mount among the holders,
// else "BACKING is in use by …".
std::string busy_message(const std::string &backing, const store::StoreBusy &busy) {
    std::string mounts;
    for (const auto &h : busy.holders())
        if (h.is_mount())
            mounts += (mounts.empty() ? "" : ", ") + h.mountpoint + " by host " + h.host + " (pid " + h.pid + ", " +
                      h.what + ")";
    if (mounts.empty()) return busy.what();
    return backing + " is mounted at " + mounts;
}

// A daemon of this host whose mount is gone (unmounted a moment ago) still
// holds the lock until it has exited; it will let go without anyone's help.
bool only_exiting_daemons(const store::StoreBusy &busy) {
    if (busy.holders().empty()) return false;
    for (const auto &h : busy.holders())
        if (h.host != host_name() || !h.is_mount() || find_cmkfs_mount(h.mountpoint)) return false;
    return true;
}

store::StoreLock take_mount_lock(const store::Volume &volume, bool shared, const std::string &mountpoint) {
    for (int attempt = 0;; ++attempt) {
        try {
            return store::StoreLock(volume.root_fd(), volume.backing(),
                                    shared ? store::StoreLock::Mode::shared : store::StoreLock::Mode::exclusive,
                                    shared ? "shared mount" : "exclusive mount", mountpoint);
        } catch (const store::StoreBusy &e) {
            if (attempt >= 200 || !only_exiting_daemons(e)) throw;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
}

}  // namespace

store::StoreLock lock_store_for_mount(store::Volume &volume, const std::string &mountpoint) {
    const bool shared = volume.header().shared_storage;
    try {
        store::StoreLock lock = take_mount_lock(volume, shared, mountpoint);
        store::refuse_if_reencrypting(volume.root_fd(), volume.backing());
        // The header could have been switched (offline, under the exclusive
        // lock) between its first read and our lock: mount what it says now.
        volume.reload_header();
        if (volume.header().shared_storage != shared)
            throw CommandError(kBackingError, volume.backing() + " was switched to " +
                                                  (shared ? "exclusive" : "shared-storage") +
                                                  " mode while mounting; mount it again");
        return lock;
    } catch (const store::StoreBusy &e) {
        std::string message = busy_message(volume.backing(), e);
        if (message.find(" is mounted at ") != std::string::npos)
            message = volume.backing() + " is already " + message.substr(volume.backing().size() + 4);
        if (!shared)
            message += "; the store is not in shared-storage mode, so one host mounts it at a time (unmount it "
                       "there first, or switch it with `cmkfs shared-storage enable` while no host mounts it)";
        throw CommandError(kBackingError, message);
    } catch (const Error &e) {
        if (e.error_number() == EBUSY) throw CommandError(kBackingError, e.what());  // a re-encryption's journal
        throw;
    }
}

store::StoreLock lock_store_offline(const store::Volume &volume, const std::string &what) {
    try {
        store::StoreLock lock(volume.root_fd(), volume.backing(), store::StoreLock::Mode::exclusive, what);
        store::refuse_if_reencrypting(volume.root_fd(), volume.backing());
        return lock;
    } catch (const store::StoreBusy &e) {
        throw CommandError(kBackingError, offline_refusal(volume.backing(), e, what));
    } catch (const Error &e) {
        if (e.error_number() == EBUSY) throw CommandError(kBackingError, e.what());  // a re-encryption's journal
        throw;
    }
}

std::string offline_refusal(const std::string &backing, const store::StoreBusy &busy, const std::string &what) {
    const std::string message = busy_message(backing, busy);
    if (message.find(" is mounted at ") != std::string::npos)
        return message + "; " + what + " needs the store unmounted on every host: unmount it there first";
    return message + "; " + what + " needs the store to itself: wait for it to finish";
}

config::Config load_config_or_default(const std::string &path) {
    if (path.empty()) return config::Config{};
    config::Config cfg = config::load_config_file(path);
    if (cfg.host_name) set_host_name(*cfg.host_name);
    return cfg;
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
