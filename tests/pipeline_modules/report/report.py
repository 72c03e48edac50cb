#!/usr/bin/env python3
"""report@1: reads a list asset ({"assets": [ids], "missing": [{"task_id",
"branch", "code"}]}) and writes `summary`: {"count": len(assets), "missing":
len(missing), "assets": the ids, "missing_branches": the branches}. Python
standard library only."""

import argparse
import json
import os
import sys


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--manifest", required=True)
    with open(parser.parse_args().manifest, encoding="utf-8") as f:
        manifest = json.load(f)
    with open(manifest["inputs"]["clips"]["path"], encoding="utf-8") as f:
        listed = json.load(f)
    assets = listed.get("assets", [])
    missing = listed.get("missing", [])
    out = manifest["output_dir"]
    with open(os.path.join(out, "summary.json"), "w", encoding="utf-8") as f:
        json.dump({"count": len(assets), "missing": len(missing), "assets": assets,
                   "missing_branches": [m.get("branch", "") for m in missing]}, f)
    with open(os.path.join(out, "output_manifest.json"), "w", encoding="utf-8") as f:
        json.dump({"outputs": {"summary": {"path": "summary.json",
                                           "media_type": "application/json"}}}, f)
    print(f"report: {len(assets)} asset(s), {len(missing)} missing")
    return 0


if __name__ == "__main__":
    sys.exit(main())
