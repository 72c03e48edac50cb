#!/usr/bin/env python3
"""Integration tests of a node: `omniva serve` driven through its CLI and HTTP API.

Usage: node_integration_test.py OMNIVA_BINARY REPO_DIR

The harness (a node per case, HTTP and CLI helpers) is tests/node_harness.py.
"""

import glob
import json
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import time
import unittest
import urllib.parse

import node_harness
from node_harness import *  # noqa: F401,F403 (the fixtures and NodeTestCase)

class PipelineTest(NodeTestCase):
    node_args = ONE_WORKER

    def test_three_step_pipeline_through_pending_assets(self):
        text = "Omniva integration test.\nThree steps, one upload.\n"
        path = self.write("interview.txt", text)
        uploaded = self.cli_json("asset", "add", path, "--media-type", "text/plain")
        source = uploaded["asset_id"]
        self.assertRegex(source, UUID)
        self.assertEqual(uploaded["status"], "AVAILABLE")
        self.assertEqual(uploaded["sha256"], hashlib.sha256(text.encode()).hexdigest())
        self.assertEqual(uploaded["size"], len(text.encode()))

        # Keep the only worker busy (2 x 1 s; slow@1's timeout is 2 s) so that
        # every step is submitted on PENDING assets.
        blockers = [self.cli_json("task", "create", "slow@1", "--value", "seconds=1")
                    for _ in range(2)]
        probe = self.cli_json("task", "create", "media-probe@1", "--input",
                              f"source={source}")
        # Its input is AVAILABLE: READY once Paradox cleared it (PENDING until
        # then), queued behind the blockers.
        self.assertIn(probe["status"], ("PENDING", "READY"))
        self.wait_status(probe["task_id"], ("READY",))
        metadata = probe["outputs"]["metadata"]
        self.assertEqual(self.asset(metadata)["status"], "PENDING")
        summary_task = self.cli_json("task", "create", "summarize@1", "--input",
                                     f"metadata={metadata}", "--value", "style=detailed")
        self.assertEqual(summary_task["status"], "PENDING")
        summary = summary_task["outputs"]["summary"]
        self.assertEqual(self.asset(summary)["status"], "PENDING")
        # media-probe accepts text/plain: probe the summary.
        reprobe = self.cli_json("task", "create", "media-probe@1", "--input",
                                f"source={summary}")
        self.assertEqual(reprobe["status"], "PENDING")
        final = reprobe["outputs"]["metadata"]

        for t in blockers + [probe, summary_task, reprobe]:
            r = self.cli("task", "wait", t["task_id"], "--timeout", "30")
            self.assertEqual(r.returncode, 0, f"{t['module_ref']}: {r.stdout}{r.stderr}")
            self.assertEqual(r.stdout.strip(), "DONE")

        for asset_id in (metadata, summary, final):
            a = self.cli_json("asset", "show", asset_id)
            self.assertEqual(a["status"], "AVAILABLE", a)
            self.assertRegex(a["sha256"], SHA256)
            self.assertEqual(a["sha256"], sha256_of(a["uri"]), "sha256 of the file")
            self.assertGreater(a["size"], 0)
        self.assertTrue(self.asset(summary)["media_type"].startswith("text/plain"))
        with open(self.asset(final)["uri"], encoding="utf-8") as f:
            self.assertEqual(json.load(f)["container"], "text")
        with open(self.asset(summary)["uri"], encoding="utf-8") as f:
            self.assertIn("text: 2 line(s), 7 word(s)", f.read())

        # Lineage: from the last task back to the upload.
        r = self.cli_ok("lineage", "show", reprobe["task_id"], "--data", self.node.data,
                        "--up", "--depth", "20", "--json", node=False)
        doc = json.loads(r.stdout)
        packets = doc["history"] + doc["ancestors"]
        registered = [p for p in doc["ancestors"] if p["kind"] == "asset.registered"
                      and source in p["subjects"]]
        self.assertEqual(len(registered), 1, "the upload's packet is an ancestor")
        created = {t["task_id"] for t in (probe, summary_task, reprobe)
                   if any(p["kind"] == "task.created" and t["task_id"] in p["subjects"]
                          for p in packets)}
        self.assertEqual(created, {probe["task_id"], summary_task["task_id"],
                                   reprobe["task_id"]})
        subjects = {s for p in packets for s in p["subjects"]}
        for blocker in blockers:
            self.assertNotIn(blocker["task_id"], subjects, "unrelated tasks are not ancestors")
        self.finish()


