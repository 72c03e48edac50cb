#!/usr/bin/env python3
"""Integration tests of the node's HTTP API lists and logs: pages and
cursors, filters that refuse what they do not know, counts by status, the
logs of an attempt (whole and followed), and the nouns in messages.

Usage: node_api_test.py OMNIVA_BINARY REPO_DIR

The harness (a node per case, HTTP and CLI helpers) is tests/node_harness.py.
"""

import http.client
import hashlib
import json
import os
import signal
import urllib.parse

import node_harness
from node_harness import *  # noqa: F401,F403 (the fixtures and NodeTestCase)


STATUSES = ("PENDING", "READY", "RUNNING", "DONE", "ERROR", "CANCELLED", "SKIPPED")


class ApiTestCase(NodeTestCase):
    def talk(self, gate, mode="real"):
        return self.submit("talker@1", values={"gate": gate}, mode=mode)

    def refused(self, path, pointer, code="invalid_filter", status=400):
        got, doc = self.get(path)
        self.assertEqual(got, status, f"GET {path}: {doc}")
        self.assertEqual(doc["error"]["code"], code, doc)
        self.assertEqual(doc["error"]["pointer"], pointer, doc)
        return doc["error"]["message"]

    def walk(self, path, limit):
        """Every item of a list, page by page; also the pages' sizes."""
        items, sizes, cursor = [], [], None
        sep = "&" if "?" in path else "?"
        while True:
            url = f"{path}{sep}limit={limit}"
            if cursor is not None:
                url += "&cursor=" + urllib.parse.quote(cursor)
            page = self.get_ok(url)
            self.assertEqual(set(page), {"items", "next_cursor"}, page)
            items += page["items"]
            sizes.append(len(page["items"]))
            cursor = page["next_cursor"]
            if cursor is None:
                return items, sizes
            self.assertIsInstance(cursor, str)
            self.assertLess(len(sizes), 100, "the cursors never end")


