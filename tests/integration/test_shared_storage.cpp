// Shared-storage mode with several hosts on one backing directory (README
// "Shared storage", FORMAT.md §13). Each host is its own cmkfs environment
// (shared_hosts.h) mounting the same backing directory with a real daemon.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "shared_hosts.h"
#include "support/mount_io.h"
#include "support/scoped_env.h"

using namespace cmkfs::test;
using Catch::Matchers::Contains;
using nlohmann::json;
namespace fsys = std::filesystem;

namespace {

json header_of(const std::string &backing) { return json::parse(read_file(backing + "/.cmkfs.volume")); }

std::string pattern(size_t n, unsigned seed) {
    std::string s(n, '\0');
    for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>((i * 131 + seed * 7 + (i >> 12)) & 0xff);
    return s;
}

// pwrite through a fresh open (close-to-open: each write is a complete open/write/close).
void write_at(const std::string &path, size_t off, const std::string &data) {
    int fd = ::open(path.c_str(), O_WRONLY);
    REQUIRE(fd >= 0);
    REQUIRE(::pwrite(fd, data.data(), data.size(), static_cast<off_t>(off)) == static_cast<ssize_t>(data.size()));
    REQUIRE(::close(fd) == 0);
}

}  // namespace

TEST_CASE("an exclusive store refuses a second host: exit 4 naming the host that holds it", "[shared-storage]") {
    SharedStoreHosts hosts(/*shared_storage=*/false);
    CHECK(header_of(hosts.backing).at("shared_storage") == false);
    hosts.a.mount(hosts.backing);
    write_file(hosts.a.path("f"), "from a");

    auto r = hosts.b.refused_mount(hosts.backing_b);
    INFO(r.err);
    CHECK(r.exit_code == 4);
    CHECK_THAT(r.err, Contains("host host-a") && Contains("already mounted at " + hosts.a.mountpoint()) &&
                          Contains("not in shared-storage mode"));
    CHECK_FALSE(hosts.b.mounted());
    CHECK(read_file(hosts.a.path("f")) == "from a");

    // Once A lets go, B mounts it (and A is then the one refused).
    hosts.a.unmount();
    hosts.b.mount(hosts.backing_b);
    CHECK(read_file(hosts.b.path("f")) == "from a");
    r = hosts.a.refused_mount(hosts.backing);
    CHECK(r.exit_code == 4);
    CHECK_THAT(r.err, Contains("host host-b"));
}

TEST_CASE("offline commands are refused while any host mounts the store, naming every host", "[shared-storage]") {
    SharedStoreHosts hosts(/*shared_storage=*/true);
    hosts.a.mount(hosts.backing);
    hosts.b.mount(hosts.backing_b);
    const std::string header = read_file(hosts.backing + "/.cmkfs.volume");
    for (const auto &args : std::vector<std::vector<std::string>>{
             {"fsck", hosts.backing},
             {"reencrypt", hosts.backing},
             {"upgrade", hosts.backing},
             {"shared-storage", "disable", hosts.backing},
         }) {
        auto r = hosts.c.cli(args);
        INFO(args.front() << ": exit " << r.exit_code << " " << r.err);
        CHECK(r.exit_code == 4);
        CHECK_THAT(r.err, Contains("is mounted at") && Contains("host host-a") && Contains("host host-b") &&
                              Contains(hosts.a.mountpoint()) && Contains(hosts.b.mountpoint()));
    }
    CHECK(read_file(hosts.backing + "/.cmkfs.volume") == header);

    // Unmounted everywhere: the switch goes through, and the store is then exclusive.
    hosts.a.unmount();
    hosts.b.unmount();
    auto r = hosts.c.cli({"shared-storage", "disable", hosts.backing});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    CHECK(header_of(hosts.backing).at("shared_storage") == false);
    hosts.a.mount(hosts.backing);
    CHECK(hosts.b.refused_mount(hosts.backing_b).exit_code == 4);
    r = hosts.c.cli({"fsck", hosts.backing});
    CHECK(r.exit_code == 4);
    CHECK_THAT(r.err, Contains("host host-a") && Contains("exclusive mount"));
    hosts.a.unmount();
    r = hosts.c.cli({"shared-storage", "enable", hosts.backing});
    REQUIRE(r.exit_code == 0);
    CHECK(header_of(hosts.backing).at("shared_storage") == true);
    hosts.a.mount(hosts.backing);
    hosts.b.mount(hosts.backing_b);
    CHECK(hosts.a.mounted());
    CHECK(hosts.b.mounted());
}

