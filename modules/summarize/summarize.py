#!/usr/bin/env python3
"""summarize@1: turns media metadata into a text summary.

Reads the `metadata` JSON asset (media-probe's output) named in the input
manifest given by `--manifest`, writes the `summary` text output and
`output_manifest.json`. Python standard library only; no network.
"""

import argparse
import json
import os
import sys


def duration_text(ms):
    seconds, ms = divmod(int(ms), 1000)
    minutes, seconds = divmod(seconds, 60)
    return f"{minutes}:{seconds:02d}.{ms:03d}" if minutes else f"{seconds}.{ms:03d} s"


def summarize(meta, style):
    what = meta.get("container", "media")
    lines = [f"{meta['title']}: {what}, {duration_text(meta['duration_ms'])}"]
    if style == "detailed":
        if "size_bytes" in meta:
            lines.append(f"size: {meta['size_bytes']} bytes")
        if "resolution" in meta:
            res = meta["resolution"]
            lines.append(f"resolution: {res['width']}x{res['height']}")
        if "audio" in meta:
            audio = meta["audio"]
            lines.append(f"audio: {audio['channels']} channel(s), "
                         f"{audio['sample_rate_hz']} Hz, {audio['bits_per_sample']} bit")
        if "text" in meta:
            lines.append(f"text: {meta['text']['lines']} line(s), {meta['text']['words']} word(s)")
        if "sha256" in meta:
            lines.append(f"sha256: {meta['sha256']}")
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--manifest", required=True, help="input_manifest.json")
    args = parser.parse_args()
    with open(args.manifest, encoding="utf-8") as f:
        manifest = json.load(f)
    with open(manifest["inputs"]["metadata"]["path"], encoding="utf-8") as f:
        meta = json.load(f)
    style = manifest["inputs"].get("style", {}).get("value", "short")

    out_dir = manifest["output_dir"]
    with open(os.path.join(out_dir, "summary.txt"), "w", encoding="utf-8") as f:
        f.write(summarize(meta, style))
    # The media type is left out on purpose: the runtime detects it.
    with open(os.path.join(out_dir, "output_manifest.json"), "w", encoding="utf-8") as f:
        json.dump({"outputs": {"summary": {"path": "summary.txt"}}}, f)
    return 0


if __name__ == "__main__":
    sys.exit(main())