class ListTest(ApiTestCase):
    def test_tasks_come_a_page_at_a_time_oldest_first(self):
        self.register_talker()
        ids = [self.talk("unused", mode="mock")["task_id"] for _ in range(7)]
        for task_id in ids:
            self.assertEqual(self.wait_finished(task_id)["status"], "DONE")

        whole = self.get_ok("/api/tasks")
        self.assertIsNone(whole["next_cursor"])
        self.assertEqual(sorted(t["task_id"] for t in whole["items"]), sorted(ids))
        order = [(t["created_at"], t["task_id"]) for t in whole["items"]]
        self.assertEqual(order, sorted(order))

        items, sizes = self.walk("/api/tasks", 3)
        self.assertEqual(sizes, [3, 3, 1])
        self.assertEqual(items, whole["items"])
        # A page that ends exactly at the last task says there is no more.
        self.assertEqual(self.walk("/api/tasks", 7)[1], [7])
        self.assertEqual(self.walk("/api/tasks", 6)[1], [6, 1])
        self.assertEqual(self.walk("/api/tasks", 1000)[1], [7])
        # Filters and pages together.
        items, sizes = self.walk("/api/tasks?status=DONE&module_ref=talker@1", 2)
        self.assertEqual(items, whole["items"])
        self.assertEqual(sizes, [2, 2, 2, 1])
        self.assertEqual(self.get_ok("/api/tasks?status=PENDING"),
                         {"items": [], "next_cursor": None})
        self.assertEqual(self.get_ok("/api/tasks?module_ref=slow@1")["items"], [])
        self.finish()

    def test_lists_refuse_what_they_do_not_know(self):
        self.register_talker()
        first = self.talk("unused", mode="mock")
        message = self.refused("/api/tasks?status=done", "/status")
        self.assertIn("DONE", message)
        for status in STATUSES:
            self.assertIn(status, message)
        self.refused("/api/tasks?status=BOGUS", "/status")
        self.refused("/api/tasks?status=", "/status")
        for bad in ("0", "1001", "abc", "-1", "", "1e2", "10 "):
            message = self.refused("/api/tasks?limit=" + urllib.parse.quote(bad), "/limit")
            self.assertIn("1 to 1000", message)
        self.refused("/api/tasks?cursor=abc", "/cursor")
        self.refused("/api/tasks?cursor=", "/cursor")
        message = self.refused("/api/tasks?sort=created_at", "/sort")
        self.assertIn("status, module_ref, q, limit, cursor", message)
        message = self.refused("/api/tasks?module_ref=nosuch@1", "/module_ref")
        self.assertIn("talker@1", message)

        # A cursor is good for the list that gave it only, unchanged.
        self.talk("unused", mode="mock")
        cursor = self.get_ok("/api/tasks?limit=1")["next_cursor"]
        self.assertIsNotNone(cursor)
        self.assertEqual(len(self.get_ok("/api/tasks?limit=1&cursor=" + cursor)["items"]), 1)
        self.refused("/api/assets?cursor=" + cursor, "/cursor")
        self.refused("/api/modules?cursor=" + cursor, "/cursor")
        flipped = cursor[:-1] + ("0" if cursor[-1] != "0" else "1")
        self.refused("/api/tasks?cursor=" + flipped, "/cursor")

        message = self.refused("/api/assets?status=available", "/status")
        self.assertIn("AVAILABLE", message)
        self.refused("/api/assets?media_type=nonsense", "/media_type")
        self.refused("/api/assets?kind=FILE", "/kind")
        self.refused("/api/assets?limit=1001", "/limit")
        for route in ("modules", "schemas", "policies"):
            message = self.refused(f"/api/{route}?status=DONE", "/status")
            self.assertIn("limit, cursor", message)
            self.refused(f"/api/{route}?limit=0", "/limit")
        # The lineage of an entity says no the same way.
        lineage = f"/api/lineage/{first['task_id']}"
        self.assertIn("history", self.get_ok(lineage + "?direction=up&depth=2"))
        message = self.refused(lineage + "?direction=sideways", "/direction")
        self.assertIn("up, down", message)
        self.refused(lineage + "?direction=up&deep=1", "/deep")
        # What a refusal echoes stays valid UTF-8.
        status, raw = self.raw_get("/api/tasks?status=%ff%fe")
        self.assertEqual(status, 400)
        json.loads(raw.decode("utf-8"))
        self.finish()

    def raw_get(self, path):
        parts = urllib.parse.urlsplit(self.node.url)
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        self.addCleanup(conn.close)
        conn.request("GET", path, headers={"Authorization": f"Bearer {self.node.token}"})
        resp = conn.getresponse()
        return resp.status, resp.read()

    def test_counts_by_status(self):
        self.register_talker()
        gate = os.path.join(self.tmp, "gate")
        ids = [self.talk("unused", mode="mock")["task_id"] for _ in range(3)]
        for task_id in ids:
            self.wait_finished(task_id)
        # One RUNNING (real, waits for its gate) and one PENDING behind it.
        self.register_relay()
        running = self.talk(gate)
        waiting = self.submit("json-relay@1", {"source": running["outputs"]["done"]})
        self.wait_status(running["task_id"], ("RUNNING",))
        counts = self.get_ok("/api/tasks/counts")
        self.assertEqual(list(counts), list(STATUSES) + ["total"])
        self.assertEqual(counts["DONE"], 3)
        self.assertEqual(counts["RUNNING"], 1)
        self.assertEqual(counts["PENDING"], 1)
        self.assertEqual(counts["ERROR"], 0)
        self.assertEqual(counts["CANCELLED"], 0)
        self.assertEqual(counts["SKIPPED"], 0)
        self.assertEqual(counts["total"], 5)
        by_module = self.get_ok("/api/tasks/counts?module_ref=talker@1")
        self.assertEqual(by_module["total"], 4)
        self.assertEqual(by_module["PENDING"], 0)
        none = self.get_ok("/api/tasks/counts?module_ref=slow@1")
        self.assertEqual(none, {**{s: 0 for s in STATUSES}, "total": 0})
        self.refused("/api/tasks/counts?module_ref=nosuch@1", "/module_ref")
        self.refused("/api/tasks/counts?status=DONE", "/status")
        with open(gate, "w"):
            pass
        self.wait_finished(running["task_id"], timeout=60)
        self.wait_finished(waiting["task_id"], timeout=60)
        self.assertEqual(self.get_ok("/api/tasks/counts")["DONE"], 5)
        self.finish()

    def test_assets_and_registry_lists_page_too(self):
        ids = []
        for n in range(5):
            status, doc, _ = self.http("POST", "/api/assets/value",
                                       {"value": n, "dtype": "int"})
            self.assertEqual(status, 201, doc)
            ids.append(doc["asset_id"])
        items, sizes = self.walk("/api/assets", 2)
        self.assertEqual(sizes, [2, 2, 1])
        self.assertEqual(sorted(a["asset_id"] for a in items), sorted(ids))
        order = [(a["created_at"], a["asset_id"]) for a in items]
        self.assertEqual(order, sorted(order))
        self.assertEqual(self.walk("/api/assets?status=AVAILABLE", 4)[0], items)
        self.assertEqual(self.get_ok("/api/assets?status=PENDING")["items"], [])
        self.assertEqual(self.get_ok("/api/assets?media_type=video/*")["items"], [])

        modules = self.get_ok("/api/modules?limit=1000")
        self.assertIsNone(modules["next_cursor"])
        refs = [m["ref"] for m in modules["items"]]
        self.assertGreaterEqual(len(refs), 3)
        self.assertEqual(refs, sorted(refs))
        items, sizes = self.walk("/api/modules", 1)
        self.assertEqual([m["ref"] for m in items], refs)
        self.assertEqual(sizes, [1] * len(refs))

        for ref in ("test.b@1", "test.a@1", "test.c@1"):
            status, doc, _ = self.http("POST", "/api/schemas?ref=" + ref, REPORT_SCHEMA)
            self.assertEqual(status, 201, doc)
        whole = self.get_ok("/api/schemas")["items"]
        refs = [s["ref"] for s in whole]
        self.assertEqual(refs, sorted(refs))
        self.assertEqual([r for r in refs if r.startswith("test.")],
                         ["test.a@1", "test.b@1", "test.c@1"])
        items, sizes = self.walk("/api/schemas", 2)
        self.assertEqual(items, whole)
        self.assertEqual(sizes, [2] * (len(refs) // 2) + [1] * (len(refs) % 2))
        self.assertEqual(whole[refs.index("test.a@1")]["title"], "Test report")

        policies = self.get_ok("/api/policies")
        self.assertIn("default@1", [p["ref"] for p in policies["items"]])
        self.assertEqual(self.walk("/api/policies", 1)[0], policies["items"])
        self.finish()

    def test_an_asset_shows_who_holds_it(self):
        self.register_talker()
        gate = os.path.join(self.tmp, "gate")
        status, doc, _ = self.http("POST", "/api/assets/value",
                                   {"value": gate, "dtype": "string"})
        self.assertEqual(status, 201, doc)
        asset_id = doc["asset_id"]
        holders = [self.submit("talker@1", {"gate": asset_id})["task_id"]
                   for _ in range(3)]
        self.assertEqual(self.asset(asset_id)["holds"], holders)
        listed = [a for a in self.get_ok("/api/assets")["items"]
                  if a["asset_id"] == asset_id]
        self.assertEqual(listed[0]["holds"], holders)
        with open(gate, "w"):
            pass
        for task_id in holders:
            self.assertEqual(self.wait_finished(task_id, timeout=60)["status"], "DONE")
        self.assertEqual(self.asset(asset_id)["holds"], [])
        self.finish()

    def test_a_new_priority_follows_the_integer_rule_of_a_request(self):
        self.register_talker()
        self.register_relay()
        gate = os.path.join(self.tmp, "gate")
        first = self.talk(gate)
        waiting = self.submit("json-relay@1", {"source": first["outputs"]["done"]})
        path = f"/api/tasks/{waiting['task_id']}/priority"
        for raw, code in ((b'{"priority": 1.5}', "type_mismatch"),
                          (b'{"priority": 1e-400}', "type_mismatch"),
                          (b'{"priority": "5"}', "type_mismatch"),
                          (b'{"priority": 2147483648}', "out_of_range"),
                          (b'{"priority": -2147483649}', "out_of_range"),
                          (b'{"priority": 1' + b"0" * 60 + b'}', "out_of_range"),
                          (b'{}', "missing_field")):
            status, doc, _ = self.http("POST", path, raw)
            self.assertEqual(status, 400, (raw, doc))
            self.assertEqual(doc["error"]["code"], code, (raw, doc))
            self.assertEqual(doc["error"]["pointer"], "/priority", (raw, doc))
        # The same rule as a request's: 1.0 is an integer.
        status, doc, _ = self.http("POST", path, b'{"priority": 7.0}')
        self.assertEqual((status, doc.get("priority")), (200, 7), doc)
        with open(gate, "w"):
            pass
        self.wait_finished(waiting["task_id"], timeout=60)
        self.finish()

    def test_a_refused_task_answers_every_problem_at_once(self):
        # The route hands a request with reading problems on to Zenith, which
        # adds the pre-flight problems of the rest of it.
        status, doc, _ = self.http("POST", "/api/tasks", {
            "module_ref": "slow@1", "input_mapping": {"wrong": "abc"},
            "values": {"seconds": 7000}, "priority": 1.5})
        self.assertEqual(status, 422, doc)
        self.assertEqual(sorted((e["code"], e["pointer"]) for e in doc["errors"]),
                         [("invalid_uuid", "/input_mapping/wrong"),
                          ("out_of_range", "/values/seconds"),
                          ("type_mismatch", "/priority"),
                          ("unknown_input", "/input_mapping/wrong")])
        # Without a module ref to read there is nothing to check it against.
        status, doc, _ = self.http("POST", "/api/tasks", {"module_ref": 7})
        self.assertEqual(status, 422, doc)
        self.assertEqual([e["code"] for e in doc["errors"]], ["type_mismatch"])
        self.assertEqual(self.get_ok("/api/tasks/counts")["total"], 0)
        self.finish()

    def test_messages_name_the_noun(self):
        status, doc = self.get("/api/tasks/nosuch")
        self.assertEqual(status, 404)
        self.assertEqual(doc["error"]["code"], "not_found")
        self.assertEqual(doc["error"]["message"], "no task 'nosuch'")
        status, doc = self.get("/api/assets/nosuch")
        self.assertEqual((status, doc["error"]["message"]), (404, "no asset 'nosuch'"))
        status, doc = self.get("/api/modules/nosuch@1")
        self.assertEqual((status, doc["error"]["message"]), (404, "no module 'nosuch@1'"))
        # "counts" is a route of its own, never a task id.
        status, doc = self.get("/api/tasks/counts")
        self.assertEqual(status, 200, doc)
        self.assertEqual(doc["total"], 0)
        # Echoed ids stay valid UTF-8.
        status, raw = ListTest.raw_get(self, "/api/tasks/%ff%fe")
        self.assertEqual(status, 404)
        doc = json.loads(raw.decode("utf-8"))
        self.assertEqual(doc["error"]["message"], "no task '\ufffd\ufffd'")
        self.finish()


class LogTest(ApiTestCase):
    def logs(self, task_id, attempt=1, query=""):
        status, text, headers = self.http(
            "GET", f"/api/tasks/{task_id}/attempts/{attempt}/logs{query}")
        return status, text, headers

    def test_the_logs_of_an_attempt(self):
        self.register_talker()
        gate = self.write("open-gate", "")
        task = self.talk(gate)
        self.assertEqual(self.wait_finished(task["task_id"], timeout=60)["status"], "DONE")
        task_id = task["task_id"]

        status, text, headers = self.logs(task_id)
        self.assertEqual(status, 200, text)
        self.assertEqual(headers["Content-Type"], "text/plain; charset=utf-8")
        self.assertEqual(text, "out 1\nbefore gate\nafter gate\n")
        self.assertEqual(self.logs(task_id, query="?stream=stdout")[1], text)
        status, text, _ = self.logs(task_id, query="?stream=stderr")
        self.assertEqual((status, text), (200, "err 1\nerr 2\n"))
        # Following an attempt that is over answers the file at once.
        status, text, headers = self.logs(task_id, query="?follow=1")
        self.assertEqual((status, text), (200, "out 1\nbefore gate\nafter gate\n"))

        status, doc, _ = self.logs(task_id, attempt=2)
        self.assertEqual(status, 404, doc)
        self.assertEqual(doc["error"]["code"], "not_found")
        self.assertIn("attempt 1 only", doc["error"]["message"])
        for bad in ("0", "x", "-1", "99999999999"):
            status, doc, _ = self.logs(task_id, attempt=bad)
            self.assertEqual(status, 400, doc)
            self.assertEqual(doc["error"]["code"], "invalid_argument")
            self.assertEqual(doc["error"]["pointer"], "/attempt")
        for query, pointer in (("?stream=both", "/stream"), ("?stream=STDOUT", "/stream"),
                               ("?follow=maybe", "/follow"), ("?tail=5", "/tail")):
            status, doc, _ = self.logs(task_id, query=query)
            self.assertEqual(status, 400, doc)
            self.assertEqual(doc["error"]["code"], "invalid_filter", doc)
            self.assertEqual(doc["error"]["pointer"], pointer, doc)
        status, doc, _ = self.logs("nosuch")
        self.assertEqual((status, doc["error"]["message"]), (404, "no task 'nosuch'"))
        # A path escape is an unknown task, never a file.
        status, doc, _ = self.logs("..%2F..%2Ftoken")
        self.assertEqual(status, 404, doc)
        self.finish()

    def test_an_attempt_that_wrote_nothing_yet_has_an_empty_log(self):
        self.register_talker()
        self.register_relay()
        gate = os.path.join(self.tmp, "gate")
        first = self.talk(gate)
        waiting = self.submit("json-relay@1", {"source": first["outputs"]["done"]})
        self.assertEqual(self.task(waiting["task_id"])["status"], "PENDING")
        status, text, _ = self.logs(waiting["task_id"])
        self.assertEqual((status, text), (200, ""))
        status, text, _ = self.logs(waiting["task_id"], query="?stream=stderr&follow=0")
        self.assertEqual((status, text), (200, ""))
        with open(gate, "w"):
            pass
        self.wait_finished(waiting["task_id"], timeout=60)
        self.finish()

    def open_follow(self, task_id):
        parts = urllib.parse.urlsplit(self.node.url)
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        self.addCleanup(conn.close)
        conn.request("GET", f"/api/tasks/{task_id}/attempts/1/logs?follow=1",
                     headers={"Authorization": f"Bearer {self.node.token}"})
        return conn.getresponse()

    def test_following_a_running_attempt(self):
        self.register_talker()
        gate = os.path.join(self.tmp, "gate")
        task = self.talk(gate)
        self.wait_status(task["task_id"], ("RUNNING",))
        resp = self.open_follow(task["task_id"])
        self.assertEqual(resp.status, 200)
        self.assertEqual(resp.getheader("Content-Type"), "text/plain; charset=utf-8")
        self.assertEqual(resp.getheader("Transfer-Encoding"), "chunked")
        # The lines come while the attempt runs...
        seen = b""
        while b"before gate\n" not in seen:
            line = resp.readline()
            self.assertTrue(line, f"the stream ended early: {seen!r}")
            seen += line
        self.assertEqual(seen, b"out 1\nbefore gate\n")
        self.assertEqual(self.task(task["task_id"])["status"], "RUNNING")
        # ... and the answer ends once it is over, with the rest of the file.
        with open(gate, "w"):
            pass
        self.assertEqual(resp.read(), b"after gate\n")
        self.assertEqual(self.task(task["task_id"])["status"], "DONE")
        self.finish()

    def test_a_node_stops_while_a_log_is_followed(self):
        self.register_talker()
        gate = os.path.join(self.tmp, "gate")
        task = self.talk(gate)
        self.wait_status(task["task_id"], ("RUNNING",))
        resp = self.open_follow(task["task_id"])
        self.assertEqual(resp.readline(), b"out 1\n")
        self.verify_lineage()
        # SIGTERM: the stream ends with the HTTP server, while the module
        # still runs (cut: the attempt is not over).
        self.node.proc.send_signal(signal.SIGTERM)
        try:
            rest = resp.read()
        except http.client.IncompleteRead as e:
            rest = e.partial
        self.assertIn(rest, (b"", b"before gate\n"))
        self.assertIsNone(self.node.proc.poll())
        # The node waits for its running module (not for the follower).
        with open(gate, "w"):
            pass
        self.assertEqual(self.node.proc.wait(30), 0, self.node.log()[-2000:])
        self.verify_lineage()

    def test_followers_are_bounded(self):
        self.register_talker()
        gate = os.path.join(self.tmp, "gate")
        task = self.talk(gate)
        self.wait_status(task["task_id"], ("RUNNING",))
        followers = [self.open_follow(task["task_id"]) for _ in range(64)]
        for resp in followers:
            self.assertEqual(resp.status, 200)
        status, doc, headers = self.http(
            "GET", f"/api/tasks/{task['task_id']}/attempts/1/logs?follow=1")
        self.assertEqual(status, 503, doc)
        self.assertIn("64", doc["error"]["message"])
        self.assertEqual(headers["Retry-After"], "1")
        # Not following still works.
        status, text, _ = self.logs(task["task_id"])
        self.assertEqual(status, 200)
        # Once they ended, a new follower of a running attempt is taken again.
        second_gate = os.path.join(self.tmp, "second-gate")
        second = self.talk(second_gate)
        with open(gate, "w"):
            pass
        for resp in followers:
            self.assertEqual(resp.read(), b"out 1\nbefore gate\nafter gate\n")
        self.wait_status(second["task_id"], ("RUNNING",), timeout=60)
        resp = self.open_follow(second["task_id"])
        self.assertEqual(resp.status, 200)
        self.assertEqual(resp.getheader("Transfer-Encoding"), "chunked")
        with open(second_gate, "w"):
            pass
        self.assertEqual(resp.read(), b"out 1\nbefore gate\nafter gate\n")
        self.finish()



class ContentTest(ApiTestCase):
    """`GET /api/assets/{id}/content`: a small file in one answer, a large one
    (over 8 MiB) streamed in chunks, a VALUE as its JSON."""

    def test_small_and_large_files_come_back_byte_for_byte(self):
        small = os.urandom(1000)
        large = os.urandom(9 * 1024 * 1024 + 17)
        for data, chunked in ((small, False), (large, True)):
            status, doc, _ = self.http("POST", "/api/assets/upload?label=blob", data,
                                       headers={"Content-Type": "application/octet-stream"})
            self.assertEqual(status, 201, doc)
            req = urllib.request.Request(
                self.node.url + f"/api/assets/{doc['asset_id']}/content",
                headers={"Authorization": f"Bearer {self.node.token}"})
            with OPENER.open(req, timeout=60) as resp:
                body = resp.read()
                self.assertEqual(resp.getheader("Transfer-Encoding") == "chunked",
                                 chunked)
            self.assertEqual(len(body), len(data))
            self.assertEqual(hashlib.sha256(body).hexdigest(),
                             hashlib.sha256(data).hexdigest())
        status, doc, _ = self.http("POST", "/api/assets/value",
                                   {"value": {"n": [1, 2]}, "dtype": "json"})
        self.assertEqual(self.get_ok(f"/api/assets/{doc['asset_id']}/content"),
                         {"n": [1, 2]})
        status, doc = self.get("/api/assets/00000000-0000-4000-8000-000000000000/content")
        self.assertEqual(status, 404, doc)
        self.finish()

if __name__ == "__main__":
    node_harness.main()
