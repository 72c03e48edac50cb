#!/usr/bin/env bash
# A pipeline run fanning out to 10,000 mock tasks, against 10,000 independent
# tasks on a node with the same settings: `omniva bench pipeline --json`.
# Two embedded nodes (mock adapter, sync on, 32 workers, HTTP on); the run is
# registered and started over HTTP (source -> for_each element -> collect,
# OMNIVA_MOCK_MANY set to the element count). Prints ONE JSON document: the
# fan-out time (list AVAILABLE -> last element task created), the run's
# element tasks/s against the independent tasks/s (target ratio 0.8), the
# whole run's time (see `omniva bench pipeline --help`).
#
# usage: benchmarks/pipeline.sh [BUILD_DIR]
#
# Environment:
#   OMNIVA               the omniva binary (default: BUILD_DIR/runtime/omniva)
#   BENCH_PIPELINE_ARGS  extra arguments, e.g. "--elements 2000 --no-collect"
#
# Works in a temporary folder (removed afterwards); under a minute on 2
# cores. Exits 1 when the command fails or the run does not end DONE with
# every element; a ratio below its target is reported ("meets_target":
# false), not an error.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
build_dir=${1:-$root/build}
omniva=${OMNIVA:-$build_dir/runtime/omniva}

[ -x "$omniva" ] || {
  echo "pipeline.sh: no omniva binary at $omniva (build first: make build, or set OMNIVA=path)" >&2
  exit 1
}
# shellcheck disable=SC2086 # BENCH_PIPELINE_ARGS is a list of words
exec "$omniva" bench pipeline --json ${BENCH_PIPELINE_ARGS:-}
