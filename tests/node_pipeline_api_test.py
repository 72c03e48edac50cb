#!/usr/bin/env python3
"""Pipelines, runs and triggers through a real node's HTTP API and CLI
(docs/pipelines.md, "HTTP API"; runtime/api_pipelines.cpp,
runtime/cli_pipeline.cpp).

Usage: node_pipeline_api_test.py OMNIVA_BINARY REPO_DIR

- Registration: `POST /api/pipelines` and `omniva pipeline register` answer
  201 (the ref and the pipeline with each step's kind, scope and
  depends_on), the same document again 200, another document under the ref
  409 `immutable_ref`; a refused document is 422 with every problem and its
  pointer (the CLI prints them all, exit 1); a body that is no JSON or names
  a member twice is 400. `GET /api/pipelines[/{ref}]`, `pipeline list|show`,
  404 for an unknown ref. A viewer reads but cannot register or start.
- Runs: a two-step pipeline (talker@1 then json-relay@1, chained through
  talker's output) in mock mode reaches DONE (polled through
  `GET /api/runs/{id}`) with its steps, tasks (which carry the run, the step
  and the branch, and the run id as their trace id) and outputs; started
  through HTTP and `omniva pipeline run`. Run request problems are 422 with
  every problem. `GET /api/runs` filters (pipeline, status, limit, cursor;
  anything else 400 `invalid_filter`), `run list|show|explain`, 404s, and
  409 `run_not_active` for an action that does not apply (resume a run that
  is not paused, cancel one that ended). A real run waiting on its first
  task is paused, resumed and cancelled.
- Triggers: created through HTTP (`every`) and the CLI (`--cron`), listed,
  removed (404 the second time); a bad request is 400 with every problem
  (`/cron` for a bad cron expression).
- A module folder's `pipelines/<name>@<N>.json` is loaded at start, after the
  modules, and reported by a rescan as kind "pipeline" (registered,
  unchanged or refused with its first problem).

The harness (a node per case, HTTP and CLI helpers) is tests/node_harness.py.
"""

import json
import os
import shutil
import urllib.parse
import uuid

import node_harness
from node_harness import *  # noqa: F401,F403 (the fixtures and NodeTestCase)

# talker@1's output `done` (a JSON document) feeds json-relay@1's `source`.
def shipped_pipelines():
    """The refs of the pipelines shipped in modules/pipelines (clips@1):
    every node of these tests loads them at start."""
    folder = os.path.join(node_harness.REPO, "modules", "pipelines")
    return sorted(name[:-len(".json")] for name in os.listdir(folder)
                  if name.endswith(".json"))


def refs_with_shipped(*refs):
    return sorted(list(refs) + shipped_pipelines())


CHAIN = {
    "name": "chain",
    "version": 1,
    "schema_version": "1.0.0",
    "description": "Talks, then relays what it said (a test fixture).",
    "inputs": [{"key": "gate", "label": "The file talker waits for",
                "contract_type": "VALUE", "dtype": "string"}],
    "steps": [
        {"id": "talk", "module": "talker@1", "inputs": {"gate": {"from": "inputs.gate"}}},
        {"id": "relay", "module": "json-relay@1", "inputs": {"source": {"from": "talk.done"}}},
    ],
    "outputs": {"copy": {"from": "relay.copy"}},
}


def other(doc, **changes):
    """A copy of pipeline document `doc` with `changes`."""
    out = json.loads(json.dumps(doc))
    out.update(changes)
    return out


