// The exec provider's options: which program to run, with which fixed
// arguments and environment, for how long.
#pragma once

#include <chrono>
#include <stdexcept>
#include <string>
#include <vector>

namespace cmkfs::exec {

// A bad option or an unsafe program; maps to CMKFS_ERR_INVALID.
class ConfigError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

struct ExecConfig {
    std::string program;                  // absolute path
    std::vector<std::string> args;        // after argv[0], in order
    std::vector<std::string> environment;  // "NAME=VALUE", PATH first
    std::chrono::milliseconds timeout{10000};
};

inline constexpr const char *kChildPath = "PATH=/usr/bin:/bin";

// Options (each "key=value"; a key may appear once, because the volume
// header and the config keep options as a map):
//   program=/abs/path   required
//   arg1=V, arg2=V, …   fixed arguments, in numeric order (arg1..arg64)
//   env=NAME[,NAME…]    pass these from cmkfs's environment (unset ones skipped)
//   env.NAME=VALUE      set NAME to a fixed, non-secret VALUE
//   timeout=DUR         per call: "10", "10s", "500ms", "2m" (default 10 s, max 10 min)
// Throws ConfigError naming the offending option.
ExecConfig parse_options(const char *const *options);

// Refuses a program that is not an absolute path to an executable regular
// file; when `owner_must_be_root`, also one (or whose directory) is not owned
// by root or is writable by group or others. Throws ConfigError.
void check_program(const std::string &program, bool owner_must_be_root);

}  // namespace cmkfs::exec
