// The one scratch directory of the test suite: mkdtemp under $TMPDIR (or
// /tmp), removed with everything in it when the object goes away.
#pragma once

#include <string>
#include <vector>

namespace cmkfs::test {

class TempDir {
public:
    TempDir();
    ~TempDir();
    TempDir(const TempDir &) = delete;
    TempDir &operator=(const TempDir &) = delete;

    const std::string &path() const { return path_; }
    std::string operator/(const std::string &name) const { return path_ + "/" + name; }
    // Names directly in the directory, sorted.
    std::vector<std::string> entries() const;

private:
    std::string path_;
};

}  // namespace cmkfs::test
