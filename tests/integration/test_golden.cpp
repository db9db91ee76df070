// Golden stores (tests/golden/v*/, made once by tests/golden/make_golden.sh):
// every format version ever released must still mount and read identically.
// Each store is unpacked into a scratch directory (the committed copy is never
// touched), mounted with the copied vault through the local provider's
// relocated_from= option, compared entry by entry with its manifest, and
// checked with `cmkfs fsck` before and after; a store older than the current
// version is then upgraded (`cmkfs upgrade`) and must pass fsck and match its
// manifest again.
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "crypto/encoding.h"
#include "crypto/kdf.h"
#include "support/golden.h"
#include "support/process.h"
#include "support/scoped_env.h"

using namespace cmkfs::test;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

std::vector<std::string> golden_versions() {
    std::vector<std::string> out;
    for (const auto &e : fs::directory_iterator(source_dir() + "/tests/golden"))
        if (e.is_directory() && e.path().filename().string().starts_with("v")) out.push_back(e.path().string());
    std::sort(out.begin(), out.end());
    return out;
}

std::string sha256_hex(const std::string &data) {
    return cmkfs::crypto::hex_encode(cmkfs::crypto::sha256(cmkfs::crypto::as_bytes(data)));
}

std::string mode_string(mode_t mode) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(mode & 07777));
    return buf;
}

std::map<std::string, std::string> user_xattrs(const std::string &path) {
    std::map<std::string, std::string> out;
    std::vector<char> names(65536);
    ssize_t n = ::llistxattr(path.c_str(), names.data(), names.size());
    REQUIRE(n >= 0);
    for (ssize_t pos = 0; pos < n;) {
        std::string name(names.data() + pos);
        pos += static_cast<ssize_t>(name.size()) + 1;
        std::string value(65536, '\0');
        ssize_t len = ::lgetxattr(path.c_str(), name.c_str(), value.data(), value.size());
        REQUIRE(len >= 0);
        value.resize(static_cast<size_t>(len));
        out[name] = cmkfs::crypto::hex_encode(cmkfs::crypto::as_bytes(value));
    }
    return out;
}

// The vault directory a local:// key id names.

// Every path below `root` (relative), never following symlinks: a symlink's
// target may not even be a valid path (the golden store has a 300-byte one).
void list_tree(const std::string &root, const std::string &rel, std::set<std::string> &out) {
    for (const auto &e : fs::directory_iterator(rel.empty() ? root : root + "/" + rel)) {
        const std::string child = rel.empty() ? e.path().filename().string() : rel + "/" + e.path().filename().string();
        out.insert(child);
        struct stat st {};
        REQUIRE(::lstat((root + "/" + child).c_str(), &st) == 0);
        if (S_ISDIR(st.st_mode)) list_tree(root, child, out);
    }
}

// Compares the mounted tree with the manifest: the same set of paths, and for
// each its type, mode, size, contents, symlink target, xattrs and links.
void compare_with_manifest(const std::string &mount, const json &manifest) {
    const json &entries = manifest.at("entries");
    std::set<std::string> seen;
    list_tree(mount, "", seen);
    std::set<std::string> expected;
    for (auto it = entries.begin(); it != entries.end(); ++it) expected.insert(it.key());
    CHECK(seen == expected);

    std::map<std::string, ino_t> inodes;
    for (auto it = entries.begin(); it != entries.end(); ++it) {
        const std::string rel = it.key();
        const json &e = it.value();
        const std::string path = mount + "/" + rel;
        INFO("entry " << rel);
        struct stat st {};
        REQUIRE(::lstat(path.c_str(), &st) == 0);
        inodes[rel] = st.st_ino;
        CHECK(mode_string(st.st_mode) == e.at("mode").get<std::string>());
        const std::string type = e.at("type");
        if (type == "dir") {
            CHECK(S_ISDIR(st.st_mode));
        } else if (type == "symlink") {
            REQUIRE(S_ISLNK(st.st_mode));
            CHECK(fs::read_symlink(path).string() == e.at("target").get<std::string>());
            CHECK(static_cast<uint64_t>(st.st_size) == e.at("size").get<uint64_t>());
        } else {
            REQUIRE(type == "file");
            REQUIRE(S_ISREG(st.st_mode));
            CHECK(static_cast<uint64_t>(st.st_size) == e.at("size").get<uint64_t>());
            const std::string data = read_file(path);
            CHECK(data.size() == e.at("size").get<uint64_t>());
            CHECK(sha256_hex(data) == e.at("sha256").get<std::string>());
            CHECK(st.st_nlink == e.at("nlink").get<nlink_t>());
        }
        if (e.contains("xattrs"))
            CHECK(user_xattrs(path) == e.at("xattrs").get<std::map<std::string, std::string>>());
    }
    for (auto it = entries.begin(); it != entries.end(); ++it) {
        if (!it.value().contains("same_inode_as")) continue;
        INFO("hard link " << it.key());
        CHECK(inodes[it.key()] == inodes[it.value().at("same_inode_as").get<std::string>()]);
    }
}