class RejectionTest(NodeTestCase):
    def test_rejected_task_lists_every_error(self):
        value = self.cli_ok("asset", "value", "7", "--dtype", "int").stdout.strip()
        cases = [
            (5, ("out_of_range", "/values/sample_rate")),
            ("fast", ("dtype_mismatch", "/values/sample_rate")),
        ]
        for sample_rate, value_error in cases:
            with self.subTest(sample_rate=sample_rate):
                status, doc, _ = self.http("POST", "/api/tasks", {
                    "module_ref": "media-probe@1",
                    "input_mapping": {"bogus": value},
                    "values": {"sample_rate": sample_rate}})
                self.assertEqual(status, 422, doc)
                got = {(e["code"], e["pointer"]) for e in doc["errors"]}
                self.assertEqual(got, {("unknown_input", "/input_mapping/bogus"),
                                       ("missing_input", "/input_mapping/source"),
                                       value_error})
                for e in doc["errors"]:
                    self.assertTrue(e["message"], e)

        r = self.cli("task", "create", "media-probe@1", "--input", f"bogus={value}",
                     "--value", "sample_rate=5")
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertEqual(r.stdout, "")
        self.assertIn("3 error(s)", r.stderr)
        for code, pointer in (("unknown_input", "/input_mapping/bogus"),
                              ("missing_input", "/input_mapping/source"),
                              ("out_of_range", "/values/sample_rate")):
            self.assertRegex(r.stderr, rf"{code} {re.escape(pointer)}: ")

        self.assertEqual(self.items("/api/tasks"), [], "nothing was created")
        self.finish()


class AssetInUseTest(NodeTestCase):
    node_args = ONE_WORKER

    def test_deleting_an_asset_in_use_is_refused_until_its_task_finished(self):
        self.register_talker()
        gate = os.path.join(self.tmp, "gate")
        status, doc, _ = self.http("POST", "/api/assets/value",
                                   {"value": gate, "dtype": "string"})
        self.assertEqual(status, 201, doc)
        gate_value = doc["asset_id"]
        sample = self.cli_ok("asset", "add", self.write("a.txt", "in use\n"),
                             "--media-type", "text/plain").stdout.strip()
        # The only worker runs a talker that waits for the gate file: until
        # the test creates it, `gate_value` is held by that RUNNING task and
        # by a second talker READY behind it, `sample` by a READY probe.
        running = self.submit("talker@1", {"gate": gate_value})
        self.wait_status(running["task_id"], ("RUNNING",), timeout=20)
        second = self.submit("talker@1", {"gate": gate_value})
        queued = self.submit("media-probe@1", {"source": sample})
        # PENDING until Paradox cleared them, then READY behind the busy worker.
        self.wait_status(second["task_id"], ("READY",))
        self.wait_status(queued["task_id"], ("READY",))
        self.assertEqual(self.task(running["task_id"])["status"], "RUNNING")
        self.assertEqual(self.asset(gate_value)["holds"],
                         [running["task_id"], second["task_id"]])

        held = [(gate_value, second), (sample, queued),
                (second["outputs"]["done"], second)]  # a PENDING promise
        for asset_id, holder in held:
            with self.subTest(asset=asset_id):
                r = self.cli("asset", "rm", asset_id)
                self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
                self.assertIn("asset_in_use", r.stderr)
                self.assertIn(holder["task_id"], r.stderr)
                status, doc, _ = self.http("DELETE", f"/api/assets/{asset_id}")
                self.assertEqual(status, 409, doc)
                self.assertEqual(doc["error"]["code"], "asset_in_use")
                self.assertIn(holder["task_id"], doc["error"]["message"])
                self.assertEqual(self.asset(asset_id)["asset_id"], asset_id)
        # The deletes were refused while the holding task still ran.
        self.assertEqual(self.task(running["task_id"])["status"], "RUNNING")

        with open(gate, "w"):
            pass
        for t in (running, second, queued):
            self.assertEqual(self.wait_finished(t["task_id"], timeout=60)["status"], "DONE")
        self.assertEqual(self.asset(gate_value).get("holds", []), [], "holds released")
        r = self.cli_ok("asset", "rm", gate_value)
        self.assertEqual(r.stdout.strip(), gate_value)
        status, doc, _ = self.http("DELETE", f"/api/assets/{sample}")
        self.assertEqual(status, 200, doc)
        self.assertEqual(doc, {"deleted": sample})
        for asset_id in (gate_value, sample):
            status, doc = self.get(f"/api/assets/{asset_id}")
            self.assertEqual(status, 404, doc)
            self.assertEqual(doc["error"]["code"], "not_found")
        status, doc, _ = self.http("DELETE", f"/api/assets/{sample}")
        self.assertEqual(status, 404, doc)
        self.finish()


