// Directories (store/directory.h): ids, atomic creation, removal, names.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "format/name_codec.h"
#include "store/directory.h"
#include "store/keyring.h"
#include "support/process.h"
#include "util/errors.h"
#include "util/file_io.h"
#include "util/unique_fd.h"

namespace format = cmkfs::format;
namespace store = cmkfs::store;
namespace fs = std::filesystem;

namespace {

struct Fixture {
    cmkfs::test::TempDir dir;
    cmkfs::UniqueFd fd{::open(dir.path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
    format::VolumeKeys keys{format::generate_volume_key()};
    format::DirId id{};
    format::NameCodec codec{&keys.names()};
    store::Binding binding{format::kFormatVersion, keys};
    store::Directory directory{fd.get(), id, codec, binding};
    Fixture() {
        REQUIRE(fd);
        id.fill(0x33);
        store::write_dir_id(fd.get(), binding, id, format::Place::root());
    }
    std::vector<std::string> entries(const std::string &sub = {}) const {
        std::vector<std::string> out;
        for (const auto &e : fs::directory_iterator(sub.empty() ? dir.path() : dir / sub))
            out.push_back(e.path().filename().string());
        std::sort(out.begin(), out.end());
        return out;
    }
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

TEST_CASE("directory ids: id and binding in .cmkfs.dirid, read-only", "[store][directory]") {
    Fixture f;
    CHECK(store::read_dir_id(f.fd.get(), f.binding, format::Place::root(), "root").id == f.id);
    CHECK(store::read_dir_id(f.fd.get(), "root") == f.id);
    struct stat st {};
    REQUIRE(::stat((f.dir / ".cmkfs.dirid").c_str(), &st) == 0);
    CHECK(st.st_size == 48);
    CHECK((st.st_mode & 0777) == 0444);
    // Never replaced in place.
    CHECK(errno_of([&] { store::write_dir_id(f.fd.get(), f.binding, f.id, format::Place::root()); }) == EEXIST);
}

TEST_CASE("version-1 directory ids: 16 raw bytes, no binding", "[store][directory]") {
    cmkfs::test::TempDir dir;
    cmkfs::UniqueFd fd(::open(dir.path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    format::VolumeKeys keys{format::generate_volume_key()};
    store::Binding v1{1, keys};
    format::DirId id{};
    id.fill(0x55);
    store::write_dir_id(fd.get(), v1, id, format::Place::root());
    CHECK(fs::file_size(dir / ".cmkfs.dirid") == 16);
    format::DirId parent{};
    CHECK(store::read_dir_id(fd.get(), v1, format::Place::in(parent, "anywhere"), "d").id == id);
}

TEST_CASE("missing or malformed directory ids are integrity errors", "[store][directory]") {
    cmkfs::test::TempDir dir;
    cmkfs::UniqueFd fd(::open(dir.path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    format::VolumeKeys keys{format::generate_volume_key()};
    store::Binding binding{format::kFormatVersion, keys};
    CHECK_THROWS_AS(store::read_dir_id(fd.get(), "d"), cmkfs::IntegrityError);
    CHECK_THROWS_AS(store::read_dir_id(fd.get(), binding, format::Place::root(), "d"), cmkfs::IntegrityError);
    cmkfs::test::write_file(dir / ".cmkfs.dirid", "short");
    CHECK_THROWS_WITH(store::read_dir_id(fd.get(), "dir-label"), Catch::Contains("dir-label"));
    CHECK_THROWS_WITH(store::read_dir_id(fd.get(), binding, format::Place::root(), "dir-label"),
                      Catch::Contains("dir-label") && Catch::Contains("malformed"));
}

TEST_CASE("make_subdirectory creates the directory with its id in one step", "[store][directory]") {
    Fixture f;
    auto name = f.directory.encode("child");
    f.directory.make_subdirectory(name, "child", 0750);
    // No temporaries left. Sorted like entries(): the encrypted name is random
    // and sorts before ".cmkfs.dirid" when it starts with '-' (1 run in 64).
    std::vector<std::string> expected{".cmkfs.dirid", name.name};
    std::sort(expected.begin(), expected.end());
    CHECK(f.entries() == expected);
    struct stat st {};
    REQUIRE(::stat((f.dir / name.name).c_str(), &st) == 0);
    CHECK(S_ISDIR(st.st_mode));
    CHECK((st.st_mode & 07777) == 0750);
    cmkfs::UniqueFd sub(::open((f.dir / name.name).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    auto child_id = store::read_dir_id(sub.get(), f.binding, f.directory.place_of("child"), "child").id;
    CHECK_THROWS_AS(store::read_dir_id(sub.get(), f.binding, f.directory.place_of("other"), "child"),
                    cmkfs::IntegrityError);
    CHECK(child_id != f.id);
    CHECK(f.entries(name.name) == std::vector<std::string>{".cmkfs.dirid"});

    // A second directory gets another id.
    auto other = f.directory.encode("other");
    f.directory.make_subdirectory(other, "other", 0700);
    cmkfs::UniqueFd sub2(::open((f.dir / other.name).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    CHECK(store::read_dir_id(sub2.get(), "other") != child_id);

    // An existing name: EEXIST, and nothing half-made is left behind.
    CHECK(errno_of([&] { f.directory.make_subdirectory(name, "child", 0700); }) == EEXIST);
    CHECK(f.entries().size() == 3);
}

TEST_CASE("long directory names get their sidecar", "[store][directory]") {
    Fixture f;
    const std::string plain(240, 'D');
    auto name = f.directory.encode(plain);
    REQUIRE(name.is_long());
    f.directory.make_subdirectory(name, plain, 0700);
    CHECK(cmkfs::test::read_file(f.dir / name.sidecar) == name.full);
    CHECK(f.directory.decode(name.name) == plain);
    CHECK_FALSE(f.directory.decode(name.sidecar));
    f.directory.remove_subdirectory(name);
    CHECK(f.entries() == std::vector<std::string>{".cmkfs.dirid"});
}

TEST_CASE("swapped long-name sidecars hide both entries", "[store][directory]") {
    Fixture f;
    auto a = f.directory.encode(std::string(220, 'a'));
    auto b = f.directory.encode(std::string(220, 'b'));
    f.directory.write_sidecar(a);
    f.directory.write_sidecar(b);
    cmkfs::test::write_file(f.dir / a.name, "A");
    cmkfs::test::write_file(f.dir / b.name, "B");
    CHECK(f.directory.decode(a.name) == std::string(220, 'a'));
    fs::remove(f.dir / a.sidecar);
    fs::remove(f.dir / b.sidecar);
    cmkfs::test::write_file(f.dir / a.sidecar, b.full);
    cmkfs::test::write_file(f.dir / b.sidecar, a.full);
    CHECK_FALSE(f.directory.decode(a.name));
    CHECK_FALSE(f.directory.decode(b.name));
}

TEST_CASE("a crashed sidecar temporary is bookkeeping, not an entry", "[store][directory]") {
    Fixture f;
    auto a = f.directory.encode(std::string(220, 'a'));
    CHECK(store::Directory::is_bookkeeping(a.sidecar + ".tmp.123.0"));
    CHECK_FALSE(f.directory.decode(a.sidecar + ".tmp.123.0"));
}

TEST_CASE("remove_subdirectory refuses a non-empty directory", "[store][directory]") {
    Fixture f;
    auto name = f.directory.encode("full");
    f.directory.make_subdirectory(name, "full", 0700);
    cmkfs::test::write_file(f.dir / name.name + "/somefile", "x");
    CHECK(errno_of([&] { f.directory.remove_subdirectory(name); }) == ENOTEMPTY);
    // Untouched: still there with its id.
    cmkfs::UniqueFd sub(::open((f.dir / name.name).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    CHECK_NOTHROW(store::read_dir_id(sub.get(), "full"));

    fs::remove(f.dir / name.name + "/somefile");
    f.directory.remove_subdirectory(name);
    CHECK_FALSE(fs::exists(f.dir / name.name));
    CHECK(errno_of([&] { f.directory.remove_subdirectory(name); }) == ENOENT);
}

TEST_CASE("decode hides bookkeeping and undecodable entries", "[store][directory]") {
    Fixture f;
    auto name = f.directory.encode("visible");
    CHECK(f.directory.decode(name.name) == "visible");
    CHECK_FALSE(f.directory.decode(".cmkfs.dirid"));
    CHECK_FALSE(f.directory.decode(".cmkfs.volume"));
    CHECK_FALSE(f.directory.decode(".cmkfs.mkdir.0011223344556677"));
    CHECK_FALSE(f.directory.decode("."));
    CHECK_FALSE(f.directory.decode(".."));
    CHECK_FALSE(f.directory.decode("garbage"));
    CHECK_FALSE(f.directory.decode(".cmkfs.long.missingsidecar"));
    CHECK(store::Directory::is_bookkeeping(".cmkfs.dirid"));
    CHECK(store::Directory::is_bookkeeping(".cmkfs.long.abc.name"));
    CHECK_FALSE(store::Directory::is_bookkeeping(name.name));
    CHECK_FALSE(store::Directory::is_bookkeeping(f.directory.encode(std::string(200, 'x')).name));
}
