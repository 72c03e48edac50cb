#!/usr/bin/env bash
# The command line as a user meets it: exit codes (0 ok, 1 "no" or bad input,
# 2 usage), one-line errors, --help everywhere, and no crash on hostile input.
set -uo pipefail
omniva=$1
src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0
failed=0

# expect CODE DESCRIPTION -- COMMAND...: runs COMMAND, checks its exit code.
expect() {
  local want=$1 what=$2
  shift 3
  "$@" >"$tmp/out" 2>"$tmp/err"
  local got=$?
  if [ "$got" -eq "$want" ]; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    echo "FAIL: $what: exit $got, expected $want ($*)"
    sed 's/^/  stdout: /' "$tmp/out" | head -5
    sed 's/^/  stderr: /' "$tmp/err" | head -5
  fi
}

# check DESCRIPTION CONDITION...: a follow-up assertion on the last output.
check() {
  local what=$1
  shift
  if "$@"; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    echo "FAIL: $what"
    sed 's/^/  stdout: /' "$tmp/out" | head -5
    sed 's/^/  stderr: /' "$tmp/err" | head -5
  fi
}
one_line_error() { [ "$(wc -l <"$tmp/err")" -eq 1 ] && grep -q '^omniva: ' "$tmp/err"; }
out_has() { grep -q -- "$1" "$tmp/out"; }
err_has() { grep -q -- "$1" "$tmp/err"; }

# -- help, version, usage errors
expect 0 "--help" -- "$omniva" --help
check "--help lists the commands" out_has "schema"
expect 0 "--version" -- "$omniva" --version
check "--version prints the version" out_has "^omniva [0-9]"
expect 2 "no arguments" -- "$omniva"
expect 2 "unknown command" -- "$omniva" frobnicate
check "unknown command: one line" one_line_error
expect 2 "unknown flag" -- "$omniva" --bogus
check "unknown flag: one line" one_line_error
for noun in schema contract lineage module asset task policy token webhook quarantine audit personas; do
  expect 0 "$noun --help" -- "$omniva" "$noun" --help
  expect 2 "$noun without verb" -- "$omniva" "$noun"
  expect 2 "$noun unknown verb" -- "$omniva" "$noun" frobnicate
  check "$noun unknown verb: one line" one_line_error
done
for cmd in "schema validate" "schema test-suite" "contract check" "contract preflight" \
           "lineage verify" "lineage show" "module register" "module list" "module show" \
           "module rescan" "schema register" "schema list" "schema show" \
           "policy list" "policy show" \
           "asset add" "asset value" "asset list" "asset show" "asset rm" \
           "task create" "task list" "task counts" "task show" "task logs" "task cancel" \
           "task wait" "task retry" "serve" "module init" "module run" \
           "token create" "token list" "token revoke" "token rotate" \
           "webhook create" "webhook list" "webhook show" "webhook rm" \
           "quarantine add" "quarantine rm" "quarantine list" \
           "audit run" "audit list" \
           "personas register" "personas list" "personas show" \
           "backup" "restore" "gc" "lineage export"; do
  # shellcheck disable=SC2086
  expect 0 "$cmd --help" -- "$omniva" $cmd --help
  check "$cmd --help shows usage" out_has "usage: omniva $cmd"
  # shellcheck disable=SC2086
  expect 2 "$cmd unknown flag" -- "$omniva" $cmd --bogus x
  check "$cmd unknown flag: one line" one_line_error
done
expect 2 "schema validate without schema" -- "$omniva" schema validate
expect 0 "task cancel --help" -- "$omniva" task cancel --help
check "task cancel: a running task is cancelled too" out_has "a running one is stopped"
expect 0 "task --help" -- "$omniva" task --help
check "task --help: cancel's summary" out_has "cancel a task that has not finished (a running one is stopped)"
check "task --help: logs" out_has "logs"
check "task --help: counts" out_has "counts"
check "task --help: retry" out_has "run a task that ended ERROR or CANCELLED again"
for verb in add rm; do
  expect 2 "quarantine $verb of a kind that is neither module nor pool" -- \
    "$omniva" quarantine $verb widget x --node http://127.0.0.1:9
  check "quarantine $verb: the kinds named" err_has "module or pool"
done
for cmd in "task list" "asset list" "module list" "schema list" "policy list" "quarantine list" "audit list"; do
  # shellcheck disable=SC2086
  expect 0 "$cmd --help" -- "$omniva" $cmd --help
  check "$cmd pages" bash -c "grep -q -- '--limit' '$tmp/out' && grep -q -- '--cursor' '$tmp/out'"
  # shellcheck disable=SC2086
  expect 2 "$cmd --limit that is not a number" -- "$omniva" $cmd --limit many --node http://127.0.0.1:9
