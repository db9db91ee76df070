#include "config/binding.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>

#include <yaml-cpp/yaml.h>

#include "config/config.h"
#include "config/yaml_guard.h"
#include "config/yaml_reader.h"
#include "util/errors.h"
#include "util/file_io.h"
#include "util/unique_fd.h"

namespace cmkfs::config {

namespace {

using detail::Entry;
using detail::YamlReader;

bool is_hex(const std::string &s, size_t length) {
    if (s.size() != length) return false;
    for (char c : s)
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
    return true;
}

// Root's registry must be root's alone: anyone else who can write it could
// bind a store to their own provider, program or key.
void check_safe(const struct stat &st, const std::string &path, const char *what) {
    const uid_t me = ::geteuid();
    if (st.st_uid != 0 && st.st_uid != me)
        throw ConfigError(path, std::string("refusing the ") + what + ": owned by uid " +
                                    std::to_string(st.st_uid) + ", expected root" +
                                    (me == 0 ? "" : " or uid " + std::to_string(me)));
    if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0)
        throw ConfigError(path, std::string("refusing the ") + what +
                                    ": writable by group or others (chmod go-w it; bindings decide which "
                                    "provider, key and program a mount uses)");
}

// Opens the registry directory and checks it; an absent one is an empty registry.
UniqueFd open_registry(const std::string &dir, bool create) {
    if (create && ::access(dir.c_str(), F_OK) != 0) {
        std::error_code ec;
        std::filesystem::create_directories(std::filesystem::path(dir).parent_path(), ec);
        if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
            throw ConfigError(dir, SystemError(errno, "cannot create the binding registry").what());
    }
    UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!fd) {
        if (errno == ENOENT && !create) return fd;
        throw ConfigError(dir, SystemError(errno, "cannot open the binding registry").what());
    }
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) throw_errno("stat " + dir);
    check_safe(st, dir, "binding registry directory");
    return fd;
}

std::string file_name(const std::string &volume_id) {
    if (!is_hex(volume_id, 32))
        throw UsageError("volume id '" + volume_id.substr(0, 64) + "' is not 32 lower-case hex digits");
    return volume_id + ".yaml";
}

KeySettings read_settings(const YamlReader &r, const Entry &map) {
    if (!map.value.IsMap()) r.fail(map, "expected a map of key settings");
    KeySettings k;
    r.for_each_key(map, {"provider", "provider_options", "key_id", "versioned_key_id", "identity"},
                   [&](const std::string &key, const Entry &e) {
                       if (key == "provider_options") k.provider_options = r.string_map(e);
                       else (key == "provider"   ? k.provider
                             : key == "key_id"   ? k.key_id
                             : key == "identity" ? k.identity
                                                 : k.versioned_key_id) = r.string(e);
                   });
    if (k.provider.empty() || k.key_id.empty() || k.identity.empty())
        r.fail(map, "expected provider, key_id and identity to be set");
    if (k.versioned_key_id.empty()) k.versioned_key_id = k.key_id;
    return k;
}

void write_settings(YAML::Emitter &out, const KeySettings &k) {
    out << YAML::Key << "provider" << YAML::Value << YAML::DoubleQuoted << k.provider;
    out << YAML::Key << "provider_options" << YAML::Value << YAML::BeginMap;
    for (const auto &[key, v] : k.provider_options)
        out << YAML::Key << YAML::DoubleQuoted << key << YAML::Value << YAML::DoubleQuoted << v;
    out << YAML::EndMap;
    out << YAML::Key << "key_id" << YAML::Value << YAML::DoubleQuoted << k.key_id;
    out << YAML::Key << "versioned_key_id" << YAML::Value << YAML::DoubleQuoted << k.versioned_key_id;
    out << YAML::Key << "identity" << YAML::Value << YAML::DoubleQuoted << k.identity;
}

}  // namespace

KeySettings VolumeBinding::settings() const {
    return {provider, provider_options, key_id, versioned_key_id, identity};
}

void VolumeBinding::set_settings(const KeySettings &k) {
    provider = k.provider;
    provider_options = k.provider_options;
    key_id = k.key_id;
    versioned_key_id = k.versioned_key_id;
    identity = k.identity;
}

std::string volumes_dir() {
    const char *env = std::getenv("CMKFS_VOLUMES_DIR");  // NOLINT(concurrency-mt-unsafe)
    return env != nullptr && env[0] != '\0' ? std::string(env) : std::string(kDefaultVolumesDir);
}

std::string binding_path(const std::string &volume_id) { return volumes_dir() + "/" + file_name(volume_id); }

