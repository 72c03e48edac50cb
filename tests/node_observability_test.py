#!/usr/bin/env python3
"""Watching a node: its own log (text and JSON lines), resumable Server-Sent
Events and the histograms of /metrics, through a real `omniva serve`.

Usage: node_observability_test.py OMNIVA_BINARY REPO_DIR
"""

import json
import os
import re
import socket
import subprocess
import time
import urllib.parse

import node_harness
from node_harness import *  # noqa: F401,F403 (the fixtures and NodeTestCase)


def json_lines(log):
    """The node log's lines of a JSON-mode node (stdout's 'omniva: ...' lines
    are the listening line and the stopping line, not log lines)."""
    return [line for line in log.splitlines() if line and not line.startswith("omniva: ")]


class EventReader:
    """One `GET /api/events` connection, read frame by frame: (id, event,
    data) with `id` an int (None when the frame has none)."""

    def __init__(self, test, last_event_id=None):
        parts = urllib.parse.urlsplit(test.node.url)
        self.sock = socket.create_connection((parts.hostname, parts.port), timeout=10)
        test.addCleanup(self.sock.close)
        extra = "" if last_event_id is None else f"Last-Event-ID: {last_event_id}\r\n"
        self.sock.sendall((f"GET /api/events HTTP/1.1\r\nHost: {parts.netloc}\r\n"
                           f"Authorization: Bearer {test.node.token}\r\n"
                           f"Accept: text/event-stream\r\n{extra}\r\n").encode())
        buf = b""
        while b"\r\n\r\n" not in buf:
            chunk = self.sock.recv(65536)
            test.assertTrue(chunk, f"the event stream closed: {buf!r}")
            buf += chunk
        head, self.buf = buf.split(b"\r\n\r\n", 1)
        self.head = head.decode()
        self.events = []

    def read_until(self, predicate, timeout=20):
        """Reads frames into `events` until `predicate(events)` holds."""
        deadline = time.monotonic() + timeout
        while not predicate(self.events):
            while b"\n\n" in self.buf:
                frame, self.buf = self.buf.split(b"\n\n", 1)
                ident, event, data = None, "", []
                for line in frame.decode().split("\n"):
                    if line.startswith("id: "):
                        ident = int(line[4:])
                    elif line.startswith("event: "):
                        event = line[7:]
                    elif line.startswith("data: "):
                        data.append(line[6:])
                if data:
                    self.events.append((ident, event, json.loads("\n".join(data))))
            if predicate(self.events):
                break
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"timed out; events so far: {self.events}")
            self.sock.settimeout(left)
            chunk = self.sock.recv(65536)
            if not chunk:
                raise AssertionError(f"the stream ended; events so far: {self.events}")
            self.buf += chunk
        return self.events


def ended(task_id):
    """A predicate: the events hold the end of `task_id`."""
    return lambda events: any(d["subject"] == task_id and e in ("task.succeeded", "task.failed")
                              for _, e, d in events)


