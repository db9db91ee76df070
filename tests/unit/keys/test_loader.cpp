// The plugin loader: every refusal, the host/provider wrapper (status
// classes, buffer retry), plugin listing, and the example skeleton.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "keys/key_provider.h"
#include "keys/plugin_loader.h"
#include "keys_test_util.h"
#include "support/provider_calls.h"
#include "support/test_seed.h"
#include "support/random_bytes.h"

using namespace cmkfs;
using cmkfs::test::random_bytes;
using namespace cmkfs::keys;
using cmkfs::test::TempDir;
using cmkfs::test::load_error;
using Catch::Matchers::Contains;

namespace {

const std::string kKeyHex(64, 'a');

std::vector<std::string> testctl_options(const TempDir &tmp) {
    return {"state=" + (tmp / "state"), "key_hex=" + kKeyHex, "calls=" + (tmp / "calls")};
}

}  // namespace

TEST_CASE("loader refuses a plugin with an unknown ABI version", "[keys][loader]") {
    const std::string path = test::test_plugin("abi99");
    std::string msg = load_error([&] { load_provider(path, {}); });
    CHECK_THAT(msg, Contains("unknown ABI version 99"));
    CHECK_THAT(msg, Contains(path));
    CHECK(msg.find('\n') == std::string::npos);
}

TEST_CASE("loader refuses a plugin without the entry symbol", "[keys][loader]") {
    const std::string path = test::test_plugin("noentry");
    std::string msg = load_error([&] { load_provider(path, {}); });
    CHECK_THAT(msg, Contains("does not export cmkfs_provider_entry"));
    CHECK_THAT(msg, Contains(path));
}

TEST_CASE("loader refuses a plugin whose entry returns NULL", "[keys][loader]") {
    const std::string path = test::test_plugin("nullentry");
    std::string msg = load_error([&] { load_provider(path, {}); });
    CHECK_THAT(msg, Contains("returned NULL"));
    CHECK_THAT(msg, Contains(path));
}

TEST_CASE("loader refuses a table smaller than ABI v1 and missing functions", "[keys][loader]") {
    std::string msg = load_error([&] { load_provider(test::test_plugin("short"), {}); });
    CHECK_THAT(msg, Contains("smaller than"));
    msg = load_error([&] { load_provider(test::test_plugin("nofunc"), {}); });
    CHECK_THAT(msg, Contains("lacks required functions: unwrap"));
}

TEST_CASE("loader refuses a file that does not load", "[keys][loader]") {
    TempDir tmp;
    const std::string path = tmp / "libcmkfs-provider-garbage.so";
    test::write_text(path, "not an ELF file");
    std::string msg = load_error([&] { load_provider(path, {}); });
    CHECK_THAT(msg, Contains("cannot load provider plugin " + path));
}

TEST_CASE("loader reports the directories searched for a missing name", "[keys][loader]") {
    TempDir a, b;
    std::string msg = load_error([&] { load_provider("nosuchprovider", {}, {a.path(), b.path()}); });
    CHECK_THAT(msg, Contains("libcmkfs-provider-nosuchprovider.so"));
    CHECK_THAT(msg, Contains(a.path()));
    CHECK_THAT(msg, Contains(b.path()));
    CHECK_THAT(load_error([&] { load_provider("relative/path.so", {}); }), Contains("absolute"));
    CHECK_THAT(load_error([&] { load_provider("../x", {}); }), Contains("absolute"));
    CHECK_THAT(load_error([&] { load_provider(a / "missing.so", {}); }), Contains("not found"));
}