class FailureTest(NodeTestCase):
    node_args = ONE_WORKER

    def test_timeout_crash_and_exit_fail_tasks_and_their_dependants(self):
        # slow@1's contract allows 2 s; it occupies the only worker meanwhile,
        # so the crash's output is still PENDING when dependants are submitted.
        timeout = self.submit("slow@1", values={"seconds": 30, "children": 2})
        crash = self.submit("fail-on-request@1", values={"mode": "crash"})
        report = crash["outputs"]["report"]
        dependant = self.submit("summarize@1", {"metadata": report})
        self.assertEqual(dependant["status"], "PENDING")
        second = self.submit("media-probe@1", {"source": dependant["outputs"]["summary"]})
        self.assertEqual(second["status"], "PENDING")
        exit3 = self.submit("fail-on-request@1", values={"mode": "exit"})
        no_manifest = self.submit("fail-on-request@1", values={"mode": "no_manifest"})

        expected = [(timeout, "timeout"), (crash, "signal"), (exit3, "exit_code"),
                    (no_manifest, "missing_manifest"), (dependant, "upstream_failed"),
                    (second, "upstream_failed")]
        for t, code in expected:
            with self.subTest(module=t["module_ref"], code=code):
                r = self.cli("task", "wait", t["task_id"], "--timeout", "30", "--json")
                self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
                done = json.loads(r.stdout)
                self.assertEqual(done["status"], "ERROR")
                self.assertEqual(done["error"]["code"], code, done["error"])
                self.assertTrue(done["error"]["message"])
                for asset_id in done["outputs"].values():
                    self.assertEqual(self.asset(asset_id)["status"], "FAILED")
        self.assertIn(crash["task_id"], self.task(dependant["task_id"])["error"]["message"])
        # Eclipse retried the transient failures (timeout, signal) up to
        # default@1's 3 attempts, each after its pause (task.ready: the
        # backoff is over); the deterministic ones failed at once.
        for t, code, attempts in ((timeout, "timeout", 3), (crash, "signal", 3),
                                  (exit3, "exit_code", 1),
                                  (no_manifest, "missing_manifest", 1)):
            with self.subTest(attempts_of=code):
                row = self.task(t["task_id"])
                self.assertEqual(row["attempt"], attempts, row)
                kinds = task_kinds(self.history(t["task_id"]))
                self.assertEqual(kinds,
                                 ["task.created"]
                                 + ["task.dispatched", "task.attempt_failed",
                                    "task.requeued", "task.ready"] * (attempts - 1)
                                 + ["task.dispatched", "task.attempt_failed",
                                    "task.failed"])
        r = self.cli("task", "wait", timeout["task_id"])
        self.assertEqual(r.returncode, 1)
        self.assertTrue(r.stdout.startswith("ERROR timeout: "), r.stdout)
        # The timeout killed the module's whole process group.
        with open(os.path.join(self.node.data, "outputs", timeout["task_id"], "1",
                               "pids.txt"), encoding="utf-8") as f:
            pids = [int(x) for x in f.read().split()]
        self.assertEqual(len(pids), 3)
        wait_until(lambda: not any(map(process_alive, pids)), 5,
                   f"the processes {pids} of the timed-out module to end")

        # The node is unharmed: it answers and runs a good task.
        status, doc = self.get("/api/health", token=None)
        self.assertEqual((status, doc), (200, {"ok": True}))
        good = self.submit("fail-on-request@1", values={"mode": "ok"})
        self.assertEqual(self.wait_finished(good["task_id"])["status"], "DONE")
        self.assertEqual(self.asset(good["outputs"]["report"])["status"], "AVAILABLE")
        # No hold outlives its task.
        for a in self.items("/api/assets"):
            self.assertEqual(a.get("holds", []), [], a)
        self.finish()


class AllowedRootsTest(NodeTestCase):
    def test_paths_outside_the_allowed_roots_are_refused(self):
        r = self.cli("asset", "add", "/etc/passwd", "--server-path")
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("path_not_allowed", r.stderr)
        escapes = ["/etc/passwd",
                   os.path.join(self.tmp, "..", "..", "..", "..", "etc", "passwd")]
        link = os.path.join(self.tmp, "link.txt")
        os.symlink("/etc/passwd", link)
        escapes.append(link)
        for path in escapes:
            with self.subTest(path=path):
                status, doc, _ = self.http("POST", "/api/assets/path", {"path": path})
                self.assertEqual(status, 403, doc)
                self.assertEqual(doc["error"]["code"], "path_not_allowed")
                self.assertEqual(doc["error"]["pointer"], "/path")
        r = self.cli("asset", "add", link, "--server-path")
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("path_not_allowed", r.stderr)
        self.assertEqual(self.items("/api/assets"), [], "nothing was registered")

        # A file inside the node's working directory (an allowed root) works.
        inside = self.write("inside.txt", "inside\n")
        added = self.cli_json("asset", "add", inside, "--server-path",
                              "--media-type", "text/plain")
        self.assertEqual(added["status"], "AVAILABLE")
        self.assertEqual(added["sha256"], sha256_of(inside))
        self.finish()


class TokenTest(NodeTestCase):
    def test_requests_without_the_right_token_are_unauthorized(self):
        for token in (None, "wrong", self.node.token + "x", ""):
            with self.subTest(token=token):
                status, doc = self.get("/api/tasks", token=token)
                self.assertEqual(status, 401, doc)
                self.assertEqual(doc["error"]["code"], "unauthorized")
        status, doc, headers = self.http("POST", "/api/tasks", {
            "module_ref": "fail-on-request@1", "input_mapping": {}}, token="wrong")
        self.assertEqual(status, 401, doc)
        self.assertEqual(headers.get("WWW-Authenticate"), "Bearer")
        status, doc, _ = self.http("POST", "/api/assets/value",
                                   {"value": 1, "dtype": "int"}, token=None)
        self.assertEqual(status, 401, doc)

        r = self.cli("task", "list", "--token", "wrong")
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("unauthorized", r.stderr)
        r = self.cli("asset", "value", "1", "--dtype", "int", "--token", "wrong")
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("unauthorized", r.stderr)

        # Nothing happened; the right token works; health needs none.
        self.assertEqual(self.items("/api/tasks"), [])
        self.assertEqual(self.items("/api/assets"), [])
        self.assertEqual(json.loads(self.cli_ok("task", "list", "--json").stdout),
                         {"items": [], "next_cursor": None})
        self.assertEqual(self.get("/api/health", token=None), (200, {"ok": True}))
        self.finish()


