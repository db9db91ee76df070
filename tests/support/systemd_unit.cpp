#include "support/systemd_unit.h"

#include <filesystem>
#include <sstream>

#include "support/process.h"

namespace cmkfs::test {

std::string replace_all(std::string text, const std::string &from, const std::string &to) {
    for (size_t pos = 0; (pos = text.find(from, pos)) != std::string::npos; pos += to.size())
        text.replace(pos, from.size(), to);
    return text;
}

std::string configured_unit(const std::string &name) { return read_file(build_dir() + "/dist/systemd/" + name); }

std::string unit_for_test(const std::string &name, const std::string &config_dir) {
    // CMKFS_INSTALL_BINDIR: the configured install prefix (tests/CMakeLists.txt).
    std::string unit = replace_all(configured_unit(name), CMKFS_INSTALL_BINDIR "/cmkfs",
                                   std::filesystem::absolute(cmkfs_binary()));
    return replace_all(unit, "/etc/cmkfs/", config_dir + "/");
}

std::vector<std::string> values_of(const std::string &unit, const std::string &key) {
    std::vector<std::string> values;
    std::istringstream in(unit);
    for (std::string line; std::getline(in, line);)
        if (line.rfind(key + "=", 0) == 0) values.push_back(line.substr(key.size() + 1));
    return values;
}

}  // namespace cmkfs::test
