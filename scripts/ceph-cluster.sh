#!/usr/bin/env bash
# A single-node Ceph cluster with CephFS, from Debian's packages alone (no
# cephadm, containers or systemd), for tests, benchmarks and trying cmkfs's
# shared-storage mode on one machine:
#   scripts/ceph-cluster.sh start  DIR [--clients N]
#   scripts/ceph-cluster.sh stop   DIR
#   scripts/ceph-cluster.sh status DIR
#
# start: cephx, 1 mon, 1 mgr, 1 BlueStore OSD on a sparse file
# (DIR/osd/block), one pool pair of size 1, 1 MDS and a CephFS "cephfs", then
# N ceph-fuse mounts of that filesystem at DIR/client1..N (default 2), each
# under its own client name (client.host1, …): separate sessions, as separate
# hosts would have. Everything binds to 127.0.0.1 only; every byte of state,
# every log (DIR/log), pidfile (DIR/run) and key (DIR/keys) stays under DIR.
# Run again on a DIR whose cluster is stopped, start restarts it from its data.
# stop: unmounts every client (fusermount3 -u; a hung one is aborted through
# /sys/fs/fuse/connections/N/abort) and ends every daemon by the PID in its
# pidfile, TERM then KILL. Idempotent: a stopped or half-started DIR is fine.
# --owner PID (start): a watcher stops the cluster once that process is gone,
# so a test binary killed by a timeout leaves no cluster behind.
# status: cluster health and the client mounts.
#
# Commands run against the cluster with: ceph --conf DIR/ceph.conf -s
#
# Sizing (a laptop-sized cluster, not a production one): the OSD's block file
# is CEPH_CLUSTER_OSD_GB GiB (default 8, sparse: only written data takes disk
# space), memory targets are small (about 420 MB RSS idle for all daemons
# plus ~40 MB per client).
# Needs root (ceph-fuse mounts), /dev/fuse, and the packages ceph-mon
# ceph-mgr ceph-osd ceph-mds ceph-fuse ceph-common (scripts/setup.sh).
set -euo pipefail

die() {
    echo "ceph-cluster: $*" >&2
    exit 1
}
say() { echo "ceph-cluster: $*"; }

usage() {
    echo "usage: $0 start|stop|status DIR [--clients N] [--owner PID]" >&2
    exit 2
}

