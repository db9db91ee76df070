# shellcheck shell=bash
# The CephFS variant of scripts/bench.sh (BENCH_CEPHFS=1, or any target
# below in BENCH_TARGETS): a one-node cluster (scripts/ceph-cluster.sh, two
# ceph-fuse clients = two "hosts") under $WORK/ceph, and
#   cephfs            ceph-fuse alone (the ceiling)
#   cephfs_gocryptfs  gocryptfs -sharedstorage on the same CephFS (the peer)
#   cephfs_cmkfs      cmkfs over CephFS (with --shared-storage when this
#                     cmkfs has it)
# each mounted once per host, over that host's ceph-fuse client, on the same
# directory of the filesystem. DIR is host 1's view, DIR2 host 2's.
# Workloads: the single-host ones (seq, blobs) on host 1, and two-host ones
# where both hosts work at once (seq2, blobs2), each reading back what the
# other wrote. The report gains a table of ratios to ceph-fuse alone and to
# gocryptfs -sharedstorage. Peak RSS is the encrypting daemon's on host 1
# (the ceph-fuse under it not counted; for "cephfs", ceph-fuse's).
# shellcheck disable=SC2016  # the bash -c scripts take their arguments as $1, $2

CEPHFS_TARGETS=(cephfs cephfs_gocryptfs cephfs_cmkfs)
CEPH_DIR=

# Called once the targets are known: BENCH_CEPHFS=1 selects the CephFS
# targets; any CephFS target adds the two-host workloads and their rows.
cephfs_configure() {
    if [[ ${BENCH_CEPHFS:-0} == 1 && -z ${BENCH_TARGETS:-} ]]; then
        TARGETS=("${CEPHFS_TARGETS[@]}")
        WORKLOADS=(seq blobs)
    fi
    [[ " ${TARGETS[*]} " == *" cephfs"* ]] || return 0
    WORKLOADS+=(seq2 blobs2)
    METRICS+=(
        "seq2|seq2_write|2 hosts: seq write (sum)|MiB/s"
        "seq2|seq2_read|2 hosts: read other's (sum)|MiB/s"
        "blobs2|blob2_push|2 hosts: push ${BLOB_COUNT}x${BLOB_MB}M each|s"
        "blobs2|blob2_pull|2 hosts: pull other's + sha256|s"
    )
}

# The cluster, started by the first CephFS target's setup.
cephfs_cluster_up() {
    [[ -n $CEPH_DIR ]] && return 0
    log "starting a one-node Ceph cluster (scripts/ceph-cluster.sh)"
    if ! "$REPO/scripts/ceph-cluster.sh" start "$WORK/ceph" --clients 2 >"$WORK/logs/ceph-cluster.log" 2>&1; then
        FAIL_REASON="scripts/ceph-cluster.sh start failed: $(tail -n 2 "$WORK/logs/ceph-cluster.log" | tr '\n' ' ')"
        return 1
    fi
    CEPH_DIR=$WORK/ceph
    mkdir -p "$CEPH_DIR/client1/bench"
}

# Before lib.sh's cleanup (the trap runs both): the mounts over the cluster
# first, then the cluster. Keeps the exit status for cleanup.
cephfs_cleanup() {
    local status=$? mnt
    if [[ -n $CEPH_DIR ]]; then
        for mnt in "${!DAEMON_PID[@]}"; do fuse_stop "$mnt"; done
        "$REPO/scripts/ceph-cluster.sh" stop "$CEPH_DIR" >>"$WORK/logs/ceph-cluster.log" 2>&1 ||
            log "scripts/ceph-cluster.sh stop failed: see $WORK/logs/ceph-cluster.log"
        CEPH_DIR=
    fi
    return "$status"
}

# ceph-fuse's view of the bench directory for host H.
cephfs_view() { echo "$CEPH_DIR/client$1/bench"; }

