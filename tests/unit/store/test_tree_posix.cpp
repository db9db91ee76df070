// store::Tree's POSIX behaviours of issue 14 without a mount: a new entry
// gets exactly the mode it was asked for whatever the daemon's umask, and a
// symlink target too long for a backing symlink lives (format 3) in an
// encrypted sidecar that follows its link through readlink, rename and
// unlink.
#include <sys/stat.h>

#include "format/long_target.h"
#include "tree_fixture.h"

namespace store = cmkfs::store;
using cmkfs::test::errno_of;
using cmkfs::test::TreeStore;

namespace {

// The daemon's umask for one test (process-wide: Catch2 runs tests on one thread).
class DaemonUmask {
public:
    explicit DaemonUmask(mode_t mask) : old_(::umask(mask)) {}
    ~DaemonUmask() { ::umask(old_); }
    DaemonUmask(const DaemonUmask &) = delete;
    DaemonUmask &operator=(const DaemonUmask &) = delete;

private:
    mode_t old_;
};

// lstat of the backing entry `name` of `dir` (what the backing filesystem holds).
struct stat backing_stat(TreeStore &t, store::Node &dir, const std::string &name) {
    struct stat st {};
    REQUIRE(::fstatat(dir.fd.get(), t.backing(dir, name).name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0);
    return st;
}

// The long-target sidecars in the backing directory of `dir`.
std::vector<std::string> target_sidecars(const TreeStore &t, const store::Node &dir) {
    std::vector<std::string> out;
    const cmkfs::UniqueFd fd(::open(t.path_of(dir).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    REQUIRE(fd);
    for (const auto &n : cmkfs::list_directory(fd.get()))
        if (cmkfs::format::is_long_target_sidecar(n)) out.push_back(n);
    return out;
}

}  // namespace

TEST_CASE("Tree gives a new file, directory and node their exact mode under a daemon umask of 077",
          "[store][tree][posix]") {
    TreeStore t;
    const auto a = t.access();
    const DaemonUmask umask077(077);
    // The kernel applied the caller's umask already; the daemon's must not
    // take group and other bits away (issue 14: 0620 became 0600).
    auto file = t.tree.create(a, t.root, "file", 0664, O_EXCL, {});
    auto suid = t.tree.create(a, t.root, "suid", 04775, O_EXCL, {});
    auto dir = t.tree.mkdir(a, t.root, "dir", 0775, {});
    auto fifo = t.tree.mknod(a, t.root, "fifo", S_IFIFO | 0620, 0, {});
    CHECK((backing_stat(t, t.root, "file").st_mode & 07777) == 0664);
    CHECK((backing_stat(t, t.root, "suid").st_mode & 07777) == 04775);
    CHECK((backing_stat(t, t.root, "dir").st_mode & 07777) == 0775);
    CHECK((backing_stat(t, t.root, "fifo").st_mode & 07777) == 0620);
    // And what Tree answers the kernel with is the same.
    CHECK((file.entry.attr.st_mode & 07777) == 0664);
    CHECK((suid.entry.attr.st_mode & 07777) == 04775);
    CHECK((dir.attr.st_mode & 07777) == 0775);
    CHECK((fifo.attr.st_mode & 07777) == 0620);

    SECTION("for another caller (the daemon is root): their owner, and still the exact mode") {
        REQUIRE(::geteuid() == 0);
        const store::Caller caller{4242, 4343};
        auto theirs = t.tree.create(a, t.root, "theirs", 06770, O_EXCL, caller);
        auto their_dir = t.tree.mkdir(a, t.root, "their-dir", 0770, caller);
        auto their_node = t.tree.mknod(a, t.root, "their-fifo", S_IFIFO | 0660, 0, caller);
        for (const std::string name : {"theirs", "their-dir", "their-fifo"}) {
            INFO(name);
            const struct stat st = backing_stat(t, t.root, name);
            CHECK(st.st_uid == 4242);
            CHECK(st.st_gid == 4343);
        }
        // The chown of a regular file clears S_ISUID/S_ISGID: the mode is set after it.
        CHECK((backing_stat(t, t.root, "theirs").st_mode & 07777) == 06770);
        CHECK((backing_stat(t, t.root, "their-dir").st_mode & 07777) == 0770);
        CHECK((backing_stat(t, t.root, "their-fifo").st_mode & 07777) == 0660);
        CHECK(theirs.entry.attr.st_uid == 4242);
        CHECK(their_dir.attr.st_uid == 4242);
        CHECK(their_node.attr.st_uid == 4242);
    }
}

TEST_CASE("a long symlink target is made, read, renamed and unlinked through Tree (format 3)",
          "[store][tree][posix]") {
    TreeStore t;
    REQUIRE(cmkfs::format::keeps_long_targets(t.version));
    const auto a = t.access();
    std::string target;
    for (int i = 0; target.size() < 4095; ++i) target += "dir" + std::to_string(i) + "/";
    target.resize(4095);  // the longest the kernel passes

    auto link = t.tree.symlink(a, t.root, "link", target, {});
    CHECK(S_ISLNK(link.attr.st_mode));
    CHECK(link.attr.st_size == 4095);
    CHECK(t.tree.stat(link.node).st_size == 4095);
    CHECK(t.tree.readlink(a, link.node) == target);
    // The backing symlink holds a marker, the target is in one sidecar beside it.
    const auto in_root = target_sidecars(t, t.root);
    REQUIRE(in_root.size() == 1);
    CHECK(t.list(t.root) == std::vector<std::string>{"link"});

    SECTION("a fresh lookup finds the sidecar too") {
        auto found = t.tree.lookup(a, t.root, "link");
        CHECK(found.attr.st_size == 4095);
        CHECK(t.tree.readlink(a, found.node) == target);
    }

    SECTION("renamed into another directory, the same node follows it to a new sidecar there") {
        auto d = t.tree.mkdir(a, t.root, "d", 0755, {});
        t.tree.rename(a, t.root, "link", d.node, "moved", 0);
        CHECK(target_sidecars(t, t.root).empty());
        const auto in_d = target_sidecars(t, d.node);
        REQUIRE(in_d.size() == 1);
        CHECK(in_d != in_root);
        CHECK(t.tree.readlink(a, link.node) == target);  // the kernel keeps its inode
        auto moved = t.tree.lookup(a, d.node, "moved");
        CHECK(moved.attr.st_size == 4095);
        CHECK(t.tree.readlink(a, moved.node) == target);

        t.tree.unlink(a, d.node, "moved");
        CHECK(target_sidecars(t, d.node).empty());
        CHECK(t.list(d.node).empty());
        t.check_names_consistent(d.node);
    }

    SECTION("renamed over another long symlink, the replaced one's sidecar goes") {
        t.tree.symlink(a, t.root, "other", std::string(3500, 'o'), {});
        CHECK(target_sidecars(t, t.root).size() == 2);
        t.tree.rename(a, t.root, "link", t.root, "other", 0);
        CHECK(target_sidecars(t, t.root).size() == 1);
        CHECK(t.tree.readlink(a, t.tree.lookup(a, t.root, "other").node) == target);
        t.tree.unlink(a, t.root, "other");
    }

    SECTION("unlinked, its sidecar goes with it") {
        t.tree.unlink(a, t.root, "link");
        CHECK(target_sidecars(t, t.root).empty());
        CHECK(t.list(t.root).empty());
    }

    SECTION("a target above 4095 bytes is refused, and leaves nothing behind") {
        CHECK(errno_of([&] { t.tree.symlink(a, t.root, "too-long", target + "x", {}); }) == ENAMETOOLONG);
        CHECK(target_sidecars(t, t.root) == in_root);
        CHECK(t.list(t.root) == std::vector<std::string>{"link"});
    }

    t.check_names_consistent(t.root);
}

TEST_CASE("format 2 refuses a symlink target too long for a backing symlink", "[store][tree][posix]") {
    TreeStore t(2);
    const auto a = t.access();
    CHECK(errno_of([&] { t.tree.symlink(a, t.root, "link", std::string(4000, 't'), {}); }) == ENAMETOOLONG);
    CHECK(t.list(t.root).empty());
    CHECK(target_sidecars(t, t.root).empty());
}
