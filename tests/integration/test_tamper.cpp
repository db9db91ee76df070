// Offline tampering with the backing directory: files are made through the
// mount, the store is unmounted, backing files are edited, and the store is
// mounted again. Damaged ciphertext must read as EIO (never as data), only
// where it is damaged, with an "integrity" log line naming the backing file
// and block; `cmkfs fsck` must find the same problems (exit 10).
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "support/backing_bytes.h"
#include "support/mount_io.h"
#include "support/process.h"
#include "support/test_seed.h"
#include "support/random_bytes.h"

using namespace cmkfs::test;
namespace fsys = std::filesystem;

namespace {

bool one_line(const std::string &s) {
    return !s.empty() && s.back() == '\n' && std::count(s.begin(), s.end(), '\n') == 1;
}

// Three full blocks and a partial fourth one.
constexpr size_t kFileSize = 3 * kBlock + 1000;

}  // namespace

TEST_CASE("a clean store passes fsck", "[tamper]") {
    MountedStore store;
    create_and_locate(store, "a", random_bytes(kFileSize, 1));
    fsys::create_directory(store.path("d"));
    write_file(store.path("d/b"), random_bytes(100, 2));
    store.unmount();
    auto r = cli({"fsck", store.backing()});
    INFO(r.out << r.err);
    CHECK(r.exit_code == 0);
    CHECK(r.out.find("0 problem") != std::string::npos);
}

