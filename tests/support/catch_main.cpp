#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "crypto/secure_bytes.h"
#include "support/test_seed.h"

namespace {

// Every store a test makes is bound in a registry of this process's own
// (cmkfs init writes it; the cmkfs processes the tests start inherit the
// variable), never in /etc/cmkfs/volumes. Removed at exit; a registry the
// caller chose (CMKFS_VOLUMES_DIR already set) is left alone.
class TestVolumesDir {
public:
    TestVolumesDir() {
        const char *set = std::getenv("CMKFS_VOLUMES_DIR");  // NOLINT(concurrency-mt-unsafe)
        if (set != nullptr && set[0] != '\0') return;
        std::string pattern = (std::filesystem::temp_directory_path() / "cmkfs-volumes-XXXXXX").string();
        if (::mkdtemp(pattern.data()) == nullptr) return;  // the first init will say why
        path_ = pattern;
        ::setenv("CMKFS_VOLUMES_DIR", path_.c_str(), 1);  // NOLINT(concurrency-mt-unsafe)
    }
    ~TestVolumesDir() {
        if (path_.empty()) return;
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    TestVolumesDir(const TestVolumesDir &) = delete;
    TestVolumesDir &operator=(const TestVolumesDir &) = delete;

private:
    std::string path_;
};

}  // namespace

int main(int argc, char *argv[]) {
    const TestVolumesDir volumes;
    cmkfs::crypto::init_secure_heap();
    cmkfs::test::announce_seed();
    return Catch::Session().run(argc, argv);
}
