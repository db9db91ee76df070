#include "support/backing_bytes.h"

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <iterator>
#include <vector>

#include "support/mount_io.h"
#include "support/test_seed.h"

namespace cmkfs::test {

std::string locate_new(MountedStore &store, const std::function<void()> &make) {
    auto before = listing(store.backing());
    make();
    auto after = listing(store.backing());
    std::vector<std::string> added;
    std::set_difference(after.begin(), after.end(), before.begin(), before.end(), std::back_inserter(added));
    REQUIRE(added.size() == 1);
    return store.backing() + "/" + added.front();
}

std::string create_and_locate(MountedStore &store, const std::string &name, const std::string &content) {
    return locate_new(store, [&] { write_file(store.path(name), content); });
}

std::string read_range(const std::string &path, size_t off, size_t len) {
    std::string out(len, '\0');
    int fd = ::open(path.c_str(), O_RDONLY);
    REQUIRE(fd >= 0);
    ssize_t n = ::pread(fd, out.data(), len, static_cast<off_t>(off));
    ::close(fd);
    REQUIRE(n >= 0);
    out.resize(static_cast<size_t>(n));
    return out;
}

void write_range(const std::string &path, size_t off, const std::string &bytes) {
    int fd = ::open(path.c_str(), O_WRONLY);
    REQUIRE(fd >= 0);
    REQUIRE(::pwrite(fd, bytes.data(), bytes.size(), static_cast<off_t>(off)) == static_cast<ssize_t>(bytes.size()));
    ::close(fd);
}

void flip_byte(const std::string &path, size_t off) {
    std::string b = read_range(path, off, 1);
    REQUIRE(b.size() == 1);
    b[0] = static_cast<char>(b[0] ^ 0x40);
    write_range(path, off, b);
}

bool log_names(const std::string &log, const std::string &backing_file, const std::string &what) {
    size_t pos = 0;
    while (pos < log.size()) {
        size_t nl = log.find('\n', pos);
        std::string line = log.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
        pos = nl == std::string::npos ? log.size() : nl + 1;
        if (line.find("integrity") != std::string::npos && line.find(backing_file) != std::string::npos &&
            (what.empty() || line.find(what) != std::string::npos))
            return true;
    }
    return false;
}

}  // namespace cmkfs::test