(($# >= 2)) || usage
cmd=$1
dir_arg=$2
shift 2
clients=2
owner=
while (($#)); do
    case $1 in
    --clients)
        (($# >= 2)) || usage
        clients=$2
        shift 2
        ;;
    --owner)
        (($# >= 2)) || usage
        owner=$2
        shift 2
        ;;
    *) usage ;;
    esac
done
[[ $clients =~ ^[0-9]+$ ]] || die "--clients wants a number, got '$clients'"
[[ -z $owner || $owner =~ ^[0-9]+$ ]] || die "--owner wants a PID, got '$owner'"

DAEMONS=(mon.a mgr.x osd.0 mds.a)
START_TIMEOUT=${CEPH_CLUSTER_TIMEOUT:-120}

# Absolute path, so the conf and pidfiles do not depend on the caller's cwd.
abs_dir() {
    mkdir -p "$1" 2>/dev/null || true
    [[ -d $1 ]] || die "$1 is not a directory"
    (cd "$1" && pwd -P)
}

ceph_cli() { timeout 60 ceph --conf "$DIR/ceph.conf" "$@"; }

# A TCP port on 127.0.0.1 that nothing listens on (the mon's; the other
# daemons pick theirs from ms_bind_port_min..max themselves).
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# The PID in a pidfile when that process still runs the daemon it names
# (a pidfile left by a crash may name a reused PID: never signal that one).
live_pid() {
    local pidfile=$1 comm=$2 pid
    [[ -f $pidfile ]] || return 1
    pid=$(<"$pidfile")
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    [[ -r /proc/$pid/comm && $(<"/proc/$pid/comm") == "$comm"* ]] || return 1
    echo "$pid"
}

# TERM to every "PID:what" given at once, up to 10 s, then KILL; returns
# when every one is gone. In parallel: a daemon's clean shutdown waits
# seconds on its peers (the OSD, the MDS), one after another it took 16 s.
end_pids() {
    local entry i left
    (($#)) || return 0
    for entry in "$@"; do
        [[ -n ${CEPH_CLUSTER_TRACE:-} ]] && say "$(date +%T.%N) ending ${entry#*:}"
        kill -TERM "${entry%%:*}" 2>/dev/null || true
        kill -CONT "${entry%%:*}" 2>/dev/null || true  # a stopped one would never see TERM
    done
    for ((i = 0; i < 100; i++)); do
        left=()
        for entry in "$@"; do kill -0 "${entry%%:*}" 2>/dev/null && left+=("$entry"); done
        ((${#left[@]})) || return 0
        sleep 0.1
    done
    for entry in "${left[@]}"; do
        say "${entry#*:} (pid ${entry%%:*}) ignored SIGTERM for 10 s: SIGKILL"
        kill -KILL "${entry%%:*}" 2>/dev/null || true
    done
    for ((i = 0; i < 50; i++)); do
        left=()
        for entry in "$@"; do kill -0 "${entry%%:*}" 2>/dev/null && left+=("$entry"); done
        ((${#left[@]})) || return 0
        sleep 0.1
    done
    die "${left[*]} do not die"
}

mountpoints() {
    # Every fuse mount under DIR: also those of a previous start with more clients.
    awk -v d="$DIR/" '$5 ~ "^"d"client[0-9]+$" { print $5 }' /proc/self/mountinfo
}

fuse_connection() {
    # The FUSE connection number is the minor of the mount's device (field 3
    # of mountinfo). Read from mountinfo: stat(2) on a hung mount would hang.
    awk -v m="$1" '$5 == m { split($3, d, ":"); print d[2]; exit }' /proc/self/mountinfo
}

unmount_client() {
    local mnt=$1 conn i
    fusermount3 -u "$mnt" 2>/dev/null && return 0
    # Busy or hung: abort the connection (every pending request fails with
    # ENOTCONN), then detach what is left.
    conn=$(fuse_connection "$mnt")
    if [[ -n $conn && -w /sys/fs/fuse/connections/$conn/abort ]]; then
        say "$mnt does not unmount: aborting FUSE connection $conn"
        echo 1 >"/sys/fs/fuse/connections/$conn/abort" || true
    fi
    for ((i = 0; i < 20; i++)); do
        fusermount3 -u "$mnt" 2>/dev/null && return 0
        sleep 0.1
    done
    fusermount3 -uz "$mnt" 2>/dev/null || umount -l "$mnt" 2>/dev/null || true
    ! mountpoint -q "$mnt" || die "cannot unmount $mnt"
}

# Ends the processes of DIR/run/NAME.pid for each NAME given (command name
# ceph-<type>), all at once, and removes their pidfiles.
end_daemons() {
    local name pid victims=() pidfiles=()
    for name in "$@"; do
        pidfiles+=("$DIR/run/$name.pid")
        if pid=$(live_pid "$DIR/run/$name.pid" "$(daemon_command "$name")"); then victims+=("$pid:$name"); fi
    done
    end_pids "${victims[@]}"
    rm -f "${pidfiles[@]}"
}

daemon_command() {
    case $1 in
    client.*) echo ceph-fuse ;;
    watch) echo "${BASH_SOURCE[0]##*/}" ;;
    *) echo "ceph-${1%%.*}" ;;
    esac
}

stop_cluster() {
    local mnt pidfile clients_running=()
    while read -r mnt; do
        [[ -n $mnt ]] && unmount_client "$mnt"
    done < <(mountpoints)
    # Clients first (they hold caps the MDS would wait for), then the MDS, OSD
    # and mgr, and last the mon they report to.
    for pidfile in "$DIR"/run/client.*.pid; do
        [[ -e $pidfile ]] && clients_running+=("$(basename "$pidfile" .pid)")
    done
    end_daemons "${clients_running[@]}"
    end_daemons mds.a osd.0 mgr.x
    end_daemons mon.a
    # The owner watcher, unless this stop is its own.
    if [[ ${CEPH_CLUSTER_WATCHER:-} != 1 ]]; then end_daemons watch; fi
    rm -f "$DIR/run/watch.pid"
}

# Polls the owner; when it is gone (and the cluster is still there), stops it.
watch_owner() {
    while kill -0 "$owner" 2>/dev/null; do
        [[ -f $DIR/run/mon.a.pid ]] || exit 0  # stopped by someone else
        sleep 1
    done
    [[ -f $DIR/run/mon.a.pid ]] || exit 0
    say "owner $owner is gone: stopping $DIR"
    CEPH_CLUSTER_WATCHER=1 stop_cluster
}

write_conf() {
    local port=$1 fsid=$2
    cat >"$DIR/ceph.conf" <<EOF
# Written by scripts/ceph-cluster.sh: a one-node test cluster under $DIR.
[global]
fsid = $fsid
mon_host = v2:127.0.0.1:$port
mon_initial_members = a
# Loopback only, msgr2 only: nothing listens on another interface.
public_addr = 127.0.0.1
public_network = 127.0.0.1/32
ms_bind_ipv4 = true
ms_bind_ipv6 = false
ms_bind_msgr1 = false
ms_bind_msgr2 = true
auth_cluster_required = cephx
auth_service_required = cephx
auth_client_required = cephx
auth_allow_insecure_global_id_reclaim = false
keyring = $DIR/keys/\$name.keyring
run_dir = $DIR/run
admin_socket = $DIR/run/\$name.asok
log_file = $DIR/log/\$name.log
pid_file = $DIR/run/\$name.pid
crash_dir = $DIR/crash
exporter_sock_dir = $DIR/run
log_to_stderr = false
err_to_stderr = true
# One OSD: pools of size 1, placed across OSDs rather than hosts.
mon_allow_pool_size_one = true
osd_pool_default_size = 1
osd_pool_default_min_size = 1
osd_pool_default_pg_num = 8
osd_pool_default_pgp_num = 8
osd_pool_default_pg_autoscale_mode = off
osd_crush_chooseleaf_type = 0
mon_warn_on_pool_no_redundancy = false
mon_warn_on_insecure_global_id_reclaim_allowed = false
# The default free-space warning (30 %) trips on any busy developer disk.
mon_data_avail_warn = 2
mon_data_avail_crit = 1

[mon]
mon_data = $DIR/mon/\$id
mon_cluster_log_file = $DIR/log/cluster.log

[mgr]
mgr_data = $DIR/mgr/\$id

[osd]
osd_data = $DIR/osd
osd_objectstore = bluestore
# The OSD's device: DIR/osd/block, a sparse file made at mkfs.
bluestore_block_create = true
bluestore_block_size = $((${CEPH_CLUSTER_OSD_GB:-8} << 30))
bluestore_block_db_create = false
bluestore_block_wal_create = false
bluestore_fsck_on_mkfs = false
# The smallest memory target Ceph accepts (the default is 4 GiB).
osd_memory_target = 939524096
osd_op_num_shards = 1
osd_op_num_threads_per_shard = 2

[mds]
mds_data = $DIR/mds/\$id
mds_cache_memory_limit = 134217728
# A stop waits this long for the mon to acknowledge the MDS leaving (default 5 s).
mds_mon_shutdown_timeout = 1
# Cap revocations (another client opening a file just written) wait for the
# MDS tick: reading 20 files another client had just written took 20 s with
# a 1 s tick (the default is 5 s), 0.25-1 s with 0.05 s. Idle CPU stays ~0.
mds_tick_interval = 0.05

[client]
# ceph-fuse's object cache grows to hundreds of MB by default.
client_oc_size = 33554432
client_oc_max_dirty = 16777216
client_oc_target_dirty = 8388608
# Dirty data goes out after 0.1 s and unused caps back within 1 s (5 s by
# default), so another
# client's open after a write does not wait 5 s for them.
client_oc_max_dirty_age = 0.1
client_caps_release_delay = 1
log_file = $DIR/log/\$name.log
EOF
}

wait_for() {
    local what=$1 deadline=$((SECONDS + START_TIMEOUT))
    shift
    until "$@" >/dev/null 2>&1; do
        ((SECONDS < deadline)) || die "$what: not ready after ${START_TIMEOUT}s (logs in $DIR/log)"
        sleep 0.2
    done
}

osd_up() { ceph_cli osd dump -f json | grep -q '"up":1'; }
mds_active() { ceph_cli fs dump -f json | grep -q '"state":"up:active"'; }

# Runs a daemon (it forks and writes DIR/run/NAME.pid itself); fails with its
# log when it does not start.
start_daemon() {
    local name=$1
    shift
    if live_pid "$DIR/run/$name.pid" "ceph-${name%%.*}" >/dev/null; then return 0; fi
    "ceph-${name%%.*}" --conf "$DIR/ceph.conf" --id "${name#*.}" "$@" >"$DIR/log/$name.start.log" 2>&1 ||
        die "ceph-${name%%.*} $name failed to start: $(tail -3 "$DIR/log/$name.start.log"); see $DIR/log/$name.log"
}

make_cluster() {
    local fsid port osd_uuid osd_key
    fsid=$(uuidgen)
    port=$(free_port)
    mkdir -p "$DIR"/{keys,run,log,crash,mon/a,mgr/x,osd,mds/a}
    write_conf "$port" "$fsid"
    # Keys: the mon's, and an admin allowed everything; the daemons' are
    # made by the mon once it runs.
    ceph-authtool --create-keyring "$DIR/keys/mon.a.keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
    ceph-authtool --create-keyring "$DIR/keys/client.admin.keyring" --gen-key -n client.admin \
        --cap mon 'allow *' --cap osd 'allow *' --cap mds 'allow *' --cap mgr 'allow *' >/dev/null
    ceph-authtool "$DIR/keys/mon.a.keyring" --import-keyring "$DIR/keys/client.admin.keyring" >/dev/null
    monmaptool --create --fsid "$fsid" --addv a "[v2:127.0.0.1:$port]" "$DIR/monmap" >/dev/null
    ceph-mon --conf "$DIR/ceph.conf" --id a --mkfs --monmap "$DIR/monmap" \
        --keyring "$DIR/keys/mon.a.keyring" >/dev/null
    start_daemon mon.a
    ceph_cli auth get-or-create mgr.x mon 'allow profile mgr' osd 'allow *' mds 'allow *' \
        -o "$DIR/keys/mgr.x.keyring" >/dev/null
    start_daemon mgr.x
    # The OSD: registered with a key of its own, then its store made on the
    # sparse block file.
    osd_uuid=$(uuidgen)
    osd_key=$(ceph-authtool --gen-print-key)
    printf '{"cephx_secret": "%s"}\n' "$osd_key" >"$DIR/osd/new.json"
    ceph_cli osd new "$osd_uuid" 0 -i "$DIR/osd/new.json" >/dev/null
    rm -f "$DIR/osd/new.json"
    ceph-osd --conf "$DIR/ceph.conf" --id 0 --mkfs --key "$osd_key" --osd-uuid "$osd_uuid" \
        >"$DIR/log/osd.0.mkfs.log" 2>&1 || die "OSD mkfs failed; see $DIR/log/osd.0.mkfs.log"
    ceph-authtool --create-keyring "$DIR/keys/osd.0.keyring" -n osd.0 --add-key "$osd_key" >/dev/null
    start_daemon osd.0
    ceph_cli auth get-or-create mds.a mon 'allow profile mds' osd 'allow rw tag cephfs *=*' \
        mds 'allow' mgr 'allow profile mds' -o "$DIR/keys/mds.a.keyring" >/dev/null
    start_daemon mds.a
    ceph_cli osd pool create cephfs_metadata 8 >/dev/null 2>&1
    ceph_cli osd pool create cephfs_data 8 >/dev/null 2>&1
    ceph_cli fs new cephfs cephfs_metadata cephfs_data >/dev/null 2>&1
}

start_cluster() {
    local i name mnt
    if [[ -f $DIR/ceph.conf ]]; then
        say "restarting the cluster in $DIR"
        for name in "${DAEMONS[@]}"; do start_daemon "$name"; done
    else
        [[ -z $(ls -A "$DIR") ]] || die "$DIR is neither empty nor a cluster made by this script"
        make_cluster
    fi
    wait_for "the OSD" osd_up
    wait_for "the MDS" mds_active
    for ((i = 1; i <= clients; i++)); do
        name=client.host$i
        mnt=$DIR/client$i
        mkdir -p "$mnt"
        mountpoint -q "$mnt" && continue
        [[ -f $DIR/keys/$name.keyring ]] ||
            ceph_cli fs authorize cephfs "$name" / rw >"$DIR/keys/$name.keyring"
        # ceph-fuse forks once the mount is up; the child writes its pidfile.
        ceph-fuse --conf "$DIR/ceph.conf" --id "host$i" "$mnt" >"$DIR/log/$name.start.log" 2>&1 ||
            die "ceph-fuse $name failed: $(tail -3 "$DIR/log/$name.start.log"); see $DIR/log/$name.start.log and $DIR/log/$name.log"
        mountpoint -q "$mnt" || die "ceph-fuse $name returned but $mnt is not mounted"
    done
    say "up: $DIR (conf $DIR/ceph.conf), clients: $(mountpoints | tr '\n' ' ')"
}

status_cluster() {
    local name pid mnt
    [[ -f $DIR/ceph.conf ]] || die "no cluster in $DIR"
    for name in "${DAEMONS[@]}"; do
        if pid=$(live_pid "$DIR/run/$name.pid" "ceph-${name%%.*}"); then
            echo "$name: running (pid $pid)"
        else
            echo "$name: not running"
        fi
    done
    if live_pid "$DIR/run/mon.a.pid" ceph-mon >/dev/null; then
        ceph_cli health detail || true
    fi
    while read -r mnt; do
        [[ -n $mnt ]] && echo "mounted: $mnt"
    done < <(mountpoints)
}

case $cmd in
start)
    [[ $EUID == 0 ]] || die "run as root (ceph-fuse mounts)"
    [[ -c /dev/fuse ]] || die "/dev/fuse is missing"
    for tool in ceph-mon ceph-mgr ceph-osd ceph-mds ceph-fuse ceph ceph-authtool monmaptool uuidgen python3; do
        command -v "$tool" >/dev/null || die "$tool not found (scripts/setup.sh installs it)"
    done
    DIR=$(abs_dir "$dir_arg")
    # A failed start leaves nothing running behind.
    trap 'status=$?; if ((status)); then say "start failed: stopping what was started"; stop_cluster; fi' EXIT
    start_cluster
    trap - EXIT
    if [[ -n $owner ]]; then
        # In a session of its own: the owner's process group may be killed whole.
        setsid "$0" watch "$DIR" --owner "$owner" >>"$DIR/log/watch.log" 2>&1 </dev/null &
        echo $! >"$DIR/run/watch.pid"
    fi
    ;;
watch)
    [[ -n $owner ]] || usage
    DIR=$(abs_dir "$dir_arg")
    watch_owner
    ;;
stop)
    [[ -d $dir_arg ]] || { say "nothing in $dir_arg"; exit 0; }
    DIR=$(abs_dir "$dir_arg")
    stop_cluster
    say "stopped: $DIR"
    ;;
status)
    [[ -d $dir_arg ]] || die "no cluster in $dir_arg"
    DIR=$(abs_dir "$dir_arg")
    status_cluster
    ;;
*) usage ;;
esac
