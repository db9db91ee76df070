// A store::Tree over a plain temporary directory (no FUSE, no volume
// header): an unlocked keyring, a node table, and helpers to look at the
// backing directory the way an attacker or fsck would.
#pragma once

#include <catch2/catch.hpp>

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "crypto/encoding.h"
#include "format/key_schedule.h"
#include "format/name_codec.h"
#include "store/dir_binding.h"
#include "store/directory.h"
#include "store/keyring.h"
#include "store/tree.h"
#include "support/process.h"
#include "util/errors.h"
#include "util/file_io.h"
#include "util/unique_fd.h"

namespace cmkfs::test {

// What fs::InodeTable is in a mount: nodes keyed by (st_dev, st_ino), with a
// use count.
class TestNodes : public store::NodeTable {
public:
    store::Node &intern(UniqueFd fd, const struct stat &st) override {
        auto &slot = nodes_[{st.st_dev, st.st_ino}];
        if (!slot.node) {
            slot.node = std::make_unique<store::Node>();
            slot.node->fd = std::move(fd);
            slot.node->dev = st.st_dev;
            slot.node->ino = st.st_ino;
            slot.node->type = st.st_mode & S_IFMT;
        }
        ++slot.uses;
        return *slot.node;
    }
    void release(store::Node &node, uint64_t count) override { nodes_.at({node.dev, node.ino}).uses -= count; }
    void repoint(const struct stat &old_st, const UniqueFd &new_fd, const struct stat &new_st,
                 const std::function<void(store::Node &)> &update) override {
        auto it = nodes_.find({old_st.st_dev, old_st.st_ino});
        if (it == nodes_.end()) return;
        Slot slot = std::move(it->second);
        nodes_.erase(it);
        REQUIRE(::dup3(new_fd.get(), slot.node->fd.get(), O_CLOEXEC) >= 0);
        slot.node->dev = new_st.st_dev;
        slot.node->ino = new_st.st_ino;
        update(*slot.node);
        nodes_[{new_st.st_dev, new_st.st_ino}] = std::move(slot);
    }
    // Uses not given back (a lookup whose failure leaked its node shows here).
    uint64_t uses() const {
        uint64_t n = 0;
        for (const auto &[key, slot] : nodes_) n += slot.uses;
        return n;
    }

private:
    struct Slot {
        std::unique_ptr<store::Node> node;
        uint64_t uses = 0;
    };
    std::map<std::pair<dev_t, ino_t>, Slot> nodes_;
};

// A thrown step hook stands for a crash between two steps.
struct Crash : std::runtime_error {
    Crash() : std::runtime_error("simulated crash") {}
};

struct TreeStore {
    explicit TreeStore(uint32_t version = format::kFormatVersion) : version(version) {
        keyring.unlock(format::VolumeKeys(format::generate_volume_key()));
        root.fd.reset(::open(dir.path().c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
        REQUIRE(root.fd);
        struct stat st {};
        REQUIRE(::fstat(root.fd.get(), &st) == 0);
        root.dev = st.st_dev;
        root.ino = st.st_ino;
        root.type = S_IFDIR;
        format::DirId id{};
        id.fill(0x5a);
        root.dir_id = id;
        const auto access = keyring.access();
        store::write_dir_id(backing_dir().get(), {version, access.keys()}, id, format::Place::root());
    }

    store::Keyring::Access access() const { return keyring.access(); }
    // Crashes (throws Crash) when `op` reaches `step`; `check` runs first.
    void crash_at(std::string op, std::string step, std::function<void()> check = {}) {
        tree.set_step_hook([=](std::string_view o, std::string_view s) {
            if (o == op && s == step) {
                if (check) check();
                throw Crash();
            }
        });
    }
    void on_step(std::string op, std::string step, std::function<void()> check) {
        tree.set_step_hook([=](std::string_view o, std::string_view s) {
            if (o == op && s == step) check();
        });
    }
    // The backing name of `name` in directory `node`.
    format::BackingName backing(store::Node &node, const std::string &name) {
        const auto a = access();
        store::Tree::Names names(tree, a, node);
        return names.dir.encode(name);
    }
    // The backing root, opened for changes behind Tree's back.
    UniqueFd backing_dir() const {
        UniqueFd fd(::open(dir.path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        REQUIRE(fd);
        return fd;
    }
    std::string path_of(const store::Node &node) const { return store::proc_path(node.fd.get()); }
    bool exists_in(const store::Node &node, const std::string &backing_name) const {
        struct stat st {};
        return ::fstatat(node.fd.get(), backing_name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0;
    }
    // Plaintext names the directory lists (bookkeeping hidden).
    std::vector<std::string> list(store::Node &node) {
        const auto a = access();
        store::Tree::Names names(tree, a, node);
        store::DirStream stream(node);
        std::vector<std::string> out;
        while (dirent *e = stream.next())
            if (auto name = names.dir.decode(e->d_name)) out.push_back(*name);
        std::sort(out.begin(), out.end());
        return out;
    }
    // What fsck checks of names: every backing entry that is not cmkfs'
    // bookkeeping decodes (a long name has its sidecar), and no temporary of
    // a mkdir or rename is left.
    void check_names_consistent(store::Node &node) {
        const auto a = access();
        store::Tree::Names names(tree, a, node);
        for (const auto &n : list_directory(UniqueFd(::open(path_of(node).c_str(), O_RDONLY | O_DIRECTORY)).get())) {
            INFO("backing entry " << n);
            CHECK_FALSE(n.starts_with(".cmkfs.mkdir."));
            CHECK_FALSE(n.starts_with(store::kRenameTempPrefix));
            if (store::Directory::is_bookkeeping(n)) continue;
            CHECK(names.dir.decode(n).has_value());
        }
    }

    TempDir dir;
    uint32_t version;
    store::Keyring keyring;
    TestNodes nodes;
    store::Node root;
    store::Tree tree{version, /*plaintext_names=*/false, nodes};
};

inline int errno_of(const std::function<void()> &fn) {
    try {
        fn();
    } catch (const Error &e) {
        return e.error_number();
    }
    return 0;
}

inline std::string long_name(char c) { return std::string(200, c); }

}  // namespace cmkfs::test
