// C trampolines from libfuse's operation table to Filesystem's members.
#include "fs/filesystem.h"

namespace cmkfs::fs {

namespace {

Filesystem &fs_of(fuse_req_t req) { return *static_cast<Filesystem *>(fuse_req_userdata(req)); }

const fuse_lowlevel_ops kOperations = [] {
    fuse_lowlevel_ops ops{};
    ops.init = [](void *userdata, fuse_conn_info *conn) { static_cast<Filesystem *>(userdata)->init(conn); };
    ops.lookup = [](fuse_req_t r, fuse_ino_t p, const char *n) { fs_of(r).lookup(r, p, n); };
    ops.forget = [](fuse_req_t r, fuse_ino_t i, uint64_t n) {
        fs_of(r).forget(i, n);
        fuse_reply_none(r);
    };
    ops.forget_multi = [](fuse_req_t r, size_t count, fuse_forget_data *list) {
        for (size_t k = 0; k < count; ++k) fs_of(r).forget(list[k].ino, list[k].nlookup);
        fuse_reply_none(r);
    };
    ops.getattr = [](fuse_req_t r, fuse_ino_t i, fuse_file_info *fi) { fs_of(r).getattr(r, i, fi); };
    ops.setattr = [](fuse_req_t r, fuse_ino_t i, struct stat *a, int s, fuse_file_info *fi) {
        fs_of(r).setattr(r, i, a, s, fi);
    };
    ops.readlink = [](fuse_req_t r, fuse_ino_t i) { fs_of(r).readlink(r, i); };
    ops.mknod = [](fuse_req_t r, fuse_ino_t p, const char *n, mode_t m, dev_t d) { fs_of(r).mknod(r, p, n, m, d); };
    ops.mkdir = [](fuse_req_t r, fuse_ino_t p, const char *n, mode_t m) { fs_of(r).mkdir(r, p, n, m); };
    ops.unlink = [](fuse_req_t r, fuse_ino_t p, const char *n) { fs_of(r).unlink(r, p, n); };
    ops.rmdir = [](fuse_req_t r, fuse_ino_t p, const char *n) { fs_of(r).rmdir(r, p, n); };
    ops.symlink = [](fuse_req_t r, const char *l, fuse_ino_t p, const char *n) { fs_of(r).symlink(r, l, p, n); };
    ops.rename = [](fuse_req_t r, fuse_ino_t p, const char *n, fuse_ino_t np, const char *nn, unsigned f) {
        fs_of(r).rename(r, p, n, np, nn, f);
    };
    ops.link = [](fuse_req_t r, fuse_ino_t i, fuse_ino_t np, const char *nn) { fs_of(r).link(r, i, np, nn); };
    ops.open = [](fuse_req_t r, fuse_ino_t i, fuse_file_info *fi) { fs_of(r).open(r, i, fi); };
    ops.read = [](fuse_req_t r, fuse_ino_t i, size_t s, off_t o, fuse_file_info *fi) { fs_of(r).read(r, i, s, o, fi); };
    ops.write = [](fuse_req_t r, fuse_ino_t i, const char *b, size_t s, off_t o, fuse_file_info *fi) {
        fs_of(r).write(r, i, b, s, o, fi);
    };
    // FLUSH stays although it does nothing here: with the writeback cache,
    // a kernel told ENOSYS once (no_flush) let close(2) return before a
    // file's dirty pages reached us, and a kill -9 then lost files that
    // had been written and closed (integration_crash, 1 run in 20).
    ops.flush = [](fuse_req_t r, fuse_ino_t i, fuse_file_info *fi) { fs_of(r).flush(r, i, fi); };
    ops.release = [](fuse_req_t r, fuse_ino_t i, fuse_file_info *fi) { fs_of(r).release(r, i, fi); };
    ops.fsync = [](fuse_req_t r, fuse_ino_t i, int d, fuse_file_info *fi) { fs_of(r).fsync(r, i, d, fi); };
    ops.opendir = [](fuse_req_t r, fuse_ino_t i, fuse_file_info *fi) { fs_of(r).opendir(r, i, fi); };
    ops.readdir = [](fuse_req_t r, fuse_ino_t i, size_t s, off_t o, fuse_file_info *fi) {
        fs_of(r).readdir(r, i, s, o, fi, false);
    };
    ops.readdirplus = [](fuse_req_t r, fuse_ino_t i, size_t s, off_t o, fuse_file_info *fi) {
        fs_of(r).readdir(r, i, s, o, fi, true);
    };
    ops.releasedir = [](fuse_req_t r, fuse_ino_t i, fuse_file_info *fi) { fs_of(r).releasedir(r, i, fi); };
    ops.fsyncdir = [](fuse_req_t r, fuse_ino_t i, int d, fuse_file_info *fi) { fs_of(r).fsyncdir(r, i, d, fi); };
    ops.statfs = [](fuse_req_t r, fuse_ino_t i) { fs_of(r).statfs(r, i); };
    ops.setxattr = [](fuse_req_t r, fuse_ino_t i, const char *n, const char *v, size_t s, int f) {
        fs_of(r).setxattr(r, i, n, v, s, f);
    };
    ops.getxattr = [](fuse_req_t r, fuse_ino_t i, const char *n, size_t s) { fs_of(r).getxattr(r, i, n, s); };
    ops.listxattr = [](fuse_req_t r, fuse_ino_t i, size_t s) { fs_of(r).listxattr(r, i, s); };
    ops.removexattr = [](fuse_req_t r, fuse_ino_t i, const char *n) { fs_of(r).removexattr(r, i, n); };
    ops.create = [](fuse_req_t r, fuse_ino_t p, const char *n, mode_t m, fuse_file_info *fi) {
        fs_of(r).create(r, p, n, m, fi);
    };
    ops.fallocate = [](fuse_req_t r, fuse_ino_t i, int m, off_t o, off_t l, fuse_file_info *fi) {
        fs_of(r).fallocate(r, i, m, o, l, fi);
    };
    ops.lseek = [](fuse_req_t r, fuse_ino_t i, off_t o, int w, fuse_file_info *fi) { fs_of(r).lseek(r, i, o, w, fi); };
    return ops;
}();

}  // namespace

const fuse_lowlevel_ops &Filesystem::operations() { return kOperations; }

}  // namespace cmkfs::fs
