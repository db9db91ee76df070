#include <cmkfs/localvault.h>

#include <limits.h>
#include <stdlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>
#include <set>

#include "vault_internal.h"

namespace cmkfs::localvault {

using json = nlohmann::json;
using namespace detail;

namespace {

constexpr std::string_view kScheme = "local://";
constexpr unsigned kDirMode = 0700;
constexpr unsigned kFileMode = 0600;
constexpr int64_t kDayMs = int64_t{86400} * 1000;

bool valid_name(std::string_view name) {
    if (name.empty() || name.size() > 127) return false;
    return std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
    });
}

bool valid_version(std::string_view v) {
    return v.size() == 32 && std::all_of(v.begin(), v.end(), [](char c) {
               return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
           });
}

void require_name(const std::string &name) {
    if (!valid_name(name))
        throw VaultError(Code::invalid, "invalid key name '" + name +
                                            "' (1-127 characters: letters, digits, '-')");
}

std::string canonical(const std::string &dir) {
    char buf[PATH_MAX];
    if (::realpath(dir.c_str(), buf) == nullptr) {
        if (errno == ENOENT || errno == ENOTDIR)
            throw VaultError(Code::not_found, "no local vault at " + dir);
        throw_io("resolve " + dir, errno);
    }
    return buf;
}

json parse_json(const std::string &text, const std::string &path) {
    try {
        return json::parse(text);
    } catch (const json::exception &e) {
        throw VaultError(Code::internal, "vault file " + path + " is malformed: " + e.what());
    }
}

json read_json(const std::string &path) { return parse_json(read_file(path), path); }

void write_json(const std::string &path, const json &j) {
    write_file_atomic(path, j.dump(2) + "\n", kFileMode);
}

// One version's attributes as stored in key.json.
struct VersionDoc {
    std::string version;
    bool enabled = true;
    std::string created;
    std::string updated;
};

struct KeyDoc {
    std::string name;
    KeyType kty = KeyType::rsa;
    int size = 0;
    std::vector<VersionDoc> versions;
    std::optional<std::string> deleted;
    std::optional<std::string> scheduled_purge;
};

KeyDoc key_from_json(const json &j, const std::string &path) {
    try {
        KeyDoc k;
        k.name = j.at("name").get<std::string>();
        auto kty = parse_key_type(j.at("kty").get<std::string>());
        if (!kty) throw VaultError(Code::internal, "vault file " + path + ": unknown kty");
        k.kty = *kty;
        k.size = j.at("size").get<int>();
        for (const auto &v : j.at("versions")) {
            k.versions.push_back({v.at("version").get<std::string>(), v.at("enabled").get<bool>(),
                                  v.at("created").get<std::string>(),
                                  v.at("updated").get<std::string>()});
        }
        if (j.contains("deleted") && !j["deleted"].is_null())
            k.deleted = j["deleted"].get<std::string>();
        if (j.contains("scheduledPurgeDate") && !j["scheduledPurgeDate"].is_null())
            k.scheduled_purge = j["scheduledPurgeDate"].get<std::string>();
        return k;
    } catch (const json::exception &e) {
        throw VaultError(Code::internal, "vault file " + path + " is malformed: " + e.what());
    }
}

json key_to_json(const KeyDoc &k) {
    json versions = json::array();
    for (const auto &v : k.versions)
        versions.push_back({{"version", v.version}, {"enabled", v.enabled}, {"created", v.created},
                            {"updated", v.updated}});
    return {{"name", k.name},
            {"kty", to_string(k.kty)},
            {"size", k.size},
            {"versions", versions},
            {"deleted", k.deleted ? json(*k.deleted) : json(nullptr)},
            {"scheduledPurgeDate", k.scheduled_purge ? json(*k.scheduled_purge) : json(nullptr)}};
}

using Policies = std::map<std::string, std::set<std::string>>;

}  // namespace

// ---------------------------------------------------------------------------

const char *to_string(Code c) {
    switch (c) {
        case Code::denied: return "denied";
        case Code::not_found: return "not_found";
        case Code::disabled: return "disabled";
        case Code::unavailable: return "unavailable";
        case Code::invalid: return "invalid";
        case Code::conflict: return "conflict";
        case Code::internal: return "internal";
    }
    return "internal";
}

