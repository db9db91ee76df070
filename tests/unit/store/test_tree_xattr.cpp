// store::Tree's extended attributes and contents without a mount: user.*
// only, values bound to their name and (format 2) their owner; fallocate
// and SEEK_DATA/SEEK_HOLE in plaintext offsets.
#include <sys/stat.h>
#include <sys/xattr.h>

#include "format/file_layout.h"
#include "tree_fixture.h"

namespace store = cmkfs::store;
namespace format = cmkfs::format;
using cmkfs::test::errno_of;
using cmkfs::test::TreeStore;

TEST_CASE("Tree sets, gets, lists and removes user.* xattrs", "[store][tree][xattr]") {
    TreeStore t;
    const auto acc = t.access();
    store::Node &file = t.tree.create(acc, t.root, "f", 0644, 0, {}).entry.node;
    store::Node &dir = t.tree.mkdir(acc, t.root, "d", 0755, {}).node;
    for (store::Node *node : {&file, &dir}) {
        t.tree.setxattr(t.keyring, *node, "user.colour", "blue", 0);
        t.tree.setxattr(t.keyring, *node, "user.size", "large", 0);
        CHECK(t.tree.getxattr(t.keyring, *node, "user.colour") == "blue");
        CHECK(t.tree.getxattr_size(t.keyring, *node, "user.colour") == 4);
        CHECK(t.tree.listxattr(t.keyring, *node) == std::string("user.colour\0user.size\0", 22));
        CHECK(errno_of([&] { t.tree.setxattr(t.keyring, *node, "user.colour", "red", XATTR_CREATE); }) == EEXIST);
        t.tree.removexattr(t.keyring, *node, "user.colour");
        CHECK(errno_of([&] { t.tree.getxattr(t.keyring, *node, "user.colour"); }) == ENODATA);
        CHECK(t.tree.listxattr(t.keyring, *node) == std::string("user.size\0", 10));
    }
    // Nothing of the plaintext name reaches the backing file.
    char names[1024];
    const ssize_t n = ::listxattr(t.path_of(file).c_str(), names, sizeof names);
    REQUIRE(n > 0);
    CHECK(std::string(names, static_cast<size_t>(n)).find("size") == std::string::npos);
}

TEST_CASE("Tree refuses other xattr namespaces and types, before taking the key", "[store][tree][xattr]") {
    TreeStore t;
    store::Node *file_node = nullptr;
    {
        const auto acc = t.access();  // (a lock waits for it)
        file_node = &t.tree.create(acc, t.root, "f", 0644, 0, {}).entry.node;
        store::Node &link = t.tree.symlink(acc, t.root, "l", "x", {}).node;
        CHECK(errno_of([&] { t.tree.setxattr(t.keyring, link, "user.a", "v", 0); }) == EPERM);
    }
    store::Node &file = *file_node;
    t.keyring.lock();
    CHECK(errno_of([&] { t.tree.setxattr(t.keyring, file, "trusted.a", "v", 0); }) == EOPNOTSUPP);
    CHECK(errno_of([&] { t.tree.getxattr(t.keyring, file, "security.selinux"); }) == EOPNOTSUPP);
    CHECK(errno_of([&] { t.tree.removexattr(t.keyring, file, "trusted.a"); }) == EOPNOTSUPP);
    CHECK(errno_of([&] { t.tree.removexattr(t.keyring, file, "user."); }) == ENODATA);
    CHECK(errno_of([&] { t.tree.getxattr(t.keyring, file, "user.a"); }) == EACCES);
}

TEST_CASE("Tree::stores_xattr and xattr_refusal: user.* with a name only, the rule fs answers from", "[store][tree][xattr]") {
    // fs replies xattr_refusal() for every other name without the key (the
    // kernel's security.capability query before each write, ls's
    // security.selinux and ACL queries), so this must agree with what
    // setxattr accepts.
    CHECK(store::Tree::xattr_refusal("user.a") == 0);
    CHECK(store::Tree::xattr_refusal("user.") == ENODATA);
    // Another namespace: "not supported", so that ls and cp stop asking.
    CHECK(store::Tree::xattr_refusal("security.selinux") == EOPNOTSUPP);
    // ... except file capabilities: none here, which Docker's vfs driver
    // needs to read as "no value" (e2e_docker_data_root).
    CHECK(store::Tree::xattr_refusal("security.capability") == ENODATA);
    CHECK(store::Tree::xattr_refusal("system.posix_acl_access") == EOPNOTSUPP);
    CHECK(store::Tree::xattr_refusal("users.a") == EOPNOTSUPP);
    CHECK(store::Tree::stores_xattr("user.a"));
    CHECK(store::Tree::stores_xattr("user.four-k"));
    CHECK_FALSE(store::Tree::stores_xattr("user."));
    CHECK_FALSE(store::Tree::stores_xattr("security.capability"));
    CHECK_FALSE(store::Tree::stores_xattr("trusted.foo"));
    CHECK_FALSE(store::Tree::stores_xattr("system.posix_acl_access"));
    CHECK_FALSE(store::Tree::stores_xattr("users.a"));
    CHECK_FALSE(store::Tree::stores_xattr(""));
}

