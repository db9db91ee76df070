#include "credhelper/store_backend.h"

#include "config/config.h"
#include "store/credentials.h"
#include "store/trust.h"
#include "store/volume.h"
#include "util/errors.h"

namespace cmkfs::credhelper {

namespace {

class StoreBackend : public CredentialBackend {
public:
    StoreBackend(std::unique_ptr<store::Volume> volume, std::unique_ptr<keys::KeyProvider> provider)
        : volume_(std::move(volume)), provider_(std::move(provider)), credentials_(*volume_, *provider_) {}
    format::RegistryCredentials read() override { return credentials_.read(); }
    void update(const std::function<void(format::RegistryCredentials &)> &change) override {
        credentials_.update(change);
    }

private:
    std::unique_ptr<store::Volume> volume_;
    std::unique_ptr<keys::KeyProvider> provider_;
    store::StoreCredentials credentials_;
};

}  // namespace

std::unique_ptr<CredentialBackend> open_store_backend(const std::string &config_path) {
    config::Config cfg;
    try {
        cfg = config::load_config_file(config_path);
    } catch (const Error &e) {
        throw HelperError(std::string("cmkfs credentials config: ") + e.what());
    }
    const std::string backing = cfg.mount.backing.value_or("");
    if (backing.empty())
        throw HelperError(config_path + ": volume.backing is required (the store whose key protects the credentials)");

    std::unique_ptr<store::Volume> volume;
    std::string key_id;
    try {
        volume = std::make_unique<store::Volume>(backing);
        key_id = volume->header().key_id;
        // From this host's binding, never from the (untrusted) header.
        auto provider = store::bind_volume(*volume, cfg.provider.options, cfg.provider.name.value_or(""));
        return std::make_unique<StoreBackend>(std::move(volume), std::move(provider));
    } catch (const keys::ProviderError &e) {
        if (keys::is_revocation(e.status()))
            throw HelperError("access to the customer-managed key " + key_id + " is revoked (" + e.what() +
                              "); the credentials in " + backing + " cannot be read");
        throw HelperError("the key provider for " + key_id + " is unavailable (" + e.what() + ")");
    } catch (const HelperError &) {
        throw;
    } catch (const std::exception &e) {
        throw HelperError("cmkfs store " + backing + ": " + e.what());
    }
}

}  // namespace cmkfs::credhelper
