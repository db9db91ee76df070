#include <utility>

#include "config/config.h"

namespace cmkfs::config {

namespace {
std::string compose(const std::string &file, int line, int column, const std::string &key_path,
                    const std::string &detail) {
    std::string out = file;
    if (line > 0) out += ":" + std::to_string(line) + ":" + std::to_string(column);
    out += ": ";
    if (!key_path.empty()) out += key_path + ": ";
    return out + detail;
}
}  // namespace

ConfigError::ConfigError(std::string file, int line, int column, std::string key_path,
                         std::string detail)
    : UsageError(compose(file, line, column, key_path, detail)),
      file_(std::move(file)),
      line_(line),
      column_(column),
      key_path_(std::move(key_path)),
      detail_(std::move(detail)) {}

ConfigError::ConfigError(std::string file, std::string detail)
    : ConfigError(std::move(file), 0, 0, "", std::move(detail)) {}

}  // namespace cmkfs::config
