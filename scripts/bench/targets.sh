# shellcheck shell=bash
# The filesystems under test. Each target NAME has three functions:
#   target_NAME_setup    once: build/init; returns non-zero with FAIL_REASON set
#   target_NAME_mount    sets DIR (where workloads run) and PID (daemon, or empty)
#   target_NAME_unmount
# Every target keeps its state under $WORK/NAME.

# ---- raw: the backing disk itself (the absolute ceiling) -----------------------
target_raw_setup() { mkdir -p "$WORK/raw/dir"; }
target_raw_mount() { DIR=$WORK/raw/dir PID=; }
target_raw_unmount() { :; }

# ---- passthrough: libfuse's passthrough_ll (the FUSE ceiling) ------------------
PASSTHROUGH_SRC=/usr/share/doc/libfuse3-dev/examples/passthrough_ll.c
target_passthrough_setup() {
    local t=$WORK/passthrough
    mkdir -p "$t/backing" "$t/mnt"
    [[ -r $PASSTHROUGH_SRC ]] || { FAIL_REASON="$PASSTHROUGH_SRC missing (apt-get install libfuse3-dev)"; return 1; }
    # shellcheck disable=SC2046  # pkg-config output is meant to split
    if ! gcc -O2 -o "$t/passthrough_ll" "$PASSTHROUGH_SRC" $(pkg-config --cflags --libs fuse3) \
        >"$WORK/logs/passthrough-build.log" 2>&1; then
        FAIL_REASON="compiling passthrough_ll failed: $(tail -n 2 "$WORK/logs/passthrough-build.log")"
        return 1
    fi
}
target_passthrough_mount() {
    local t=$WORK/passthrough
    fuse_start "$t/mnt" "$t/passthrough_ll" -f -o source="$t/backing" "$t/mnt" || return 1
    DIR=$t/mnt PID=${DAEMON_PID[$t/mnt]}
}
target_passthrough_unmount() { fuse_stop "$WORK/passthrough/mnt"; }

# ---- gocryptfs: the fastest mature encrypted FUSE filesystem -------------------
target_gocryptfs_setup() {
    local t=$WORK/gocryptfs
    mkdir -p "$t/cipher" "$t/mnt"
    command -v gocryptfs >/dev/null || { FAIL_REASON="gocryptfs not installed (apt-get install gocryptfs)"; return 1; }
    if ! gocryptfs -init -q -extpass 'echo pw' -scryptn 10 "$t/cipher" >"$WORK/logs/gocryptfs-init.log" 2>&1; then
        FAIL_REASON="gocryptfs -init failed: $(tail -n 2 "$WORK/logs/gocryptfs-init.log")"
        return 1
    fi
}
target_gocryptfs_mount() {
    local t=$WORK/gocryptfs
    fuse_start "$t/mnt" gocryptfs -fg -q -extpass 'echo pw' "$t/cipher" "$t/mnt" || return 1
    DIR=$t/mnt PID=${DAEMON_PID[$t/mnt]}
}
target_gocryptfs_unmount() { fuse_stop "$WORK/gocryptfs/mnt"; }

# ---- securefs: Debian's securefs in its "lite" format (format 4), the peer
# to beat on small operations. A cheap PBKDF keeps setup fast; it does not
# change the data path. Its defaults (attribute cache 30 s) are kept. ---------
target_securefs_setup() {
    local t=$WORK/securefs
    mkdir -p "$t/cipher" "$t/mnt"
    command -v securefs >/dev/null || { FAIL_REASON="securefs not installed (apt-get install securefs)"; return 1; }
    if ! securefs create --format 4 --pass pw --pbkdf pkcs5-pbkdf2-hmac-sha256 --rounds 1000 "$t/cipher" \
        >"$WORK/logs/securefs-create.log" 2>&1; then
        FAIL_REASON="securefs create failed: $(tail -n 2 "$WORK/logs/securefs-create.log")"
        return 1
    fi
}
target_securefs_mount() {
    local t=$WORK/securefs
    fuse_start "$t/mnt" securefs mount --pass pw "$t/cipher" "$t/mnt" || return 1
    DIR=$t/mnt PID=${DAEMON_PID[$t/mnt]}
}
target_securefs_unmount() { fuse_stop "$WORK/securefs/mnt"; }

