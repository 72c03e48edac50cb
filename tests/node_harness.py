#!/usr/bin/env python3
"""The harness of the node integration tests (tests/node_*_test.py).

Each test file runs as `python3 tests/node_<area>_test.py OMNIVA_BINARY REPO_DIR`
and ends with `node_harness.main()`.

Every case starts its own node on a free port with a temporary data folder
(working directory: the case's temporary folder, so that the default allowed
roots are that folder and the data folder), drives it with the `omniva`
client commands and plain HTTP, runs `omniva lineage verify` on its data folder
and stops it with SIGTERM, expecting exit status 0.

Python 3 standard library only. Set OMNIVA_KEEP_TMP=1 to keep the temporary
folders (node logs are in <tmp>/node-N.log).
"""

import hashlib
import json
import os
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request

OMNIVA = None
REPO = None

LISTENING = re.compile(r"node listening on (http://[0-9.]+:(\d+))")
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
SHA256 = re.compile(r"^[0-9a-f]{64}$")
FINISHED = ("DONE", "ERROR", "CANCELLED")
# The media type of a list asset (docs/pipelines.md).
LIST_MEDIA_TYPE = "application/vnd.omniva.asset-list+json"

# A node's HTTP API is on 127.0.0.1: never go through a proxy.
OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))

# A test module (written into the case's folder and registered through the
# CLI): copies a JSON asset. No shipped module consumes slow@1's JSON output.
RELAY_CONTRACT = {
    "name": "json-relay",
    "version": 1,
    "description": "Copies a JSON document (a test fixture).",
    "inputs": [{
        "key": "source",
        "label": "A JSON document",
        "contract_type": "ASSET",
        "required": True,
        "constraints": {"media_types": ["application/json"]},
    }],
    "outputs": [{
        "key": "copy",
        "label": "The same document",
        "contract_type": "ASSET",
        "media_type": "application/json",
    }],
    "resources": {"cpu": 1, "memory_gb": 0.1, "gpu": False, "timeout_s": 20},
    "run": {"command": ["python3", "relay.py"]},
    "schema_version": "1.0.0",
}

RELAY_SCRIPT = '''\
import argparse, json, os, shutil
parser = argparse.ArgumentParser()
parser.add_argument("--manifest", required=True)
manifest = json.load(open(parser.parse_args().manifest, encoding="utf-8"))
out = manifest["output_dir"]
shutil.copyfile(manifest["inputs"]["source"]["path"], os.path.join(out, "copy.json"))
with open(os.path.join(out, "output_manifest.json"), "w", encoding="utf-8") as f:
    json.dump({"outputs": {"copy": {"path": "copy.json",
                                    "media_type": "application/json"}}}, f)
'''

# A module that talks (a test fixture, registered by `register_talker`): "out 1"
# on stdout, "err 1" on stderr, "before gate", then it waits for the file its
# `gate` value names (a path), says "after gate" and "err 2" and writes its
# output `done`. What its logs hold is known line by line.
TALKER_CONTRACT = {
    "name": "talker",
    "version": 1,
    "description": "Prints to stdout and stderr, waits for a file (a test fixture).",
    "inputs": [{
        "key": "gate",
        "label": "The file to wait for",
        "contract_type": "VALUE",
        "dtype": "string",
    }],
    "outputs": [{
        "key": "done",
        "label": "Done",
        "contract_type": "ASSET",
        "media_type": "application/json",
    }],
    "resources": {"cpu": 1, "memory_gb": 0.1, "gpu": False, "timeout_s": 120},
    "run": {"command": ["python3", "talker.py"]},
    "schema_version": "1.0.0",
}

TALKER_SCRIPT = '''\
import argparse, json, os, sys, time
parser = argparse.ArgumentParser()
parser.add_argument("--manifest", required=True)
manifest = json.load(open(parser.parse_args().manifest, encoding="utf-8"))
gate = manifest["inputs"]["gate"]["value"]
print("out 1", flush=True)
print("err 1", file=sys.stderr, flush=True)
print("before gate", flush=True)
deadline = time.time() + 100
while not os.path.exists(gate) and time.time() < deadline:
    time.sleep(0.05)
print("after gate", flush=True)
print("err 2", file=sys.stderr, flush=True)
out = manifest["output_dir"]
with open(os.path.join(out, "done.json"), "w", encoding="utf-8") as f:
    json.dump({"ok": True}, f)
with open(os.path.join(out, "output_manifest.json"), "w", encoding="utf-8") as f:
    json.dump({"outputs": {"done": {"path": "done.json",
                                    "media_type": "application/json"}}}, f)
'''

