// Shared-storage mode on a real CephFS: two hosts (ceph-fuse clients 1 and
// 2 of CephCluster::shared(), through shared_hosts.h built with
// CMKFS_SHARED_ON_CEPH), each with its own cmkfs mount of one store. These
// are the multi-host cases test_shared_storage.cpp (compiled into the same
// binary, so it runs on ceph-fuse too) does not have: concurrent writers of
// distinct files and of disjoint blocks of one file, seeded random operations
// checked against a model from both hosts, and faults (a killed daemon, a
// killed ceph-fuse client).
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "../integration/shared_hosts.h"
#include "support/ceph_cluster.h"
#include "support/mount_io.h"
#include "support/test_seed.h"
#include "util/errors.h"

using namespace cmkfs::test;
namespace fsys = std::filesystem;

namespace {

std::string random_bytes(std::mt19937_64 &gen, size_t n) {
    std::string s(n, '\0');
    for (auto &c : s) c = static_cast<char>(gen());
    return s;
}

std::string numbered(size_t n, int id) {
    std::string s(n, '\0');
    for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>((i * 37 + static_cast<size_t>(id) * 101 + (i >> 9)) & 0xff);
    return s;
}

// open/write/fsync/close; false (errno kept) when any step fails.
bool write_synced(const std::string &path, const std::string &data) {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) return false;
    const bool ok = ::write(fd, data.data(), data.size()) == static_cast<ssize_t>(data.size()) && ::fsync(fd) == 0;
    return ::close(fd) == 0 && ok;
}

}  // namespace

TEST_CASE("cluster: two hosts write distinct files in one directory at once; both list and read every file whole",
          "[cluster][shared]") {
    SharedStoreHosts hosts(/*shared_storage=*/true);
    hosts.a.mount(hosts.backing);
    hosts.b.mount(hosts.backing_b);
    REQUIRE(::mkdir(hosts.a.path("d").c_str(), 0755) == 0);
    constexpr int kFiles = 12;
    std::atomic<int> failures{0}, writers_left{2}, listings{0}, cross_reads{0};
    std::atomic<int> written[2] = {0, 0};  // files each host has closed
    std::mutex mismatch_mutex;
    std::vector<std::string> mismatches;
    auto writer = [&](const Host &host, int me) {
        const int base = me * 100, other_base = (1 - me) * 100;
        for (int i = 0; i < kFiles; ++i) {
            const int id = base + i;
            // Sizes cross block boundaries: 1..~40 KiB.
            if (!write_synced(host.path("d/f" + std::to_string(id)), numbered(1 + static_cast<size_t>(id) * 1801, id)))
                ++failures;
            written[me] = i + 1;
            // Close-to-open while both write: the other host's newest closed
            // file, which this host's lister may have seen empty or partial.
            const int done = written[1 - me];
            if (done == 0) continue;
            const int other = other_base + done - 1;
            std::string got;
            const int err = read_errno(host.path("d/f" + std::to_string(other)), &got);
            ++cross_reads;
            if (err != 0 || got != numbered(1 + static_cast<size_t>(other) * 1801, other)) {
                const std::lock_guard<std::mutex> lock(mismatch_mutex);
                mismatches.push_back(host.name() + " read f" + std::to_string(other) + ": errno " +
                                     std::to_string(err) + ", " + std::to_string(got.size()) + " bytes");
            }
        }
        --writers_left;
    };
    // Each host also lists the directory while files appear in it, so a
    // kernel that kept a listing (or entries) from then would show it below.
    auto lister = [&](const Host &host) {
        while (writers_left > 0) {
            listing(host.path("d"));
            ++listings;
        }
    };
    {
        std::thread la(lister, std::cref(hosts.a)), lb(lister, std::cref(hosts.b));
        std::thread ta(writer, std::cref(hosts.a), 0), tb(writer, std::cref(hosts.b), 1);
        ta.join();
        tb.join();
        la.join();
        lb.join();
    }
    INFO("A: " << hosts.a.log() << "\nB: " << hosts.b.log());
    CHECK(failures == 0);
    CHECK(listings > 0);
    CHECK(cross_reads > 0);
    for (const auto &m : mismatches) UNSCOPED_INFO(m);
    CHECK(mismatches.empty());
    std::set<std::string> names;
    for (int base : {0, 100})
        for (int i = 0; i < kFiles; ++i) names.insert("f" + std::to_string(base + i));
    CHECK(listing(hosts.a.path("d")) == names);
    CHECK(listing(hosts.b.path("d")) == names);
    for (int base : {0, 100})
        for (int i = 0; i < kFiles; ++i) {
            const int id = base + i;
            const std::string want = numbered(1 + static_cast<size_t>(id) * 1801, id);
            for (const Host *h : {&hosts.a, &hosts.b}) {
                std::string got;
                INFO(h->name() << " f" << id);
                CHECK(read_errno(h->path("d/f" + std::to_string(id)), &got) == 0);
                CHECK((got == want));
            }
        }
}

