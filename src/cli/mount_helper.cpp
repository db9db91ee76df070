#include "cli/mount_helper.h"

#include <string_view>

#include "config/config.h"
#include "util/errors.h"

namespace cmkfs::cli {

namespace {

constexpr std::string_view kHelperName = "mount.fuse.cmkfs";

bool is_helper_call(int argc, char **argv) {
    const std::string_view self = argv[0];
    const size_t slash = self.rfind('/');
    if (self.substr(slash == std::string_view::npos ? 0 : slash + 1) == kHelperName) return true;
    // mount.fuse3 passes SOURCE first; no subcommand or option starts with '/'.
    return argc >= 3 && argv[1][0] == '/';
}

[[noreturn]] void bad(const std::string &what) { throw UsageError(std::string(kHelperName) + ": " + what); }

}  // namespace

std::vector<std::string> command_line_for(int argc, char **argv) {
    std::vector<std::string> args(argv, argv + argc);
    if (!is_helper_call(argc, argv)) return args;
    if (argc < 3) bad("usage: mount.fuse.cmkfs BACKING MOUNTPOINT [-o OPTIONS]");

    std::string options;
    auto add_options = [&](std::string_view list) {
        if (list.empty()) return;
        if (!options.empty()) options += ',';
        options += list;
    };
    bool fake = false;
    for (int i = 3; i < argc; ++i) {
        const std::string_view arg = argv[i];
        if (arg == "-o" || arg == "-t" || arg == "-N") {
            if (i + 1 >= argc) bad("option " + std::string(arg) + " needs a value");
            const std::string_view value = argv[++i];
            if (arg == "-o") add_options(value);
            if (arg == "-N") bad("-N (mount in another namespace) is not supported");
            // -t names our own type (fuse.cmkfs, or fuse for cmkfs#SOURCE): nothing to do.
            continue;
        }
        if (arg.rfind("-o", 0) == 0) {
            add_options(arg.substr(2));
            continue;
        }
        if (arg.size() < 2 || arg[0] != '-') bad("unexpected argument '" + std::string(arg) + "'");
        for (char flag : arg.substr(1)) {
            switch (flag) {
            case 'f': fake = true; break;           // fake: mount(8) only records
            case 'r': add_options("ro"); break;
            case 's': case 'n': case 'v': case 'w': break;  // sloppy, no-mtab, verbose, rw
            default: bad(std::string("unknown flag -") + flag);
            }
        }
    }
    if (fake) return {};

    std::vector<std::string> mount{args[0], "mount", args[1], args[2]};
    const std::string kept = config::drop_mount_tool_options(options);
    if (!kept.empty()) {
        mount.push_back("-o");
        mount.push_back(kept);
    }
    return mount;
}

}  // namespace cmkfs::cli
