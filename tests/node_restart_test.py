#!/usr/bin/env python3
"""Restarts of a node and what its database holds across them: holds on
assets (rows of their own, recovered after a crash and released once their
tasks end), a shared input that is not rewritten for every task holding it,
and a clean stop that leaves little write-ahead log to replay.

Usage: node_restart_test.py OMNIVA_BINARY REPO_DIR

The harness (a node per case, HTTP and CLI helpers) is tests/node_harness.py.
No assertion here is about time.
"""

import os
import signal
import threading

import node_harness
from node_harness import *  # noqa: F401,F403 (the fixtures and NodeTestCase)


def live_log_bytes(data):
    """The bytes of the database's write-ahead logs (`*.log`)."""
    db = os.path.join(data, "db")
    return sum(os.path.getsize(os.path.join(db, name))
               for name in os.listdir(db) if name.endswith(".log"))


class HoldsAcrossARestartTest(NodeTestCase):
    node_args = ONE_WORKER

    def refused_naming(self, asset_id, holders):
        """DELETE of `asset_id` is a 409 asset_in_use naming every holder."""
        status, doc, _ = self.http("DELETE", f"/api/assets/{asset_id}")
        self.assertEqual(status, 409, doc)
        self.assertEqual(doc["error"]["code"], "asset_in_use")
        for t in holders:
            self.assertIn(t["task_id"], doc["error"]["message"])

    def test_holds_survive_a_crash_and_are_released_after_it(self):
        self.register_relay()
        seconds = self.cli_ok("asset", "value", "1", "--dtype", "float").stdout.strip()
        # The only worker runs `slow`; two more wait on `seconds` (READY) and
        # three on slow's promised output (PENDING): all hold an asset.
        slow = self.submit("slow@1", {"seconds": seconds})
        queued = [self.submit("slow@1", {"seconds": seconds}) for _ in range(2)]
        promised = slow["outputs"]["result"]
        waiting = [self.submit("json-relay@1", {"source": promised}) for _ in range(3)]
        self.wait_status(slow["task_id"], ("RUNNING",), timeout=10)
        # (`slow` itself may finish any moment: only the tasks queued behind
        # it are sure to be unfinished when the node is killed.)
        self.refused_naming(seconds, queued)
        self.refused_naming(promised, waiting)

        self.node.kill()  # SIGKILL
        self.assertEqual(self.node.proc.returncode, -signal.SIGKILL)
        self.node.start()
        # Recovered from the hold rows: still refused, naming the same tasks.
        self.refused_naming(seconds, queued)
        self.refused_naming(promised, waiting)

        for t in [slow] + queued + waiting:
            done = self.wait_finished(t["task_id"], timeout=60)
            self.assertEqual(done["status"], "DONE", done)
        # Released: the assets may go (the promise is now an output, AVAILABLE).
        for asset_id in (seconds, promised):
            status, doc, _ = self.http("DELETE", f"/api/assets/{asset_id}")
            self.assertEqual(status, 200, doc)
        self.finish()


class SharedInputTest(NodeTestCase):
    node_args = ("--mock",)

    def test_many_tasks_on_one_input_then_a_restart(self):
        self.register_relay()
        shared = self.cli_ok("asset", "add", self.write("in.json", '{"n": 1}\n'),
                             "--media-type", "application/json").stdout.strip()
        # 2,000 tasks from 4 clients: at any moment many hold the input.
        count, clients = 2000, 4
        ids, lock, errors = [], threading.Lock(), []

        def client(k):
            try:
                for _ in range(k, count, clients):
                    t = self.submit("json-relay@1", {"source": shared})
                    with lock:
                        ids.append(t["task_id"])
            except AssertionError as e:  # reported below, on the test's thread
                errors.append(e)

        threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(errors, [])
        self.assertEqual(len(ids), count)
        for task_id in ids[-20:]:
            self.assertEqual(self.wait_finished(task_id, timeout=120)["status"], "DONE")
        wait_until(lambda: all(self.task(t)["status"] == "DONE" for t in ids[::97]),
                   120, "the tasks to be DONE")

        # No task rewrote the shared input's row: its history names every
        # task, but the only packet that wrote its row registered it.
        history = self.history(shared)
        written = [p["kind"] for p in history
                   if shared in p["payload"].get("_rows", {}).get("assets", {})]
        self.assertEqual(written, ["asset.registered"])
        self.assertGreaterEqual(len(history), count)

        # A clean stop flushes what the memtables hold: the next start has
        # (almost) no log to replay. The tasks wrote several MiB of it.
        self.assertGreater(live_log_bytes(self.node.data), 4 << 20)
        self.assertEqual(self.node.stop(), 0, self.node.log()[-2000:])
        self.assertLess(live_log_bytes(self.node.data), 1 << 20)
        self.node.start()
        for task_id in ids[:: 50]:
            self.assertEqual(self.task(task_id)["status"], "DONE")
        status, doc, _ = self.http("DELETE", f"/api/assets/{shared}")
        self.assertEqual(status, 200, doc)
        self.finish()


if __name__ == "__main__":
    node_harness.main()
