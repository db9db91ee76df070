// The exec provider's reply: whatever the program printed on stdout (bounded
// by ChildSpec::max_stdout), read for each operation with each kind of exit.
// Every outcome must be a Reply with a status and a one-line message.
#include <cstdint>
#include <string>

#include "exec_protocol.h"
#include "fuzz_support.h"

using namespace cmkfs;
using namespace cmkfs::exec;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > ChildSpec{}.max_stdout) return 0;  // the child is killed past this
    ChildOutcome run;
    run.exited = true;
    run.out.append(data, size);
    for (int code : {0, 1, 69, 77}) {
        run.exit_code = code;
        for (Op op : {Op::wrap, Op::unwrap, Op::status}) {
            const Reply r = interpret(op, run, std::chrono::milliseconds(1000));
            FUZZ_CHECK(r.message.find('\n') == std::string::npos);
            if (r.status == CMKFS_OK) {
                FUZZ_CHECK(code == 0);
                FUZZ_CHECK(r.key_id.size() < CMKFS_KEY_ID_MAX);
                if (op != Op::status) FUZZ_CHECK(!r.data.empty());
            } else {
                FUZZ_CHECK(!r.message.empty());
            }
        }
    }
    // The base64 codec alone, and its round trip.
    sdk::SecretBuffer decoded;
    const std::string_view text = fuzz::as_text(data, size);
    if (decode_base64(text, decoded)) {
        const sdk::SecretBuffer again = encode_base64(decoded.data(), decoded.size());
        sdk::SecretBuffer twice;
        FUZZ_CHECK(decoded.empty() || decode_base64(again.view(), twice));
        FUZZ_CHECK(decoded.empty() || twice.view() == decoded.view());
    }
    const sdk::SecretBuffer encoded = encode_base64(data, size);
    sdk::SecretBuffer back;
    if (size > 0) {
        FUZZ_CHECK(decode_base64(encoded.view(), back));
        FUZZ_CHECK(back.size() == size && std::equal(back.begin(), back.end(), data));
    }
    return 0;
}