const char *to_string(KeyType t) { return t == KeyType::rsa ? "RSA" : "oct"; }

std::optional<KeyType> parse_key_type(std::string_view s) {
    std::string lower(s);
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (lower == "rsa") return KeyType::rsa;
    if (lower == "oct") return KeyType::oct;
    return std::nullopt;
}

const std::vector<std::string> &all_permissions() {
    static const std::vector<std::string> perms = {"get",     "list",    "create",
                                                   "delete",  "recover", "purge",
                                                   "wrapKey", "unwrapKey", "update"};
    return perms;
}

std::string KeyId::versionless() const {
    return std::string(kScheme) + vault_dir + "/keys/" + name;
}
std::string KeyId::str() const { return version.empty() ? versionless() : versionless() + "/" + version; }

KeyId parse_kid(std::string_view kid) {
    const std::string shown(kid);
    auto bad = [&](const std::string &why) -> VaultError {
        return VaultError(Code::invalid, "malformed key id '" + shown + "': " + why +
                                             " (expected local://<vault-dir>/keys/<name>[/<version>])");
    };
    if (kid.substr(0, kScheme.size()) != kScheme) throw bad("not a local:// key id");
    std::string_view rest = kid.substr(kScheme.size());
    auto pos = rest.rfind("/keys/");
    if (pos == std::string_view::npos) throw bad("no /keys/ component");
    KeyId id;
    id.vault_dir = std::string(rest.substr(0, pos));
    if (id.vault_dir.empty() || id.vault_dir[0] != '/') throw bad("vault directory is not absolute");
    std::string_view tail = rest.substr(pos + 6);
    auto slash = tail.find('/');
    id.name = std::string(tail.substr(0, slash));
    if (slash != std::string_view::npos) {
        id.version = std::string(tail.substr(slash + 1));
        if (!valid_version(id.version)) throw bad("version must be 32 lowercase hex characters");
    }
    if (!valid_name(id.name)) throw bad("invalid key name");
    return id;
}

// ---------------------------------------------------------------------------

namespace {

class Ops {
public:
    explicit Ops(const Vault &v) : v_(v) {}

    std::string keys_dir() const { return v_.dir() + "/keys"; }
    std::string key_dir(const std::string &name) const { return keys_dir() + "/" + name; }
    std::string key_file(const std::string &name) const { return key_dir(name) + "/key.json"; }
    std::string material_file(const std::string &name, const std::string &version) const {
        return key_dir(name) + "/" + version + ".key";
    }

    std::optional<KeyDoc> load_key(const std::string &name) const {
        const std::string path = key_file(name);
        try {
            return key_from_json(read_json(path), path);
        } catch (const VaultError &e) {
            if (e.code() == Code::not_found) return std::nullopt;
            throw;
        }
    }
    KeyDoc need_key(const std::string &name) const {
        auto k = load_key(name);
        if (!k) throw VaultError(Code::not_found, "key " + name + " not found in vault " + v_.url());
        return *k;
    }
    void store_key(const KeyDoc &k) const { write_json(key_file(k.name), key_to_json(k)); }

    Policies load_policies() const {
        const std::string path = v_.dir() + "/policies.json";
        json j;
        try {
            j = read_json(path);
        } catch (const VaultError &e) {
            if (e.code() == Code::not_found) return {};
            throw;
        }
        Policies p;
        try {
            for (auto &[identity, entry] : j.at("identities").items())
                for (const auto &perm : entry.at("keys")) p[identity].insert(perm.get<std::string>());
        } catch (const json::exception &e) {
            throw VaultError(Code::internal, "vault file " + path + " is malformed: " + e.what());
        }
        return p;
    }
    void store_policies(const Policies &p) const {
        json ids = json::object();
        for (const auto &[identity, perms] : p)
            ids[identity] = {{"keys", std::vector<std::string>(perms.begin(), perms.end())}};
        write_json(v_.dir() + "/policies.json", {{"identities", ids}});
    }

    KeyInfo info(const KeyDoc &k) const {
        KeyInfo info;
        info.name = k.name;
        info.kid = v_.key_id(k.name).str();
        info.kty = k.kty;
        info.size = k.size;
        for (const auto &v : k.versions) info.versions.push_back(version_info(k, v, false));
        info.deleted = k.deleted;
        info.scheduled_purge = k.scheduled_purge;
        info.recovery_level =
            v_.settings().purge_protection ? "Recoverable" : "Recoverable+Purgeable";
        return info;
    }