# A registry schema and a module whose output names it (registered by the
# registry tests): the module writes {"verdict", "score"} for its `score`.
REPORT_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "Test report",
    "type": "object",
    "required": ["verdict", "score"],
    "properties": {
        "verdict": {"enum": ["pass", "fail"]},
        "score": {"type": "integer", "minimum": 0, "maximum": 100},
    },
    "additionalProperties": False,
}

REPORTER_CONTRACT = {
    "name": "reporter",
    "version": 1,
    "description": "Writes a report satisfying test.report@1 (a test fixture).",
    "inputs": [{
        "key": "score",
        "label": "Score",
        "contract_type": "VALUE",
        "dtype": "int",
    }],
    "outputs": [{
        "key": "report",
        "label": "Report",
        "contract_type": "ASSET",
        "media_type": "application/json",
        "schema": "test.report@1",
    }],
    "resources": {"cpu": 1, "memory_gb": 0.1, "gpu": False, "timeout_s": 20},
    "run": {"command": ["python3", "reporter.py"]},
    "schema_version": "1.0.0",
}

REPORTER_SCRIPT = '''\
import argparse, json, os
parser = argparse.ArgumentParser()
parser.add_argument("--manifest", required=True)
manifest = json.load(open(parser.parse_args().manifest, encoding="utf-8"))
score = manifest["inputs"]["score"]["value"]
out = manifest["output_dir"]
with open(os.path.join(out, "report.json"), "w", encoding="utf-8") as f:
    json.dump({"verdict": "pass" if score >= 50 else "fail", "score": score}, f)
with open(os.path.join(out, "output_manifest.json"), "w", encoding="utf-8") as f:
    json.dump({"outputs": {"report": {"path": "report.json",
                                      "media_type": "application/json"}}}, f)
'''


# A module that starts children (a test fixture): one in its own process
# group, one that leaves it (a new session, as a daemonising tool would),
# appends the pids of all three to the file its `pidfile` value names, then
# works for `seconds` (or until `<pidfile>.go` exists) and writes a JSON
# output.
SPAWNER_CONTRACT = {
    "name": "spawner",
    "version": 1,
    "description": "Starts two children, then writes a report (a test fixture).",
    "inputs": [
        {"key": "pidfile", "label": "Where the pids go", "contract_type": "VALUE",
         "dtype": "string"},
        {"key": "seconds", "label": "How long it works", "contract_type": "VALUE",
         "dtype": "float", "default": 3},
    ],
    "outputs": [{
        "key": "report",
        "label": "Report",
        "contract_type": "ASSET",
        "media_type": "application/json",
    }],
    "resources": {"cpu": 1, "memory_gb": 0.1, "gpu": False, "timeout_s": 60},
    "run": {"command": ["python3", "spawner.py"]},
    "schema_version": "1.0.0",
}

SPAWNER_SCRIPT = '''\
import argparse, json, os, subprocess, time
parser = argparse.ArgumentParser()
parser.add_argument("--manifest", required=True)
manifest = json.load(open(parser.parse_args().manifest, encoding="utf-8"))
inputs = manifest["inputs"]
child = subprocess.Popen(["sleep", "120"])
escaped = subprocess.Popen(["sleep", "121"], start_new_session=True)
with open(inputs["pidfile"]["value"], "a", encoding="utf-8") as f:
    f.write(f"{os.getpid()} {child.pid} {escaped.pid}\\n")
deadline = time.time() + inputs["seconds"]["value"]
while time.time() < deadline and not os.path.exists(inputs["pidfile"]["value"] + ".go"):
    time.sleep(0.05)
out = manifest["output_dir"]
with open(os.path.join(out, "report.json"), "w", encoding="utf-8") as f:
    json.dump({"pid": os.getpid()}, f)
with open(os.path.join(out, "output_manifest.json"), "w", encoding="utf-8") as f:
    json.dump({"outputs": {"report": {"path": "report.json",
                                      "media_type": "application/json"}}}, f)
'''


