// Metrics of a real mount (docs/metrics.md): the /metrics endpoint over TCP
// and a unix socket, FUSE operation counts and bytes moving with a workload,
// an integrity failure counted, `cmkfs stats` showing the same figures, and
// no file name or path in any label.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <string>

#include "integration/metrics_support.h"
#include "support/mount_io.h"
#include "support/process.h"
#include "support/softhsm.h"
#include "util/unique_fd.h"

using namespace cmkfs::test;
namespace fsys = std::filesystem;

namespace {

MountedStore::Options with_metrics(const std::string &address) {
    MountedStore::Options options;
    options.mount_args = {"-o", "metrics=" + address};
    return options;
}

std::string tcp_address() { return "127.0.0.1:" + std::to_string(free_loopback_port()); }

std::string content(size_t n) {
    std::string s(n, '\0');
    for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + i % 23);
    return s;
}

}  // namespace

TEST_CASE("a mount serves /metrics on loopback TCP; a workload moves the counters", "[metrics]") {
    const std::string address = tcp_address();
    MountedStore store(with_metrics(address));
    INFO("daemon log:\n" << store.daemon_log());

    auto before = scrape(address);
    CHECK(before.type.at("cmkfs_key_unlocked") == "gauge");
    CHECK(before.type.at("cmkfs_fuse_operation_duration_seconds") == "histogram");
    const std::string key_id = store.vault().kid;  // as given to `cmkfs init` (versioned here)
    CHECK(value_of(before, "cmkfs_key_unlocked", {{"provider", "local"}}) == 1.0);
    CHECK(value_or_zero(before, "cmkfs_key_checks_total", {{"result", "ok"}}) >= 1);
    CHECK(value_of(before, "cmkfs_key_checks_total", {{"result", "denied"}}) == 0.0);  // present from the start
    CHECK(value_of(before, "cmkfs_key_unlocks_total", {{"reason", "mount"}}) == 1.0);
    CHECK(value_or_zero(before, "cmkfs_provider_call_duration_seconds_count", {{"operation", "unwrap"}}) >= 1);
    CHECK(value_of(before, "cmkfs_integrity_failures_total") == 0.0);
    CHECK(value_of(before, "cmkfs_open_files") == 0.0);

    // The workload: 3 files of 100000 bytes written and read back, a
    // directory, a listing, a missing name.
    const std::string data = content(100000);
    fsys::create_directory(store.path("workdir-name"));
    for (int i = 0; i < 3; ++i) write_file(store.path("workdir-name/secret-file-name-" + std::to_string(i)), data);
    for (int i = 0; i < 3; ++i) CHECK(read_file(store.path("workdir-name/secret-file-name-" + std::to_string(i))) == data);
    CHECK(std::distance(fsys::directory_iterator(store.path("workdir-name")), fsys::directory_iterator()) == 3);
    struct stat st {};
    CHECK(::stat(store.path("no-such-file").c_str(), &st) == -1);

    cmkfs::UniqueFd held(::open(store.path("workdir-name/secret-file-name-0").c_str(), O_RDONLY | O_CLOEXEC));
    REQUIRE(held);
    // An operation is counted when its handler returns, just after its reply
    // has reached the kernel: wait (bounded) until the last one is counted.
    decltype(scrape(address)) during;
    CHECK(wait_for([&] {
              during = scrape(address);
              return op_count(during, "read") >= op_count(before, "read") + 3 &&
                     op_count(during, "create") >= op_count(before, "create") + 3;
          }, 10.0) >= 0);
    CHECK(op_count(during, "create") >= op_count(before, "create") + 3);
    CHECK(op_count(during, "write") >= op_count(before, "write") + 3);
    CHECK(op_count(during, "read") >= op_count(before, "read") + 3);
    CHECK(op_count(during, "mkdir") == op_count(before, "mkdir") + 1);
    CHECK(op_count(during, "lookup") > op_count(before, "lookup"));
    CHECK(value_or_zero(during, "cmkfs_written_bytes_total") >= 300000);
    CHECK(value_or_zero(during, "cmkfs_read_bytes_total") >= 300000);
    CHECK(value_or_zero(during, "cmkfs_fuse_errors_total", {{"op", "lookup"}, {"errno", "ENOENT"}}) >= 1);
    CHECK(value_or_zero(during, "cmkfs_open_files") >= 1);
    held.reset();
    // release reaches the daemon asynchronously: wait for it, bounded.
    CHECK(wait_for([&] { return value_or_zero(scrape(address), "cmkfs_open_files") == 0; }, 10.0) >= 0);

    // No file name, path or key material in the exposition: only the key id
    // (not a secret) and bounded label values.
    const HttpReply raw = http_get(address, "/metrics");
    CHECK(raw.body.find("secret-file-name") == std::string::npos);
    CHECK(raw.body.find("workdir-name") == std::string::npos);
    CHECK(raw.body.find(store.backing()) == std::string::npos);
    CHECK(raw.body.find(store.mountpoint()) == std::string::npos);
    CHECK(raw.body.find("key_id=\"" + key_id + "\"") != std::string::npos);

    SECTION("cmkfs stats shows the same figures") {
        const auto scraped = scrape(address);
        const auto shown = stats(store.mountpoint());
        for (const char *name : {"cmkfs_written_bytes_total", "cmkfs_read_bytes_total", "cmkfs_integrity_failures_total"}) {
            INFO(name);
            CHECK(value_of(shown, name) == value_of(scraped, name));
        }
        CHECK(value_of(shown, "cmkfs_key_unlocked", {{"key_id", key_id}}) == 1.0);
        CHECK(op_count(shown, "create") == op_count(scraped, "create"));
        CHECK(value_of(shown, "cmkfs_key_unlocks_total", {{"reason", "mount"}}) == 1.0);

        auto table = cli({"stats", store.mountpoint()});
        INFO(table.out << table.err);
        CHECK(table.exit_code == 0);
        CHECK(table.out.find("cmkfs_key_unlocked{key_id=" + key_id + ", provider=local}") != std::string::npos);
        CHECK(table.out.find("_bucket") == std::string::npos);  // buckets are for Prometheus
        CHECK(table.out.find("cmkfs_fuse_operation_duration_seconds_count{op=create}") != std::string::npos);
    }
}

