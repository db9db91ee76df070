#include "fs/session.h"

#include <memory>

#include <spdlog/spdlog.h>

#include "util/errors.h"

namespace cmkfs::fs {

namespace {

struct ArgsFree { void operator()(fuse_args *a) const { fuse_opt_free_args(a); delete a; } };
struct SessionFree { void operator()(fuse_session *s) const { fuse_session_destroy(s); } };
struct LoopCfgFree { void operator()(fuse_loop_config *c) const { fuse_loop_cfg_destroy(c); } };

// libfuse splits -o at commas and unescapes "\," and "\\" (and "\ooo"):
// a backing path is any bytes, and a comma in it must not start an option of
// its own ("/x/a,allow_other" would grant allow_other).
std::string escape_option_value(const std::string &value) {
    std::string out;
    out.reserve(value.size());
    for (char c : value) {
        if (c == ',' || c == '\\') out += '\\';
        out += c;
    }
    return out;
}

std::unique_ptr<fuse_args, ArgsFree> build_args(const SessionOptions &o) {
    std::unique_ptr<fuse_args, ArgsFree> args(new fuse_args FUSE_ARGS_INIT(0, nullptr));
    auto add = [&](const std::string &s) {
        if (fuse_opt_add_arg(args.get(), s.c_str()) != 0) throw std::bad_alloc();
    };
    add("cmkfs");
    if (o.debug) add("-d");
    // default_permissions: the kernel enforces modes, since the daemon acts as root.
    std::string opts = "default_permissions,subtype=cmkfs,fsname=" + escape_option_value(o.fsname);
    if (o.allow_other) opts += ",allow_other";
    add("-o");
    add(opts);
    for (const auto &extra : o.fuse_options) {
        add("-o");
        add(extra);
    }
    return args;
}

}  // namespace

void run_session(Filesystem &fs, const SessionOptions &options, const std::function<void()> &on_mounted) {
    auto args = build_args(options);
    const auto &ops = Filesystem::operations();
    std::unique_ptr<fuse_session, SessionFree> session(fuse_session_new(args.get(), &ops, sizeof ops, &fs));
    if (!session) throw Error(EINVAL, "invalid FUSE options");
    if (fuse_set_signal_handlers(session.get()) != 0) throw Error(EIO, "cannot install signal handlers");
    if (fuse_session_mount(session.get(), options.mountpoint.c_str()) != 0) {
        fuse_remove_signal_handlers(session.get());
        throw Error(EIO, "cannot mount on " + options.mountpoint);
    }
    fs.killpriv().install(session.get());
    fs.set_session(session.get());
    spdlog::info("mounted {} on {}", options.fsname, options.mountpoint);
    int rc = 0;
    try {
        on_mounted();
        std::unique_ptr<fuse_loop_config, LoopCfgFree> cfg(fuse_loop_cfg_create());
        fuse_loop_cfg_set_clone_fd(cfg.get(), 0);
        if (options.max_threads > 0) fuse_loop_cfg_set_max_threads(cfg.get(), options.max_threads);
        fuse_loop_cfg_set_idle_threads(cfg.get(), 10);
        rc = fuse_session_loop_mt(session.get(), cfg.get());
    } catch (...) {
        fs.set_session(nullptr);
        fuse_session_unmount(session.get());
        fuse_remove_signal_handlers(session.get());
        throw;
    }
    fs.set_session(nullptr);
    fuse_session_unmount(session.get());
    fuse_remove_signal_handlers(session.get());
    spdlog::info("unmounted {} (loop exit {})", options.mountpoint, rc);
}

}  // namespace cmkfs::fs
