#!/usr/bin/env python3
"""Webhooks through a real node, against a receiver on 127.0.0.1.

Usage: node_webhooks_test.py OMNIVA_BINARY REPO_DIR

- A webhook gets the committed events of the kinds it asks for and no
  other, in commit order, each signed (X-Omniva-Signature: HMAC-SHA256 of
  the body with its secret, made by the node or read from --secret-file),
  named (X-Omniva-Event) and numbered (X-Omniva-Delivery: <id>/<seq>).
- A receiver answering 500, or closing the connection, gets the same event
  again with backoff, never a later one first, until it answers 2xx; the
  failures show in `webhook list` and GET /api/webhooks/{id}, and go back to
  0 once delivered.
- Events committed while the receiver is down reach it, in order, once it is
  back; a node restarted while deliveries are pending resumes them (no
  loss), and what was delivered before the restart is not sent again.
- `webhook rm` stops deliveries and deletes the secret and state files; the
  lineage says who created and removed it, never the secret.
- A bad URL, an unknown event kind, a short secret: refused with their code
  and JSON pointer, nothing created; the webhooks' files are the node's
  secrets (refused as assets); a viewer or operator token gets 403.

The receiver is Python's http.server in a thread, recording each request's
body and header fields, with a switch to answer 500 or close the
connection, and a way to go down and come back on the same port.
"""

import hashlib
import hmac
import http.server
import json
import os
import socket
import stat
import threading
import uuid

import node_harness
from node_harness import *  # noqa: F401,F403 (the fixtures and NodeTestCase)

# Short pauses between tries: a failed delivery is tried again within 0.2 s.
FAST_RETRIES = ["--webhook-retry-initial-ms", "50", "--webhook-retry-max-ms", "200",
                "--webhook-timeout-ms", "5000"]


class Receiver:
    """An HTTP receiver on 127.0.0.1: records every POST; `mode` says how it
    answers ("ok": 200, "500": 500, "close": closes without an answer)."""

    def __init__(self, port=0):
        self.mode = "ok"
        self.requests = []  # dicts: headers (lowercase names), body, answered
        self.lock = threading.Lock()
        self.conns = set()
        self.server = None
        self.port = port
        self.start()

    def start(self):
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self):
                super().setup()
                with receiver.lock:
                    receiver.conns.add(self.connection)

            def finish(self):
                with receiver.lock:
                    receiver.conns.discard(self.connection)
                super().finish()

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                mode = receiver.mode
                with receiver.lock:
                    receiver.requests.append({
                        "path": self.path,
                        "headers": {k.lower(): v for k, v in self.headers.items()},
                        "body": body,
                        "answered": mode,
                    })
                if mode == "close":
                    self.close_connection = True
                    return
                status = 200 if mode == "ok" else 500
                reply = b"{}"
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        """Goes down: stops listening and drops every open connection."""
        self.server.shutdown()
        self.server.server_close()
        with self.lock:
            conns = list(self.conns)
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}/hooks/omniva?from=test"

    def seen(self, webhook_id=None):
        with self.lock:
            out = list(self.requests)
        if webhook_id is None:
            return out
        return [r for r in out if r["headers"].get("x-omniva-delivery", "")
                .startswith(webhook_id + "/")]

    def accepted(self, webhook_id):
        """The bodies the receiver answered 200, deduplicated on
        X-Omniva-Delivery, in the order first received."""
        out, ids = [], set()
        for r in self.seen(webhook_id):
            if r["answered"] != "ok":
                continue
            key = r["headers"]["x-omniva-delivery"]
            if key not in ids:
                ids.add(key)
                out.append(json.loads(r["body"]))
        return out


