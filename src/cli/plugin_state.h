// The volume plugin's memory of Docker's mounts: volume name -> the mount IDs
// Docker holds on it. Written to STATE_DIR/mounts.json after every change
// (write to a temporary file, then rename) so that a restarted plugin still
// knows who uses which mount.
#pragma once

#include <map>
#include <set>
#include <string>

namespace cmkfs::cli {

class MountRecords {
public:
    explicit MountRecords(std::string file) : file_(std::move(file)) {}

    // Reads the file; a missing file is an empty record, an unreadable or
    // malformed one is logged and treated as empty (the caller reconciles
    // with the mount table anyway).
    void load();
    void save() const;

    std::map<std::string, std::set<std::string>> &volumes() { return volumes_; }
    const std::map<std::string, std::set<std::string>> &volumes() const { return volumes_; }

private:
    std::string file_;
    std::map<std::string, std::set<std::string>> volumes_;
};

}  // namespace cmkfs::cli