class PipelineCase(NodeTestCase):
    """The helpers of the cases below."""

    def assert_refused(self, answer, status, code, pointer=None):
        got, doc, _ = answer
        self.assertEqual(got, status, doc)
        self.assertEqual(doc["error"]["code"], code, doc)
        if pointer is not None:
            self.assertEqual(doc["error"]["pointer"], pointer, doc)
        return doc

    def register_chain(self):
        """Registers talker@1, json-relay@1 and chain@1."""
        self.register_talker()
        self.register_relay()
        status, doc, _ = self.http("POST", "/api/pipelines", CHAIN)
        self.assertEqual(status, 201, doc)
        return doc

    def start(self, ref="chain@1", values=None, mode="mock", **extra):
        body = {"values": values if values is not None else {"gate": "/nowhere"},
                "mode": mode}
        body.update(extra)
        status, doc, _ = self.http("POST", f"/api/pipelines/{ref}/runs", body)
        self.assertEqual(status, 201, doc)
        return doc

    def run_of(self, run_id):
        return self.get_ok(f"/api/runs/{run_id}")

    def wait_run(self, run_id, statuses, timeout=30):
        return wait_until(lambda: (lambda r: r if r["status"] in statuses else None)(
            self.run_of(run_id)), timeout, f"run {run_id} to be one of {statuses}")