class JsonLogTest(NodeTestCase):
    node_args = ("--log-format", "json")

    def test_failures_refusals_and_operator_actions_are_json_lines(self):
        failed = self.submit("fail-on-request@1", values={"mode": "exit"})
        self.assertEqual(self.wait_finished(failed["task_id"])["status"], "ERROR")

        unknown = "00000000-0000-4000-8000-000000000000"
        self.assertEqual(self.get(f"/api/tasks/{unknown}")[0], 404)
        self.assertEqual(self.get("/api/tasks", token=None)[0], 401)
        status, _, _ = self.http("POST", "/api/assets/value",
                                 {"value": "secret-body-value", "dtype": "string"},
                                 token="wrong-token-value")
        self.assertEqual(status, 401)
        # Not HTTP at all, with bytes that are not UTF-8.
        parts = urllib.parse.urlsplit(self.node.url)
        with socket.create_connection((parts.hostname, parts.port), timeout=10) as s:
            s.sendall(b"\xff\xfe GARBAGE \x01\r\n\r\n")
            self.assertTrue(s.recv(4096).startswith(b"HTTP/1.1 400"))

        # Operator actions: an asset deleted, a rescan.
        status, asset, _ = self.http("POST", "/api/assets/value", {"value": 5, "dtype": "int"})
        self.assertIn(status, (200, 201), asset)
        status, _, _ = self.http("DELETE", f"/api/assets/{asset['asset_id']}")
        self.assertEqual(status, 200)
        status, _, _ = self.http("POST", "/api/modules/rescan")
        self.assertEqual(status, 200)

        def parsed():
            lines = [json.loads(line) for line in json_lines(self.node.log())]
            return lines if any(x["event"] == "operator.rescan" for x in lines) else None

        lines = wait_until(parsed, 10, "the node's log lines")
        for x in lines:
            self.assertEqual(list(x)[:3], ["at", "level", "event"], x)
        by_event = {}
        for x in lines:
            by_event.setdefault(x["event"], []).append(x)

        fail = [x for x in by_event.get("task.failed", []) if x["task"] == failed["task_id"]]
        self.assertEqual(len(fail), 1, lines)
        self.assertEqual(fail[0]["code"], "exit_code")
        self.assertEqual(fail[0]["level"], "warn")
        self.assertTrue(fail[0]["message"])

        refused = by_event.get("http.refused", [])
        self.assertIn({"method": "GET", "route": "/api/tasks/{id}", "status": 404,
                       "code": "not_found"},
                      [{k: x[k] for k in ("method", "route", "status", "code")}
                       for x in refused])
        self.assertIn(("GET", "/api/tasks", 401, "unauthorized"),
                      [(x["method"], x["route"], x["status"], x["code"]) for x in refused])
        self.assertIn(("POST", "/api/assets/value", 401, "unauthorized"),
                      [(x["method"], x["route"], x["status"], x["code"]) for x in refused])
        self.assertIn((None, None, 400, "invalid_argument"),
                      [(x["method"], x["route"], x["status"], x["code"]) for x in refused])

        self.assertEqual([x["asset"] for x in by_event.get("operator.asset_delete", [])],
                         [asset["asset_id"]])
        self.assertIn("node.started", by_event)
        # Start-up: the registry's lines are JSON lines too.
        self.assertIn("log", by_event)

        # No secret and no request body reaches the log.
        log = self.node.log()
        for secret in (self.node.token, "wrong-token-value", "secret-body-value", unknown):
            self.assertNotIn(secret, log)
        self.finish()
        # The stop is logged too, and every line stayed JSON.
        lines = [json.loads(line) for line in json_lines(self.node.log())]
        self.assertEqual(lines[-1]["event"], "node.stopping")


