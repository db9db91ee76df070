// The trust binding registry (config/binding.h): a binding survives a round
// trip, a malformed one is reported at file:line:column, and an unsafe
// registry (writable by others, a symlink) is refused.
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "config/binding.h"
#include "config/config.h"
#include "util/errors.h"
#include "support/temp_dir.h"

using namespace cmkfs::config;
namespace fsys = std::filesystem;

namespace {

// A registry of the test's own for the scope (CMKFS_VOLUMES_DIR), restored after.
class Registry {
public:
    Registry() {
        dir_ = root_ / "volumes";
        const char *old = std::getenv("CMKFS_VOLUMES_DIR");  // NOLINT(concurrency-mt-unsafe)
        if (old != nullptr) old_ = old;
        ::setenv("CMKFS_VOLUMES_DIR", dir_.c_str(), 1);  // NOLINT(concurrency-mt-unsafe)
    }
    ~Registry() {
        if (old_) ::setenv("CMKFS_VOLUMES_DIR", old_->c_str(), 1);  // NOLINT(concurrency-mt-unsafe)
        else ::unsetenv("CMKFS_VOLUMES_DIR");                      // NOLINT(concurrency-mt-unsafe)
    }
    Registry(const Registry &) = delete;
    Registry &operator=(const Registry &) = delete;
    const std::string &dir() const { return dir_; }

private:
    cmkfs::test::TempDir root_;
    std::string dir_;
    std::optional<std::string> old_;
};

VolumeBinding sample() {
    VolumeBinding b;
    b.volume_id = "0123456789abcdef0123456789abcdef";
    b.provider = "exec";
    b.provider_options = {{"program", "/usr/libexec/kms: helper"}, {"arg1", "'quoted' \"both\""}};
    b.key_id = "kms://key/name";
    b.versioned_key_id = "kms://key/name/7";
    b.identity = "$(not a command)";
    b.key_commitment = std::string(64, 'a');
    return b;
}

void write(const std::string &path, const std::string &text) {
    std::ofstream out(path);
    out << text;
}

}  // namespace

TEST_CASE("a binding round-trips through its registry file", "[binding]") {
    Registry registry;
    const VolumeBinding b = sample();
    CHECK_FALSE(load_binding(b.volume_id).has_value());  // no registry yet: no binding
    const std::string path = save_binding(b);
    CHECK(path == registry.dir() + "/" + b.volume_id + ".yaml");
    struct stat st {};
    REQUIRE(::stat(registry.dir().c_str(), &st) == 0);
    CHECK((st.st_mode & 07777) == 0700);
    REQUIRE(::stat(path.c_str(), &st) == 0);
    CHECK((st.st_mode & 07777) == 0600);
    const auto loaded = load_binding(b.volume_id);
    REQUIRE(loaded.has_value());
    CHECK(*loaded == b);

    VolumeBinding pending = b;
    pending.pending_key_commitment = std::string(64, 'b');
    save_binding(pending);
    CHECK(*load_binding(b.volume_id) == pending);
}

TEST_CASE("a malformed binding is reported at file:line:column", "[binding]") {
    Registry registry;
    save_binding(sample());
    const std::string path = binding_path(sample().volume_id);

    write(path, "volume_id: 0123456789abcdef0123456789abcdef\nprovider: local\nkey_id: k\nidentity: i\n"
                "key_commitment: xyz\n");
    CHECK_THROWS_WITH(load_binding(sample().volume_id),
                      Catch::StartsWith(path + ":5:17: key_commitment: expected 64 lower-case hex digits"));

    write(path, "volume_id: 0123456789abcdef0123456789abcdef\nprovider: [a\n");
    CHECK_THROWS_WITH(load_binding(sample().volume_id), Catch::StartsWith(path + ":"));
    CHECK_THROWS_AS(load_binding(sample().volume_id), ConfigError);

    write(path, "volume_id: 0123456789abcdef0123456789abcdef\nprovider: local\nkey_id: k\nidentity: i\n"
                "key_commitment: " + std::string(64, 'a') + "\nprogram: /bin/sh\n");
    CHECK_THROWS_WITH(load_binding(sample().volume_id), Catch::Contains(":6:1: program"));

    write(path, std::string(kMaxBindingSize + 1, '#'));
    CHECK_THROWS_WITH(load_binding(sample().volume_id), Catch::Contains("larger than"));
}

TEST_CASE("an unsafe registry or binding file is refused", "[binding]") {
    Registry registry;
    const VolumeBinding b = sample();
    const std::string path = save_binding(b);

    SECTION("a group-writable binding file") {
        ::chmod(path.c_str(), 0620);
        CHECK_THROWS_WITH(load_binding(b.volume_id), Catch::Contains("writable by group or others"));
    }
    SECTION("a world-writable registry directory") {
        ::chmod(registry.dir().c_str(), 0777);
        CHECK_THROWS_WITH(load_binding(b.volume_id), Catch::Contains("writable by group or others"));
        CHECK_THROWS_AS(save_binding(b), ConfigError);
    }
    SECTION("a binding owned by someone else") {
        if (::geteuid() != 0) return;  // only root can give a file away
        REQUIRE(::chown(path.c_str(), 1234, 1234) == 0);
        CHECK_THROWS_WITH(load_binding(b.volume_id), Catch::Contains("owned by uid 1234"));
    }
    SECTION("a symlink in place of the binding") {
        const std::string elsewhere = registry.dir() + "/../elsewhere.yaml";
        fsys::rename(path, elsewhere);
        fsys::create_symlink(elsewhere, path);
        CHECK_THROWS_AS(load_binding(b.volume_id), ConfigError);
    }
    SECTION("a volume id that is a path") {
        CHECK_THROWS_AS(binding_path("../../etc/passwd"), cmkfs::UsageError);
        CHECK_THROWS_AS(load_binding("0123456789ABCDEF0123456789ABCDEF"), cmkfs::UsageError);
    }
}