class PipelineRegistrationTest(PipelineCase):

    def test_a_pipeline_is_registered_through_http_and_the_cli_once_per_content(self):
        self.assertEqual([x["ref"] for x in self.get_ok("/api/pipelines")["items"]],
                         shipped_pipelines())
        doc = self.register_chain()
        self.assertEqual(doc["ref"], "chain@1")
        p = doc["pipeline"]
        self.assertEqual(p["ref"], "chain@1")
        self.assertEqual(p["description"], CHAIN["description"])
        self.assertEqual([(s["id"], s["kind"], s["scope"], s["depends_on"]) for s in p["steps"]],
                         [("talk", "single", [], []), ("relay", "single", [], ["talk"])])
        self.assertEqual(p["outputs"], CHAIN["outputs"])

        # The same document again: 200, nothing new; other content: 409.
        status, again, _ = self.http("POST", "/api/pipelines", CHAIN)
        self.assertEqual(status, 200, again)
        self.assertEqual(again, doc)
        changed = self.assert_refused(
            self.http("POST", "/api/pipelines", other(CHAIN, description="changed")),
            409, "immutable_ref")
        self.assertEqual([e["code"] for e in changed["errors"]], ["immutable_ref"])
        self.assertEqual([p["kind"] for p in self.history("chain@1")],
                         ["pipeline.registered"])

        # Through the CLI, from a file.
        path = self.write("relay-only@1.json", json.dumps(other(
            CHAIN, name="relay-only", inputs=[],
            steps=[{"id": "relay", "module": "json-relay@1",
                    "inputs": {"source": {"from": "inputs.doc"}}}])))
        r = self.cli("pipeline", "register", path)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("unresolved_reference /steps/0/inputs/source/from", r.stderr)
        solo = other(CHAIN, name="solo", steps=[CHAIN["steps"][0]],
                     outputs={"done": {"from": "talk.done"}})
        path = self.write("solo@1.json", json.dumps(solo))
        self.assertEqual(self.cli_ok("pipeline", "register", path).stdout.strip(), "solo@1")
        self.assertEqual(self.cli_ok("pipeline", "register", path).stdout.strip(), "solo@1")
        answer = self.cli_json("pipeline", "register", path)
        self.assertEqual(answer["ref"], "solo@1")
        self.assertEqual(answer["pipeline"]["steps"][0]["kind"], "single")
        self.write("solo@1.json", json.dumps(other(solo, description="another")))
        r = self.cli("pipeline", "register", path)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("immutable_ref", r.stderr)

        # Listed by ref; shown; 404 for a ref nobody registered.
        listed = self.get_ok("/api/pipelines")
        self.assertEqual([x["ref"] for x in listed["items"]],
                         refs_with_shipped("chain@1", "solo@1"))
        self.assertIsNone(listed["next_cursor"])
        page = self.get_ok("/api/pipelines?limit=1")
        self.assertEqual([x["ref"] for x in page["items"]], ["chain@1"])
        self.assertEqual([x["ref"] for x in self.items("/api/pipelines?limit=1")],
                         refs_with_shipped("chain@1", "solo@1"))
        self.assertEqual(self.cli_json("pipeline", "list")["items"], listed["items"])
        lines = self.cli_ok("pipeline", "list").stdout.splitlines()
        self.assertEqual(lines[0].split(), ["ref", "steps", "description"])
        self.assertTrue(lines[1].startswith("chain@1"), lines)
        self.assertEqual(lines[1].split()[1], "2", lines)
        self.assertEqual(self.get_ok("/api/pipelines/chain@1"), p)
        self.assertEqual(self.cli_json("pipeline", "show", "chain@1"), p)
        shown = self.cli_ok("pipeline", "show", "chain@1").stdout
        self.assertIn("relay  json-relay@1  single", shown)
        self.assertIn("copy <- relay.copy", shown)
        self.assert_refused(self.http("GET", "/api/pipelines/chain@9"), 404, "not_found")
        r = self.cli("pipeline", "show", "chain@9")
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("not_found", r.stderr)
        self.assert_refused(self.http("GET", "/api/pipelines?colour=red"), 400,
                            "invalid_filter", "/colour")
        self.finish()

    def test_a_refused_pipeline_is_422_with_every_problem_and_its_pointer(self):
        self.register_relay()
        broken = {
            "name": "broken", "version": 1, "schema_version": "1.0.0",
            "steps": [
                {"id": "talk", "module": "nope@1", "inputs": {"gate": {"from": "inputs.gate"}}},
                {"id": "relay", "module": "json-relay@1",
                 "inputs": {"source": {"from": "ghost.done"}, "colour": {"value": 1}}},
            ],
            "outputs": {"copy": {"from": "relay.nothing"}},
        }
        status, doc, _ = self.http("POST", "/api/pipelines", broken)
        self.assertEqual(status, 422, doc)
        self.assertEqual([(e["code"], e["pointer"]) for e in doc["errors"]],
                         [("module_not_found", "/steps/0/module"),
                          ("unresolved_reference", "/steps/0/inputs/gate/from"),
                          ("unresolved_reference", "/steps/1/inputs/source/from"),
                          ("unknown_input", "/steps/1/inputs/colour"),
                          ("unresolved_reference", "/outputs/copy/from")])
        # The CLI prints every one of them.
        path = self.write("broken@1.json", json.dumps(broken))
        r = self.cli("pipeline", "register", path)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("refused with 5 error(s)", r.stderr)
        for e in doc["errors"]:
            self.assertIn(f"{e['code']} {e['pointer']}", r.stderr)

        # Bodies that are no pipeline at all.
        status, doc, _ = self.http("POST", "/api/pipelines", [1])
        self.assertEqual(status, 422, doc)
        self.assert_refused(self.http("POST", "/api/pipelines", b"{"), 400, "invalid_json")
        self.assert_refused(self.http("POST", "/api/pipelines",
                                      b'{"name": "a", "name": "b"}'),
                            400, "duplicate_key", "/name")
        self.assertEqual([x["ref"] for x in self.get_ok("/api/pipelines")["items"]],
                         shipped_pipelines())
        self.finish()

    def test_a_viewer_reads_pipelines_and_runs_but_cannot_register_or_start(self):
        self.register_chain()
        run = self.start()
        viewer = self.cli_ok("token", "create", "dash", "--role", "viewer").stdout.strip()
        for path in ("/api/pipelines", "/api/pipelines/chain@1", "/api/runs",
                     f"/api/runs/{run['run_id']}", "/api/triggers"):
            status, doc = self.get(path, token=viewer)
            self.assertEqual(status, 200, f"{path}: {doc}")
        for method, path, body in (
                ("POST", "/api/pipelines", other(CHAIN, version=2)),
                ("POST", "/api/pipelines/chain@1/runs", {"values": {"gate": "x"}}),
                ("POST", f"/api/runs/{run['run_id']}/cancel", None),
                ("POST", "/api/triggers", {"pipeline": "chain@1", "every": "1d"}),
                ("DELETE", f"/api/triggers/{uuid.uuid4()}", None)):
            doc = self.assert_refused(self.http(method, path, body, token=viewer),
                                      403, "forbidden")
            self.assertIn("'operator'", doc["error"]["message"])
        self.assertEqual(len(self.get_ok("/api/runs")["items"]), 1)
        self.finish()