def wait_until(predicate, timeout, what):
    """Polls `predicate` until it returns something truthy; fails after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)


def task_kinds(history):
    """The kinds of a task's history (`history` as `NodeTestCase.history` gives
    it), in order, without the engines' advice and Zenith's decisions on it
    (`advice.*`, `decision.zenith`; see docs/engines.md): what happened to the
    task itself."""
    return [p["kind"] for p in history
            if not p["kind"].startswith("advice.") and p["kind"] != "decision.zenith"]


def sha256_of(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def process_alive(pid):
    """Whether `pid` runs (a zombie, dead but not yet reaped, does not count)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


class Node:
    """One `omniva serve` process on a data folder under `root`."""

    def __init__(self, root, extra_args=(), prefix=(), preexec=None):
        self.root = root
        # Called in the child before exec (limits for a fault test).
        self.preexec = preexec
        self.data = os.path.join(root, "data")
        self.extra_args = list(extra_args)
        # A command the node runs under (e.g. `unshare --pid --fork`).
        self.prefix = list(prefix)
        self.proc = None
        self.url = None
        self.token = None
        self.starts = 0

    def start(self, timeout=20):
        self.starts += 1
        self.log_path = os.path.join(self.root, f"node-{self.starts}.log")
        log = open(self.log_path, "w")
        args = self.prefix + [OMNIVA, "serve", "--data", self.data, "--http",
                              "127.0.0.1:0", "--modules", os.path.join(REPO, "modules")] \
            + self.extra_args
        self.proc = subprocess.Popen(args, cwd=self.root, stdout=log,
                                     stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL,
                                     preexec_fn=self.preexec)
        log.close()

        def listening():
            if self.proc.poll() is not None:
                raise AssertionError(f"omniva serve exited with {self.proc.returncode}:\n"
                                     + self.log())
            match = LISTENING.search(self.log())
            return match and match.group(1)

        self.url = wait_until(listening, timeout, "the node's 'listening' line")
        with open(os.path.join(self.data, "token"), encoding="utf-8") as f:
            self.token = f.read().strip()

    def log(self):
        with open(self.log_path, encoding="utf-8", errors="replace") as f:
            return f.read()

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, grace=5):
        """SIGTERM; returns the exit status, or None when it had to be killed."""
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(grace)
        except subprocess.TimeoutExpired:
            self.kill()
            return None

    def kill(self):
        self.proc.kill()
        self.proc.wait()