class WebhookTestCase(NodeTestCase):
    node_args = FAST_RETRIES

    def setUp(self):
        super().setUp()
        self.receiver = Receiver()
        self.addCleanup(self.receiver.stop)

    def create(self, events, url=None, secret=None):
        """Creates a webhook over HTTP; returns the answer (with `secret`)."""
        body = {"url": url or self.receiver.url, "events": events}
        if secret is not None:
            body["secret"] = secret
        status, doc, _ = self.http("POST", "/api/webhooks", body)
        self.assertEqual(status, 201, doc)
        if secret is not None:
            self.assertNotIn("secret", doc)
            doc["secret"] = secret
        return doc

    def add_values(self, n):
        ids = []
        for i in range(n):
            status, doc, _ = self.http("POST", "/api/assets/value",
                                       {"value": i, "dtype": "int"})
            self.assertEqual(status, 201, doc)
            ids.append(doc["asset_id"])
        return ids

    def wait_accepted(self, webhook_id, n, timeout=20):
        return wait_until(lambda: (lambda a: a if len(a) >= n else None)(
            self.receiver.accepted(webhook_id)), timeout,
            f"{n} deliveries to webhook {webhook_id}")

    def delivery(self, webhook_id):
        return self.get_ok(f"/api/webhooks/{webhook_id}")["delivery"]

    def check_signed(self, request, secret):
        want = "sha256=" + hmac.new(secret.encode(), request["body"],
                                    hashlib.sha256).hexdigest()
        self.assertTrue(hmac.compare_digest(request["headers"]["x-omniva-signature"],
                                            want), request["headers"])

    def seqs_of(self, bodies):
        return [b["seq"] for b in bodies]


class DeliveryTest(WebhookTestCase):
    def test_only_the_subscribed_kinds_arrive_in_commit_order_signed(self):
        # One webhook from the CLI with a node-made secret (shown once), one
        # over HTTP with a secret of the caller's from --secret-file.
        r = self.cli_ok("webhook", "create", self.receiver.url,
                        "--events", "task.failed,task.succeeded")
        lines = r.stdout.splitlines()
        tasks_hook = lines[0].strip()
        self.assertRegex(tasks_hook, UUID)
        self.assertTrue(lines[1].startswith("secret "), r.stdout)
        tasks_secret = lines[1].split()[1]
        self.assertRegex(tasks_secret, SHA256)
        secret_file = os.path.join(self.tmp, "hook.secret")
        with open(secret_file, "w", encoding="utf-8") as f:
            f.write("a secret the operator chose, 37 bytes\n")
        doc = self.cli_json("webhook", "create", self.receiver.url,
                            "--events", "asset.registered", "--secret-file", secret_file)
        assets_hook = doc["id"]
        self.assertNotIn("secret", doc)
        self.assertEqual(doc["events"], ["asset.registered"])
        self.assertEqual(doc["url"], self.receiver.url)

        ok = self.submit("fail-on-request@1", values={"mode": "ok"})
        self.wait_finished(ok["task_id"])
        failing = self.submit("fail-on-request@1", values={"mode": "exit"})
        self.wait_finished(failing["task_id"])
        values = self.add_values(3)

        got = self.wait_accepted(tasks_hook, 2)
        self.assertEqual([(b["kind"], b["subject"]) for b in got],
                         [("task.succeeded", ok["task_id"]),
                          ("task.failed", failing["task_id"])])
        got = self.wait_accepted(assets_hook, 3)
        self.assertEqual([(b["kind"], b["subject"]) for b in got],
                         [("asset.registered", v) for v in values])
        for hook, secret in ((tasks_hook, tasks_secret),
                             (assets_hook, "a secret the operator chose, 37 bytes")):
            requests = self.receiver.seen(hook)
            bodies = [json.loads(r["body"]) for r in requests]
            seqs = self.seqs_of(bodies)
            self.assertEqual(seqs, sorted(set(seqs)), "commit order, each once")
            for req, body in zip(requests, bodies):
                self.check_signed(req, secret)
                h = req["headers"]
                self.assertEqual(req["path"], "/hooks/omniva?from=test")
                self.assertEqual(h["content-type"], "application/json")
                self.assertEqual(h["x-omniva-event"], body["kind"])
                self.assertEqual(h["x-omniva-delivery"], f"{hook}/{body['seq']}")
                self.assertEqual(body["webhook"], hook)
                self.assertRegex(body["id"], SHA256)
                self.assertRegex(body["trace_id"], UUID)
                self.assertIn(body["subject"], body["subjects"])
                self.assertNotIn("_rows", body["payload"])
                self.assertEqual(set(body), {"webhook", "seq", "id", "kind", "subject",
                                             "subjects", "at", "trace_id", "payload"})
        # The task events are the ones the log holds.
        for body in self.receiver.accepted(tasks_hook):
            packet = [p for p in self.history(body["subject"]) if p["id"] == body["id"]]
            self.assertEqual(len(packet), 1, body)
            self.assertEqual(packet[0]["kind"], body["kind"])
        failed = self.receiver.accepted(tasks_hook)[1]
        self.assertEqual(failed["payload"]["code"], "exit_code", failed)

        # Caught up: no failures, nothing left after the cursor.
        wait_until(lambda: all(w["delivery"]["lag"] == 0
                               for w in self.items("/api/webhooks")),
                   10, "both webhooks to catch up")
        hooks = self.items("/api/webhooks")
        self.assertEqual([w["id"] for w in hooks], [tasks_hook, assets_hook])
        for w in hooks:
            self.assertEqual(w["delivery"]["failures"], 0)
            self.assertIsNone(w["delivery"]["last_error"])
            self.assertEqual(w["delivery"]["last_status"], 200)
        self.finish()