    KeyVersionInfo version_info(const KeyDoc &k, const VersionDoc &v, bool with_public) const {
        KeyVersionInfo out;
        out.name = k.name;
        out.version = v.version;
        out.kid = v_.key_id(k.name, v.version).str();
        out.kty = k.kty;
        out.size = k.size;
        out.enabled = v.enabled;
        out.created = v.created;
        out.updated = v.updated;
        if (with_public && k.kty == KeyType::rsa) {
            const SecretBuffer pem = read_secret_file(material_file(k.name, v.version));
            rsa_public_parts(pem.view(), out.rsa_n, out.rsa_e);
        }
        return out;
    }

    VersionDoc *find_version(KeyDoc &k, const std::string &version) const {
        if (k.versions.empty())
            throw VaultError(Code::not_found, "key " + k.name + " has no versions");
        if (version.empty()) return &k.versions.back();
        for (auto &v : k.versions)
            if (v.version == version) return &v;
        throw VaultError(Code::not_found,
                         "key version " + v_.key_id(k.name, version).str() + " not found");
    }

    void require_access(const std::string &identity, const KeyId &kid,
                        std::initializer_list<const char *> perms) const {
        Policies p = load_policies();
        auto it = identity.empty() ? p.end() : p.find(identity);
        if (it == p.end())
            throw VaultError(Code::denied, "denied: identity " +
                                               (identity.empty() ? std::string("(none)") : identity) +
                                               " has no access policy in vault " + v_.url() +
                                               " for " + kid.str());
        for (const char *perm : perms)
            if (!it->second.count(perm))
                throw VaultError(Code::denied, "denied: identity " + identity + " lacks " + perm +
                                                   " on " + kid.str());
    }

    // The version a data-plane call uses; throws not_found / disabled.
    std::pair<KeyDoc, VersionDoc> resolve(const KeyId &kid, bool newest_enabled) const {
        KeyDoc k = need_key(kid.name);
        if (k.deleted)
            throw VaultError(Code::not_found, "key " + kid.versionless() + " is deleted (since " +
                                                  *k.deleted + ", recoverable until " +
                                                  k.scheduled_purge.value_or("?") + ")");
        if (!kid.version.empty()) {
            VersionDoc v = *find_version(k, kid.version);
            if (!v.enabled) throw VaultError(Code::disabled, "key version " + kid.str() + " is disabled");
            return {k, v};
        }
        if (k.versions.empty()) throw VaultError(Code::not_found, "key " + kid.str() + " has no versions");
        if (newest_enabled) {
            for (auto it = k.versions.rbegin(); it != k.versions.rend(); ++it)
                if (it->enabled) return {k, *it};
            throw VaultError(Code::disabled, "key " + kid.str() + " has no enabled version");
        }
        VersionDoc v = k.versions.back();
        if (!v.enabled)
            throw VaultError(Code::disabled, "newest version of key " + kid.str() + " (" +
                                                 v.version + ") is disabled");
        return {k, v};
    }

    void same_vault(const KeyId &kid) const {
        std::string dir;
        try {
            dir = canonical(kid.vault_dir);
        } catch (const VaultError &) {
            dir = kid.vault_dir;
        }
        if (dir != v_.dir())
            throw VaultError(Code::invalid, "key id " + kid.str() + " is not in vault " + v_.url());
    }

private:
    const Vault &v_;
};

// Runs fn, then writes one audit line with the outcome; rethrows failures.
template <class Fn>
auto audited(const Vault &v, const std::string &identity, const char *operation,
             const std::string &kid, Fn &&fn) -> decltype(fn()) {
    auto record = [&](const char *result, const std::string &message) {
        json line = {{"time", format_rfc3339(now_ms())},
                     {"identity", identity},
                     {"operation", operation},
                     {"kid", kid},
                     {"result", result}};
        if (!message.empty()) line["message"] = message;
        try {
            append_line(v.audit_path(), line.dump(-1, ' ', false, json::error_handler_t::replace));
        } catch (const std::exception &e) {
            if (v.on_audit_error) v.on_audit_error(e.what());
        }
    };
    try {
        if constexpr (std::is_void_v<decltype(fn())>) {
            fn();
            record("ok", {});
        } else {
            auto out = fn();
            record("ok", {});
            return out;
        }
    } catch (const VaultError &e) {
        record(to_string(e.code()), e.what());
        throw;
    } catch (const std::exception &e) {
        record("internal", e.what());
        throw VaultError(Code::internal, e.what());
    }
}

}  // namespace

