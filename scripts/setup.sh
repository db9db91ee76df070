#!/usr/bin/env bash
# Installs what cmkfs needs to build, test and benchmark, from Debian 12's
# archive only. Idempotent: installs only what is missing.
set -euo pipefail

packages=(
  build-essential cmake pkg-config git
  libfuse3-dev fuse3 libssl-dev libyaml-cpp-dev libspdlog-dev catch2
  libcurl4-openssl-dev nlohmann-json3-dev libcli11-dev
  clang clang-tidy libclang-rt-14-dev
  attr rsync python3 python3-cryptography procps util-linux
  softhsm2 libp11-kit-dev openssl curl gocryptfs securefs fio
  docker-registry skopeo containerd runc busybox-static apache2-utils
  docker.io fuse-overlayfs
  systemd
  prometheus
  ceph-mon ceph-mgr ceph-osd ceph-mds ceph-fuse ceph-common uuid-runtime
  nginx
  debootstrap  # scripts/fresh-machine.sh
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "setup: all packages present"
fi

# FUSE needs the device; in containers it must be passed in.
if [ ! -c /dev/fuse ]; then
  echo "setup: /dev/fuse is missing; cmkfs cannot mount here" >&2
  exit 1
fi
