#!/usr/bin/env python3
"""lister@1: writes `count` JSON files {"index": i, "score": s(i)} for its
`many` output `items`, s(i) = ((37 * i) % 101) / 100. With `fail_at` >= 0 it
writes that many files, then exits 3 without an output manifest. Sleeps
`sleep` seconds first. Python standard library only."""

import argparse
import json
import os
import sys
import time


def score(i):
    return ((37 * i) % 101) / 100


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--manifest", required=True)
    with open(parser.parse_args().manifest, encoding="utf-8") as f:
        manifest = json.load(f)
    inputs = manifest["inputs"]
    count = int(inputs["count"]["value"])
    fail_at = int(inputs.get("fail_at", {}).get("value", -1))
    time.sleep(float(inputs.get("sleep", {}).get("value", 0)))
    out = manifest["output_dir"]
    paths = []
    for i in range(count):
        if i == fail_at:
            break
        name = f"item-{i}.json"
        with open(os.path.join(out, name), "w", encoding="utf-8") as f:
            json.dump({"index": i, "score": score(i)}, f)
        paths.append(name)
    if fail_at >= 0:
        print(f"lister: failing on request after {len(paths)} file(s)", file=sys.stderr)
        return 3
    with open(os.path.join(out, "output_manifest.json"), "w", encoding="utf-8") as f:
        json.dump({"outputs": {"items": {"paths": [
            {"path": p, "media_type": "application/json"} for p in paths]}}}, f)
    print(f"lister: wrote {len(paths)} item(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
