#include "custody/audit_log.h"

#include <fcntl.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include "format/volume_header.h"
#include "util/errors.h"
#include "util/unique_fd.h"

namespace cmkfs::custody {

AuditLog::AuditLog(std::string path, std::string mountpoint, std::string volume_id)
    : path_(std::move(path)), mountpoint_(std::move(mountpoint)), volume_id_(std::move(volume_id)) {}

void AuditLog::record(const std::string &event, nlohmann::json fields) {
    fields["time"] = format::utc_now_rfc3339();
    fields["event"] = event;
    if (!mountpoint_.empty()) fields["mountpoint"] = mountpoint_;  // empty: an offline command
    fields["volumeId"] = volume_id_;
    const std::string line = fields.dump() + "\n";
    spdlog::info("audit: {}", fields.dump());
    if (path_.empty()) return;
    std::lock_guard guard(mutex_);
    UniqueFd fd(::open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600));
    if (!fd || ::write(fd.get(), line.data(), line.size()) != static_cast<ssize_t>(line.size()))
        spdlog::error("audit log not writable: {}", SystemError(errno, path_).what());
}

}  // namespace cmkfs::custody
