#!/usr/bin/env python3
"""slow@1: sleeps, to exercise timeouts.

Sleeps `seconds`; with `children` > 0 it first starts that many `sleep`
processes (same process group) and writes its own id and theirs to
`pids.txt` in the output directory, so a test can check that a timeout
killed them all. Python standard library only; no network.
"""

import argparse
import json
import os
import subprocess
import sys
import time


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--manifest", required=True, help="input_manifest.json")
    args = parser.parse_args()
    with open(args.manifest, encoding="utf-8") as f:
        manifest = json.load(f)
    inputs = manifest["inputs"]
    seconds = float(inputs.get("seconds", {}).get("value", 1))
    children = int(inputs.get("children", {}).get("value", 0))
    out_dir = manifest["output_dir"]

    procs = [subprocess.Popen(["sleep", str(seconds)]) for _ in range(children)]
    with open(os.path.join(out_dir, "pids.txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(str(p) for p in [os.getpid()] + [c.pid for c in procs]) + "\n")
    print(f"sleeping {seconds} s with {children} child process(es)", flush=True)

    start = time.monotonic()
    time.sleep(seconds)
    for c in procs:
        c.wait()
    slept = round(time.monotonic() - start, 3)

    with open(os.path.join(out_dir, "result.json"), "w", encoding="utf-8") as f:
        json.dump({"slept_s": slept}, f)
    with open(os.path.join(out_dir, "output_manifest.json"), "w", encoding="utf-8") as f:
        json.dump({"outputs": {"result": {"path": "result.json",
                                          "media_type": "application/json"}}}, f)
    return 0


if __name__ == "__main__":
    sys.exit(main())