TEST_CASE("permission check refuses group/other-writable files and directories", "[keys][loader]") {
    TempDir tmp;
    const std::string copy = tmp / "libcmkfs-provider-local.so";
    std::filesystem::copy_file(test::local_plugin(), copy);
    ::chmod(copy.c_str(), 0644);
    ::chmod(tmp.path().c_str(), 0755);
    const uid_t me = ::geteuid();

    CHECK(load_error([&] { detail::check_plugin_permissions(copy, me); }).empty());
    ::chmod(copy.c_str(), 0664);
    CHECK_THAT(load_error([&] { detail::check_plugin_permissions(copy, me); }),
               Contains("writable by group or others (mode 0664)"));
    ::chmod(copy.c_str(), 0646);
    CHECK_THAT(load_error([&] { detail::check_plugin_permissions(copy, me); }),
               Contains("writable by group or others"));
    ::chmod(copy.c_str(), 0644);
    ::chmod(tmp.path().c_str(), 0777);
    CHECK_THAT(load_error([&] { detail::check_plugin_permissions(copy, me); }),
               Contains("directory " + tmp.path()));
    ::chmod(tmp.path().c_str(), 0755);
    CHECK_THAT(load_error([&] { detail::check_plugin_permissions(copy, me + 1); }),
               Contains("is owned by uid"));
}

TEST_CASE("as root, load_provider refuses unsafe plugin files", "[keys][loader][root]") {
    // The suite runs as root (FUSE mounts need it); a non-root run must not
    // pass this case silently.
    REQUIRE(::geteuid() == 0);
    TempDir tmp;
    ::chmod(tmp.path().c_str(), 0755);
    const std::string copy = tmp / "libcmkfs-provider-local.so";
    std::filesystem::copy_file(test::local_plugin(), copy);
    ::chmod(copy.c_str(), 0644);
    // Positive control: the safe copy loads.
    CHECK_NOTHROW(load_provider("local", {}, {tmp.path()}));

    ::chmod(copy.c_str(), 0666);
    std::string msg = load_error([&] { load_provider("local", {}, {tmp.path()}); });
    CHECK_THAT(msg, Contains("writable by group or others"));
    CHECK_THAT(msg, Contains(copy));

    ::chmod(copy.c_str(), 0644);
    ::chmod(tmp.path().c_str(), 0775);
    CHECK_THAT(load_error([&] { load_provider(copy, {}); }), Contains("directory"));

    ::chmod(tmp.path().c_str(), 0755);
    REQUIRE(::chown(copy.c_str(), 1, 1) == 0);
    CHECK_THAT(load_error([&] { load_provider(copy, {}); }), Contains("owned by uid 1"));
}

TEST_CASE("testctl provider: round trip, status classes and buffer retry", "[keys][loader]") {
    TempDir tmp;
    test::write_text(tmp / "state", "ok\n");
    auto p = load_provider("testctl", testctl_options(tmp), {test::test_plugin_dir()});
    CHECK(p->name() == "testctl");
    const KeyRef key{"testctl://key/1", "someone"};

    auto plain = random_bytes<std::vector<uint8_t>>(32, 1);
    WrapResult w = p->wrap(key, plain);
    CHECK(w.versioned_key_id == key.key_id);
    CHECK(w.wrapped.size() == 12 + 32 + 16);
    auto back = p->unwrap(key, w.wrapped);
    REQUIRE(back.size() == plain.size());
    CHECK(std::equal(plain.begin(), plain.end(), back.data()));
    CHECK(p->check(key) == key.key_id);

    // Larger than the wrapper's first unwrap buffer: exercises the retry.
    auto big = random_bytes<std::vector<uint8_t>>(300, 2);
    auto wb = p->wrap(key, big);
    auto bb = p->unwrap(key, wb.wrapped);
    REQUIRE(bb.size() == 300);
    CHECK(std::equal(big.begin(), big.end(), bb.data()));

    struct Case {
        const char *word;
        ProviderStatus status;
        int err;
    };
    for (Case c : {Case{"denied", ProviderStatus::denied, EACCES},
                   Case{"disabled", ProviderStatus::disabled, EACCES},
                   Case{"not_found", ProviderStatus::not_found, EACCES},
                   Case{"unavailable", ProviderStatus::unavailable, EIO},
                   Case{"invalid", ProviderStatus::invalid, EIO}}) {
        INFO(c.word);
        test::write_text(tmp / "state", c.word);
        try {
            p->unwrap(key, w.wrapped);
            FAIL("unwrap succeeded in state " << c.word);
        } catch (const ProviderError &e) {
            CHECK(e.status() == c.status);
            CHECK(e.error_number() == c.err);
            CHECK_THAT(e.what(), Contains("provider testctl"));
            CHECK_THAT(e.what(), Contains("testctl:"));
        }
        CHECK_THROWS_AS(p->check(key), ProviderError);
        CHECK_THROWS_AS(p->wrap(key, plain), ProviderError);
    }
    // Back to ok: it works again without reloading.
    test::write_text(tmp / "state", "ok");
    CHECK(p->unwrap(key, w.wrapped).size() == 32);

    // Tampered ciphertext is invalid, not a revocation.
    auto bad = w.wrapped;
    bad[20] ^= 1;
    try {
        p->unwrap(key, bad);
        FAIL("tampered unwrap succeeded");
    } catch (const ProviderError &e) {
        CHECK(e.status() == ProviderStatus::invalid);
        CHECK_FALSE(is_revocation(e.status()));
    }
    CHECK_THAT(test::slurp(tmp / "calls"), Contains("unwrap 1"));
}