TEST_CASE("a shared store: close-to-open between hosts, every byte, both ways", "[shared-storage]") {
    SharedStoreHosts hosts(/*shared_storage=*/true);
    hosts.a.mount(hosts.backing);
    hosts.b.mount(hosts.backing_b);

    const std::string data = pattern(300000, 1);
    write_file(hosts.a.path("blob"), data);
    CHECK(read_file(hosts.b.path("blob")) == data);

    // B changes a partial block in the middle and appends; A, which has read
    // the file (its kernel saw its size and pages), sees both at the next open.
    CHECK(read_file(hosts.a.path("blob")) == data);
    struct stat st {};
    REQUIRE(::stat(hosts.a.path("blob").c_str(), &st) == 0);  // A's kernel now holds the file's attributes
    CHECK(static_cast<size_t>(st.st_size) == data.size());
    std::string expected = data;
    const std::string patch = pattern(1000, 2);
    write_at(hosts.b.path("blob"), 5000, patch);
    expected.replace(5000, patch.size(), patch);
    const std::string tail = pattern(7000, 3);
    write_at(hosts.b.path("blob"), expected.size(), tail);
    expected += tail;
    REQUIRE(::stat(hosts.a.path("blob").c_str(), &st) == 0);
    CHECK(static_cast<size_t>(st.st_size) == expected.size());
    CHECK(read_file(hosts.a.path("blob")) == expected);
}

// 2048 bytes that say `round` in every 8 (a half block owned by one writer).
std::string half_block(int round) {
    char unit[9];
    std::snprintf(unit, sizeof unit, "%07d|", round);
    std::string s;
    while (s.size() < 2048) s += unit;
    return s;
}

// The round a half says, or -1 when its 8-byte units disagree (a mixed half).
int round_of(std::string_view half) {
    for (size_t i = 8; i < half.size(); i += 8)
        if (half.substr(i, 8) != half.substr(0, 8)) return -1;
    return std::atoi(std::string(half.substr(0, 7)).c_str());
}

TEST_CASE("concurrent writers of one block on two hosts: no lost update, readers never get EIO",
          "[shared-storage]") {
    SharedStoreHosts hosts(/*shared_storage=*/true);
    hosts.a.mount(hosts.backing);
    hosts.b.mount(hosts.backing_b);
    write_file(hosts.a.path("f"), std::string(4096, 'x') + half_block(0) + half_block(0) + std::string(4096, 'y'));

    // A owns the first half of block 1, B the second half: each write is a
    // partial-block read-modify-write of the same block, the rounds counting
    // up. A lost update (one host re-sealing the block as it was before the
    // other's write) shows as a half going back to an older round; a torn
    // block as EIO.
    constexpr int kRounds = 300;
    std::atomic<int> read_errors{0}, mixed{0}, rollbacks{0}, reads{0};
    std::atomic<bool> done{false};
    // Each round a writer reads its own half afresh (a new open: no cached
    // pages) and writes the next count, so a rollback that lasts until its
    // next read also leaves its final count short.
    auto writer = [&](const Host &host, size_t off) {
        for (int i = 1; i <= kRounds; ++i) {
            std::string got;
            if (read_through_mount(host.path("f"), off, 2048, &got) != 0 || got.size() != 2048) {
                ++read_errors;
                continue;
            }
            const int round = round_of(got);
            if (round < 0) {
                ++mixed;
                continue;
            }
            write_at(host.path("f"), off, half_block(round + 1));
        }
    };
    auto reader = [&](const Host &host) {
        int seen[2] = {0, 0};
        while (!done) {
            std::string got;
            const int err = read_through_mount(host.path("f"), 4096, 4096, &got);
            ++reads;
            if (err != 0 || got.size() != 4096) {
                ++read_errors;
                continue;
            }
            for (int h = 0; h < 2; ++h) {
                const int round = round_of(std::string_view(got).substr(static_cast<size_t>(h) * 2048, 2048));
                if (round < 0) ++mixed;
                else if (round < seen[h]) ++rollbacks;
                else seen[h] = round;
            }
        }
    };
    {
        std::thread ra(reader, std::cref(hosts.a)), rb(reader, std::cref(hosts.b));
        std::thread wa(writer, std::cref(hosts.a), 4096), wb(writer, std::cref(hosts.b), 4096 + 2048);
        wa.join();
        wb.join();
        done = true;
        ra.join();
        rb.join();
    }
    INFO("reads " << reads << ", errors " << read_errors << ", mixed " << mixed << ", rollbacks " << rollbacks
                  << "\nA: " << hosts.a.log() << "\nB: " << hosts.b.log());
    CHECK(reads > 0);
    CHECK(read_errors == 0);
    CHECK(mixed == 0);
    CHECK(rollbacks == 0);
    // Both hosts' last writes are there, whole.
    const std::string now = read_file(hosts.b.path("f"));
    CHECK(now.substr(4096, 4096) == half_block(kRounds) + half_block(kRounds));
    CHECK(now == read_file(hosts.a.path("f")));
}