TEST_CASE("cluster: two hosts write disjoint blocks of one file at once; both hosts' data is intact",
          "[cluster][shared]") {
    SharedStoreHosts hosts(/*shared_storage=*/true);
    hosts.a.mount(hosts.backing);
    hosts.b.mount(hosts.backing_b);
    constexpr size_t kBlocks = 32;
    constexpr int kRounds = 4;
    write_file(hosts.a.path("f"), "");
    // A owns the even blocks, B the odd ones; every round each host writes
    // all of its blocks in order (one open, a pwrite per block, close). The
    // first round grows the empty file from both hosts at once: each append
    // re-seals the block before it as no longer final and a write past the
    // end leaves a hole the other host fills, so each host must see the
    // other's size and final block at every write (the file lock).
    auto block = [](size_t index, int round) { return numbered(kBlock, static_cast<int>(index) * 1000 + round); };
    std::atomic<int> failures{0};
    auto writer = [&](const Host &host, size_t first) {
        for (int round = 1; round <= kRounds; ++round) {
            const int fd = ::open(host.path("f").c_str(), O_WRONLY);
            if (fd < 0) {
                ++failures;
                continue;
            }
            for (size_t i = first; i < kBlocks; i += 2)
                if (::pwrite(fd, block(i, round).data(), kBlock, static_cast<off_t>(i * kBlock)) !=
                    static_cast<ssize_t>(kBlock))
                    ++failures;
            if (::close(fd) != 0) ++failures;
        }
    };
    {
        std::thread ta(writer, std::cref(hosts.a), 0), tb(writer, std::cref(hosts.b), 1);
        ta.join();
        tb.join();
    }
    INFO("A: " << hosts.a.log() << "\nB: " << hosts.b.log());
    CHECK(failures == 0);
    std::string want;
    for (size_t i = 0; i < kBlocks; ++i) want += block(i, kRounds);
    for (const Host *h : {&hosts.a, &hosts.b}) {
        std::string got;
        INFO(h->name());
        CHECK(read_errno(h->path("f"), &got) == 0);
        REQUIRE(got.size() == want.size());
        for (size_t i = 0; i < kBlocks; ++i) {
            INFO("block " << i);
            CHECK((got.compare(i * kBlock, kBlock, want, i * kBlock, kBlock) == 0));
        }
    }
}

namespace {

// What one host's subtree should hold: each entry is a file (content), a
// directory, or a symlink (target).
struct Entry {
    enum Kind { kFile, kDir, kLink } kind;
    std::string data;
};
using Model = std::map<std::string, Entry>;  // path relative to the subtree

// A random sequence of operations by one host on its own subtree, applied to
// the mount and to the model; every operation must succeed.
class RandomOps {
public:
    RandomOps(const Host &host, std::string top, uint64_t stream) : host_(host), top_(std::move(top)), gen_(rng(stream)) {
        model_[""] = {Entry::kDir, ""};
    }
    const Model &model() const { return model_; }
    const std::string &top() const { return top_; }
    std::vector<std::string> &errors() { return errors_; }

