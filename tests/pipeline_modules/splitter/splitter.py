#!/usr/bin/env python3
"""splitter@1: reads a JSON document with an `index` (an ASSET input, given as
a file or as a value) and writes `index % 4 + 1` candidates {"id": j,
"confidence": c(j)}, c(j) = 0.95 - 0.2 * ((j + 1) // 2) - 0.01 * (index % 5)
rounded to 2 places: confidences tie in pairs. The same candidates, one
JSON file each, for its `many` output `parts`. Python standard library only."""

import argparse
import json
import os
import sys


def read_json_input(entry):
    if "value" in entry:
        return entry["value"]
    with open(entry["path"], encoding="utf-8") as f:
        return json.load(f)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--manifest", required=True)
    with open(parser.parse_args().manifest, encoding="utf-8") as f:
        manifest = json.load(f)
    source = read_json_input(manifest["inputs"]["source"])
    index = int(source["index"])
    candidates = [{"id": j,
                   "confidence": round(0.95 - 0.2 * ((j + 1) // 2) - 0.01 * (index % 5), 2)}
                  for j in range(index % 4 + 1)]
    out = manifest["output_dir"]
    with open(os.path.join(out, "result.json"), "w", encoding="utf-8") as f:
        json.dump({"source_index": index, "candidates": candidates}, f)
    parts = []
    for c in candidates:
        parts.append(f"part-{c['id']}.json")
        with open(os.path.join(out, parts[-1]), "w", encoding="utf-8") as f:
            json.dump(c, f)
    # `parts` as plain paths: their media type is the output's, detected.
    with open(os.path.join(out, "output_manifest.json"), "w", encoding="utf-8") as f:
        json.dump({"outputs": {"result": {"path": "result.json",
                                          "media_type": "application/json"},
                               "parts": {"paths": parts}}}, f)
    print(f"splitter: {len(candidates)} candidate(s) for index {index}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