class TextLogTest(NodeTestCase):
    def test_a_refused_request_is_a_text_line_with_route_and_code(self):
        self.assertEqual(self.get("/api/tasks/nope%ff")[0], 404)
        line = wait_until(lambda: re.search(r"(?m)^\S+ warn http\.refused .*$", self.node.log()),
                          10, "the refusal's log line").group(0)
        self.assertRegex(line, r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z warn http\.refused "
                               r"method=GET route=/api/tasks/\{id\} status=404 code=not_found "
                               r"remote=127\.0\.0\.1:\d+$")
        # The messages of the node's parts are lines of the same format.
        self.assertRegex(self.node.log(), r'(?m)^\S+Z info log message="registry: registered module ')
        self.finish()

    def test_the_log_format_comes_from_the_flag_or_the_configuration(self):
        r = subprocess.run([node_harness.OMNIVA, "serve", "--data", os.path.join(self.tmp, "x"),
                            "--log-format", "xml"], capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
        self.assertIn("--log-format must be text or json", r.stderr)

        conf = self.write("omniva.conf", '[omniva]\nlog-format="json"\n')
        other = Node(os.path.join(self.tmp, "second"), ["--config", conf])
        os.makedirs(other.root)
        other.start()
        try:
            lines = json_lines(other.log())
            self.assertTrue(lines)
            for line in lines:
                json.loads(line)
            self.assertIn("node.started", [json.loads(x)["event"] for x in lines])
        finally:
            self.assertEqual(other.stop(), 0)
        self.finish()


class EventsTest(NodeTestCase):
    def test_event_ids_are_sequence_numbers_and_last_event_id_resumes(self):
        a = EventReader(self)
        first = self.submit("fail-on-request@1", values={"mode": "ok"})
        a.read_until(ended(first["task_id"]))
        ids = [i for i, _, _ in a.events]
        self.assertEqual(ids, list(range(ids[0], ids[0] + len(ids))), a.events)
        for ident, event, data in a.events:
            self.assertEqual(data["seq"], ident)
            self.assertEqual(data["kind"], event)
            packet = self.get_ok(f"/api/lineage/{data['id']}")["packet"]
            self.assertEqual(packet["seq"], ident)
            self.assertIn(data["subject"], packet["subjects"])

        # A client that saw up to the second event reconnects: it gets every
        # later one from the log, then the live ones, each once.
        seen = ids[1]
        b = EventReader(self, seen)
        self.assertTrue(b.head.startswith("HTTP/1.1 200"), b.head)
        second = self.submit("fail-on-request@1", values={"mode": "exit"})
        a.read_until(ended(second["task_id"]))
        b.read_until(ended(second["task_id"]))
        self.assertEqual(b.events, [x for x in a.events if x[0] > seen])

        # From the very start: the whole log, in order, no gap.
        c = EventReader(self, 0)
        c.read_until(lambda events: events and events[-1][0] >= a.events[-1][0])
        self.assertEqual([i for i, _, _ in c.events], list(range(1, a.events[-1][0] + 1)))
        self.assertEqual(c.events[-len(a.events):], a.events)

        for bad in ("abc", "-1", "1.5", "18446744073709551616"):
            with self.subTest(last_event_id=bad):
                status, doc, _ = self.http("GET", "/api/events",
                                           headers={"Last-Event-ID": bad})
                self.assertEqual(status, 400, doc)
                self.assertEqual(doc["error"]["code"], "invalid_argument")
        self.finish()

    def test_histograms_count_what_the_tasks_did(self):
        tasks = [self.submit("fail-on-request@1", values={"mode": m}) for m in ("ok", "ok", "exit")]
        for t in tasks:
            self.wait_finished(t["task_id"])

        def samples():
            status, text, _ = self.http("GET", "/metrics")
            self.assertEqual(status, 200)
            return dict(re.findall(r"(?m)^(omniva_task_\w+\{[^}]*\}) (\S+)$", text)), text

        m = 'module="fail-on-request@1"'
        values, text = wait_until(
            lambda: (lambda s: s if s[0].get(f'omniva_task_run_seconds_count{{{m}}}') == "3"
                     else None)(samples()), 10, "three runs in the histograms")
        for name in ("omniva_task_duration_seconds", "omniva_task_run_seconds",
                     "omniva_task_queue_wait_seconds"):
            self.assertIn(f"# TYPE {name} histogram", text)
        self.assertEqual(values[f'omniva_task_duration_seconds_count{{{m},status="DONE"}}'], "2")
        self.assertEqual(values[f'omniva_task_duration_seconds_count{{{m},status="ERROR"}}'], "1")
        self.assertEqual(values[f'omniva_task_duration_seconds_bucket{{{m},status="DONE",le="+Inf"}}'], "2")
        self.assertEqual(values[f'omniva_task_queue_wait_seconds_count{{{m}}}'], "3")
        self.assertGreater(float(values[f'omniva_task_run_seconds_sum{{{m}}}']), 0)
        # Buckets are cumulative.
        buckets = [int(v) for k, v in values.items()
                   if k.startswith(f"omniva_task_run_seconds_bucket{{{m},")]
        self.assertEqual(buckets, sorted(buckets))
        self.finish()


if __name__ == "__main__":
    node_harness.main()