class RetryTest(WebhookTestCase):
    def test_a_failing_receiver_gets_the_same_event_until_it_answers_2xx(self):
        self.receiver.mode = "500"
        hook = self.create(["asset.registered"])
        first, second = self.add_values(2)
        wait_until(lambda: len(self.receiver.seen(hook["id"])) >= 3, 20,
                   "three tries of the first event")
        # Never ahead of the event that fails.
        keys = {r["headers"]["x-omniva-delivery"] for r in self.receiver.seen(hook["id"])}
        self.assertEqual(len(keys), 1, keys)
        d = wait_until(lambda: (lambda d: d if d["failures"] >= 2 else None)(
            self.delivery(hook["id"])), 10, "two failures in the state")
        self.assertEqual(d["last_error"], "HTTP 500")
        self.assertEqual(d["last_status"], 500)
        self.assertIsNotNone(d["next_attempt_at"])
        self.assertGreaterEqual(d["lag"], 2)
        # The list shows the failures and the last error.
        table = self.cli_ok("webhook", "list").stdout.splitlines()
        self.assertEqual(table[0].split(), ["id", "url", "events", "delivered", "lag",
                                            "failures", "last_error"])
        row = next(line for line in table if line.startswith(hook["id"]))
        self.assertIn("HTTP 500", row)

        # A receiver that closes the connection without an answer.
        self.receiver.mode = "close"
        before = len(self.receiver.seen(hook["id"]))
        wait_until(lambda: len(self.receiver.seen(hook["id"])) >= before + 2, 20,
                   "two tries on a closing receiver")
        d = wait_until(lambda: (lambda d: d if d["last_error"] != "HTTP 500" else None)(
            self.delivery(hook["id"])), 10, "the closed connection in the state")
        self.assertIsNone(d["last_status"], d)

        self.receiver.mode = "ok"
        got = self.wait_accepted(hook["id"], 2)
        self.assertEqual([b["subject"] for b in got], [first, second])
        # Only the failed tries were repeated: each event answered 200 once.
        answered = [r["headers"]["x-omniva-delivery"]
                    for r in self.receiver.seen(hook["id"]) if r["answered"] == "ok"]
        self.assertEqual(len(answered), len(set(answered)), answered)
        d = wait_until(lambda: (lambda d: d if d["delivered_seq"] == got[-1]["seq"] else None)(
            self.delivery(hook["id"])), 10, "the cursor past the second event")
        self.assertEqual(d["failures"], 0)
        self.assertIsNone(d["last_error"])
        self.assertIn("webhook.failed", self.node.log())
        self.finish()

    def test_events_while_the_receiver_is_down_arrive_in_order_when_it_is_back(self):
        hook = self.create(["asset.*"])
        early = self.add_values(1)
        self.wait_accepted(hook["id"], 1)
        self.receiver.stop()
        later = self.add_values(5)
        d = wait_until(lambda: (lambda d: d if d["failures"] >= 1 else None)(
            self.delivery(hook["id"])), 20, "a failed try while the receiver is down")
        self.assertIn("127.0.0.1", d["last_error"])
        self.receiver.start()  # the same port
        got = self.wait_accepted(hook["id"], 6)
        self.assertEqual([b["subject"] for b in got], early + later)
        self.assertEqual(self.seqs_of(got), sorted(self.seqs_of(got)))
        self.finish()


