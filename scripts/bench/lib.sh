# shellcheck shell=bash
# Plumbing for scripts/bench.sh: logging, timing, results, FUSE daemons,
# cold caches and cleanup. Sourced, not run.

log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# ---- timing and arithmetic -------------------------------------------------

# Runs "$@" under the step timeout and sets ELAPSED (seconds); returns its status.
ELAPSED=
timed() {
    local t0=$EPOCHREALTIME status
    run "$@"
    status=$?
    ELAPSED=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.3f", b - a }')
    return "$status"
}

# A hung filesystem must not hang the benchmark: every step gets a deadline.
# The step runs in the background and is waited for, so that an interrupt is
# handled at once (bash runs traps only between foreground commands, and
# timeout puts its command in a process group of its own, away from Ctrl-C).
STEP_PID=
run() {
    local status
    timeout --kill-after=10 "$STEP_TIMEOUT" "$@" &
    STEP_PID=$!
    wait "$STEP_PID"
    status=$?
    STEP_PID=
    return "$status"
}

# per_second AMOUNT SECONDS: the rate, one decimal.
per_second() { awk -v n="$1" -v s="$2" 'BEGIN { printf "%.1f", n / s }'; }

# ---- results -----------------------------------------------------------------
# RESULT["target metric"] = the figures of every round, space separated (a
# number or FAIL each); NOTE[target] = why it is n/a.
declare -A RESULT=() NOTE=()
record() {
    RESULT["$1 $2"]="${RESULT["$1 $2"]:+${RESULT["$1 $2"]} }$3"
    log "$1: $2 = $3${ROUND:+ (round $ROUND)}"
}

# summary FIGURES...: FAIL if any round failed, else the median (the mean of
# the middle two for an even count): one slow round on a shared disk must
# not decide a ratio.
summary() {
    printf '%s\n' "$@" | sort -g | awk '
        $0 == "FAIL" { failed = 1 }
        { v[NR] = $0 }
        END {
            if (failed) { print "FAIL"; exit }
            if (NR % 2) { print v[(NR + 1) / 2]; exit }
            m = (v[NR / 2] + v[NR / 2 + 1]) / 2
            t = sprintf(m >= 100 ? "%.1f" : "%.3f", m)
            sub(/0+$/, "", t); sub(/[.]$/, "", t)
            print t
        }'
}
# highest FIGURES...: the largest (for peak RSS: a peak over all rounds).
highest() { printf '%s\n' "$@" | sort -g | tail -n 1; }
# lowest FIGURES...: the smallest (FAIL sorts first and is left out).
lowest() { printf '%s\n' "$@" | grep -v FAIL | sort -g | head -n 1; }

# ---- FUSE daemons ------------------------------------------------------------
# DAEMON_PID[mountpoint] = pid of the foreground daemon serving it.
declare -A DAEMON_PID=()
FAIL_REASON=

# fuse_start MNT CMD...: runs a foreground FUSE daemon in the background and
# waits until MNT is a mount point. On failure sets FAIL_REASON.
fuse_start() {
    local mnt=$1 logf
    shift
    logf="$WORK/logs/$(basename "$mnt").log"
    "$@" >>"$logf" 2>&1 &
    local pid=$!
    DAEMON_PID[$mnt]=$pid
    local i
    for ((i = 0; i < 200; i++)); do
        if mountpoint -q "$mnt"; then return 0; fi
        if ! kill -0 "$pid" 2>/dev/null; then
            wait "$pid" 2>/dev/null
            unset 'DAEMON_PID[$mnt]'
            FAIL_REASON="$(basename "$1") exited before mounting: $(tail -n 3 "$logf" | tr '\n' ' ')"
            return 1
        fi
        sleep 0.1
    done
    FAIL_REASON="$(basename "$1") did not mount within 20 s: $(tail -n 3 "$logf" | tr '\n' ' ')"
    fuse_stop "$mnt"
    return 1
}