    void run(int count) {
        for (int i = 0; i < count; ++i) step();
    }

private:
    std::string real(const std::string &rel) const { return host_.path(top_ + (rel.empty() ? "" : "/" + rel)); }
    std::vector<std::string> of(Entry::Kind kind) const {
        std::vector<std::string> v;
        for (const auto &[p, e] : model_)
            if (e.kind == kind) v.push_back(p);
        return v;
    }
    template <class T> const T &pick(const std::vector<T> &v) { return v[gen_() % v.size()]; }
    std::string fresh_name(const std::string &dir) {
        return (dir.empty() ? "" : dir + "/") + "n" + std::to_string(next_++);
    }
    void fail(const std::string &what) { errors_.push_back(what + ": " + cmkfs::errno_text(errno)); }
    bool empty_dir(const std::string &d) const {
        const std::string prefix = d + "/";
        for (const auto &[p, e] : model_)
            if (p.compare(0, prefix.size(), prefix) == 0) return false;
        return true;
    }

    void step() {
        const auto dirs = of(Entry::kDir);
        const auto files = of(Entry::kFile);
        switch (gen_() % 8) {
        case 0: {  // create
            const std::string p = fresh_name(pick(dirs));
            std::string data = random_bytes(gen_, gen_() % 20000);
            write_file(real(p), data);
            model_[p] = {Entry::kFile, std::move(data)};
            return;
        }
        case 1: {  // write at an offset (may extend, may leave a hole)
            if (files.empty()) return;
            const std::string &p = pick(files);
            std::string &content = model_[p].data;
            const size_t off = gen_() % (content.size() + 6000);
            const std::string data = random_bytes(gen_, 1 + gen_() % 9000);
            const int fd = ::open(real(p).c_str(), O_WRONLY);
            if (fd < 0 || ::pwrite(fd, data.data(), data.size(), static_cast<off_t>(off)) !=
                              static_cast<ssize_t>(data.size()) || ::close(fd) != 0)
                return fail("write " + p);
            if (content.size() < off + data.size()) content.resize(off + data.size(), '\0');
            content.replace(off, data.size(), data);
            return;
        }
        case 2: {  // truncate (shrink or grow)
            if (files.empty()) return;
            const std::string &p = pick(files);
            const size_t size = gen_() % 30000;
            if (::truncate(real(p).c_str(), static_cast<off_t>(size)) != 0) return fail("truncate " + p);
            model_[p].data.resize(size, '\0');
            return;
        }
        case 3: {  // rename a file to a new name or over another file
            if (files.empty()) return;
            const std::string from = pick(files);
            std::string to = (gen_() % 2 == 0 && files.size() > 1) ? pick(files) : fresh_name(pick(dirs));
            if (to == from) return;
            if (::rename(real(from).c_str(), real(to).c_str()) != 0) return fail("rename " + from + " " + to);
            model_[to] = model_[from];
            model_.erase(from);
            return;
        }
        case 4: {  // unlink a file or a symlink
            auto victims = files;
            for (const auto &l : of(Entry::kLink)) victims.push_back(l);
            if (victims.empty()) return;
            const std::string p = pick(victims);
            if (::unlink(real(p).c_str()) != 0) return fail("unlink " + p);
            model_.erase(p);
            return;
        }
        case 5: {  // mkdir
            const std::string p = fresh_name(pick(dirs));
            if (::mkdir(real(p).c_str(), 0755) != 0) return fail("mkdir " + p);
            model_[p] = {Entry::kDir, ""};
            return;
        }
        case 6: {  // rmdir an empty directory
            std::vector<std::string> empty;
            for (const auto &d : dirs)
                if (!d.empty() && empty_dir(d)) empty.push_back(d);
            if (empty.empty()) return;
            const std::string p = pick(empty);
            if (::rmdir(real(p).c_str()) != 0) return fail("rmdir " + p);
            model_.erase(p);
            return;
        }
        default: {  // symlink
            const std::string p = fresh_name(pick(dirs));
            const std::string target = "target-" + std::to_string(gen_() % 1000);
            if (::symlink(target.c_str(), real(p).c_str()) != 0) return fail("symlink " + p);
            model_[p] = {Entry::kLink, target};
            return;
        }
        }
    }