TEST_CASE("testctl provider refuses to open without its options", "[keys][loader]") {
    std::string msg = load_error([&] { load_provider(test::test_plugin("testctl"), {"state=/x"}); });
    CHECK_THAT(msg, Contains("refused to open"));
    CHECK_THAT(msg, Contains("key_hex"));
}

TEST_CASE("status conversion", "[keys]") {
    CHECK(from_c_status(CMKFS_OK) == ProviderStatus::ok);
    CHECK(from_c_status(CMKFS_ERR_DENIED) == ProviderStatus::denied);
    CHECK(from_c_status(CMKFS_ERR_NOT_FOUND) == ProviderStatus::not_found);
    CHECK(from_c_status(CMKFS_ERR_DISABLED) == ProviderStatus::disabled);
    CHECK(from_c_status(CMKFS_ERR_UNAVAILABLE) == ProviderStatus::unavailable);
    CHECK(from_c_status(CMKFS_ERR_INVALID) == ProviderStatus::invalid);
    CHECK(from_c_status(static_cast<cmkfs_status>(42)) == ProviderStatus::internal);
    CHECK(is_revocation(ProviderStatus::denied));
    CHECK_FALSE(is_revocation(ProviderStatus::unavailable));
    CHECK(std::string(to_string(ProviderStatus::not_found)) == "not_found");
    CHECK(detail::kProviderTableV1Size == sizeof(cmkfs_provider));
}

TEST_CASE("list_plugins finds loadable plugins and skips refused ones", "[keys][loader]") {
    auto plugins = list_plugins({test::plugin_build_dir(), test::test_plugin_dir()});
    auto find = [&](const std::string &name) {
        return std::find_if(plugins.begin(), plugins.end(),
                            [&](const PluginInfo &p) { return p.name == name; });
    };
    REQUIRE(find("local") != plugins.end());
    CHECK(find("local")->abi_version == 1);
    CHECK(find("local")->path == test::local_plugin());
    CHECK_FALSE(find("local")->description.empty());
    REQUIRE(find("exec") != plugins.end());
    CHECK(find("exec")->abi_version == 1);
    CHECK(find("exec")->path == test::plugin_build_dir() + "/libcmkfs-provider-exec.so");
    CHECK(find("testctl") != plugins.end());
    CHECK(find("refusal") == plugins.end());  // every refusal plugin is skipped
    CHECK(plugins.size() == test::built_plugin_count() + 1);  // + testctl
}

TEST_CASE("default plugin dirs are the build tree's and the install dir", "[keys][loader]") {
    auto dirs = default_plugin_dirs();
    REQUIRE(dirs.size() == 2);
    CHECK(dirs[0] == std::string(CMKFS_TEST_BUILD_DIR) + "/plugins");
    CHECK_THAT(dirs[1], Contains("cmkfs/providers"));
    // The default search finds the local plugin in the build tree.
    auto p = load_provider("local", {});
    CHECK(p->name() == "local");
}