class NodeTestCase(unittest.TestCase):
    """Starts a node per test; `finish()` verifies the lineage and stops it."""

    node_args = ()
    node_prefix = ()

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="omniva-it-")
        self.addCleanup(self.remove_tmp)
        self.node = Node(self.tmp, self.node_args, self.node_prefix)
        self.addCleanup(self.kill_node)
        self.node.start()

    def kill_node(self):
        if self.node.alive():
            self.node.kill()

    def remove_tmp(self):
        if os.environ.get("OMNIVA_KEEP_TMP"):
            print(f"\n  kept {self.tmp}", file=sys.stderr)
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)

    # -- HTTP ------------------------------------------------------------------

    def http(self, method, path, body=None, token="node", headers=None):
        """Returns (status, parsed JSON or text, response headers)."""
        data = None
        hdrs = dict(headers or {})
        if body is not None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            hdrs.setdefault("Content-Type", "application/json")
        if token == "node":
            token = self.node.token
        if token is not None:
            hdrs["Authorization"] = f"Bearer {token}"
        req = urllib.request.Request(self.node.url + path, data=data,
                                     headers=hdrs, method=method)
        try:
            with OPENER.open(req, timeout=30) as resp:
                status, raw, rh = resp.status, resp.read(), resp.headers
        except urllib.error.HTTPError as e:
            status, raw, rh = e.code, e.read(), e.headers
        text = raw.decode("utf-8", errors="replace")
        ctype = rh.get("Content-Type", "")
        if ctype.startswith("application/json"):
            return status, json.loads(text), rh
        return status, text, rh

    def get(self, path, **kw):
        status, doc, _ = self.http("GET", path, **kw)
        return status, doc

    def get_ok(self, path):
        status, doc = self.get(path)
        self.assertEqual(status, 200, f"GET {path}: {doc}")
        return doc

    def items(self, path):
        """Every item of a list route, following `next_cursor` page by page."""
        out, cursor = [], None
        while True:
            sep = "&" if "?" in path else "?"
            page = self.get_ok(path + (f"{sep}cursor={urllib.parse.quote(cursor)}"
                                       if cursor else ""))
            out += page["items"]
            cursor = page["next_cursor"]
            if cursor is None:
                return out

    def submit(self, module_ref, inputs=None, values=None, **extra):
        body = {"module_ref": module_ref, "input_mapping": inputs or {}}
        if values:
            body["values"] = values
        body.update(extra)
        status, doc, _ = self.http("POST", "/api/tasks", body)
        self.assertIn(status, (200, 201), f"{module_ref} refused: {doc}")
        return doc

    def task(self, task_id):
        return self.get_ok(f"/api/tasks/{task_id}")

    def asset(self, asset_id):
        return self.get_ok(f"/api/assets/{asset_id}")

    def asset_file(self, asset_id):
        """An AVAILABLE FILE asset and the path of its file (its uri)."""
        asset = self.asset(asset_id)
        self.assertEqual(asset["status"], "AVAILABLE", asset)
        path = asset["uri"]
        if path.startswith("file://"):
            path = path[len("file://"):]
        self.assertTrue(os.path.isfile(path), asset)
        return asset, path

    def list_elements(self, asset_id):
        """The element assets of a list asset (a `many` output), in order."""
        asset, path = self.asset_file(asset_id)
        self.assertEqual(asset["media_type"], LIST_MEDIA_TYPE, asset)
        with open(path, encoding="utf-8") as f:
            return json.load(f)["assets"]

    def wait_status(self, task_id, statuses, timeout=20):
        return wait_until(lambda: (lambda t: t if t["status"] in statuses else None)(
            self.task(task_id)), timeout, f"task {task_id} to be one of {statuses}")

    def wait_finished(self, task_id, timeout=20):
        return self.wait_status(task_id, FINISHED, timeout)

    # -- CLI -------------------------------------------------------------------

    def cli(self, *args, node=True, timeout=60):
        cmd = [OMNIVA] + [str(a) for a in args]
        if node:
            cmd += ["--node", self.node.url, "--data", self.node.data]
        return subprocess.run(cmd, cwd=self.tmp, capture_output=True, text=True,
                              timeout=timeout, stdin=subprocess.DEVNULL)

    def cli_ok(self, *args, **kw):
        r = self.cli(*args, **kw)
        self.assertEqual(r.returncode, 0,
                         f"omniva {' '.join(map(str, args))} failed:\n{r.stdout}{r.stderr}")
        return r

    def cli_json(self, *args):
        return json.loads(self.cli_ok(*args, "--json").stdout)

    def history(self, entity):
        doc = json.loads(self.cli_ok("lineage", "show", entity, "--data", self.node.data,
                                     "--json", node=False).stdout)
        return doc["history"]

    # -- the end of every case ---------------------------------------------------

    def verify_lineage(self):
        r = self.cli("lineage", "verify", "--data", self.node.data, "--json", node=False)
        self.assertEqual(r.returncode, 0, f"lineage verify: {r.stdout}{r.stderr}")
        report = json.loads(r.stdout)
        self.assertTrue(report["ok"], report)
        self.assertGreater(report["packets"], 0)
        return report

    def finish(self):
        """Lineage verifies (while the node runs); SIGTERM stops the node with 0."""
        self.verify_lineage()
        rc = self.node.stop()
        self.assertIsNotNone(rc, "the node did not exit within 5 s of SIGTERM:\n"
                             + self.node.log()[-2000:])
        self.assertEqual(rc, 0, self.node.log()[-2000:])
        # And once more with the node gone: the log is still intact.
        self.verify_lineage()

    # -- fixtures -------------------------------------------------------------------

    def write(self, name, text):
        path = os.path.join(self.tmp, name)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        return path

    def register_fixture(self, contract, program_name, program, folder_name=None):
        """Writes a test module (its contract and its program) into a folder of
        the case (named `folder_name`, default the module's name) and registers
        it through the CLI; returns its ref."""
        folder = os.path.join(self.tmp, folder_name or contract["name"])
        os.makedirs(folder)
        with open(os.path.join(folder, "module.json"), "w", encoding="utf-8") as f:
            json.dump(contract, f, indent=2)
        with open(os.path.join(folder, program_name), "w", encoding="utf-8") as f:
            f.write(program)
        ref = f"{contract['name']}@{contract['version']}"
        self.assertEqual(self.cli_ok("module", "register", folder).stdout.strip(), ref)
        return ref

    def register_relay(self):
        """Registers json-relay@1 (RELAY_CONTRACT): copies a JSON document."""
        return self.register_fixture(RELAY_CONTRACT, "relay.py", RELAY_SCRIPT, "json_relay")

    def register_talker(self):
        """Registers talker@1 (TALKER_CONTRACT): logs known lines, waits for a file."""
        return self.register_fixture(TALKER_CONTRACT, "talker.py", TALKER_SCRIPT)

    def register_spawner(self):
        """Registers spawner@1 (SPAWNER_CONTRACT): a module that starts children."""
        return self.register_fixture(SPAWNER_CONTRACT, "spawner.py", SPAWNER_SCRIPT)

    @staticmethod
    def pids_in(path):
        """The pids a spawner wrote to `path`, one list per line ([] when none)."""
        if not os.path.exists(path):
            return []
        with open(path, encoding="utf-8") as f:
            return [[int(p) for p in line.split()] for line in f if line.strip()]

    # -- events ----------------------------------------------------------------

    def open_events(self):
        parts = urllib.parse.urlsplit(self.node.url)
        sock = socket.create_connection((parts.hostname, parts.port), timeout=10)
        self.addCleanup(sock.close)
        sock.sendall((f"GET /api/events HTTP/1.1\r\nHost: {parts.netloc}\r\n"
                      f"Authorization: Bearer {self.node.token}\r\n"
                      "Accept: text/event-stream\r\n\r\n").encode())
        buf = b""
        while b"\r\n\r\n" not in buf:
            chunk = sock.recv(4096)
            self.assertTrue(chunk, f"the event stream closed: {buf!r}")
            buf += chunk
        head, rest = buf.split(b"\r\n\r\n", 1)
        head = head.decode()
        self.assertTrue(head.startswith("HTTP/1.1 200"), head)
        self.assertIn("content-type: text/event-stream", head.lower())
        return sock, rest

    def next_events(self, sock, buf, deadline):
        """Yields (event, data) until `deadline`."""
        while True:
            while b"\n\n" in buf:
                frame, buf = buf.split(b"\n\n", 1)
                event, data = "", []
                for line in frame.decode().split("\n"):
                    if line.startswith("event: "):
                        event = line[len("event: "):]
                    elif line.startswith("data: "):
                        data.append(line[len("data: "):])
                if data:
                    yield event, json.loads("\n".join(data))
            left = deadline - time.monotonic()
            if left <= 0:
                return
            sock.settimeout(left)
            try:
                chunk = sock.recv(4096)
            except socket.timeout:
                return
            if not chunk:
                return
            buf += chunk


# One worker: tasks queue behind a RUNNING one, so PENDING and READY states are
# deterministic rather than a race against a fast module.
ONE_WORKER = ("--pool", "default:1:2:1")


def main():
    """Runs the calling file's test cases: argv is OMNIVA_BINARY REPO_DIR [unittest args]."""
    global OMNIVA, REPO
    if len(sys.argv) < 3:
        print(sys.modules["__main__"].__doc__ or __doc__, file=sys.stderr)
        sys.exit(2)
    OMNIVA = os.path.abspath(sys.argv[1])
    REPO = os.path.abspath(sys.argv[2])
    result = unittest.main(module="__main__", argv=[sys.argv[0]] + sys.argv[3:],
                           verbosity=2, exit=False)
    sys.exit(0 if result.result.wasSuccessful() else 1)