// The format version this cmkfs writes (src/format/layout.h kFormatVersion).
// The newest golden store is at it once its golden store exists (each was
// made by the cmkfs that introduced its version); until then every golden
// store is older and is upgraded.
constexpr int kCurrentFormatVersion = 3;

void check_golden(const std::string &golden) {
    const json manifest = json::parse(read_file(golden + "/manifest.json"));

    MountedStore store(MountedStore::Options::unmounted());  // its harness; the backing is replaced
    const std::string config = install_golden_store(store, golden);
    const json header = json::parse(read_file(store.backing() + "/.cmkfs.volume"));
    CHECK(header.at("format_version") == manifest.at("format_version"));

    auto fsck = cmkfs::test::cmkfs({"fsck", store.backing(), "--config", config});
    INFO(fsck.out << fsck.err);
    REQUIRE(fsck.exit_code == 0);

    store.mount({"--config", config});
    compare_with_manifest(store.mountpoint(), manifest);
    store.unmount();

    fsck = cmkfs::test::cmkfs({"fsck", store.backing(), "--config", config});
    INFO(fsck.out << fsck.err);
    CHECK(fsck.exit_code == 0);

    // `cmkfs upgrade` moves an older store to the current version with the
    // same contents; the current one is refused as already current.
    const int version = manifest.at("format_version");
    const int current = kCurrentFormatVersion;
    if (version < 3) {
        // Shared-storage mode needs format 3: refused until the upgrade.
        auto shared = cmkfs::test::cmkfs({"shared-storage", "enable", store.backing(), "--config", config});
        CHECK(shared.exit_code == 2);
        CHECK(shared.err.find("cmkfs upgrade") != std::string::npos);
    }
    auto upgrade = cmkfs::test::cmkfs({"upgrade", store.backing(), "--config", config});
    INFO(upgrade.out << upgrade.err);
    if (version == current) {
        CHECK(upgrade.exit_code == 2);
        return;
    }
    REQUIRE(upgrade.exit_code == 0);
    const json upgraded = json::parse(read_file(store.backing() + "/.cmkfs.volume"));
    CHECK(upgraded.at("format_version") == current);
    CHECK(upgraded.at("shared_storage") == false);
    // 2 -> 3 rewrites the header only: the same wrapped volume key; 1 -> 3
    // re-encrypts under a fresh one (FORMAT.md §11).
    CHECK((upgraded.at("wrapped_key") == header.at("wrapped_key")) == (version == 2));
    // Run again: already current, nothing changes.
    auto again = cmkfs::test::cmkfs({"upgrade", store.backing(), "--config", config});
    CHECK(again.exit_code == 2);
    CHECK(read_file(store.backing() + "/.cmkfs.volume") == upgraded.dump(2) + "\n");
    fsck = cmkfs::test::cmkfs({"fsck", store.backing(), "--config", config});
    INFO(fsck.out << fsck.err);
    CHECK(fsck.exit_code == 0);
    store.mount({"--config", config});
    compare_with_manifest(store.mountpoint(), manifest);
    store.unmount();
}

}  // namespace