TEST_CASE("damaged file contents read as EIO only where damaged", "[tamper]") {
    MountedStore store;
    const std::string a = random_bytes(kFileSize, 10), b = random_bytes(kFileSize, 11),
                      c = random_bytes(kFileSize, 12);
    const std::string ba = create_and_locate(store, "a", a);
    const std::string bb = create_and_locate(store, "b", b);
    const std::string bc = create_and_locate(store, "c", c);
    store.unmount();
    REQUIRE(fsys::file_size(ba) == kHeader + 3 * kCipherBlock + 1000 + 28);

    auto fsck = [&] { return cli({"fsck", store.backing()}); };

    SECTION("a flipped byte in a block") {
        flip_byte(ba, block_offset(1) + 12 + 100);  // inside block 1's ciphertext
        store.mount();
        CHECK(read_through_mount(store.path("a"), kBlock, kBlock) == EIO);
        CHECK(read_through_mount(store.path("a"), kBlock + 4000, 200) == EIO);  // straddles blocks 1 and 2
        std::string got;
        CHECK(read_through_mount(store.path("a"), 0, kBlock, &got) == 0);
        CHECK(got == a.substr(0, kBlock));
        CHECK(read_through_mount(store.path("a"), 2 * kBlock, kBlock + 1000, &got) == 0);
        CHECK(got == a.substr(2 * kBlock));
        CHECK(read_file(store.path("b")) == b);
        CHECK(read_file(store.path("c")) == c);
        const std::string log = store.daemon_log();
        INFO(log);
        CHECK(log_names(log, ba, "block 1"));
        store.unmount();

        auto r = fsck();
        INFO(r.out << r.err);
        CHECK(r.exit_code == 10);
        CHECK(r.out.find(ba) != std::string::npos);
        CHECK(r.out.find("block 1 ") != std::string::npos);
        CHECK(r.out.find(bb) == std::string::npos);
        CHECK(r.out.find("1 problem") != std::string::npos);
        CHECK(one_line(r.err));
    }

    SECTION("a flipped byte in a block's nonce or tag") {
        flip_byte(ba, block_offset(2) + 3);                        // nonce of block 2
        flip_byte(ba, block_offset(0) + kCipherBlock - 1);         // tag of block 0
        store.mount();
        CHECK(read_through_mount(store.path("a"), 0, 10) == EIO);
        CHECK(read_through_mount(store.path("a"), 2 * kBlock + 5, 10) == EIO);
        std::string got;
        CHECK(read_through_mount(store.path("a"), kBlock, kBlock, &got) == 0);
        CHECK(got == a.substr(kBlock, kBlock));
        CHECK(read_through_mount(store.path("a"), 3 * kBlock, 1000, &got) == 0);
        CHECK(got == a.substr(3 * kBlock));
        INFO(store.daemon_log());
        CHECK(log_names(store.daemon_log(), ba, "block 0"));
        CHECK(log_names(store.daemon_log(), ba, "block 2"));
        store.unmount();
        auto r = fsck();
        INFO(r.out);
        CHECK(r.exit_code == 10);
        CHECK(r.out.find("block 0 ") != std::string::npos);
        CHECK(r.out.find("block 2 ") != std::string::npos);
        CHECK(r.out.find("2 problem") != std::string::npos);
    }

    SECTION("a block swapped between two files at the same index") {
        const std::string blk_a = read_range(ba, block_offset(1), kCipherBlock);
        const std::string blk_b = read_range(bb, block_offset(1), kCipherBlock);
        write_range(ba, block_offset(1), blk_b);
        write_range(bb, block_offset(1), blk_a);
        store.mount();
        CHECK(read_through_mount(store.path("a"), kBlock, 100) == EIO);
        CHECK(read_through_mount(store.path("b"), kBlock + 100, 100) == EIO);
        std::string got;
        CHECK(read_through_mount(store.path("a"), 0, kBlock, &got) == 0);
        CHECK(got == a.substr(0, kBlock));
        CHECK(read_through_mount(store.path("b"), 2 * kBlock, kBlock, &got) == 0);
        CHECK(got == b.substr(2 * kBlock, kBlock));
        CHECK(read_file(store.path("c")) == c);
        INFO(store.daemon_log());
        CHECK(log_names(store.daemon_log(), ba, "block 1"));
        CHECK(log_names(store.daemon_log(), bb, "block 1"));
        store.unmount();
        auto r = fsck();
        INFO(r.out);
        CHECK(r.exit_code == 10);
        CHECK(r.out.find(ba) != std::string::npos);
        CHECK(r.out.find(bb) != std::string::npos);
        CHECK(r.out.find(bc) == std::string::npos);
    }

    SECTION("two blocks swapped within one file") {
        const std::string b0 = read_range(ba, block_offset(0), kCipherBlock);
        const std::string b2 = read_range(ba, block_offset(2), kCipherBlock);
        write_range(ba, block_offset(0), b2);
        write_range(ba, block_offset(2), b0);
        store.mount();
        CHECK(read_through_mount(store.path("a"), 0, 100) == EIO);
        CHECK(read_through_mount(store.path("a"), 2 * kBlock, 100) == EIO);
        std::string got;
        CHECK(read_through_mount(store.path("a"), kBlock, kBlock, &got) == 0);
        CHECK(got == a.substr(kBlock, kBlock));
        INFO(store.daemon_log());
        CHECK(log_names(store.daemon_log(), ba, "block 0"));
        CHECK(log_names(store.daemon_log(), ba, "block 2"));
        store.unmount();
        auto r = fsck();
        INFO(r.out);
        CHECK(r.exit_code == 10);
        CHECK(r.out.find("block 0 ") != std::string::npos);
        CHECK(r.out.find("block 2 ") != std::string::npos);
    }

    SECTION("a file cut a few bytes short inside its last block") {
        fsys::resize_file(ba, fsys::file_size(ba) - 3);
        store.mount();
        CHECK(read_through_mount(store.path("a"), 3 * kBlock, 900) == EIO);
        std::string got;
        CHECK(read_through_mount(store.path("a"), 0, 3 * kBlock, &got) == 0);
        CHECK(got == a.substr(0, 3 * kBlock));
        CHECK(read_file(store.path("b")) == b);
        INFO(store.daemon_log());
        CHECK(log_names(store.daemon_log(), ba, "block 3"));
        store.unmount();
        auto r = fsck();
        INFO(r.out);
        CHECK(r.exit_code == 10);
        CHECK(r.out.find(ba) != std::string::npos);
        CHECK(r.out.find("block 3 ") != std::string::npos);
    }

    SECTION("a file cut inside the nonce/tag of its last block") {
        // Leaves 20 bytes of block 3: no plaintext size gives that length.
        fsys::resize_file(ba, block_offset(3) + 20);
        store.mount();
        CHECK(read_through_mount(store.path("a"), 3 * kBlock - 10, 100) == EIO);
        std::string got;
        CHECK(read_through_mount(store.path("a"), kBlock, kBlock, &got) == 0);
        CHECK(got == a.substr(kBlock, kBlock));
        INFO(store.daemon_log());
        CHECK(log_names(store.daemon_log(), ba));
        store.unmount();
        auto r = fsck();
        INFO(r.out);
        CHECK(r.exit_code == 10);
        CHECK(r.out.find(ba) != std::string::npos);
    }

    SECTION("a file cut inside its header") {
        fsys::resize_file(ba, 10);
        store.mount();
        CHECK(read_through_mount(store.path("a"), 0, 100) == EIO);
        CHECK(read_file(store.path("b")) == b);
        INFO(store.daemon_log());
        CHECK(log_names(store.daemon_log(), ba));
        store.unmount();
        auto r = cli({"fsck", store.backing()});
        INFO(r.out);
        CHECK(r.exit_code == 10);
        CHECK(r.out.find(ba) != std::string::npos);
    }

    SECTION("a flipped byte in the file header's magic") {
        flip_byte(ba, 1);
        store.mount();
        CHECK(read_through_mount(store.path("a"), 0, 10) == EIO);
        CHECK(read_through_mount(store.path("a"), 2 * kBlock, 10) == EIO);
        CHECK(read_file(store.path("b")) == b);
        INFO(store.daemon_log());
        CHECK(log_names(store.daemon_log(), ba, "header"));
        store.unmount();
        auto r = fsck();
        INFO(r.out);
        CHECK(r.exit_code == 10);
        CHECK(r.out.find(ba) != std::string::npos);
    }

    SECTION("a flipped byte in the file id of the header") {
        flip_byte(ba, 8 + 5);
        store.mount();
        CHECK(read_through_mount(store.path("a"), 0, 10) == EIO);
        CHECK(read_through_mount(store.path("a"), 3 * kBlock, 10) == EIO);
        CHECK(read_file(store.path("c")) == c);
        store.unmount();
        auto r = fsck();
        INFO(r.out);
        CHECK(r.exit_code == 10);
        CHECK(r.out.find(ba) != std::string::npos);
        CHECK(r.out.find("4 problem") != std::string::npos);  // every block of a
    }

    SECTION("writing into a damaged block does not launder it") {
        flip_byte(ba, block_offset(1) + 500);
        store.mount();
        // A partial write must read the damaged block first, and refuse.
        int fd = ::open(store.path("a").c_str(), O_WRONLY);
        REQUIRE(fd >= 0);
        errno = 0;
        CHECK(::pwrite(fd, "xy", 2, kBlock + 10) == -1);
        CHECK(errno == EIO);
        ::close(fd);
        CHECK(read_through_mount(store.path("a"), kBlock, 10) == EIO);
    }
}

