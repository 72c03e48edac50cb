#!/usr/bin/env bash
# A deterministic simulation of a whole node (Zenith, the engines, simulated
# workers with seeded faults) on CAF's test coordinator and a virtual clock:
# `omniva simulate --tasks 100000 --fail-rate 0.05 --json`. Prints ONE JSON
# document: tasks per second, simulated seconds per real second, retries,
# poison tasks, quarantines, the lineage head and the verify result.
#
# usage: benchmarks/simulate.sh [BUILD_DIR]
#
# Environment:
#   OMNIVA               the omniva binary (default: BUILD_DIR/runtime/omniva)
#   BENCH_SIMULATE_ARGS  arguments instead of the default
#                        "--tasks 100000 --fail-rate 0.05"
#
# About a minute and a half. Exits 1 when the command fails.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
build_dir=${1:-$root/build}
omniva=${OMNIVA:-$build_dir/runtime/omniva}

[ -x "$omniva" ] || {
  echo "simulate.sh: no omniva binary at $omniva (build first: make build, or set OMNIVA=path)" >&2
  exit 1
}
# shellcheck disable=SC2086 # BENCH_SIMULATE_ARGS is a list of words
exec "$omniva" simulate --json ${BENCH_SIMULATE_ARGS:---tasks 100000 --fail-rate 0.05}