    const Host &host_;
    std::string top_;
    std::mt19937_64 gen_;
    Model model_;
    int next_ = 0;
    std::vector<std::string> errors_;
};

// Differences between the model's entry at `rel` and what `path` is now ("" when none).
std::string compare_entry(const std::string &path, const std::string &rel, const Entry &want) {
    std::error_code ec;
    const auto status = fsys::symlink_status(path, ec);
    if (ec) return "missing " + rel + " (" + ec.message() + ")\n";
    if (want.kind == Entry::kLink)
        return fsys::is_symlink(status) && fsys::read_symlink(path, ec).string() == want.data ? ""
                                                                                         : "symlink differs: " + rel + "\n";
    if (want.kind == Entry::kDir) return fsys::is_directory(status) ? "" : "not a directory: " + rel + "\n";
    std::string got;
    const int err = read_errno(path, &got);
    if (fsys::is_regular_file(status) && err == 0 && got == want.data) return "";
    return "file differs: " + rel + " (errno " + std::to_string(err) + ", " + std::to_string(got.size()) +
           " bytes, want " + std::to_string(want.data.size()) + ")\n";
}

// Differences between the tree under `root` and the model ("" when none).
// First every model entry by its path, as a user opens a name it knows (a
// lookup: a kernel that kept an old entry or old attributes answers from
// them), then a walk of the tree for names the model lacks or misses.
std::string compare_tree(const std::string &root, const Model &model) {
    std::string diff;
    for (const auto &[rel, want] : model)
        if (!rel.empty()) diff += compare_entry(fsys::path(root) / rel, rel, want);
    std::set<std::string> seen;
    std::error_code ec;
    for (auto it = fsys::recursive_directory_iterator(root, ec); !ec && it != fsys::recursive_directory_iterator();
         it.increment(ec)) {
        const std::string rel = fsys::relative(it->path(), root).string();
        seen.insert(rel);
        if (model.count(rel) == 0) diff += "unexpected " + rel + "\n";
    }
    if (ec) diff += "walk: " + ec.message() + "\n";
    for (const auto &[p, e] : model)
        if (!p.empty() && seen.count(p) == 0) diff += "not listed " + p + "\n";
    return diff;
}

}  // namespace

TEST_CASE("cluster: seeded random operations by two hosts on their own subtrees match a model on both hosts",
          "[cluster][shared][random]") {
    announce_seed();
    SharedStoreHosts hosts(/*shared_storage=*/true);
    hosts.a.mount(hosts.backing);
    hosts.b.mount(hosts.backing_b);
    REQUIRE(::mkdir(hosts.a.path("ta").c_str(), 0755) == 0);
    REQUIRE(::mkdir(hosts.b.path("tb").c_str(), 0755) == 0);
    RandomOps ops_a(hosts.a, "ta", 1), ops_b(hosts.b, "tb", 2);
    // Short phases: each host looks at the other's subtree soon after the
    // other changed it (a kernel that kept entries or attributes would show).
    for (int phase = 0; phase < 8; ++phase) {
        {
            std::thread ta([&] { ops_a.run(15); }), tb([&] { ops_b.run(15); });
            ta.join();
            tb.join();
        }
        INFO("phase " << phase << " (CMKFS_TEST_SEED=" << seed() << ")\nA: " << hosts.a.log()
                      << "\nB: " << hosts.b.log());
        CHECK(ops_a.errors().empty());
        CHECK(ops_b.errors().empty());
        for (const auto &e : ops_a.errors()) UNSCOPED_INFO("A: " << e);
        for (const auto &e : ops_b.errors()) UNSCOPED_INFO("B: " << e);
        // Each subtree from its own host and, after close-to-open (every
        // operation above closed its files), from the other host.
        CHECK(compare_tree(hosts.a.path("ta"), ops_a.model()) == "");
        CHECK(compare_tree(hosts.b.path("ta"), ops_a.model()) == "");
        CHECK(compare_tree(hosts.b.path("tb"), ops_b.model()) == "");
        CHECK(compare_tree(hosts.a.path("tb"), ops_b.model()) == "");
    }
    hosts.a.unmount();
    hosts.b.unmount();
    auto r = hosts.c.cli({"fsck", hosts.backing});
    INFO(r.out << r.err);
    CHECK(r.exit_code == 0);
}

