#!/usr/bin/env bash
# The committer against the raw limit of the disk, lineage queries and verify
# on a 1,000,000-packet log: `commit_bench --json`, the benchmark program of
# benchmarks/commit_bench.cpp. Prints ONE JSON document (see
# `commit_bench --help` for what each figure means).
#
# usage: benchmarks/commit.sh [BUILD_DIR]
#
# Environment:
#   COMMIT_BENCH       the benchmark binary (default: BUILD_DIR/benchmarks/commit_bench)
#   BENCH_COMMIT_ARGS  extra arguments, e.g. "--data /tmp/bench --seconds 2"
#
# Writes its databases to a temporary folder (removed afterwards) and needs
# about 2 GB of free disk there. Exits 1 when the command fails; a figure
# below its target is reported ("meets_target": false), not an error.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
build_dir=${1:-$root/build}
bench=${COMMIT_BENCH:-$build_dir/benchmarks/commit_bench}

[ -x "$bench" ] || {
  echo "commit.sh: no commit_bench binary at $bench (build first: make build, or set COMMIT_BENCH=path)" >&2
  exit 1
}
# shellcheck disable=SC2086 # BENCH_COMMIT_ARGS is a list of words
exec "$bench" --json ${BENCH_COMMIT_ARGS:-}