# ---- cmkfs: this project, with a local vault as the CMK provider --------------
# cmkfs_step NAME CMD...: runs one setup command, keeping its output in
# CMKFS_OUT; on failure explains which step failed and why.
cmkfs_step() {
    local step=$1 log=$WORK/logs/cmkfs-${1// /-}
    shift
    if ! run "$@" >"$log.out" 2>"$log.err"; then
        FAIL_REASON="'cmkfs $step' failed: $(tail -n 2 "$log.err" | tr '\n' ' ')"
        return 1
    fi
    CMKFS_OUT=$(<"$log.out")
}
# cmkfs_target_setup NAME BIN: a vault, a key, a policy and a store for the
# target NAME, made by the cmkfs binary BIN.
cmkfs_target_setup() {
    local t=$WORK/$1 bin=$2 kid
    mkdir -p "$t/mnt"
    [[ -x $bin ]] || { FAIL_REASON="no cmkfs binary at $bin (build it, or set CMKFS_BIN / CMKFS_BASE_BIN)"; return 1; }
    cmkfs_step "vault create" "$bin" vault create "$t/vault" || return 1
    cmkfs_step "vault key create" "$bin" vault key create --vault "$t/vault" --name bench --kty oct || return 1
    if ! kid=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["key"]["kid"])' <<<"$CMKFS_OUT" 2>/dev/null); then
        FAIL_REASON="'cmkfs vault key create' printed no .key.kid: ${CMKFS_OUT:0:200}"
        return 1
    fi
    cmkfs_step "vault set-policy" "$bin" vault set-policy --vault "$t/vault" --identity bench-id \
        --key-permissions get wrapKey unwrapKey || return 1
    cmkfs_step init "$bin" init "$t/backing" --provider local --vault "$t/vault" \
        --identity bench-id --key-encryption-key "$kid" || return 1
}
# cmkfs_target_mount NAME BIN [MOUNT ARGS...]
cmkfs_target_mount() {
    local t=$WORK/$1 bin=$2
    shift 2
    fuse_start "$t/mnt" "$bin" mount "$t/backing" "$t/mnt" -f "$@" || return 1
    DIR=$t/mnt PID=${DAEMON_PID[$t/mnt]}
}
target_cmkfs_setup() { cmkfs_target_setup cmkfs "$CMKFS_BIN"; }
target_cmkfs_mount() { cmkfs_target_mount cmkfs "$CMKFS_BIN"; }
target_cmkfs_unmount() { fuse_stop "$WORK/cmkfs/mnt"; }

# ---- cmkfs_base: another cmkfs build (CMKFS_BASE_BIN), e.g. main before a change,
# or the same build with other mount options (CMKFS_BASE_OPTIONS, e.g.
# "-o no_writeback_cache"), so that "before" and "after" are measured in the
# same run ------------------------------------------------------------------------
target_cmkfs_base_setup() {
    [[ -n ${CMKFS_BASE_BIN:-}${CMKFS_BASE_OPTIONS:-} ]] ||
        { FAIL_REASON="set CMKFS_BASE_BIN (a cmkfs binary) or CMKFS_BASE_OPTIONS (mount options) to compare with"; return 1; }
    cmkfs_target_setup cmkfs_base "${CMKFS_BASE_BIN:-$CMKFS_BIN}"
}
target_cmkfs_base_mount() {
    local options
    read -ra options <<<"${CMKFS_BASE_OPTIONS:-}"
    cmkfs_target_mount cmkfs_base "${CMKFS_BASE_BIN:-$CMKFS_BIN}" "${options[@]}"
}
target_cmkfs_base_unmount() { fuse_stop "$WORK/cmkfs_base/mnt"; }

# ---- cmkfs_metrics: cmkfs with its Prometheus endpoint on, scraped every
# second while the workloads run (docs/metrics.md); the FUSE operations are
# counted in every cmkfs mount, so this measures the endpoint and scrapes ------
target_cmkfs_metrics_setup() { cmkfs_target_setup cmkfs_metrics "$CMKFS_BIN"; }
target_cmkfs_metrics_mount() {
    local sock=$WORK/cmkfs_metrics/metrics.sock
    cmkfs_target_mount cmkfs_metrics "$CMKFS_BIN" -o "metrics=unix:$sock" || return 1
    ( while :; do curl -s --max-time 2 --unix-socket "$sock" http://localhost/metrics >/dev/null; sleep 1; done ) &
    SCRAPER_PID=$!
}
target_cmkfs_metrics_unmount() {
    [[ -n ${SCRAPER_PID:-} ]] && kill "$SCRAPER_PID" 2>/dev/null && wait "$SCRAPER_PID" 2>/dev/null
    SCRAPER_PID=
    fuse_stop "$WORK/cmkfs_metrics/mnt"
}