TEST_CASE("a mount serves /metrics on a unix socket, 0600, removed at unmount", "[metrics]") {
    TempDir dir;
    const std::string sock = dir / "metrics.sock";
    MountedStore store(with_metrics("unix:" + sock));
    INFO("daemon log:\n" << store.daemon_log());
    write_file(store.path("f"), "hello");
    // Counted when the handler returns, after its reply: wait, bounded.
    decltype(scrape("")) p;
    CHECK(wait_for([&] {
              p = scrape("unix:" + sock);
              return op_count(p, "create") >= 1 && value_or_zero(p, "cmkfs_written_bytes_total") == 5;
          }, 10.0) >= 0);
    CHECK(value_of(p, "cmkfs_key_unlocked", {{"provider", "local"}}) == 1.0);
    CHECK(op_count(p, "create") >= 1);
    CHECK(value_or_zero(p, "cmkfs_written_bytes_total") == 5);
    struct stat st {};
    REQUIRE(::stat(sock.c_str(), &st) == 0);
    CHECK(S_ISSOCK(st.st_mode));
    CHECK((st.st_mode & 0777) == 0600);
    store.unmount();
    CHECK_FALSE(fsys::exists(sock));
}

TEST_CASE("a block that fails authentication counts as an integrity failure", "[metrics][tamper]") {
    const std::string address = tcp_address();
    MountedStore store(with_metrics(address));
    const auto before_files = listing(store.backing());
    write_file(store.path("victim"), content(3 * kBlock));
    std::string backing_file;
    for (const auto &name : listing(store.backing()))
        if (!before_files.count(name)) backing_file = store.backing() + "/" + name;
    REQUIRE_FALSE(backing_file.empty());
    store.unmount();

    // Flip one ciphertext byte of block 1 in the backing directory.
    {
        cmkfs::UniqueFd fd(::open(backing_file.c_str(), O_RDWR | O_CLOEXEC));
        REQUIRE(fd);
        char b = 0;
        const off_t at = static_cast<off_t>(block_offset(1) + 12 + 100);
        REQUIRE(::pread(fd.get(), &b, 1, at) == 1);
        b = static_cast<char>(b ^ 0x40);
        REQUIRE(::pwrite(fd.get(), &b, 1, at) == 1);
    }
    store.mount();
    INFO("daemon log:\n" << store.daemon_log());
    CHECK(value_of(scrape(address), "cmkfs_integrity_failures_total") == 0.0);
    CHECK(read_through_mount(store.path("victim"), 0, kBlock) == 0);
    CHECK(value_of(scrape(address), "cmkfs_integrity_failures_total") == 0.0);
    CHECK(read_through_mount(store.path("victim"), kBlock, kBlock) == EIO);
    const auto after = scrape(address);
    CHECK(value_or_zero(after, "cmkfs_integrity_failures_total") >= 1);
    CHECK(value_or_zero(after, "cmkfs_fuse_errors_total", {{"op", "read"}, {"errno", "EIO"}}) >= 1);
    const auto shown = stats(store.mountpoint());
    CHECK(value_of(shown, "cmkfs_integrity_failures_total") == value_of(after, "cmkfs_integrity_failures_total"));
    // The log names the file; the metrics never do.
    CHECK(http_get(address, "/metrics").body.find(backing_file.substr(backing_file.rfind('/') + 1)) ==
          std::string::npos);
}

