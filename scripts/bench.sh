#!/usr/bin/env bash
# cmkfs benchmark: the same workloads, in one run, on
#   raw          a plain directory on the backing disk (the absolute ceiling)
#   passthrough  libfuse's passthrough_ll example (the FUSE ceiling)
#   gocryptfs    the fastest mature encrypted FUSE filesystem
#   securefs     Debian's securefs, lite format (the peer to beat on small ops)
#   cmkfs        this project (local vault as the CMK provider)
# and prints two tables: speed (absolute figures and cmkfs' speed relative
# to each other target, "~" where the rounds' ranges overlap, i.e. within
# noise), and cost (each FUSE daemon's CPU seconds and peak RSS per workload).
#
# Workloads: sequential 1 MiB write (fsync'd) and cold read of BENCH_SIZE_MB;
# random 4 KiB write IOPS (1 and 2 jobs) and read IOPS (cold, then warm)
# (fio, psync, page cache on) in a 256 MiB file; untar of /usr/include, cold ls -lR, rm -rf; a registry-like push
# (40 x 8 MiB blobs: write, fsync, rename) and pull (cold read + sha256).
#
# Needs root (FUSE mounts, drop_caches), fio, gcc, pkg-config + libfuse3-dev,
# gocryptfs, python3. A target that cannot be set up shows "n/a" and why.
#
# Environment:
#   BENCH_SIZE_MB   sequential file size in MiB (default 1024; 64 when quick)
#   BENCH_QUICK=1   small sizes and short runs: a smoke test of the script
#   BENCH_ROUNDS    rounds per workload and target; the median is reported
#                   (default 3; 1 when quick)
#   BENCH_TARGETS   subset/order of targets (default "raw passthrough gocryptfs securefs cmkfs")
#   BENCH_WORKLOADS subset of workloads: seq rand tree blobs (default all);
#                   measure one lever on the workload it affects
#   BENCH_RAND_RUNTIME  seconds per random-I/O fio job (default 15; 3 when quick)
#   BENCH_DIR       where the scratch directory goes (default $TMPDIR or /tmp);
#                   every target's data lives on this filesystem
#   CMKFS_BIN       cmkfs binary (default <repo>/build/src/cli/cmkfs)
#   (target "cmkfs_metrics": cmkfs with -o metrics=unix:… scraped every second)
#   BENCH_CEPHFS=1  the CephFS variant (scripts/bench/cephfs.sh): targets
#                   cephfs, cephfs_gocryptfs, cephfs_cmkfs on a one-node
#                   cluster, single- and two-host workloads
#   CMKFS_BASE_BIN  a second cmkfs binary, the target "cmkfs_base" (add it to
#                   BENCH_TARGETS): before/after a change in one run, with a
#                   cmkfs/cmkfs_base ratio column
#   CMKFS_BASE_OPTIONS  mount options of cmkfs_base (e.g. "-o no_writeback_cache";
#                   with no CMKFS_BASE_BIN, the same binary): one option's worth
#   BENCH_STEP_TIMEOUT  seconds before one step is declared hung (default 900)
# shellcheck source-path=SCRIPTDIR
set -uo pipefail

BENCH_LIB=$(cd "$(dirname "${BASH_SOURCE[0]}")/bench" && pwd)
REPO=$(cd "$BENCH_LIB/../.." && pwd)
# shellcheck source=bench/lib.sh
source "$BENCH_LIB/lib.sh"
# shellcheck source=bench/targets.sh
source "$BENCH_LIB/targets.sh"
# shellcheck source=bench/workloads.sh
source "$BENCH_LIB/workloads.sh"
# shellcheck source=bench/cephfs.sh
source "$BENCH_LIB/cephfs.sh"

if [[ ${BENCH_QUICK:-0} == 1 ]]; then
    SEQ_MB=${BENCH_SIZE_MB:-64} RAND_MB=32 RAND_RUNTIME=${BENCH_RAND_RUNTIME:-3} BLOB_COUNT=8 BLOB_MB=1 ROUNDS=${BENCH_ROUNDS:-1}
    TAR_FROM=/usr/include/linux
