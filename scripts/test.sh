#!/usr/bin/env bash
# Installs what is missing, builds cmkfs twice (a normal build and an
# ASan+UBSan build) and runs the whole suite in both through ctest.
#   CMKFS_TEST_SEED=N  replays randomized tests
#   CMKFS_SKIP_SANITIZE=1  skips the sanitizer pass (local iteration only)
#   CMKFS_SKIP_FUZZ=1  skips the brief fuzz run (local iteration only)
#   CMKFS_FUZZ_SECONDS=N  seconds per fuzz target (default 2)
#   CMKFS_SKIP_CLUSTER=1  skips the tests on a Ceph cluster, label "cluster"
#                         (local iteration only)
# Between the two trees, scripts/fuzz.sh builds the libFuzzer targets
# (build-fuzz/, clang) and runs each briefly after replaying its regression
# inputs (docs/fuzzing.md): 47 s for 14 targets, plus 92 s to build
# build-fuzz/ from nothing on 2 cores (measured).
# Both trees run two tests at a time: most wait on mounts, daemons and key
# checks rather than the CPU. Tests with latency bounds (LATENCY_BOUND in
# tests/CMakeLists.txt) run alone in the sanitizer tree: its revocation cases
# missed their bounds when run three at a time.
# Tests labelled "cluster" (tests/cluster) each start a one-node Ceph cluster
# with scripts/ceph-cluster.sh: ~14 s to start and ~10 s to stop per test
# binary, ~420 MB RSS while it runs. They run in both trees: the cmkfs
# daemons they drive are the ones ASan should see.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

scripts/setup.sh

echo "== build (RelWithDebInfo) =="
scripts/build.sh "$root/build"
echo "== test (RelWithDebInfo) =="
skip_cluster=()
[ "${CMKFS_SKIP_CLUSTER:-0}" = 1 ] && skip_cluster=(-LE cluster)
ctest --test-dir "$root/build" -j2 --output-on-failure --timeout 900 "${skip_cluster[@]}"

if [ "${CMKFS_SKIP_FUZZ:-0}" != 1 ]; then
  echo "== fuzz (libFuzzer, ASan+UBSan) =="
  scripts/fuzz.sh "${CMKFS_FUZZ_SECONDS:-2}"
fi

if [ "${CMKFS_SKIP_SANITIZE:-0}" != 1 ]; then
  echo "== build (ASan+UBSan) =="
  scripts/build.sh "$root/build-asan" -DCMKFS_SANITIZE=ON
  echo "== test (ASan+UBSan) =="
  # detect_leaks stays on: leaks fail the run. Plugins are dlopened, so keep
  # their symbols for readable reports.
  ASAN_OPTIONS=detect_leaks=1:fast_unwind_on_malloc=0 \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir "$root/build-asan" -j2 --output-on-failure --timeout 1800 "${skip_cluster[@]}"
fi
