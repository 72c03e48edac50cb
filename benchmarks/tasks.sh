#!/usr/bin/env bash
# Tasks through an embedded node, end to end (pre-flight, commit, dispatch,
# the mock adapter, result, commit), sync on: independent tasks/s, chains
# through PENDING assets, submit-to-done latency at full and half load, task
# creation over HTTP, tasks on one shared input and a restart, and the same
# independent tasks with an admission and a success predicate against
# without ("predicates": both rates and the slowdown, target under 10%):
# `omniva bench tasks --json`. Prints ONE JSON document (see `omniva bench
# tasks --help` for what each figure means).
#
# usage: benchmarks/tasks.sh [BUILD_DIR]
#
# Environment:
#   OMNIVA            the omniva binary (default: BUILD_DIR/runtime/omniva)
#   BENCH_TASKS_ARGS  extra arguments, e.g. "--tasks 5000 --http-requests 0"
#                     or "--predicate-tasks 4000 --predicate-rounds 8" (more
#                     alternating pairs for a steadier slowdown figure)
#
# Works in a temporary folder (removed afterwards); about a minute. Exits 1
# when the command fails; a figure below its target is reported
# ("meets_target": false), not an error.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
build_dir=${1:-$root/build}
omniva=${OMNIVA:-$build_dir/runtime/omniva}

[ -x "$omniva" ] || {
  echo "tasks.sh: no omniva binary at $omniva (build first: make build, or set OMNIVA=path)" >&2
  exit 1
}
# shellcheck disable=SC2086 # BENCH_TASKS_ARGS is a list of words
exec "$omniva" bench tasks --json ${BENCH_TASKS_ARGS:-}
