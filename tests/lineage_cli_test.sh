#!/usr/bin/env bash
# `omniva lineage` on a real database, also while another process writes it.
set -uo pipefail
omniva=$1
writer=$2
tmp=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null; rm -rf "$tmp"' EXIT
passed=0
failed=0
ok() { passed=$((passed + 1)); }
bad() { failed=$((failed + 1)); echo "FAIL: $*"; }
expect() { # CODE DESCRIPTION -- COMMAND...
  local want=$1 what=$2
  shift 3
  "$@" >"$tmp/out" 2>"$tmp/err"
  local got=$?
  if [ "$got" -eq "$want" ]; then ok; else
    bad "$what: exit $got, expected $want"; head -3 "$tmp/out" "$tmp/err"; fi
}

# A writer commits batches into <data>/db while we read.
mkdir -p "$tmp/data"
"$writer" "$tmp/data/db" 1 >"$tmp/acks" &
pid=$!
for _ in $(seq 100); do [ -s "$tmp/acks" ] && break; sleep 0.05; done
expect 0 "verify while a process writes" -- "$omniva" lineage verify --data "$tmp/data" --json
grep -q '"ok":true' "$tmp/out" && ok || bad "verify while writing: not ok"
expect 0 "show history while a process writes" -- "$omniva" lineage show batch-1 --data "$tmp/data"
kill -9 "$pid"
wait "$pid" 2>/dev/null

expect 0 "verify after the writer died" -- "$omniva" lineage verify --data "$tmp/data"
grep -q '^ok: [0-9]* packets, head [0-9a-f]\{64\}$' "$tmp/out" && ok || bad "verify: human output"
grep -q '^rows: [0-9]* checked$' "$tmp/out" && ok || bad "verify: rows line"
grep -q '^witness: [0-9]* packets$' "$tmp/out" && ok || bad "verify: witness line"
expect 0 "history of a subject" -- "$omniva" lineage show batch-3 --data "$tmp/data" --json
id=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["history"][-1]["id"])' "$tmp/out")
[ ${#id} -eq 64 ] && ok || bad "history --json gives packet ids"
expect 0 "a packet with its ancestors" -- "$omniva" lineage show "$id" --data "$tmp/data" --up --depth 2 --json
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["packet"]["id"]==sys.argv[2]; assert d["ancestors"]; assert max(a["depth"] for a in d["ancestors"])<=2' "$tmp/out" "$id" && ok || bad "ancestors within depth"
first=$("$omniva" lineage show batch-1 --data "$tmp/data" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["history"][0]["id"])')
expect 0 "descendants" -- "$omniva" lineage show "$first" --data "$tmp/data" --down --depth 3
grep -q '^descendants:' "$tmp/out" && ok || bad "descendants listed"

# The chain witness, kept elsewhere and given back to verify.
expect 0 "witness --json" -- "$omniva" lineage witness --data "$tmp/data" --json
cp "$tmp/out" "$tmp/witness.json"
python3 -c 'import json,sys; w=json.load(open(sys.argv[1])); assert w["packets"]>0 and len(w["head"])==64' "$tmp/witness.json" && ok || bad "witness: packets and head"
expect 0 "verify against a witness kept elsewhere" -- "$omniva" lineage verify --data "$tmp/data" --witness "$tmp/witness.json" --json
# A witness of 5 packets more than the log holds: they were lost.
python3 -c 'import json,sys; w=json.load(open(sys.argv[1])); d=json.load(open(sys.argv[2])); w["packets"]=d["packets"]+5; json.dump(w,open(sys.argv[3],"w"))' "$tmp/witness.json" "$tmp/out" "$tmp/ahead.json"
expect 1 "a witness the log does not reach" -- "$omniva" lineage verify --data "$tmp/data" --witness "$tmp/ahead.json" --json
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["code"]=="corruption" and d["missing"]>=5, d' "$tmp/out" && ok || bad "outside witness: loss reported"
echo '{"packets":"x"}' >"$tmp/bad.json"
expect 1 "a malformed witness file" -- "$omniva" lineage verify --data "$tmp/data" --witness "$tmp/bad.json"
expect 2 "--witness with --node" -- "$omniva" lineage verify --node http://127.0.0.1:1 --witness "$tmp/witness.json"
expect 1 "no witness yet" -- "$omniva" lineage witness --data "$tmp/none"

# Damage: each case on a copy of a fresh database closed in order (its
# witness holds its last packet; a killed writer's may be a few ms behind).
mkdir -p "$tmp/clean"
expect 0 "a writer that closes in order" -- "$writer" "$tmp/clean/db" 1 30
expect 0 "verify the closed database" -- "$omniva" lineage verify --data "$tmp/clean" --json
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["witness"]["packets"]==d["packets"]>0, d' "$tmp/out" && ok || bad "closed in order: the witness holds the last packet"
damaged() { rm -rf "$tmp/copy"; cp -r "$tmp/clean" "$tmp/copy"; }
# The MANIFEST lost its last record (the one creating a column family):
# an error, never an abort.
damaged
manifest=$(ls "$tmp/copy/db"/MANIFEST-*)
truncate -s -1 "$manifest"
expect 1 "verify: a family lost from the MANIFEST" -- "$omniva" lineage verify --data "$tmp/copy" --json
grep -q '"code":"corruption"' "$tmp/out" && grep -q 'column family' "$tmp/out" && ok || bad "lost family: corruption named"
expect 1 "show: a family lost from the MANIFEST" -- "$omniva" lineage show batch-1 --data "$tmp/copy"
grep -q 'corruption' "$tmp/err" && ok || bad "show: lost family reported"
# The write-ahead log deleted: everything it held is lost.
damaged
rm "$tmp/copy/db"/*.log
expect 1 "verify: the log deleted" -- "$omniva" lineage verify --data "$tmp/copy" --json
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["ok"] is False and d["code"]=="corruption" and d["missing"]>0, d' "$tmp/out" && ok || bad "deleted log: loss reported"
# Its tail cut: the last commit is lost.
damaged
wal=$(ls "$tmp/copy/db"/*.log | tail -1)
truncate -s -7 "$wal"
expect 1 "verify: the log's tail cut" -- "$omniva" lineage verify --data "$tmp/copy" --json
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["code"]=="corruption" and d["missing"]>0, d' "$tmp/out" && ok || bad "cut log: loss reported"

expect 1 "unknown subject" -- "$omniva" lineage show nobody --data "$tmp/data"
expect 1 "unknown packet id" -- "$omniva" lineage show "$(printf '0%.0s' $(seq 64))" --data "$tmp/data"
expect 1 "no database" -- "$omniva" lineage verify --data "$tmp/none"
expect 2 "--up and --down" -- "$omniva" lineage show "$id" --data "$tmp/data" --up --down
expect 2 "show without id" -- "$omniva" lineage show --data "$tmp/data"
expect 0 "lineage --help" -- "$omniva" lineage --help
expect 2 "lineage unknown verb" -- "$omniva" lineage frobnicate

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