done
expect 2 "task logs --json" -- "$omniva" task logs 3b241101-e2bb-4255-8caf-4136c566a962 --json --node http://127.0.0.1:9
check "task logs --json: one line" one_line_error
expect 2 "task logs without an id" -- "$omniva" task logs
expect 2 "task wait with a negative timeout" -- "$omniva" task wait 3b241101-e2bb-4255-8caf-4136c566a962 --timeout -1 --node http://127.0.0.1:9
expect 2 "task wait with a timeout past the clock" -- "$omniva" task wait 3b241101-e2bb-4255-8caf-4136c566a962 --timeout 1e300 --node http://127.0.0.1:9
expect 2 "task wait with a timeout that is not a number" -- "$omniva" task wait 3b241101-e2bb-4255-8caf-4136c566a962 --timeout nan --node http://127.0.0.1:9

# -- schema validate on good and hostile input
cat >"$tmp/schema.json" <<'JSON'
{"type":"object","required":["id"],"properties":{"id":{"type":"string","format":"uuid"},"n":{"type":"integer","maximum":10}}}
JSON
echo '{"id":"3b241101-e2bb-4255-8caf-4136c566a962","n":3}' >"$tmp/good.json"
echo '{"id":"nope","n":11}' >"$tmp/bad.json"
expect 0 "valid document" -- "$omniva" schema validate "$tmp/schema.json" "$tmp/good.json"
expect 1 "invalid document" -- "$omniva" schema validate "$tmp/schema.json" "$tmp/bad.json" --json
check "invalid document: errors with pointers" out_has '"pointer":"/id"'
check "invalid document: every error" out_has '"pointer":"/n"'
echo '{"id": ' >"$tmp/broken.json"
expect 1 "broken JSON document" -- "$omniva" schema validate "$tmp/schema.json" "$tmp/broken.json"
check "broken JSON: says so" out_has "invalid JSON"
echo '{"n": 1e400}' >"$tmp/huge.json"
expect 1 "number out of range" -- "$omniva" schema validate "$tmp/schema.json" "$tmp/huge.json"
echo '{"id":"3b241101-e2bb-4255-8caf-4136c566a962","n":123456789012345678901234567890}' >"$tmp/bigint.json"
expect 1 "integer beyond 64 bits is still compared" -- "$omniva" schema validate "$tmp/schema.json" "$tmp/bigint.json"
check "bigint: maximum reported" out_has "maximum"
python3 -c 'print("[" * 100000 + "]" * 100000)' >"$tmp/deep.json"
expect 1 "deep nesting" -- "$omniva" schema validate "$tmp/schema.json" "$tmp/deep.json"
expect 1 "missing document file" -- "$omniva" schema validate "$tmp/schema.json" "$tmp/none.json"
check "missing file: one line" one_line_error
echo '{"type":"string","pattern":"(a"}' >"$tmp/badregex.json"
expect 1 "schema with a bad regex" -- "$omniva" schema validate "$tmp/badregex.json" "$tmp/good.json"
check "bad regex: names the pattern" err_has "pattern"
echo '{"type":"strnig","minimum":"3","required":[1],"$ref":"#/nowhere"}' >"$tmp/badschema.json"
expect 1 "malformed schema" -- "$omniva" schema validate "$tmp/badschema.json" "$tmp/good.json" --json
check "malformed schema: every error" bash -c "grep -q '/type' '$tmp/out' && grep -q '/minimum' '$tmp/out' && grep -q '/required' '$tmp/out' && grep -q '/\$ref' '$tmp/out'"
echo 'not json' >"$tmp/notjson.json"
expect 1 "schema file that is not JSON" -- "$omniva" schema validate "$tmp/notjson.json" "$tmp/good.json"
echo '{"$ref":"#"}' >"$tmp/cyclic.json"
mkdir -p "$tmp/a" "$tmp/ab"
echo '{"type":"string"}' >"$tmp/ab/y.json"
echo '{"$ref":"../ab/y.json"}' >"$tmp/a/sibling.json"
echo '{"$ref":"y.json"}' >"$tmp/ab/inside.json"
echo '"text"' >"$tmp/string.json"
expect 0 "a \$ref to a file of the schema's folder" -- "$omniva" schema validate "$tmp/ab/inside.json" "$tmp/string.json"
expect 1 "a \$ref to a sibling folder with the same prefix" -- "$omniva" schema validate "$tmp/a/sibling.json" "$tmp/string.json"
check "sibling folder: does not resolve" err_has "does not resolve"
expect 1 "cyclic \$ref terminates" -- "$omniva" schema validate "$tmp/cyclic.json" "$tmp/good.json"
printf '%s\n%s\n\n%s\n' "$(cat "$tmp/good.json")" "$(cat "$tmp/bad.json")" '{oops' >"$tmp/docs.ndjson"
expect 1 "ndjson with invalid lines" -- "$omniva" schema validate "$tmp/schema.json" --ndjson "$tmp/docs.ndjson" --json
check "ndjson counts" out_has '"documents":3,"valid":1,"invalid":1,"not_json":1'
expect 1 "shipped schema by name" -- "$omniva" schema validate ClipCandidate "$tmp/good.json"
# The README's example, run exactly as the README writes it (from the
# repository, with $O the binary).
readme_line=$(grep -m1 -- '^\$ \$O schema validate ClipCandidate ' "$src/README.md" | sed -e 's/^\$ //' -e 's/ *#.*$//')
check "the README shows schema validate ClipCandidate" test -n "$readme_line"
abs_omniva=$(cd "$(dirname "$omniva")" && pwd)/$(basename "$omniva")
expect 0 "the README's schema validate example" -- bash -c "cd '$src' && O='$abs_omniva' && $readme_line"
check "the README's example is valid" out_has ": valid"
expect 1 "unknown shipped schema" -- "$omniva" schema validate NoSuchSchema "$tmp/good.json"

