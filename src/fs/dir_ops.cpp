// Directory streams: decrypted names, our own bookkeeping files hidden, and
// partial results returned rather than an error once something was listed.
#include <dirent.h>

#include <cstring>
#include <memory>
#include <vector>

#include "fs/filesystem.h"
#include "fs/op_guard.h"
#include "store/tree.h"
#include "util/errors.h"

namespace cmkfs::fs {

namespace {

struct DirHandle {
    explicit DirHandle(store::Node &node) : stream(node) {}
    store::DirStream stream;
    off_t offset = 0;
    dirent *entry = nullptr;  // read but not yet returned (did not fit)
};

DirHandle *dir_handle_of(fuse_file_info *fi) { return reinterpret_cast<DirHandle *>(fi->fh); }

bool is_dot(std::string_view n) { return n == "." || n == ".."; }

}  // namespace

void Filesystem::opendir(fuse_req_t req, fuse_ino_t ino, fuse_file_info *fi) {
    guard(req, "opendir", [&] {
        auto access = keyring_.access();
        auto handle = std::make_unique<DirHandle>(inode_of(ino));
        fi->fh = reinterpret_cast<uint64_t>(handle.get());
        fi->cache_readdir = 0;
        if (fuse_reply_open(req, fi) == 0) handle.release();
    });
}

void Filesystem::readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info *fi, bool plus) {
    guard(req, plus ? "readdirplus" : "readdir", [&] {
        auto access = keyring_.access();
        Inode &inode = inode_of(ino);
        const store::Tree::Names names(tree_, access, inode);
        const store::Directory &dir = names.dir;
        DirHandle *d = dir_handle_of(fi);
        if (off != d->offset) {
            d->stream.seek(off);
            d->entry = nullptr;
            d->offset = off;
        }
        std::vector<char> buf(size);
        size_t used = 0;
        for (;;) {
            if (d->entry == nullptr) {
                try {
                    d->entry = d->stream.next();
                } catch (const SystemError &) {
                    if (used == 0) throw;
                    break;
                }
                if (d->entry == nullptr) break;
            }
            const std::string backing = d->entry->d_name;
            const off_t next = d->entry->d_off;
            std::optional<std::string> name = is_dot(backing) ? backing : dir.decode(backing);
            if (!name) {  // bookkeeping or undecodable: skip
                d->entry = nullptr;
                d->offset = next;
                continue;
            }
            size_t entsize;
            if (plus) {
                fuse_entry_param e;
                std::memset(&e, 0, sizeof e);
                bool looked_up = false;
                if (is_dot(backing)) {
                    e.attr.st_ino = d->entry->d_ino;
                    e.attr.st_mode = static_cast<mode_t>(d->entry->d_type) << 12;
                } else {
                    try {
                        e = entry_param(tree_.lookup_listed(inode, names, *name, backing));
                        looked_up = true;
                    } catch (const IntegrityError &) {
                        // Listed without attributes (nodeid 0: the kernel
                        // looks it up, and gets EIO, when it is used).
                        std::memset(&e, 0, sizeof e);
                        e.attr.st_ino = d->entry->d_ino;
                        e.attr.st_mode = static_cast<mode_t>(d->entry->d_type) << 12;
                    } catch (const Error &) {
                        if (used > 0) break;  // return what we have
                        throw;
                    }
                }
                entsize = fuse_add_direntry_plus(req, buf.data() + used, size - used, name->c_str(), &e, next);
                if (entsize > size - used) {
                    if (looked_up) forget(e.ino, 1);
                    break;
                }
                if (looked_up) remember_entry(ino, *name);
            } else {
                struct stat st {};
                st.st_ino = d->entry->d_ino;
                st.st_mode = static_cast<mode_t>(d->entry->d_type) << 12;
                entsize = fuse_add_direntry(req, buf.data() + used, size - used, name->c_str(), &st, next);
                if (entsize > size - used) break;
            }
            used += entsize;
            d->entry = nullptr;
            d->offset = next;
        }
        fuse_reply_buf(req, buf.data(), used);
    });
}

void Filesystem::releasedir(fuse_req_t req, fuse_ino_t, fuse_file_info *fi) {
    delete dir_handle_of(fi);
    fuse_reply_err(req, 0);
}

void Filesystem::fsyncdir(fuse_req_t req, fuse_ino_t, int datasync, fuse_file_info *fi) {
    guard(req, "fsyncdir", [&] {
        dir_handle_of(fi)->stream.sync(datasync != 0);
        fuse_reply_err(req, 0);
    });
}

}  // namespace cmkfs::fs
