#!/usr/bin/env bash
# The committer against the raw limit of the disk, lineage queries and verify
# on a 1,000,000-packet log: `omniva bench commit --json`. Prints ONE JSON
# document (see `omniva bench commit --help` for what each figure means).
#
# usage: benchmarks/commit.sh [BUILD_DIR]
#
# Environment:
#   OMNIVA             the omniva binary (default: BUILD_DIR/runtime/omniva)
#   BENCH_COMMIT_ARGS  extra arguments, e.g. "--data /tmp/bench --seconds 2"
#
# Writes its databases to a temporary folder (removed afterwards) and needs
# about 2 GB of free disk there. Exits 1 when the command fails; a figure
# below its target is reported ("meets_target": false), not an error.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
build_dir=${1:-$root/build}
omniva=${OMNIVA:-$build_dir/runtime/omniva}

[ -x "$omniva" ] || {
  echo "commit.sh: no omniva binary at $omniva (build first: make build, or set OMNIVA=path)" >&2
  exit 1
}
# shellcheck disable=SC2086 # BENCH_COMMIT_ARGS is a list of words
exec "$omniva" bench commit --json ${BENCH_COMMIT_ARGS:-}
