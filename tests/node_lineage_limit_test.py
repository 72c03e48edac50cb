#!/usr/bin/env python3
"""Integration tests of `GET /api/lineage/{id}?limit=N`: a history read
only to its first N packets, saying when there are more (the dashboard's
lineage graph reads an asset's first packets, never an unbounded history).

Usage: node_lineage_limit_test.py OMNIVA_BINARY REPO_DIR

The harness (a node per case, HTTP and CLI helpers) is tests/node_harness.py.
"""

import node_harness
from node_harness import *  # noqa: F401,F403 (the fixtures and NodeTestCase)


class LineageLimitTest(NodeTestCase):
    def test_a_history_is_cut_after_limit_packets(self):
        self.register_talker()
        task_id = self.submit("talker@1", values={"gate": "unused"}, mode="mock")["task_id"]
        self.assertEqual(self.wait_finished(task_id)["status"], "DONE")
        whole = self.get_ok(f"/api/lineage/{task_id}")
        self.assertNotIn("truncated", whole)
        full = [p["id"] for p in whole["history"]]
        self.assertGreaterEqual(len(full), 3, whole)

        cut = self.get_ok(f"/api/lineage/{task_id}?limit=2")
        self.assertEqual([p["id"] for p in cut["history"]], full[:2])
        self.assertIs(cut["truncated"], True)

        exact = self.get_ok(f"/api/lineage/{task_id}?limit={len(full)}")
        self.assertEqual([p["id"] for p in exact["history"]], full)
        self.assertNotIn("truncated", exact)

        # With a direction, the walk starts from the packets answered.
        up = self.get_ok(f"/api/lineage/{task_id}?limit=1&direction=down&depth=1")
        self.assertEqual(len(up["history"]), 1)
        self.assertIn("descendants", up)
        self.finish()

    def test_a_bad_limit_is_refused_with_its_pointer(self):
        self.register_talker()
        task_id = self.submit("talker@1", values={"gate": "unused"}, mode="mock")["task_id"]
        for bad in ("0", "10001", "abc", "", "-1", "1.5"):
            status, doc = self.get(f"/api/lineage/{task_id}?limit={bad}")
            self.assertEqual(status, 400, f"limit={bad!r}: {doc}")
            self.assertEqual(doc["error"]["code"], "invalid_filter", doc)
            self.assertEqual(doc["error"]["pointer"], "/limit", doc)
        # Finished first: a running task's history grows between two reads.
        self.wait_status(task_id, ("DONE",))
        self.assertEqual(len(self.get_ok(f"/api/lineage/{task_id}?limit=10000")["history"]),
                         len(self.get_ok(f"/api/lineage/{task_id}")["history"]))
        self.finish()


if __name__ == "__main__":
    node_harness.main()
