#!/usr/bin/env bash
# What `make run` runs until the node exists: the CLI on the bundled example.
# It checks the face-detect module contract, then pre-flights a valid task
# request and an invalid one against it (the invalid one is refused with every
# error at once), so a newcomer sees the contract engine at work.
set -euo pipefail
omniva=${1:-build/runtime/omniva}
ex=modules/face_detect

step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }

step omniva contract check $ex/module.json
"$omniva" contract check $ex/module.json

step omniva contract preflight --contract $ex/module.json --request $ex/sample_request.json --assets $ex/sample_assets.json
"$omniva" contract preflight --contract $ex/module.json \
  --request $ex/sample_request.json --assets $ex/sample_assets.json

step omniva contract preflight --contract $ex/module.json --request $ex/sample_request_invalid.json --assets $ex/sample_assets.json
# Refused on purpose: exit code 1 is the expected answer here.
"$omniva" contract preflight --contract $ex/module.json \
  --request $ex/sample_request_invalid.json --assets $ex/sample_assets.json \
  || echo "(refused before queueing, exit code $?)"
