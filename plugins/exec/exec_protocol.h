// The exec provider's wire protocol: one JSON request on the program's stdin,
// one JSON reply on its stdout, and what an exit code means when there is no
// reply. docs/providers/exec.md is the user-facing description.
#pragma once

#include <cmkfs/provider.h>

#include <chrono>
#include <string>
#include <string_view>

#include "child_process.h"

namespace cmkfs::exec {

enum class Op { wrap, unwrap, status };
const char *op_name(Op op);

// {"version":1,"op":"wrap","keyId":…,"identity":…,"data":"<base64>"} and a
// newline; "data" only for wrap and unwrap.
sdk::SecretBuffer make_request(Op op, std::string_view key_id, std::string_view identity,
                          const unsigned char *data, size_t len);

struct Reply {
    cmkfs_status status = CMKFS_ERR_INTERNAL;
    std::string message;  // failures: one line, never key material
    std::string key_id;   // the versioned key id the program reported, may be empty
    sdk::SecretBuffer data;  // decoded "data" (wrap, unwrap)
};

// What the program's run means for `op`. An "error" field in the reply wins;
// without one a non-zero exit code is looked up in the exit code table; a
// program killed at the deadline or by a signal is unavailable.
Reply interpret(Op op, const ChildOutcome &run, std::chrono::milliseconds timeout);

// The exit code table (sysexits.h where one fits):
//   65 invalid, 66 not_found, 69 unavailable, 75 unavailable, 77 denied,
//   79 disabled, anything else non-zero internal.
cmkfs_status status_for_exit_code(int code);

// Base64 (RFC 4648, padded) into secure memory; false on malformed input.
bool decode_base64(std::string_view text, sdk::SecretBuffer &out);
sdk::SecretBuffer encode_base64(const unsigned char *data, size_t len);

}  // namespace cmkfs::exec
