#!/usr/bin/env python3
"""An operator's overrides through a real node (docs/engines.md, "Eclipse";
docs/http-api.md, "Quarantines").

Usage: node_quarantine_test.py OMNIVA_BINARY REPO_DIR

- Quarantines: the list starts empty; a module and a pool are quarantined
  through HTTP and the CLI (each an `operator.override` packet naming the
  token), listed by target (JSON and the table), removed (HTTP and CLI);
  removing one that is not there is 404 `not_found` (CLI: exit 1).
- A malformed request is 400 with every problem and its JSON pointer.
- A viewer lists quarantines but may neither add nor remove one (403).
- `task retry`: a DONE task is 409 `illegal_transition` (nothing written),
  an unknown id 404 `not_found`; a task that ended ERROR runs again as a new
  attempt, and the task that ended `upstream_failed` because of it waits on
  it again.

The harness (a node per case, HTTP and CLI helpers) is tests/node_harness.py.
"""

import json
import uuid

import node_harness
from node_harness import *  # noqa: F401,F403 (the fixtures and NodeTestCase)


class QuarantineTest(NodeTestCase):

    def quarantines(self, token="node"):
        status, doc, _ = self.http("GET", "/api/quarantines", token=token)
        self.assertEqual(status, 200, doc)
        self.assertIsNone(doc["next_cursor"], doc)
        return doc["items"]

    def assert_refused(self, answer, status, code, pointer=None):
        got, doc, _ = answer
        self.assertEqual(got, status, doc)
        self.assertEqual(doc["error"]["code"], code, doc)
        if pointer is not None:
            self.assertEqual(doc["error"]["pointer"], pointer, doc)
        return doc

    def overrides(self, target):
        return [p["payload"] for p in self.history(target)
                if p["kind"] == "operator.override"]

    def test_quarantines_are_added_listed_and_removed_through_http_and_the_cli(self):
        self.assertEqual(self.quarantines(), [])
        self.assertEqual(self.cli_json("quarantine", "list"),
                         {"items": [], "next_cursor": None})

        # A module through HTTP.
        status, doc, _ = self.http("POST", "/api/quarantines",
                                   {"module": "slow@1", "reason": "flaky"})
        self.assertEqual(status, 201, doc)
        self.assertEqual(doc["target"], "module:slow@1")
        self.assertEqual(doc["state"], "open")
        self.assertEqual(doc["by"], "admin")
        self.assertEqual(doc["reason"], "flaky")
        self.assertIn("since", doc)

        # A pool through the CLI.
        r = self.cli_ok("quarantine", "add", "pool", "default", "--reason", "maintenance")
        self.assertEqual(r.stdout.strip(), "quarantined pool:default")

        # Listed by target, as JSON and as a table.
        listed = self.quarantines()
        self.assertEqual([q["target"] for q in listed], ["module:slow@1", "pool:default"])
        self.assertEqual(listed[1]["reason"], "maintenance")
        self.assertEqual(self.cli_json("quarantine", "list")["items"], listed)
        lines = self.cli_ok("quarantine", "list").stdout.splitlines()
        self.assertEqual(lines[0].split(), ["target", "state", "by", "since", "reason"])
        self.assertEqual(len(lines), 3, lines)
        self.assertTrue(lines[1].startswith("module:slow@1"), lines)
        self.assertIn("flaky", lines[1])
        self.assertTrue(lines[2].startswith("pool:default"), lines)
        # One page of one.
        page = self.get_ok("/api/quarantines?limit=1")
        self.assertEqual([q["target"] for q in page["items"]], ["module:slow@1"])
        self.assertIsNotNone(page["next_cursor"])

        # Each is an operator.override naming the token.
        for target, reason in (("module:slow@1", "flaky"), ("pool:default", "maintenance")):
            added = self.overrides(target)
            self.assertEqual(len(added), 1, added)
            self.assertEqual(added[0]["action"], "quarantine.add")
            self.assertEqual(added[0]["target"], target)
            self.assertEqual(added[0]["reason"], reason)
            self.assertEqual(added[0]["operator"], "admin")

        # Removed through HTTP (the target in the path, encoded or not) and the CLI.
        status, doc, _ = self.http("DELETE", "/api/quarantines/module%3Aslow%401")
        self.assertEqual(status, 200, doc)
        self.assertEqual(doc["target"], "module:slow@1")
        self.assertEqual([q["target"] for q in self.quarantines()], ["pool:default"])
        r = self.cli_ok("quarantine", "rm", "pool", "default")
        self.assertEqual(r.stdout.strip(), "released pool:default")
        self.assertEqual(self.quarantines(), [])
        self.assertEqual([p["action"] for p in self.overrides("pool:default")],
                         ["quarantine.add", "quarantine.remove"])

        # Again: there is none.
        doc = self.assert_refused(self.http("DELETE", "/api/quarantines/module:slow@1"),
                                  404, "not_found")
        self.assertIn("module:slow@1", doc["error"]["message"])
        r = self.cli("quarantine", "rm", "module", "slow@1")
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("not_found", r.stderr)

        # Both removed: work runs there again.
        task = self.submit("slow@1", values={"seconds": 0})
        self.assertEqual(self.wait_finished(task["task_id"], timeout=30)["status"], "DONE")
        self.finish()

    def test_a_malformed_request_is_400_with_every_problem_and_its_pointer(self):
        doc = self.assert_refused(self.http("POST", "/api/quarantines", {"target": "gpu"}),
                                  400, "invalid_argument", "/target")
        self.assertIn("module:<name@N> or pool:<name>", doc["error"]["message"])

        doc = self.assert_refused(
            self.http("POST", "/api/quarantines",
                      {"module": "slow", "pool": "a b", "reason": 7, "colour": "red"}),
            400, "invalid_argument", "/module")
        self.assertEqual([(e["code"], e["pointer"]) for e in doc["errors"]],
                         [("invalid_argument", "/module"), ("invalid_argument", "/pool"),
                          ("type_mismatch", "/reason"), ("unknown_field", "/colour")])

        self.assert_refused(self.http("POST", "/api/quarantines", {}),
                            400, "missing_field", "/target")
        self.assert_refused(self.http("POST", "/api/quarantines", b"{"), 400, "invalid_json")
        self.assert_refused(self.http("DELETE", "/api/quarantines/gpu"),
                            400, "invalid_argument")

        # The CLI prints the node's refusal with its pointer; a kind it does
        # not know is a usage error.
        r = self.cli("quarantine", "add", "module", "not-a-ref")
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("invalid_argument", r.stderr)
        self.assertIn("/module", r.stderr)
        r = self.cli("quarantine", "add", "worker", "w1")
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)

        self.assertEqual(self.quarantines(), [])
        self.finish()

    def test_a_viewer_lists_quarantines_but_cannot_add_or_remove_one(self):
        viewer = self.cli_ok("token", "create", "dash", "--role", "viewer").stdout.strip()
        self.cli_ok("quarantine", "add", "module", "slow@1")
        self.assertEqual([q["target"] for q in self.quarantines(token=viewer)],
                         ["module:slow@1"])
        for method, path, body in (("POST", "/api/quarantines", {"pool": "default"}),
                                   ("DELETE", "/api/quarantines/module:slow@1", None)):
            doc = self.assert_refused(self.http(method, path, body, token=viewer),
                                      403, "forbidden")
            self.assertIn("'operator'", doc["error"]["message"])
        self.assertEqual([q["target"] for q in self.quarantines()], ["module:slow@1"])
        # An operator may.
        operator = self.cli_ok("token", "create", "ops", "--role", "operator").stdout.strip()
        status, doc, _ = self.http("DELETE", "/api/quarantines/module:slow@1", token=operator)
        self.assertEqual(status, 200, doc)
        self.assertEqual(self.overrides("module:slow@1")[-1]["operator"], "ops")
        self.finish()