# ---- cephfs: ceph-fuse alone ----------------------------------------------------
target_cephfs_setup() { cephfs_cluster_up && mkdir -p "$(cephfs_view 1)/cephfs"; }
target_cephfs_mount() {
    DIR=$(cephfs_view 1)/cephfs DIR2=$(cephfs_view 2)/cephfs
    PID=$(<"$CEPH_DIR/run/client.host1.pid")
}
target_cephfs_unmount() { DIR2=; }

# ---- cephfs_gocryptfs: gocryptfs -sharedstorage, one mount per host -------------
target_cephfs_gocryptfs_setup() {
    local t=$WORK/cephfs_gocryptfs
    cephfs_cluster_up || return 1
    command -v gocryptfs >/dev/null || { FAIL_REASON="gocryptfs not installed"; return 1; }
    mkdir -p "$t/mnt1" "$t/mnt2" "$(cephfs_view 1)/gocryptfs"
    if ! gocryptfs -init -q -extpass 'echo pw' -scryptn 10 "$(cephfs_view 1)/gocryptfs" \
        >"$WORK/logs/cephfs-gocryptfs-init.log" 2>&1; then
        FAIL_REASON="gocryptfs -init failed: $(tail -n 2 "$WORK/logs/cephfs-gocryptfs-init.log")"
        return 1
    fi
}
target_cephfs_gocryptfs_mount() {
    local t=$WORK/cephfs_gocryptfs h
    for h in 1 2; do
        fuse_start "$t/mnt$h" gocryptfs -fg -q -sharedstorage -extpass 'echo pw' \
            "$(cephfs_view "$h")/gocryptfs" "$t/mnt$h" || return 1
    done
    DIR=$t/mnt1 DIR2=$t/mnt2 PID=${DAEMON_PID[$t/mnt1]}
}
target_cephfs_gocryptfs_unmount() {
    fuse_stop "$WORK/cephfs_gocryptfs/mnt1"
    fuse_stop "$WORK/cephfs_gocryptfs/mnt2"
    DIR2=
}

# ---- cephfs_cmkfs: cmkfs over CephFS, one mount per host ------------------------
target_cephfs_cmkfs_setup() {
    local t=$WORK/cephfs_cmkfs kid extra=()
    cephfs_cluster_up || return 1
    mkdir -p "$t/mnt1" "$t/mnt2"
    [[ -x $CMKFS_BIN ]] || { FAIL_REASON="no cmkfs binary at $CMKFS_BIN"; return 1; }
    # Shared mode when this build has it (issue 13); without it two hosts
    # mount the store with nothing arbitrating their caches.
    "$CMKFS_BIN" init --help 2>/dev/null | grep -q -- --shared-storage && extra=(--shared-storage)
    cmkfs_step "vault create" "$CMKFS_BIN" vault create "$t/vault" || return 1
    cmkfs_step "vault key create" "$CMKFS_BIN" vault key create --vault "$t/vault" --name bench --kty oct || return 1
    kid=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["key"]["kid"])' <<<"$CMKFS_OUT") ||
        { FAIL_REASON="'cmkfs vault key create' printed no .key.kid"; return 1; }
    cmkfs_step "vault set-policy" "$CMKFS_BIN" vault set-policy --vault "$t/vault" --identity bench-id \
        --key-permissions get wrapKey unwrapKey || return 1
    cmkfs_step init "$CMKFS_BIN" init "$(cephfs_view 1)/cmkfs" --provider local --vault "$t/vault" \
        --identity bench-id --key-encryption-key "$kid" "${extra[@]}" || return 1
    CEPHFS_CMKFS_MODE=${extra[0]:-exclusive store, shared mode not in this build}
}
target_cephfs_cmkfs_mount() {
    local t=$WORK/cephfs_cmkfs h
    for h in 1 2; do
        CMKFS_HOST_NAME=bench-host$h CMKFS_RUN_DIR=$t/run$h \
            fuse_start "$t/mnt$h" "$CMKFS_BIN" mount "$(cephfs_view "$h")/cmkfs" "$t/mnt$h" -f || return 1
    done
    DIR=$t/mnt1 DIR2=$t/mnt2 PID=${DAEMON_PID[$t/mnt1]}
}
target_cephfs_cmkfs_unmount() {
    fuse_stop "$WORK/cephfs_cmkfs/mnt1"
    fuse_stop "$WORK/cephfs_cmkfs/mnt2"
    DIR2=
}

