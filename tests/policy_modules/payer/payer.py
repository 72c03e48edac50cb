#!/usr/bin/env python3
"""The program of every policy test module (tests/policy_modules/, see its
README.md): writes the receipt of an "upload" and reports what it cost.

Inputs (each optional): `n` (int; the receipt's status is "uploaded" when
n >= 0, else "failed"), `item` (a JSON document, as a file or inline: its
`index` becomes n), `sleep` (seconds to work first), `gate` (a path: wait until
that file exists, at most 90 s, so that a program a killed node left behind
ends), `cost` (the cost in
millionths of a dollar it reports in its output manifest; -1: none).
Output `receipt`: {"status", "n", "task_id", "attempt"}. Python 3 standard
library only."""

import argparse
import json
import os
import sys
import time


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--manifest", required=True)
    with open(parser.parse_args().manifest, encoding="utf-8") as f:
        manifest = json.load(f)
    inputs = manifest["inputs"]

    def value(key, default):
        return inputs.get(key, {}).get("value", default)

    n = int(value("n", 0))
    if "item" in inputs:
        entry = inputs["item"]
        if "value" in entry:
            item = entry["value"]
        else:
            with open(entry["path"], encoding="utf-8") as f:
                item = json.load(f)
        if isinstance(item, dict) and isinstance(item.get("index"), int):
            n = item["index"]
    time.sleep(float(value("sleep", 0)))
    gate = value("gate", "")
    deadline = time.monotonic() + 90
    while gate and not os.path.exists(gate) and time.monotonic() < deadline:
        time.sleep(0.05)
    out = manifest["output_dir"]
    with open(os.path.join(out, "receipt.json"), "w", encoding="utf-8") as f:
        json.dump({"status": "uploaded" if n >= 0 else "failed", "n": n,
                   "task_id": manifest["task_id"], "attempt": manifest["attempt"]}, f)
    doc = {"outputs": {"receipt": {"path": "receipt.json",
                                   "media_type": "application/json"}}}
    cost = int(value("cost", 200000))
    if cost >= 0:
        doc["cost"] = {"usd_micro": cost}
    with open(os.path.join(out, "output_manifest.json"), "w", encoding="utf-8") as f:
        json.dump(doc, f)
    print(f"payer: receipt for n={n}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
