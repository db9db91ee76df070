// Everything the azure-keyvault provider reads from the network: Key
// Vault's answers (error bodies, get key, wrapkey, unwrapkey), Bearer
// challenges and Retry-After headers, the token endpoint's answers and OAuth
// errors. Whoever answers in Key Vault's place (a proxy, a look-alike host)
// chooses these bytes. The whole input is used as each of them in turn.
#include <cstdint>
#include <ctime>
#include <string>

#include "answers.h"
#include "fuzz_support.h"

using namespace cmkfs;
using namespace cmkfs::azure;

namespace {
const KeyId &latest() {
    static const KeyId id = parse_key_id("https://fuzzvault.vault.azure.net/keys/cmk");
    return id;
}
const KeyId &versioned() {
    static const KeyId id = parse_key_id("https://fuzzvault.vault.azure.net/keys/cmk/0123456789abcdef0123456789abcdef");
    return id;
}

template <class Fn>
void expect_azure_error(Fn &&fn) {
    try {
        fn();
    } catch (const AzureError &) {
    }
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const std::string_view body = fuzz::as_text(data, size);
    const std::string text(body);

    HttpResponse response(nullptr);
    response.body.append(body);
    for (long status : {400L, 401L, 403L, 404L, 429L, 500L}) {
        response.status = status;
        const AzureError e = vault_error("unwrapkey", versioned(), response);
        FUZZ_CHECK(e.status() != CMKFS_OK);
    }
    response.headers["retry-after"] = text;
    response.headers["retry-after-ms"] = text;
    // A wait the caller can add to a steady_clock time point without overflow.
    const auto sane = [](std::optional<Millis> wait) {
        return !wait || (wait->count() >= 0 && *wait <= std::chrono::hours(24));
    };
    FUZZ_CHECK(sane(retry_after(response)));
    response.headers.erase("retry-after-ms");
    FUZZ_CHECK(sane(retry_after(response)));
    (void)challenge_params(text);

    expect_azure_error([&] {
        const KeyInfo info = key_info_from_answer("get key", latest(), body);
        FUZZ_CHECK(!info.versioned.version.empty());
    });
    expect_azure_error([&] {
        const Wrapped w = wrapped_from_answer("wrapkey", versioned(), body);
        FUZZ_CHECK(!w.value.empty() && w.versioned.version == versioned().version);
    });
    expect_azure_error([&] {
        sdk::SecretBuffer plain(nullptr);
        unwrapped_from_answer("unwrapkey", versioned(), body, plain);
        FUZZ_CHECK(!plain.empty());
    });
    if (auto token = token_from_answer(body, std::time(nullptr))) {
        FUZZ_CHECK(!token->access_token.empty());
        // The caller adds it to a steady_clock time point in nanoseconds.
        FUZZ_CHECK(token->lifetime_seconds >= 0 && token->lifetime_seconds <= 24 * 3600);
        FUZZ_CHECK(token->access_token.data() >= body.data() &&
                   token->access_token.data() + token->access_token.size() <= body.data() + body.size());
    }
    std::string error, description;
    parse_oauth_error(body, error, description);
    (void)classify_token_failure(400, error, description, true);
    return 0;
}
