#!/usr/bin/env bash
# Produces the golden store of one format version: tests/golden/v<N>/
#   vault/         the local vault holding the (test-only, public) key
#   store.tar      the backing directory, as a pax tar (modes, hard links,
#                  user.* xattrs and holes survive, which a git tree cannot hold)
#   manifest.json  what the mounted store must show, entry by entry
#
# Run ONCE per format version, with the cmkfs that introduces that version,
# then commit the result and never regenerate it: integration_golden mounts
# every tests/golden/v*/ and every later cmkfs must read it identically.
#
#   CMKFS_BINARY=build/src/cli/cmkfs tests/golden/make_golden.sh 1
#
# Needs FUSE (a mount is made), python3 and GNU tar.
set -euo pipefail

version=${1:?usage: make_golden.sh FORMAT_VERSION}
here=$(cd "$(dirname "$0")" && pwd)
out="$here/v$version"
bin=${CMKFS_BINARY:?set CMKFS_BINARY to the cmkfs binary}
bin=$(realpath "$bin")
if [[ -e $out ]]; then
    echo "$out exists: golden stores are never regenerated" >&2
    exit 1
fi

# A fixed work path: the vault's directory is part of the key id in the header
# (local:///tmp/cmkfs-golden-vN/vault/keys/golden); the test mounts a copy with
# the local provider's relocated_from= option.
work=/tmp/cmkfs-golden-v$version
if mountpoint -q "$work/mnt" 2>/dev/null; then "$bin" umount "$work/mnt"; fi
rm -rf "$work"
mkdir -p "$work/store" "$work/mnt"

"$bin" vault create "$work/vault" --retention-days 7 >/dev/null
kid=$("$bin" vault key create --vault "$work/vault" --name golden --kty oct |
      python3 -c 'import json, sys; print(json.load(sys.stdin)["key"]["kid"])')
"$bin" vault set-policy --vault "$work/vault" --identity golden-id \
    --key-permissions get wrapKey unwrapKey >/dev/null
# Version-less key id: the volume follows the newest key version.
"$bin" init "$work/store" --provider local --identity golden-id \
    --key-encryption-key "${kid%/*}" >/dev/null
"$bin" mount "$work/store" "$work/mnt"
trap '"$bin" umount "$work/mnt" 2>/dev/null || true' EXIT

# A small tree that touches every part of the format.
python3 - "$work/mnt" "$version" <<'PY'
import os, sys
root, version = sys.argv[1], int(sys.argv[2])
os.chdir(root)

def pattern(n, seed):
    return bytes((seed + i * 31 + (i >> 8)) & 0xFF for i in range(n))

def write(path, data, mode=0o644):
    with open(path, "wb") as f:
        f.write(data)
    os.chmod(path, mode)

os.makedirs("dir/sub/deeper")
os.chmod("dir/sub", 0o700)
write("empty", b"")
write("one-byte", b"x")
write("block-4095", pattern(4095, 1))
write("block-4096", pattern(4096, 2))
write("block-4097", pattern(4097, 3))
write("random-200k", os.urandom(200 * 1024))
write("exec.sh", b"#!/bin/sh\necho golden\n", 0o755)
write("private", b"only the owner\n", 0o600)
write(".hidden", b"dot file\n")
write("\u00fcn\u00efc\u00f8d\u00e9 \u2713.txt", "unicode name\n".encode())
write("dir/sub/deeper/note.txt", b"deep inside\n")

# Sparse: data, a 64 KiB hole, data (the hole's blocks are all-zero in the backing).
with open("sparse", "wb") as f:
    f.write(b"head")
    f.truncate(64 * 1024)
    f.seek(0, os.SEEK_END)
    f.write(b"tail after the hole\n")

# Long names: 240 bytes is beyond the 175 that fit directly once encrypted.
write("dir/" + "L" * 236 + ".txt", b"a file with a long name\n")
os.mkdir("D" * 200)
write("D" * 200 + "/inside", b"in a directory with a long name\n")

os.symlink("dir/sub/deeper/note.txt", "link-relative")
os.symlink("/nonexistent/absolute/target", "link-dangling")
os.symlink("x" * 300, "dir/link-long-target")

os.link("one-byte", "dir/one-byte-hardlink")

write("with-xattrs", b"has extended attributes\n")
os.setxattr("with-xattrs", "user.comment", b"golden v%d" % version)
os.setxattr("with-xattrs", "user.binary", bytes(range(256)))
os.setxattr("with-xattrs", "user.empty", b"")
os.setxattr("dir", "user.dirnote", b"on a directory")

