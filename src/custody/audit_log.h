// The key custody audit trail: one JSON object per line, appended with a single
// write so concurrent writers never interleave. Records key checks that change
// state, lock/unlock transitions and rotations, with their reasons. Never key
// material.
#pragma once

#include <mutex>
#include <string>

#include <nlohmann/json.hpp>

namespace cmkfs::custody {

class AuditLog {
public:
    // Empty path: audit lines go to the diagnostic log only.
    explicit AuditLog(std::string path, std::string mountpoint, std::string volume_id);
    void record(const std::string &event, nlohmann::json fields = nlohmann::json::object());
    const std::string &path() const { return path_; }

private:
    std::mutex mutex_;
    std::string path_;
    std::string mountpoint_;
    std::string volume_id_;
};

}  // namespace cmkfs::custody
