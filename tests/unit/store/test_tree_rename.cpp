// store::Tree::rename without a mount: every flag, format 2's restrictions,
// and a crash or a failure between its steps, after which the store is
// consistent: the directory is found under one of its names with its id,
// no rebind is left half done once it is read, no temporary is visible.
#include <sys/stat.h>

#include "tree_fixture.h"

namespace store = cmkfs::store;
namespace format = cmkfs::format;
using cmkfs::test::Crash;
using cmkfs::test::errno_of;
using cmkfs::test::long_name;
using cmkfs::test::TreeStore;

namespace {

// root/a/d (a directory holding "f"), root/b.
struct Moves : TreeStore {
    explicit Moves(uint32_t version = format::kFormatVersion) : TreeStore(version) {
        const auto acc = access();
        a = &tree.mkdir(acc, root, "a", 0755, {}).node;
        b = &tree.mkdir(acc, root, "b", 0755, {}).node;
        store::Node &dnode = tree.mkdir(acc, *a, "d", 0755, {}).node;
        tree.create(acc, dnode, "f", 0644, 0, {});
        d_id = *dnode.dir_id;
    }
    // Looks `name` up in `parent` as a fresh mount would (a new node table
    // and tree: nothing remembered) and lists it.
    std::vector<std::string> fresh_list(store::Node &parent, const std::string &name) {
        cmkfs::test::TestNodes fresh_nodes;
        store::Tree fresh(version, false, fresh_nodes);
        const auto acc = access();
        auto entry = fresh.lookup(acc, parent, name);
        REQUIRE(entry.node.dir_id);
        CHECK(*entry.node.dir_id == d_id);
        const store::Tree::Names names(fresh, acc, entry.node);
        store::DirStream stream(entry.node);
        std::vector<std::string> out;
        while (dirent *e = stream.next())
            if (auto n = names.dir.decode(e->d_name)) out.push_back(*n);
        return out;
    }
    bool has_next(store::Node &parent, const std::string &name) {
        return exists_in(parent, backing(parent, name).name + "/" + std::string(format::kDirIdNextName));
    }
    store::Node *a = nullptr, *b = nullptr;
    format::DirId d_id{};
};

}  // namespace

TEST_CASE("Tree renames a directory across directories, keeping its id", "[store][tree][rename]") {
    Moves t;
    const auto acc = t.access();
    t.tree.rename(acc, *t.a, "d", *t.b, "moved", 0);
    CHECK(t.list(*t.a).empty());
    CHECK_FALSE(t.has_next(*t.b, "moved"));  // finished by the rename itself, not by a reader
    CHECK(t.fresh_list(*t.b, "moved") == std::vector<std::string>{"f"});
}

TEST_CASE("a crash between the steps of a directory rename leaves the store consistent", "[store][tree][rename][crash]") {
    Moves t;
    const auto acc = t.access();
    SECTION("before the rebind") {
        t.crash_at("rename", "bind");
        CHECK_THROWS_AS(t.tree.rename(acc, *t.a, "d", *t.b, "moved", 0), Crash);
        CHECK(t.fresh_list(*t.a, "d") == std::vector<std::string>{"f"});
        CHECK_FALSE(t.has_next(*t.a, "d"));
    }
    SECTION("after the rebind, before the backing rename") {
        t.crash_at("rename", "rename", [&] { CHECK(t.has_next(*t.a, "d")); });
        CHECK_THROWS_AS(t.tree.rename(acc, *t.a, "d", *t.b, "moved", 0), Crash);
        CHECK(t.list(*t.b).empty());
        CHECK(t.fresh_list(*t.a, "d") == std::vector<std::string>{"f"});
        // The next rename starts over from the old place.
        t.tree.set_step_hook({});
        t.tree.rename(acc, *t.a, "d", *t.b, "moved", 0);
        CHECK(t.fresh_list(*t.b, "moved") == std::vector<std::string>{"f"});
        CHECK_FALSE(t.has_next(*t.b, "moved"));
    }
    SECTION("after the backing rename, before the id files are settled") {
        t.crash_at("rename", "finish");
        CHECK_THROWS_AS(t.tree.rename(acc, *t.a, "d", *t.b, "moved", 0), Crash);
        CHECK(t.list(*t.a).empty());
        CHECK(t.has_next(*t.b, "moved"));
        // A reader at the new place finishes the protocol.
        CHECK(t.fresh_list(*t.b, "moved") == std::vector<std::string>{"f"});
        CHECK_FALSE(t.has_next(*t.b, "moved"));
    }
    t.check_names_consistent(*t.a);
    t.check_names_consistent(*t.b);
}