# fuse_stop MNT: unmounts and waits for (then if need be kills) its daemon.
fuse_stop() {
    local mnt=$1 pid=${DAEMON_PID[$1]:-} i
    if mountpoint -q "$mnt"; then
        for ((i = 0; i < 10; i++)); do
            fusermount3 -u "$mnt" 2>/dev/null && break
            sleep 0.5  # busy: let the last close finish
        done
        mountpoint -q "$mnt" && { log "lazy unmount of busy $mnt"; fusermount3 -uz "$mnt"; }
    fi
    if [[ -n $pid ]]; then
        for ((i = 0; i < 100; i++)); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        if kill -0 "$pid" 2>/dev/null; then
            log "daemon $pid for $mnt still running after unmount; killing it"
            kill -TERM "$pid" 2>/dev/null
            sleep 1
            kill -KILL "$pid" 2>/dev/null
        fi
        wait "$pid" 2>/dev/null
        unset 'DAEMON_PID[$mnt]'
    fi
}

# Peak resident set of a process in MiB (VmHWM), or nothing when it is gone.
peak_rss_mib() {
    awk '/^VmHWM:/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status" 2>/dev/null
}

# CPU seconds (user + system, every thread) a process has used so far, or
# nothing when it is gone. /proc/PID/stat fields 14 and 15, in clock ticks;
# the command name (field 2) may hold spaces, so count from the last ")".
cpu_seconds() {
    local stat
    stat=$(<"/proc/$1/stat") 2>/dev/null || return 0
    awk -v rest="${stat##*) }" -v hz="$(getconf CLK_TCK)" 'BEGIN {
        split(rest, f, " ")
        printf "%.2f", (f[12] + f[13]) / hz  # fields 14 and 15 of the whole line
    }'
}

# ---- cold page cache ---------------------------------------------------------
# CACHE_METHOD is "drop_caches" when writing /proc/sys/vm/drop_caches really
# evicts pages here, otherwise "remount" (unmount and mount the FUSE target;
# the raw directory then stays warm).
CACHE_METHOD=
probe_drop_caches() {
    local probe=$WORK/cache-probe
    head -c $((16 << 20)) /dev/urandom >"$probe"
    cat "$probe" >/dev/null
    CACHE_METHOD=remount
    if sync && { echo 3 >/proc/sys/vm/drop_caches; } 2>/dev/null; then
        if ! command -v fincore >/dev/null; then
            CACHE_METHOD=drop_caches  # cannot verify; trust the successful write
        elif [[ $(fincore --noheadings --output PAGES "$probe" | tr -d ' ') == 0 ]]; then
            CACHE_METHOD=drop_caches
        fi
    fi
    rm -f "$probe"
}

# Before each target's turn: everything written back and clean caches
# dropped, so no target pays for its predecessor's leftovers. On ext4 without
# a journal (this VM's disk) a new inode is not taken from those deleted in
# the last seconds while their inode-table blocks are cached: every create
# next to thousands of just-deleted files scans its block group. An untar of
# 9,000 files took 6 s on a settled disk and 20 s right after another
# target's rm -rf in the same block group.
settle() {
    sync
    if [[ $CACHE_METHOD == drop_caches ]]; then echo 3 >/proc/sys/vm/drop_caches; fi
    return 0
}

# Evicts cached file data (and dentries/inodes) before a read phase.
cold_cache() {
    sync
    if [[ $CACHE_METHOD == drop_caches ]]; then
        echo 3 >/proc/sys/vm/drop_caches
    elif [[ $TARGET != raw ]]; then
        if ! { "target_${TARGET}_unmount" && "target_${TARGET}_mount"; }; then
            log "remount of $TARGET failed: $FAIL_REASON"
        fi
    fi
}

# ---- cleanup -------------------------------------------------------------------
on_signal() {
    log "interrupted; cleaning up"
    # timeout passes the TERM on to the step it runs.
    [[ -n $STEP_PID ]] && kill -TERM "$STEP_PID" 2>/dev/null && wait "$STEP_PID" 2>/dev/null
    exit 130
}

cleanup() {
    local status=$? mnt
    set +e
    [[ -n ${SCRAPER_PID:-} ]] && kill "$SCRAPER_PID" 2>/dev/null
    for mnt in "${!DAEMON_PID[@]}"; do fuse_stop "$mnt"; done
    # Anything still mounted below the scratch dir (should be nothing).
    while read -r _ mnt _; do
        [[ $mnt == "$WORK"/* ]] && { log "leftover mount $mnt"; fusermount3 -uz "$mnt" || umount -l "$mnt"; }
    done </proc/mounts
    [[ -n ${WORK:-} && -d $WORK ]] && rm -rf --one-file-system "$WORK"
    exit "$status"
}
