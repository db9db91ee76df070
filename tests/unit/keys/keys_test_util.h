// Shared helpers for the keys tests: where the built plugins are (TempDir
// comes from support/temp_dir.h like everywhere else).
#pragma once

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

#include "support/temp_dir.h"

namespace cmkfs::test {

inline std::string build_dir() {
    if (const char *env = std::getenv("CMKFS_BUILD_DIR"); env != nullptr && *env != '\0') return env;
    return CMKFS_TEST_BUILD_DIR;
}
inline std::string plugin_build_dir() { return build_dir() + "/plugins"; }
inline std::string test_plugin_dir() { return build_dir() + "/tests/plugins"; }
inline std::string local_plugin() { return plugin_build_dir() + "/libcmkfs-provider-local.so"; }
// How many provider plugins the build made (local, pkcs11, ...): every one must list.
inline size_t built_plugin_count() {
    size_t n = 0;
    for (const auto &e : std::filesystem::directory_iterator(plugin_build_dir())) {
        const std::string name = e.path().filename().string();
        if (name.rfind("libcmkfs-provider-", 0) == 0 && e.path().extension() == ".so") ++n;
    }
    return n;
}
inline std::string test_plugin(const std::string &name) {
    return test_plugin_dir() + "/libcmkfs-provider-" + name + ".so";
}
inline std::string skeleton_plugin() {
    return build_dir() + "/examples/libcmkfs-provider-skeleton.so";
}

inline std::string slurp(const std::string &path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("cannot read " + path);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

inline void write_text(const std::string &path, const std::string &text) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << text;
    if (!out) throw std::runtime_error("cannot write " + path);
}

inline unsigned mode_of(const std::string &path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) throw std::runtime_error("stat " + path);
    return st.st_mode & 07777;
}

}  // namespace cmkfs::test
