#include "cli/plugin_state.h"

#include <unistd.h>


#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "util/errors.h"
#include "util/file_io.h"

namespace cmkfs::cli {

namespace {
constexpr size_t kMaxStateBytes = 4 * 1024 * 1024;
}

void MountRecords::load() {
    volumes_.clear();
    if (::access(file_.c_str(), F_OK) != 0) return;
    try {
        const std::string text = read_text_file(file_);
        if (text.size() > kMaxStateBytes) throw Error(EFBIG, "larger than 4 MiB");
        const nlohmann::json doc = nlohmann::json::parse(text);
        for (const auto &[name, ids] : doc.at("volumes").items()) {
            auto &set = volumes_[name];
            for (const auto &id : ids) set.insert(id.get<std::string>());
        }
    } catch (const std::exception &e) {
        spdlog::warn("ignoring the plugin state in {}: {} (mounts are found again from the mount table)", file_,
                     e.what());
        volumes_.clear();
    }
}

void MountRecords::save() const {
    nlohmann::json doc = {{"volumes", nlohmann::json::object()}};
    for (const auto &[name, ids] : volumes_) doc["volumes"][name] = ids;
    write_text_file_atomic(file_, doc.dump(2) + "\n", 0600);
}

}  // namespace cmkfs::cli
