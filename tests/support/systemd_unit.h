// The systemd units under dist/systemd as the unit tests use them: the
// configured unit from the build tree, the same with its installed paths moved
// to the binary under test and the test's scratch, and its `key=` values.
#pragma once

#include <string>
#include <vector>

namespace cmkfs::test {

// `text` with every `from` replaced by `to`.
std::string replace_all(std::string text, const std::string &from, const std::string &to);

// dist/systemd/<name> as configured into the build tree.
std::string configured_unit(const std::string &name);

// That unit with the installed cmkfs replaced by the cmkfs under test and
// /etc/cmkfs/ by `config_dir`; systemd specifiers (%i) stay.
std::string unit_for_test(const std::string &name, const std::string &config_dir);

// Values of `key=` lines, in order.
std::vector<std::string> values_of(const std::string &unit, const std::string &key);

}  // namespace cmkfs::test
