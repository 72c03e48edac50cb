#!/usr/bin/env bash
# `make fuzz`: builds the libFuzzer targets (tests/fuzz/fuzz_*.cpp) in their
# own build folder and runs each for a bounded time, growing the corpora
# that are kept in the repository, so fuzzing time adds up across runs
# (docs/fuzzing.md).
#
# usage: tests/fuzz/run.sh [TARGET...]     (default: every target)
#
# Environment:
#   FUZZ_SECONDS    seconds per target (default: 60)
#   FUZZ_BUILD_DIR  the build folder (default: build-fuzz)
#   FUZZ_NICE       niceness of the fuzzers (default: 10: they use a whole
#                   core, and others may be building)
#
# Each target reads tests/fuzz/corpus/<target>/ and its dictionary
# tests/fuzz/dict/<target>.dict; what it finds new goes to a scratch folder
# and is merged back (-merge=1 -use_counters=0: only inputs that reach code
# the corpus did not reach are kept). `tests/fuzz/run.sh --minimize` shrinks
# the kept corpora to a smallest set with the same code reached.
# Crashes, timeouts (10 s per input), out-of-memory (2 GiB) and leaks are
# saved under $FUZZ_BUILD_DIR/findings/<target>/ and make the script exit 1
# after the other targets ran. tests/fuzz/fuzzing-time.tsv keeps the running
# totals per target (seconds, executions, findings).
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
seconds=${FUZZ_SECONDS:-60}
build=${FUZZ_BUILD_DIR:-$root/build-fuzz}
niceness=${FUZZ_NICE:-10}
totals=$here/fuzzing-time.tsv
all_targets=(json json_schema module_contract preflight http_request)
minimize=0
if [ "${1:-}" = "--minimize" ]; then
  minimize=1
  shift
fi
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=("${all_targets[@]}")

# The longest input each target tries: long enough for its inputs (a
# request head is at most 16 KiB, contracts are a few KiB), short enough to
# keep executions fast and the corpora small.
max_len() {
  case $1 in
    module_contract) echo 8192 ;;
    *) echo 4096 ;;
  esac
}

die() {
  echo "fuzz: $*" >&2
  exit 1
}

case $seconds in
  '' | *[!0-9]*) die "FUZZ_SECONDS must be a number of seconds, not '$seconds'" ;;
esac

bash "$here/install-clang.sh" || die "clang with libFuzzer is not available"

if [ ! -f "$build/build.ninja" ]; then
  CC=clang CXX=clang++ cmake -S "$root" -B "$build" -G Ninja -DOMNIVA_FUZZ=ON \
    || die "cannot configure $build"
fi
# The machine's build lock: several builds at once would starve each other.
flock /tmp/omniva-build.lock cmake --build "$build" --target fuzz_targets \
  || die "the fuzz targets do not build"

# --minimize: replace each corpus by a smallest subset reaching the same
# code (libFuzzer's merge into an empty folder), then stop.
if [ $minimize -eq 1 ]; then
  for t in "${targets[@]}"; do
    exe=$build/tests/fuzz/fuzz_$t
    corpus=$here/corpus/$t
    smaller=$(mktemp -d)
    mkdir -p "$build/findings/$t"
    "$exe" -merge=1 -use_counters=0 -max_len="$(max_len "$t")" \
      -artifact_prefix="$build/findings/$t/" "$smaller" "$corpus" \
      > /dev/null 2>&1 || die "cannot minimize the corpus of $t"
    before=$(ls "$corpus" | wc -l)
    rm -rf "$corpus"
    mv "$smaller" "$corpus"
    chmod 755 "$corpus"
    echo "fuzz: $t: $before -> $(ls "$corpus" | wc -l) inputs" >&2
  done
  exit 0
fi

[ -f "$totals" ] || printf 'target\tseconds\texecutions\tfindings\n' > "$totals"

# add_totals TARGET SECONDS EXECUTIONS FINDINGS
add_totals() {
  python3 - "$totals" "$@" <<'PY'
import sys
path, target, seconds, runs, found = sys.argv[1], sys.argv[2], *map(int, sys.argv[3:])
rows = {}
order = []
with open(path) as f:
    header = f.readline()
    for line in f:
        name, *nums = line.rstrip("\n").split("\t")
        rows[name] = [int(x) for x in nums]
        order.append(name)
if target not in rows:
    rows[target] = [0, 0, 0]
    order.append(target)
rows[target] = [rows[target][0] + seconds, rows[target][1] + runs,
                rows[target][2] + found]
with open(path, "w") as f:
    f.write(header)
    for name in order:
        f.write(name + "\t" + "\t".join(str(x) for x in rows[name]) + "\n")
PY
}

failed=()
summary=()
for t in "${targets[@]}"; do
  exe=$build/tests/fuzz/fuzz_$t
  [ -x "$exe" ] || die "no fuzz target '$t' (targets: ${all_targets[*]})"
  corpus=$here/corpus/$t
  findings=$build/findings/$t
  scratch=$(mktemp -d)
  log=$build/findings/$t.log
  mkdir -p "$corpus" "$findings"
  len=$(max_len "$t")
  echo "fuzz: $t for ${seconds}s (corpus: $(ls "$corpus" | wc -l) inputs)" >&2
  start=$(date +%s)
  nice -n "$niceness" "$exe" -max_total_time="$seconds" -max_len="$len" \
    -dict="$here/dict/$t.dict" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$findings/" \
    "$scratch" "$corpus" > "$log" 2>&1
  rc=$?
  elapsed=$(( $(date +%s) - start ))
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  runs=${runs:-0}
  # The time spent fuzzing, as libFuzzer counts it (without the build and
  # the merge); the wall clock when it stopped early.
  fuzzed=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$log" | tail -1)
  elapsed=${fuzzed:-$elapsed}
  # Keep what reaches code the corpus did not reach, nothing else: edges
  # only (-use_counters=0), so that the committed corpus stays small.
  nice -n "$niceness" "$exe" -merge=1 -use_counters=0 -max_len="$len" \
    -artifact_prefix="$findings/" "$corpus" "$scratch" >> "$log" 2>&1
  rm -rf "$scratch"
  found=0
  if [ $rc -ne 0 ]; then
    found=1
    failed+=("$t")
    echo "fuzz: $t FOUND a problem (exit $rc); input and log:" >&2
    ls -1 "$findings" >&2
    grep -m3 -E "ERROR|SUMMARY|fuzz_$t:" "$log" >&2
    echo "  full log: $log" >&2
  fi
  add_totals "$t" "$elapsed" "$runs" "$found"
  summary+=("$(printf '%-16s %6ss %12s runs  %s' "$t" "$elapsed" "$runs" \
    "$([ $found -eq 0 ] && echo ok || echo FOUND)")")
done

echo "fuzz: this run" >&2
printf '  %s\n' "${summary[@]}" >&2
echo "fuzz: running totals (tests/fuzz/fuzzing-time.tsv)" >&2
column -t "$totals" | sed 's/^/  /' >&2
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: findings in: ${failed[*]} (see $build/findings/)" >&2
  exit 1
fi
