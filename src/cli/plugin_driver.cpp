#include "cli/plugin_driver.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <thread>

#include <spdlog/spdlog.h>

#include "cli/encryption_status.h"
#include "cli/error_report.h"
#include "cli/mount_table.h"
#include "cli/plugin_spawn.h"
#include "cli/volume_access.h"
#include "config/binding.h"
#include "daemon/control_socket.h"
#include "util/errors.h"
#include "util/file_io.h"
#include "util/unique_fd.h"

namespace cmkfs::cli {

namespace {

namespace fs = std::filesystem;

// Per-volume settings the plugin keeps beside the store (ROOT is root-owned
// and trusted; the store itself is not).
constexpr const char *kVolumeFile = "volume.json";

void make_dir(const std::string &path, mode_t mode) {
    std::error_code ec;
    fs::create_directories(path, ec);
    if (ec) throw SystemError(ec.value(), "create " + path);
    ::chmod(path.c_str(), mode);
}

std::string utc_stamp() {
    const std::time_t now = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&now, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
    return buf;
}

// The binding of a store (written by `cmkfs init` beside the other trusted
// configuration) goes when the store goes: a binding without its store would
// only name a key for nothing.
void remove_volume_binding(const std::string &volume_id) {
    try {
        if (config::remove_binding(volume_id))
            spdlog::info("removed the binding {}", config::binding_path(volume_id));
    } catch (const std::exception &e) {
        spdlog::warn("{}", e.what());
    }
}

// After umount the daemon still finishes and releases the store; the next
// mount of the same store must not race it. flock(2) locks die with their
// holder, so an exclusive lock that can be taken means nobody serves it.
void wait_until_released(const std::string &store) {
    UniqueFd fd(::open((store + "/.cmkfs.lock").c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) return;
    for (int i = 0; i < 200; ++i) {
        if (::flock(fd.get(), LOCK_EX | LOCK_NB) == 0) {
            ::flock(fd.get(), LOCK_UN);
            return;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    spdlog::warn("the daemon of {} still holds it 10 s after unmount", store);
}

std::string option_string(const nlohmann::json &value, const std::string &name) {
    if (!value.is_string()) throw UsageError("option " + name + " must be a string");
    return value.get<std::string>();
}

bool parse_bool(const std::string &text, const std::string &name) {
    if (text == "true" || text == "1" || text == "yes") return true;
    if (text == "false" || text == "0" || text == "no") return false;
    throw UsageError("option " + name + " expects true or false, got '" + text + "'");
}

std::string known_options() {
    std::string out;
    for (auto name : config::kVolumeCreateOptions) out += (out.empty() ? "" : ", ") + std::string(name);
    return out;
}

}  // namespace

bool is_valid_volume_name(const std::string &name) {
    if (name.empty() || name.size() > 128 || !std::isalnum(static_cast<unsigned char>(name[0]))) return false;
    for (char c : name)
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '.' && c != '-') return false;
    return true;
}

VolumeDriver::VolumeDriver(config::VolumePluginConfig cfg, std::string config_path)
    : cfg_(std::move(cfg)), config_path_(std::move(config_path)), records_(cfg_.state_dir + "/mounts.json") {
    make_dir(cfg_.root, 0700);
    make_dir(cfg_.state_dir + "/mounts", 0700);
    records_.load();
    reconcile();
}

// A restarted plugin trusts the mount table over its file: a recorded volume
// whose mount is gone has no users left (its daemon died, or someone
// unmounted it), and a mount nobody recorded has no Docker reference to
// release it, so it is unmounted rather than leaked.
void VolumeDriver::reconcile() {
    auto &volumes = records_.volumes();
    for (auto it = volumes.begin(); it != volumes.end();) {
        if (!is_valid_volume_name(it->first) || !mounted(it->first) || !served(it->first) || it->second.empty()) {
            spdlog::info("forgetting the mount record of {} ({} references): not mounted, its daemon gone, or "
                         "no references",
                         it->first, it->second.size());
            if (is_valid_volume_name(it->first) && mounted(it->first)) unmount_store(it->first);
            it = volumes.erase(it);
        } else {
            spdlog::info("volume {} is still mounted with {} references", it->first, it->second.size());
            ++it;
        }
    }
    std::error_code ec;
    for (const auto &entry : fs::directory_iterator(cfg_.state_dir + "/mounts", ec)) {
        const std::string name = entry.path().filename();
        if (volumes.count(name) != 0) continue;
        if (is_valid_volume_name(name) && mounted(name)) {
            spdlog::info("unmounting {}: mounted but used by no recorded container", name);
            unmount_store(name);
        }
        ::rmdir(entry.path().c_str());
    }
    records_.save();
}

nlohmann::json VolumeDriver::handle(const std::string &method, const nlohmann::json &request) {
    const std::lock_guard lock(mutex_);
    // Anything but a read may change what Get shows.
    if (method != "/VolumeDriver.Get" && method != "/VolumeDriver.List" && method != "/VolumeDriver.Path")
        status_cache_.clear();
    try {
        if (method == "/Plugin.Activate") return {{"Implements", {"VolumeDriver"}}};
        if (method == "/VolumeDriver.Capabilities") return {{"Capabilities", {{"Scope", "local"}}}};
        if (method == "/VolumeDriver.List") return list();
        if (!request.is_object()) throw UsageError("the request body must be a JSON object");
        const std::string name = request.value("Name", "");
        if (!is_valid_volume_name(name))
            throw UsageError("invalid volume name '" + name + "' (letters, digits, _ . - ; at most 128)");
        if (method == "/VolumeDriver.Create")
            return create(name, request.contains("Opts") ? request.at("Opts") : nlohmann::json::object());
        if (!exists(name)) throw UsageError("no such volume: " + name);
        if (method == "/VolumeDriver.Remove") return remove(name);
        if (method == "/VolumeDriver.Mount") return mount(name, request.value("ID", ""));
        if (method == "/VolumeDriver.Unmount") return unmount(name, request.value("ID", ""));
        if (method == "/VolumeDriver.Path") return {{"Mountpoint", mounted(name) ? mountpoint(name) : ""}, {"Err", ""}};
        if (method == "/VolumeDriver.Get") return get(name);
        throw UsageError("unknown plugin call " + method);
    } catch (const nlohmann::json::exception &e) {
        return {{"Err", std::string("malformed request: ") + e.what()}};
    } catch (...) {
        std::string message;
        exit_code_for_current_exception(message);
        spdlog::warn("{}: {}", method, message);
        return {{"Err", message}};
    }
}

nlohmann::json VolumeDriver::create(const std::string &name, const nlohmann::json &opts) {
    if (!opts.is_null() && !opts.is_object()) throw UsageError("Opts must be a JSON object");
    std::map<std::string, std::string> options = cfg_.defaults;
    if (opts.is_object()) {
        for (const auto &[key, value] : opts.items()) {
            if (!config::is_volume_create_option(key))
                throw UsageError("unknown option '" + key + "' (known: " + known_options() + ")");
            options[key] = option_string(value, key);
            // Whoever may create volumes must not choose code for the plugin
            // (root) to load: plugin paths come from the trusted config only.
            if (key == "provider" && options[key].find('/') != std::string::npos)
                throw UsageError("option provider must name a provider (local, pkcs11, azure-keyvault, exec); "
                                 "a plugin path is accepted only in volume_plugin.defaults");
        }
    }
    if (exists(name)) {
        // As Docker's local driver does: creating an existing volume is not an
        // error (Docker may call Create for a volume it did not know of), and
        // the store stays as it is.
        if (opts.is_object() && !opts.empty())
            spdlog::info("volume {} exists already; the options of this Create are ignored", name);
        return {{"Err", ""}};
    }
    for (const char *required : {"key-encryption-key", "identity"}) {
        if (options.count(required) == 0)
            throw UsageError(std::string("missing option ") + required + " (-o " + required +
                             "=... or volume_plugin.defaults in the plugin's config)");
    }
    const bool remove_on_rm =
        options.count("remove-on-rm") != 0 ? parse_bool(options["remove-on-rm"], "remove-on-rm") : cfg_.remove_on_rm;
    if (options.count("vault") != 0 && options["vault"].front() != '/')
        throw UsageError("option vault must be an absolute path, got '" + options["vault"] + "'");

    const std::string dir = volume_dir(name);
    if (::mkdir(dir.c_str(), 0700) != 0) throw SystemError(errno, "create " + dir);
    std::vector<std::string> args{"init", store_dir(name), "--key-encryption-key", options["key-encryption-key"],
                                  "--identity", options["identity"]};
    if (options.count("provider") != 0) args.insert(args.end(), {"--provider", options["provider"]});
    if (options.count("vault") != 0) args.insert(args.end(), {"--vault", options["vault"]});
    if (!config_path_.empty()) args.insert(args.end(), {"--config", config_path_});
    const SelfRun init = run_self(args);
    if (init.exit_code != 0) {
        std::error_code ec;
        fs::remove_all(dir, ec);
        throw Error(EINVAL, init.error);  // Docker prefixes "create NAME: "
    }
    write_text_file_atomic(dir + "/" + kVolumeFile, nlohmann::json{{"remove_on_rm", remove_on_rm}}.dump() + "\n", 0600);
    spdlog::info("created volume {} in {} (key {}, identity {})", name, store_dir(name), options["key-encryption-key"],
                 options["identity"]);
    return {{"Err", ""}};
}

nlohmann::json VolumeDriver::remove(const std::string &name) {
    auto it = records_.volumes().find(name);
    if (mounted(name) || (it != records_.volumes().end() && !it->second.empty())) {
        const size_t users = it == records_.volumes().end() ? 0 : it->second.size();
        throw Error(EBUSY, "volume " + name + " is mounted (" + std::to_string(users) +
                               " container mounts); stop the containers first");
    }
    bool remove_store = cfg_.remove_on_rm;
    try {
        const nlohmann::json settings = nlohmann::json::parse(read_text_file(volume_dir(name) + "/" + kVolumeFile));
        remove_store = settings.value("remove_on_rm", remove_store);
    } catch (const std::exception &e) {
        spdlog::warn("volume {}: no readable {} ({}); using the config's remove_on_rm", name, kVolumeFile, e.what());
    }
    if (remove_store) {
        std::string volume_id;
        try {
            volume_id = open_volume(store_dir(name))->header().volume_id;
        } catch (const std::exception &e) {
            spdlog::warn("volume {}: header unreadable ({}); its binding, if any, stays", name, e.what());
        }
        std::error_code ec;
        fs::remove_all(volume_dir(name), ec);
        if (ec) throw SystemError(ec.value(), "remove " + volume_dir(name));
        if (!volume_id.empty()) remove_volume_binding(volume_id);
        spdlog::info("removed volume {} and its ciphertext", name);
        return {{"Err", ""}};
    }
    const std::string kept_root = cfg_.root + "/.removed";
    make_dir(kept_root, 0700);
    const std::string kept = kept_root + "/" + name + "-" + utc_stamp();
    if (::rename(volume_dir(name).c_str(), kept.c_str()) != 0) throw SystemError(errno, "move to " + kept);
    spdlog::info("removed volume {} from Docker; its ciphertext is kept in {}/store (mount it with `cmkfs mount "
                 "{}/store MOUNTPOINT`, delete it with `rm -r {}`)",
                 name, kept, kept, kept);
    return {{"Err", ""}};
}

nlohmann::json VolumeDriver::mount(const std::string &name, const std::string &id) {
    if (id.empty()) throw UsageError("Mount needs the ID of the container mount");
    auto &ids = records_.volumes()[name];
    if (mounted(name) && !served(name)) {
        // The daemon died (crash, OOM kill): its mount only answers ENOTCONN.
        // Containers that hold it keep a dead view whatever we do; new ones
        // get a fresh mount, and the old mount IDs no longer count.
        spdlog::warn("the daemon of volume {} is gone; detaching its dead mount and mounting again", name);
        if (::umount2(mountpoint(name).c_str(), MNT_DETACH) != 0)
            throw SystemError(errno, "detach the dead mount " + mountpoint(name));
        ids.clear();
    }
    if (!mounted(name)) {
        ids.clear();  // references to a mount that is gone are stale
        const std::string mp = mountpoint(name);
        make_dir(mp, 0700);
        // allow_other: a container's processes may run as any user; the
        // kernel still checks file modes (default_permissions).
        std::vector<std::string> args{"mount", store_dir(name), mp, "-o", "allow_other"};
        if (!config_path_.empty()) args.insert(args.end(), {"--config", config_path_});
        const SelfRun run = run_self(args);
        if (run.exit_code != 0) {
            records_.volumes().erase(name);
            ::rmdir(mp.c_str());
            throw Error(EIO, run.error);  // Docker names the volume and the call
        }
        spdlog::info("mounted volume {} at {}", name, mp);
    }
    ids.insert(id);
    records_.save();
    return {{"Mountpoint", mountpoint(name)}, {"Err", ""}};
}

nlohmann::json VolumeDriver::unmount(const std::string &name, const std::string &id) {
    auto it = records_.volumes().find(name);
    if (it == records_.volumes().end() || it->second.erase(id) == 0) {
        // Docker retries an Unmount it thinks failed; a second one is harmless.
        spdlog::warn("Unmount of {} by unknown mount ID {}", name, id);
        return {{"Err", ""}};
    }
    if (it->second.empty()) {
        unmount_store(name);
        records_.volumes().erase(it);
        spdlog::info("unmounted volume {} (last container mount left)", name);
    }
    records_.save();
    return {{"Err", ""}};
}

void VolumeDriver::unmount_store(const std::string &name) {
    const std::string mp = mountpoint(name);
    if (mounted(name) && ::umount2(mp.c_str(), served(name) ? 0 : MNT_DETACH) != 0)
        throw SystemError(errno, "unmount " + mp);
    wait_until_released(store_dir(name));
    ::rmdir(mp.c_str());
}

nlohmann::json VolumeDriver::get(const std::string &name) {
    nlohmann::json volume = {{"Name", name}};
    if (mounted(name)) volume["Mountpoint"] = mountpoint(name);
    const bool is_mounted = mounted(name);
    nlohmann::json status;
    const auto now = std::chrono::steady_clock::now();
    const auto cached = status_cache_.find(name);
    if (!is_mounted && cached != status_cache_.end() && now - cached->second.first < kStatusCacheTime) {
        status = cached->second.second;
    } else {
        try {
            // What `cmkfs encryption show` shows; with the plugin's config so
            // that provider options and endpoints match the mounts'.
            const config::Config cfg = load_config_or_default(config_path_);
            status = encryption_status_of(is_mounted ? mountpoint(name) : store_dir(name), cfg);
        } catch (...) {
            std::string message;
            exit_code_for_current_exception(message);
            status = {{"error", message}};
        }
        // An unmounted volume's key state costs a provider call (an unwrap);
        // dockerd asks for it several times per `docker run`.
        if (!is_mounted) status_cache_[name] = {now, status};
    }
    status["backing"] = store_dir(name);
    const auto it = records_.volumes().find(name);
    status["mountReferences"] = it == records_.volumes().end() ? 0 : it->second.size();
    volume["Status"] = status;
    return {{"Volume", volume}, {"Err", ""}};
}

nlohmann::json VolumeDriver::list() {
    nlohmann::json volumes = nlohmann::json::array();
    std::error_code ec;
    for (const auto &entry : fs::directory_iterator(cfg_.root, ec)) {
        const std::string name = entry.path().filename();
        if (!is_valid_volume_name(name) || !exists(name)) continue;
        nlohmann::json v = {{"Name", name}};
        if (mounted(name)) v["Mountpoint"] = mountpoint(name);
        volumes.push_back(v);
    }
    return {{"Volumes", volumes}, {"Err", ""}};
}

VolumePluginCounts VolumeDriver::counts() {
    const std::lock_guard lock(mutex_);
    VolumePluginCounts c;
    std::error_code ec;
    for (const auto &entry : fs::directory_iterator(cfg_.root, ec))
        if (is_valid_volume_name(entry.path().filename()) && exists(entry.path().filename())) ++c.volumes;
    for (const auto &[name, ids] : records_.volumes()) {
        if (!ids.empty()) ++c.mounted_volumes;
        c.mount_references += ids.size();
    }
    return c;
}

bool VolumeDriver::exists(const std::string &name) const {
    struct stat st {};
    return ::stat(store_dir(name).c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

bool VolumeDriver::mounted(const std::string &name) const { return find_cmkfs_mount(mountpoint(name)).has_value(); }

bool VolumeDriver::served(const std::string &name) const {
    try {
        return daemon::control_request(mountpoint(name), {{"op", "status"}}, 5000).value("ok", false);
    } catch (const std::exception &e) {
        spdlog::debug("volume {}: no answer from its daemon: {}", name, e.what());
        return false;
    }
}

}  // namespace cmkfs::cli
