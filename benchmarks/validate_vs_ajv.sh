#!/usr/bin/env bash
# Validation throughput of `omniva schema validate` against ajv 8 on the six core
# schemas, in the same run, on the same NDJSON files. Prints ONE JSON document.
#
# usage: benchmarks/validate_vs_ajv.sh [BUILD_DIR]
#
# Both sides do the same work per document: parse the JSON text, validate it
# against JSON Schema 2020-12 with formats asserted, stop at the first error
# (omniva: --schema-only, flag output; ajv: JSON.parse + validate, allErrors
# false). Single thread. Each side gets a warm-up and keeps its best of three
# timed passes: ajv inside one node process (benchmarks/ajv_validate.mjs), omniva
# as three runs of the command (the first run also warms the page cache).
#
# Environment:
#   OMNIVA        the omniva binary (default: BUILD_DIR/runtime/omniva)
#   BENCH_DOCS    documents per schema (default: 20000)
#   BENCH_SEED    generator seed (default: 42)
#   BENCH_PASSES  timed passes per side (default: 3)
#
# Needs python3 and node + npm (the npm registry, once, to install ajv@8 and
# ajv-formats@3 into benchmarks/.ajv/). Without node or npm it prints
# {"skipped": "..."} and exits 0. The data goes to benchmarks/.data/ and is
# regenerated only when the generator, the seed or the count change. Exits 1
# when a side fails to run; a ratio below the target is reported
# ("meets_target": false), not an error.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
build_dir=${1:-$root/build}
omniva=${OMNIVA:-$build_dir/runtime/omniva}
docs=${BENCH_DOCS:-20000}
seed=${BENCH_SEED:-42}
passes=${BENCH_PASSES:-3}
ajv_dir=$here/.ajv
data_dir=$here/.data
schemas_dir=$root/contracts/schemas
schemas=(AnalysisResult ClipCandidate EditJob ScheduleTask ScraperJob UploadJob)
target=2.0

die() {
  echo "validate_vs_ajv.sh: $*" >&2
  exit 1
}

# skip REASON: the JS side cannot run here; say so in JSON and succeed.
skip() {
  echo "validate_vs_ajv.sh: skipped: $1" >&2
  printf '{"skipped":"%s"}\n' "$1"
  exit 0
}

# The peer runs on Node.js: where it is missing, install Debian's (a machine
# that has Node from elsewhere keeps it: only the commands are checked).
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" -eq 0 ]; then
    echo "validate_vs_ajv.sh: installing Node.js and npm (Debian packages)" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
      nodejs npm >&2 || true
  fi
fi
command -v node >/dev/null 2>&1 || skip "node not found"
command -v python3 >/dev/null 2>&1 || die "python3 not found (it generates the data and the report)"
[ -x "$omniva" ] || die "no omniva binary at $omniva (build first: make build, or set OMNIVA=path)"

# -- ajv ------------------------------------------------------------------------
if [ ! -f "$ajv_dir/node_modules/ajv/package.json" ] \
   || [ ! -f "$ajv_dir/node_modules/ajv-formats/package.json" ]; then
  command -v npm >/dev/null 2>&1 || skip "npm not found"
  echo "validate_vs_ajv.sh: installing ajv@8 and ajv-formats@3 into $ajv_dir" >&2
  mkdir -p "$ajv_dir"
  # npm's progress and notices go to stderr: stdout carries the JSON alone.
  npm install --prefix "$ajv_dir" --no-audit --no-fund ajv@8 ajv-formats@3 >&2 \
    || die "npm install of ajv@8 ajv-formats@3 into $ajv_dir failed (is the npm registry reachable?)"
fi

# -- data -----------------------------------------------------------------------
stamp="seed=$seed docs=$docs generator=$(cksum <"$here/generate_instances.py" | cut -d' ' -f1)"
have_all=1
for s in "${schemas[@]}"; do
  [ -f "$data_dir/$s.ndjson" ] || have_all=0
