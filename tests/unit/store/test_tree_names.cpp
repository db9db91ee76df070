// store::Tree's names without a mount: lookup, create, mknod, mkdir,
// symlink, unlink, rmdir and link, and crashes between the steps of a
// long-name create or an unlink (a step hook that throws), after which the
// directory must still be consistent.
#include <sys/stat.h>

#include <fcntl.h>

#include "format/long_target.h"
#include "format/place_codec.h"
#include "store/directory.h"
#include "store/link_record.h"
#include "util/unique_fd.h"
#include "tree_fixture.h"

namespace store = cmkfs::store;
using cmkfs::test::Crash;
using cmkfs::test::errno_of;
using cmkfs::test::long_name;
using cmkfs::test::TreeStore;

TEST_CASE("Tree creates, finds, lists and removes names", "[store][tree]") {
    TreeStore t;
    const auto a = t.access();
    auto created = t.tree.create(a, t.root, "file", 0644, O_EXCL, {});
    CHECK(created.fd);
    CHECK(S_ISREG(created.entry.attr.st_mode));
    CHECK(created.entry.attr.st_size == 0);
    t.tree.mkdir(a, t.root, "dir", 0755, {});
    t.tree.symlink(a, t.root, "link", "target/of/link", {});
    t.tree.mknod(a, t.root, "fifo", S_IFIFO | 0600, 0, {});
    CHECK(t.list(t.root) == std::vector<std::string>{"dir", "fifo", "file", "link"});
    CHECK(&t.tree.lookup(a, t.root, "file").node == &created.entry.node);
    CHECK(errno_of([&] { t.tree.lookup(a, t.root, "missing"); }) == ENOENT);
    // find: the same answers, a missing name without an exception.
    CHECK(&t.tree.find(a, t.root, "file")->node == &created.entry.node);
    CHECK_FALSE(t.tree.find(a, t.root, "missing").has_value());
    CHECK_FALSE(t.tree.find(a, t.root, long_name('m')).has_value());
    CHECK(errno_of([&] { t.tree.create(a, t.root, "file", 0644, O_EXCL, {}); }) == EEXIST);
    CHECK(errno_of([&] { t.tree.mkdir(a, t.root, "dir", 0755, {}); }) == EEXIST);

    t.tree.unlink(a, t.root, "file");
    t.tree.unlink(a, t.root, "link");
    t.tree.unlink(a, t.root, "fifo");
    t.tree.rmdir(a, t.root, "dir");
    CHECK(t.list(t.root).empty());
    t.check_names_consistent(t.root);
}

TEST_CASE("Tree stats with plaintext sizes", "[store][tree]") {
    TreeStore t;
    const auto a = t.access();
    const std::string target(100, 't');
    auto link = t.tree.symlink(a, t.root, "link", target, {});
    CHECK(link.attr.st_size == 100);
    CHECK(t.tree.stat(link.node).st_size == 100);
    auto file = t.tree.create(a, t.root, "file", 0644, 0, {});
    t.tree.truncate(a, file.entry.node, file.fd.get(), 10000);
    CHECK(t.tree.stat(file.entry.node).st_size == 10000);
    CHECK(t.tree.lookup(a, t.root, "file").attr.st_size == 10000);
}

TEST_CASE("a directory made by Tree has its id, bound to its place", "[store][tree]") {
    TreeStore t;
    const auto a = t.access();
    auto d = t.tree.mkdir(a, t.root, "d", 0750, {});
    CHECK((d.attr.st_mode & 07777) == 0750);
    REQUIRE(d.node.dir_id);
    t.tree.create(a, d.node, "inside", 0644, 0, {});
    CHECK(t.list(d.node) == std::vector<std::string>{"inside"});
    CHECK(errno_of([&] { t.tree.rmdir(a, t.root, "d"); }) == ENOTEMPTY);
    t.tree.unlink(a, d.node, "inside");
    t.tree.rmdir(a, t.root, "d");
    CHECK_FALSE(t.exists_in(t.root, t.backing(t.root, "d").name));
}