class RestartTest(NodeTestCase):
    node_args = ONE_WORKER

    def test_sigkill_mid_pipeline_then_restart_completes_everything_once(self):
        self.register_relay()
        slow = self.submit("slow@1", values={"seconds": 1})
        relay = self.submit("json-relay@1", {"source": slow["outputs"]["result"]})
        relay2 = self.submit("json-relay@1", {"source": relay["outputs"]["copy"]})
        other = self.submit("fail-on-request@1", values={"mode": "ok"})
        tasks = [slow, relay, relay2, other]
        # slow and other are PENDING until Paradox clears them, then READY;
        # the relays wait for their inputs.
        for t, first in zip(tasks, [("PENDING", "READY"), ("PENDING",), ("PENDING",),
                                    ("PENDING", "READY")]):
            self.assertIn(t["status"], first, t["module_ref"])
        self.wait_status(slow["task_id"], ("RUNNING",), timeout=10)
        self.wait_status(other["task_id"], ("READY",))
        self.assertEqual([self.task(t["task_id"])["status"] for t in (relay, relay2)],
                         ["PENDING", "PENDING"])
        self.node.kill()  # SIGKILL, mid-run
        self.assertEqual(self.node.proc.returncode, -signal.SIGKILL)
        promised = {a for t in tasks for a in t["outputs"].values()}
        self.assertEqual(len(promised), 4, "one promised output per task")

        self.node.start()
        recovered = self.task(slow["task_id"])
        self.assertEqual(recovered["attempt"], 2, recovered)

        for t in tasks:
            done = self.wait_finished(t["task_id"], timeout=30)
            self.assertEqual(done["status"], "DONE", done)
            self.assertEqual(done["outputs"], t["outputs"], "the promises are kept")
        assets_after = self.items("/api/assets")
        self.assertEqual(len(assets_after), len(promised), "no output asset was duplicated")
        self.assertEqual({a["asset_id"] for a in assets_after}, promised)
        for a in assets_after:
            self.assertEqual(a["status"], "AVAILABLE", a)

        # The interrupted task ran again as attempt 2; the others ran once.
        done = {t["task_id"]: self.task(t["task_id"]) for t in tasks}
        self.assertEqual(done[slow["task_id"]]["attempt"], 2)
        for t in (relay, relay2, other):
            self.assertEqual(done[t["task_id"]]["attempt"], 1)
        for t in tasks:
            history = self.history(t["task_id"])
            kinds = [p["kind"] for p in history]
            with self.subTest(task=t["module_ref"]):
                self.assertEqual(kinds.count("task.succeeded"), 1, kinds)
                self.assertEqual(kinds.count("task.created"), 1, kinds)
                self.assertNotIn("task.failed", kinds)
        slow_history = self.history(slow["task_id"])
        requeued = [p for p in slow_history if p["kind"] == "task.requeued"]
        self.assertEqual(len(requeued), 1)
        self.assertEqual(requeued[0]["payload"]["attempt"], 2)
        dispatched = [p["payload"]["attempt"] for p in slow_history
                      if p["kind"] == "task.dispatched"]
        self.assertEqual(dispatched, [1, 2])
        result = self.asset(slow["outputs"]["result"])
        self.assertIn(os.path.join("outputs", slow["task_id"], "2"), result["uri"])
        # The dependants consumed the re-run's output.
        self.assertEqual(self.asset(relay["outputs"]["copy"])["sha256"], result["sha256"])
        self.assertEqual(self.asset(relay2["outputs"]["copy"])["sha256"], result["sha256"])
        self.finish()


class IdempotencyTest(NodeTestCase):
    def test_the_same_idempotency_key_returns_the_same_task(self):
        body = {"module_ref": "fail-on-request@1", "input_mapping": {},
                "values": {"mode": "ok"}, "idempotency_key": "order-42"}
        status, first, _ = self.http("POST", "/api/tasks", body)
        self.assertEqual(status, 201, first)
        self.assertFalse(first["duplicate"])
        status, again, _ = self.http("POST", "/api/tasks", body)
        self.assertEqual(status, 200, again)
        self.assertTrue(again["duplicate"])
        self.assertEqual(again["task_id"], first["task_id"])
        self.assertEqual(again["outputs"], first["outputs"])
        r = self.cli_ok("task", "create", "fail-on-request@1", "--value", "mode=ok",
                        "--idempotency-key", "order-42")
        self.assertEqual(r.stdout.strip(), first["task_id"])
        # The same key for other work is a conflict, named at the field.
        status, doc, _ = self.http("POST", "/api/tasks",
                                   dict(body, values={"mode": "fail"}))
        self.assertEqual(status, 409, doc)
        self.assertEqual(doc["errors"][0]["code"], "idempotency_conflict")
        self.assertEqual(doc["errors"][0]["pointer"], "/values/mode")
        other = self.submit("fail-on-request@1", values={"mode": "ok"},
                            idempotency_key="order-43")
        self.assertNotEqual(other["task_id"], first["task_id"])
        self.wait_finished(first["task_id"])
        self.wait_finished(other["task_id"])

        # The key survives a restart.
        rc = self.node.stop()
        self.assertEqual(rc, 0, self.node.log()[-2000:])
        self.node.start()
        status, after, _ = self.http("POST", "/api/tasks", body)
        self.assertEqual(status, 200, after)
        self.assertEqual(after["task_id"], first["task_id"])
        self.assertEqual(len(self.items("/api/tasks")), 2)
        created = [p for p in self.history(first["task_id"]) if p["kind"] == "task.created"]
        self.assertEqual(len(created), 1)
        self.finish()


