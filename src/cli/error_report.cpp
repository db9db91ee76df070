#include "cli/error_report.h"

#include <exception>

#include "cli/command_error.h"
#include "cli/exit_codes.h"
#include "config/config.h"
#include "keys/key_provider.h"
#include "util/errors.h"

namespace cmkfs::cli {

int exit_code_for_current_exception(std::string &message) noexcept {
    try {
        throw;
    } catch (const CommandError &e) {
        message = e.what();
        return e.code();
    } catch (const config::ConfigError &e) {
        message = e.what();
        return kConfigError;
    } catch (const keys::PluginLoadError &e) {
        message = e.what();
        return kProviderError;
    } catch (const keys::ProviderError &e) {
        message = e.what();
        if (keys::is_revocation(e.status())) return kKeyAccessDenied;
        return e.status() == keys::ProviderStatus::unavailable ? kKeyUnavailable : kFailure;
    } catch (const IntegrityError &e) {
        message = e.what();
        return kVolumeCorrupt;
    } catch (const UsageError &e) {
        message = e.what();
        return kUsage;
    } catch (const std::exception &e) {
        message = e.what();
        return kFailure;
    } catch (...) {
        message = "unknown error";
        return kFailure;
    }
}

}  // namespace cmkfs::cli
