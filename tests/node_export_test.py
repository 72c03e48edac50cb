#!/usr/bin/env python3
"""Lineage export (docs/operations.md, "Exporting lineage").

`GET /api/lineage/export?since=SEQ` and `omniva lineage export --to FILE`
write a node's packets as NDJSON: each line the packet's canonical form with
its id, so that anyone recomputes every id with SHA-256 and follows the prev
chain offline (`omniva lineage verify --file FILE`), and a changed byte or a
missing line is found and named.
"""

import hashlib
import json
import os

import node_harness
from node_harness import *


def read_lines(path):
    with open(path, "rb") as f:
        data = f.read()
    if not data:
        return []
    assert data.endswith(b"\n"), "an export ends with a line break"
    return data[:-1].split(b"\n")


def write_lines(path, lines):
    with open(path, "wb") as f:
        f.write(b"".join(line + b"\n" for line in lines))


def check_line_by_hand(line):
    """What docs/operations.md tells a verifier to do, in plain Python."""
    doc = json.loads(line)
    member = b'"id":"' + doc["id"].encode() + b'",'
    assert member in line, line
    stripped = line.replace(member, b"", 1)
    assert hashlib.sha256(stripped).hexdigest() == doc["id"], f"seq {doc['seq']}"
    return doc


class ExportTest(NodeTestCase):
    node_args = ("--mock",)

    def make_history(self, tasks):
        ids = []
        for i in range(tasks):
            ids.append(self.submit("slow@1", values={"seconds": i % 3})["task_id"])
        for task_id in ids:
            self.assertEqual(self.wait_finished(task_id)["status"], "DONE")
        return self.get_ok("/api/lineage/verify")

    def export(self, *args):
        return json.loads(self.cli_ok("lineage", "export", *args, "--json").stdout)

    def test_an_export_holds_every_packet_and_checks_offline(self):
        report = self.make_history(150)
        count = report["packets"]
        path = os.path.join(self.tmp, "all.ndjson")
        summary = self.export("--to", path)
        self.assertEqual(summary["packets"], count)
        self.assertEqual(summary["first_seq"], 1)
        self.assertEqual(summary["last_seq"], count)
        self.assertEqual(summary["last_id"], report["head"])
        self.assertFalse(os.path.exists(path + ".tmp"))

        # Each line: an id that hashes from the rest, a seq one more than
        # the line before, a prev naming the line before; the packets the
        # node shows.
        lines = read_lines(path)
        self.assertEqual(len(lines), count)
        prev = ""
        for n, line in enumerate(lines, 1):
            doc = check_line_by_hand(line)
            self.assertEqual(doc["seq"], n)
            self.assertEqual(doc["prev"], prev)
            prev = doc["id"]
            # Canonical JSON: members sorted, no spaces.
            self.assertEqual(line.decode(),
                             json.dumps(doc, sort_keys=True, separators=(",", ":"),
                                        ensure_ascii=False))
        for n in (1, count // 2, count):
            doc = json.loads(lines[n - 1])
            shown = self.get_ok(f"/api/lineage/{doc['id']}")["packet"]
            self.assertEqual(shown["seq"], n)
            self.assertEqual(shown["kind"], doc["kind"])
            self.assertEqual(shown["payload"], doc["payload"])

        # The offline check agrees.
        r = self.cli_ok("lineage", "verify", "--file", path, node=False)
        self.assertIn(f"ok: {count} packets, seq 1 to {count}", r.stdout)
        verdict = json.loads(self.cli_ok("lineage", "verify", "--file", path, "--json",
                                         node=False).stdout)
        self.assertEqual(verdict, {"ok": True, "file": path, "packets": count,
                                   "first_seq": 1, "last_seq": count,
                                   "first_prev": "", "last_id": report["head"]})

        # The HTTP route streams the same bytes, chunked.
        status, text, headers = self.http("GET", "/api/lineage/export")
        self.assertEqual(status, 200)
        self.assertTrue(headers["Content-Type"].startswith("application/x-ndjson"))
        self.assertEqual(headers.get("Transfer-Encoding"), "chunked")
        with open(path, encoding="utf-8") as f:
            self.assertEqual(text, f.read())
        self.finish()

    def test_an_export_since_a_seq_links_to_the_packet_before(self):
        count = self.make_history(10)["packets"]
        since = count // 2
        full = os.path.join(self.tmp, "full.ndjson")
        self.export("--to", full)
        full_lines = read_lines(full)
        before = json.loads(full_lines[since - 2])
        # The node itself says which packet is seq since-1.
        self.assertEqual(self.get_ok(f"/api/lineage/{before['id']}")["packet"]["seq"],
                         since - 1)

        part = os.path.join(self.tmp, "part.ndjson")
        summary = self.export("--to", part, "--since", since)
        self.assertEqual(summary["packets"], count - since + 1)
        self.assertEqual(summary["first_seq"], since)
        lines = read_lines(part)
        first = json.loads(lines[0])
        self.assertEqual(first["seq"], since)
        self.assertEqual(first["prev"], before["id"])
        self.assertEqual(lines, full_lines[since - 1:])
        verdict = json.loads(self.cli_ok("lineage", "verify", "--file", part, "--json",
                                         node=False).stdout)
        self.assertTrue(verdict["ok"], verdict)
        self.assertEqual(verdict["first_seq"], since)
        self.assertEqual(verdict["first_prev"], before["id"])

        # Read from the data folder instead of the node: the same lines.
        direct = os.path.join(self.tmp, "direct.ndjson")
        self.cli_ok("lineage", "export", "--to", direct, "--since", since,
                    "--data", self.node.data, node=False)
        self.assertEqual(read_lines(direct), lines)

        # Over HTTP, since=N gives the same lines; beyond the end, none.
        status, text, _ = self.http("GET", f"/api/lineage/export?since={since}")
        self.assertEqual(status, 200)
        self.assertEqual(text.encode(), b"".join(l + b"\n" for l in lines))
        status, text, _ = self.http("GET", f"/api/lineage/export?since={count + 1}")
        self.assertEqual((status, text), (200, ""))
        empty = os.path.join(self.tmp, "empty.ndjson")
        summary = self.export("--to", empty, "--since", count + 1)
        self.assertEqual(summary["packets"], 0)
        self.assertEqual(os.path.getsize(empty), 0)
        self.finish()

    def test_a_changed_byte_or_a_missing_line_is_named(self):
        count = self.make_history(5)["packets"]
        path = os.path.join(self.tmp, "all.ndjson")
        self.export("--to", path)
        lines = read_lines(path)
        self.assertGreaterEqual(count, 6)

        # One byte of a payload changed: that line is named.
        tampered = list(lines)
        k = 4
        at = tampered[k - 1].index(b'"payload":{') + len(b'"payload":{') + 2
        changed = bytearray(tampered[k - 1])
        changed[at] = ord("Z") if changed[at] != ord("Z") else ord("Y")
        tampered[k - 1] = bytes(changed)
        bad = os.path.join(self.tmp, "tampered.ndjson")
        write_lines(bad, tampered)
        r = self.cli("lineage", "verify", "--file", bad, node=False)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn(f"BROKEN at line {k} (corruption)", r.stdout)
        self.assertIn(f"line {k} (seq {k}) was changed", r.stdout)
        verdict = json.loads(self.cli("lineage", "verify", "--file", bad, "--json",
                                      node=False).stdout)
        self.assertEqual((verdict["ok"], verdict["line"], verdict["seq"], verdict["code"]),
                         (False, k, k, "corruption"))

        # A line deleted: the chain breaks at the line that followed it.
        missing = lines[:2] + lines[3:]
        gap = os.path.join(self.tmp, "gap.ndjson")
        write_lines(gap, missing)
        r = self.cli("lineage", "verify", "--file", gap, node=False)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("BROKEN at line 3 (corruption): the chain breaks at line 3 (seq 4)",
                      r.stdout)

        # Not an export at all.
        junk = self.write("junk.ndjson", '{"hello": "world"}\n')
        r = self.cli("lineage", "verify", "--file", junk, node=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("BROKEN at line 1 (invalid_json)", r.stdout)
        self.finish()

    def test_bad_requests_and_failed_exports_leave_the_file_alone(self):
        self.make_history(1)
        for query in ("since=0", "since=abc", "since=-1", "since="):
            status, doc, _ = self.http("GET", f"/api/lineage/export?{query}")
            self.assertEqual(status, 400, query)
            self.assertEqual(doc["error"]["code"], "invalid_argument")
            self.assertEqual(doc["error"]["pointer"], "/since")
        status, doc, _ = self.http("GET", "/api/lineage/export?from=3")
        self.assertEqual(status, 400)
        status, _, _ = self.http("GET", "/api/lineage/export", token=None)
        self.assertEqual(status, 401)

        target = self.write("kept.ndjson", "what was there\n")
        r = self.cli("lineage", "export", "--to", target, "--since", "0")
        self.assertEqual(r.returncode, 2, r.stderr)
        # A node that cannot be reached: the file stays as it was.
        r = self.cli("lineage", "export", "--to", target, "--node",
                     "http://127.0.0.1:9", node=False)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        with open(target, encoding="utf-8") as f:
            self.assertEqual(f.read(), "what was there\n")
        self.assertFalse(os.path.exists(target + ".tmp"))
        r = self.cli("lineage", "verify", "--file", target, "--node", self.node.url,
                     node=False)
        self.assertEqual(r.returncode, 2)
        self.finish()


if __name__ == "__main__":
    node_harness.main()