TEST_CASE("metrics addresses: non-loopback refused with exit 3, an address in use with exit 9", "[metrics]") {
    MountedStore store(MountedStore::Options::unmounted());
    // Background mounts: a mount that wrongly succeeds returns (and is
    // unmounted here) instead of holding the test in the foreground.
    auto refused = [&](const std::string &option) {
        auto r = cli({"mount", store.backing(), store.mountpoint(), "-o", option});
        if (is_mounted(store.mountpoint())) cli({"umount", store.mountpoint()});
        return r;
    };
    auto r = refused("metrics=0.0.0.0:9464");
    INFO(r.out << r.err);
    CHECK(r.exit_code == 3);
    CHECK(r.err.find("metrics: expected a loopback address") != std::string::npos);

    const std::string address = tcp_address();
    MountedStore first(with_metrics(address));
    r = refused("metrics=" + address);
    INFO(r.out << r.err);
    CHECK(r.exit_code == 9);
    CHECK(r.err.find("bind " + address) != std::string::npos);
    CHECK_FALSE(is_mounted(store.mountpoint()));
}

TEST_CASE("cmkfs stats on something that is not a cmkfs mount exits 11", "[metrics]") {
    TempDir dir;
    auto r = cli({"stats", dir.path()});
    CHECK(r.exit_code == 11);
    CHECK(r.err.find("is not a cmkfs mount") != std::string::npos);
}

TEST_CASE("an emergency lock and the operator's unlock are counted with their reasons", "[metrics]") {
    const std::string address = tcp_address();
    MountedStore store(with_metrics(address));
    INFO("daemon log:\n" << store.daemon_log());
    write_file(store.path("f"), "payload");

    auto r = cli({"lock", store.mountpoint()});
    REQUIRE(r.exit_code == 0);
    CHECK(read_errno(store.path("f")) == EACCES);
    auto locked = scrape(address);
    CHECK(value_of(locked, "cmkfs_key_unlocked", {{"key_id", store.vault().kid}}) == 0.0);
    CHECK(value_of(locked, "cmkfs_key_locks_total", {{"reason", "emergency"}}) == 1.0);
    CHECK(value_of(locked, "cmkfs_key_locks_total", {{"reason", "denied"}}) == 0.0);
    CHECK(value_or_zero(locked, "cmkfs_fuse_errors_total", {{"errno", "EACCES"}}) >= 1);

    r = cli({"unlock", store.mountpoint()});
    REQUIRE(r.exit_code == 0);
    CHECK(read_errno(store.path("f")) == 0);
    auto unlocked = scrape(address);
    CHECK(value_of(unlocked, "cmkfs_key_unlocked", {{"key_id", store.vault().kid}}) == 1.0);
    CHECK(value_of(unlocked, "cmkfs_key_unlocks_total", {{"reason", "operator"}}) == 1.0);
    CHECK(value_of(unlocked, "cmkfs_key_unlocks_total", {{"reason", "recovered"}}) == 0.0);
    CHECK(value_or_zero(unlocked, "cmkfs_key_checks_total", {{"result", "ok"}}) >= 2);  // mount + unlock
}

