#!/usr/bin/env python3
"""The dashboard board's two reads at their fast paths (docs/http-api.md,
"Lists" and "Tasks"):

- `GET /api/tasks` without filters reads the tasks' creation order kept in
  memory (runtime/creation_index.hpp) instead of scanning the table: its
  pages hold exactly the tasks, in the order (`created_at`, then the id),
  that the filtered path (a scan) gives; tasks created after the index was
  built are in it; a restart builds it again.
- `GET /api/tasks/counts` without filters answers from Zenith's counters:
  the same figures as the counts of a scan (`module_ref` given).

Run: python3 tests/node_board_test.py OMNIVA_BINARY REPO_DIR
"""

import os

import node_harness
from node_harness import NodeTestCase

STATUSES = ("PENDING", "READY", "RUNNING", "DONE", "ERROR", "CANCELLED", "SKIPPED")


class BoardTest(NodeTestCase):
    node_args = ("--pool", "default:2:2:1")

    def submit_talkers(self, n):
        return [self.submit("talker@1", values={"gate": "x"}, mode="mock")["task_id"]
                for _ in range(n)]

    def both_orders(self):
        """The whole list, unfiltered (index) and filtered by module (scan)."""
        indexed = self.items("/api/tasks?limit=7")
        scanned = self.items("/api/tasks?limit=7&module_ref=talker@1")
        return indexed, scanned

    def assert_same_list(self, expected_ids):
        indexed, scanned = self.both_orders()
        self.assertEqual([t["task_id"] for t in indexed],
                         [t["task_id"] for t in scanned])
        self.assertEqual(indexed, scanned)
        self.assertEqual(sorted(t["task_id"] for t in indexed), sorted(expected_ids))
        places = [(t["created_at"], t["task_id"]) for t in indexed]
        self.assertEqual(places, sorted(places))

    def assert_same_counts(self):
        everything = self.get_ok("/api/tasks/counts")
        scanned = self.get_ok("/api/tasks/counts?module_ref=talker@1")
        self.assertEqual(everything, scanned)
        self.assertEqual(everything["total"], sum(everything[s] for s in STATUSES))
        return everything

    def test_unfiltered_pages_and_counts_match_the_scan(self):
        self.register_talker()
        ids = self.submit_talkers(20)
        # The first unfiltered page builds the index.
        first = self.get_ok("/api/tasks?limit=5")
        self.assertEqual(len(first["items"]), 5)
        self.assertIsNotNone(first["next_cursor"])
        # Created after it was built: placed from the events.
        ids += self.submit_talkers(15)
        for task_id in ids:
            self.wait_finished(task_id)
        self.assert_same_list(ids)
        counts = self.assert_same_counts()
        self.assertEqual((counts["DONE"], counts["total"]), (35, 35))
        # A cursor from the index path continues in the scan's order too.
        page = self.get_ok("/api/tasks?limit=10")
        rest = self.get_ok("/api/tasks?limit=100&cursor=" + page["next_cursor"])
        self.assertEqual([t["task_id"] for t in page["items"] + rest["items"]],
                         [t["task_id"] for t in self.both_orders()[1]])
        self.assertIsNone(rest["next_cursor"])
        # A restart builds the order again from the table.
        self.assertEqual(self.node.stop(), 0)
        self.node.start()
        ids += self.submit_talkers(3)
        for task_id in ids[-3:]:
            self.wait_finished(task_id)
        self.assert_same_list(ids)
        self.assertEqual(self.assert_same_counts()["total"], 38)
        self.finish()

    def test_counts_follow_unfinished_tasks(self):
        self.register_talker()
        # Held at their gate until the file exists: RUNNING or READY.
        gate = os.path.join(self.tmp, "gate")
        ids = [self.submit("talker@1", values={"gate": gate})["task_id"] for _ in range(3)]
        self.wait_status(ids[0], ("RUNNING",))
        counts = self.assert_same_counts()
        self.assertEqual(counts["total"], 3)
        self.assertEqual(counts["RUNNING"] + counts["READY"] + counts["PENDING"], 3)
        with open(gate, "w"):
            pass
        for task_id in ids:
            self.assertEqual(self.wait_finished(task_id, timeout=60)["status"], "DONE")
        self.assertEqual(self.assert_same_counts()["DONE"], 3)
        self.finish()


if __name__ == "__main__":
    node_harness.main()
