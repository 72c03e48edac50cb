#!/usr/bin/env python3
"""What the dashboard's Operations page, board search and asset page read
(docs/http-api.md, "Stats", "Lists" and "Assets"):

- `GET /api/stats`: the node samples its counters every
  `--stats-interval-ms` (100 ms here); the points count finished tasks,
  throughput and submissions per second are above zero after a burst and
  add up to the burst; RUNNING tasks and a pool's queue show; the counts by
  status survive a restart (loaded with the state, counted from then on);
  `since` (RFC 3339 or ms) and `limit` filter, bad queries are 400
  `invalid_filter` with their pointer; a viewer token reads them; the
  configuration key sets the interval and a zero interval is refused.
- `q` on `GET /api/tasks` and `/api/tasks/counts`: a task id prefix (4 or
  more hex digits), a module ref substring (any case), a trace id; combined
  with `status`; paged; bad `q` refused at `/q`.
- an asset's `holders`: the unfinished tasks that keep it from being
  deleted (holds, and its producer while PENDING), as the 409 names them;
  gone once they finish.

Run: python3 tests/node_stats_test.py OMNIVA_BINARY REPO_DIR
"""

import json
import os
import subprocess
import time
import urllib.parse

import node_harness
from node_harness import NodeTestCase, wait_until

STATUSES = ("PENDING", "READY", "RUNNING", "DONE", "ERROR", "CANCELLED", "SKIPPED")
INTERVAL_MS = 100


def parse_at(text):
    """Milliseconds since 1970 of a point's `at` (2026-01-02T03:04:05.678Z)."""
    secs = time.mktime(time.strptime(text[:19], "%Y-%m-%dT%H:%M:%S")) - time.timezone
    return int(round(secs * 1000)) + int(text[20:23])


class StatsCase(NodeTestCase):
    # Two workers; samples every 100 ms.
    node_args = ("--stats-interval-ms", str(INTERVAL_MS), "--pool", "default:2:2:1")

    def stats(self, query=""):
        doc = self.get_ok("/api/stats" + query)
        self.assertEqual(set(doc), {"interval_ms", "capacity", "points", "now"}, doc)
        return doc

    def refused(self, path, pointer):
        status, doc = self.get(path)
        self.assertEqual(status, 400, f"GET {path}: {doc}")
        self.assertEqual(doc["error"]["code"], "invalid_filter", doc)
        self.assertEqual(doc["error"]["pointer"], pointer, doc)
        return doc["error"]["message"]

    def point_where(self, predicate, what, timeout=20):
        def found():
            for p in self.stats()["points"]:
                if predicate(p):
                    return p
            return None
        return wait_until(found, timeout, what)

    def burst(self, n):
        self.register_talker()
        ids = [self.submit("talker@1", values={"gate": "x"}, mode="mock")["task_id"]
               for _ in range(n)]
        for task_id in ids:
            self.assertEqual(self.wait_finished(task_id)["status"], "DONE")
        return ids


