// An environment variable set for the commands a test runs while the guard
// lives (CMKFS_FAULT, PATH, ...), put back as it was at destruction.
#pragma once

#include <cstdlib>
#include <optional>
#include <string>

namespace cmkfs::test {

class ScopedEnv {
public:
    ScopedEnv(const char *name, const std::string &value) : name_(name) {
        if (const char *old = std::getenv(name)) old_ = old;
        ::setenv(name, value.c_str(), 1);
    }
    ~ScopedEnv() {
        if (old_) ::setenv(name_, old_->c_str(), 1);
        else ::unsetenv(name_);
    }
    ScopedEnv(const ScopedEnv &) = delete;
    ScopedEnv &operator=(const ScopedEnv &) = delete;

private:
    const char *name_;
    std::optional<std::string> old_;
};

}  // namespace cmkfs::test