class RunTest(PipelineCase):

    def test_a_mock_run_reaches_done_and_is_listed_shown_and_explained(self):
        self.register_chain()
        started = self.start()
        run_id = started["run_id"]
        self.assertRegex(run_id, UUID)
        self.assertEqual(started["pipeline"], "chain@1")
        self.assertIn(started["status"], ("RUNNING", "DONE"))
        self.assertEqual(started["mode"], "mock")
        self.assertEqual(started["values"], {"gate": "/nowhere"})
        self.assertEqual([s["id"] for s in started["steps"]], ["talk", "relay"])

        run = self.wait_run(run_id, ("DONE", "FAILED", "CANCELLED"))
        self.assertEqual(run["status"], "DONE", run)
        self.assertIn("ended_at", run)
        self.assertEqual(run["tasks"]["DONE"], 2, run)
        self.assertEqual(run["tasks"]["total"], 2, run)
        self.assertEqual([(s["id"], s["module"], s["kind"], s["branches"], s["tasks"]["DONE"])
                          for s in run["steps"]],
                         [("talk", "talker@1", "single", 1, 1),
                          ("relay", "json-relay@1", "single", 1, 1)])
        self.assertEqual(run["missing"], [])
        self.assertEqual([(t["step"], t["branch"], t["status"]) for t in run["task_ids"]],
                         [("talk", "", "DONE"), ("relay", "", "DONE")])
        # The run's output is the relay's; each task names its run and step,
        # and the run id is its trace id.
        relay = self.task(run["task_ids"][1]["task_id"])
        self.assertEqual(run["outputs"], {"copy": relay["outputs"]["copy"]})
        self.assertEqual(self.asset(run["outputs"]["copy"])["status"], "AVAILABLE")
        for t in run["task_ids"]:
            task = self.task(t["task_id"])
            self.assertEqual((task["run_id"], task["step"], task["trace_id"]),
                             (run_id, t["step"], run_id), task)
        self.assertEqual(relay["input_mapping"]["source"],
                         self.task(run["task_ids"][0]["task_id"])["outputs"]["done"])

        # Another through the CLI: it prints the run id.
        r = self.cli_ok("pipeline", "run", "chain@1", "--value", "gate=/elsewhere", "--mock")
        second = r.stdout.strip()
        self.assertRegex(second, UUID)
        self.assertEqual(self.wait_run(second, ("DONE", "FAILED"))["status"], "DONE")
        self.assertEqual(self.run_of(second)["values"], {"gate": "/elsewhere"})
        as_json = self.cli_json("pipeline", "run", "chain@1", "--value", "gate=\"x\"",
                                "--mock", "--priority", "3")
        third = as_json["run_id"]
        self.assertEqual((as_json["priority"], as_json["mode"]), (3, "mock"))
        self.wait_run(third, ("DONE", "FAILED"))

        # Lists: newest first, filtered, a page at a time.
        runs = self.get_ok("/api/runs")["items"]
        self.assertEqual([x["run_id"] for x in runs], [third, second, run_id])
        self.assertEqual(runs[2]["tasks"]["DONE"], 2)
        self.assertEqual(len(self.get_ok("/api/runs?pipeline=chain@1&status=DONE")["items"]), 3)
        self.assertEqual(self.get_ok("/api/runs?status=RUNNING")["items"], [])
        page = self.get_ok("/api/runs?limit=2")
        self.assertEqual([x["run_id"] for x in page["items"]], [third, second])
        rest = self.get_ok("/api/runs?limit=2&cursor="
                           + urllib.parse.quote(page["next_cursor"]))
        self.assertEqual([x["run_id"] for x in rest["items"]], [run_id])
        self.assertIsNone(rest.get("next_cursor"))
        for query, pointer in (("status=done", "/status"), ("pipeline=nope@1", "/pipeline"),
                               ("limit=0", "/limit"), ("limit=1001", "/limit"),
                               ("cursor=", "/cursor"), ("cursor=abc", "/cursor"),
                               ("colour=red", "/colour")):
            self.assert_refused(self.http("GET", "/api/runs?" + query), 400,
                                "invalid_filter", pointer)
        self.assertEqual([x["run_id"] for x in self.cli_json("run", "list", "--status", "DONE",
                                                             "--pipeline", "chain@1")["items"]],
                         [third, second, run_id])
        lines = self.cli_ok("run", "list").stdout.splitlines()
        self.assertEqual(lines[0].split(), ["run_id", "pipeline", "status", "created_at", "tasks"])
        self.assertTrue(lines[3].startswith(run_id), lines)
        self.assertIn("DONE 2", lines[3])
        r = self.cli("run", "list", "--status", "done")
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)

        # Shown for people and as JSON.
        self.assertEqual(self.cli_json("run", "show", run_id), self.run_of(run_id))
        shown = self.cli_ok("run", "show", run_id).stdout
        self.assertIn("status        DONE", shown)
        self.assertIn("tasks         DONE 2", shown)
        self.assertIn("talk   talker@1      single  DONE 1", shown)
        self.assertIn(f"copy  {run['outputs']['copy']}", shown)

        # Explained by HaloLux from the run's trace.
        status, story, _ = self.http("GET", f"/api/runs/{run_id}/explain")
        self.assertEqual(status, 200, story)
        self.assertEqual(story["subject"], run_id)
        for t in run["task_ids"]:
            self.assertIn(t["task_id"], story["narrative"])
        self.assertTrue(story["chain"], story)
        one = self.get_ok(f"/api/runs/{run_id}/explain?limit=1")
        self.assertIsNotNone(one.get("next_cursor"), one)
        self.assert_refused(self.http("GET", f"/api/runs/{run_id}/explain?limit=0"),
                            400, "invalid_filter", "/limit")
        told = self.cli_ok("run", "explain", run_id).stdout
        self.assertIn(run["task_ids"][0]["task_id"], told)
        self.assertIn("completeness:", told)

        # 404s.
        unknown = str(uuid.uuid4())
        for method, path in (("GET", f"/api/runs/{unknown}"),
                             ("POST", f"/api/runs/{unknown}/cancel"),
                             ("POST", f"/api/runs/{unknown}/resume"),
                             ("GET", f"/api/runs/{unknown}/explain"),
                             ("POST", "/api/pipelines/nope@1/runs")):
            self.assert_refused(self.http(method, path, {} if method == "POST" else None),
                                404, "not_found")
        r = self.cli("run", "show", unknown)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("not_found", r.stderr)

        # 409: actions that do not apply to a DONE run change nothing.
        before = self.run_of(run_id)
        for action in ("resume", "pause", "cancel"):
            doc = self.assert_refused(self.http("POST", f"/api/runs/{run_id}/{action}"),
                                      409, "run_not_active")
            self.assertIn("DONE", doc["error"]["message"])
        r = self.cli("run", "resume", run_id)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("run_not_active", r.stderr)
        self.assertEqual(self.run_of(run_id), before)
        self.finish()

    def test_a_run_request_with_problems_is_422_with_every_problem(self):
        self.register_chain()
        status, doc, _ = self.http("POST", "/api/pipelines/chain@1/runs",
                                   {"inputs": {"x": "nope"}, "mode": "weird",
                                    "priority": "high", "colour": 1})
        self.assertEqual(status, 422, doc)
        got = {(e["code"], e["pointer"]) for e in doc["errors"]}
        for expected in (("unknown_field", "/colour"), ("invalid_uuid", "/inputs/x"),
                         ("not_in_enum", "/mode"), ("type_mismatch", "/priority"),
                         ("missing_input", "/values/gate")):
            self.assertIn(expected, got, doc)
        status, doc, _ = self.http("POST", "/api/pipelines/chain@1/runs",
                                   {"pipeline": "solo@1", "values": {"gate": "x"}})
        self.assertEqual(status, 422, doc)
        self.assertEqual([(e["code"], e["pointer"]) for e in doc["errors"]],
                         [("invalid_argument", "/pipeline")])
        status, doc, _ = self.http("POST", "/api/pipelines/chain@1/runs", [])
        self.assertEqual(status, 422, doc)
        r = self.cli("pipeline", "run", "chain@1", "--mock")
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("missing_input /values/gate", r.stderr)
        r = self.cli("pipeline", "run", "chain@1", "--value", "gate")
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
        self.assertEqual(self.get_ok("/api/runs")["items"], [])
        self.finish()

    def test_a_running_run_is_paused_resumed_and_cancelled(self):
        self.register_chain()
        gate = os.path.join(self.tmp, "gate")
        run_id = self.start(values={"gate": gate}, mode="real")["run_id"]
        talk = self.run_of(run_id)["task_ids"][0]["task_id"]
        self.wait_status(talk, ("RUNNING",))

        status, doc, _ = self.http("POST", f"/api/runs/{run_id}/pause")
        self.assertEqual(status, 200, doc)
        self.assertEqual(doc["status"], "PAUSED", doc)
        self.assertEqual(self.run_of(run_id)["status"], "PAUSED")
        self.assert_refused(self.http("POST", f"/api/runs/{run_id}/pause"),
                            409, "run_not_active")
        self.assertEqual(self.cli_ok("run", "resume", run_id).stdout.strip(), "RUNNING")
        self.assert_refused(self.http("POST", f"/api/runs/{run_id}/resume"),
                            409, "run_not_active")
        status, doc, _ = self.http("POST", f"/api/runs/{run_id}/cancel")
        self.assertEqual(status, 200, doc)
        self.assertEqual(doc["status"], "CANCELLED", doc)
        self.assertIn("ended_at", doc)
        self.assertEqual(self.wait_finished(talk)["status"], "CANCELLED")
        run = self.run_of(run_id)
        self.assertEqual(run["status"], "CANCELLED")
        self.assertNotIn("RUNNING", {t["status"] for t in run["task_ids"]})
        self.assert_refused(self.http("POST", f"/api/runs/{run_id}/resume"),
                            409, "run_not_active")
        self.assertEqual([x["run_id"] for x in
                          self.get_ok("/api/runs?status=CANCELLED")["items"]], [run_id])
        self.finish()


