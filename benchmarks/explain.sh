#!/usr/bin/env bash
# HaloLux's explanation latency on a log of 1,000,000 packets: `omniva bench
# explain --json`. The log is filled by an embedded node (mock adapter, sync
# off; not measured), then the node is started again on it as a user runs it
# (sync on, HTTP) and explanations are timed: single tasks through GET
# /api/explain/{id} (first time, then from HaloLux's cache), the first page
# of a trace of 10,000 tasks, and halolux::explain without HTTP. Prints ONE
# JSON document (see `omniva bench explain --help`).
#
# usage: benchmarks/explain.sh [BUILD_DIR]
#
# Environment:
#   OMNIVA              the omniva binary (default: BUILD_DIR/runtime/omniva)
#   BENCH_EXPLAIN_ARGS  extra arguments, e.g. "--packets 200000 --samples 500",
#                       or "--data DIR" to keep the filled log (a later run on
#                       the same DIR measures again without filling)
#
# Works in a temporary folder (removed afterwards); about two minutes, most of
# it the fill. Exits 1 when the command fails; a figure above its target is
# reported ("meets_target": false), not an error.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
build_dir=${1:-$root/build}
omniva=${OMNIVA:-$build_dir/runtime/omniva}

[ -x "$omniva" ] || {
  echo "explain.sh: no omniva binary at $omniva (build first: make build, or set OMNIVA=path)" >&2
  exit 1
}
# shellcheck disable=SC2086 # BENCH_EXPLAIN_ARGS is a list of words
exec "$omniva" bench explain --json ${BENCH_EXPLAIN_ARGS:-}
