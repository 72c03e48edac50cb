#!/usr/bin/env python3
"""worker@1 (and vworker@1): writes `out`, {"item": the item, "parent": the
parent document or null, "index": the item's `index` (or `id`), "task_id"}.
Sleeps `sleep` seconds first. Exits 3 (no output manifest) when the item's
index is `fail_index`, or `fail_all` is true, and `fail_flag` is "" or names
a file that exists. The item and the parent may come as a file (`path`) or
inline (`value`). Python standard library only."""

import argparse
import json
import os
import sys
import time


def read_json_input(entry):
    if entry is None:
        return None
    if "value" in entry:
        return entry["value"]
    with open(entry["path"], encoding="utf-8") as f:
        return json.load(f)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--manifest", required=True)
    with open(parser.parse_args().manifest, encoding="utf-8") as f:
        manifest = json.load(f)
    inputs = manifest["inputs"]

    def value(key, default):
        return inputs.get(key, {}).get("value", default)

    item = read_json_input(inputs["item"])
    parent = read_json_input(inputs.get("parent"))
    index = item.get("index", item.get("id")) if isinstance(item, dict) else None
    time.sleep(float(value("sleep", 0)))
    flag = value("fail_flag", "")
    if (value("fail_all", False) or index == int(value("fail_index", -1))) \
            and (flag == "" or os.path.exists(flag)):
        print(f"worker: failing on request on the item of index {index}", file=sys.stderr)
        return 3
    out = manifest["output_dir"]
    with open(os.path.join(out, "out.json"), "w", encoding="utf-8") as f:
        json.dump({"item": item, "parent": parent, "index": index,
                   "task_id": manifest["task_id"]}, f)
    with open(os.path.join(out, "output_manifest.json"), "w", encoding="utf-8") as f:
        json.dump({"outputs": {"out": {"path": "out.json",
                                       "media_type": "application/json"}}}, f)
    print(f"worker: item of index {index} done")
    return 0


if __name__ == "__main__":
    sys.exit(main())
