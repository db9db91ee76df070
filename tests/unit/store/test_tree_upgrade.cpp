// The re-encryption walk (store/reencrypt_tree.h) writing format v2 from a
// v1 tree: under a new key (what `cmkfs reencrypt` does) and under the same
// key (only the format changes, as an upgrade in place would do). No FUSE.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <climits>
#include <filesystem>

#include "format/name_codec.h"
#include "store/dir_binding.h"
#include "store/directory.h"
#include "store/reencrypt_tree.h"
#include "support/process.h"
#include "util/unique_fd.h"

namespace format = cmkfs::format;
namespace store = cmkfs::store;
namespace fs = std::filesystem;

namespace {

cmkfs::UniqueFd open_dir(const fs::path &p) {
    cmkfs::UniqueFd fd(::open(p.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    REQUIRE(fd);
    return fd;
}

std::string target_of(const fs::path &p) { return fs::read_symlink(p).string(); }

}  // namespace

TEST_CASE("the re-encryption walk writes v2 symlinks and directory ids", "[store][reencrypt][place]") {
    const bool same_key = GENERATE(false, true);
    INFO((same_key ? "same key" : "new key"));
    cmkfs::test::TempDir dir;
    cmkfs::UniqueFd root_fd = open_dir(dir.path());
    format::VolumeKeys old_keys{format::generate_volume_key()};
    format::VolumeKeys other_keys{format::generate_volume_key()};
    const format::VolumeKeys &new_keys = same_key ? old_keys : other_keys;
    format::NameCodec old_codec{&old_keys.names()}, new_codec{&new_keys.names()};
    const store::Binding v1{1, old_keys}, v2{2, new_keys};

    // A version-1 tree: root / sub / link.
    format::DirId root_id{};
    root_id.fill(0x21);
    store::write_dir_id(root_fd.get(), v1, root_id, format::Place::root());
    store::Directory root(root_fd.get(), root_id, old_codec, v1);
    root.make_subdirectory(root.encode("sub"), "sub", 0755);
    cmkfs::UniqueFd sub_fd = open_dir(fs::path(dir.path()) / root.encode("sub").name);
    const format::DirId sub_id = store::read_dir_id(sub_fd.get(), v1, root.place_of("sub"), "sub").id;
    store::Directory sub(sub_fd.get(), sub_id, old_codec, v1);
    REQUIRE(::symlinkat(sub.seal_symlink("link", "../t").c_str(), sub_fd.get(), sub.encode("link").name.c_str()) == 0);

    store::TreeConverter converter(root_fd.get(), dir.path(), false, {old_keys, new_keys, 1, 2},
                                   [](const store::TreeCounts &) {});
    converter.run(root_id);
    converter.remove_staging();

    CHECK(store::read_dir_id(root_fd.get(), v2, format::Place::root(), "root").id == root_id);
    store::Directory new_root(root_fd.get(), root_id, new_codec, v2);
    cmkfs::UniqueFd new_sub_fd = open_dir(fs::path(dir.path()) / new_root.encode("sub").name);
    CHECK(store::read_dir_id(new_sub_fd.get(), v2, new_root.place_of("sub"), "sub").id == sub_id);
    store::Directory new_sub(new_sub_fd.get(), sub_id, new_codec, v2);
    const fs::path link = fs::path(dir.path()) / new_root.encode("sub").name / new_sub.encode("link").name;
    CHECK(new_sub.open_symlink("link", target_of(link)) == "../t");
    CHECK_FALSE(new_sub.open_symlink("other", target_of(link)));
    CHECK(converter.counts().converted >= 1);

    // A second run finds nothing left to do.
    store::TreeConverter again(root_fd.get(), dir.path(), false, {new_keys, new_keys, 2, 2},
                               [](const store::TreeCounts &) {});
    again.run(root_id);
    CHECK(again.counts().converted == 0);
}
