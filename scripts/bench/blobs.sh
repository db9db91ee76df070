#!/usr/bin/env bash
# The registry-like blob workload of scripts/bench.sh, one phase per call:
#   blobs.sh push SRC REG   write every SRC/<digest> as REG/_uploads/<n>/data,
#                           fsync it, rename it into REG/blobs/sha256/<digest>/data
#   blobs.sh pull SRC REG   read every blob back and check its sha256
# SRC holds the source blobs, each named by its sha256. Fails on any error.
set -euo pipefail
phase=$1 src=$2 reg=$3

case $phase in
push)
    n=0
    for blob in "$src"/*; do
        digest=$(basename "$blob")
        upload=$reg/_uploads/$n
        mkdir -p "$upload" "$reg/blobs/sha256/$digest"
        dd if="$blob" of="$upload/data" bs=1M conv=fsync status=none
        mv "$upload/data" "$reg/blobs/sha256/$digest/data"
        rmdir "$upload"
        n=$((n + 1))
    done
    ;;
pull)
    for blob in "$src"/*; do
        digest=$(basename "$blob")
        got=$(sha256sum <"$reg/blobs/sha256/$digest/data")
        if [[ ${got%% *} != "$digest" ]]; then
            echo "blob $digest read back with sha256 ${got%% *}" >&2
            exit 1
        fi
    done
    ;;
*)
    echo "usage: $0 push|pull SRC REG" >&2
    exit 2
    ;;
esac