else
    SEQ_MB=${BENCH_SIZE_MB:-1024} RAND_MB=256 RAND_RUNTIME=${BENCH_RAND_RUNTIME:-15} BLOB_COUNT=40 BLOB_MB=8 ROUNDS=${BENCH_ROUNDS:-3}
    TAR_FROM=/usr/include
fi
read -ra TARGETS <<<"${BENCH_TARGETS:-raw passthrough gocryptfs securefs cmkfs}"
CMKFS_BIN=${CMKFS_BIN:-$REPO/build/src/cli/cmkfs}
STEP_TIMEOUT=${BENCH_STEP_TIMEOUT:-900}
read -ra WORKLOADS <<<"${BENCH_WORKLOADS:-seq rand tree blobs}"

# workload|metric|label|unit; MiB/s and IOPS: higher is better, s: lower.
METRICS=(
    "seq|seq_write|sequential write|MiB/s"
    "seq|seq_read|sequential read (cold)|MiB/s"
    "rand|rand_write|random 4K write, 1 job|IOPS"
    "rand|rand_write2|random 4K write, 2 jobs|IOPS"
    "rand|rand_read|random 4K read (cold)|IOPS"
    "rand|rand_read_warm|random 4K read (warm)|IOPS"
    "tree|untar|untar $(basename "$TAR_FROM")|s"
    "tree|ls_lR|ls -lR (cold)|s"
    "tree|rm_rf|rm -rf|s"
    "blobs|blob_push|blob push ${BLOB_COUNT}x${BLOB_MB}M|s"
    "blobs|blob_pull|blob pull + sha256 (cold)|s"
)

check_prerequisites() {
    [[ $EUID == 0 ]] || die "run as root (FUSE mounts and drop_caches)"
    local tool
    for tool in fio python3 mountpoint fusermount3 sha256sum tar timeout awk; do
        command -v "$tool" >/dev/null || die "$tool not found"
    done
    [[ -c /dev/fuse ]] || die "/dev/fuse missing"
}

# Inputs shared by every target, made once on the raw disk.
make_inputs() {
    TARBALL=$WORK/inputs/tree.tar
    BLOB_SRC=$WORK/inputs/blobs
    mkdir -p "$BLOB_SRC"
    tar -cf "$TARBALL" -C "$(dirname "$TAR_FROM")" "$(basename "$TAR_FROM")" 2>/dev/null ||
        die "cannot tar $TAR_FROM"
    TREE_FILES=$(tar -tf "$TARBALL" | wc -l)
    local i tmp digest
    for ((i = 0; i < BLOB_COUNT; i++)); do
        tmp=$BLOB_SRC/.new
        head -c $((BLOB_MB << 20)) /dev/urandom >"$tmp"
        digest=$(sha256sum <"$tmp")
        mv "$tmp" "$BLOB_SRC/${digest%% *}"
    done
}

# Sets up every target once; a target that cannot be set up is n/a.
READY=()
setup_targets() {
    local t
    for t in "${TARGETS[@]}"; do
        declare -F "target_${t}_setup" >/dev/null || { NOTE["$t"]="unknown target"; continue; }
        FAIL_REASON=
        if "target_${t}_setup"; then READY+=("$t"); else NOTE["$t"]=$FAIL_REASON; log "$t: n/a: $FAIL_REASON"; fi
    done
}

# run_on TARGET WORKLOAD: mounts TARGET, runs one workload, records the
# daemon's CPU seconds and peak RSS for it, unmounts.
run_on() {
    TARGET=$1
    FAIL_REASON=
    settle
    if ! "target_${TARGET}_mount"; then
        NOTE["$TARGET"]="mount failed: $FAIL_REASON"
        log "$TARGET: n/a: ${NOTE["$TARGET"]}"
        return
    fi
    "workload_$2"
    # Sampled before unmount, so they cover this mount, i.e. this workload
    # (with remount for cold reads: the last mount only).
    if [[ -n $PID ]]; then
        record "$TARGET" "cpu_$2" "$(cpu_seconds "$PID")"
        record "$TARGET" "rss_$2" "$(peak_rss_mib "$PID")"
    fi
    "target_${TARGET}_unmount"
}