TEST_CASE("an edited volume header is refused at mount with exit 5", "[tamper]") {
    MountedStore store(MountedStore::Options::unmounted());
    const std::string header_path = store.backing() + "/.cmkfs.volume";
    auto header = nlohmann::json::parse(read_file(header_path));

    SECTION("created") {
        std::string created = header.at("created").get<std::string>();
        REQUIRE(!created.empty());
        created[0] = created[0] == '2' ? '1' : '2';
        CHECK(created != header.at("created").get<std::string>());
        header["created"] = created;
    }
    SECTION("plaintext_names") {
        const bool was = header.at("plaintext_names").get<bool>();
        header["plaintext_names"] = !was;
        CHECK(header["plaintext_names"] != was);
    }
    SECTION("volume_id") {
        const std::string was = header.at("volume_id").get<std::string>();
        std::string id = was;
        id[5] = id[5] == 'a' ? 'b' : 'a';
        header["volume_id"] = id;
        CHECK(id != was);
    }
    write_file(header_path, header.dump(2));

    auto r = cli({"mount", store.backing(), store.mountpoint()});
    INFO(r.out << r.err);
    CHECK(r.exit_code == 5);
    CHECK(one_line(r.err));
    CHECK(r.err.find(".cmkfs.volume") != std::string::npos);
    CHECK_FALSE(store.mounted());

    auto f = cli({"mount", "-f", store.backing(), store.mountpoint()});
    INFO(f.out << f.err);
    CHECK(f.exit_code == 5);
    CHECK_FALSE(store.mounted());

    auto fsck = cli({"fsck", store.backing()});
    CHECK(fsck.exit_code == 5);
}

TEST_CASE("a tampered directory entry is hidden and logged, never crashes", "[tamper]") {
    MountedStore store;
    fsys::create_directory(store.path("dir"));
    write_file(store.path("dir/keep"), "keep me");
    const std::string victim = create_and_locate(store, "victim-file", "victim contents");
    write_file(store.path("other"), "other contents");
    store.unmount();

    // Change one character in the middle of the encrypted name: still valid
    // base64url, but it no longer authenticates.
    const std::string name = fsys::path(victim).filename().string();
    REQUIRE(name.size() > 10);
    std::string forged = name;
    const size_t i = name.size() / 2;
    forged[i] = forged[i] == 'A' ? 'B' : 'A';
    REQUIRE(forged != name);
    fsys::rename(victim, store.backing() + "/" + forged);

    store.mount();
    std::set<std::string> seen;
    for (const auto &e : fsys::directory_iterator(store.mountpoint())) seen.insert(e.path().filename().string());
    CHECK(seen == std::set<std::string>{"dir", "other"});
    CHECK_FALSE(fsys::exists(store.path("victim-file")));
    CHECK(read_file(store.path("other")) == "other contents");
    CHECK(read_file(store.path("dir/keep")) == "keep me");
    // The daemon is still alive and serving.
    CHECK(store.mounted());
    write_file(store.path("new"), "after");
    CHECK(read_file(store.path("new")) == "after");
    const std::string log = store.daemon_log();
    INFO(log);
    CHECK(log.find("integrity") != std::string::npos);
    CHECK(log.find(forged) != std::string::npos);
    store.unmount();

    auto r = cli({"fsck", store.backing()});
    INFO(r.out);
    CHECK(r.exit_code == 10);
    CHECK(r.out.find(forged) != std::string::npos);
}
