// The backing directory is untrusted, its volume header included: the
// provider, its options, the key id and the identity come from this host's
// binding (config/binding.h), and the key the header wraps must reproduce the
// binding's key commitment. Each attack here is the attacker's edit of a real
// store's .cmkfs.volume, followed by the real CLI (mount, encryption show,
// fsck), which must refuse with exit 5 and say why, without doing what the
// header asked.
#include <catch2/catch.hpp>

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/binding.h"
#include "crypto/encoding.h"
#include "crypto/random.h"
#include "format/key_schedule.h"
#include "format/volume_header.h"
#include "store/trust.h"
#include "support/process.h"

using namespace cmkfs::test;
namespace fsys = std::filesystem;
using nlohmann::json;

namespace {

std::string header_path(const MountedStore &store) { return store.backing() + "/.cmkfs.volume"; }

json read_header(const MountedStore &store) { return json::parse(read_file(header_path(store))); }

void write_header(const MountedStore &store, const json &header) { write_file(header_path(store), header.dump(2)); }

std::string binding_file(const std::string &volume_id) {
    const char *dir = std::getenv("CMKFS_VOLUMES_DIR");  // NOLINT(concurrency-mt-unsafe)
    REQUIRE(dir != nullptr);
    return std::string(dir) + "/" + volume_id + ".yaml";
}

std::string binding_of(const MountedStore &store) {
    return binding_file(read_header(store).at("volume_id").get<std::string>());
}

// The store's binding as cmkfs reads it (the test process's registry).
cmkfs::config::VolumeBinding bound(const MountedStore &store) {
    auto b = cmkfs::config::load_binding(read_header(store).at("volume_id").get<std::string>());
    REQUIRE(b.has_value());
    return *b;
}

// `cmkfs mount` (daemonizing): returns its result; a mount that should have
// been refused but was not is taken down again before the test fails.
CommandResult try_mount(MountedStore &store) {
    auto r = cli({"mount", store.backing(), store.mountpoint()});
    if (r.exit_code == 0) cli({"umount", store.mountpoint()});
    return r;
}

// mount, encryption show and fsck each refuse with exit 5 and `message`.
void require_all_refuse(MountedStore &store, const std::string &message) {
    const auto mount = try_mount(store);
    CHECK(mount.exit_code == 5);
    CHECK_THAT(mount.err, Catch::Contains(message));
    CHECK_FALSE(store.mounted());
    const auto show = cli({"encryption", "show", store.backing()});
    CHECK(show.exit_code == 5);
    CHECK_THAT(show.err, Catch::Contains(message));
    const auto fsck = cli({"fsck", store.backing()});
    CHECK(fsck.exit_code == 5);
    CHECK_THAT(fsck.err, Catch::Contains(message));
}

// A TCP listener on 127.0.0.1 that counts the connections made to it.
class Listener {
public:
    Listener() {
        fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        REQUIRE(fd_ >= 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        REQUIRE(::bind(fd_, reinterpret_cast<sockaddr *>(&a), sizeof a) == 0);
        REQUIRE(::listen(fd_, 16) == 0);
        socklen_t len = sizeof a;
        REQUIRE(::getsockname(fd_, reinterpret_cast<sockaddr *>(&a), &len) == 0);
        port_ = ntohs(a.sin_port);
    }
    ~Listener() { ::close(fd_); }
    Listener(const Listener &) = delete;
    Listener &operator=(const Listener &) = delete;
    int port() const { return port_; }
    int accepted() {
        int n = 0;
        for (int c; (c = ::accept(fd_, nullptr, nullptr)) >= 0; ++n) ::close(c);
        return n;
    }

private:
    int fd_ = -1;
    int port_ = 0;
};

// The store's header, re-wrapping a key the attacker chose under the store's
// CMK and sealed under that key: what an attacker makes with an RSA CMK's
// public half (here the test wraps through the provider, which is the same).
std::string forged_header(const MountedStore &store) {
    auto header = cmkfs::format::parse_volume_header(read_file(header_path(store)), "header");
    auto provider = cmkfs::store::load_bound_provider(cmkfs::store::binding_from_header(header, ""));
    cmkfs::crypto::VolumeKey chosen = cmkfs::format::generate_volume_key();
    header.wrapped_key = provider->wrap({header.versioned_key_id, header.identity}, chosen.bytes()).wrapped;
    const cmkfs::format::VolumeKeys attacker_keys(chosen.clone());
    return cmkfs::format::seal_volume_header(header, attacker_keys.header_mac());
}

}  // namespace

TEST_CASE("a header asking for the exec provider runs nothing", "[trust][attack]") {
    MountedStore store(MountedStore::Options::unmounted());
    const std::string marker = store.scratch() / "MARKER";
    json h = read_header(store);
    h["provider"] = "exec";
    h["provider_options"] = {{"program", "/bin/sh"}, {"arg1", "-c"}, {"arg2", "touch " + marker}};
    write_header(store, h);

    require_all_refuse(store, "provider: header says 'exec', binding says 'local'");
    const auto r = cli({"fsck", store.backing()});
    CHECK_THAT(r.err, Catch::Contains("provider_options.program: header says '/bin/sh', binding says (unset)"));
    CHECK_FALSE(fsys::exists(marker));
}

TEST_CASE("a header pointing azure-keyvault at another host contacts nothing", "[trust][attack]") {
    MountedStore store(MountedStore::Options::unmounted());
    Listener attacker;
    const std::string url = "https://127.0.0.1:" + std::to_string(attacker.port());
    const std::string planted_ca = store.backing() + "/ca.pem";
    write_file(planted_ca, "not a certificate\n");
    json h = read_header(store);
    h["provider"] = "azure-keyvault";
    h["provider_options"] = {{"ca_file", planted_ca}, {"imds_endpoint", url + "/metadata/identity/oauth2/token"}};
    h["key_id"] = url + "/keys/k";
    h["versioned_key_id"] = url + "/keys/k/0123456789abcdef0123456789abcdef";
    write_header(store, h);

    require_all_refuse(store, "provider: header says 'azure-keyvault', binding says 'local'");
    const auto r = cli({"encryption", "show", store.backing()});
    CHECK_THAT(r.err, Catch::Contains("key_id: header says '" + url + "/keys/k'"));
    CHECK(attacker.accepted() == 0);
}

TEST_CASE("header options naming files and a shell identity are refused", "[trust][attack]") {
    MountedStore store(MountedStore::Options::unmounted());
    const std::string audit = store.scratch() / "root-script.sh";
    const std::string secret = store.scratch() / "secret";
    write_file(secret, "root-only secret\n");
    ::chmod(secret.c_str(), 0600);
    json h = read_header(store);
    h["provider_options"]["audit"] = audit;
    h["provider_options"]["client_secret_file"] = secret;
    h["provider_options"]["credential"] = "client_secret";
    h["identity"] = "$(touch " + store.scratch() / "PWNED" + ")";
    write_header(store, h);

    require_all_refuse(store, "provider_options.audit: header says '" + audit + "', binding says (unset)");
    const auto r = cli({"fsck", store.backing()});
    CHECK_THAT(r.err, Catch::Contains("identity: header says '$(touch "));
    CHECK_FALSE(fsys::exists(audit));
    CHECK_FALSE(fsys::exists(store.scratch() / "PWNED"));
}

TEST_CASE("a header copied from another store under the same CMK is refused", "[trust][attack]") {
    MountedStore store(MountedStore::Options::unmounted());
    // The attacker's store, made elsewhere with the same key (same vault):
    // this host has no binding for it.
    const std::string other = store.scratch() / "other";
    auto init = cli({"init", other, "--provider", "local", "--identity", store.vault().identity,
                     "--key-encryption-key", store.vault().kid});
    REQUIRE(init.exit_code == 0);
    const json other_header = json::parse(read_file(other + "/.cmkfs.volume"));
    fsys::remove(binding_file(other_header.at("volume_id").get<std::string>()));

    SECTION("as it is: no binding for its volume id") {
        write_header(store, other_header);
        require_all_refuse(store, "no trust binding for volume");
    }
    SECTION("with this store's volume id: the key commitment differs") {
        json h = other_header;
        h["volume_id"] = read_header(store).at("volume_id");
        write_header(store, h);
        require_all_refuse(store, "is not the one this host's binding commits to");
    }
}

TEST_CASE("a header wrapping an attacker's key under the RSA public key, with a valid MAC, is refused",
          "[trust][attack]") {
    MountedStore store(MountedStore::Options::unmounted());
    // An RSA key in the store's vault: wrapping under it needs only its public half.
    const std::string rsa_kid = store.vault().create_key("rsa", "RSA");
    REQUIRE(cli({"encryption", "rotate-key", store.backing(), "--key-encryption-key", rsa_kid}).exit_code == 0);

    write_file(header_path(store), forged_header(store));

    require_all_refuse(store, "is not the one this host's binding commits to");
}

TEST_CASE("a store without a binding needs cmkfs trust, which checks what the operator states", "[trust]") {
    MountedStore store(MountedStore::Options::unmounted());
    const std::string binding = binding_of(store);
    const std::string recorded = read_file(binding);
    fsys::remove(binding);  // a restored backup, or a store moved from another host

    require_all_refuse(store, "cmkfs trust '" + store.backing() + "' --provider PROVIDER");

    SECTION("bare: shows what the header asks for and records nothing without --yes") {
        auto r = cli({"trust", store.backing()});
        CHECK(r.exit_code == 0);
        CHECK_THAT(r.out, Catch::Contains("provider: 'local'"));
        CHECK_THAT(r.out, Catch::Contains("key_id: '" + store.vault().kid + "'"));
        CHECK_THAT(r.out, Catch::Contains("Nothing was recorded"));
        CHECK_FALSE(fsys::exists(binding));
        r = cli({"trust", store.backing(), "--yes"});
        CHECK(r.exit_code == 0);
        CHECK(read_file(binding) == recorded);
    }
    SECTION("stated expectations that differ from the header are refused") {
        auto r = cli({"trust", store.backing(), "--provider", "local", "--vault", store.vault().dir, "--identity",
                      "someone-else", "--key-encryption-key", store.vault().kid});
        CHECK(r.exit_code == 5);
        CHECK_THAT(r.err, Catch::Contains("identity: header says 'test-id', binding says 'someone-else'"));
        CHECK_FALSE(fsys::exists(binding));
    }
    SECTION("stated expectations that match: trusted, and it mounts") {
        auto r = cli({"trust", store.backing(), "--provider", "local", "--identity", store.vault().identity,
                      "--key-encryption-key", store.vault().kid});
        INFO(r.err);
        REQUIRE(r.exit_code == 0);
        CHECK(read_file(binding) == recorded);
        store.mount();
        write_file(store.path("a.txt"), "hello");
        CHECK(read_file(store.path("a.txt")) == "hello");
        store.unmount();
    }
    SECTION("a binding with another key commitment is never replaced") {
        auto r = cli({"trust", store.backing(), "--yes"});
        REQUIRE(r.exit_code == 0);
        std::string forged = read_file(binding);
        const auto at = forged.find("key_commitment: ") + 16;
        forged.replace(at, 64, std::string(64, '0'));
        write_file(binding, forged);
        r = cli({"trust", store.backing(), "--yes"});
        CHECK(r.exit_code == 5);
        CHECK_THAT(r.err, Catch::Contains("Refusing to replace the binding"));
        CHECK(read_file(binding) == forged);
    }
}

TEST_CASE("init leaves the backing root 0700 and writes the binding 0600", "[trust]") {
    TempDir dir;
    LocalVault vault(dir / "vault");
    const std::string backing = dir / "backing";
    fsys::create_directory(backing);
    ::chmod(backing.c_str(), 0755);
    auto r = cli({"init", backing, "--provider", "local", "--identity", vault.identity, "--key-encryption-key",
                  vault.kid});
    REQUIRE(r.exit_code == 0);
    struct stat st {};
    REQUIRE(::stat(backing.c_str(), &st) == 0);
    CHECK((st.st_mode & 07777) == 0700);
    const std::string id = json::parse(read_file(backing + "/.cmkfs.volume")).at("volume_id");
    REQUIRE(::stat(binding_file(id).c_str(), &st) == 0);
    CHECK((st.st_mode & 07777) == 0600);
}

TEST_CASE("rotate-key keeps the binding in step, offline and online; an old header is then refused",
          "[trust][rotation]") {
    MountedStore store(MountedStore::Options::unmounted());
    const std::string binding = binding_of(store);
    const std::string commitment_line = [&] {
        const std::string text = read_file(binding);
        const auto at = text.find("key_commitment: ");
        return text.substr(at, text.find('\n', at) - at);
    }();
    const std::string old_header = read_file(header_path(store));
    const std::string k2 = store.vault().create_key("k2");

    SECTION("offline") {
        auto r = cli({"encryption", "rotate-key", store.backing(), "--key-encryption-key", k2});
        INFO(r.err);
        REQUIRE(r.exit_code == 0);
    }
    SECTION("online, through the daemon") {
        store.mount();
        auto r = cli({"encryption", "rotate-key", store.mountpoint(), "--key-encryption-key", k2});
        INFO(r.err);
        REQUIRE(r.exit_code == 0);
        write_file(store.path("after-rotation.txt"), "still writable");
        store.unmount();
    }
    const auto after = bound(store);
    CHECK(after.key_id == k2);
    CHECK(after.versioned_key_id == k2);
    CHECK_FALSE(after.rotating.has_value());  // the rotation recorded itself, not just its intent
    CHECK_THAT(read_file(binding), Catch::Contains(commitment_line));  // the volume key did not change
    store.mount();
    write_file(store.path("b.txt"), "b");
    CHECK(read_file(store.path("b.txt")) == "b");
    store.unmount();

    // The attacker replays the header from before the rotation (its MAC is valid).
    write_file(header_path(store), old_header);
    require_all_refuse(store, "key_id: header says '" + store.vault().kid + "', binding says '" + k2 + "'");
}

TEST_CASE("a re-encryption journal is trusted only for the key recorded when the re-encryption began",
          "[trust][attack][reencrypt]") {
    MountedStore store(MountedStore::Options::unmounted());
    store.mount();
    write_file(store.path("a.txt"), "kept");
    store.unmount();
    const std::string binding = binding_of(store);
    const std::string before = read_file(binding);
    const std::string header_before = read_file(header_path(store));
    ::setenv("CMKFS_FAULT", "reencrypt:after-journal:kill", 1);  // NOLINT(concurrency-mt-unsafe)
    const auto killed = cli({"reencrypt", store.backing()});
    ::unsetenv("CMKFS_FAULT");  // NOLINT(concurrency-mt-unsafe)
    REQUIRE(killed.exit_code != 0);
    const std::string journal_path = store.backing() + "/.cmkfs.reencrypt";
    REQUIRE(fsys::exists(journal_path));
    CHECK_THAT(read_file(binding), Catch::Contains("pending_key_commitment: "));

    SECTION("the journal's new header replaced by one wrapping the attacker's key") {
        json journal = json::parse(read_file(journal_path));
        journal["new_header"] = json::parse(forged_header(store));
        write_file(journal_path, journal.dump(2));
        const auto r = cli({"reencrypt", store.backing()});
        CHECK(r.exit_code == 5);
        CHECK_THAT(r.err, Catch::Contains("wraps another key than the one this host recorded"));
        CHECK(read_file(header_path(store)) == header_before);
    }
    SECTION("a journal this host's binding knows nothing of (planted)") {
        std::string text = read_file(binding);
        const auto at = text.find("pending_key_commitment: ");
        text.erase(at, text.find('\n', at) + 1 - at);
        write_file(binding, text);
        const auto r = cli({"reencrypt", store.backing()});
        CHECK(r.exit_code == 5);
        CHECK_THAT(r.err, Catch::Contains("records none begun"));
        CHECK(read_file(header_path(store)) == header_before);
    }
    SECTION("the journal as written: the re-encryption resumes, the binding commits to the new key") {
        const auto r = cli({"reencrypt", store.backing()});
        INFO(r.err);
        REQUIRE(r.exit_code == 0);
        const std::string after = read_file(binding);
        CHECK_THAT(after, !Catch::Contains("pending_key_commitment"));
        CHECK(after != before);
        store.mount();
        CHECK(read_file(store.path("a.txt")) == "kept");
        store.unmount();
    }
}

TEST_CASE("automatic rotation (version-less key id) records the new version in the binding", "[trust][rotation]") {
    MountedStore::Options options = MountedStore::Options::unmounted();
    options.mount_args = {"-o", "check_interval=1s"};
    MountedStore store(options);
    const std::string v1 = store.vault().kid;
    const std::string latest = v1.substr(0, v1.rfind('/'));
    REQUIRE(cli({"encryption", "rotate-key", store.backing(), "--key-encryption-key", latest}).exit_code == 0);
    CHECK(bound(store).versioned_key_id == v1);
    CHECK(bound(store).key_id == latest);

    store.mount();
    const std::string v2 = store.vault().create_key("k");  // a new version of the same key
    REQUIRE(v2 != v1);
    bool followed = false;
    for (int i = 0; i < 200 && !followed; ++i) {
        const auto b = bound(store);
        followed = b.versioned_key_id == v2 && !b.rotating;
        if (!followed) ::usleep(50000);
    }
    CHECK(followed);
    CHECK(read_header(store).at("versioned_key_id") == v2);
    store.unmount();
    store.mount();
    write_file(store.path("c.txt"), "c");
    store.unmount();
}