if version >= 2:
    # What version 2 binds (docs/FORMAT.md §11.1), each reached the way a
    # user would: final blocks, xattrs bound to their owner, link records,
    # symlinks and directory ids bound to their place, and renames of both.
    write("block-8192", pattern(8192, 4))            # exact multiple: the final block is full
    with open("grown-by-truncate", "wb") as f:       # ends in a written-out all-zero final block
        f.write(b"short head")
        f.truncate(3 * 4096 + 100)
    write("emptied", b"content that is truncated away")  # keeps its header and id at size 0
    os.truncate("emptied", 0)
    os.setxattr("emptied", "user.kept", b"on an emptied file")
    write("linked-with-xattr", b"two names, one inode, one xattr\n")
    os.setxattr("linked-with-xattr", "user.shared", b"seen through both names")
    os.link("linked-with-xattr", "dir/sub/linked-with-xattr-2")   # link record: 2
    write("three-names", b"three links, then one removed\n")
    os.link("three-names", "dir/three-names-b")
    os.link("three-names", "dir/sub/three-names-c")
    os.unlink("dir/three-names-b")                    # record lowered back to 2
    os.makedirs("to-rename/inner")
    os.setxattr("to-rename/inner", "user.nested", b"on a nested directory")
    write("to-rename/inner/file", b"under a renamed directory\n")
    os.symlink("../file", "to-rename/inner/link-up")
    os.rename("to-rename", "dir/renamed-dir")         # its .cmkfs.dirid is rebound
    os.symlink("sub/deeper/note.txt", "dir/link-before-rename")
    os.rename("dir/link-before-rename", "dir/sub/link-after-rename")  # re-sealed for its new place
    os.symlink("../../block-4096", "dir/sub/link-in-subdir")

if version >= 3:
    # What version 3 adds (docs/FORMAT.md §11.2): symlink targets too long for
    # a backing symlink, kept in a sidecar bound to the link's place; one
    # renamed into another directory (its sidecar re-sealed there).
    os.symlink("t" * 4095, "longest-target")
    os.symlink("/" + "abc/" * 900, "dir/long-target-to-move")
    os.rename("dir/long-target-to-move", "dir/sub/long-target-moved")
PY

# The manifest: what the mount shows.
python3 - "$work/mnt" "$work/manifest.json" "$version" <<'PY'
import hashlib, json, os, stat, sys
root, out, version = sys.argv[1], sys.argv[2], int(sys.argv[3])
entries, first_path_of_inode = {}, {}
for dirpath, dirnames, filenames in os.walk(root):
    for name in sorted(dirnames + filenames):
        full = os.path.join(dirpath, name)
        rel = os.path.relpath(full, root)
        st = os.lstat(full)
        e = {"mode": "%04o" % stat.S_IMODE(st.st_mode)}
        if stat.S_ISLNK(st.st_mode):
            e["type"] = "symlink"
            e["target"] = os.readlink(full)
            e["size"] = st.st_size
        elif stat.S_ISDIR(st.st_mode):
            e["type"] = "dir"
        else:
            e["type"] = "file"
            e["size"] = st.st_size
            with open(full, "rb") as f:
                e["sha256"] = hashlib.sha256(f.read()).hexdigest()
            e["nlink"] = st.st_nlink
            if st.st_nlink > 1:
                e["same_inode_as"] = first_path_of_inode.setdefault(st.st_ino, rel)
        if not stat.S_ISLNK(st.st_mode):
            e["xattrs"] = {n: os.getxattr(full, n).hex() for n in sorted(os.listxattr(full))}
        entries[rel] = e
with open(out, "w") as f:
    json.dump({"format_version": version, "entries": entries}, f, indent=1, sort_keys=True,
              ensure_ascii=False)
    f.write("\n")
PY

"$bin" umount "$work/mnt"
trap - EXIT
"$bin" fsck "$work/store"

mkdir -p "$out"
tar --create --file "$out/store.tar" --format=posix --xattrs --xattrs-include='user.*' \
    --sparse --sort=name --numeric-owner --owner=0 --group=0 -C "$work" store
cp -a "$work/vault" "$out/vault"
rm -f "$out/vault/audit.log" "$out/vault/.lock"
cp "$work/manifest.json" "$out/manifest.json"
du -sh "$out"
echo "golden store v$version written to $out; commit it and never change it"
