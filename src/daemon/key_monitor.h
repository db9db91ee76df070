// Keeps a mounted volume's key state true to the provider. Unlocked: the
// wrapped volume key is unwrapped again every check interval; a revocation
// (denied, disabled, not found) locks at once, an outage locks only after the
// grace period. Locked: retries with backoff (1 s doubling up to the check
// interval) and unlocks by itself when the provider unwraps the same key.
// An emergency lock by the operator is not lifted automatically.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "daemon/audit_log.h"
#include "keys/key_provider.h"
#include "store/keyring.h"
#include "store/volume.h"

namespace cmkfs::daemon {

struct MonitorOptions {
    std::chrono::seconds check_interval{30};
    std::chrono::seconds unavailable_grace{300};
};

struct MonitorStatus {
    bool locked = true;
    bool emergency = false;
    std::string reason;
    std::chrono::system_clock::time_point since;
    std::optional<std::chrono::system_clock::time_point> last_check;
    std::optional<std::chrono::system_clock::time_point> last_success;
    std::chrono::system_clock::time_point next_check;
    std::string last_result;  // "ok", "denied: …", "unavailable: …"
};

class KeyMonitor {
public:
    KeyMonitor(store::Volume &volume, keys::KeyProvider &provider, store::Keyring &keyring,
               MonitorOptions options, AuditLog &audit);
    ~KeyMonitor();
    KeyMonitor(const KeyMonitor &) = delete;
    KeyMonitor &operator=(const KeyMonitor &) = delete;

    // First unlock at mount. When the key is not accessible: rethrows the
    // provider's error, or with wait_for_key stays locked (the monitor keeps
    // trying) and returns false. IntegrityError (a key that is not this
    // volume's) always propagates.
    bool unlock_at_mount(bool wait_for_key);

    void start();
    void stop();

    MonitorStatus status() const;
    // Operator's emergency lock: holds until unlock_by_operator().
    void emergency_lock();
    // Clears an emergency lock after re-checking the key; returns the status.
    MonitorStatus unlock_by_operator();

private:
    enum class Outcome { unlocked, revoked, unavailable };
    Outcome try_unwrap(std::string &detail, std::optional<format::VolumeKeys> &keys);
    void check_once();
    void run();
    void lock(const std::string &reason);

    store::Volume &volume_;
    keys::KeyProvider &provider_;
    store::Keyring &keyring_;
    MonitorOptions options_;
    AuditLog &audit_;

    mutable std::mutex mutex_;
    std::condition_variable wake_;
    bool stopping_ = false;
    bool emergency_ = false;
    std::chrono::seconds backoff_{1};
    std::optional<std::chrono::steady_clock::time_point> unavailable_since_;
    std::optional<std::chrono::system_clock::time_point> last_check_;
    std::optional<std::chrono::system_clock::time_point> last_success_;
    std::chrono::system_clock::time_point next_check_;
    std::string last_result_;
    std::thread thread_;
};

}  // namespace cmkfs::daemon
