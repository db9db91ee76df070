// RFC 7512 key URIs as the pkcs11 provider reads and writes them.
#include <catch2/catch.hpp>

#include "ck_error.h"
#include "pkcs11_uri.h"

using namespace cmkfs::p11;
using Catch::Matchers::Contains;

namespace {
std::string parse_error(const std::string &text) {
    try {
        parse_key_uri(text);
    } catch (const P11Error &e) {
        CHECK(e.status() == CMKFS_ERR_INVALID);
        return e.what();
    }
    return "";
}
}  // namespace

TEST_CASE("pkcs11 URI: attributes, percent-decoding and the canonical form", "[pkcs11][uri]") {
    KeyUri u = parse_key_uri("pkcs11:token=My%20Token;object=kek;id=%01%a0%FF;serial=abc;type=secret-key");
    CHECK(u.token == "My Token");
    CHECK(u.object == "kek");
    CHECK(u.id == std::vector<uint8_t>{0x01, 0xa0, 0xff});
    CHECK(u.serial == "abc");
    CHECK(u.type == "secret-key");
    CHECK(format_key_uri(u) == "pkcs11:token=My%20Token;serial=abc;object=kek;id=%01%A0%FF;type=secret-key");
    CHECK(parse_key_uri(format_key_uri(u)) == u);

    // Unreserved characters may be given percent-encoded or not.
    CHECK(parse_key_uri("pkcs11:object=%6Bek") == parse_key_uri("pkcs11:object=kek"));
    // id alone names a key; a trailing ';' is tolerated.
    CHECK(parse_key_uri("pkcs11:id=%02;").id == std::vector<uint8_t>{0x02});
    // Characters outside the unreserved set are always escaped when written.
    KeyUri odd;
    odd.object = "a;b=c/d?";
    CHECK(format_key_uri(odd) == "pkcs11:object=a%3Bb%3Dc%2Fd%3F");
    CHECK(parse_key_uri(format_key_uri(odd)).object == "a;b=c/d?");
}

TEST_CASE("pkcs11 URI: what is refused", "[pkcs11][uri]") {
    CHECK_THAT(parse_error("local:///v/keys/k"), Contains("must start with pkcs11:"));
    CHECK_THAT(parse_error("pkcs11:token=t"), Contains("object= and/or id="));
    CHECK_THAT(parse_error("pkcs11:object=k?pin-value=secret"), Contains("query attributes"));
    CHECK(parse_error("pkcs11:object=k?pin-value=secret").find("secret") == std::string::npos);
    CHECK_THAT(parse_error("pkcs11:object=k;module-path=/x"), Contains("unsupported attribute 'module-path'"));
    CHECK_THAT(parse_error("pkcs11:object=k;object=j"), Contains("given twice"));
    CHECK_THAT(parse_error("pkcs11:object="), Contains("empty"));
    CHECK_THAT(parse_error("pkcs11:object=k%2"), Contains("percent-encoding"));
    CHECK_THAT(parse_error("pkcs11:object=k%g0"), Contains("percent-encoding"));
    CHECK_THAT(parse_error("pkcs11:object=k;type=private"), Contains("type=private"));
    CHECK_THAT(parse_error("pkcs11:object"), Contains("without '='"));
}