VolumeBinding parse_binding(const std::string &yaml_text, const std::string &source) {
    if (yaml_text.size() > kMaxBindingSize)
        throw ConfigError(source, "larger than " + std::to_string(kMaxBindingSize) + " bytes; not a binding");
    // Bounded like a config: no anchors, aliases, second documents or deep nesting.
    const YAML::Node root = detail::load_bounded_document(yaml_text, source);
    const YamlReader r(source);
    const Entry top{root, "", YAML::Mark()};
    if (!root.IsMap()) r.fail(top, "expected a map (a cmkfs volume binding)");
    VolumeBinding b;
    r.for_each_key(top,
                   {"volume_id", "provider", "provider_options", "key_id", "versioned_key_id", "identity",
                    "key_commitment", "pending_key_commitment", "rotating"},
                   [&](const std::string &key, const Entry &e) {
                       if (key == "volume_id") {
                           b.volume_id = r.string(e);
                           if (!is_hex(b.volume_id, 32)) r.fail(e, "expected 32 lower-case hex digits");
                       } else if (key == "provider") {
                           b.provider = r.string(e);
                       } else if (key == "provider_options") {
                           b.provider_options = r.string_map(e);
                       } else if (key == "key_id") {
                           b.key_id = r.string(e);
                       } else if (key == "versioned_key_id") {
                           b.versioned_key_id = r.string(e);
                       } else if (key == "identity") {
                           b.identity = r.string(e);
                       } else if (key == "rotating") {
                           b.rotating = read_settings(r, e);
                       } else {
                           std::string &out = key == "key_commitment" ? b.key_commitment : b.pending_key_commitment;
                           out = r.string(e);
                           if (!is_hex(out, 64)) r.fail(e, "expected 64 lower-case hex digits");
                       }
                   });
    for (const auto &[name, value] : {std::pair{"volume_id", &b.volume_id}, std::pair{"provider", &b.provider},
                                      std::pair{"key_id", &b.key_id}, std::pair{"identity", &b.identity},
                                      std::pair{"key_commitment", &b.key_commitment}})
        if (value->empty()) r.fail(YAML::Mark(), name, "expected this key to be set", "nothing");
    if (b.versioned_key_id.empty()) b.versioned_key_id = b.key_id;
    return b;
}

std::string binding_to_yaml(const VolumeBinding &b) {
    YAML::Emitter out;
    out << YAML::BeginMap;
    out << YAML::Key << "volume_id" << YAML::Value << b.volume_id;
    write_settings(out, b.settings());
    out << YAML::Key << "key_commitment" << YAML::Value << b.key_commitment;
    if (!b.pending_key_commitment.empty())
        out << YAML::Key << "pending_key_commitment" << YAML::Value << b.pending_key_commitment;
    if (b.rotating) {
        out << YAML::Key << "rotating" << YAML::Value << YAML::BeginMap;
        write_settings(out, *b.rotating);
        out << YAML::EndMap;
    }
    out << YAML::EndMap;
    return "# cmkfs volume binding: what this host trusts for the store with this volume id.\n"
           "# Written by cmkfs init, cmkfs trust and key rotations; see docs/FORMAT.md.\n" +
           std::string(out.c_str()) + "\n";
}

std::optional<VolumeBinding> load_binding(const std::string &volume_id) {
    const std::string name = file_name(volume_id);
    const std::string dir = volumes_dir();
    const std::string path = dir + "/" + name;
    UniqueFd root = open_registry(dir, /*create=*/false);
    if (!root) return std::nullopt;
    UniqueFd fd(::openat(root.get(), name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
    if (!fd) {
        if (errno == ENOENT) return std::nullopt;
        throw ConfigError(path, SystemError(errno, "cannot open the binding").what());
    }
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) throw_errno("stat " + path);
    if (!S_ISREG(st.st_mode)) throw ConfigError(path, "refusing the binding: not a regular file");
    check_safe(st, path, "binding file");
    if (static_cast<size_t>(st.st_size) > kMaxBindingSize)
        throw ConfigError(path, "larger than " + std::to_string(kMaxBindingSize) + " bytes; not a binding");
    std::string text(static_cast<size_t>(st.st_size), '\0');
    const size_t n = pread_full(fd.get(), {reinterpret_cast<uint8_t *>(text.data()), text.size()}, 0);
    text.resize(n);
    VolumeBinding b = parse_binding(text, path);
    if (b.volume_id != volume_id)
        throw ConfigError(path, "volume_id: expected " + volume_id + " (the file's name), got " + b.volume_id);
    return b;
}

std::string save_binding(const VolumeBinding &binding) {
    const std::string name = file_name(binding.volume_id);
    const std::string dir = volumes_dir();
    UniqueFd root = open_registry(dir, /*create=*/true);
    remove_orphan_temporaries(root.get(), name);
    const std::string text = binding_to_yaml(binding);
    write_file_atomic(root.get(), name, {reinterpret_cast<const uint8_t *>(text.data()), text.size()}, 0600);
    return dir + "/" + name;
}

bool remove_binding(const std::string &volume_id) {
    const std::string path = binding_path(volume_id);
    if (::unlink(path.c_str()) == 0) return true;
    if (errno == ENOENT) return false;
    throw SystemError(errno, "remove the binding " + path);
}

}  // namespace cmkfs::config
