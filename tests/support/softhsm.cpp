#include "support/softhsm.h"

#include <sys/stat.h>
#include <unistd.h>

#include <openssl/rand.h>

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>

namespace cmkfs::test {

namespace {

std::string hex(const unsigned char *p, size_t n) {
    static const char digits[] = "0123456789abcdef";
    std::string out;
    for (size_t i = 0; i < n; ++i) {
        out += digits[p[i] >> 4];
        out += digits[p[i] & 15];
    }
    return out;
}

std::string random_hex(size_t bytes) {
    std::vector<unsigned char> b(bytes);
    if (RAND_bytes(b.data(), static_cast<int>(b.size())) != 1) throw std::runtime_error("RAND_bytes failed");
    return hex(b.data(), b.size());
}

void require_ok(const CommandResult &r, const std::string &what) {
    if (r.exit_code != 0)
        throw std::runtime_error(what + " failed (exit " + std::to_string(r.exit_code) + "): " + r.err + r.out);
}

// RFC 3986 percent-encoding of everything but unreserved characters.
std::string uri_escape(const std::string &s) {
    std::string out;
    for (unsigned char c : s) {
        if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
            out += static_cast<char>(c);
        } else {
            char buf[4];
            std::snprintf(buf, sizeof buf, "%%%02X", c);
            out += buf;
        }
    }
    return out;
}

std::string tool_path() { return build_dir() + "/tests/support/cmkfs-test-softhsm"; }

}  // namespace

SoftHsm::SoftHsm() : SoftHsm(Options{}) {}

SoftHsm::SoftHsm(Options options) : options_(std::move(options)), pin_(options_.user_pin) {
    if (const char *old = std::getenv("SOFTHSM2_CONF")) saved_conf_env_ = old;
    const std::string tokens = dir_ / "tokens";
    std::filesystem::create_directory(tokens);
    conf_ = dir_ / "softhsm2.conf";
    write_file(conf_, "directories.tokendir = " + tokens +
                          "\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n");
    ::setenv("SOFTHSM2_CONF", conf_.c_str(), 1);
    require_ok(run({"softhsm2-util", "--init-token", "--free", "--label", options_.token_label, "--so-pin",
                    options_.so_pin, "--pin", options_.user_pin}),
               "softhsm2-util --init-token");
    pin_file_ = dir_ / "user.pin";
    write_pin_file(pin_);
}

SoftHsm::~SoftHsm() {
    if (saved_conf_env_) ::setenv("SOFTHSM2_CONF", saved_conf_env_->c_str(), 1);
    else ::unsetenv("SOFTHSM2_CONF");
}

std::string SoftHsm::module_path() { return "/usr/lib/softhsm/libsofthsm2.so"; }

std::vector<std::string> SoftHsm::provider_options() const {
    return {"module=" + module_path(), "pin_file=" + pin_file_};
}

std::vector<std::string> SoftHsm::init_args() const {
    return {"--provider-option", "module=" + module_path(), "--provider-option", "pin_file=" + pin_file_};
}

void SoftHsm::write_pin_file(const std::string &pin) {
    const std::string tmp = pin_file_ + ".tmp";
    write_file(tmp, pin + "\n");
    ::chmod(tmp.c_str(), 0600);
    std::filesystem::rename(tmp, pin_file_);
}

CommandResult SoftHsm::tool(const std::vector<std::string> &args, const std::string &input) {
    std::vector<std::string> argv{tool_path()};
    argv.insert(argv.end(), args.begin(), args.end());
    return run(argv, input);
}

std::string SoftHsm::create_aes_key(const std::string &label, size_t bytes, const std::string &usage) {
    for (const auto &k : keys_)
        if (k.label == label) throw std::runtime_error("SoftHsm: key " + label + " created twice");
    Key k{label, random_hex(8), random_hex(bytes), usage};
    import(k);
    keys_.push_back(k);
    return key_uri(label);
}

const SoftHsm::Key &SoftHsm::key(const std::string &label) const {
    for (const auto &k : keys_)
        if (k.label == label) return k;
    throw std::runtime_error("SoftHsm: no key " + label + " was created");
}

std::string SoftHsm::key_uri(const std::string &label) const {
    return "pkcs11:token=" + uri_escape(options_.token_label) + ";object=" + uri_escape(label);
}

std::string SoftHsm::key_id_hex(const std::string &label) const { return key(label).id_hex; }

void SoftHsm::import(const Key &k) {
    require_ok(tool({"import-key", module_path(), options_.token_label, pin_, k.label, k.id_hex, k.usage},
                    k.value_hex + "\n"),
               "import key " + k.label);
}

void SoftHsm::delete_key(const std::string &label) {
    key(label);
    require_ok(tool({"delete-key", module_path(), options_.token_label, pin_, label}), "delete key " + label);
}

void SoftHsm::reimport_key(const std::string &label) { import(key(label)); }

void SoftHsm::change_pin(const std::string &new_pin) {
    require_ok(tool({"set-pin", module_path(), options_.token_label, pin_, new_pin}), "change PIN");
    pin_ = new_pin;
}

}  // namespace cmkfs::test
