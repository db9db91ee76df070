#!/usr/bin/env bash
# clang-tidy over every project source (src/, plugins/, examples/), using the
# compile database of build/. Exits non-zero when any check fires.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
[ -f "$build/compile_commands.json" ] || scripts/build.sh "$build"
cd "$root"
mapfile -t files < <(git ls-files 'src/*.cpp' 'plugins/*.cpp' 'plugins/*.c' 'examples/*.c' 'examples/*.cpp')
out=$(mktemp)
trap 'rm -f "$out"' EXIT
printf '%s\n' "${files[@]}" | xargs -P "$(nproc)" -n 4 clang-tidy -p "$build" --quiet >"$out" 2>/dev/null || true
if grep -E '(warning|error):' "$out"; then
  echo "lint: clang-tidy reported the findings above" >&2
  exit 1
fi
echo "lint: clang-tidy clean (${#files[@]} files)"
