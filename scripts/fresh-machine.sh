#!/usr/bin/env bash
# Runs cmkfs as a new user would, on a fresh Debian 12: a debootstrap chroot
# (bookworm plus build-essential cmake git pkg-config python3 ca-certificates),
# entered in a private mount namespace with /proc, /sys and /dev mounted, a
# clean clone of this checkout's HEAD, scripts/quickstart.sh (which installs
# the packages and builds), then COMMAND (default: scripts/test.sh) in the clone.
#   scripts/fresh-machine.sh [-d CHROOT_DIR] [COMMAND...]
# Needs root. The chroot (default /work/chroot-fresh) is made once and reused;
# the clone is made anew each run. Every mount lives in the namespace and goes
# with it: nothing stays mounted when this returns. The quickstart's own mount
# is unmounted before COMMAND runs.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
chroot_dir=/work/chroot-fresh
if [ "${1:-}" = -d ]; then chroot_dir=$2; shift 2; fi
command=("$@")
[ ${#command[@]} -gt 0 ] || command=(scripts/test.sh)

if [ ! -x "$chroot_dir/usr/bin/cmake" ]; then
  command -v debootstrap >/dev/null || "$root/scripts/setup.sh"  # debootstrap is in its list
  debootstrap --variant=minbase --include=build-essential,cmake,git,pkg-config,python3,ca-certificates \
    bookworm "$chroot_dir" http://deb.debian.org/debian
  # The host's apt sources (updates, security, a local mirror) and resolver.
  if [ -f /etc/apt/sources.list.d/debian.sources ]; then
    rm -f "$chroot_dir/etc/apt/sources.list"
    cp /etc/apt/sources.list.d/debian.sources "$chroot_dir/etc/apt/sources.list.d/"
  fi
  cp /etc/resolv.conf "$chroot_dir/etc/resolv.conf"
fi

rm -rf "$chroot_dir/work/cmkfs"
mkdir -p "$chroot_dir/work"
git clone -q "$root" "$chroot_dir/work/cmkfs"

# A clean environment, as a login on the new machine would have.
quoted=$(printf '%q ' "${command[@]}")
unshare -m bash -euo pipefail -c '
  c=$1; shift
  mount --make-rprivate /
  mount -t proc proc "$c/proc"
  mount -t sysfs sys "$c/sys"
  mount --rbind /dev "$c/dev"
  exec chroot "$c" /usr/bin/env -i HOME=/root LANG=C.UTF-8 TERM=dumb \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    bash -euo pipefail -c "cd /work/cmkfs && scripts/quickstart.sh && build/src/cli/cmkfs umount mnt && $1"
' fresh-machine "$chroot_dir" "$quoted"