// ---------------------------------------------------------------------------

Vault::Vault(std::string dir) : dir_(std::move(dir)), audit_path_(dir_ + "/audit.log") {}

std::string Vault::url() const { return std::string(kScheme) + dir_; }

KeyId Vault::key_id(const std::string &name, const std::string &version) const {
    return KeyId{dir_, name, version};
}

Vault Vault::create(const std::string &dir, const VaultSettings &settings) {
    if (settings.retention_days < kMinRetentionDays || settings.retention_days > kMaxRetentionDays)
        throw VaultError(Code::invalid, "retention days must be between " +
                                            std::to_string(kMinRetentionDays) + " and " +
                                            std::to_string(kMaxRetentionDays));
    if (dir.empty()) throw VaultError(Code::invalid, "vault directory is empty");
    make_dir(dir, kDirMode);
    Vault v(canonical(dir));
    if (exists(v.dir_ + "/vault.json"))
        throw VaultError(Code::conflict, "a vault already exists at " + v.dir_);
    std::string created = format_rfc3339(now_ms());
    return audited(v, "operator", "vault.create", v.url(), [&] {
        write_file_atomic(v.dir_ + "/.lock", "", kFileMode);
        DirLock lock(v.dir_, true);
        make_dir(v.dir_ + "/keys", kDirMode);
        Ops(v).store_policies({});
        write_json(v.dir_ + "/vault.json", {{"format", 1},
                                            {"retention_days", settings.retention_days},
                                            {"purge_protection", settings.purge_protection},
                                            {"created", created}});
        return v;
    });
}

Vault Vault::open(const std::string &dir) {
    Vault v(canonical(dir));
    if (!exists(v.dir_ + "/vault.json"))
        throw VaultError(Code::not_found, "no local vault at " + v.dir_ + " (no vault.json)");
    return v;
}

VaultSettings Vault::settings() const {
    const std::string path = dir_ + "/vault.json";
    json j = read_json(path);
    try {
        VaultSettings s;
        s.retention_days = j.at("retention_days").get<int>();
        s.purge_protection = j.at("purge_protection").get<bool>();
        s.created = j.at("created").get<std::string>();
        return s;
    } catch (const json::exception &e) {
        throw VaultError(Code::internal, "vault file " + path + " is malformed: " + e.what());
    }
}

KeyVersionInfo Vault::create_key(const std::string &name, KeyType kty, int size,
                                 const std::string &actor) {
    return audited(*this, actor, "key.create", key_id(name).str(), [&] {
        require_name(name);
        int bits = kty == KeyType::oct ? 256 : (size == 0 ? kDefaultRsaBits : size);
        if (kty == KeyType::rsa && bits != 2048 && bits != 3072 && bits != 4096)
            throw VaultError(Code::invalid, "RSA key size must be 2048, 3072 or 4096");
        if (kty == KeyType::oct && size != 0 && size != 256)
            throw VaultError(Code::invalid, "oct keys are 256 bits");
        Ops ops(*this);
        DirLock lock(dir_, true);
        std::optional<KeyDoc> existing = ops.load_key(name);
        KeyDoc k;
        if (existing) {
            k = *existing;
            if (k.deleted)
                throw VaultError(Code::conflict, "key " + name +
                                                     " is deleted but recoverable; recover or purge it first");
            if (k.kty != kty || k.size != bits)
                throw VaultError(Code::conflict, "key " + name + " is " + to_string(k.kty) + " " +
                                                     std::to_string(k.size) +
                                                     "; a new version must have the same type and size");
        } else {
            k.name = name;
            k.kty = kty;
            k.size = bits;
            make_dir(ops.key_dir(name), kDirMode);
        }
        VersionDoc v;
        v.version = random_hex(16);
        v.created = v.updated = format_rfc3339(now_ms());
        const SecretBuffer material = generate_material(kty, bits);
        write_file_atomic(ops.material_file(name, v.version), material.view(), kFileMode);
        k.versions.push_back(v);
        ops.store_key(k);
        return ops.version_info(k, v, true);
    });
}