class EventsAndMetricsTest(NodeTestCase):
    def test_metrics_and_server_sent_events(self):
        sock, buf = self.open_events()
        task = self.submit("fail-on-request@1", values={"mode": "ok"})
        seen = []
        for event, data in self.next_events(sock, buf, time.monotonic() + 10):
            seen.append(event)
            if event != "task.created":
                continue
            self.assertEqual(data["kind"], "task.created")
            packet = self.get_ok(f"/api/lineage/{data['id']}")["packet"]
            if task["task_id"] in packet["subjects"]:
                # The event names the entity it is about.
                self.assertEqual(data["subject"], task["task_id"])
                break
        else:
            self.fail(f"no task.created event for the task; saw {seen}")
        self.wait_finished(task["task_id"])

        status, text, headers = self.http("GET", "/metrics")
        self.assertEqual(status, 200, text)
        self.assertTrue(headers.get("Content-Type", "").startswith("text/plain"), headers)
        self.assertIn("# TYPE omniva_tasks gauge", text)
        samples = dict(re.findall(r'^omniva_tasks\{status="(\w+)"\} (\d+)$', text, re.M))
        self.assertEqual(samples.get("DONE"), "1", text)
        self.assertEqual(samples.get("ERROR"), "0", text)
        self.assertRegex(text, r"(?m)^omniva_submissions_total 1$")
        for line in text.splitlines():
            if line and not line.startswith("#"):
                self.assertRegex(line, r'^[a-z_]+(\{[a-z_]+="[^"]*"(,[a-z_]+="[^"]*")*\})? ([0-9.e+-]+|\+Inf|NaN)$')
        self.finish()


class CrashWithChildrenTest(NodeTestCase):
    """SIGKILL of a node while modules with children run: the module's own
    process dies with the node, but what it started does not. The restart
    must kill every process of the old attempts before it runs new ones, and
    every task's outputs must exist exactly once."""

    node_args = ("--pool", "default:2:4:1")

    def test_no_process_of_an_old_attempt_survives_a_restart(self):
        self.register_spawner()
        pidfiles = [os.path.join(self.tmp, f"pids-{i}.txt") for i in range(2)]
        tasks = [self.submit("spawner@1", values={"pidfile": p, "seconds": 30})
                 for p in pidfiles]
        wait_until(lambda: all(len(self.pids_in(p)) == 1 for p in pidfiles), 20,
                   "both modules to start their children")
        first_run = [pid for p in pidfiles for line in self.pids_in(p) for pid in line]
        self.node.kill()  # SIGKILL while both run
        # The modules die with the node; their children do not.
        children = [pid for p in pidfiles for pid in self.pids_in(p)[0][1:]]
        wait_until(lambda: not any(process_alive(p) for p in first_run
                                   if p not in children), 10,
                   "the modules to die with the node")
        self.assertTrue(all(process_alive(p) for p in children),
                        "the scenario needs children that outlive the node")

        # Short runs from now on: the restarted node re-runs both tasks.
        for p in pidfiles:
            os.remove(p)
            open(p + ".go", "w").close()
        self.node.start()
        # Before the first new attempt ran, every old process is gone.
        for pid in first_run:
            self.assertFalse(process_alive(pid), f"process {pid} of attempt 1 survived")
        self.assertIn("left by attempts of an earlier run", self.node.log())

        for t, p in zip(tasks, pidfiles):
            done = self.wait_finished(t["task_id"], timeout=60)
            self.assertEqual(done["status"], "DONE", done)
            self.assertEqual(done["attempt"], 2, done)
            # Outputs exist once: the folder of attempt 2 alone.
            folder = os.path.join(self.node.data, "outputs", t["task_id"])
            self.assertEqual(sorted(os.listdir(folder)), ["2"])
            report = self.asset(t["outputs"]["report"])
            self.assertEqual(os.path.dirname(report["uri"]), os.path.join(folder, "2"))
            # What attempt 2 started is gone once it ended, too.
            for pid in [pid for line in self.pids_in(p) for pid in line]:
                wait_until(lambda: not process_alive(pid), 10,
                           f"process {pid} of attempt 2 to be gone")
        assets = self.items("/api/assets")
        self.assertEqual(len(assets), 2, "one output per task, no duplicate")
        self.finish()


