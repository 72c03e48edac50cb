#!/usr/bin/env bash
# Installs every Debian package Omniva Engine needs to build, test and run.
#
# Idempotent and fast when everything is present: packages are checked with
# `dpkg -s` first and apt is only touched when something is missing.
# Works as root on a fresh Debian bookworm machine (uses sudo otherwise).
set -euo pipefail

packages=(
  # toolchain
  g++ make cmake ninja-build pkg-config ccache git ca-certificates
  # libraries (DESIGN.md §3)
  libcaf-dev            # actors, typed messages, clustering (CAF 0.17.6)
  librocksdb-dev        # persistence
  libsimdjson-dev       # JSON parsing
  libspdlog-dev libfmt-dev
  libboost-dev libboost-program-options-dev libboost-test-dev
  libboost-filesystem-dev libboost-system-dev
  libssl-dev            # SHA-256
  libre2-dev            # linear-time regular expressions
  libmagic-dev          # media type detection for the asset ledger
  # runtime of the example modules and tests
  python3
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg -s "$p" >/dev/null 2>&1 ||
     ! dpkg -s "$p" 2>/dev/null | grep -q '^Status: install ok installed'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "install-deps: installing ${missing[*]}" >&2
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q
$sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
