# shellcheck shell=bash
# The workloads. Each runs in $DIR for $TARGET and records its figures; a
# failing step records FAIL and the run goes on with the next workload.
# shellcheck disable=SC2016  # the bash -c scripts take their arguments as $1, $2

# measure METRIC CMD...: records the seconds CMD takes, or FAIL.
measure() {
    local metric=$1
    shift
    if timed "$@"; then record "$TARGET" "$metric" "$ELAPSED"; else record "$TARGET" "$metric" FAIL; fi
}

# measure_rate METRIC MIB CMD...: records MIB / the seconds CMD takes, or FAIL.
measure_rate() {
    local metric=$1 mib=$2
    shift 2
    if timed "$@"; then
        record "$TARGET" "$metric" "$(per_second "$mib" "$ELAPSED")"
    else
        record "$TARGET" "$metric" FAIL
    fi
}

# measure_iops METRIC RW FILE [JOBS]: fio for $RAND_RUNTIME s with JOBS
# (default 1) processes on one file; records their summed IOPS, or FAIL.
measure_iops() {
    local metric=$1 rw=$2 file=$3 jobs=${4:-1} json=$WORK/logs/fio-$1.json
    if run fio --name="$rw" --filename="$file" --rw="$rw" --bs=4k --size="${RAND_MB}M" \
        --ioengine=psync --direct=0 --fallocate=none --end_fsync=1 --numjobs="$jobs" --group_reporting \
        --runtime="$RAND_RUNTIME" --time_based --output-format=json --output="$json" \
        2>>"$WORK/logs/fio.err"; then
        record "$TARGET" "$metric" "$(python3 -c 'import json, sys
job = json.load(open(sys.argv[1]))["jobs"][0]
print("%.0f" % (job["read"]["iops"] + job["write"]["iops"]))' "$json")"
    else
        record "$TARGET" "$metric" FAIL
    fi
}

# Sequential write, then read with a cold cache, of one $SEQ_MB file.
# fio writes non-zero data (a filesystem must not win by spotting zeros);
# the time is wall clock including the final fsync.
workload_seq() {
    local f=$DIR/seq.bin
    local job=(fio --name=seq --filename="$f" --bs=1M --size="${SEQ_MB}M" --ioengine=psync
        --direct=0 --fallocate=none --output=/dev/null)
    measure_rate seq_write "$SEQ_MB" "${job[@]}" --rw=write --end_fsync=1
    cold_cache
    measure_rate seq_read "$SEQ_MB" "${job[@]}" --rw=read
    rm -f "$f"
}

# Random 4 KiB writes (one job, then two on the same file), then reads:
# cold (page cache dropped), then warm (right after, from whatever cache the
# target kept: the backing file's pages at least), in a laid-out $RAND_MB file.
workload_rand() {
    local f=$DIR/rand.bin
    # Lay the file out first, so random writes overwrite rather than extend.
    run fio --name=layout --filename="$f" --rw=write --bs=1M --size="${RAND_MB}M" \
        --ioengine=psync --fallocate=none --end_fsync=1 --output=/dev/null 2>>"$WORK/logs/fio.err"
    measure_iops rand_write randwrite "$f"
    measure_iops rand_write2 randwrite "$f" 2
    cold_cache
    measure_iops rand_read randread "$f"
    measure_iops rand_read_warm randread "$f"
    rm -f "$f"
}

# Many small files: untar (until synced), ls -lR (cold), rm -rf (until synced).
# "Synced" means syncfs of the mount (FUSE flushes its dirty pages to the
# daemon) and of the backing filesystem: FUSE does not forward syncfs, so
# without the second the raw directory alone would pay for its journal.
workload_tree() {
    local tree=$DIR/tree
    mkdir -p "$tree"
    cat "$TARBALL" >/dev/null  # the input comes from the page cache for every target
    measure untar bash -c 'tar -xf "$1" -C "$2" && sync -f "$2" && sync -f "$3"' _ "$TARBALL" "$tree" "$WORK"
    cold_cache
    measure ls_lR bash -c 'ls -lR "$1" >/dev/null' _ "$tree"
    measure rm_rf bash -c 'rm -rf "$1" && sync -f "$2" && sync -f "$3"' _ "$tree" "$DIR" "$WORK"
    rm -rf "$tree"
}

# Registry-like blobs: push = write each to an upload name, fsync, rename into
# blobs/sha256/<digest>/data; pull = read each back (cold) and check sha256.
workload_blobs() {
    local reg=$DIR/registry
    mkdir -p "$reg/_uploads"
    cat "$BLOB_SRC"/* >/dev/null  # sources come from the page cache for every target
    measure blob_push "$BENCH_LIB/blobs.sh" push "$BLOB_SRC" "$reg"
    cold_cache
    measure blob_pull "$BENCH_LIB/blobs.sh" pull "$BLOB_SRC" "$reg"
    rm -rf "$reg"
}
