#!/usr/bin/env python3
"""fail-on-request@1: ends the way the `mode` input asks.

Used to check how the runtime reports a module's failures. In every mode
that writes a report, the report lists the names (never the values) of the
environment variables the module sees, and whether the optional secret
OMNIVA_DEMO_TOKEN was passed (with its SHA-256, so a test can check the value
arrived without the value being written anywhere). Python standard library
only; no network.
"""

import argparse
import hashlib
import json
import os
import signal
import sys


def write_json(path, doc):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=2, sort_keys=True)
        f.write("\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--manifest", required=True, help="input_manifest.json")
    args = parser.parse_args()
    with open(args.manifest, encoding="utf-8") as f:
        manifest = json.load(f)
    mode = manifest["inputs"].get("mode", {}).get("value", "ok")
    out_dir = manifest["output_dir"]
    token = os.environ.get("OMNIVA_DEMO_TOKEN")

    print(f"fail-on-request: mode {mode}")
    if mode == "exit":
        print("failing on request with status 3", file=sys.stderr)
        return 3
    if mode == "leak_secret":
        print(f"the token is {token}")
        print(f"oops, the token is {token}", file=sys.stderr)
        return 3
    if mode == "crash":
        sys.stdout.flush()
        os.kill(os.getpid(), signal.SIGSEGV)
        return 1  # not reached

    report = {"mode": mode, "env_names": sorted(os.environ),
              "token_present": token is not None}
    if token is not None:
        report["token_sha256"] = hashlib.sha256(token.encode()).hexdigest()
    if mode == "bad_output":
        report["mode"] = 42  # the schema wants a string
    write_json(os.path.join(out_dir, "report.json"), report)

    entry = {"path": "report.json", "media_type": "application/json"}
    if mode == "no_manifest":
        return 0
    if mode == "bad_media_type":
        entry["media_type"] = "image/png"
    if mode == "escape":
        link = os.path.join(out_dir, "escape.json")
        if os.path.lexists(link):
            os.remove(link)
        os.symlink(os.path.abspath(__file__), link)
        entry["path"] = "escape.json"
    outputs = {} if mode == "missing_output" else {"report": entry}
    write_json(os.path.join(out_dir, "output_manifest.json"), {"outputs": outputs})
    return 0


if __name__ == "__main__":
    sys.exit(main())