TEST_CASE("a directory rename that fails puts the directory id back", "[store][tree][rename]") {
    Moves t;
    const auto acc = t.access();
    t.tree.create(acc, *t.b, "taken", 0644, 0, {});
    // The rebind happens before the backing rename, which then fails.
    bool rebound = false;
    t.on_step("rename", "rename", [&] { rebound = t.has_next(*t.a, "d"); });
    CHECK(errno_of([&] { t.tree.rename(acc, *t.a, "d", *t.b, "taken", RENAME_NOREPLACE); }) == EEXIST);
    CHECK(rebound);
    CHECK_FALSE(t.has_next(*t.a, "d"));
    CHECK(t.fresh_list(*t.a, "d") == std::vector<std::string>{"f"});
}

TEST_CASE("a long-name rename writes the new sidecar first and removes the old one last", "[store][tree][rename][crash]") {
    Moves t;
    const auto acc = t.access();
    const std::string name = long_name('r');
    t.tree.create(acc, *t.a, "short", 0644, 0, {});
    const auto nb = t.backing(*t.b, name);
    REQUIRE(nb.is_long());
    t.crash_at("rename", "rename", [&] { CHECK(t.exists_in(*t.b, nb.sidecar)); });
    CHECK_THROWS_AS(t.tree.rename(acc, *t.a, "short", *t.b, name, 0), Crash);
    CHECK(t.list(*t.a) == std::vector<std::string>{"d", "short"});
    CHECK(t.list(*t.b).empty());
    t.tree.set_step_hook({});
    t.tree.rename(acc, *t.a, "short", *t.b, name, 0);
    CHECK(t.list(*t.b) == std::vector<std::string>{name});
    t.tree.rename(acc, *t.b, name, *t.a, "back", 0);
    CHECK_FALSE(t.exists_in(*t.b, nb.sidecar));
    t.check_names_consistent(*t.a);
    t.check_names_consistent(*t.b);
}

TEST_CASE("Tree rename flags", "[store][tree][rename]") {
    Moves t;
    const auto acc = t.access();
    t.tree.create(acc, *t.a, "x", 0644, 0, {});
    t.tree.create(acc, *t.a, "y", 0644, 0, {});
    SECTION("NOREPLACE refuses an existing name") {
        CHECK(errno_of([&] { t.tree.rename(acc, *t.a, "x", *t.a, "y", RENAME_NOREPLACE); }) == EEXIST);
        CHECK(t.list(*t.a) == std::vector<std::string>{"d", "x", "y"});
    }
    SECTION("EXCHANGE of two directories rebinds both") {
        t.tree.mkdir(acc, *t.b, "e", 0755, {});
        t.tree.rename(acc, *t.a, "d", *t.b, "e", RENAME_EXCHANGE);
        CHECK(t.fresh_list(*t.b, "e") == std::vector<std::string>{"f"});
        cmkfs::test::TestNodes fresh_nodes;
        store::Tree fresh(t.version, false, fresh_nodes);
        CHECK(fresh.lookup(acc, *t.a, "d").node.dir_id);  // verifies for its new place
    }
    SECTION("replacing a file") {
        t.tree.rename(acc, *t.a, "x", *t.a, "y", 0);
        CHECK(t.list(*t.a) == std::vector<std::string>{"d", "y"});
    }
    SECTION("unknown flags") {
        CHECK(errno_of([&] { t.tree.rename(acc, *t.a, "x", *t.a, "z", RENAME_WHITEOUT); }) == EINVAL);
    }
}

TEST_CASE("Tree rename of a symlink re-seals it and re-points its node", "[store][tree][rename]") {
    SECTION("format 2") {
        Moves t;
        const auto acc = t.access();
        store::Node &link = t.tree.symlink(acc, *t.a, "l", "../target", {}).node;
        t.tree.create(acc, *t.b, "other", 0644, 0, {});
        CHECK(errno_of([&] { t.tree.rename(acc, *t.a, "l", *t.b, "other", RENAME_EXCHANGE); }) == EINVAL);
        t.tree.rename(acc, *t.a, "l", *t.b, "moved", 0);
        struct stat st {};
        REQUIRE(::fstatat(t.b->fd.get(), t.backing(*t.b, "moved").name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0);
        CHECK(link.ino == st.st_ino);
        CHECK(link.place == format::Place::in(*t.b->dir_id, "moved"));
        CHECK(t.tree.readlink(acc, link) == "../target");
        CHECK(t.list(*t.a) == std::vector<std::string>{"d"});
    }
    SECTION("format 1 exchanges symlinks in one step") {
        Moves t(1);
        const auto acc = t.access();
        t.tree.symlink(acc, *t.a, "l", "../target", {});
        t.tree.create(acc, *t.a, "other", 0644, 0, {});
        t.tree.rename(acc, *t.a, "l", *t.a, "other", RENAME_EXCHANGE);
        CHECK(t.tree.readlink(acc, t.tree.lookup(acc, *t.a, "other").node) == "../target");
    }
}