TEST_CASE("the example skeleton provider loads and works", "[keys][loader][examples]") {
    auto p = load_provider(test::skeleton_plugin(), {"pad=0x33"});
    CHECK(p->name() == "skeleton");
    const KeyRef key{"skeleton:key", "me"};
    auto plain = random_bytes<std::vector<uint8_t>>(32, 3);
    auto w = p->wrap(key, plain);
    CHECK(w.wrapped != plain);
    auto back = p->unwrap(key, w.wrapped);
    REQUIRE(back.size() == 32);
    CHECK(std::equal(plain.begin(), plain.end(), back.data()));
    CHECK(p->check(key) == "skeleton:key");
    try {
        p->check({"", "me"});
        FAIL("empty key id accepted");
    } catch (const ProviderError &e) {
        CHECK(e.status() == ProviderStatus::invalid);
        CHECK_THAT(e.what(), Contains("provider skeleton"));
    }
}

TEST_CASE("a plugin path that is a symlink is refused", "[keys][loader][root]") {
    REQUIRE(::geteuid() == 0);
    TempDir tmp;
    ::chmod(tmp.path().c_str(), 0755);
    const std::string real = tmp / "real.so";
    std::filesystem::copy_file(test::local_plugin(), real);
    ::chmod(real.c_str(), 0755);
    const std::string link = tmp / "libcmkfs-provider-local.so";
    std::filesystem::create_symlink(real, link);
    // The target passes every check; only the link itself is the problem.
    CHECK_NOTHROW(load_provider(real, {}));
    const std::string msg = load_error([&] { load_provider(link, {}); });
    CHECK_THAT(msg, Contains("symbolic link"));
    CHECK_THAT(msg, Contains(link));
    CHECK_THAT(load_error([&] { load_provider("local", {}, {tmp.path()}); }), Contains("symbolic link"));
}

TEST_CASE("the plugin loaded is the file checked: a swap after the check cannot win", "[keys][loader][root]") {
    REQUIRE(::geteuid() == 0);
    TempDir tmp;
    ::chmod(tmp.path().c_str(), 0755);
    const std::string path = tmp / "libcmkfs-provider-checked.so";
    const std::string other = tmp / "swapped-in.so";
    std::filesystem::copy_file(test::test_plugin("testctl"), path);
    // What the attacker swaps in: a different plugin (its ABI version 99
    // makes loading it fail loudly, so the test cannot miss it).
    std::filesystem::copy_file(test::test_plugin("abi99"), other);
    ::chmod(path.c_str(), 0755);
    ::chmod(other.c_str(), 0755);

    bool swapped = false;
    detail::set_plugin_checked_hook([&](const std::string &checked) {
        REQUIRE(checked == path);
        REQUIRE(::rename(other.c_str(), path.c_str()) == 0);
        swapped = true;
    });
    std::shared_ptr<detail::PluginLibrary> lib;
    const std::string msg = load_error([&] { lib = detail::PluginLibrary::load(path, uid_t{0}); });
    detail::set_plugin_checked_hook({});
    REQUIRE(swapped);
    CHECK(msg.empty());
    REQUIRE(lib);
    CHECK(lib->name() == "testctl");  // the checked file's code, not the swapped-in one
    CHECK(lib->table().abi_version == 1);
    // And the path now really names the other plugin, which is refused.
    CHECK_THAT(load_error([&] { detail::PluginLibrary::load(path, uid_t{0}); }),
               Contains("unknown ABI version 99"));
}

TEST_CASE("a plugin that stays mapped never stands in for the next one", "[keys][loader]") {
    // dlopen finds a loaded object by name first, and the name is
    // /proc/self/fd/N: a descriptor number reused while the first object is
    // still mapped would hand back the first plugin.
    for (int round = 0; round < 3; ++round) {
        CHECK_THAT(load_error([&] { detail::PluginLibrary::load(test::test_plugin("abi99-nodelete")); }),
                   Contains("unknown ABI version 99"));
        std::shared_ptr<detail::PluginLibrary> lib;
        CHECK(load_error([&] { lib = detail::PluginLibrary::load(test::test_plugin("testctl")); }).empty());
        REQUIRE(lib);
        CHECK(lib->name() == "testctl");
    }
}
