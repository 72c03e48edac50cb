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
  # the content modules (docs/modules.md): media tools, speech, faces
  ffmpeg                # probing, cutting, scene/energy/silence filters
  yt-dlp                # the Scraper's extractor
  python3-opencv opencv-data   # the Analyzer's face detection (Haar cascades)
  pocketsphinx pocketsphinx-en-us  # the Analyzer's speech recognition and keyword spotting
  espeak-ng             # test and demo media: speech with a known sentence
  fonts-dejavu-core     # the Editor's burned-in captions (libass)
  # the dashboard's browser tests (playwright-core drives Debian's chromium)
  chromium
)
# Node.js and npm install the dashboard's libraries; a machine that has
# them from elsewhere (NodeSource) keeps its own.
if ! command -v npm >/dev/null 2>&1; then
  packages+=(nodejs npm)
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg -s "$p" >/dev/null 2>&1 ||
     ! dpkg -s "$p" 2>/dev/null | grep -q '^Status: install ok installed'; then
    missing+=("$p")
  fi
done

# The dashboard's libraries (web/package-lock.json), installed into
# web/node_modules when missing or older than the lockfile. The node serves
# them from there; nothing is fetched from a CDN at run time.
install_web() {
  local web
  web="$(cd "$(dirname "$0")/.." && pwd)/web"
  if [ ! -f "$web/node_modules/.package-lock.json" ] ||
     [ "$web/package-lock.json" -nt "$web/node_modules/.package-lock.json" ]; then
    echo "install-deps: installing the dashboard's npm packages (web/)" >&2
    (cd "$web" && npm ci --no-audit --no-fund --loglevel=error >&2)
  fi
}

if [ ${#missing[@]} -eq 0 ]; then
  install_web
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
install_web