def limit_file_size():
    """In a node's child before exec: no file may grow past 1 MiB, and a write
    past it fails with EFBIG instead of killing the process (SIGXFSZ)."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 20, 1 << 20))


class DeadZenithTest(NodeTestCase):
    """Zenith stops when a commit cannot be written (here: the log of the
    database cannot grow past 1 MiB). The node must not go on serving without
    it: it closes its API and exits non-zero, every request gets one answer,
    and after a restart every task it acknowledged exists."""

    node_args = ("--mock",)

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="omniva-it-")
        self.addCleanup(self.remove_tmp)
        self.node = Node(self.tmp, self.node_args, preexec=limit_file_size)
        self.addCleanup(self.kill_node)
        self.node.start()

    def test_a_failed_commit_stops_the_node_and_loses_nothing_acknowledged(self):
        acknowledged, answers = [], {}
        deadline = time.time() + 120
        while self.node.alive() and time.time() < deadline:
            body = {"module_ref": "fail-on-request@1", "input_mapping": {},
                    "values": {"mode": "ok"}}
            try:
                status, doc, _ = self.http("POST", "/api/tasks", body)
            except (urllib.error.URLError, ConnectionError, OSError):
                break  # the API closed
            answers[status] = answers.get(status, 0) + 1
            if status == 201:
                acknowledged.append(doc["task_id"])
            else:
                self.assertIn(status, (500, 503), doc)
                self.assertIn(doc["error"]["code"], ("outcome_unknown", "storage_error"), doc)
        self.assertTrue(acknowledged, answers)
        try:
            rc = self.node.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.fail("the node went on running without Zenith:\n" + self.node.log()[-3000:])
        self.assertNotEqual(rc, 0, self.node.log()[-3000:])
        self.assertIn("Zenith stopped", self.node.log())
        # A supervisor restarts it (without the limit): recovery brings back
        # every task the node acknowledged.
        self.node.preexec = None
        self.node.start()
        for task_id in acknowledged:
            status, doc = self.get(f"/api/tasks/{task_id}")
            self.assertEqual(status, 200, f"acknowledged task {task_id} is lost: {doc}")
        self.finish()


# PID 1 of a new PID namespace with a /proc of its own, as a container's
# entry point has (the node reads /proc/<pid> of its modules: a /proc of
# another namespace names other processes).
PID1_PREFIX = ("unshare", "--pid", "--fork", "--kill-child", "--mount-proc")


def pid_namespaces_work():
    """Whether this process may run a command as PID 1 of a new PID namespace."""
    if shutil.which("unshare") is None:
        return False
    probe = subprocess.run(list(PID1_PREFIX) + ["sh", "-c", "test $$ = 1"],
                           stdin=subprocess.DEVNULL,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return probe.returncode == 0


@unittest.skipUnless(pid_namespaces_work(),
                     "needs unshare and the right to make a PID namespace (root)")
class Pid1Test(NodeTestCase):
    """The node as PID 1, as in a container whose entry point is `omniva serve`:
    its modules are orphans of nobody, and still run."""

    node_prefix = PID1_PREFIX

    def test_a_node_running_as_pid_1_runs_a_real_module(self):
        task = self.submit("slow@1", values={"seconds": 0.1})
        done = self.wait_finished(task["task_id"])
        self.assertEqual(done["status"], "DONE", done)
        self.verify_lineage()


class HeartbeatTest(NodeTestCase):
    """A node whose control cycle checks heartbeats every 200 ms and takes a
    worker silent for 600 ms for lost."""

    def setUp(self):
        conf_dir = tempfile.mkdtemp(prefix="omniva-hb-")
        self.addCleanup(shutil.rmtree, conf_dir, True)
        self.conf = os.path.join(conf_dir, "omniva.conf")
        with open(self.conf, "w", encoding="utf-8") as f:
            f.write("[omniva]\ncontrol-cycle-ms=200\n"
                    "heartbeat-interval-ms=100\nheartbeat-timeout-ms=600\n"
                    "sse-keep-alive-ms=200\n")
        self.node_args = ("--config", self.conf)
        super().setUp()

    def test_a_busy_worker_keeps_its_attempt_alive_with_heartbeats(self):
        # slow@1 sleeps 1.4 s (its timeout is 2 s, which leaves a loaded
        # machine time to start Python): more than two heartbeat timeouts
        # long, and checked seven times meanwhile.
        task = self.submit("slow@1", values={"seconds": 1.4})
        done = self.wait_finished(task["task_id"])
        self.assertEqual(done["status"], "DONE", done)
        history = self.history(task["task_id"])
        self.assertEqual(done["attempt"], 1,
                         [(p["kind"], p["payload"]) for p in history
                          if p["kind"] in ("task.attempt_failed", "task.requeued")])
        kinds = task_kinds(history)
        self.assertNotIn("task.requeued", kinds)
        self.assertEqual(kinds, ["task.created", "task.dispatched", "task.succeeded"])
        self.finish()

    def test_a_quiet_event_stream_gets_keep_alive_comments(self):
        sock, buf = self.open_events()
        sock.settimeout(5)
        deadline = time.monotonic() + 5
        while b": keep-alive" not in buf and time.monotonic() < deadline:
            chunk = sock.recv(4096)
            if not chunk:
                break
            buf += chunk
        sock.close()
        self.assertIn(b": keep-alive", buf)
        self.finish()

    def test_a_timeout_not_longer_than_the_interval_is_refused(self):
        bad = os.path.join(self.tmp, "bad.conf")
        with open(bad, "w", encoding="utf-8") as f:
            f.write("[omniva]\nheartbeat-interval-ms=1000\nheartbeat-timeout-ms=1000\n")
        r = subprocess.run([node_harness.OMNIVA, "serve", "--config", bad, "--data",
                            os.path.join(self.tmp, "other")],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
        self.assertIn("heartbeat-timeout-ms", r.stderr)
        self.finish()


class RegistryTest(NodeTestCase):
    def write_json(self, name, doc):
        return self.write(name, json.dumps(doc, indent=2))

    def write_reporter(self, folder):
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, "module.json"), "w", encoding="utf-8") as f:
            json.dump(REPORTER_CONTRACT, f, indent=2)
        with open(os.path.join(folder, "reporter.py"), "w", encoding="utf-8") as f:
            f.write(REPORTER_SCRIPT)

    def test_schemas_policies_and_the_modules_that_name_them(self):
        # The example modules' schema was registered at start, before them.
        refs = [s["ref"] for s in self.items("/api/schemas")]
        self.assertIn("media.metadata@1", refs)
        shown = self.cli_json("schema", "show", "media.metadata@1")
        with open(os.path.join(node_harness.REPO, "modules", "media_probe", "schemas",
                               "media.metadata@1.json"), encoding="utf-8") as f:
            self.assertEqual(shown, json.load(f))
        self.assertIn("media.metadata@1", self.cli_ok("schema", "list").stdout)

        # The default policy.
        policy = self.cli_json("policy", "show", "default@1")
        self.assertEqual(policy["retry"], {"max_attempts": 3,
                                           "backoff_ms": [1000, 5000, 15000]})
        self.assertEqual(self.get_ok("/api/policies/default@1"), policy)
        listed = self.cli_ok("policy", "list").stdout
        self.assertEqual(listed.splitlines()[0].split(),
                         ["ref", "max_attempts", "backoff_ms", "retry_on", "jitter_pct",
                          "description"])
        # retry_on empty (transient failures only), jitter_pct the default 10.
        self.assertRegex(listed,
                         r"(?m)^default@1 +3 +\[1000,5000,15000\] +10 +Three attempts")
        status, doc = self.get("/api/policies/nope@1")
        self.assertEqual((status, doc["error"]["code"]), (404, "not_found"), doc)

        # A module naming a schema nobody registered is refused.
        folder = os.path.join(self.tmp, "reporter")
        self.write_reporter(folder)
        r = self.cli("module", "register", folder)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("invalid_ref", r.stderr)
        self.assertIn("test.report@1", r.stderr)
        self.assertIn("/outputs/0/schema", r.stderr)
        status, doc, _ = self.http("POST", "/api/modules", REPORTER_CONTRACT)
        self.assertEqual(status, 400, doc)
        self.assertEqual(doc["error"]["code"], "invalid_ref")
        self.assertEqual(doc["error"]["pointer"], "/outputs/0/schema")

        # Register the schema: by file name, then the same again.
        path = self.write_json("test.report@1.json", REPORT_SCHEMA)
        self.assertEqual(self.cli_ok("schema", "register", path).stdout.strip(),
                         "test.report@1")
        self.assertEqual(self.cli_ok("schema", "register", path).stdout.strip(),
                         "test.report@1")
        # Other content under the same ref is refused, over the CLI and HTTP.
        changed = dict(REPORT_SCHEMA, required=["verdict"])
        other = self.write_json("changed.json", changed)
        r = self.cli("schema", "register", other, "--ref", "test.report@1")
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("immutable_ref", r.stderr)
        status, doc, _ = self.http("POST", "/api/schemas?ref=test.report%401", changed)
        self.assertEqual((status, doc["error"]["code"]), (409, "immutable_ref"), doc)
        self.assertEqual(self.cli_json("schema", "show", "test.report@1"), REPORT_SCHEMA)
        # A document that is no schema, a missing or malformed ref.
        broken = dict(REPORT_SCHEMA, properties={"score": {"minimum": "0"}})
        status, doc, _ = self.http("POST", "/api/schemas?ref=test.broken%401", broken)
        self.assertEqual(status, 400, doc)
        self.assertEqual(doc["error"]["code"], "invalid_schema")
        self.assertEqual(doc["error"]["pointer"], "/properties/score/minimum")
        status, doc, _ = self.http("POST", "/api/schemas", REPORT_SCHEMA)
        self.assertEqual((status, doc["error"]["code"], doc["error"]["pointer"]),
                         (400, "missing_field", "/ref"), doc)
        status, doc, _ = self.http("POST", "/api/schemas?ref=report", REPORT_SCHEMA)
        self.assertEqual((status, doc["error"]["code"]), (400, "invalid_ref"), doc)
        status, doc = self.get("/api/schemas/test.broken@1")
        self.assertEqual((status, doc["error"]["code"]), (404, "not_found"), doc)

        # Now the module registers, and the registered schema judges its runs.
        self.assertEqual(self.cli_ok("module", "register", folder).stdout.strip(),
                         "reporter@1")
        good = self.submit("reporter@1", values={"score": 70})
        done = self.wait_finished(good["task_id"])
        self.assertEqual(done["status"], "DONE", done)
        with open(self.asset(good["outputs"]["report"])["uri"], encoding="utf-8") as f:
            self.assertEqual(json.load(f), {"verdict": "pass", "score": 70})
        bad = self.submit("reporter@1", values={"score": 1000})
        failed = self.wait_finished(bad["task_id"])
        self.assertEqual(failed["status"], "ERROR", failed)
        self.assertEqual(failed["error"]["code"], "output_contract_violation", failed)
        self.assertIn("/score", failed["error"]["message"])
        self.assertEqual(failed["error"]["pointer"], "/score", failed)
        mock = self.submit("reporter@1", values={"score": 5}, mode="mock")
        self.assertEqual(self.wait_finished(mock["task_id"])["status"], "DONE")
        with open(self.asset(mock["outputs"]["report"])["uri"], encoding="utf-8") as f:
            fabricated = json.load(f)
        self.assertEqual(set(fabricated), {"verdict", "score"})
        self.assertIn(fabricated["verdict"], ("pass", "fail"))

        # A restart keeps schemas and policies; each was registered once.
        rc = self.node.stop()
        self.assertEqual(rc, 0, self.node.log()[-2000:])
        self.node.start()
        refs = [s["ref"] for s in self.items("/api/schemas")]
        # The shipped modules' own schemas, and the one this test registered.
        shipped = [os.path.basename(p)[:-len(".json")] for p in glob.glob(
            os.path.join(node_harness.REPO, "modules", "*", "schemas", "*.json"))]
        self.assertEqual(sorted(refs), sorted(shipped + ["test.report@1"]))
        self.assertEqual(self.get_ok("/api/policies/default@1")["retry"]["max_attempts"], 3)
        self.assertEqual([p["kind"] for p in self.history("test.report@1")],
                         ["schema.registered"])
        self.assertEqual([p["kind"] for p in self.history("default@1")],
                         ["policy.registered"])
        again = self.submit("reporter@1", values={"score": 10})
        self.assertEqual(self.wait_finished(again["task_id"])["status"], "DONE")
        self.finish()

    def test_rescan_loads_what_appeared_in_the_module_folders(self):
        extra = os.path.join(self.tmp, "extra")
        rc = self.node.stop()
        self.assertEqual(rc, 0, self.node.log()[-2000:])
        self.node.extra_args += ["--modules", extra]
        self.node.start()  # the folder does not exist yet: logged, not fatal
        self.assertIn("module folder does not exist", self.node.log())

        self.write_reporter(os.path.join(extra, "reporter"))
        os.makedirs(os.path.join(extra, "schemas"))
        self.write_json(os.path.join("extra", "schemas", "test.report@1.json"),
                        REPORT_SCHEMA)
        os.makedirs(os.path.join(extra, "policies"))
        self.write_json(os.path.join("extra", "policies", "patient@1.json"),
                        {"retry": {"max_attempts": 5, "backoff_ms": [60000]}})
        status, report, _ = self.http("POST", "/api/modules/rescan")
        self.assertEqual(status, 200, report)
        registered = {(i["kind"], i["ref"]) for i in report["items"]
                      if i["outcome"] == "registered"}
        self.assertEqual(registered, {("schema", "test.report@1"),
                                      ("policy", "patient@1"),
                                      ("module", "reporter@1")})
        self.assertEqual(report["refused"], 0, report)
        self.assertEqual(self.get_ok("/api/policies/patient@1")["retry"],
                         {"max_attempts": 5, "backoff_ms": [60000]})

        # Nothing new: all unchanged, exit 0.
        r = self.cli_ok("module", "rescan")
        self.assertIn("0 registered", r.stdout)
        self.assertIn("unchanged\tmodule\treporter@1", r.stdout)

        # A module naming an unknown schema, a policy out of range: refused,
        # each with its code and pointer; exit 1.
        orphan = dict(REPORTER_CONTRACT, name="orphan")
        orphan["outputs"] = [dict(REPORTER_CONTRACT["outputs"][0], schema="nowhere@1")]
        os.makedirs(os.path.join(extra, "orphan"))
        self.write_json(os.path.join("extra", "orphan", "module.json"), orphan)
        self.write_json(os.path.join("extra", "policies", "eager@1.json"),
                        {"retry": {"max_attempts": 0, "backoff_ms": []}})
        r = self.cli("module", "rescan", "--json")
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        report = json.loads(r.stdout)
        refused = {i["ref"]: i["error"] for i in report["items"]
                   if i["outcome"] == "refused"}
        self.assertEqual(set(refused), {"orphan@1", "eager@1"}, report)
        self.assertEqual((refused["orphan@1"]["code"], refused["orphan@1"]["pointer"]),
                         ("invalid_ref", "/outputs/0/schema"))
        self.assertEqual((refused["eager@1"]["code"], refused["eager@1"]["pointer"]),
                         ("schema_violation", "/retry/max_attempts"))
        status, doc = self.get("/api/modules/orphan@1")
        self.assertEqual(status, 404, doc)
        self.finish()


if __name__ == "__main__":
    node_harness.main()
