// The example key service of the exec provider
// (examples/exec-openssl/cmkfs-kms-openssl) set up in a scratch directory:
// a safe copy of the program, a key directory with key "k" and one identity
// allowed to use it. Tests revoke and restore access through admin().
#pragma once

#include <sys/stat.h>

#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "support/process.h"

namespace cmkfs::test {

struct ExampleKms {
    explicit ExampleKms(const std::string &dir, const std::string &identity_ = "test-id")
        : program(dir + "/cmkfs-kms-openssl"), keys(dir + "/keys"), identity(identity_) {
        std::filesystem::create_directories(dir);
        // A private copy: as root, the exec provider runs only programs that
        // are root-owned and not writable by others, whatever the checkout's umask.
        std::filesystem::copy_file(source_dir() + "/examples/exec-openssl/cmkfs-kms-openssl", program);
        ::chmod(program.c_str(), 0755);
        // 2048-bit keys keep key generation quick in tests (the default is 3072).
        const std::string out = admin({"create-key", "k", "--bits", "2048"});
        kid = nlohmann::json::parse(out).at("kid").get<std::string>();
        admin({"grant", "k", identity});
    }

    std::string program;
    std::string keys;
    std::string identity;
    std::string kid;  // "openssl:k/1"

    // program=, arg1=--keys, arg2=DIR: what `cmkfs init --provider exec` needs.
    std::vector<std::string> provider_options() const {
        return {"program=" + program, "arg1=--keys", "arg2=" + keys};
    }
    // --provider-option flags for `cmkfs init`.
    std::vector<std::string> init_args() const {
        std::vector<std::string> args{"--provider", "exec"};
        for (const auto &o : provider_options()) {
            args.push_back("--provider-option");
            args.push_back(o);
        }
        return args;
    }
    // Runs an admin command (grant, revoke, disable, delete, offline, …).
    std::string admin(const std::vector<std::string> &args) const {
        std::vector<std::string> argv{program, "--keys", keys};
        argv.insert(argv.end(), args.begin(), args.end());
        CommandResult r = run(argv);
        if (r.exit_code != 0)
            throw std::runtime_error("cmkfs-kms-openssl " + args.at(0) + " failed: " + r.err + r.out);
        return r.out;
    }
};

}  // namespace cmkfs::test
