// The `exec` key provider: any KMS through a program. Each wrap, unwrap and
// check runs the configured program once (no shell, scrubbed environment,
// bounded time and output) and exchanges one JSON request and reply with it
// (exec_protocol.h). The program is the customer's adapter to Vault transit,
// a cloud KMS CLI or an HSM tool; see docs/providers/exec.md.
//
// Thread safety: an instance holds only its configuration, fixed at open;
// every call has its own child process, pipes and buffers.
#include <cmkfs/provider.h>
#include <cmkfs/provider_sdk.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <new>
#include <string>

#include "child_process.h"
#include "exec_config.h"
#include "exec_protocol.h"

namespace {

using namespace cmkfs::exec;
namespace sdk = cmkfs::sdk;

struct Instance {
    cmkfs_host host{};  // zero-extended copy of what the host passed
    ExecConfig config;
    bool as_root = false;  // programs must then be root-owned and not writable by others
    std::string program_name;  // basename, for log lines
};

void log(const Instance &inst, cmkfs_log_level level, const std::string &msg) { sdk::log(&inst.host, level, msg); }

// Every message of this provider names it: the program's own words follow.
void set_message(cmkfs_result *result, const std::string &msg) { sdk::set_message(result, "exec: " + msg); }

// A program need not report a versioned key id.
void set_kid(cmkfs_result *result, const std::string &kid) {
    if (!kid.empty()) sdk::set_kid(result, kid);
}

// Runs the program for one request. Never throws.
Reply call_program(const Instance &inst, Op op, const cmkfs_key_ref *key, const uint8_t *data, size_t len) {
    Reply r;
    try {
        if (key == nullptr || key->key_id == nullptr || key->key_id[0] == '\0') {
            r.message = "no key id given";
            r.status = CMKFS_ERR_INVALID;
            return r;
        }
        check_program(inst.config.program, inst.as_root);
        ChildSpec spec;
        spec.program = inst.config.program;
        spec.args = inst.config.args;
        spec.environment = inst.config.environment;
        spec.timeout = inst.config.timeout;
        const sdk::SecretBuffer request =
            make_request(op, key->key_id, key->identity != nullptr ? key->identity : "", data, len);
        const auto started = std::chrono::steady_clock::now();
        const ChildOutcome run = run_child(spec, request.view(), [&](std::string_view line) {
            log(inst, CMKFS_LOG_WARN, inst.program_name + " (stderr): " + std::string(line));
        });
        r = interpret(op, run, inst.config.timeout);
        const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::steady_clock::now() - started).count();
        log(inst, CMKFS_LOG_DEBUG, std::string(op_name(op)) + " " + key->key_id + ": " +
                                       (r.status == CMKFS_OK ? "ok" : r.message) + " (" +
                                       std::to_string(ms) + " ms)");
    } catch (const ConfigError &e) {
        r.status = CMKFS_ERR_INTERNAL;
        r.message = e.what();
    } catch (const SpawnError &e) {
        r.status = CMKFS_ERR_INTERNAL;
        r.message = e.what();
    } catch (const std::bad_alloc &) {
        r.status = CMKFS_ERR_INTERNAL;
        r.message = "out of (secure) memory";
    } catch (const std::exception &e) {
        r.status = CMKFS_ERR_INTERNAL;
        r.message = e.what();
    }
    return r;
}

// Copies reply data to the caller's buffer, or asks for a larger one.
cmkfs_status deliver(const Reply &r, uint8_t *out, size_t *out_len, cmkfs_result *result) {
    return sdk::deliver(r.data.data(), r.data.size(), out, out_len, result, "exec: output");
}

cmkfs_status exec_open(const cmkfs_host *host, const char *const *options, void **instance,
                       cmkfs_result *result) {
    if (instance == nullptr) return CMKFS_ERR_INVALID;
    *instance = nullptr;
    // A bad option or an unsafe program is the caller's error (INVALID).
    const sdk::Fence fence{nullptr, "exec: ", "exec: ", ""};
    return sdk::guarded<ConfigError>(fence, "open", result, [&] {
        auto inst = std::make_unique<Instance>();
        inst->host = sdk::copy_host(host);
        inst->config = parse_options(options);
        inst->as_root = ::geteuid() == 0;
        check_program(inst->config.program, inst->as_root);
        inst->program_name = inst->config.program.substr(inst->config.program.rfind('/') + 1);
        *instance = inst.release();
        return CMKFS_OK;
    }, [](const ConfigError &) { return CMKFS_ERR_INVALID; });
}

void exec_close(void *instance) { delete static_cast<Instance *>(instance); }

cmkfs_status exec_wrap(void *instance, const cmkfs_key_ref *key, const uint8_t *plain, size_t plain_len,
                       uint8_t *wrapped, size_t *wrapped_len, cmkfs_result *result) {
    if (instance == nullptr || plain == nullptr || wrapped_len == nullptr) return CMKFS_ERR_INVALID;
    Reply r = call_program(*static_cast<Instance *>(instance), Op::wrap, key, plain, plain_len);
    if (r.status != CMKFS_OK) {
        set_message(result, r.message);
        return r.status;
    }
    set_kid(result, r.key_id);
    return deliver(r, wrapped, wrapped_len, result);
}

cmkfs_status exec_unwrap(void *instance, const cmkfs_key_ref *key, const uint8_t *wrapped,
                         size_t wrapped_len, uint8_t *plain, size_t *plain_len, cmkfs_result *result) {
    if (instance == nullptr || plain_len == nullptr || (wrapped == nullptr && wrapped_len > 0))
        return CMKFS_ERR_INVALID;
    Reply r = call_program(*static_cast<Instance *>(instance), Op::unwrap, key, wrapped, wrapped_len);
    if (r.status != CMKFS_OK) {
        set_message(result, r.message);
        return r.status;
    }
    set_kid(result, r.key_id);
    return deliver(r, plain, plain_len, result);
}

cmkfs_status exec_check(void *instance, const cmkfs_key_ref *key, cmkfs_result *result) {
    if (instance == nullptr) return CMKFS_ERR_INVALID;
    Reply r = call_program(*static_cast<Instance *>(instance), Op::status, key, nullptr, 0);
    if (r.status != CMKFS_OK) {
        set_message(result, r.message);
        return r.status;
    }
    set_kid(result, r.key_id);
    return CMKFS_OK;
}

const cmkfs_provider kTable = {
    sizeof(cmkfs_provider),
    CMKFS_PROVIDER_ABI_VERSION,
    "exec",
    "any KMS through an external program (JSON on stdin/stdout)",
    exec_open,
    exec_close,
    exec_wrap,
    exec_unwrap,
    exec_check,
};

}  // namespace

extern "C" __attribute__((visibility("default"))) const cmkfs_provider *cmkfs_provider_entry(
    const cmkfs_host *host) {
    if (host == nullptr || host->abi_version != CMKFS_PROVIDER_ABI_VERSION) return nullptr;
    return &kTable;
}