class RestartTest(WebhookTestCase):
    def test_a_restart_resumes_pending_deliveries_and_repeats_none(self):
        self.receiver.mode = "500"
        hook = self.create(["asset.registered"])
        values = self.add_values(3)
        wait_until(lambda: self.delivery(hook["id"])["failures"] >= 1, 20,
                   "a failed try before the restart")
        self.assertEqual(self.node.stop(), 0)
        self.node.start()
        # The state survived: the failures go on counting from where they were.
        d = wait_until(lambda: (lambda d: d if d["failures"] >= 2 else None)(
            self.delivery(hook["id"])), 20, "failures after the restart")
        self.assertEqual(d["last_error"], "HTTP 500")
        self.receiver.mode = "ok"
        got = self.wait_accepted(hook["id"], 3)
        self.assertEqual([b["subject"] for b in got], values)

        # Delivered before a restart: not sent again after it.
        wait_until(lambda: self.delivery(hook["id"])["lag"] == 0, 10, "catching up")
        answered_before = len([r for r in self.receiver.seen(hook["id"])
                               if r["answered"] == "ok"])
        self.assertEqual(self.node.stop(), 0)
        self.node.start()
        more = self.add_values(1)
        got = self.wait_accepted(hook["id"], 4)
        self.assertEqual([b["subject"] for b in got], values + more)
        answered = [r for r in self.receiver.seen(hook["id"]) if r["answered"] == "ok"]
        self.assertEqual(len(answered), answered_before + 1)
        self.finish()


class RemoveTest(WebhookTestCase):
    def test_rm_stops_deliveries_and_deletes_its_files(self):
        hook = self.create(["asset.registered"])
        witness = self.create(["asset.registered"])
        folder = os.path.join(self.node.data, "webhooks")
        secret_path = os.path.join(folder, hook["id"] + ".secret")
        state_path = os.path.join(folder, hook["id"] + ".state")
        with open(secret_path, encoding="utf-8") as f:
            self.assertEqual(f.read(), hook["secret"])
        self.assertEqual(stat.S_IMODE(os.stat(secret_path).st_mode), 0o600)
        self.add_values(1)
        self.wait_accepted(hook["id"], 1)
        self.assertTrue(os.path.exists(state_path))
        with open(state_path, encoding="utf-8") as f:
            state = json.load(f)
        self.assertEqual(state["failures"], 0)

        r = self.cli_ok("webhook", "rm", hook["id"])
        self.assertEqual(r.stdout.strip(), hook["id"])
        wait_until(lambda: not os.path.exists(secret_path)
                   and not os.path.exists(state_path), 10, "the files to go")
        last = self.add_values(1)
        # The witness (another webhook) got the new event; the removed one
        # got nothing more.
        got = self.wait_accepted(witness["id"], 2)
        self.assertEqual(got[-1]["subject"], last[0])
        self.assertEqual(len(self.receiver.seen(hook["id"])), 1)
        self.assertFalse(os.path.exists(secret_path) or os.path.exists(state_path))
        self.assertEqual([w["id"] for w in self.items("/api/webhooks")], [witness["id"]])
        status, doc = self.get(f"/api/webhooks/{hook['id']}")
        self.assertEqual(status, 404)
        self.assertEqual(doc["error"]["code"], "not_found")
        r = self.cli("webhook", "rm", hook["id"])
        self.assertEqual(r.returncode, 1)
        self.assertIn("not_found", r.stderr)

        # The lineage says who made and removed it, never the secret.
        history = self.history(hook["id"])
        self.assertEqual([p["kind"] for p in history], ["webhook.created", "webhook.removed"])
        for p in history:
            self.assertEqual(p["payload"]["url"], self.receiver.url)
            self.assertEqual(p["payload"]["events"], ["asset.registered"])
            self.assertIn("operator", p["payload"])
            self.assertNotIn(hook["secret"], json.dumps(p))
        self.finish()