TEST_CASE("a value copied to another file does not open (format 2)", "[store][tree][xattr]") {
    TreeStore t;
    const auto acc = t.access();
    store::Node &one = t.tree.create(acc, t.root, "one", 0644, 0, {}).entry.node;
    store::Node &two = t.tree.create(acc, t.root, "two", 0644, 0, {}).entry.node;
    t.tree.setxattr(t.keyring, one, "user.k", "secret", 0);
    t.tree.setxattr(t.keyring, two, "user.k", "other", 0);
    // Copy the backing value (and its encrypted name) from one to two.
    char list[1024], value[1024];
    const ssize_t ln = ::listxattr(t.path_of(one).c_str(), list, sizeof list);
    REQUIRE(ln > 0);
    const ssize_t vn = ::getxattr(t.path_of(one).c_str(), list, value, sizeof value);
    REQUIRE(vn > 0);
    REQUIRE(::setxattr(t.path_of(two).c_str(), list, value, static_cast<size_t>(vn), 0) == 0);
    CHECK_THROWS_AS(t.tree.getxattr(t.keyring, two, "user.k"), cmkfs::IntegrityError);
    CHECK(t.tree.getxattr(t.keyring, one, "user.k") == "secret");
}

TEST_CASE("Tree fallocate and SEEK_DATA/SEEK_HOLE work in plaintext offsets", "[store][tree]") {
    TreeStore t;
    const auto acc = t.access();
    auto created = t.tree.create(acc, t.root, "sparse", 0644, 0, {});
    store::Node &node = created.entry.node;
    const int fd = created.fd.get();
    const uint64_t block = format::kBlockPlainSize;
    CHECK(errno_of([&] { t.tree.fallocate(t.keyring, node, fd, FALLOC_FL_PUNCH_HOLE, 0, 10); }) == EOPNOTSUPP);
    CHECK(errno_of([&] { t.tree.seek(t.keyring, node, fd, 0, SEEK_DATA); }) == ENXIO);  // empty

    // Data in block 0 and block 40 only; 100 blocks long. The backing
    // filesystem finds holes at its own granularity, which does not match
    // ciphertext blocks: answers are whole plaintext blocks, on the safe side
    // (data is never skipped), near the truth.
    std::vector<uint8_t> data(100, 0xab);
    {
        std::unique_lock lock(node.content.mutex);
        store::FileContent content(fd, node.content, acc, t.version);
        content.write(0, data);
        content.write(40 * block + 5, data);
    }
    t.tree.truncate(acc, node, fd, 100 * block);
    CHECK(t.tree.stat(node).st_size == static_cast<off_t>(100 * block));
    auto seek = [&](uint64_t off, int whence) {
        return static_cast<uint64_t>(t.tree.seek(t.keyring, node, fd, static_cast<off_t>(off), whence));
    };
    CHECK(seek(0, SEEK_DATA) == 0);
    CHECK(seek(7, SEEK_DATA) == 7);
    const uint64_t hole = seek(0, SEEK_HOLE);
    CHECK(hole % block == 0);
    CHECK(hole >= block);
    CHECK(hole <= 3 * block);
    const uint64_t next = seek(10 * block, SEEK_DATA);
    CHECK(next % block == 0);
    CHECK(next <= 40 * block);
    CHECK(next >= 38 * block);
    CHECK(seek(40 * block + 7, SEEK_DATA) == 40 * block + 7);
    const uint64_t after = seek(40 * block, SEEK_HOLE);
    CHECK(after % block == 0);
    CHECK(after >= 41 * block);
    CHECK(after <= 43 * block);
    CHECK(seek(50 * block, SEEK_DATA) >= 98 * block);  // the final block is sealed as final: data
    CHECK(seek(50 * block, SEEK_HOLE) == 50 * block);
    CHECK(errno_of([&] { seek(100 * block, SEEK_HOLE); }) == ENXIO);

    // fallocate inside the file reserves the ciphertext of the range (it
    // still reads as holes); past the end it also grows the plaintext size.
    auto blocks = [&] {
        struct stat st {};
        REQUIRE(::fstat(fd, &st) == 0);
        return static_cast<uint64_t>(st.st_blocks) * 512;
    };
    const uint64_t before = blocks();
    t.tree.fallocate(t.keyring, node, fd, 0, static_cast<off_t>(60 * block), static_cast<off_t>(10 * block));
    CHECK(blocks() - before >= 10 * format::kBlockCipherSize);
    CHECK(t.tree.stat(node).st_size == static_cast<off_t>(100 * block));
    t.tree.fallocate(t.keyring, node, fd, 0, static_cast<off_t>(100 * block), static_cast<off_t>(2 * block));
    CHECK(t.tree.stat(node).st_size == static_cast<off_t>(102 * block));
}
