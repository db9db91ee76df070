// File names (format/name_codec.h): AES-256-SIV bound to the parent directory
// id, base64url, long-name scheme, plaintext-names mode; symlink targets.
#include <catch2/catch.hpp>

#include <cerrno>
#include <string>

#include "crypto/encoding.h"
#include "crypto/kdf.h"
#include "format/name_codec.h"
#include "unit/format/format_test_util.h"
#include "util/errors.h"

namespace format = cmkfs::format;
namespace crypto = cmkfs::crypto;
using cmkfs::test::dir_id;

namespace {

bool is_base64url(std::string_view s) {
    for (char c : s)
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_'))
            return false;
    return true;
}

int errno_of(const format::NameCodec &codec, const std::string &name) {
    try {
        codec.encode(dir_id(1), name);
    } catch (const cmkfs::Error &e) {
        return e.error_number();
    }
    return 0;
}

}  // namespace

TEST_CASE("names round trip through the encrypted form", "[format][names]") {
    auto keys = cmkfs::test::random_volume_keys();
    format::NameCodec codec(&keys.names());
    CHECK_FALSE(codec.plaintext());
    const auto dir = dir_id(7);
    for (std::string name : {std::string("a"), std::string("hello.txt"), std::string(".hidden"),
                             std::string(".cmkfs"), std::string("ünïcødé ✓"), std::string("with space"),
                             std::string("x\ny"), std::string(175, 'd'), std::string(176, 'l'),
                             std::string(255, 'm')}) {
        INFO("name of " << name.size() << " bytes");
        auto b = codec.encode(dir, name);
        CHECK(codec.encode(dir, name).name == b.name);  // deterministic
        if (b.is_long()) {
            CHECK(b.name.starts_with(".cmkfs.long."));
            CHECK(b.name.size() == 12 + 43);
            CHECK(b.sidecar == b.name + ".name");
            CHECK(b.full.size() > 255);
            CHECK(is_base64url(b.full));
            CHECK(format::NameCodec::is_long_name(b.name));
            CHECK_FALSE(format::NameCodec::is_sidecar(b.name));
            CHECK(format::NameCodec::is_sidecar(b.sidecar));
            CHECK_FALSE(format::NameCodec::is_long_name(b.sidecar));
            CHECK(format::NameCodec::sidecar_for(b.name) == b.sidecar);
            // The backing name is the hash of the full encoded name.
            CHECK(b.name == ".cmkfs.long." + crypto::base64url_encode(crypto::sha256(crypto::as_bytes(b.full))));
            CHECK(codec.decode(dir, b.full) == name);
        } else {
            CHECK(b.name.size() <= format::kMaxDirectNameLength);
            CHECK(is_base64url(b.name));
            CHECK(b.name.size() == (16 + name.size()) * 4 / 3 + ((16 + name.size()) % 3 ? 1 : 0));
            CHECK(b.full.empty());
            CHECK(codec.decode(dir, b.name) == name);
        }
    }
}

TEST_CASE("names up to 175 bytes are direct, longer ones use the long form", "[format][names]") {
    auto keys = cmkfs::test::random_volume_keys();
    format::NameCodec codec(&keys.names());
    CHECK_FALSE(codec.encode(dir_id(1), std::string(175, 'x')).is_long());
    CHECK(codec.encode(dir_id(1), std::string(175, 'x')).name.size() == 255);
    CHECK(codec.encode(dir_id(1), std::string(176, 'x')).is_long());
    CHECK(codec.encode(dir_id(1), std::string(240, 'x')).is_long());
}

TEST_CASE("the same name encrypts differently in another directory", "[format][names]") {
    auto keys = cmkfs::test::random_volume_keys();
    format::NameCodec codec(&keys.names());
    auto a = codec.encode(dir_id(1), "same");
    auto b = codec.encode(dir_id(2), "same");
    CHECK(a.name != b.name);
    CHECK_FALSE(codec.decode(dir_id(2), a.name));
    CHECK_FALSE(codec.decode(dir_id(1), b.name));
    auto la = codec.encode(dir_id(1), std::string(200, 'q'));
    auto lb = codec.encode(dir_id(2), std::string(200, 'q'));
    CHECK(la.name != lb.name);
    CHECK_FALSE(codec.decode(dir_id(2), la.full));
}

