#include "support/ceph_cluster.h"

#include <signal.h>
#include <sys/mount.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string_view>

namespace cmkfs::test {

namespace {

using Clock = std::chrono::steady_clock;

std::chrono::milliseconds since(Clock::time_point start) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
}

// The process `pid` runs a Ceph daemon or client (not a PID reused since).
// The names are exact: the script's owner watcher (run/watch.pid) is
// briefly called "ceph-cluster.sh" too, between the exec of the script and
// env's exec of bash, and a prefix match counted it as a seventh daemon
// when a test looked in that window (CI, stop 18).
bool runs_ceph(pid_t pid) {
    // Not a static std::set: CephCluster::shared() stops its cluster from an
    // atexit handler, after function-local statics made later are destroyed.
    constexpr std::array<std::string_view, 5> kPrograms = {"ceph-mon", "ceph-mgr", "ceph-osd", "ceph-mds",
                                                           "ceph-fuse"};
    std::ifstream comm("/proc/" + std::to_string(pid) + "/comm");
    std::string name;
    return comm && std::getline(comm, name) &&
           std::find(kPrograms.begin(), kPrograms.end(), name) != kPrograms.end();
}

}  // namespace

std::string ceph_cluster_script() { return source_dir() + "/scripts/ceph-cluster.sh"; }

CephCluster::CephCluster(int clients) : clients_(clients) {
    const auto start = Clock::now();
    running_ = true;  // a half-started cluster is stopped too
    // --owner: should this process die without stopping it (a ctest timeout
    // kills it), the script's watcher stops the cluster.
    auto r = run({ceph_cluster_script(), "start", dir_.path(), "--clients", std::to_string(clients), "--owner",
                  std::to_string(::getpid())});
    start_time_ = since(start);
    if (r.exit_code != 0) {
        // The script stops what it started when it fails; make sure.
        run({ceph_cluster_script(), "stop", dir_.path()});
        running_ = false;
        throw std::runtime_error("ceph-cluster.sh start failed (exit " + std::to_string(r.exit_code) +
                                 "): " + r.out + r.err);
    }
}

CephCluster::~CephCluster() {
    try {
        stop();
    } catch (const std::exception &e) {
        std::fprintf(stderr, "CephCluster: %s\n", e.what());
    }
}

CephCluster &CephCluster::shared() {
    static std::unique_ptr<CephCluster> cluster;
    if (!cluster) {
        cluster = std::make_unique<CephCluster>(3);
        std::fprintf(stderr, "CephCluster: started in %.1f s (%s)\n",
                     static_cast<double>(cluster->start_time().count()) / 1000, cluster->dir().c_str());
        // Stopped at exit, after every test case, with the time it took.
        std::atexit([] {
            if (!cluster) return;
            try {
                cluster->stop();
                std::fprintf(stderr, "CephCluster: stopped in %.1f s\n",
                             static_cast<double>(cluster->stop_time().count()) / 1000);
            } catch (const std::exception &e) {
                std::fprintf(stderr, "CephCluster: %s\n", e.what());
            }
            cluster.reset();
        });
    }
    return *cluster;
}

std::string CephCluster::client(int i) const {
    if (i < 1 || i > clients_)
        throw std::out_of_range("client " + std::to_string(i) + " of " + std::to_string(clients_));
    return dir_ / ("client" + std::to_string(i));
}

pid_t CephCluster::client_pid(int i) const {
    client(i);  // range check
    return std::stoi(read_file(dir_ / ("run/client.host" + std::to_string(i) + ".pid")));
}

std::string CephCluster::fresh_dir(const std::string &prefix) {
    std::string name = prefix + "-" + std::to_string(++next_dir_);
    std::filesystem::create_directory(client(1) + "/" + name);
    return name;
}

std::vector<pid_t> CephCluster::running_pids() const {
    std::vector<pid_t> pids;
    std::error_code ec;
    for (const auto &entry : std::filesystem::directory_iterator(dir_ / "run", ec)) {
        if (entry.path().extension() != ".pid") continue;
        std::ifstream in(entry.path());
        pid_t pid = 0;
        if (in >> pid && pid > 0 && runs_ceph(pid)) pids.push_back(pid);
    }
    return pids;
}

std::vector<std::string> CephCluster::mounts() const {
    std::vector<std::string> found;
    std::ifstream in("/proc/self/mountinfo");
    std::string line;
    const std::string under = dir_.path() + "/";
    while (std::getline(in, line)) {
        std::istringstream f(line);
        std::string id, parent, dev, root, mountpoint;
        f >> id >> parent >> dev >> root >> mountpoint;
        if (mountpoint.rfind(under, 0) == 0) found.push_back(mountpoint);
    }
    return found;
}

std::string CephCluster::status() const {
    auto r = run({ceph_cluster_script(), "status", dir_.path()});
    return r.out + r.err;
}

void CephCluster::stop() {
    if (!running_) return;
    running_ = false;
    const std::vector<pid_t> before = running_pids();  // the script removes the pidfiles
    const auto start = Clock::now();
    auto r = run({ceph_cluster_script(), "stop", dir_.path()});
    stop_time_ = since(start);
    std::string failure;
    if (r.exit_code != 0)
        failure = "ceph-cluster.sh stop failed (exit " + std::to_string(r.exit_code) + "): " + r.out + r.err;
    for (const auto &m : mounts()) {
        if (failure.empty()) failure = "ceph-cluster.sh stop left " + m + " mounted";
        ::umount2(m.c_str(), MNT_DETACH);  // TempDir's removal must not walk into a live CephFS
    }
    for (pid_t pid : before) {
        if (::kill(pid, 0) != 0 || !runs_ceph(pid)) continue;
        if (failure.empty()) failure = "ceph-cluster.sh stop left pid " + std::to_string(pid) + " running";
        ::kill(pid, SIGKILL);  // the test fails, but leaves nothing behind
    }
    if (!failure.empty()) throw std::runtime_error(failure);
}

}  // namespace cmkfs::test
