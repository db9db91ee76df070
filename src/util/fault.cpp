#include "util/fault.h"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <string>

#include "util/errors.h"

namespace cmkfs {

namespace {

struct FaultSpec {
    std::string area, step, kind;
};

// Read once, before anything could call setenv: getenv is safe here.
const FaultSpec &fault_spec() {
    static const FaultSpec spec = [] {
        FaultSpec s;
        const char *env = std::getenv("CMKFS_FAULT");  // NOLINT(concurrency-mt-unsafe)
        if (env == nullptr) return s;
        const std::string v = env;
        const auto first = v.find(':');
        const auto second = first == std::string::npos ? std::string::npos : v.find(':', first + 1);
        if (second == std::string::npos) return s;
        s.area = v.substr(0, first);
        s.step = v.substr(first + 1, second - first - 1);
        s.kind = v.substr(second + 1);
        return s;
    }();
    return spec;
}

}  // namespace

void fault_point(std::string_view area, std::string_view step) {
    const FaultSpec &spec = fault_spec();
    if (spec.area.empty() || spec.area != area || spec.step != step) return;
    if (spec.kind == "kill") {
        ::kill(::getpid(), SIGKILL);
        ::pause();  // SIGKILL cannot be caught; never returns
    }
    if (spec.kind == "enospc")
        throw SystemError(ENOSPC, "injected fault CMKFS_FAULT=" + spec.area + ":" + spec.step + ":enospc");
    if (spec.kind == "einval")
        throw SystemError(EINVAL, "injected fault CMKFS_FAULT=" + spec.area + ":" + spec.step + ":einval");
}

}  // namespace cmkfs
