// docker-credential-cmkfs: a docker credential helper that keeps registry
// credentials encrypted under a cmkfs store's customer-managed key.
#include <sys/prctl.h>
#include <sys/resource.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <iterator>
#include <string>

#include <spdlog/spdlog.h>

#include "credhelper/protocol.h"
#include "credhelper/store_backend.h"
#include "crypto/secure_bytes.h"

using namespace cmkfs;

int main(int argc, char **argv) {
    // Secrets and the volume key pass through this process.
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    const rlimit no_core{0, 0};
    setrlimit(RLIMIT_CORE, &no_core);
    crypto::init_secure_heap();
    // stdout is the protocol; diagnostics of the layers below stay quiet.
    spdlog::set_level(spdlog::level::err);

    try {
        if (argc != 2) throw credhelper::HelperError("Usage: docker-credential-cmkfs <store|get|erase|list|version>");
        const std::string action = argv[1];
        std::string input;
        if (action == "store" || action == "get" || action == "erase")
            input.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
        const char *config = std::getenv(credhelper::kConfigEnv);
        const std::string config_path = config != nullptr && *config != '\0' ? config : credhelper::kDefaultConfig;
        const std::string out =
            credhelper::run_action(action, input, [&] { return credhelper::open_store_backend(config_path); });
        std::fwrite(out.data(), 1, out.size(), stdout);
        return 0;
    } catch (const std::exception &e) {
        std::printf("%s\n", e.what());
        return 1;
    }
}