TEST_CASE("a mount waiting for its key shows locked, then the recovery", "[metrics]") {
    const std::string address = tcp_address();
    MountedStore::Options options = with_metrics(address);
    options.mount = false;
    MountedStore store(options);
    store.vault().delete_policy();
    store.mount({"--wait-for-key", "-o", "check_interval=1s"});
    INFO("daemon log:\n" << store.daemon_log());
    auto waiting = scrape(address);
    CHECK(value_of(waiting, "cmkfs_key_unlocked", {{"key_id", store.vault().kid}}) == 0.0);
    CHECK(value_or_zero(waiting, "cmkfs_key_checks_total", {{"result", "denied"}}) >= 1);
    CHECK(value_of(waiting, "cmkfs_key_unlocks_total", {{"reason", "mount"}}) == 0.0);
    // Mounted locked is not a transition: nothing was unlocked to lock.
    CHECK(value_of(waiting, "cmkfs_key_locks_total", {{"reason", "denied"}}) == 0.0);

    store.vault().set_policy({"get", "wrapKey", "unwrapKey"});
    CHECK(wait_for([&] { return value_or_zero(scrape(address), "cmkfs_key_unlocked") == 1; }, 30) >= 0);
    auto recovered = scrape(address);
    CHECK(value_of(recovered, "cmkfs_key_unlocks_total", {{"reason", "recovered"}}) == 1.0);
    CHECK(value_or_zero(recovered, "cmkfs_provider_call_errors_total", {{"operation", "unwrap"}}) >= 1);
}

TEST_CASE("after an online rotation to another provider, its calls are timed and the key state names it",
          "[metrics][pkcs11]") {
    SoftHsm hsm;  // first: the daemon inherits SOFTHSM2_CONF
    const std::string uri = hsm.create_aes_key("metrics-kek");
    const std::string address = tcp_address();
    MountedStore::Options options = with_metrics(address);
    options.mount_args.insert(options.mount_args.end(), {"-o", "check_interval=1s"});
    MountedStore store(options);
    INFO("daemon log:\n" << store.daemon_log());
    CHECK(value_of(scrape(address), "cmkfs_provider_call_duration_seconds_count", {{"operation", "wrap"}}) == 0.0);

    std::vector<std::string> args{"encryption", "rotate-key", store.mountpoint(), "--provider", "pkcs11",
                                  "--identity", "registry-id", "--key-encryption-key", uri};
    const auto hsm_args = hsm.init_args();
    args.insert(args.end(), hsm_args.begin(), hsm_args.end());
    auto r = cli(args);
    INFO(r.err << r.out);
    REQUIRE(r.exit_code == 0);

    auto p = scrape(address);
    CHECK(value_of(p, "cmkfs_provider_call_duration_seconds_count", {{"operation", "wrap"}}) >= 1.0);
    const double unwraps = value_or_zero(p, "cmkfs_provider_call_duration_seconds_count", {{"operation", "unwrap"}});
    // The checks now go to the token, through the timed wrapper too.
    CHECK(wait_for([&] {
              return value_or_zero(scrape(address), "cmkfs_provider_call_duration_seconds_count",
                                   {{"operation", "unwrap"}}) >= unwraps + 2;
          }, 30) >= 0);
    // One key state series, naming the token's key and provider.
    CHECK(wait_for([&] { return value_of(scrape(address), "cmkfs_key_unlocked", {{"provider", "pkcs11"}}) == 1.0; },
                   30) >= 0);
    p = scrape(address);
    CHECK(value_of(p, "cmkfs_key_unlocked", {{"key_id", uri}}) == 1.0);
    CHECK_FALSE(value_of(p, "cmkfs_key_unlocked", {{"provider", "local"}}).has_value());
    CHECK(http_get(address, "/metrics").body.find(hsm.user_pin()) == std::string::npos);
}
