#!/usr/bin/env python3
"""Cancelling work through a real node, and operator actions on finished tasks.

Usage: node_cancel_test.py OMNIVA_BINARY REPO_DIR

- A RUNNING task cancelled through the CLI and through HTTP ends CANCELLED,
  every process of its attempt is gone, its output folder too, its late
  outcome changes nothing, and what waited on it (at any depth) ends ERROR
  `upstream_cancelled`, naming it.
- Cancelling a READY task: its dependants end `upstream_cancelled` as well.
- Every operator action on a finished task is a 409 `illegal_transition`
  and writes no packet.
- `omniva_rejections_total` counts every refused submission (422) once,
  idempotency conflicts (409) apart; `omniva_commit_seconds` counts every
  commit.

The harness (a node per case, HTTP and CLI helpers) is tests/node_harness.py.
"""

import json
import os
import re

import node_harness
from node_harness import *  # noqa: F401,F403 (the fixtures and NodeTestCase)


class CancelTestCase(NodeTestCase):
    # One worker: a task submitted behind a RUNNING one stays READY, and the
    # worker takes the next order only once the stopped attempt reported.
    node_args = ONE_WORKER

    def kinds(self, entity):
        """The kinds of `entity`'s history without the engines' advice."""
        return task_kinds(self.history(entity))

    def chain_on(self, task):
        """Two relays: one on `task`'s report, one on that relay's copy."""
        first = self.submit("json-relay@1", inputs={"source": task["outputs"]["report"]})
        second = self.submit("json-relay@1", inputs={"source": first["outputs"]["copy"]})
        self.assertEqual(first["status"], "PENDING")
        self.assertEqual(second["status"], "PENDING")
        return [first, second]

    def check_upstream_cancelled(self, dependants, cancelled_id):
        for d in dependants:
            row = self.wait_finished(d["task_id"])
            self.assertEqual(row["status"], "ERROR", row)
            self.assertEqual(row["error"]["code"], "upstream_cancelled", row)
            self.assertIn(cancelled_id, row["error"]["message"], row)
            out = self.asset(next(iter(d["outputs"].values())))
            self.assertEqual(out["status"], "FAILED", out)

    def run_to_the_end(self):
        """Runs a short task to DONE: with one worker, whatever the worker
        reported before it (a stopped attempt's outcome) was handled."""
        t = self.submit("slow@1", values={"seconds": 0})
        self.assertEqual(self.wait_finished(t["task_id"], timeout=30)["status"], "DONE")


class CancelRunningTest(CancelTestCase):
    def test_a_running_task_is_stopped_and_what_waited_on_it_ends_upstream_cancelled(self):
        self.register_spawner()
        self.register_relay()
        for via in ("cli", "http"):
            with self.subTest(via=via):
                pidfile = os.path.join(self.tmp, f"pids-{via}.txt")
                task = self.submit("spawner@1", values={"pidfile": pidfile,
                                                        "seconds": 120})
                task_id = task["task_id"]
                dependants = self.chain_on(task)
                self.wait_status(task_id, ("RUNNING",))
                pids = wait_until(lambda: self.pids_in(pidfile), 20,
                                  "the module to start its children")[0]
                self.assertTrue(all(process_alive(p) for p in pids))

                if via == "cli":
                    r = self.cli_ok("task", "cancel", task_id)
                    self.assertIn("CANCELLED", r.stdout)
                else:
                    status, doc, _ = self.http("POST", f"/api/tasks/{task_id}/cancel")
                    self.assertEqual(status, 200, doc)
                    self.assertEqual(doc["status"], "CANCELLED")
                self.assertEqual(self.task(task_id)["status"], "CANCELLED")

                # The module, its child and the child that left its group.
                for pid in pids:
                    wait_until(lambda: not process_alive(pid), 20,
                               f"process {pid} of the cancelled attempt to be gone")
                self.check_upstream_cancelled(dependants, task_id)
                report = self.asset(task["outputs"]["report"])
                self.assertEqual(report["status"], "FAILED", report)

                # The stopped attempt's outcome came and changed nothing.
                self.run_to_the_end()
                row = self.task(task_id)
                self.assertEqual(row["status"], "CANCELLED", row)
                self.assertEqual(self.kinds(task_id),
                                 ["task.created", "task.dispatched", "task.cancelled"])
                self.assertEqual(self.asset(task["outputs"]["report"])["status"], "FAILED")
                folder = os.path.join(self.node.data, "outputs", task_id)
                self.assertEqual(os.listdir(folder) if os.path.isdir(folder) else [], [],
                                 "the cancelled attempt's outputs are gone")
                # Cancelling it again is refused.
                status, doc, _ = self.http("POST", f"/api/tasks/{task_id}/cancel")
                self.assertEqual(status, 409, doc)
                self.assertEqual(doc["error"]["code"], "illegal_transition", doc)
        self.finish()

    def test_cancelling_a_ready_task_ends_its_dependants_upstream_cancelled(self):
        self.register_spawner()
        self.register_relay()
        pidfile = os.path.join(self.tmp, "pids.txt")
        # The only worker is busy: the second spawner, once Paradox cleared
        # it (PENDING until then), stays READY.
        busy = self.submit("spawner@1", values={"pidfile": pidfile, "seconds": 120})
        self.wait_status(busy["task_id"], ("RUNNING",))
        ready = self.submit("spawner@1", values={"pidfile": pidfile, "seconds": 120})
        self.assertIn(ready["status"], ("PENDING", "READY"))
        self.wait_status(ready["task_id"], ("READY",))
        dependants = self.chain_on(ready)
        self.cli_ok("task", "cancel", ready["task_id"])
        self.assertEqual(self.task(ready["task_id"])["status"], "CANCELLED")
        self.check_upstream_cancelled(dependants, ready["task_id"])
        self.assertEqual(self.kinds(ready["task_id"]), ["task.created", "task.cancelled"])
        self.cli_ok("task", "cancel", busy["task_id"])
        self.run_to_the_end()
        self.finish()


