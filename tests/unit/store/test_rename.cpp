// Renames that keep entries bound to their place (store/rename.h), on plain
// temporary directories (no FUSE), including crashes between the steps of a
// directory rename, simulated by a step hook that throws.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <climits>
#include <filesystem>
#include <memory>

#include "format/long_target.h"
#include "format/name_codec.h"
#include "store/dir_binding.h"
#include "store/directory.h"
#include "store/rename.h"
#include "support/process.h"
#include "util/errors.h"
#include "util/unique_fd.h"

namespace format = cmkfs::format;
namespace store = cmkfs::store;
namespace fs = std::filesystem;

namespace {

struct Crash : std::runtime_error {
    Crash() : std::runtime_error("simulated crash") {}
};

store::RenameStepHook crash_at(std::string step) {
    return [step](const char *what) {
        if (step == what) throw Crash();
    };
}

cmkfs::UniqueFd open_dir(const fs::path &p) {
    cmkfs::UniqueFd fd(::open(p.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    REQUIRE(fd);
    return fd;
}

// A root with subdirectories "a" and "b", in a store of the given format version.
struct Tree {
    explicit Tree(uint32_t version = format::kFormatVersion) : binding{version, keys} {
        root_id.fill(0x11);
        store::write_dir_id(root_fd.get(), binding, root_id, format::Place::root());
        root.make_subdirectory(root.encode("a"), "a", 0755);
        root.make_subdirectory(root.encode("b"), "b", 0755);
        a_fd = open_dir(backing("a"));
        b_fd = open_dir(backing("b"));
        a_id = store::read_dir_id(a_fd.get(), binding, root.place_of("a"), "a").id;
        b_id = store::read_dir_id(b_fd.get(), binding, root.place_of("b"), "b").id;
        a = std::make_unique<store::Directory>(a_fd.get(), a_id, codec, binding);
        b = std::make_unique<store::Directory>(b_fd.get(), b_id, codec, binding);
    }
    fs::path backing(const std::string &name) const { return fs::path(dir.path()) / root.encode(name).name; }
    fs::path in(const store::Directory &d, const std::string &name) const {
        return fs::path(d.fd() == a_fd.get() ? backing("a") : backing("b")) / d.encode(name).name;
    }
    bool exists(const fs::path &p) const {
        struct stat st {};
        return ::lstat(p.c_str(), &st) == 0;
    }
    // The directory `sub` of `parent`, read for its place there.
    store::DirIdRead read_sub(const store::Directory &parent, const std::string &name, const std::string &at) const {
        cmkfs::UniqueFd fd = open_dir(in(parent, at));
        return store::read_dir_id(fd.get(), binding, parent.place_of(name), name);
    }
    std::string readlink_at(const store::Directory &d, const std::string &name) const {
        return d.read_symlink(d.fd(), d.encode(name).name, name, name);
    }

    cmkfs::test::TempDir dir;
    cmkfs::UniqueFd root_fd = open_dir(dir.path());
    format::VolumeKeys keys{format::generate_volume_key()};
    format::NameCodec codec{&keys.names()};
    store::Binding binding;
    format::DirId root_id{}, a_id{}, b_id{};
    store::Directory root{root_fd.get(), root_id, codec, binding};
    cmkfs::UniqueFd a_fd, b_fd;
    std::unique_ptr<store::Directory> a, b;
};

int errno_of(const std::function<void()> &fn) {
    try {
        fn();
    } catch (const cmkfs::Error &e) {
        return e.error_number();
    }
    return 0;
}

}  // namespace

TEST_CASE("a renamed directory keeps its id, bound to its new place", "[store][rename]") {
    Tree t;
    t.a->make_subdirectory(t.a->encode("d"), "d", 0755);
    const auto id = t.read_sub(*t.a, "d", "d").id;
    store::rename_entry(*t.a, "d", *t.b, "moved", 0);
    CHECK_FALSE(t.exists(t.in(*t.a, "d")));
    cmkfs::UniqueFd fd = open_dir(t.in(*t.b, "moved"));
    const auto read = store::read_dir_id(fd.get(), t.binding, t.b->place_of("moved"), "moved");
    CHECK(read.id == id);
    CHECK_FALSE(read.pending);
    CHECK_FALSE(t.exists(t.in(*t.b, "moved") / ".cmkfs.dirid.next"));
    // Not at its old place, nor under another name.
    CHECK_THROWS_WITH(store::read_dir_id(fd.get(), t.binding, t.a->place_of("d"), "old"),
                      Catch::Contains("another place"));
    CHECK_THROWS_AS(store::read_dir_id(fd.get(), t.binding, t.b->place_of("d"), "x"), cmkfs::IntegrityError);
}

TEST_CASE("a crash between the steps of a directory rename leaves it readable", "[store][rename]") {
    Tree t;
    t.a->make_subdirectory(t.a->encode("d"), "d", 0755);
    const auto id = t.read_sub(*t.a, "d", "d").id;

    SECTION("after `.next` is written, before the backing rename") {
        CHECK_THROWS_AS(store::rename_entry(*t.a, "d", *t.b, "moved", 0, crash_at("rename")), Crash);
        CHECK(t.exists(t.in(*t.a, "d") / ".cmkfs.dirid.next"));  // stale: bound to the place never reached
        const auto read = t.read_sub(*t.a, "d", "d");
        CHECK(read.id == id);
        CHECK_FALSE(read.pending);
        // The next rename starts over.
        store::rename_entry(*t.a, "d", *t.b, "moved", 0);
        CHECK(t.read_sub(*t.b, "moved", "moved").id == id);
    }
    SECTION("after the backing rename, before `.next` replaces `.cmkfs.dirid`") {
        CHECK_THROWS_AS(store::rename_entry(*t.a, "d", *t.b, "moved", 0, crash_at("finish")), Crash);
        CHECK_FALSE(t.exists(t.in(*t.a, "d")));
        const auto read = t.read_sub(*t.b, "moved", "moved");
        CHECK(read.id == id);
        CHECK(read.pending);  // only `.next` verifies here
        // A reader finishes the protocol.
        cmkfs::UniqueFd fd = open_dir(t.in(*t.b, "moved"));
        CHECK(store::settle_dir_id(fd.get(), t.binding, t.b->place_of("moved"), "moved") == id);
        CHECK_FALSE(t.read_sub(*t.b, "moved", "moved").pending);
        CHECK_FALSE(t.exists(t.in(*t.b, "moved") / ".cmkfs.dirid.next"));
    }
    SECTION("an interrupted rename is finished before the next one starts") {
        CHECK_THROWS_AS(store::rename_entry(*t.a, "d", *t.b, "moved", 0, crash_at("finish")), Crash);
        store::rename_entry(*t.b, "moved", *t.a, "back", 0);
        const auto read = t.read_sub(*t.a, "back", "back");
        CHECK(read.id == id);
        CHECK_FALSE(read.pending);
    }
}

TEST_CASE("RENAME_EXCHANGE of two directories rebinds both", "[store][rename]") {
    Tree t;
    store::rename_entry(t.root, "a", t.root, "b", RENAME_EXCHANGE);
    cmkfs::UniqueFd now_b = open_dir(t.backing("b"));
    cmkfs::UniqueFd now_a = open_dir(t.backing("a"));
    CHECK(store::read_dir_id(now_b.get(), t.binding, t.root.place_of("b"), "b").id == t.a_id);
    CHECK(store::read_dir_id(now_a.get(), t.binding, t.root.place_of("a"), "a").id == t.b_id);
}

TEST_CASE("a renamed symlink is re-sealed for its new place", "[store][rename]") {
    Tree t;
    const std::string sealed = t.a->seal_symlink("l", "../target");
    REQUIRE(::symlinkat(sealed.c_str(), t.a_fd.get(), t.a->encode("l").name.c_str()) == 0);
    struct stat before {};
    REQUIRE(::lstat(t.in(*t.a, "l").c_str(), &before) == 0);

    SECTION("across directories") {
        const auto outcome = store::rename_entry(*t.a, "l", *t.b, "moved", 0);
        REQUIRE(outcome.resealed_symlink);
        CHECK(outcome.resealed_symlink->st_ino == before.st_ino);
        CHECK_FALSE(t.exists(t.in(*t.a, "l")));
        CHECK(t.readlink_at(*t.b, "moved") == "../target");
        struct stat after {};
        REQUIRE(::lstat(t.in(*t.b, "moved").c_str(), &after) == 0);
        CHECK(after.st_mtim.tv_sec == before.st_mtim.tv_sec);
        CHECK(after.st_mtim.tv_nsec == before.st_mtim.tv_nsec);
        // The old ciphertext under the new name does not open: it was re-sealed.
        CHECK_FALSE(t.b->open_symlink("moved", sealed));
    }
    SECTION("over an existing file, and NOREPLACE") {
        cmkfs::test::write_file(t.in(*t.a, "f"), "x");
        CHECK(errno_of([&] { store::rename_entry(*t.a, "l", *t.a, "f", RENAME_NOREPLACE); }) == EEXIST);
        CHECK(t.readlink_at(*t.a, "l") == "../target");
        store::rename_entry(*t.a, "l", *t.a, "f", 0);
        CHECK(t.readlink_at(*t.a, "f") == "../target");
        CHECK_FALSE(t.exists(t.in(*t.a, "l")));
    }
    SECTION("a long name") {
        const std::string long_name(230, 'L');
        store::rename_entry(*t.a, "l", *t.a, long_name, 0);
        CHECK(t.readlink_at(*t.a, long_name) == "../target");
        CHECK(t.exists(fs::path(t.backing("a")) / t.a->encode(long_name).sidecar));
        store::rename_entry(*t.a, long_name, *t.b, "short", 0);
        CHECK_FALSE(t.exists(fs::path(t.backing("a")) / t.a->encode(long_name).sidecar));
        CHECK(t.readlink_at(*t.b, "short") == "../target");
    }
    SECTION("a crash before the source is removed leaves both names valid") {
        CHECK_THROWS_AS(store::rename_entry(*t.a, "l", *t.b, "moved", 0, crash_at("remove-source")), Crash);
        CHECK(t.readlink_at(*t.a, "l") == "../target");
        CHECK(t.readlink_at(*t.b, "moved") == "../target");
    }
    SECTION("RENAME_EXCHANGE with a symlink is refused, nothing changes") {
        cmkfs::test::write_file(t.in(*t.a, "f"), "x");
        CHECK(errno_of([&] { store::rename_entry(*t.a, "l", *t.a, "f", RENAME_EXCHANGE); }) == EINVAL);
        CHECK(errno_of([&] { store::rename_entry(*t.a, "f", *t.a, "l", RENAME_EXCHANGE); }) == EINVAL);
        CHECK(t.readlink_at(*t.a, "l") == "../target");
    }
    // Nothing of the protocol is left behind.
    for (const auto &e : fs::directory_iterator(t.backing("b")))
        CHECK(e.path().filename().string().rfind(".cmkfs.rename.", 0) == std::string::npos);
}

TEST_CASE("version-1 stores rename with one backing rename, as before", "[store][rename]") {
    Tree t(1);
    const std::string sealed = t.a->seal_symlink("l", "t");
    REQUIRE(::symlinkat(sealed.c_str(), t.a_fd.get(), t.a->encode("l").name.c_str()) == 0);
    struct stat before {};
    REQUIRE(::lstat(t.in(*t.a, "l").c_str(), &before) == 0);
    const auto outcome = store::rename_entry(*t.a, "l", *t.b, "m", 0);
    CHECK_FALSE(outcome.resealed_symlink);
    struct stat after {};
    REQUIRE(::lstat(t.in(*t.b, "m").c_str(), &after) == 0);
    CHECK(after.st_ino == before.st_ino);  // the same backing symlink
    CHECK(t.readlink_at(*t.b, "m") == "t");
    store::rename_entry(t.root, "a", t.root, "c", 0);
    CHECK(fs::file_size(t.backing("c") / ".cmkfs.dirid") == 16);
    CHECK_FALSE(t.exists(t.backing("c") / ".cmkfs.dirid.next"));
}

namespace {
// The long-target sidecars (format 3, FORMAT.md §6.2) in a backing directory.
size_t target_sidecars(const fs::path &dir) {
    size_t n = 0;
    for (const auto &e : fs::directory_iterator(dir))
        n += format::is_long_target_sidecar(e.path().filename().string()) ? 1 : 0;
    return n;
}
}  // namespace

TEST_CASE("a long symlink target moves to a new sidecar with its link, crash or not", "[store][rename][long-target]") {
    Tree t;
    const std::string target(4000, 't');
    t.a->make_symlink(t.a->encode("l").name, "l", target);
    REQUIRE(target_sidecars(t.backing("a")) == 1);
    CHECK(t.readlink_at(*t.a, "l") == target);

    SECTION("a crash before the backing rename leaves the source alone and no new sidecar") {
        CHECK_THROWS_AS(store::rename_entry(*t.a, "l", *t.b, "m", 0, crash_at("rename")), Crash);
        CHECK(t.readlink_at(*t.a, "l") == target);
        CHECK(target_sidecars(t.backing("a")) == 1);
        CHECK(target_sidecars(t.backing("b")) == 0);
        CHECK_FALSE(t.exists(t.in(*t.b, "m")));
    }
    SECTION("a crash before the source goes leaves both names, each valid at its place") {
        CHECK_THROWS_AS(store::rename_entry(*t.a, "l", *t.b, "m", 0, crash_at("remove-source")), Crash);
        CHECK(t.readlink_at(*t.a, "l") == target);
        CHECK(t.readlink_at(*t.b, "m") == target);
    }
    SECTION("done: one sidecar, beside the new name, bound to it") {
        store::rename_entry(*t.a, "l", *t.b, "m", 0);
        CHECK(target_sidecars(t.backing("a")) == 0);
        CHECK(target_sidecars(t.backing("b")) == 1);
        CHECK(t.readlink_at(*t.b, "m") == target);
        // The marker read at another place (as if the backing symlink were moved there) fails.
        const std::string marker = fs::read_symlink(t.in(*t.b, "m")).string();
        CHECK_FALSE(t.b->open_symlink("other", marker));
    }
    SECTION("over another long link: its sidecar goes too") {
        t.b->make_symlink(t.b->encode("m").name, "m", std::string(3500, 'u'));
        store::rename_entry(*t.a, "l", *t.b, "m", 0);
        CHECK(target_sidecars(t.backing("b")) == 1);
        CHECK(t.readlink_at(*t.b, "m") == target);
    }
}

TEST_CASE("format 2 refuses a target too long for a backing symlink", "[store][long-target]") {
    Tree t(2);
    CHECK(errno_of([&] { t.a->make_symlink(t.a->encode("l").name, "l", std::string(3100, 't')); }) == ENAMETOOLONG);
    CHECK(errno_of([&] { t.a->make_symlink(t.a->encode("s").name, "s", std::string(3000, 't')); }) == 0);
    CHECK(target_sidecars(t.backing("a")) == 0);
}