done
if [ "$have_all" = 0 ] || [ "$(cat "$data_dir/.stamp" 2>/dev/null || true)" != "$stamp" ]; then
  echo "validate_vs_ajv.sh: generating $docs documents per schema into $data_dir" >&2
  rm -f "$data_dir/.stamp"
  python3 "$here/generate_instances.py" --out "$data_dir" --count "$docs" --seed "$seed" 2>/dev/null \
    || die "generate_instances.py failed"
  echo "$stamp" >"$data_dir/.stamp"
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# -- omniva ---------------------------------------------------------------------
# Exit code 1 means "some documents are invalid", expected in a mixed file; a
# run counts when it printed its JSON line.
for s in "${schemas[@]}"; do
  for ((p = 1; p <= passes; ++p)); do
    rc=0
    "$omniva" schema validate "$s" --ndjson "$data_dir/$s.ndjson" --json --schema-only \
      >>"$tmp/omniva.ndjson" 2>"$tmp/omniva.err" || rc=$?
    if [ "$rc" -gt 1 ] || ! tail -n 1 "$tmp/omniva.ndjson" | grep -q '"documents_per_second"'; then
      cat "$tmp/omniva.err" >&2
      die "omniva schema validate $s failed (exit $rc)"
    fi
  done
done

# -- ajv ------------------------------------------------------------------------
files=()
for s in "${schemas[@]}"; do
  files+=("$data_dir/$s.ndjson")
done
AJV_PREFIX=$ajv_dir node "$here/ajv_validate.mjs" --schemas "$schemas_dir" --passes "$passes" \
  "${files[@]}" >"$tmp/ajv.ndjson" || die "ajv_validate.mjs failed"

# -- report ---------------------------------------------------------------------
node_version=$(node --version)
omniva_version=$("$omniva" --version 2>/dev/null | head -n 1 || true)
python3 - "$tmp/omniva.ndjson" "$tmp/ajv.ndjson" "$target" "$node_version" "$omniva_version" \
  "$passes" "$docs" "$seed" "${schemas[@]}" <<'PY'
import json, sys

omniva_path, ajv_path, target, node_version, omniva_version, passes, docs, seed = sys.argv[1:9]
schemas = sys.argv[9:]
target = float(target)


def best_by_schema(path):
    """The fastest run per schema (largest documents_per_second)."""
    best = {}
    with open(path) as f:
        for line in f:
            if not line.strip():
                continue
            r = json.loads(line)
            s = r["schema"]
            if s not in best or r["documents_per_second"] > best[s]["documents_per_second"]:
                best[s] = r
    return best


ours, ajv = best_by_schema(omniva_path), best_by_schema(ajv_path)
per_schema, warnings = {}, []
totals = {"documents": 0, "bytes": 0, "omniva_seconds": 0.0, "ajv_seconds": 0.0}
ajv_version = None
for s in schemas:
    o, a = ours[s], ajv[s]
    ajv_version = a.get("ajv_version", ajv_version)
    entry = {
        "documents": o["documents"],
        "bytes": o["bytes"],
        "omniva_docs_per_sec": round(o["documents_per_second"]),
        "ajv_docs_per_sec": round(a["documents_per_second"]),
        "ratio": round(o["documents_per_second"] / a["documents_per_second"], 3),
        "valid": o["valid"],
        "invalid": o["invalid"],
    }
    if (o["documents"], o["valid"], o["invalid"], o["not_json"]) != \
       (a["documents"], a["valid"], a["invalid"], a["not_json"]):
        entry["warning"] = (
            f"omniva and ajv disagree: omniva {o['valid']} valid / {o['invalid']} invalid / "
            f"{o['not_json']} not JSON, ajv {a['valid']} valid / {a['invalid']} invalid / "
            f"{a['not_json']} not JSON of {o['documents']}/{a['documents']} documents")
        warnings.append(f"{s}: {entry['warning']}")
    per_schema[s] = entry
    totals["documents"] += o["documents"]
    totals["bytes"] += o["bytes"]
    totals["omniva_seconds"] += o["seconds"]
    totals["ajv_seconds"] += a["seconds"]

omniva_rate = totals["documents"] / totals["omniva_seconds"]
ajv_rate = totals["documents"] / totals["ajv_seconds"]
ratio = omniva_rate / ajv_rate
report = {
    "benchmark": "validate_vs_ajv",
    "what": "documents/s, JSON text -> parse + JSON Schema 2020-12 validation "
            "(formats asserted, first error), single thread, best of "
            f"{passes} passes after a warm-up",
    "schemas": per_schema,
    "total": {
        "documents": totals["documents"],
        "bytes": totals["bytes"],
        "omniva_docs_per_sec": round(omniva_rate),
        "ajv_docs_per_sec": round(ajv_rate),
        "ratio": round(ratio, 3),
        "target": target,
        "meets_target": ratio >= target,
    },
    "versions": {"omniva": omniva_version, "node": node_version, "ajv": ajv_version},
    "data": {"documents_per_schema": int(docs), "seed": int(seed)},
}
if warnings:
    report["warnings"] = warnings
print(json.dumps(report, indent=2))
PY
