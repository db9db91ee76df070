// fs::Killpriv on raw FUSE protocol bytes, as the kernel sends them: the
// INIT reply gains FUSE_HANDLE_KILLPRIV_V2 only when the kernel offered it
// and the daemon wants it, and the per-request "clear setuid/setgid" flag is
// read from WRITE and SETATTR and from nothing else.
#include <catch2/catch.hpp>

#include <linux/fuse.h>

#include <cstring>
#include <thread>
#include <vector>

#include "fs/killpriv.h"

using cmkfs::fs::Killpriv;

namespace {

template <typename Arg>
std::vector<uint8_t> request(uint32_t opcode, uint64_t unique, const Arg &arg) {
    fuse_in_header in{};
    in.len = sizeof in + sizeof arg;
    in.opcode = opcode;
    in.unique = unique;
    in.nodeid = 7;
    std::vector<uint8_t> buf(sizeof in + sizeof arg);
    std::memcpy(buf.data(), &in, sizeof in);
    std::memcpy(buf.data() + sizeof in, &arg, sizeof arg);
    return buf;
}

std::vector<uint8_t> init_request(uint64_t unique, uint32_t flags) {
    fuse_init_in init{};
    init.major = FUSE_KERNEL_VERSION;
    init.minor = FUSE_KERNEL_MINOR_VERSION;
    init.flags = flags;
    return request(FUSE_INIT, unique, init);
}

void see(Killpriv &k, const std::vector<uint8_t> &buf) { k.saw_request(buf.data(), buf.size()); }

}  // namespace

TEST_CASE("killpriv v2 is added to the INIT reply only when offered and wanted", "[fs][killpriv]") {
    const uint32_t others = FUSE_ASYNC_READ | FUSE_WRITEBACK_CACHE;
    SECTION("offered and wanted") {
        Killpriv k;
        see(k, init_request(2, others | FUSE_HANDLE_KILLPRIV_V2));
        k.want(true);
        CHECK(k.init_reply_flags(2, others) == (others | FUSE_HANDLE_KILLPRIV_V2));
        CHECK(k.negotiated());
    }
    SECTION("not offered by the kernel") {
        Killpriv k;
        see(k, init_request(2, others));
        k.want(true);
        CHECK(k.init_reply_flags(2, others) == others);
        CHECK_FALSE(k.negotiated());
    }
    SECTION("not wanted (shared storage)") {
        Killpriv k;
        see(k, init_request(2, others | FUSE_HANDLE_KILLPRIV_V2));
        k.want(false);
        CHECK(k.init_reply_flags(2, others) == others);
        CHECK_FALSE(k.negotiated());
    }
    SECTION("a reply to another request than INIT") {
        Killpriv k;
        see(k, init_request(2, others | FUSE_HANDLE_KILLPRIV_V2));
        k.want(true);
        CHECK(k.init_reply_flags(4, others) == others);
        CHECK_FALSE(k.negotiated());
    }
    SECTION("a truncated INIT is not an offer") {
        Killpriv k;
        auto buf = init_request(2, others | FUSE_HANDLE_KILLPRIV_V2);
        k.saw_request(buf.data(), sizeof(fuse_in_header) + 8);
        k.want(true);
        CHECK(k.init_reply_flags(2, others) == others);
    }
}

TEST_CASE("the kill flag is read from WRITE and SETATTR, for the request just read", "[fs][killpriv]") {
    Killpriv k;
    fuse_write_in w{};
    w.size = 4096;
    see(k, request(FUSE_WRITE, 10, w));
    CHECK_FALSE(Killpriv::request_kills_suidgid());
    w.write_flags = FUSE_WRITE_KILL_SUIDGID;
    see(k, request(FUSE_WRITE, 12, w));
    CHECK(Killpriv::request_kills_suidgid());
    // The next request read on this thread clears it.
    fuse_getattr_in g{};
    see(k, request(FUSE_GETATTR, 14, g));
    CHECK_FALSE(Killpriv::request_kills_suidgid());

    fuse_setattr_in s{};
    s.valid = FATTR_SIZE | FATTR_KILL_SUIDGID;
    see(k, request(FUSE_SETATTR, 16, s));
    CHECK(Killpriv::request_kills_suidgid());
    s.valid = FATTR_SIZE;
    see(k, request(FUSE_SETATTR, 18, s));
    CHECK_FALSE(Killpriv::request_kills_suidgid());

    // A WRITE cut short of its argument carries no flag.
    w.write_flags = FUSE_WRITE_KILL_SUIDGID;
    auto cut = request(FUSE_WRITE, 20, w);
    k.saw_request(cut.data(), sizeof(fuse_in_header) + 4);
    CHECK_FALSE(Killpriv::request_kills_suidgid());
    // The flag is the reading thread's alone.
    see(k, request(FUSE_WRITE, 22, w));
    bool elsewhere = true;
    std::thread([&] { elsewhere = Killpriv::request_kills_suidgid(); }).join();
    CHECK_FALSE(elsewhere);
    CHECK(Killpriv::request_kills_suidgid());
}
