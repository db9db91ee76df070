// A real SoftHSM2 token for tests: its own SOFTHSM2_CONF and token directory
// in a TempDir, a user PIN in a PIN file, and AES keys the test imports (so it
// can delete a key and import the same material again). Token changes run in
// a separate process (cmkfs-test-softhsm), never through the plugin under test.
//
// Constructing a SoftHsm sets SOFTHSM2_CONF in this process's environment
// (restored at destruction): an in-process plugin and every child process
// (cmkfs init/mount) then see this token. Use one SoftHsm at a time per process.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "support/process.h"

namespace cmkfs::test {

class SoftHsm {
public:
    struct Options {
        std::string token_label = "cmkfs-test";
        std::string user_pin = "4711-user";
        std::string so_pin = "0815-so-pin";
    };
    SoftHsm();
    explicit SoftHsm(Options options);
    ~SoftHsm();
    SoftHsm(const SoftHsm &) = delete;
    SoftHsm &operator=(const SoftHsm &) = delete;

    static std::string module_path();  // Debian's libsofthsm2.so
    const std::string &token_label() const { return options_.token_label; }
    const std::string &user_pin() const { return pin_; }  // the token's PIN now
    const std::string &pin_file() const { return pin_file_; }
    const std::string &conf_path() const { return conf_; }
    TempDir &dir() { return dir_; }

    // "module=…", "pin_file=…" for keys::load_provider.
    std::vector<std::string> provider_options() const;
    // The same as `--provider-option module=… --provider-option pin_file=…`.
    std::vector<std::string> init_args() const;

    // Imports a random AES key of `bytes` bytes with this label and a CKA_ID
    // derived from it; `usage` is a subset of "edwu" (encrypt, decrypt, wrap,
    // unwrap). Returns its URI: pkcs11:token=…;object=LABEL.
    std::string create_aes_key(const std::string &label, size_t bytes = 32, const std::string &usage = "edwu");
    std::string key_uri(const std::string &label) const;
    std::string key_id_hex(const std::string &label) const;

    void delete_key(const std::string &label);
    // Imports the material, id and usage `label` had when created again.
    void reimport_key(const std::string &label);
    // C_SetPIN on the token (the PIN file is left as it is).
    void change_pin(const std::string &new_pin);
    void write_pin_file(const std::string &pin);

private:
    struct Key {
        std::string label;
        std::string id_hex;
        std::string value_hex;
        std::string usage;
    };
    const Key &key(const std::string &label) const;
    void import(const Key &k);
    CommandResult tool(const std::vector<std::string> &args, const std::string &input = "");

    Options options_;
    TempDir dir_;
    std::string conf_;
    std::string pin_file_;
    std::string pin_;
    std::optional<std::string> saved_conf_env_;
    std::vector<Key> keys_;
};

}  // namespace cmkfs::test
