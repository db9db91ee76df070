// The shortest path through the product: init, mount, write, read back,
// unmount, remount, read again; the backing directory holds no plaintext.
#include <catch2/catch.hpp>

#include <filesystem>

#include "support/process.h"

using namespace cmkfs::test;

namespace {
bool tree_contains(const std::string &root, const std::string &needle) {
    for (const auto &e : std::filesystem::recursive_directory_iterator(root)) {
        if (e.path().filename().string().find(needle) != std::string::npos) return true;
        if (e.is_regular_file() && read_file(e.path()).find(needle) != std::string::npos) return true;
    }
    return false;
}
}  // namespace

TEST_CASE("a store survives unmount and remount, and its backing holds no plaintext") {
    MountedStore store;
    const std::string secret = "the quick brown fox jumps over the lazy dog";
    std::filesystem::create_directory(store.path("dir-with-name"));
    write_file(store.path("dir-with-name/note-visible.txt"), secret);
    REQUIRE(read_file(store.path("dir-with-name/note-visible.txt")) == secret);

    store.unmount();
    CHECK_FALSE(tree_contains(store.backing(), "quick brown"));
    CHECK_FALSE(tree_contains(store.backing(), "note-visible"));
    CHECK_FALSE(tree_contains(store.backing(), "dir-with-name"));

    store.mount();
    CHECK(read_file(store.path("dir-with-name/note-visible.txt")) == secret);
}