TEST_CASE("mkdir of one name from two hosts at once: one directory, usable from both", "[shared-storage]") {
    SharedStoreHosts hosts(/*shared_storage=*/true);
    // ceph-fuse has no RENAME_NOREPLACE (EINVAL): the daemons fall back to
    // a name lock between hosts, as they do here when told the flag fails.
    const bool without_noreplace = GENERATE(false, true);
    INFO((without_noreplace ? "backing without RENAME_NOREPLACE" : "RENAME_NOREPLACE"));
    std::optional<ScopedEnv> fault;
    if (without_noreplace) fault.emplace("CMKFS_FAULT", "rename:noreplace:einval");
    hosts.a.mount(hosts.backing);
    hosts.b.mount(hosts.backing_b);
    fault.reset();
    for (int i = 0; i < 20; ++i) {
        const std::string name = "d" + std::to_string(i);
        std::atomic<int> made{0}, exists{0};
        auto make = [&](const Host &host) {
            if (::mkdir(host.path(name).c_str(), 0755) == 0) ++made;
            else if (errno == EEXIST) ++exists;
        };
        std::thread ta(make, std::cref(hosts.a)), tb(make, std::cref(hosts.b));
        ta.join();
        tb.join();
        INFO(name);
        CHECK(made == 1);
        CHECK(exists == 1);
        write_file(hosts.a.path(name + "/from-a"), "a");
        write_file(hosts.b.path(name + "/from-b"), "b");
        CHECK(listing(hosts.a.path(name)) == std::set<std::string>{"from-a", "from-b"});
        CHECK(listing(hosts.b.path(name)) == std::set<std::string>{"from-a", "from-b"});
    }
    hosts.a.unmount();
    hosts.b.unmount();
    auto r = hosts.c.cli({"fsck", hosts.backing});
    INFO(r.out << r.err);
    CHECK(r.exit_code == 0);
}

TEST_CASE("a rename over an existing file on A is seen at once on B", "[shared-storage]") {
    SharedStoreHosts hosts(/*shared_storage=*/true);
    hosts.a.mount(hosts.backing);
    hosts.b.mount(hosts.backing_b);
    write_file(hosts.a.path("manifest"), "old");
    for (int i = 0; i < 10; ++i) {
        // B looks at the name (its kernel would keep the entry), then A
        // replaces it the registry's way: temp file, rename over.
        CHECK(read_file(hosts.b.path("manifest")) == (i == 0 ? "old" : "v" + std::to_string(i - 1)));
        write_file(hosts.a.path("manifest.tmp"), "v" + std::to_string(i));
        REQUIRE(::rename(hosts.a.path("manifest.tmp").c_str(), hosts.a.path("manifest").c_str()) == 0);
        CHECK(read_file(hosts.b.path("manifest")) == "v" + std::to_string(i));
        CHECK_FALSE(fsys::exists(hosts.b.path("manifest.tmp")));
    }
}

TEST_CASE("unlink on A while B has the file open: B reads it whole, the name is gone", "[shared-storage]") {
    SharedStoreHosts hosts(/*shared_storage=*/true);
    hosts.a.mount(hosts.backing);
    hosts.b.mount(hosts.backing_b);
    const std::string data = pattern(50000, 4);
    write_file(hosts.a.path("f"), data);
    CHECK(read_file(hosts.b.path("f")) == data);
    int fd = ::open(hosts.b.path("f").c_str(), O_RDONLY);
    REQUIRE(fd >= 0);
    struct stat st {};
    REQUIRE(::stat(hosts.b.path("f").c_str(), &st) == 0);  // B's kernel now holds the name and its attributes
    REQUIRE(::unlink(hosts.a.path("f").c_str()) == 0);
    CHECK_FALSE(fsys::exists(hosts.b.path("f")));
    std::string got(data.size(), '\0');
    CHECK(::pread(fd, got.data(), got.size(), 0) == static_cast<ssize_t>(data.size()));
    CHECK(got == data);
    ::close(fd);
}

namespace {

std::string binding_of(const Host &host, const std::string &volume_id) {
    return read_file(host.volumes_dir() + "/" + volume_id + ".yaml");
}

}  // namespace