TEST_CASE("every golden store mounts and reads exactly as its manifest says", "[golden]") {
    const auto versions = golden_versions();
    REQUIRE_FALSE(versions.empty());
    for (const auto &golden : versions) {
        DYNAMIC_SECTION("golden store " << fs::path(golden).filename().string()) { check_golden(golden); }
    }
}

TEST_CASE("a copied vault is refused without relocated_from", "[golden]") {
    const auto versions = golden_versions();
    REQUIRE_FALSE(versions.empty());
    MountedStore store(MountedStore::Options::unmounted());
    const std::string unpack = store.scratch() / "golden";
    fs::create_directory(unpack);
    REQUIRE(run({"tar", "--extract", "--file", versions.front() + "/store.tar", "--xattrs",
                 "--xattrs-include=user.*", "--directory", unpack})
                .exit_code == 0);
    const std::string vault = store.scratch() / "golden-vault";
    fs::copy(versions.front() + "/vault", vault, fs::copy_options::recursive);
    const std::string relocated = store.scratch() / "relocated.yaml";
    const json header = json::parse(read_file(unpack + "/store/.cmkfs.volume"));
    write_file(relocated, "provider:\n  options:\n    vault: " + vault + "\n    relocated_from: " +
                              vault_dir_of(header.at("versioned_key_id")) + "\n");
    trust_golden(unpack + "/store", relocated);
    const std::string config = store.scratch() / "pinned.yaml";
    write_file(config, "provider:\n  options:\n    vault: " + vault + "\n");
    // The key id names the vault where the store was made: a pinned vault= that
    // differs from it is an error, not a silent redirect.
    auto fsck = cmkfs::test::cmkfs({"fsck", unpack + "/store", "--config", config});
    CHECK(fsck.exit_code != 0);
    CHECK(fsck.exit_code != 10);
    CHECK_THAT(fsck.err, Catch::Contains("not in the configured vault"));
}

// ceph-fuse answers EINVAL to renameat2(RENAME_NOREPLACE), which re-encryption
// uses to put each rebuilt entry in place; offline, under the exclusive store
// lock, a check and a plain rename give the same outcome (store/directory.h).
// The fault point makes every RENAME_NOREPLACE fail as it does there.
TEST_CASE("a v1 store upgrades on a backing filesystem without RENAME_NOREPLACE", "[golden][upgrade]") {
    const auto versions = golden_versions();
    REQUIRE_FALSE(versions.empty());
    const std::string golden = versions.front();
    const json manifest = json::parse(read_file(golden + "/manifest.json"));
    REQUIRE(manifest.at("format_version") == 1);

    MountedStore store(MountedStore::Options::unmounted());
    const std::string config = install_golden_store(store, golden);
    {
        ScopedEnv no_flag("CMKFS_FAULT", "rename:noreplace:einval");
        auto upgrade = cmkfs::test::cmkfs({"upgrade", store.backing(), "--config", config});
        INFO(upgrade.out << upgrade.err);
        REQUIRE(upgrade.exit_code == 0);
    }
    int newest = 0;  // the newest golden store is at the current format version
    for (const auto &g : versions)
        newest = std::max(newest, json::parse(read_file(g + "/manifest.json")).at("format_version").get<int>());
    CHECK(json::parse(read_file(store.backing() + "/.cmkfs.volume")).at("format_version") == newest);
    auto fsck = cmkfs::test::cmkfs({"fsck", store.backing(), "--config", config});
    INFO(fsck.out << fsck.err);
    CHECK(fsck.exit_code == 0);
    store.mount({"--config", config});
    compare_with_manifest(store.mountpoint(), manifest);
    store.unmount();
}