std::vector<KeyInfo> Vault::list_keys(bool include_deleted, const std::string &actor) {
    return audited(*this, actor, "key.list", url(), [&] {
        Ops ops(*this);
        DirLock lock(dir_, false);
        std::vector<std::string> names = list_dir(ops.keys_dir());
        std::erase_if(names, [](const std::string &n) { return !valid_name(n); });
        std::sort(names.begin(), names.end());
        std::vector<KeyInfo> out;
        for (const auto &n : names) {
            auto k = ops.load_key(n);
            if (!k || (k->deleted && !include_deleted)) continue;
            out.push_back(ops.info(*k));
        }
        return out;
    });
}

KeyVersionInfo Vault::show_key(const std::string &name, const std::string &version,
                               const std::string &actor) {
    return audited(*this, actor, "key.get", key_id(name, version).str(), [&] {
        require_name(name);
        Ops ops(*this);
        DirLock lock(dir_, false);
        KeyDoc k = ops.need_key(name);
        return ops.version_info(k, *ops.find_version(k, version), true);
    });
}

KeyInfo Vault::key_info(const std::string &name, const std::string &actor) {
    return audited(*this, actor, "key.get", key_id(name).str(), [&] {
        require_name(name);
        Ops ops(*this);
        DirLock lock(dir_, false);
        return ops.info(ops.need_key(name));
    });
}

KeyVersionInfo Vault::set_enabled(const std::string &name, const std::string &version,
                                  bool enabled, const std::string &actor) {
    return audited(*this, actor, enabled ? "key.enable" : "key.disable",
                   key_id(name, version).str(), [&] {
                       require_name(name);
                       Ops ops(*this);
                       DirLock lock(dir_, true);
                       KeyDoc k = ops.need_key(name);
                       if (k.deleted)
                           throw VaultError(Code::not_found, "key " + name + " is deleted");
                       VersionDoc *v = ops.find_version(k, version);
                       v->enabled = enabled;
                       v->updated = format_rfc3339(now_ms());
                       ops.store_key(k);
                       return ops.version_info(k, *v, false);
                   });
}

KeyInfo Vault::delete_key(const std::string &name, const std::string &actor) {
    return audited(*this, actor, "key.delete", key_id(name).str(), [&] {
        require_name(name);
        Ops ops(*this);
        DirLock lock(dir_, true);
        KeyDoc k = ops.need_key(name);
        if (k.deleted) throw VaultError(Code::not_found, "key " + name + " is already deleted");
        int64_t now = now_ms();
        k.deleted = format_rfc3339(now);
        k.scheduled_purge = format_rfc3339(now + settings().retention_days * kDayMs);
        ops.store_key(k);
        return ops.info(k);
    });
}

KeyInfo Vault::recover_key(const std::string &name, const std::string &actor) {
    return audited(*this, actor, "key.recover", key_id(name).str(), [&] {
        require_name(name);
        Ops ops(*this);
        DirLock lock(dir_, true);
        KeyDoc k = ops.need_key(name);
        if (!k.deleted) throw VaultError(Code::conflict, "key " + name + " is not deleted");
        k.deleted.reset();
        k.scheduled_purge.reset();
        ops.store_key(k);
        return ops.info(k);
    });
}

void Vault::purge_key(const std::string &name, const std::string &actor) {
    audited(*this, actor, "key.purge", key_id(name).str(), [&] {
        require_name(name);
        Ops ops(*this);
        DirLock lock(dir_, true);
        KeyDoc k = ops.need_key(name);
        if (!k.deleted)
            throw VaultError(Code::conflict, "key " + name + " is not deleted; delete it before purging");
        if (settings().purge_protection && now_ms() < parse_rfc3339(k.scheduled_purge.value_or(*k.deleted)))
            throw VaultError(Code::conflict, "purge of key " + name +
                                                 " refused: purge protection is on; it can be purged after " +
                                                 k.scheduled_purge.value_or("?"));
        const std::string doomed = ops.keys_dir() + "/.purged-" + name + "-" + random_hex(4);
        if (::rename(ops.key_dir(name).c_str(), doomed.c_str()) != 0)
            throw_io("rename " + ops.key_dir(name), errno);
        remove_tree(doomed);
    });
}