class StatsTest(StatsCase):
    def test_points_count_a_burst_of_finished_tasks(self):
        first = self.stats()
        self.assertEqual(first["interval_ms"], INTERVAL_MS)
        self.assertEqual(first["capacity"], 3600)
        self.assertEqual(first["now"]["tasks"], {s: 0 for s in STATUSES})
        self.assertEqual(first["now"]["pools"],
                         {"default": {"queued": 0, "running": 0, "slots_free": 2}})
        # The first point has no rates (none before it): the burst comes after.
        wait_until(lambda: len(self.stats()["points"]) >= 2, 20, "2 points")
        ids = self.burst(20)
        done = self.point_where(lambda p: p["tasks"]["DONE"] == 20,
                                "a point counting the 20 DONE tasks")
        self.assertEqual(done["done_total"], 20)
        self.assertEqual(done["failed_total"], 0)
        self.assertEqual(done["finished_total"], 20)
        self.assertEqual(done["submitted_total"], 20)
        self.assertEqual(done["queue_depth"], 0)
        self.assertEqual(self.stats()["now"]["tasks"]["DONE"], 20)
        wait_until(lambda: len(self.stats()["points"]) >= 8, 20, "8 points")
        points = self.stats()["points"]
        ats = [parse_at(p["at"]) for p in points]
        self.assertEqual(ats, sorted(ats), "points come oldest first")
        # The samples come every interval (a loaded machine may be late).
        gaps = [b - a for a, b in zip(ats, ats[1:])]
        self.assertGreater(len(gaps), 5)
        self.assertLess(sorted(gaps)[len(gaps) // 2], 3 * INTERVAL_MS, gaps)
        self.assertGreater(max(p["throughput_per_s"] for p in points), 0)
        self.assertGreater(max(p["submitted_per_s"] for p in points), 0)
        # The rates add up to the burst: per second times the seconds between
        # points is what finished (and was submitted) in between.
        finished = sum(p["throughput_per_s"] * (b - a) / 1000
                       for p, a, b in zip(points[1:], ats, ats[1:]))
        submitted = sum(p["submitted_per_s"] * (b - a) / 1000
                        for p, a, b in zip(points[1:], ats, ats[1:]))
        self.assertAlmostEqual(finished, 20, delta=3)
        self.assertAlmostEqual(submitted, 20, delta=3)
        # Quiet again: the newest points have no throughput.
        time.sleep(3 * INTERVAL_MS / 1000)
        self.assertEqual(self.stats("?limit=1")["points"][0]["throughput_per_s"], 0)
        self.assertEqual(len(ids), 20)
        self.finish()

    def test_running_tasks_and_a_pools_queue_show(self):
        self.register_talker()
        gate = os.path.join(self.tmp, "gate")
        ids = [self.submit("talker@1", values={"gate": gate})["task_id"]
               for _ in range(3)]
        self.wait_status(ids[0], ("RUNNING",))
        self.wait_status(ids[1], ("RUNNING",))
        busy = self.point_where(
            lambda p: p["tasks"]["RUNNING"] == 2 and p["tasks"]["READY"] == 1
            and p["pools"]["default"] == {"queued": 1, "running": 2, "slots_free": 0},
            "a point with 2 RUNNING and 1 queued")
        self.assertEqual(busy["queue_depth"], 1)
        with open(gate, "w"):
            pass
        for task_id in ids:
            self.wait_finished(task_id, timeout=60)
        idle = self.point_where(lambda p: p["tasks"]["DONE"] == 3,
                                "a point with the 3 tasks DONE")
        self.assertEqual(idle["pools"]["default"],
                         {"queued": 0, "running": 0, "slots_free": 2})
        self.assertEqual(idle["tasks"]["RUNNING"] + idle["tasks"]["READY"], 0)
        self.finish()

    def test_counts_survive_a_restart(self):
        self.burst(5)
        self.point_where(lambda p: p["tasks"]["DONE"] == 5, "5 DONE")
        self.assertEqual(self.node.stop(), 0)
        self.node.start()
        # Recovered: counted from the loaded rows; nothing finished since.
        now = self.stats()["now"]
        self.assertEqual(now["tasks"]["DONE"], 5)
        self.assertEqual((now["done_total"], now["submitted_total"]), (0, 0))
        ids = [self.submit("talker@1", values={"gate": "x"}, mode="mock")["task_id"]
               for _ in range(2)]
        for task_id in ids:
            self.wait_finished(task_id)
        p = self.point_where(lambda p: p["tasks"]["DONE"] == 7, "7 DONE")
        self.assertEqual((p["done_total"], p["submitted_total"]), (2, 2))
        # The same as the counts route, which reads every row.
        counts = self.get_ok("/api/tasks/counts")
        self.assertEqual({s: counts[s] for s in STATUSES},
                         self.stats()["now"]["tasks"])
        self.finish()

    def test_since_and_limit_filter_and_bad_queries_are_refused(self):
        wait_until(lambda: len(self.stats()["points"]) >= 8, 20, "8 points")
        points = self.stats()["points"]
        self.assertEqual(len(self.stats("?limit=3")["points"]), 3)
        newest = self.stats("?limit=3")["points"]
        self.assertEqual([parse_at(p["at"]) for p in newest],
                         sorted(parse_at(p["at"]) for p in newest))
        mid = points[3]
        after = self.stats("?since=" + urllib.parse.quote(mid["at"]))["points"]
        self.assertTrue(after)
        self.assertTrue(all(parse_at(p["at"]) > parse_at(mid["at"]) for p in after))
        self.assertEqual(after[0]["at"], points[4]["at"])
        # The same time as milliseconds since 1970.
        by_ms = self.stats(f"?since={parse_at(mid['at'])}&limit=2")["points"]
        self.assertEqual(len(by_ms), 2)
        self.assertTrue(all(parse_at(p["at"]) > parse_at(mid["at"]) for p in by_ms))
        # In the future: none yet, and still a fresh `now`.
        future = self.stats("?since=2999-01-01T00:00:00Z")
        self.assertEqual(future["points"], [])
        self.assertIn("tasks", future["now"])
        for query, pointer in (("since=abc", "/since"), ("since=", "/since"),
                               ("since=2026-13-01T00:00:00Z", "/since"),
                               ("since=-5", "/since"),
                               ("since=99999999999999999999999", "/since"),
                               ("limit=0", "/limit"), ("limit=abc", "/limit"),
                               ("limit=", "/limit"), ("limit=3601", "/limit"),
                               ("limit=-1", "/limit"), ("sort=at", "/sort")):
            message = self.refused("/api/stats?" + query, pointer)
            self.assertTrue(message, query)
        self.assertIn("takes since, limit", self.refused("/api/stats?x=1", "/x"))
        # A viewer reads them.
        status, doc, _ = self.http("POST", "/api/tokens", {"name": "dash", "role": "viewer"})
        self.assertEqual(status, 201, doc)
        status, doc = self.get("/api/stats?limit=1", token=doc["secret"])
        self.assertEqual(status, 200, doc)
        self.assertEqual(len(doc["points"]), 1)
        self.finish()


class StatsConfigTest(StatsCase):
    node_args = ()

    def setUp(self):
        self.conf_dir = None
        super().setUp()

    def test_the_configuration_key_sets_the_interval_and_zero_is_refused(self):
        # The default: one point a second.
        self.assertEqual(self.stats()["interval_ms"], 1000)
        self.assertEqual(self.node.stop(), 0)
        conf = self.write("omniva.conf", "[omniva]\nstats-interval-ms=250\n"
                                         "stats-points=5\n")
        self.node.extra_args = ["--config", conf]
        self.node.start()
        doc = self.stats()
        self.assertEqual((doc["interval_ms"], doc["capacity"]), (250, 5))
        wait_until(lambda: len(self.stats()["points"]) == 5, 20, "5 points")
        time.sleep(0.6)
        self.assertEqual(len(self.stats()["points"]), 5, "the ring keeps 5")
        self.refused_limit = self.get("/api/stats?limit=6")
        self.assertEqual(self.refused_limit[0], 400)
        self.finish()
        for args in (["--stats-interval-ms", "0"], ["--config", self.write(
                "zero.conf", "[omniva]\nstats-interval-ms=0\n")]):
            r = subprocess.run([node_harness.OMNIVA, "serve", "--data",
                                os.path.join(self.tmp, "other"), "--http",
                                "127.0.0.1:0"] + args, cwd=self.tmp,
                               capture_output=True, text=True, timeout=30,
                               stdin=subprocess.DEVNULL)
            self.assertNotEqual(r.returncode, 0, r.stdout)
            self.assertIn("stats-interval-ms", r.stderr)


class SearchTest(StatsCase):
    def test_q_finds_tasks_by_id_prefix_module_and_trace(self):
        self.register_talker()
        self.register_relay()
        talks = [self.submit("talker@1", values={"gate": "x"}, mode="mock")
                 for _ in range(4)]
        trace = talks[0]["trace_id"]
        for t in talks:
            self.wait_finished(t["task_id"])
        relays = [self.submit("json-relay@1", {"source": talks[i]["outputs"]["done"]},
                              mode="mock", **({"trace_id": trace} if i == 0 else {}))
                  for i in range(2)]
        for t in relays:
            self.wait_finished(t["task_id"])
        every = [t["task_id"] for t in talks + relays]

        def found(query):
            return [t["task_id"] for t in self.items("/api/tasks?" + query)]

        # An id, whole or its first hex digits (upper case too).
        target = relays[1]["task_id"]
        self.assertEqual(found("q=" + target), [target])
        self.assertEqual(found("q=" + target[:13].upper()), [target])
        prefix = target[:4]
        self.assertEqual(found("q=" + prefix),
                         [i for i in every if i.startswith(prefix)])
        self.assertIn(target, found("q=" + prefix))
        # A module ref's part, any case.
        self.assertEqual(found("q=TALK"), [t["task_id"] for t in talks])
        self.assertEqual(found("q=relay@1"), [t["task_id"] for t in relays])
        self.assertEqual(found("q=nothing-like-this"), [])
        # A trace id: the tasks of the trace.
        self.assertEqual(found("q=" + trace),
                         [talks[0]["task_id"], relays[0]["task_id"]])
        # Three hex digits are no id prefix: only module refs could match.
        self.assertEqual(found("q=" + target[:3]),
                         [t["task_id"] for t in talks + relays
                          if target[:3] in t["module_ref"]])
        # With the other filters, a page at a time.
        self.assertEqual(found("q=talk&status=DONE"), [t["task_id"] for t in talks])
        self.assertEqual(found("q=talk&status=ERROR"), [])
        self.assertEqual(found("q=talk&module_ref=json-relay@1"), [])
        page = self.get_ok("/api/tasks?q=talk&limit=3")
        self.assertEqual([t["task_id"] for t in page["items"]],
                         [t["task_id"] for t in talks[:3]])
        rest = self.get_ok("/api/tasks?q=talk&limit=3&cursor="
                           + urllib.parse.quote(page["next_cursor"]))
        self.assertEqual([t["task_id"] for t in rest["items"]], [talks[3]["task_id"]])
        self.assertIsNone(rest["next_cursor"])
        # The counts take it too.
        counts = self.get_ok("/api/tasks/counts?q=talk")
        self.assertEqual((counts["DONE"], counts["total"]), (4, 4))
        counts = self.get_ok("/api/tasks/counts?q=" + trace)
        self.assertEqual(counts["total"], 2)
        counts = self.get_ok("/api/tasks/counts?q=" + target)
        self.assertEqual(counts["total"], 1)
        counts = self.get_ok("/api/tasks/counts?q=relay&module_ref=talker@1")
        self.assertEqual(counts["total"], 0)
        # Bad searches.
        for path in ("/api/tasks", "/api/tasks/counts"):
            for bad in ("", "a%20b", "a/b", "x" * 129, "%22", "%C3%A9"):
                message = self.refused(f"{path}?q={bad}", "/q")
                self.assertIn("not a search", message)
        self.assertIn("takes status, module_ref, q, limit, cursor",
                      self.refused("/api/tasks?search=x", "/search"))
        self.assertIn("takes module_ref, q",
                      self.refused("/api/tasks/counts?search=x", "/search"))
        self.finish()


class HoldersTest(StatsCase):
    node_args = node_harness.ONE_WORKER

    def test_holders_appear_and_disappear(self):
        self.register_talker()
        self.register_relay()
        gate = os.path.join(self.tmp, "gate")
        status, doc, _ = self.http("POST", "/api/assets/value",
                                   {"value": gate, "dtype": "string"})
        self.assertEqual(status, 201, doc)
        value_id = doc["asset_id"]
        self.assertEqual(self.asset(value_id)["holders"], [])
        self.assertNotIn("produced_by", self.asset(value_id))
        talker = self.submit("talker@1", {"gate": value_id})
        output = talker["outputs"]["done"]
        relay = self.submit("json-relay@1", {"source": output})
        # The value: held by the talker. Its output: held by the relay,
        # promised by the talker (PENDING).
        self.assertEqual(self.asset(value_id)["holders"], [talker["task_id"]])
        promised = self.asset(output)
        self.assertEqual(promised["status"], "PENDING")
        self.assertEqual(promised["produced_by"], talker["task_id"])
        self.assertEqual(promised["holds"], [relay["task_id"]])
        self.assertEqual(promised["holders"], [relay["task_id"], talker["task_id"]])
        listed = [a for a in self.items("/api/assets") if a["asset_id"] == output]
        self.assertEqual(listed[0]["holders"], promised["holders"])
        # The refusal of a delete names the same tasks.
        for asset_id in (value_id, output):
            status, doc, _ = self.http("DELETE", f"/api/assets/{asset_id}")
            self.assertEqual(status, 409, doc)
            self.assertEqual(doc["error"]["code"], "asset_in_use")
            for holder in self.asset(asset_id)["holders"]:
                self.assertIn(holder, doc["error"]["message"])
            # ... and gives them as ids, in the record's order.
            self.assertEqual(doc["error"]["holders"], self.asset(asset_id)["holders"])
        with open(gate, "w"):
            pass
        self.assertEqual(self.wait_finished(relay["task_id"], timeout=60)["status"], "DONE")
        self.assertEqual(self.wait_finished(talker["task_id"])["status"], "DONE")
        done = self.asset(output)
        self.assertEqual((done["status"], done["holders"], done["holds"]),
                         ("AVAILABLE", [], []))
        self.assertEqual(done["produced_by"], talker["task_id"])
        self.assertEqual(self.asset(value_id)["holders"], [])
        status, doc, _ = self.http("DELETE", f"/api/assets/{value_id}")
        self.assertEqual(status, 200, doc)
        self.finish()


if __name__ == "__main__":
    node_harness.main()
