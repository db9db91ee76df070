#include "exec_config.h"

#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <set>

#include "errno_text.h"

namespace cmkfs::exec {

namespace {

constexpr int kMaxArgs = 64;

bool valid_env_name(const std::string &name) {
    if (name.empty() || (name[0] >= '0' && name[0] <= '9')) return false;
    return std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
    });
}

std::chrono::milliseconds parse_timeout(const std::string &text) {
    size_t digits = 0;
    while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
    const std::string unit = text.substr(digits);
    long long scale = 0;
    if (unit.empty() || unit == "s") scale = 1000;
    else if (unit == "ms") scale = 1;
    else if (unit == "m") scale = 60000;
    if (digits == 0 || digits > 9 || scale == 0)
        throw ConfigError("option timeout=" + text + ": expected a duration like 10s, 500ms or 2m");
    const long long ms = std::stoll(text.substr(0, digits)) * scale;
    if (ms < 1 || ms > 600000)
        throw ConfigError("option timeout=" + text + ": must be between 1ms and 10m");
    return std::chrono::milliseconds(ms);
}

void add_env(ExecConfig &cfg, std::set<std::string> &names, const std::string &name,
             const std::string *fixed_value) {
    if (!valid_env_name(name))
        throw ConfigError("option env: '" + name + "' is not a valid environment variable name");
    if (name == "PATH") throw ConfigError("option env: PATH is fixed to /usr/bin:/bin");
    if (!names.insert(name).second) throw ConfigError("option env: " + name + " given twice");
    if (fixed_value != nullptr) {
        cfg.environment.push_back(name + "=" + *fixed_value);
        return;
    }
    // Neither cmkfs nor any provider calls setenv, so reading the environment
    // from several threads is safe.
    const char *inherited = std::getenv(name.c_str());  // NOLINT(concurrency-mt-unsafe)
    if (inherited != nullptr) cfg.environment.push_back(name + "=" + inherited);
}

// "argN" -> N (1..64), else 0.
int arg_index(const std::string &key) {
    if (key.size() < 4 || key.size() > 5 || key.compare(0, 3, "arg") != 0 || key[3] == '0') return 0;
    int n = 0;
    for (size_t i = 3; i < key.size(); ++i) {
        if (key[i] < '0' || key[i] > '9') return 0;
        n = n * 10 + (key[i] - '0');
    }
    return n <= kMaxArgs ? n : 0;
}

std::string mode_string(mode_t mode) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(mode & 07777));
    return buf;
}

void check_owned_by_root(const std::string &program, const std::string &what, const std::string &path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0)
        throw ConfigError("exec program " + program + ": stat " + path + ": " + cmkfs::plugin::errno_text(errno));
    if (st.st_uid != 0)
        throw ConfigError("refusing exec program " + program + ": " + what + " " + path +
                          " is owned by uid " + std::to_string(st.st_uid) + ", not root");
    if (st.st_mode & (S_IWGRP | S_IWOTH))
        throw ConfigError("refusing exec program " + program + ": " + what + " " + path +
                          " is writable by group or others (mode " + mode_string(st.st_mode) + ")");
}

}  // namespace

ExecConfig parse_options(const char *const *options) {
    ExecConfig cfg;
    cfg.environment.emplace_back(kChildPath);
    std::map<int, std::string> args;
    std::set<std::string> seen;       // option keys
    std::set<std::string> env_names;  // variables named by env= and env.NAME=
    for (const char *const *o = options; o != nullptr && *o != nullptr; ++o) {
        const std::string opt = *o;
        const auto eq = opt.find('=');
        if (eq == std::string::npos) throw ConfigError("option '" + opt + "': expected key=value");
        const std::string key = opt.substr(0, eq);
        const std::string value = opt.substr(eq + 1);
        if (!seen.insert(key).second) throw ConfigError("option " + key + "= given twice");
        if (key == "program") {
            cfg.program = value;
        } else if (const int n = arg_index(key); n > 0) {
            args[n] = value;
        } else if (key == "env") {
            for (size_t start = 0; start <= value.size();) {
                const size_t comma = std::min(value.find(',', start), value.size());
                add_env(cfg, env_names, value.substr(start, comma - start), nullptr);
                start = comma + 1;
            }
        } else if (key.compare(0, 4, "env.") == 0) {
            add_env(cfg, env_names, key.substr(4), &value);
        } else if (key == "timeout") {
            cfg.timeout = parse_timeout(value);
        } else {
            throw ConfigError("unknown option '" + key + "' (known: program, arg1..arg64, env, env.NAME, timeout)");
        }
    }
    if (cfg.program.empty()) throw ConfigError("needs option program=/absolute/path/to/program");
    for (auto &[n, value] : args) cfg.args.push_back(std::move(value));
    return cfg;
}

void check_program(const std::string &program, bool owner_must_be_root) {
    if (program.empty() || program[0] != '/')
        throw ConfigError("exec program must be an absolute path, got '" + program + "'");
    char real[PATH_MAX];
    if (::realpath(program.c_str(), real) == nullptr)
        throw ConfigError("exec program " + program + ": " + cmkfs::plugin::errno_text(errno));
    struct stat st {};
    if (::stat(real, &st) != 0 || !S_ISREG(st.st_mode))
        throw ConfigError("exec program " + program + " is not a regular file");
    if (::access(real, X_OK) != 0)
        throw ConfigError("exec program " + program + " is not executable: " + cmkfs::plugin::errno_text(errno));
    if (!owner_must_be_root) return;
    const std::string file = real;
    check_owned_by_root(program, "file", file);
    check_owned_by_root(program, "directory", file.substr(0, std::max<size_t>(file.rfind('/'), 1)));
}

}  // namespace cmkfs::exec