namespace {
[[noreturn]] void throw_unknown_permission(const std::string &permission) {
    std::string known;
    for (const auto &k : all_permissions()) {
        if (!known.empty()) known += ", ";
        known += k;
    }
    throw VaultError(Code::invalid, "unknown key permission '" + permission + "' (known: " + known + ", all)");
}
}  // namespace

void Vault::set_policy(const std::string &identity, const std::vector<std::string> &permissions,
                       const std::string &actor) {
    audited(*this, actor, "policy.set", url(), [&] {
        if (identity.empty()) throw VaultError(Code::invalid, "identity is empty");
        std::set<std::string> perms;
        for (const auto &p : permissions) {
            if (p == "all") {
                perms.insert(all_permissions().begin(), all_permissions().end());
                continue;
            }
            if (std::find(all_permissions().begin(), all_permissions().end(), p) == all_permissions().end())
                throw_unknown_permission(p);
            perms.insert(p);
        }
        Ops ops(*this);
        DirLock lock(dir_, true);
        Policies pol = ops.load_policies();
        pol[identity] = perms;
        ops.store_policies(pol);
    });
}

void Vault::delete_policy(const std::string &identity, const std::string &actor) {
    audited(*this, actor, "policy.delete", url(), [&] {
        Ops ops(*this);
        DirLock lock(dir_, true);
        Policies pol = ops.load_policies();
        if (pol.erase(identity) == 0)
            throw VaultError(Code::not_found, "identity " + identity + " has no access policy");
        ops.store_policies(pol);
    });
}

std::map<std::string, std::vector<std::string>> Vault::list_policies(const std::string &actor) {
    return audited(*this, actor, "policy.list", url(), [&] {
        Ops ops(*this);
        DirLock lock(dir_, false);
        std::map<std::string, std::vector<std::string>> out;
        for (const auto &[id, perms] : ops.load_policies()) {
            std::vector<std::string> ordered;
            for (const auto &p : all_permissions())
                if (perms.count(p)) ordered.push_back(p);
            out[id] = ordered;
        }
        return out;
    });
}

WrapOutput Vault::wrap(const std::string &identity, const KeyId &kid,
                       std::span<const uint8_t> plain) {
    return audited(*this, identity, "wrapKey", kid.str(), [&] {
        Ops ops(*this);
        ops.same_vault(kid);
        if (plain.size() < 16 || plain.size() > 64)
            throw VaultError(Code::invalid, "key to wrap must be 16..64 bytes, got " +
                                                std::to_string(plain.size()));
        DirLock lock(dir_, false);
        ops.require_access(identity, kid, {"get", "wrapKey"});
        auto [k, v] = ops.resolve(kid, true);
        const SecretBuffer material = read_secret_file(ops.material_file(k.name, v.version));
        WrapOutput out;
        out.wrapped = wrap_with(k.kty, material.view(), plain);
        out.versioned_kid = key_id(k.name, v.version).str();
        return out;
    });
}

SecretBuffer Vault::unwrap(const std::string &identity, const KeyId &kid,
                           std::span<const uint8_t> wrapped) {
    return audited(*this, identity, "unwrapKey", kid.str(), [&] {
        Ops ops(*this);
        ops.same_vault(kid);
        DirLock lock(dir_, false);
        ops.require_access(identity, kid, {"get", "unwrapKey"});
        auto [k, v] = ops.resolve(kid, false);
        const SecretBuffer material = read_secret_file(ops.material_file(k.name, v.version));
        return unwrap_with(k.kty, material.view(), wrapped);
    });
}

std::string Vault::check(const std::string &identity, const KeyId &kid) {
    return audited(*this, identity, "check", kid.str(), [&] {
        Ops ops(*this);
        ops.same_vault(kid);
        DirLock lock(dir_, false);
        ops.require_access(identity, kid, {"get", "wrapKey", "unwrapKey"});
        auto [k, v] = ops.resolve(kid, true);
        if (!exists(ops.material_file(k.name, v.version)))
            throw VaultError(Code::not_found, "key material of " + kid.str() + " is missing");
        return key_id(k.name, v.version).str();
    });
}

}  // namespace cmkfs::localvault