# ---- two-host workloads (targets with a DIR2 only) --------------------------------

# Both hosts write a $SEQ_MB file at once (fsync'd); then each reads, cold,
# the file the other wrote. Rates are the sum over both hosts.
workload_seq2() {
    [[ -n ${DIR2:-} ]] || return 0
    local job='fio --name=seq --bs=1M --size="$3" --ioengine=psync --direct=0 --fallocate=none --output=/dev/null'
    measure_rate seq2_write $((2 * SEQ_MB)) bash -c "
        $job --filename=\"\$1\" --rw=write --end_fsync=1 & a=\$!
        $job --filename=\"\$2\" --rw=write --end_fsync=1 & b=\$!
        wait \$a; ra=\$?; wait \$b; exit \$((ra | \$?))" _ "$DIR/seq-host1.bin" "$DIR2/seq-host2.bin" "${SEQ_MB}M"
    cold_cache
    measure_rate seq2_read $((2 * SEQ_MB)) bash -c "
        $job --filename=\"\$1\" --rw=read & a=\$!
        $job --filename=\"\$2\" --rw=read & b=\$!
        wait \$a; ra=\$?; wait \$b; exit \$((ra | \$?))" _ "$DIR/seq-host2.bin" "$DIR2/seq-host1.bin" "${SEQ_MB}M"
    rm -f "$DIR/seq-host1.bin" "$DIR/seq-host2.bin"
}

# Both hosts push every blob into a registry tree of their own at once; then
# each pulls (cold, checking sha256) what the other pushed.
workload_blobs2() {
    [[ -n ${DIR2:-} ]] || return 0
    local both='"$0" "$1" "$2" "$3" & a=$!; "$0" "$1" "$2" "$4" & b=$!; wait $a; ra=$?; wait $b; exit $((ra | $?))'
    cat "$BLOB_SRC"/* >/dev/null
    measure blob2_push bash -c "$both" "$BENCH_LIB/blobs.sh" push "$BLOB_SRC" "$DIR/registry-host1" "$DIR2/registry-host2"
    cold_cache
    measure blob2_pull bash -c "$both" "$BENCH_LIB/blobs.sh" pull "$BLOB_SRC" "$DIR/registry-host2" "$DIR2/registry-host1"
    rm -rf "$DIR/registry-host1" "$DIR/registry-host2"
}

# ---- report: ratios to ceph-fuse alone and to gocryptfs -sharedstorage ----------
# Each column: how many times faster the first target is than the second
# (bench.sh's speedup: above 1 is faster, "~" within the noise of the rounds).
cephfs_print_ratios() {
    [[ " ${TARGETS[*]} " == *" cephfs"* ]] || return 0
    local row w m label unit
    printf '\nCephFS (one-node cluster, 2 ceph-fuse clients = 2 hosts; cmkfs: %s)\n' \
        "${CEPHFS_CMKFS_MODE:-not run}"
    printf '%-42s %-6s %18s %22s %26s\n' workload unit "cmkfs vs ceph-fuse" "gocryptfs vs ceph-fuse" \
        "cmkfs vs gocryptfs-shared"
    for row in "${METRICS[@]}"; do
        IFS='|' read -r w m label unit <<<"$row"
        [[ " ${WORKLOADS[*]} " == *" $w "* ]] || continue
        [[ $(cell cephfs "$m")$(cell cephfs_gocryptfs "$m")$(cell cephfs_cmkfs "$m") == *[0-9A-Z]* ]] || continue
        printf '%-42s %-6s %18s %22s %26s\n' "$label" "$unit" "$(speedup "$m" "$unit" cephfs cephfs_cmkfs)" \
            "$(speedup "$m" "$unit" cephfs cephfs_gocryptfs)" "$(speedup "$m" "$unit" cephfs_gocryptfs cephfs_cmkfs)"
    done
    printf 'Above 1: the first target is faster (seconds are inverted).\n'
}
