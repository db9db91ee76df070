#!/usr/bin/env bash
# Builds the libFuzzer targets (build-fuzz/, clang, ASan+UBSan) and runs each
# for SECONDS against a scratch copy of its seed corpus, after replaying every
# committed regression input. Exits non-zero when any target crashes, leaks,
# times out (-timeout) or blows up (-rss_limit_mb, -malloc_limit_mb).
#   scripts/fuzz.sh [SECONDS] [TARGET...]     default 60 seconds, every target
#   CMKFS_FUZZ_BUILD=DIR   build tree (default build-fuzz)
#   CMKFS_FUZZ_KEEP=DIR    keep the grown corpora and crash inputs in DIR
# A crash leaves its input in the scratch directory, printed at the end: add it
# under fuzz/regressions/TARGET/ with the fix (docs/fuzzing.md).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
seconds=${1:-60}
shift || true
build=${CMKFS_FUZZ_BUILD:-$root/build-fuzz}

if [ ! -f "$build/CMakeCache.txt" ]; then
  CC=clang CXX=clang++ cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMKFS_FUZZ=ON \
    -DBUILD_TESTING=ON >/dev/null
fi
cmake --build "$build" -j"$(nproc)" --target cmkfs_fuzz

if [ $# -gt 0 ]; then
  targets=("$@")
else
  targets=()
  for src in "$root"/fuzz/corpus/*/; do targets+=("$(basename "$src")"); done
fi

scratch=${CMKFS_FUZZ_KEEP:-$(mktemp -d /tmp/cmkfs-fuzz.XXXXXX)}
mkdir -p "$scratch"
# Leaks fail a run; limits turn blow-ups into failures instead of a stuck machine.
limits=(-rss_limit_mb=2048 -malloc_limit_mb=1024 -timeout=10)
export ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

failed=()
for t in "${targets[@]}"; do
  bin="$build/fuzz/fuzz_$t"
  dict=()
  [ -f "$root/fuzz/dict/$t.dict" ] && dict=(-dict="$root/fuzz/dict/$t.dict")
  work="$scratch/$t"
  rm -rf "$work" && mkdir -p "$work/corpus" "$work/artifacts"
  cp -r "$root/fuzz/corpus/$t/." "$work/corpus/"
  status=ok
  # Regressions first: each input once, no mutation.
  if [ -d "$root/fuzz/regressions/$t" ] &&
    ! "$bin" "${limits[@]}" -runs=0 -artifact_prefix="$work/artifacts/" "$root/fuzz/regressions/$t" \
      >"$work/regressions.log" 2>&1; then
    status="REGRESSION (log: $work/regressions.log)"
  fi
  if [ "$status" = ok ] && ! "$bin" "${limits[@]}" "${dict[@]}" -max_total_time="$seconds" \
      -print_final_stats=1 -artifact_prefix="$work/artifacts/" "$work/corpus" >"$work/fuzz.log" 2>&1; then
    status="FAILED: $(ls "$work/artifacts" | head -1) (log: $work/fuzz.log)"
  fi
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/fuzz.log" 2>/dev/null | tail -1)
  cov=$(grep -o 'cov: [0-9]*' "$work/fuzz.log" 2>/dev/null | tail -1 | cut -d' ' -f2)
  printf 'fuzz %-18s %-6s runs=%-9s cov=%-6s %s\n' "$t" "${seconds}s" "${runs:-0}" "${cov:-?}" "$status"
  [ "$status" = ok ] || failed+=("$t")
done

if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: FAILED: ${failed[*]} (inputs under $scratch/<target>/artifacts/)"
  exit 1
fi
[ -n "${CMKFS_FUZZ_KEEP:-}" ] || rm -rf "$scratch"
echo "fuzz: all ${#targets[@]} targets passed (${seconds}s each)"