TEST_CASE("an online rotation on A is picked up by B without a remount; B then remounts with the new key",
          "[shared-storage][rotation]") {
    SharedStoreHosts hosts(/*shared_storage=*/true);
    hosts.a.mount(hosts.backing, {"-o", "check_interval=1s"});
    hosts.b.mount(hosts.backing_b, {"-o", "check_interval=1s"});
    write_file(hosts.a.path("f"), "before the rotation");
    const std::string new_kid = hosts.vault.create_key("k2");

    auto r = hosts.a.cli({"encryption", "rotate-key", hosts.a.mountpoint(), "--key-encryption-key", new_kid});
    INFO(r.out << r.err);
    REQUIRE(r.exit_code == 0);
    CHECK(header_of(hosts.backing).at("versioned_key_id") == new_kid);
    // B's own binding follows within a check interval or two (never a sleep: polled).
    CHECK(wait_for([&] { return binding_of(hosts.b, hosts.volume_id).find(new_kid) != std::string::npos; }, 10) >= 0);
    CHECK(wait_for([&] { return hosts.b.log().find("changed by another host") != std::string::npos; }, 10) >= 0);
    auto show_b = hosts.b.cli({"encryption", "show", hosts.b.mountpoint()});
    CHECK(json::parse(show_b.out).at("keyVaultProperties").at("versionedKeyIdentifier") == new_kid);
    CHECK(read_file(hosts.b.path("f")) == "before the rotation");
    write_file(hosts.b.path("g"), "after");

    // Both remount: the header names k2, and each host's binding says so.
    hosts.a.unmount();
    hosts.b.unmount();
    hosts.b.mount(hosts.backing_b);
    CHECK(read_file(hosts.b.path("f")) == "before the rotation");
    auto show = hosts.b.cli({"encryption", "show", hosts.b.mountpoint()});
    CHECK(json::parse(show.out).at("keyVaultProperties").at("versionedKeyIdentifier") == new_kid);
    hosts.a.mount(hosts.backing);
    CHECK(read_file(hosts.a.path("g")) == "after");
}

TEST_CASE("attack: a header substituted on the backing to wrap another key is refused by every host",
          "[shared-storage][rotation][attack]") {
    SharedStoreHosts hosts(/*shared_storage=*/true);
    hosts.a.mount(hosts.backing, {"-o", "check_interval=1s"});
    hosts.b.mount(hosts.backing_b, {"-o", "check_interval=1s"});
    write_file(hosts.a.path("f"), "ours");
    const std::string before_b = binding_of(hosts.b, hosts.volume_id);

    // The attacker makes a store of its own under another key of the same
    // vault (same identity) and puts its key id, key version and wrapped key
    // (and MAC) into this store's header: the provider unwraps it fine, to
    // the attacker's volume key, which is not the one the binding commits to.
    const std::string other_kid = hosts.vault.create_key("attacker");
    const std::string other = hosts.dir / "other";
    auto r = hosts.c.cli({"init", other, "--provider", "local", "--identity", hosts.vault.identity,
                          "--key-encryption-key", other_kid, "--shared-storage"});
    REQUIRE(r.exit_code == 0);
    json forged = header_of(hosts.backing);
    const json theirs = header_of(other);
    for (const char *field : {"key_id", "versioned_key_id", "wrapped_key", "mac"}) forged[field] = theirs[field];
    write_file(hosts.backing + "/.cmkfs.volume", forged.dump(2) + "\n");

    // Both hosts look at it within a check interval and refuse it.
    CHECK(wait_for([&] { return hosts.a.log().find("refusing the changed volume header") != std::string::npos &&
                                hosts.b.log().find("refusing the changed volume header") != std::string::npos; },
                   10) >= 0);
    CHECK_THAT(hosts.b.log(), Contains("not the one this host's binding commits to"));
    // B stays on its key: its binding is untouched and it still serves.
    CHECK(binding_of(hosts.b, hosts.volume_id) == before_b);
    CHECK(read_file(hosts.b.path("f")) == "ours");
    auto show = hosts.b.cli({"encryption", "show", hosts.b.mountpoint()});
    CHECK(json::parse(show.out).at("keyState").at("state") == "unlocked");
    // It shows the key it serves with, not the one the substituted header names.
    CHECK(json::parse(show.out).at("keyVaultProperties").at("versionedKeyIdentifier") == hosts.vault.kid);
}

TEST_CASE("a revocation locks every host within its check interval; a restore unlocks them all",
          "[shared-storage][revocation]") {
    SharedStoreHosts hosts(/*shared_storage=*/true);
    hosts.a.mount(hosts.backing, {"-o", "check_interval=1s"});
    hosts.b.mount(hosts.backing_b, {"-o", "check_interval=1s"});
    write_file(hosts.a.path("f"), "secret");
    REQUIRE(read_file(hosts.b.path("f")) == "secret");

    hosts.vault.set_enabled(false);
    CHECK(wait_for([&] { return read_errno(hosts.a.path("f")) == EACCES && read_errno(hosts.b.path("f")) == EACCES; },
                   10) >= 0);
    hosts.vault.set_enabled(true);
    CHECK(wait_for([&] { return read_errno(hosts.a.path("f")) == 0 && read_errno(hosts.b.path("f")) == 0; }, 15) >= 0);
    CHECK(read_file(hosts.b.path("f")) == "secret");
}
