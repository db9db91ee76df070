// A real Prometheus (Debian's prometheus package) scrapes a real mount: a
// workload, a revocation (the local vault's policy deleted) and a restore,
// then its HTTP API must show the lock transition, the unlock and the
// checks' results as series. It also loads dist/prometheus/cmkfs-alerts.yml,
// so the alerting rules docs/metrics.md gives are valid PromQL.
#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "integration/metrics_support.h"
#include "support/child_process.h"
#include "support/mount_io.h"
#include "support/process.h"

using namespace cmkfs::test;
using namespace std::chrono_literals;

namespace {

const std::vector<std::string> kFullPerms{"get", "wrapKey", "unwrapKey"};

std::string url_encode(const std::string &s) {
    static const char *hex = "0123456789ABCDEF";
    std::string out;
    for (unsigned char c : s) {
        if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
            out += static_cast<char>(c);
        } else {
            out += '%';
            out += hex[c >> 4];
            out += hex[c & 15];
        }
    }
    return out;
}

// The instant query's result vector ([] when nothing matches or Prometheus
// is not answering yet).
nlohmann::json query(const std::string &prometheus, const std::string &promql) {
    try {
        const HttpReply r = http_get(prometheus, "/api/v1/query?query=" + url_encode(promql));
        if (r.status != 200) return nlohmann::json::array();
        auto doc = nlohmann::json::parse(r.body);
        if (doc.value("status", "") != "success") return nlohmann::json::array();
        return doc.at("data").at("result");
    } catch (const std::exception &) {
        return nlohmann::json::array();
    }
}

// Waits (bounded) until the query returns at least one series.
bool appears(const std::string &prometheus, const std::string &promql, double timeout_s = 60) {
    return wait_for([&] { return !query(prometheus, promql).empty(); }, timeout_s) >= 0;
}

}  // namespace

TEST_CASE("a real Prometheus sees the lock transition and the checks' results", "[metrics][prometheus]") {
    const std::string metrics_address = "127.0.0.1:" + std::to_string(free_loopback_port());
    MountedStore::Options options;
    options.mount_args = {"-o", "check_interval=1s,unavailable_grace=3s", "-o", "metrics=" + metrics_address};
    MountedStore store(options);
    INFO("daemon log:\n" << store.daemon_log());

    TempDir prom_dir;
    const std::string prometheus = "127.0.0.1:" + std::to_string(free_loopback_port());
    write_file(prom_dir / "prometheus.yml",
               "global:\n"
               "  scrape_interval: 1s\n"
               "  evaluation_interval: 1s\n"
               "rule_files:\n"
               "  - " + source_dir() + "/dist/prometheus/cmkfs-alerts.yml\n"
               "scrape_configs:\n"
               "  - job_name: cmkfs\n"
               "    static_configs:\n"
               "      - targets: ['" + metrics_address + "']\n");
    ChildProcess server({"prometheus", "--config.file=" + (prom_dir / "prometheus.yml"),
                         "--storage.tsdb.path=" + (prom_dir / "data"), "--web.listen-address=" + prometheus,
                         "--log.level=warn"},
                        prom_dir / "prometheus.log");
    INFO("prometheus log:\n" << server.log());

    // The target is up and scraped.
    REQUIRE(appears(prometheus, "up{job=\"cmkfs\"} == 1"));
    REQUIRE(appears(prometheus, "cmkfs_key_unlocked == 1"));

    // A workload, visible as operation counts.
    const std::string data(200000, 'x');
    for (int i = 0; i < 5; ++i) write_file(store.path("f" + std::to_string(i)), data);
    for (int i = 0; i < 5; ++i) CHECK(read_file(store.path("f" + std::to_string(i))) == data);
    CHECK(appears(prometheus, "cmkfs_written_bytes_total >= 1000000"));
    CHECK(appears(prometheus, "cmkfs_fuse_operation_duration_seconds_count{op=\"create\"} >= 5"));

    // Revoke: the mount locks within the check interval. Stay revoked for a
    // few scrape intervals so that the locked state is scraped too.
    store.vault().delete_policy();
    REQUIRE(wait_for([&] { return read_errno(store.path("f0")) == EACCES; }, 30) >= 0);
    std::this_thread::sleep_for(3s);
    // Restore: it unlocks by itself.
    store.vault().set_policy(kFullPerms);
    REQUIRE(wait_for([&] { return read_errno(store.path("f0")) == 0; }, 30) >= 0);

    CHECK(appears(prometheus, "cmkfs_key_locks_total{reason=\"denied\"} >= 1"));
    CHECK(appears(prometheus, "cmkfs_key_unlocks_total{reason=\"recovered\"} >= 1"));
    CHECK(appears(prometheus, "cmkfs_key_checks_total{result=\"denied\"} >= 1"));
    CHECK(appears(prometheus, "cmkfs_key_checks_total{result=\"ok\"} >= 2"));
    CHECK(appears(prometheus, "min_over_time(cmkfs_key_unlocked[10m]) == 0"));
    CHECK(appears(prometheus, "cmkfs_key_unlocked == 1"));
    // The unwraps of each check, timed.
    CHECK(appears(prometheus, "cmkfs_provider_call_duration_seconds_count{operation=\"unwrap\"} >= 3"));
    // The alert rule for failing checks fires on the denied checks.
    CHECK(appears(prometheus, "ALERTS{alertname=\"CmkfsKeyChecksFailing\"}"));

    // Every rule of the shipped file loaded and evaluates without error.
    const HttpReply rules = http_get(prometheus, "/api/v1/rules");
    REQUIRE(rules.status == 200);
    const auto doc = nlohmann::json::parse(rules.body);
    size_t healthy = 0;
    for (const auto &group : doc.at("data").at("groups"))
        for (const auto &rule : group.at("rules")) {
            INFO(rule.dump());
            CHECK(rule.value("health", "") != "err");
            ++healthy;
        }
    CHECK(healthy == 4);

    server.stop();
    CHECK_FALSE(server.running());
}
