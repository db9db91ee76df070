// What cmkfs's shared-storage mode relies on from CephFS, checked on plain
// ceph-fuse across two client sessions of one filesystem (issue 13 §2):
// flock, POSIX and OFD locks taken through one client conflict with the
// other; close-to-open; O_EXCL creates arbitrated between clients; a rename
// over an existing file seen at once by the other client. And that
// scripts/ceph-cluster.sh stop leaves nothing running or mounted, even with a
// hung client.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "support/ceph_cluster.h"
#include "support/child_process.h"
#include "support/test_seed.h"
#include "util/errors.h"
#include "util/unique_fd.h"

using namespace cmkfs;
using namespace cmkfs::test;

namespace {

UniqueFd open_fd(const std::string &path, int flags, mode_t mode = 0644) {
    UniqueFd fd(::open(path.c_str(), flags | O_CLOEXEC, mode));
    if (!fd) FAIL("open " << path << ": " << errno_text(errno));
    return fd;
}

struct flock whole_file(short type) {
    struct flock lk{};
    lk.l_type = type;
    lk.l_whence = SEEK_SET;
    lk.l_start = 0;
    lk.l_len = 0;
    return lk;
}

// 0 when an F_SETLK write lock on `path` is granted, else the errno, tried in
// a child process: POSIX locks belong to a process, and a host is another one.
int posix_lock_from_child(const std::string &path) {
    const pid_t pid = ::fork();
    if (pid == 0) {
        const int fd = ::open(path.c_str(), O_RDWR);
        if (fd < 0) ::_exit(100);
        struct flock lk = whole_file(F_WRLCK);
        ::_exit(::fcntl(fd, F_SETLK, &lk) == 0 ? 0 : errno);
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string random_text(size_t size, uint64_t stream) {
    auto gen = rng(stream);
    std::string s(size, '\0');
    for (auto &c : s) c = static_cast<char>(gen());
    return s;
}

}  // namespace

TEST_CASE("ceph-fuse: flock, POSIX and OFD locks taken through one client conflict on the other", "[cluster][ceph]") {
    CephCluster &cluster = CephCluster::shared();
    const std::string dir = cluster.fresh_dir("locks");
    const std::string a = cluster.client(1) + "/" + dir + "/f";
    const std::string b = cluster.client(2) + "/" + dir + "/f";
    write_file(a, "locked");

    SECTION("flock") {
        const UniqueFd fa = open_fd(a, O_RDWR);
        const UniqueFd fb = open_fd(b, O_RDWR);
        REQUIRE(::flock(fa.get(), LOCK_EX | LOCK_NB) == 0);
        CHECK(::flock(fb.get(), LOCK_EX | LOCK_NB) == -1);
        CHECK(errno == EWOULDBLOCK);
        CHECK(::flock(fb.get(), LOCK_SH | LOCK_NB) == -1);
        REQUIRE(::flock(fa.get(), LOCK_UN) == 0);
        CHECK(::flock(fb.get(), LOCK_EX | LOCK_NB) == 0);
        // ... and the other way round.
        CHECK(::flock(fa.get(), LOCK_EX | LOCK_NB) == -1);
    }
    SECTION("POSIX (fcntl F_SETLK), the other client's lock held by another process") {
        const UniqueFd fa = open_fd(a, O_RDWR);
        struct flock lk = whole_file(F_WRLCK);
        REQUIRE(::fcntl(fa.get(), F_SETLK, &lk) == 0);
        const int refused = posix_lock_from_child(b);
        CHECK((refused == EAGAIN || refused == EACCES));
        lk.l_type = F_UNLCK;
        REQUIRE(::fcntl(fa.get(), F_SETLK, &lk) == 0);
        CHECK(posix_lock_from_child(b) == 0);
    }
    SECTION("OFD byte ranges: a conflicting range is refused, a disjoint one granted") {
        const UniqueFd fa = open_fd(a, O_RDWR);
        const UniqueFd fb = open_fd(b, O_RDWR);
        struct flock block0 = whole_file(F_WRLCK);
        block0.l_len = 4096;
        REQUIRE(::fcntl(fa.get(), F_OFD_SETLK, &block0) == 0);
        struct flock overlap = whole_file(F_WRLCK);
        overlap.l_start = 4095;
        overlap.l_len = 2;
        CHECK(::fcntl(fb.get(), F_OFD_SETLK, &overlap) == -1);
        CHECK(errno == EAGAIN);
        struct flock block1 = whole_file(F_WRLCK);
        block1.l_start = 4096;
        block1.l_len = 4096;
        CHECK(::fcntl(fb.get(), F_OFD_SETLK, &block1) == 0);
        // F_OFD_GETLK on B sees A's lock.
        struct flock probe = whole_file(F_WRLCK);
        probe.l_len = 1;
        REQUIRE(::fcntl(fb.get(), F_OFD_GETLK, &probe) == 0);
        CHECK(probe.l_type == F_WRLCK);
        block0.l_type = F_UNLCK;
        REQUIRE(::fcntl(fa.get(), F_OFD_SETLK, &block0) == 0);
        CHECK(::fcntl(fb.get(), F_OFD_SETLK, &overlap) == 0);
    }
    SECTION("a blocking OFD lock on B waits for A's unlock") {
        const UniqueFd fa = open_fd(a, O_RDWR);
        const UniqueFd fb = open_fd(b, O_RDWR);
        struct flock lk = whole_file(F_WRLCK);
        REQUIRE(::fcntl(fa.get(), F_OFD_SETLK, &lk) == 0);
        auto waiter = std::async(std::launch::async, [&] {
            struct flock want = whole_file(F_WRLCK);
            return ::fcntl(fb.get(), F_OFD_SETLKW, &want);
        });
        // Not granted while A holds it. (This check can miss a wrong grant
        // that comes later, but never fails a right one: no timing assumed.)
        REQUIRE(waiter.wait_for(std::chrono::milliseconds(0)) == std::future_status::timeout);
        struct flock un = whole_file(F_UNLCK);
        REQUIRE(::fcntl(fa.get(), F_OFD_SETLK, &un) == 0);
        CHECK(waiter.get() == 0);
        // Now B holds it: A is refused.
        CHECK(::fcntl(fa.get(), F_OFD_SETLK, &lk) == -1);
    }
}

TEST_CASE("ceph-fuse: close-to-open between clients, also after the reader cached the old content",
          "[cluster][ceph]") {
    announce_seed();
    CephCluster &cluster = CephCluster::shared();
    const std::string dir = cluster.fresh_dir("cto");
    const std::string a = cluster.client(1) + "/" + dir + "/data";
    const std::string b = cluster.client(2) + "/" + dir + "/data";
    for (uint64_t version = 1; version <= 5; ++version) {
        // Same size every time: a stale size cannot give the change away.
        const std::string content = random_text(3 << 20, version);
        write_file(a, content);  // write + close on client 1
        const std::string seen = read_file(b);  // open + read on client 2
        REQUIRE(seen.size() == content.size());
        REQUIRE(seen == content);
    }
    // The other direction, and an append.
    write_file(b, "from two");
    CHECK(read_file(a) == "from two");
    {
        std::ofstream out(a, std::ios::app | std::ios::binary);
        out << " and one";
    }
    CHECK(read_file(b) == "from two and one");
}

TEST_CASE("ceph-fuse: O_EXCL creates of one name from two clients at once: exactly one wins", "[cluster][ceph]") {
    CephCluster &cluster = CephCluster::shared();
    const std::string dir = cluster.fresh_dir("excl");
    const std::string a = cluster.client(1) + "/" + dir;
    const std::string b = cluster.client(2) + "/" + dir;
    for (int i = 0; i < 20; ++i) {
        const std::string name = "/f" + std::to_string(i);
        auto create = [](const std::string &path) {
            const int fd = ::open(path.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0644);
            const int err = fd < 0 ? errno : 0;
            if (fd >= 0) ::close(fd);
            return err;
        };
        auto on_a = std::async(std::launch::async, create, a + name);
        auto on_b = std::async(std::launch::async, create, b + name);
        const int ea = on_a.get();
        const int eb = on_b.get();
        INFO("round " << i << ": client 1 errno " << ea << ", client 2 errno " << eb);
        REQUIRE(((ea == 0 && eb == EEXIST) || (ea == EEXIST && eb == 0)));
    }
    // Sequentially too: a name made on 1 is refused on 2 at once.
    write_file(a + "/made-on-1", "x");
    CHECK(::open((b + "/made-on-1").c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0644) == -1);
    CHECK(errno == EEXIST);
}

// The exclusive steps a shared store can build on, each raced from two
// clients: exactly one wins, the other gets EEXIST.
TEST_CASE("ceph-fuse: mkdir and link of one name from two clients at once: exactly one wins", "[cluster][ceph]") {
    CephCluster &cluster = CephCluster::shared();
    const std::string dir = cluster.fresh_dir("exclusive");
    const std::string a = cluster.client(1) + "/" + dir;
    const std::string b = cluster.client(2) + "/" + dir;
    write_file(a + "/src-a", "a");
    write_file(a + "/src-b", "b");
    auto mkdir_errno = [](const std::string &path) { return ::mkdir(path.c_str(), 0755) == 0 ? 0 : errno; };
    auto link_errno = [](const std::string &from, const std::string &to) {
        return ::link(from.c_str(), to.c_str()) == 0 ? 0 : errno;
    };
    for (int i = 0; i < 10; ++i) {
        const std::string d = "/d" + std::to_string(i);
        auto on_a = std::async(std::launch::async, mkdir_errno, a + d);
        auto on_b = std::async(std::launch::async, mkdir_errno, b + d);
        const int ea = on_a.get(), eb = on_b.get();
        INFO("mkdir round " << i << ": " << ea << " " << eb);
        REQUIRE(((ea == 0 && eb == EEXIST) || (ea == EEXIST && eb == 0)));

        const std::string l = "/l" + std::to_string(i);
        auto link_a = std::async(std::launch::async, link_errno, a + "/src-a", a + l);
        auto link_b = std::async(std::launch::async, link_errno, b + "/src-b", b + l);
        const int la = link_a.get(), lb = link_b.get();
        INFO("link round " << i << ": " << la << " " << lb);
        REQUIRE(((la == 0 && lb == EEXIST) || (la == EEXIST && lb == 0)));
        // The name holds the winner's file, seen the same from both clients.
        CHECK(read_file(a + l) == read_file(b + l));
        CHECK(read_file(b + l) == (la == 0 ? "a" : "b"));
    }
}

// What ceph-fuse does not have: renameat2 flags. A RENAME_NOREPLACE onto a
// new name fails with EINVAL (onto a name the kernel has cached it says
// EEXIST without asking the MDS, which is no arbitration between clients).
// cmkfs's mkdir relies on RENAME_NOREPLACE today; shared mode cannot.
TEST_CASE("ceph-fuse: renameat2 RENAME_NOREPLACE and RENAME_EXCHANGE are refused with EINVAL", "[cluster][ceph]") {
    CephCluster &cluster = CephCluster::shared();
    const std::string a = cluster.client(1) + "/" + cluster.fresh_dir("rename2");
    write_file(a + "/x", "x");
    write_file(a + "/y", "y");
    CHECK(::renameat2(AT_FDCWD, (a + "/x").c_str(), AT_FDCWD, (a + "/new").c_str(), RENAME_NOREPLACE) == -1);
    CHECK(errno == EINVAL);
    CHECK(::renameat2(AT_FDCWD, (a + "/x").c_str(), AT_FDCWD, (a + "/y").c_str(), RENAME_EXCHANGE) == -1);
    CHECK(errno == EINVAL);
    CHECK(read_file(a + "/x") == "x");
    CHECK(read_file(a + "/y") == "y");
}

TEST_CASE("ceph-fuse: a rename over an existing file on one client is seen at once on the other",
          "[cluster][ceph]") {
    CephCluster &cluster = CephCluster::shared();
    const std::string dir = cluster.fresh_dir("rename");
    const std::string a = cluster.client(1) + "/" + dir;
    const std::string b = cluster.client(2) + "/" + dir;
    write_file(a + "/target", "version 0");
    for (int v = 1; v <= 10; ++v) {
        // Client 2 has the old one looked up, opened and read (its caches warm).
        struct stat before{};
        REQUIRE(::stat((b + "/target").c_str(), &before) == 0);
        REQUIRE(read_file(b + "/target") == "version " + std::to_string(v - 1));
        // The registry's way: a temp file written, then renamed over the target.
        write_file(a + "/target.tmp", "version " + std::to_string(v));
        REQUIRE(std::rename((a + "/target.tmp").c_str(), (a + "/target").c_str()) == 0);
        struct stat after{};
        REQUIRE(::stat((b + "/target").c_str(), &after) == 0);
        CHECK(after.st_ino != before.st_ino);
        CHECK(read_file(b + "/target") == "version " + std::to_string(v));
        CHECK_FALSE(std::filesystem::exists(b + "/target.tmp"));
    }
}

TEST_CASE("ceph-cluster.sh stop ends every daemon by PID and unmounts every client, also a hung one",
          "[cluster][ceph]") {
    std::vector<pid_t> pids;
    std::string dir;
    {
        CephCluster cluster(2);
        dir = cluster.dir();
        pids = cluster.running_pids();
        REQUIRE(pids.size() == 6);  // mon, mgr, osd, mds, 2 ceph-fuse
        REQUIRE(cluster.mounts().size() == 2);
        write_file(cluster.client(1) + "/f", "x");
        // Client 2's daemon stops answering; a reader on it is stuck.
        REQUIRE(::kill(cluster.client_pid(2), SIGSTOP) == 0);
        auto stuck = std::async(std::launch::async, [&] {
            struct stat st{};
            return ::stat((cluster.client(2) + "/f").c_str(), &st) == 0 ? 0 : errno;
        });
        cluster.stop();  // throws if a daemon or a mount is left
        CHECK(cluster.mounts().empty());
        // The stuck reader was released with an error or its answer.
        stuck.wait();
        std::fprintf(stderr, "private cluster: start %.1f s, stop %.1f s\n",
                     static_cast<double>(cluster.start_time().count()) / 1000,
                     static_cast<double>(cluster.stop_time().count()) / 1000);
        // A second stop is a no-op that succeeds.
        auto again = run({ceph_cluster_script(), "stop", cluster.dir()});
        CHECK(again.exit_code == 0);
    }
    for (pid_t pid : pids) CHECK((::kill(pid, 0) == -1 && errno == ESRCH));
    CHECK_FALSE(std::filesystem::exists(dir));
}

TEST_CASE("ceph-cluster.sh: clear errors for bad arguments and a directory it did not make", "[cluster][ceph]") {
    TempDir dir;
    write_file(dir / "precious.txt", "not a cluster");
    auto start = run({ceph_cluster_script(), "start", dir.path()});
    CHECK(start.exit_code == 1);
    CHECK_THAT(start.err, Catch::Contains("is neither empty nor a cluster made by this script"));
    CHECK(read_file(dir / "precious.txt") == "not a cluster");  // untouched

    auto status = run({ceph_cluster_script(), "status", dir.path()});
    CHECK(status.exit_code == 1);
    CHECK_THAT(status.err, Catch::Contains("no cluster in"));

    auto clients = run({ceph_cluster_script(), "start", dir / "new", "--clients", "two"});
    CHECK(clients.exit_code == 1);
    CHECK_THAT(clients.err, Catch::Contains("--clients wants a number"));

    auto usage = run({ceph_cluster_script(), "restart", dir.path()});
    CHECK(usage.exit_code == 2);
    CHECK_THAT(usage.err, Catch::Contains("usage:"));

    // stop of a directory with no cluster: nothing to do, success.
    auto stop = run({ceph_cluster_script(), "stop", dir / "absent"});
    CHECK(stop.exit_code == 0);
}

TEST_CASE("ceph-cluster.sh --owner: the cluster is stopped once its owner process is gone", "[cluster][ceph]") {
    TempDir dir;
    const std::string cluster = dir / "cluster";
    // Whatever the watcher left is stopped, also after a failed REQUIRE, and
    // before TempDir removes the directory.
    struct StopAtEnd {
        std::string dir;
        ~StopAtEnd() { run({ceph_cluster_script(), "stop", dir}); }
    } stop_at_end{cluster};
    ChildProcess owner({"sleep", "600"}, dir / "owner.log");
    auto start = run({ceph_cluster_script(), "start", cluster, "--clients", "1", "--owner", std::to_string(owner.pid())});
    INFO(start.out << start.err);
    REQUIRE(start.exit_code == 0);
    std::vector<pid_t> pids;
    for (const auto &e : std::filesystem::directory_iterator(cluster + "/run"))
        if (e.path().extension() == ".pid") pids.push_back(std::stoi(read_file(e.path().string())));
    REQUIRE(pids.size() == 6);  // mon, mgr, osd, mds, one ceph-fuse, the watcher
    REQUIRE(is_mounted(cluster + "/client1"));

    owner.stop();  // the owner dies without stopping the cluster
    auto all_gone = [&] {
        if (is_mounted(cluster + "/client1")) return false;
        for (pid_t pid : pids)
            if (::kill(pid, 0) == 0) return false;
        return true;
    };
    bool gone = false;
    for (int i = 0; i < 600 && !(gone = all_gone()); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    INFO(read_file(cluster + "/log/watch.log"));
    CHECK(gone);
}