class FinishedTaskTest(CancelTestCase):
    def test_every_operator_action_on_a_finished_task_is_refused_and_writes_nothing(self):
        self.register_spawner()
        done = self.submit("slow@1", values={"seconds": 0})
        self.assertEqual(self.wait_finished(done["task_id"])["status"], "DONE")
        # Past its 2 s timeout: a transient failure, retried up to default@1's
        # 3 attempts (pauses of about 1 s and 5 s) before it ends ERROR.
        failed = self.submit("slow@1", values={"seconds": 5})
        self.assertEqual(self.wait_finished(failed["task_id"], timeout=60)["status"], "ERROR")
        cancelled = self.submit("spawner@1", values={
            "pidfile": os.path.join(self.tmp, "pids.txt"), "seconds": 120})
        self.cli_ok("task", "cancel", cancelled["task_id"])
        self.run_to_the_end()

        for t in (done, failed, cancelled):
            task_id = t["task_id"]
            before = self.task(task_id)
            with self.subTest(status=before["status"]):
                history = self.kinds(task_id)
                for path, body in ((f"/api/tasks/{task_id}/priority", {"priority": 9}),
                                   (f"/api/tasks/{task_id}/cancel", None)):
                    status, doc, _ = self.http("POST", path, body)
                    self.assertEqual(status, 409, f"{path}: {doc}")
                    self.assertEqual(doc["error"]["code"], "illegal_transition", doc)
                    self.assertIn(before["status"], doc["error"]["message"])
                r = self.cli("task", "cancel", task_id)
                self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
                self.assertIn("illegal_transition", r.stderr)
                self.assertEqual(self.kinds(task_id), history, "no packet was written")
                self.assertEqual(self.task(task_id), before)
        self.finish()


class RejectionCountTest(NodeTestCase):
    def test_every_refused_submission_counts_once_and_conflicts_apart(self):
        refused = [
            {"module_ref": "nowhere@1"},
            {"module_ref": "media-probe@1", "values": {"sample_rate": 5}},
            # A member that cannot be read, and pre-flight problems in the rest.
            {"module_ref": "slow@1", "input_mapping": {"wrong": "abc"},
             "values": {"seconds": 7000}},
        ]
        for body in refused:
            status, doc, _ = self.http("POST", "/api/tasks", body)
            self.assertEqual(status, 422, doc)
        codes = {e["code"] for e in doc["errors"]}
        self.assertLessEqual({"unknown_input", "out_of_range"}, codes, doc)
        first = self.submit("slow@1", values={"seconds": 0}, idempotency_key="k")
        status, doc, _ = self.http("POST", "/api/tasks", {
            "module_ref": "slow@1", "values": {"seconds": 1}, "idempotency_key": "k"})
        self.assertEqual(status, 409, doc)
        self.wait_finished(first["task_id"])
        status, text, _ = self.http("GET", "/metrics")
        self.assertEqual(status, 200, text)
        self.assertRegex(text, rf"(?m)^omniva_rejections_total {len(refused)}$")
        self.assertRegex(text, r"(?m)^omniva_idempotency_conflicts_total 1$")
        self.assertRegex(text, r"(?m)^omniva_submissions_total 5$")
        # Every commit is counted in the latency histogram once its write is
        # durable (commits_total counts it when sealed: poll until idle).
        def counted():
            text = self.http("GET", "/metrics")[1]
            commits = re.search(r"(?m)^omniva_commits_total (\d+)$", text).group(1)
            return (re.search(rf"(?m)^omniva_commit_seconds_count {commits}$", text)
                    and re.search(rf'(?m)^omniva_commit_seconds_bucket{{le="\+Inf"}} '
                                  rf'{commits}$', text))
        wait_until(counted, 10, "every commit in omniva_commit_seconds")
        self.finish()


if __name__ == "__main__":
    node_harness.main()