TEST_CASE("cluster: kill -9 of host A's daemon during fsynced writes: B is unaffected, A remounts with every "
          "fsynced write intact",
          "[cluster][shared][fault]") {
    SharedStoreHosts hosts(/*shared_storage=*/true);
    hosts.a.mount(hosts.backing);
    hosts.b.mount(hosts.backing_b);
    REQUIRE(::mkdir(hosts.a.path("a").c_str(), 0755) == 0);
    REQUIRE(::mkdir(hosts.b.path("b").c_str(), 0755) == 0);

    // A writes file after file, each fsynced and closed before it counts as durable.
    std::atomic<int> durable{0};
    std::atomic<bool> stop{false};
    std::thread writer_a([&] {
        for (int i = 0; !stop; ++i) {
            if (!write_synced(hosts.a.path("a/f" + std::to_string(i)), numbered(20000 + static_cast<size_t>(i) * 97, i)))
                return;  // the daemon is gone
            durable = i + 1;
        }
    });
    // B writes and reads back its own files all along.
    std::atomic<int> b_done{0}, b_errors{0};
    std::thread worker_b([&] {
        for (int i = 0; !stop; ++i) {
            const std::string p = hosts.b.path("b/g" + std::to_string(i % 16));
            const std::string data = numbered(30000, 5000 + i);
            std::string got;
            if (!write_synced(p, data) || read_errno(p, &got) != 0 || got != data) ++b_errors;
            ++b_done;
        }
    });
    const bool a_wrote = wait_for([&] { return durable >= 5; }, 60) >= 0;
    hosts.a.kill_daemon();
    // B keeps going: more rounds after the kill, without an error.
    const int b_at_kill = b_done;
    const bool b_went_on = wait_for([&] { return b_done >= b_at_kill + 10; }, 60) >= 0;
    stop = true;
    writer_a.join();
    worker_b.join();
    INFO("A durable " << durable << "\nA: " << hosts.a.log() << "\nB: " << hosts.b.log());
    REQUIRE(a_wrote);
    CHECK(b_went_on);
    CHECK(b_errors == 0);
    CHECK_FALSE(hosts.a.mounted());
    // The dead daemon held no lock B now waits for: B reads every durable
    // file of A before A is back.
    for (int i = 0; i < durable; ++i) {
        std::string got;
        INFO("B reads a/f" << i << " before A remounts");
        CHECK(read_errno(hosts.b.path("a/f" + std::to_string(i)), &got) == 0);
        CHECK((got == numbered(20000 + static_cast<size_t>(i) * 97, i)));
    }

    // A remounts (its dead daemon's claim on .cmkfs.lock went with its
    // open file description; a bounded retry covers the release reaching
    // the MDS) and finds every fsynced file whole, from both hosts.
    std::string last_error;
    const bool remounted = wait_for(
                               [&] {
                                   try {
                                       hosts.a.mount(hosts.backing);
                                       return true;
                                   } catch (const std::exception &e) {
                                       last_error = e.what();
                                       return false;
                                   }
                               },
                               30) >= 0;
    INFO(last_error);
    REQUIRE(remounted);
    for (int i = 0; i < durable; ++i) {
        const std::string want = numbered(20000 + static_cast<size_t>(i) * 97, i);
        for (const Host *h : {&hosts.a, &hosts.b}) {
            std::string got;
            INFO(h->name() << " a/f" << i);
            CHECK(read_errno(h->path("a/f" + std::to_string(i)), &got) == 0);
            CHECK((got == want));
        }
    }
}