TEST_CASE("rmdir takes a crash's leftovers with the directory, and only when nothing else is there",
          "[store][tree]") {
    TreeStore t;
    const auto a = t.access();
    auto d = t.tree.mkdir(a, t.root, "d", 0755, {});
    const int dirfd = d.node.fd.get();
    // What a crash can leave: a pending id rebind, a rename's temporary, a
    // long target's sidecar whose symlink is gone.
    const std::vector<std::string> leftovers = {
        std::string(cmkfs::format::kDirIdNextName), std::string(cmkfs::store::kRenameTempPrefix) + "x1",
        cmkfs::format::long_target_sidecar_name(cmkfs::format::LinkId{7})};
    for (const auto &name : leftovers) {
        cmkfs::UniqueFd fd(::openat(dirfd, name.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0600));
        REQUIRE(fd);
    }
    t.tree.create(a, d.node, "kept", 0644, 0, {});
    CHECK(errno_of([&] { t.tree.rmdir(a, t.root, "d"); }) == ENOTEMPTY);
    for (const auto &name : leftovers) CHECK(t.exists_in(d.node, name));  // untouched by a refusal
    t.tree.unlink(a, d.node, "kept");
    t.tree.rmdir(a, t.root, "d");
    CHECK_FALSE(t.exists_in(t.root, t.backing(t.root, "d").name));
}

TEST_CASE("a long name's sidecar is written before its entry and removed after it", "[store][tree][crash]") {
    TreeStore t;
    const std::string name = long_name('n');
    const auto backing = t.backing(t.root, name);
    REQUIRE(backing.is_long());
    const auto a = t.access();
    // For every kind of entry: when the entry is made, its sidecar is
    // already there; a crash right then leaves a sidecar without an entry,
    // which is invisible, and the name can be made again.
    for (const std::string op : {"create", "mknod", "mkdir", "symlink"}) {
        INFO(op);
        t.crash_at(op, "entry", [&] { CHECK(t.exists_in(t.root, backing.sidecar)); });
        auto make = [&] {
            if (op == "create") t.tree.create(a, t.root, name, 0644, 0, {});
            else if (op == "mknod") t.tree.mknod(a, t.root, name, S_IFIFO | 0600, 0, {});
            else if (op == "mkdir") t.tree.mkdir(a, t.root, name, 0755, {});
            else t.tree.symlink(a, t.root, name, "target", {});
        };
        CHECK_THROWS_AS(make(), Crash);
        CHECK_FALSE(t.exists_in(t.root, backing.name));
        CHECK(t.list(t.root).empty());
        CHECK(errno_of([&] { t.tree.lookup(a, t.root, name); }) == ENOENT);
        t.check_names_consistent(t.root);

        t.tree.set_step_hook({});
        make();
        CHECK(t.list(t.root) == std::vector<std::string>{name});
        CHECK(t.exists_in(t.root, backing.sidecar));
        t.check_names_consistent(t.root);

        // Removing: the entry goes first, then the sidecar (checked when
        // the sidecar is about to go; a crash then leaves only the sidecar).
        if (op == "mkdir") {
            t.tree.rmdir(a, t.root, name);
        } else {
            t.crash_at("unlink", "entry", [&] { CHECK(t.exists_in(t.root, backing.sidecar)); });
            CHECK_THROWS_AS(t.tree.unlink(a, t.root, name), Crash);
            CHECK(t.list(t.root) == std::vector<std::string>{name});
            t.check_names_consistent(t.root);
            t.crash_at("unlink", "sidecar", [&] { CHECK_FALSE(t.exists_in(t.root, backing.name)); });
            CHECK_THROWS_AS(t.tree.unlink(a, t.root, name), Crash);
            CHECK(t.list(t.root).empty());
            t.check_names_consistent(t.root);
            t.tree.set_step_hook({});
        }
        ::unlinkat(t.backing_dir().get(), backing.sidecar.c_str(), 0);  // left by the crash, if any
    }
}

TEST_CASE("a long-name create that fails before its entry leaves the directory consistent", "[store][tree][crash]") {
    TreeStore t;
    const auto a = t.access();
    const std::string name = long_name('c');
    t.crash_at("create", "sidecar");
    CHECK_THROWS_AS(t.tree.create(a, t.root, name, 0644, 0, {}), Crash);
    CHECK_FALSE(t.exists_in(t.root, t.backing(t.root, name).sidecar));
    CHECK(t.list(t.root).empty());
    t.check_names_consistent(t.root);
    CHECK(t.nodes.uses() == 0);
}

