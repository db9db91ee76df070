// A custodian over a real store on a temporary directory, with the scripted
// provider, a fake clock, an audit log in a file and two recording observers:
// everything a unit test of key custody looks at, no mount.
#pragma once

#include <filesystem>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "custody/audit_log.h"
#include "custody/custodian.h"
#include "store/keyring.h"
#include "store/volume.h"
#include "support/process.h"
#include "unit/custody/fake_clock.h"
#include "unit/custody/scripted_provider.h"
#include "util/errors.h"
#include "util/file_io.h"

namespace cmkfs::test {

// Writes each event as "<name>:<event>:<detail>" into a shared list; at a
// lock it also notes whether the keyring still held the keys.
class RecordingObserver final : public custody::Observer {
public:
    RecordingObserver(std::string name, std::vector<std::string> &log, std::mutex &mutex, store::Keyring &ring)
        : name_(std::move(name)), log_(log), mutex_(mutex), ring_(ring) {}
    void key_checked(custody::CheckResult r) override { add(std::string("checked:") + to_string(r)); }
    void before_wipe(custody::LockReason r) override {
        add(std::string("before_wipe:") + to_string(r) + (keys() ? ":keys" : ":no-keys"));
    }
    void key_locked(custody::LockReason r) override {
        add(std::string("locked:") + to_string(r) + (keys() ? ":keys" : ":no-keys"));
    }
    void key_unlocked(custody::UnlockReason r) override { add(std::string("unlocked:") + to_string(r)); }
    void key_state(bool unlocked, const custody::KeyIdentity &key) override {
        add(std::string("state:") + (unlocked ? "unlocked:" : "locked:") + key.key_id);
    }

private:
    bool keys() const {
        try {
            (void)ring_.access();
            return true;
        } catch (const LockedError &) {
            return false;
        }
    }
    void add(const std::string &event) {
        std::lock_guard guard(mutex_);
        log_.push_back(name_ + ":" + event);
    }
    std::string name_;
    std::vector<std::string> &log_;
    std::mutex &mutex_;
    store::Keyring &ring_;
};

struct CustodyRig {
    explicit CustodyRig(const std::string &key_id = "k/v1",
                        custody::Policy policy = {std::chrono::seconds(30), std::chrono::seconds(300)},
                        bool reread_header = false) {
        std::filesystem::create_directory(backing);
        store::InitOptions init;
        init.provider = "scripted";
        init.key_id = key_id;
        init.identity = "id";
        made = store::init_volume(backing, *provider, init);
        volume = std::make_unique<store::Volume>(backing);
        store::TrustAnchor anchor;
        anchor.key_commitment = made.key_commitment;  // as a mount with a binding: every unwrap is checked
        volume->set_trust_anchor(anchor);
        custody::CustodyOptions options;
        options.policy = policy;
        options.reread_header_each_check = reread_header;
        custodian = std::make_unique<custody::Custodian>(*volume, provider, keyring, options, audit, clock);
        custodian->add_observer(first);
        custodian->add_observer(second);
    }
    ~CustodyRig() { custodian->stop(); }

    bool keys_installed() const {
        try {
            (void)keyring.access();
            return true;
        } catch (const LockedError &) {
            return false;
        }
    }
    // The observers' events since the last call.
    std::vector<std::string> take_events() {
        std::lock_guard guard(events_mutex);
        std::vector<std::string> out;
        out.swap(events);
        return out;
    }
    std::vector<nlohmann::json> audit_lines() const {
        std::vector<nlohmann::json> out;
        if (!std::filesystem::exists(audit_path)) return out;
        std::istringstream in(read_text_file(audit_path));
        for (std::string line; std::getline(in, line);) out.push_back(nlohmann::json::parse(line));
        return out;
    }
    std::vector<std::string> audit_events() const {
        std::vector<std::string> out;
        for (const auto &line : audit_lines()) out.push_back(line.at("event"));
        return out;
    }
    custody::Status status() const { return custodian->status(); }

    TempDir dir;
    const std::string backing = dir / "backing";
    const std::string audit_path = dir / "audit.jsonl";
    std::shared_ptr<ScriptedProvider> provider = std::make_shared<ScriptedProvider>();
    store::InitResult made;
    std::unique_ptr<store::Volume> volume;
    store::Keyring keyring;
    custody::AuditLog audit{audit_path, "/mnt/test", "volume-id"};
    FakeClock clock;
    std::mutex events_mutex;
    std::vector<std::string> events;
    RecordingObserver first{"first", events, events_mutex, keyring};
    RecordingObserver second{"second", events, events_mutex, keyring};
    std::unique_ptr<custody::Custodian> custodian;
};

}  // namespace cmkfs::test