TEST_CASE("cluster: host A's ceph-fuse client dies under load: B goes on, A's users get EIO/ENOTCONN (never "
          "wrong data), A's mount comes down",
          "[cluster][shared][fault]") {
    // Host A on client 3, which no other test case uses (it stays dead until
    // the cluster stops; ceph-cluster.sh's stop unmounts it), host B on client 2.
    CephCluster &cluster = CephCluster::shared();
    const std::string top = cluster.fresh_dir("client-fault");
    TempDir dir;
    LocalVault vault(dir / "vault");
    Host a("host-a"), b("host-b");
    const std::string backing_a = cluster.client(3) + "/" + top + "/backing";
    const std::string backing_b = cluster.client(2) + "/" + top + "/backing";
    auto r = a.cli({"init", backing_a, "--provider", "local", "--identity", vault.identity, "--key-encryption-key",
                    vault.kid, "--shared-storage"});
    INFO(r.out << r.err);
    REQUIRE(r.exit_code == 0);
    b.trust_as(a, nlohmann::json::parse(read_file(backing_a + "/.cmkfs.volume")).at("volume_id"));
    a.mount(backing_a);
    b.mount(backing_b);

    // A reads only its own file, B writes only files A never opens: after
    // A's client dies, the MDS still counts A's capabilities until it evicts
    // the session, and anything A had cached would make B wait for that.
    const std::string a_data = numbered(100000, 1);
    write_file(a.path("a-file"), a_data);
    REQUIRE(::mkdir(b.path("bdir").c_str(), 0755) == 0);
    for (int i = 0; i < 4; ++i) write_file(b.path("bdir/g" + std::to_string(i)), "");

    std::atomic<bool> stop{false};
    std::atomic<int> a_reads{0}, a_wrong{0}, a_failed{0}, a_other_errno{0};
    std::mutex errnos_mutex;
    std::set<int> other_errnos;
    auto count = [&](int err, const std::string &got) {
        if (err == 0) {
            if (got != a_data) ++a_wrong;
        } else if (err == EIO || err == ENOTCONN || err == ECONNABORTED) {
            // ECONNABORTED: a request A's cmkfs had in flight in the dead
            // client's FUSE connection, passed through as the backing said.
            ++a_failed;
        } else {
            ++a_other_errno;
            ++a_failed;
            const std::lock_guard<std::mutex> lock(errnos_mutex);
            other_errnos.insert(err);
        }
        ++a_reads;
    };
    // Fresh opens (a lookup and an open first) and reads through a
    // descriptor A opened before the client died: its cached pages dropped
    // first (as memory pressure would), so each read reaches A's cmkfs.
    std::thread reader_a([&] {
        while (!stop) {
            std::string got;
            const int err = read_errno(a.path("a-file"), &got);
            count(err, got);
        }
    });
    const int held = ::open(a.path("a-file").c_str(), O_RDONLY);
    REQUIRE(held >= 0);
    std::thread held_reader_a([&] {
        while (!stop) {
            std::string got(a_data.size(), '\0');
            ::posix_fadvise(held, 0, 0, POSIX_FADV_DONTNEED);
            const ssize_t n = ::pread(held, got.data(), got.size(), 0);
            const int err = n < 0 ? errno : 0;
            got.resize(n < 0 ? 0 : static_cast<size_t>(n));
            count(err, got);
        }
    });
    std::atomic<int> b_done{0}, b_errors{0};
    std::thread worker_b([&] {
        for (int i = 0; !stop; ++i) {
            const std::string p = b.path("bdir/g" + std::to_string(i % 4));
            const std::string data = numbered(30000, 7000 + i);
            std::string got;
            if (!write_synced(p, data) || read_errno(p, &got) != 0 || got != data) ++b_errors;
            ++b_done;
        }
    });
    REQUIRE(wait_for([&] { return a_reads >= 5 && b_done >= 5; }, 60) >= 0);
    const pid_t ceph_fuse = cluster.client_pid(3);
    REQUIRE(::kill(ceph_fuse, SIGKILL) == 0);
    const bool a_fails = wait_for([&] { return a_failed >= 3; }, 30) >= 0;
    const int b_at_kill = b_done;
    const bool b_went_on = wait_for([&] { return b_done >= b_at_kill + 10; }, 60) >= 0;
    stop = true;
    reader_a.join();
    held_reader_a.join();
    ::close(held);
    worker_b.join();
    std::string errnos;
    for (const int e : other_errnos) errnos += " " + cmkfs::errno_text(e);
    INFO("A reads " << a_reads << ", failed " << a_failed << ", other errno " << a_other_errno << errnos << ", wrong "
                    << a_wrong << "\nA: " << a.log() << "\nB: " << b.log());
    CHECK(a_fails);
    CHECK(a_wrong == 0);
    CHECK(a_other_errno == 0);
    CHECK(b_went_on);
    CHECK(b_errors == 0);
    // A's cmkfs unmounts cleanly (the test's Host::unmount would kill it otherwise).
    r = a.cli({"umount", a.mountpoint()}, 30);
    INFO(r.out << r.err);
    CHECK(r.exit_code == 0);
    CHECK(wait_for([&] { return !a.mounted(); }, 10) >= 0);
    a.unmount();
    // B still reads what it wrote.
    CHECK(listing(b.path("bdir")).size() == 4);
}