# -- contracts (the bundled example)
ex=$src/modules/face_detect
expect 0 "contract check on the example" -- "$omniva" contract check "$ex/module.json"
expect 0 "contract check --json" -- "$omniva" contract check "$ex/module.json" --json
check "contract check --json says ok" out_has '"ok":true'
expect 1 "contract check on broken JSON" -- "$omniva" contract check "$tmp/broken.json"
expect 1 "contract check on a missing file" -- "$omniva" contract check "$tmp/none.json"
expect 1 "contract check on a non-contract" -- "$omniva" contract check "$tmp/good.json" --json
check "non-contract: problems with codes" out_has '"code"'
expect 0 "preflight of the sample request" -- "$omniva" contract preflight --contract "$ex/module.json" --request "$ex/sample_request.json" --assets "$ex/sample_assets.json" --json
check "preflight ok" out_has '"ok":true'
expect 1 "preflight of the invalid request" -- "$omniva" contract preflight --contract "$ex/module.json" --request "$ex/sample_request_invalid.json" --assets "$ex/sample_assets.json" --json
check "preflight lists several errors" bash -c "[ \$(grep -o '\"code\"' '$tmp/out' | wc -l) -ge 2 ]"
expect 2 "preflight without --request" -- "$omniva" contract preflight --contract "$ex/module.json"
expect 1 "preflight with broken assets" -- "$omniva" contract preflight --contract "$ex/module.json" --request "$ex/sample_request.json" --assets "$tmp/broken.json"

# -- serve: a configuration the node does not fully understand is refused
printf '[omniva]\nmock="yes"\n' >"$tmp/bad.conf"
expect 1 "serve with a bad config value" -- "$omniva" serve --config "$tmp/bad.conf"
check "bad config: names the option" err_has "omniva.mock"
printf '[omniva]\nbogus=1\n' >"$tmp/bad.conf"
expect 1 "serve with an unknown option" -- "$omniva" serve --config "$tmp/bad.conf"
expect 2 "serve with a bad --http" -- "$omniva" serve --http nonsense
expect 2 "serve with a bad --pool" -- "$omniva" serve --pool x:y
# -- clients without a node
expect 1 "client against no node" -- "$omniva" task list --node http://127.0.0.1:9
check "no node: one line" one_line_error
expect 1 "schema list against no node" -- "$omniva" schema list --node http://127.0.0.1:9
check "schema list, no node: one line" one_line_error
expect 2 "schema register of a file not named name@N.json" -- "$omniva" schema register "$tmp/schema.json" --node http://127.0.0.1:9
check "schema register without a ref: asks for --ref" err_has "--ref"
expect 1 "schema register of a missing file" -- "$omniva" schema register "$tmp/none@1.json" --node http://127.0.0.1:9
check "missing schema file: one line" one_line_error
expect 2 "schema show without a ref" -- "$omniva" schema show
expect 2 "policy show without a ref" -- "$omniva" policy show


# -- bench explain: a small run prints its figures as one JSON document (no
# figure is judged: benchmarks never assert on time); a second run on its
# --data folder measures the same log again without filling it
bench_figures() {
  python3 - "$tmp/out" "$1" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
assert d["packets"] >= 2000 and d["tasks"] > 0 and d["fill_seconds"] >= 0, d
assert d["fill_reused"] == (sys.argv[2] == "reused"), d["fill_reused"]
for f in (d["http"]["task_first_time"], d["http"]["task_cached"], d["inner"]["task"]):
    assert f["samples"] == 20 and f["p50_ms"] <= f["p99_ms"] <= f["max_ms"], f
assert d["http"]["task_first_time"]["completeness_min"] > 0
page = d["http"]["trace_first_page"]
assert page["trace_tasks"] > 0 and page["statements"] > 0 and page["cached"]["samples"] > 0
assert d["target_p99_ms"] == 10 and isinstance(d["meets_target"], bool)
PY
}
expect 0 "bench explain, small" -- "$omniva" bench explain --packets 2000 --samples 20 --json --data "$tmp/explain"
check "bench explain: the figures" bench_figures filled
expect 0 "bench explain on its filled folder" -- "$omniva" bench explain --packets 2000 --samples 20 --json --data "$tmp/explain"
check "bench explain: the log reused" bench_figures reused
mkdir -p "$tmp/not-a-fill" && echo x >"$tmp/not-a-fill/file"
expect 1 "bench explain on a folder it did not fill" -- "$omniva" bench explain --packets 2000 --data "$tmp/not-a-fill"
check "bench explain, foreign folder: one line" one_line_error
expect 2 "bench explain --samples 0" -- "$omniva" bench explain --samples 0

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