class TriggerTest(PipelineCase):

    def test_triggers_are_created_listed_and_removed_through_http_and_the_cli(self):
        self.register_chain()
        self.assertEqual(self.get_ok("/api/triggers")["items"], [])
        status, daily, _ = self.http("POST", "/api/triggers",
                                     {"pipeline": "chain@1", "every": "1d",
                                      "values": {"gate": "x"}, "mode": "mock"})
        self.assertEqual(status, 201, daily)
        self.assertRegex(daily["trigger_id"], UUID)
        self.assertEqual((daily["pipeline"], daily["every_ms"], daily["mode"]),
                         ("chain@1", 86_400_000, "mock"))
        self.assertEqual(daily["values"], {"gate": "x"})
        self.assertEqual(daily["created_by"], "admin")
        self.assertIn("next_start", daily)

        r = self.cli_ok("trigger", "create", "chain@1", "--cron", "0 6 * * *",
                        "--value", "gate=\"y\"", "--mock")
        cron_id = r.stdout.strip()
        self.assertRegex(cron_id, UUID)
        listed = self.get_ok("/api/triggers")["items"]
        self.assertEqual([t["trigger_id"] for t in listed], sorted([daily["trigger_id"], cron_id]))
        by_id = {t["trigger_id"]: t for t in listed}
        self.assertEqual(by_id[cron_id]["cron"], "0 6 * * *")
        self.assertEqual(by_id[cron_id]["values"], {"gate": "y"})
        self.assertTrue(by_id[cron_id]["next_start"].endswith("T06:00:00.000Z"),
                        by_id[cron_id])
        self.assertEqual(by_id[daily["trigger_id"]], daily)
        self.assertEqual(self.cli_json("trigger", "list")["items"], listed)
        lines = self.cli_ok("trigger", "list").stdout.splitlines()
        self.assertEqual(lines[0].split(),
                         ["trigger_id", "pipeline", "schedule", "mode", "next_start",
                          "last_run_id"])
        self.assertIn("cron 0 6 * * *", lines[1 + sorted(by_id).index(cron_id)])
        self.assertIn("every 1d", lines[1 + sorted(by_id).index(daily["trigger_id"])])
        self.assertEqual([p["kind"] for p in self.history(daily["trigger_id"])],
                         ["trigger.created"])

        # Bad requests: 400 with every problem and its pointer.
        doc = self.assert_refused(
            self.http("POST", "/api/triggers", {"pipeline": "chain@1", "cron": "0 25 * * *"}),
            400, "invalid_argument", "/cron")
        self.assertIn("25", doc["error"]["message"])
        doc = self.assert_refused(
            self.http("POST", "/api/triggers", {"pipeline": "nope@1", "cron": "bad", "colour": 1}),
            400, "unknown_field")
        self.assertEqual({(e["code"], e["pointer"]) for e in doc["errors"]},
                         {("unknown_field", "/colour"), ("invalid_argument", "/cron"),
                          ("not_found", "/pipeline")})
        self.assert_refused(self.http("POST", "/api/triggers", {"pipeline": "chain@1"}),
                            400, "missing_field", "/every")
        self.assert_refused(self.http("POST", "/api/triggers",
                                      {"pipeline": "chain@1", "every": "1d",
                                       "cron": "* * * * *"}),
                            400, "invalid_argument")
        self.assert_refused(self.http("POST", "/api/triggers",
                                      {"pipeline": "chain@1", "every": "soon"}),
                            400, "invalid_argument", "/every")
        r = self.cli("trigger", "create", "chain@1", "--cron", "61 * * * *")
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("invalid_argument /cron", r.stderr)
        r = self.cli("trigger", "create", "chain@1")
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
        self.assertEqual(len(self.get_ok("/api/triggers")["items"]), 2)

        # Removed: HTTP, then the CLI; again: 404.
        status, doc, _ = self.http("DELETE", f"/api/triggers/{daily['trigger_id']}")
        self.assertEqual(status, 200, doc)
        self.assertEqual(doc["trigger_id"], daily["trigger_id"])
        self.assert_refused(self.http("DELETE", f"/api/triggers/{daily['trigger_id']}"),
                            404, "not_found")
        self.assertEqual(self.cli_ok("trigger", "rm", cron_id).stdout.strip(),
                         f"removed {cron_id}")
        r = self.cli("trigger", "rm", cron_id)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("not_found", r.stderr)
        self.assertEqual(self.get_ok("/api/triggers")["items"], [])
        self.assertEqual([p["kind"] for p in self.history(daily["trigger_id"])],
                         ["trigger.created", "trigger.removed"])
        self.finish()