TEST_CASE("names under another volume key do not decode", "[format][names]") {
    auto k1 = cmkfs::test::random_volume_keys();
    auto k2 = cmkfs::test::random_volume_keys();
    auto b = format::NameCodec(&k1.names()).encode(dir_id(1), "secret");
    CHECK_FALSE(format::NameCodec(&k2.names()).decode(dir_id(1), b.name));
}

TEST_CASE("tampered or malformed encoded names do not decode", "[format][names]") {
    auto keys = cmkfs::test::random_volume_keys();
    format::NameCodec codec(&keys.names());
    const std::string good = codec.encode(dir_id(1), "document.pdf").name;
    for (size_t i = 0; i < good.size(); ++i) {
        std::string bad = good;
        bad[i] = bad[i] == 'A' ? 'B' : 'A';
        INFO("changed character " << i);
        CHECK_FALSE(codec.decode(dir_id(1), bad));
    }
    CHECK_FALSE(codec.decode(dir_id(1), good.substr(0, good.size() - 1)));
    CHECK_FALSE(codec.decode(dir_id(1), ""));
    CHECK_FALSE(codec.decode(dir_id(1), "AAAA"));
    CHECK_FALSE(codec.decode(dir_id(1), "not base64!"));
    CHECK_FALSE(codec.decode(dir_id(1), "abc=="));  // padding is not part of the encoding
    CHECK_FALSE(codec.decode(dir_id(1), ".cmkfs.dirid"));
}

TEST_CASE("names that cannot be stored are refused", "[format][names]") {
    auto keys = cmkfs::test::random_volume_keys();
    format::NameCodec codec(&keys.names());
    format::NameCodec plain(nullptr);
    for (const auto *c : {&codec, &plain}) {
        CHECK(errno_of(*c, "") == EINVAL);
        CHECK(errno_of(*c, ".") == EINVAL);
        CHECK(errno_of(*c, "..") == EINVAL);
        CHECK(errno_of(*c, "a/b") == EINVAL);
        CHECK(errno_of(*c, "/") == EINVAL);
        CHECK(errno_of(*c, std::string(256, 'n')) == ENAMETOOLONG);
        CHECK(errno_of(*c, std::string(255, 'n')) == 0);
        CHECK(errno_of(*c, "...") == 0);
    }
}

TEST_CASE("plaintext-names mode stores names as they are and refuses .cmkfs*", "[format][names]") {
    format::NameCodec codec(nullptr);
    CHECK(codec.plaintext());
    auto b = codec.encode(dir_id(1), "readme.md");
    CHECK(b.name == "readme.md");
    CHECK_FALSE(b.is_long());
    CHECK_FALSE(codec.encode(dir_id(1), std::string(255, 'p')).is_long());
    CHECK(codec.decode(dir_id(9), "readme.md") == "readme.md");
    CHECK(errno_of(codec, ".cmkfs") == EPERM);
    CHECK(errno_of(codec, ".cmkfs.volume") == EPERM);
    CHECK(errno_of(codec, ".cmkfsanything") == EPERM);
    CHECK(errno_of(codec, ".cmkf") == 0);
    CHECK(errno_of(codec, "x.cmkfs") == 0);
    CHECK_FALSE(codec.decode(dir_id(1), ".cmkfs.dirid"));
    CHECK_FALSE(codec.decode(dir_id(1), ".cmkfs.volume"));
}