class RefusalTest(WebhookTestCase):
    def refused(self, body, code, pointer, status=400):
        got, doc, _ = self.http("POST", "/api/webhooks", body)
        self.assertEqual(got, status, doc)
        self.assertEqual((doc["error"]["code"], doc["error"]["pointer"]), (code, pointer), doc)
        self.assertIn({"code": code, "pointer": pointer, "message": doc["error"]["message"]},
                      doc["errors"])
        return doc

    def test_bad_urls_unknown_kinds_and_short_secrets_are_refused(self):
        doc = self.refused({"url": "https://127.0.0.1/x", "events": ["task.failed"]},
                           "invalid_argument", "/url")
        self.assertIn("http://", doc["error"]["message"])
        self.refused({"url": "http:///x", "events": ["task.failed"]},
                     "invalid_argument", "/url")
        self.refused({"url": "mailto:x@y", "events": ["task.failed"]},
                     "invalid_argument", "/url")
        doc = self.refused({"url": self.receiver.url, "events": ["task.failed", "run.done"]},
                           "invalid_argument", "/events/1")
        self.assertIn("task.succeeded", doc["error"]["message"])
        self.refused({"url": self.receiver.url, "events": []}, "missing_field", "/events")
        self.refused({"url": self.receiver.url}, "missing_field", "/events")
        self.refused({"url": self.receiver.url, "events": ["task.*"], "secret": "short"},
                     "invalid_argument", "/secret")
        doc = self.refused({"url": "ftp://x", "events": ["nope"], "colour": 1},
                           "unknown_field", "/colour")
        self.assertEqual([(e["code"], e["pointer"]) for e in doc["errors"]],
                         [("unknown_field", "/colour"), ("invalid_argument", "/url"),
                          ("invalid_argument", "/events/0")])
        status, doc, _ = self.http("POST", "/api/webhooks", b"{not json")
        self.assertEqual((status, doc["error"]["code"]), (400, "invalid_json"))

        r = self.cli("webhook", "create", "https://example.com/hook", "--events", "task.failed")
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("invalid_argument /url", r.stderr)
        r = self.cli("webhook", "create", self.receiver.url, "--events", "task.failed,bogus.kind")
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("invalid_argument /events/1", r.stderr)
        r = self.cli("webhook", "create", self.receiver.url, "--events", "task.failed",
                     "--secret-file", os.path.join(self.tmp, "missing"))
        self.assertEqual(r.returncode, 1)
        self.assertIn("cannot read", r.stderr)

        # Nothing was created, no file left; the node goes on.
        self.assertEqual(self.items("/api/webhooks"), [])
        folder = os.path.join(self.node.data, "webhooks")
        self.assertEqual(os.listdir(folder) if os.path.isdir(folder) else [], [])
        for method in ("GET", "DELETE"):
            status, doc, _ = self.http(method, f"/api/webhooks/{uuid.uuid4()}")
            self.assertEqual((status, doc["error"]["code"]), (404, "not_found"))
        status, doc, _ = self.http("DELETE", "/api/webhooks/%ff%fe")
        self.assertEqual(status, 404)
        self.assertEqual(self.get_ok("/api/health")["ok"], True)
        self.finish()

    def test_the_webhook_files_are_node_secrets(self):
        hook = self.create(["task.failed"])
        secret_path = os.path.join(self.node.data, "webhooks", hook["id"] + ".secret")
        status, doc, _ = self.http("POST", "/api/assets/path",
                                   {"path": secret_path, "media_type": "text/plain"})
        self.assertEqual(status, 403, doc)
        self.assertEqual(doc["error"]["code"], "path_not_allowed")
        self.finish()

    def test_only_admin_tokens_manage_webhooks(self):
        r = self.cli("token", "create", "viewer-1", "--role", "viewer", "--json")
        if r.returncode != 0 and "unknown" in (r.stdout + r.stderr).lower():
            self.skipTest("named tokens are not in this build")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        doc = json.loads(r.stdout)
        viewer = doc.get("token") or doc.get("secret")
        r = self.cli_ok("token", "create", "operator-1", "--role", "operator", "--json")
        doc = json.loads(r.stdout)
        operator = doc.get("token") or doc.get("secret")
        hook = self.create(["task.failed"])
        for token in (viewer, operator):
            for method, path, body in (("POST", "/api/webhooks",
                                        {"url": self.receiver.url, "events": ["task.failed"]}),
                                       ("GET", "/api/webhooks", None),
                                       ("GET", f"/api/webhooks/{hook['id']}", None),
                                       ("DELETE", f"/api/webhooks/{hook['id']}", None)):
                status, doc, _ = self.http(method, path, body, token=token)
                self.assertEqual(status, 403, (method, path, doc))
                self.assertEqual(doc["error"]["code"], "forbidden")
        self.assertEqual([w["id"] for w in self.items("/api/webhooks")], [hook["id"]])
        self.finish()


if __name__ == "__main__":
    node_harness.main()