class RetryTest(NodeTestCase):

    def test_retrying_a_done_task_is_illegal_and_an_unknown_one_not_found(self):
        done = self.submit("slow@1", values={"seconds": 0})
        task_id = done["task_id"]
        self.assertEqual(self.wait_finished(task_id)["status"], "DONE")
        kinds = [p["kind"] for p in self.history(task_id)]

        status, doc, _ = self.http("POST", f"/api/tasks/{task_id}/retry")
        self.assertEqual(status, 409, doc)
        self.assertEqual(doc["error"]["code"], "illegal_transition", doc)
        r = self.cli("task", "retry", task_id)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("illegal_transition", r.stderr)
        self.assertEqual(self.task(task_id)["status"], "DONE")
        self.assertEqual([p["kind"] for p in self.history(task_id)], kinds,
                         "a refused retry writes nothing")

        unknown = str(uuid.uuid4())
        status, doc, _ = self.http("POST", f"/api/tasks/{unknown}/retry")
        self.assertEqual(status, 404, doc)
        self.assertEqual(doc["error"]["code"], "not_found", doc)
        r = self.cli("task", "retry", unknown)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("not_found", r.stderr)
        self.finish()

    def test_a_failed_task_runs_again_and_its_dependant_waits_on_it_again(self):
        self.register_relay()
        failed = self.submit("fail-on-request@1", values={"mode": "exit"})
        dependant = self.submit("json-relay@1",
                                inputs={"source": failed["outputs"]["report"]})
        first = self.wait_finished(failed["task_id"])
        self.assertEqual(first["status"], "ERROR", first)
        ended = self.wait_finished(dependant["task_id"])
        self.assertEqual(ended["error"]["code"], "upstream_failed", ended)

        r = self.cli_ok("task", "retry", failed["task_id"], "--json")
        retried = json.loads(r.stdout)
        self.assertEqual(retried["task_id"], failed["task_id"])
        self.assertGreater(retried["attempt"], first["attempt"])
        self.assertNotIn(retried["status"], FINISHED)
        kinds = [p["kind"] for p in self.history(failed["task_id"])]
        self.assertIn("task.retried", kinds)
        self.assertIn("operator.override", kinds)
        self.assertIn("task.revived",
                      [p["kind"] for p in self.history(dependant["task_id"])])

        # It fails again (the module is asked to), and so does what waited.
        again = self.wait_finished(failed["task_id"])
        self.assertEqual(again["status"], "ERROR", again)
        self.assertEqual(again["attempt"], retried["attempt"])
        ended = self.wait_finished(dependant["task_id"])
        self.assertEqual(ended["error"]["code"], "upstream_failed", ended)
        self.finish()


if __name__ == "__main__":
    node_harness.main()
