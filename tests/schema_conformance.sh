#!/usr/bin/env bash
# Runs the official JSON Schema 2020-12 conformance suite through the CLI.
# The suite comes from $OMNIVA_SCHEMA_SUITE or ../shared/json-schema-test-suite
# next to the repository; where neither exists the test is skipped (exit 77).
set -euo pipefail
omniva=$1
src=$2
suite=${OMNIVA_SCHEMA_SUITE:-$src/../shared/json-schema-test-suite}
tests=$suite/tests-draft2020-12
if [ ! -d "$tests" ]; then
  # $OMNIVA_SCHEMA_SUITE may also point at the tests folder itself.
  if [ -d "$suite" ] && ls "$suite"/*.json >/dev/null 2>&1; then
    tests=$suite
    suite=$(dirname "$suite")
  else
    echo "skipped: no JSON Schema test suite at $suite (set OMNIVA_SCHEMA_SUITE)"
    exit 77
  fi
fi
args=("$tests" --known-failures "$src/tests/schema_known_failures.txt")
[ -d "$suite/remotes" ] && args+=(--remotes "$suite/remotes")
[ -d "$suite/metaschema-2020-12" ] && args+=(--metaschemas "$suite/metaschema-2020-12")
exec "$omniva" schema test-suite "${args[@]}"
