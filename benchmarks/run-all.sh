#!/usr/bin/env bash
# Every benchmark, as `make bench` runs them. Prints ONE JSON document: an
# object with one key per benchmark, its value the JSON that benchmark printed
# (or {"error": "..."} when it failed; the script then exits 1 after running
# the others).
#
# usage: benchmarks/run-all.sh [BUILD_DIR]
#
# A benchmark is a program that takes BUILD_DIR and prints one JSON document on
# stdout (its progress on stderr). To add one, add one line to BENCHMARKS.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
build_dir=${1:-$here/../build}

# name=command (relative to benchmarks/), run as: command BUILD_DIR
BENCHMARKS=(
  "validate_vs_ajv=validate_vs_ajv.sh"
  "commit=commit.sh"
  "tasks=tasks.sh"
  "explain=explain.sh"
  "pipeline=pipeline.sh"
  "clips=clips.sh"
  "simulate=simulate.sh"
  "dashboard=dashboard.sh"
)

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
status=0
names=()
for entry in "${BENCHMARKS[@]}"; do
  name=${entry%%=*}
  command=${entry#*=}
  names+=("$name")
  echo "run-all.sh: $name" >&2
  rc=0
  bash "$here/$command" "$build_dir" >"$tmp/$name.json" || rc=$?
  if [ "$rc" -ne 0 ]; then
    echo "run-all.sh: $name failed (exit $rc)" >&2
    printf '{"error":"exit %d"}\n' "$rc" >"$tmp/$name.json"
    status=1
  fi
done

(python3 - "$tmp" "${names[@]}" <<'PY'
import json, sys

folder, names = sys.argv[1], sys.argv[2:]
out, bad = {}, False
for name in names:
    with open(f"{folder}/{name}.json") as f:
        text = f.read()
    try:
        out[name] = json.loads(text)
    except json.JSONDecodeError:
        out[name] = {"error": "did not print JSON", "output": text[-2000:]}
        bad = True
print(json.dumps(out, indent=2))
sys.exit(1 if bad else 0)
PY
) || status=1
exit "$status"
