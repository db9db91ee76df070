#include "fs/op_guard.h"

#include <exception>

namespace cmkfs::fs {

int current_exception_errno(const char *op) noexcept {
    try {
        throw;
    } catch (const IntegrityError &e) {
        // Already logged with the file and block by the store; say which op.
        spdlog::error("{}: {}", op, e.what());
        return EIO;
    } catch (const LockedError &) {
        return EACCES;
    } catch (const keys::ProviderError &e) {
        spdlog::error("{}: key provider: {}", op, e.what());
        return e.error_number();
    } catch (const Error &e) {
        int err = e.error_number();
        if (err == 0) err = EIO;
        if (err != ENOENT && err != EEXIST && err != ENOTEMPTY && err != ENODATA && err != EACCES)
            spdlog::debug("{}: {}", op, e.what());
        return err;
    } catch (const std::bad_alloc &) {
        spdlog::error("{}: out of memory", op);
        return ENOMEM;
    } catch (const std::exception &e) {
        spdlog::error("{}: unexpected error: {}", op, e.what());
        return EIO;
    } catch (...) {
        spdlog::error("{}: unknown exception", op);
        return EIO;
    }
}

}  // namespace cmkfs::fs
