// The docker-credential-helpers protocol (credhelper/protocol.h) over an
// in-memory backend; the real store behind it is tested in
// tests/integration/test_credential_helper.cpp.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "credhelper/protocol.h"

using namespace cmkfs;
using credhelper::HelperError;

namespace {

struct MemoryBackend : credhelper::CredentialBackend {
    format::RegistryCredentials data;
    int opened = 0;
    format::RegistryCredentials read() override { return data; }
    void update(const std::function<void(format::RegistryCredentials &)> &change) override { change(data); }
};

struct Harness {
    MemoryBackend backend;
    std::string run(std::string_view action, std::string_view input = "") {
        return credhelper::run_action(action, input, [this] {
            ++backend.opened;
            struct Ref : credhelper::CredentialBackend {
                explicit Ref(MemoryBackend &b) : b(b) {}
                MemoryBackend &b;
                format::RegistryCredentials read() override { return b.read(); }
                void update(const std::function<void(format::RegistryCredentials &)> &c) override { b.update(c); }
            };
            return std::make_unique<Ref>(backend);
        });
    }
};

std::string error_of(Harness &h, std::string_view action, std::string_view input) {
    try {
        h.run(action, input);
    } catch (const HelperError &e) {
        return e.what();
    }
    return "(no error)";
}

}  // namespace

TEST_CASE("store, get, list and erase follow the protocol", "[credhelper]") {
    Harness h;
    CHECK(h.run("store", R"({"ServerURL":"127.0.0.1:5000","Username":"alice","Secret":"pw1"})") == "");
    CHECK(h.run("store", R"({"ServerURL":"registry.example:443","Username":"bob","Secret":"pw2"})" "\n") == "");
    auto got = nlohmann::json::parse(h.run("get", "127.0.0.1:5000\n"));
    CHECK(got == nlohmann::json{{"ServerURL", "127.0.0.1:5000"}, {"Username", "alice"}, {"Secret", "pw1"}});
    CHECK(nlohmann::json::parse(h.run("list")) ==
          nlohmann::json{{"127.0.0.1:5000", "alice"}, {"registry.example:443", "bob"}});

    // Storing again for the same server replaces the entry.
    h.run("store", R"({"ServerURL":"127.0.0.1:5000","Username":"alice","Secret":"rotated"})");
    CHECK(nlohmann::json::parse(h.run("get", "127.0.0.1:5000"))["Secret"] == "rotated");

    CHECK(h.run("erase", "127.0.0.1:5000") == "");
    CHECK(error_of(h, "get", "127.0.0.1:5000") == credhelper::kNotFound);
    CHECK(nlohmann::json::parse(h.run("list")) == nlohmann::json{{"registry.example:443", "bob"}});
}

TEST_CASE("protocol errors are the messages clients recognise", "[credhelper]") {
    Harness h;
    CHECK(error_of(h, "get", "unknown.example") == credhelper::kNotFound);
    CHECK(error_of(h, "erase", "unknown.example") == credhelper::kNotFound);
    CHECK(error_of(h, "get", " \n") == credhelper::kMissingServerUrl);
    CHECK(error_of(h, "erase", "") == credhelper::kMissingServerUrl);
    CHECK(error_of(h, "store", R"({"Username":"a","Secret":"b"})") == credhelper::kMissingServerUrl);
    CHECK(error_of(h, "store", R"({"ServerURL":"x","Secret":"b"})") == credhelper::kMissingUsername);
    CHECK(error_of(h, "frobnicate", "") == "Unknown credential action `frobnicate`");
    CHECK(nlohmann::json::parse(h.run("list")) == nlohmann::json::object());
}

TEST_CASE("malformed store input is refused without echoing the secret or opening the store", "[credhelper]") {
    Harness h;
    const std::string message = error_of(h, "store", R"({"ServerURL":"x","Username":"u","Secret":"hunter2")");
    CHECK(message == "credentials to store are not a JSON object");
    CHECK(message.find("hunter2") == std::string::npos);
    CHECK(error_of(h, "store", R"(["x"])") == "credentials to store are not a JSON object");
    CHECK(error_of(h, "store", R"({"ServerURL":1,"Username":"u"})").find("ServerURL") != std::string::npos);
    CHECK(error_of(h, "get", "") == credhelper::kMissingServerUrl);
    CHECK(h.backend.opened == 0);
    CHECK(h.run("version").rfind("docker-credential-cmkfs (cmkfs) ", 0) == 0);
    CHECK(h.backend.opened == 0);
}

// Found by fuzz/credhelper.cpp (fuzz/regressions/credhelper/): nlohmann reports
// a number too large for a double as out_of_range, not parse_error, and its
// message quotes the number; it escaped as it was and was printed to stdout.
TEST_CASE("a store input with an overflowing number is refused without echoing it", "[credhelper]") {
    Harness h;
    const std::string message = error_of(h, "store", R"({"ServerURL":"x","Username":"u","Secret":31337e99999})");
    CHECK(message == "credentials to store are not a JSON object");
    CHECK(message.find("31337") == std::string::npos);
    CHECK(h.backend.opened == 0);
}