# The disk of a shared VM drifts by 2x within minutes, so the targets take
# turns: each round runs every workload on every target, one workload at a
# time, starting the round with a different target, and the report shows
# each figure's median over the rounds.
run_rounds() {
    local w i n=${#READY[@]}
    for ((ROUND = 1; ROUND <= ROUNDS; ROUND++)); do
        log "== round $ROUND of $ROUNDS"
        for w in "${WORKLOADS[@]}"; do
            for ((i = 0; i < n; i++)); do
                run_on "${READY[(i + ROUND - 1) % n]}" "$w"
            done
        done
    done
    ROUND=
}

# ---- report ----------------------------------------------------------------------

# cell TARGET METRIC: the median over the rounds (peak RSS: the highest),
# "n/a" for a target that could not run, "-" for none.
cell() {
    local -a v
    read -ra v <<<"${RESULT["$1 $2"]:-}"
    if ((${#v[@]} == 0)); then
        if [[ -n ${NOTE[$1]:-} ]]; then echo n/a; else echo -; fi
    elif [[ $2 == rss_* ]]; then
        highest "${v[@]}"
    else
        summary "${v[@]}"
    fi
}
# range TARGET METRIC: "min max" over the rounds, or nothing.
range() {
    local -a v
    read -ra v <<<"${RESULT["$1 $2"]:-}"
    ((${#v[@]} > 0)) && [[ " ${v[*]} " != *" FAIL "* ]] && echo "$(lowest "${v[@]}") $(highest "${v[@]}")"
}
# speedup METRIC UNIT OTHER [TARGET]: how much faster TARGET (default cmkfs)
# is than OTHER, from the medians (rates: TARGET/OTHER; seconds:
# OTHER/TARGET), so above 1 is always faster; "-" when a figure is missing.
# Prefixed "~" when the two targets' ranges over the rounds overlap: the
# difference is then within the noise of this run.
speedup() {
    local metric=$1 unit=$2 other=$3 target=${4:-cmkfs}
    awk -v a="$(cell "$target" "$metric")" -v b="$(cell "$other" "$metric")" -v unit="$unit" \
        -v ra="$(range "$target" "$metric")" -v rb="$(range "$other" "$metric")" 'BEGIN {
        num = "^[0-9]+([.][0-9]+)?$"
        if (!(a ~ num && b ~ num && a + 0 > 0 && b + 0 > 0)) { print "-"; exit }
        r = unit == "s" ? b / a : a / b
        noisy = ""
        if (split(ra, x, " ") == 2 && split(rb, y, " ") == 2 && x[1] + 0 <= y[2] + 0 && y[1] + 0 <= x[2] + 0)
            noisy = "~"
        printf "%s%.2f", noisy, r
    }'
}

print_report() {
    local t m w label unit row
    local -a others=()
    for t in passthrough gocryptfs securefs cmkfs_base; do
        [[ " ${TARGETS[*]} " == *" $t "* ]] && others+=("$t")
    done
    printf '\nSPEED\n%-30s %-6s' "workload" "unit"
    for t in "${TARGETS[@]}"; do printf ' %12s' "$t"; done
    for t in "${others[@]}"; do printf ' %18s' "cmkfs vs $t"; done
    [[ " ${TARGETS[*]} " == *" cmkfs_metrics "* ]] && printf ' %22s' "cmkfs_metrics vs cmkfs"
    printf '\n'
    for row in "${METRICS[@]}"; do
        IFS='|' read -r w m label unit <<<"$row"
        [[ " ${WORKLOADS[*]} " == *" $w "* ]] || continue
        printf '%-30s %-6s' "$label" "$unit"
        for t in "${TARGETS[@]}"; do printf ' %12s' "$(cell "$t" "$m")"; done
        for t in "${others[@]}"; do printf ' %18s' "$(speedup "$m" "$unit" "$t")"; done
        [[ " ${TARGETS[*]} " == *" cmkfs_metrics "* ]] && printf ' %22s' "$(speedup "$m" "$unit" cmkfs cmkfs_metrics)"
        printf '\n'
    done
    printf '\nCOST (FUSE daemon, per workload)\n%-30s %-6s' "workload" "unit"
    for t in "${TARGETS[@]}"; do printf ' %12s' "$t"; done
    printf '\n'
    for w in "${WORKLOADS[@]}"; do
        printf '%-30s %-6s' "$w: CPU user+sys" "s"
        for t in "${TARGETS[@]}"; do printf ' %12s' "$(cell "$t" "cpu_$w")"; done
        printf '\n%-30s %-6s' "$w: peak RSS (VmHWM)" "MiB"
        for t in "${TARGETS[@]}"; do printf ' %12s' "$(cell "$t" "rss_$w")"; done
        printf '\n'
    done
    printf '\n"cmkfs vs X": how many times faster cmkfs is than X (seconds are inverted), so\n'
    printf '  above 1 is faster; "~": the rounds of the two overlap (min..max), i.e. within noise.\n'
    printf 'Figures: median of %s rounds (targets take turns per workload); CPU: median; RSS: highest.\n' "$ROUNDS"
    printf 'Sizes: sequential %s MiB; random file %s MiB, %s s per fio job; tree %s entries; blobs %s x %s MiB.\n' \
        "$SEQ_MB" "$RAND_MB" "$RAND_RUNTIME" "${TREE_FILES:-?}" "$BLOB_COUNT" "$BLOB_MB"
    if [[ $CACHE_METHOD == drop_caches ]]; then
        printf 'Cold reads: page cache dropped (echo 3 > /proc/sys/vm/drop_caches) before each read phase.\n'
    else
        printf 'Cold reads: drop_caches does not work here; FUSE targets were unmounted and mounted again\n'
        printf '  before each read phase (their page cache is cold; the raw directory stays warm, and\n'
        printf '  CPU and peak RSS cover only the last mount).\n'
    fi
    printf 'Scratch filesystem (backing of every target): %s\n' \
        "$(df -PT "$WORK" | awk 'NR == 2 { print $1 " (" $2 ")" }')"
    printf 'rm -rf on FUSE: a daemon that still holds the removed inodes (passthrough_ll keeps\n'
    printf '  O_PATH fds until FORGET) frees their blocks after the timing; raw pays inside it.\n'

    for t in "${TARGETS[@]}"; do
        [[ -n ${NOTE[$t]:-} ]] && printf '%s n/a: %s\n' "$t" "${NOTE[$t]}"
    done
    [[ ${BENCH_QUICK:-0} == 1 ]] && printf 'BENCH_QUICK=1: smoke-test sizes, not a measurement.\n'
    return 0
}

main() {
    check_prerequisites
    WORK=$(mktemp -d "${BENCH_DIR:-${TMPDIR:-/tmp}}/cmkfs-bench.XXXXXX") || die "mktemp failed"
    trap 'cephfs_cleanup; cleanup' EXIT
    trap on_signal INT TERM
    mkdir -p "$WORK/logs" "$WORK/inputs" "$WORK/volumes"
    # Store bindings (trust anchors written by init) stay in the scratch directory.
    export CMKFS_VOLUMES_DIR=$WORK/volumes
    log "scratch directory $WORK"
    probe_drop_caches
    log "cold reads by: $CACHE_METHOD"
    cephfs_configure
    make_inputs
    setup_targets
    run_rounds
    print_report
    cephfs_print_ratios
}

main "$@"
