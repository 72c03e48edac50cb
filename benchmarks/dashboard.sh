#!/usr/bin/env bash
# The dashboard at 100,000 tasks in a real browser (Debian's chromium through
# playwright-core, from web/node_modules): board first render, task page with
# its lineage graph, the page's JS heap and the API's p99 for a board page.
# Runs benchmarks/dashboard_bench.mjs; prints ONE JSON document.
#
# usage: benchmarks/dashboard.sh [BUILD_DIR]
#
# Environment (see dashboard_bench.mjs): OMNIVA, BENCH_DASHBOARD_TASKS
# (default 100000), BENCH_DASHBOARD_CLIENTS (8), BENCH_DASHBOARD_RUNS (5),
# BENCH_DASHBOARD_API_REQUESTS (200).
#
# A few minutes (loading the node is most of it). Exits 1 when it fails to
# run; a figure above its target is reported ("meets_target": false).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
build_dir=${1:-$root/build}
export OMNIVA=${OMNIVA:-$build_dir/runtime/omniva}

[ -x "$OMNIVA" ] || {
  echo "dashboard.sh: no omniva binary at $OMNIVA (build first: make build, or set OMNIVA=path)" >&2
  exit 1
}
exec node "$here/dashboard_bench.mjs" "$build_dir"
