// Where the user PIN comes from: a file (pin_file=, mode 0600 or stricter) or
// an environment variable (pin_env=). Read again at every login, so a PIN
// changed on the token and in the file is picked up without a remount. The
// PIN is never logged and never part of an error message.
#pragma once

#include <cmkfs/provider.h>

#include <optional>
#include <string>

#include <cmkfs/secret_buffer.h>

namespace cmkfs::p11 {

class PinSource {
public:
    enum class Kind { none, file, env };

    static PinSource none() { return PinSource(Kind::none, ""); }
    // Throws P11Error(INVALID) when path is not absolute.
    static PinSource file(const std::string &path);
    static PinSource env(const std::string &name);

    Kind kind() const { return kind_; }
    // "pin_file=/etc/…" or "pin_env=NAME", for messages.
    std::string describe() const;
    // The PIN without a trailing newline. Throws P11Error(DENIED) when it
    // cannot be read, or INVALID when the file is unsafe or the PIN empty.
    sdk::SecretBuffer read(const cmkfs_host &host) const;

private:
    PinSource(Kind kind, std::string where) : kind_(kind), where_(std::move(where)) {}
    Kind kind_;
    std::string where_;
};

}  // namespace cmkfs::p11