TEST_CASE("a long name decodes only from the sidecar content it hashes", "[format][names]") {
    auto keys = cmkfs::test::random_volume_keys();
    format::NameCodec codec(&keys.names());
    auto a = codec.encode(dir_id(1), std::string(200, 'a'));
    auto b = codec.encode(dir_id(1), std::string(200, 'b'));
    CHECK(format::NameCodec::long_name_for(a.full) == a.name);
    CHECK(codec.decode_long(dir_id(1), a.name, a.full) == std::string(200, 'a'));
    CHECK_FALSE(codec.decode_long(dir_id(1), a.name, b.full));  // swapped sidecars
    CHECK_FALSE(codec.decode_long(dir_id(2), a.name, a.full));  // another directory
    CHECK_FALSE(format::NameCodec(nullptr).decode_long(dir_id(1), a.name, a.full));
}

TEST_CASE("long names and sidecars have exactly one form", "[format][names]") {
    const std::string hash(43, 'A');  // canonical base64url of 32 zero bytes
    CHECK(format::NameCodec::is_long_name(".cmkfs.long." + hash));
    CHECK(format::NameCodec::is_sidecar(".cmkfs.long." + hash + ".name"));
    CHECK_FALSE(format::NameCodec::is_long_name(".cmkfs.long." + hash + ".name"));
    CHECK_FALSE(format::NameCodec::is_long_name(".cmkfs.long." + hash + ".name.tmp.12.0"));
    CHECK_FALSE(format::NameCodec::is_sidecar(".cmkfs.long." + hash + ".name.tmp.12.0"));
    CHECK_FALSE(format::NameCodec::is_long_name(".cmkfs.long." + hash.substr(1)));
    CHECK_FALSE(format::NameCodec::is_long_name(".cmkfs.long." + hash + "h"));
    CHECK_FALSE(format::NameCodec::is_long_name(".cmkfs.long." + std::string(42, 'A') + "."));
    CHECK_FALSE(format::NameCodec::is_sidecar(".cmkfs.long.x.name"));
}

TEST_CASE("bookkeeping names are recognised exactly", "[format][names]") {
    CHECK(format::is_reserved_name(".cmkfs.volume"));
    CHECK(format::is_reserved_name(".cmkfs.dirid"));
    CHECK_FALSE(format::is_reserved_name("cmkfs"));
    CHECK_FALSE(format::NameCodec::is_long_name(".cmkfs.dirid"));
    CHECK_FALSE(format::NameCodec::is_sidecar(".cmkfs.dirid"));
    CHECK_FALSE(format::NameCodec::is_long_name("abc.name"));
}

TEST_CASE("symlink targets: seal_text/open_text", "[format][names][symlink]") {
    auto keys = cmkfs::test::random_volume_keys();
    for (std::string target : {std::string("a"), std::string("../up/there"), std::string("/abs/path"),
                               std::string(4000, 't')}) {
        INFO("target of " << target.size() << " bytes");
        std::string sealed = format::NameCodec::seal_text(keys.meta(), "symlink", target);
        CHECK(is_base64url(sealed));
        auto raw = crypto::base64url_decode(sealed);
        REQUIRE(raw);
        CHECK(raw->size() == target.size() + 28);
        CHECK(format::NameCodec::open_text(keys.meta(), "symlink", sealed) == target);
        CHECK(format::NameCodec::seal_text(keys.meta(), "symlink", target) != sealed);  // fresh nonce
        CHECK_FALSE(format::NameCodec::open_text(keys.meta(), "other", sealed));
        std::string bad = sealed;
        bad[bad.size() / 2] = bad[bad.size() / 2] == 'A' ? 'B' : 'A';
        CHECK_FALSE(format::NameCodec::open_text(keys.meta(), "symlink", bad));
    }
    auto other = cmkfs::test::random_volume_keys();
    std::string sealed = format::NameCodec::seal_text(keys.meta(), "symlink", "x");
    CHECK_FALSE(format::NameCodec::open_text(other.meta(), "symlink", sealed));
    CHECK_FALSE(format::NameCodec::open_text(keys.meta(), "symlink", "plain/target"));
    CHECK_FALSE(format::NameCodec::open_text(keys.meta(), "symlink", "AAAA"));
    CHECK_FALSE(format::NameCodec::open_text(keys.meta(), "symlink", ""));
}
