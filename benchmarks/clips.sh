#!/usr/bin/env bash
# The content pipeline clips@1 on real media (benchmarks/clips.py): wall time
# per input minute of video, and the share of the CPU spent in the runtime
# itself (the node's own threads) against the modules it runs (ffmpeg,
# yt-dlp, PocketSphinx, OpenCV); target: under 1%. Prints ONE JSON document.
#
# usage: benchmarks/clips.sh [BUILD_DIR]
#
# Environment:
#   OMNIVA               the omniva binary (default: BUILD_DIR/runtime/omniva)
#   BENCH_CLIPS_VIDEOS   videos in the channel (default 3)
#   BENCH_CLIPS_SECONDS  seconds per video (default 20: 3 x 20 s = 1 input minute)
#
# The media are made once (not timed) into benchmarks/.data/clips-<N>x<S>/
# with tests/content/media.py; nothing is downloaded. A node runs in a
# temporary folder (removed afterwards); about a minute on 2 cores. Needs
# Debian's /usr/bin/python3 (python3-opencv) and the media tools of
# scripts/install-deps.sh; without them it prints {"skipped": "..."} and
# exits 0. Exits 1 when the run does not end DONE with clips; a share above
# the target is reported ("meets_target": false), not an error.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
build_dir=${1:-$root/build}
omniva=${OMNIVA:-$build_dir/runtime/omniva}

[ -x "$omniva" ] || {
  echo "clips.sh: no omniva binary at $omniva (build first: make build, or set OMNIVA=path)" >&2
  exit 1
}
if [ ! -x /usr/bin/python3 ]; then
  echo "clips.sh: skipped: /usr/bin/python3 not found" >&2
  printf '{"skipped":"/usr/bin/python3 (Debian python3 with python3-opencv) not found"}\n'
  exit 0
fi
exec /usr/bin/python3 "$here/clips.py" "$omniva"