class FolderTest(PipelineCase):

    def test_a_module_folders_pipelines_are_loaded_at_start_after_its_modules(self):
        # A module folder (json-relay) holding pipelines: one good, one
        # naming a module nobody has, one whose document is not its file's
        # ref, one whose file name is no ref.
        root = os.path.join(self.tmp, "extra")
        folder = os.path.join(root, "json_relay")
        os.makedirs(os.path.join(folder, "pipelines"))
        with open(os.path.join(folder, "module.json"), "w", encoding="utf-8") as f:
            json.dump(node_harness.RELAY_CONTRACT, f)
        with open(os.path.join(folder, "relay.py"), "w", encoding="utf-8") as f:
            f.write(node_harness.RELAY_SCRIPT)
        relay_twice = {
            "name": "relay-twice", "version": 1, "schema_version": "1.0.0",
            "inputs": [{"key": "doc", "label": "A JSON document", "contract_type": "ASSET",
                        "constraints": {"media_types": ["application/json"]}}],
            "steps": [
                {"id": "first", "module": "json-relay@1", "inputs": {"source": {"from": "inputs.doc"}}},
                {"id": "second", "module": "json-relay@1", "inputs": {"source": {"from": "first.copy"}}},
            ],
            "outputs": {"copy": {"from": "second.copy"}},
        }
        files = {
            "relay-twice@1.json": relay_twice,
            "ghost@1.json": other(relay_twice, name="ghost",
                                  steps=[{"id": "first", "module": "ghost@1"}],
                                  outputs={}),
            "relay-twice@2.json": other(relay_twice, version=3),
        }
        for name, doc in files.items():
            with open(os.path.join(folder, "pipelines", name), "w", encoding="utf-8") as f:
                json.dump(doc, f)
        with open(os.path.join(folder, "pipelines", "Not A Ref.json"), "w",
                  encoding="utf-8") as f:
            f.write("{}")

        self.assertEqual(self.node.stop(), 0)
        self.node.extra_args += ["--modules", root]
        self.node.start()
        self.assertIn("registered pipeline relay-twice@1", self.node.log())

        p = self.get_ok("/api/pipelines/relay-twice@1")
        self.assertEqual([(s["id"], s["depends_on"]) for s in p["steps"]],
                         [("first", []), ("second", ["first"])])
        self.assertEqual([x["ref"] for x in self.get_ok("/api/pipelines")["items"]],
                         refs_with_shipped("relay-twice@1"))

        # A rescan reports each pipeline file after the modules (a file
        # whose name is no ref first, with the scan's other problems).
        status, report, _ = self.http("POST", "/api/modules/rescan")
        self.assertEqual(status, 200, report)
        kinds = [i["kind"] for i in report["items"] if i["ref"]]
        first_pipeline = kinds.index("pipeline")
        self.assertNotIn("module", kinds[first_pipeline:], kinds)
        items = {(i["ref"] or os.path.basename(i["source"])): i
                 for i in report["items"] if i["kind"] == "pipeline"}
        self.assertEqual(items["relay-twice@1"]["outcome"], "unchanged", items)
        self.assertEqual(items["relay-twice@1"]["source"],
                         os.path.join(folder, "pipelines", "relay-twice@1.json"))
        self.assertEqual(items["ghost@1"]["outcome"], "refused", items)
        self.assertEqual((items["ghost@1"]["error"]["code"], items["ghost@1"]["error"]["pointer"]),
                         ("module_not_found", "/steps/0/module"))
        self.assertEqual(items["relay-twice@2"]["outcome"], "refused", items)
        self.assertEqual((items["relay-twice@2"]["error"]["code"],
                          items["relay-twice@2"]["error"]["pointer"]),
                         ("invalid_ref", "/version"))
        self.assertEqual(items["Not A Ref.json"]["outcome"], "refused", items)
        self.assertEqual(items["Not A Ref.json"]["error"]["code"], "invalid_ref")
        r = self.cli("module", "rescan")
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("unchanged\tpipeline\trelay-twice@1", r.stdout)

        # The module folder is still registered as a module by itself.
        status, doc, _ = self.http("POST", "/api/modules?dir="
                                   + urllib.parse.quote(folder),
                                   node_harness.RELAY_CONTRACT)
        self.assertEqual(status, 201, doc)

        # And the loaded pipeline runs.
        path = self.write("hello.json", json.dumps({"hello": "world"}))
        status, added, _ = self.http("POST", "/api/assets/path", {"path": path})
        self.assertIn(status, (200, 201), added)
        status, run, _ = self.http("POST", "/api/pipelines/relay-twice@1/runs",
                                   {"inputs": {"doc": added["asset_id"]}, "mode": "mock"})
        self.assertEqual(status, 201, run)
        self.assertEqual(self.wait_run(run["run_id"], ("DONE", "FAILED"))["status"], "DONE")
        self.finish()


if __name__ == "__main__":
    node_harness.main()