TEST_CASE("Tree symlinks are sealed for their place (format 2)", "[store][tree]") {
    TreeStore t;
    const auto a = t.access();
    auto one = t.tree.symlink(a, t.root, "one", "first", {});
    auto two = t.tree.symlink(a, t.root, "two", "second", {});
    CHECK(t.tree.readlink(a, one.node) == "first");
    CHECK(t.tree.readlink(a, two.node) == "second");

    SECTION("a target swapped with another name's does not open") {
        const auto b_one = t.backing(t.root, "one").name, b_two = t.backing(t.root, "two").name;
        const auto dir = t.backing_dir();
        const int dirfd = dir.get();
        REQUIRE(::renameat2(dirfd, b_one.c_str(), dirfd, b_two.c_str(), RENAME_EXCHANGE) == 0);
        auto swapped = t.tree.lookup(a, t.root, "one");
        CHECK_THROWS_AS(t.tree.readlink(a, swapped.node), cmkfs::IntegrityError);
    }
    SECTION("a hard link to a symlink is refused") {
        CHECK(errno_of([&] { t.tree.link(a, one.node, t.root, "again"); }) == EPERM);
    }
    SECTION("a symlink with two backing links does not open") {
        const auto b_one = t.backing(t.root, "one").name;
        const auto dir = t.backing_dir();
        const int dirfd = dir.get();
        REQUIRE(::linkat(dirfd, b_one.c_str(), dirfd, "extra", 0) == 0);
        CHECK_THROWS_AS(t.tree.readlink(a, one.node), cmkfs::IntegrityError);
    }
}

TEST_CASE("Tree keeps hard-link records in step with links (format 2)", "[store][tree]") {
    TreeStore t;
    const auto a = t.access();
    auto file = t.tree.create(a, t.root, "f", 0644, 0, {});
    store::Node &node = file.entry.node;
    auto record = [&]() -> std::optional<uint32_t> {
        cmkfs::UniqueFd fd(::open(t.path_of(node).c_str(), O_RDONLY | O_CLOEXEC));
        const auto id = node.content.id;
        REQUIRE(id);
        return store::read_link_record(fd.get(), a.keys().meta(), *id, "f");
    };
    t.tree.link(a, node, t.root, "g");
    CHECK(record() == 2u);
    CHECK(t.tree.open(a, node, O_RDONLY));  // every backing link is explained

    SECTION("a link that fails puts the record back") {
        t.tree.create(a, t.root, "taken", 0644, 0, {});
        CHECK(errno_of([&] { t.tree.link(a, node, t.root, "taken"); }) == EEXIST);
        CHECK(record() == 2u);
    }
    SECTION("a link that crashes before the backing link leaves the record high, never low") {
        t.crash_at("link", "entry");
        CHECK_THROWS_AS(t.tree.link(a, node, t.root, "h"), Crash);
        CHECK(record() == 3u);
        t.tree.set_step_hook({});
        CHECK(t.tree.open(a, node, O_RDONLY));
    }
    SECTION("unlink lowers it, and removes it at one link") {
        t.tree.unlink(a, t.root, "g");
        CHECK_FALSE(record().has_value());
        CHECK(t.tree.open(a, node, O_RDONLY));
    }
    SECTION("a backing link nobody recorded is refused at open") {
        const auto dir = t.backing_dir();
        const int dirfd = dir.get();
        REQUIRE(::linkat(dirfd, t.backing(t.root, "f").name.c_str(), dirfd, "sneaky", 0) == 0);
        CHECK_THROWS_AS(t.tree.open(a, node, O_RDONLY), cmkfs::IntegrityError);
    }
}

TEST_CASE("a lookup of a directory bound to another place fails and keeps no node", "[store][tree]") {
    TreeStore t;
    const auto a = t.access();
    t.tree.mkdir(a, t.root, "x", 0755, {});
    t.tree.mkdir(a, t.root, "y", 0755, {});
    const auto bx = t.backing(t.root, "x").name, by = t.backing(t.root, "y").name;
    const uint64_t before = t.nodes.uses();
    const auto dir = t.backing_dir();
    const int dirfd = dir.get();
    REQUIRE(::renameat2(dirfd, bx.c_str(), dirfd, by.c_str(), RENAME_EXCHANGE) == 0);
    CHECK_THROWS_AS(t.tree.lookup(a, t.root, "x"), cmkfs::IntegrityError);
    CHECK(t.nodes.uses() == before);
}
