#!/usr/bin/env python3
"""Pipelines through a real node (docs/pipelines.md).

Usage: node_pipelines_test.py OMNIVA_BINARY REPO_DIR

Every case starts a node with the test modules of tests/pipeline_modules/
(lister@1, splitter@1, worker@1, vworker@1, report@1: real python3
programs, fast and deterministic; see its README.md) and four workers,
registers pipelines through `POST /api/pipelines` and runs them through
`POST /api/pipelines/{ref}/runs` (one through `omniva pipeline run`):

- a static chain of three single steps reaches DONE with its outputs; the
  same document again is accepted, another content under the ref refused;
  run requests with bad values or inputs are refused with every problem;
- a `many` output feeds a fan-out: one task per element, each created
  once, carrying run_id/step/branch; an empty list fans out to nothing;
- a nested fan-out (a list, then the array inside each element's JSON
  output) carries the parent along, and a single step inside the inner
  branch takes the same branch's outputs;
- `select` keeps the top K (ties: earlier first) and those at least `min`,
  in their order, for a list and for an array;
- a fan-in (`collect`) with one failed element: the run is DONE, the
  failure listed as missing (run and collected list), its siblings DONE;
  every element failed, or none there: the collect ends upstream_failed
  and the run FAILED;
- cancel, pause (created tasks stay READY, nothing is dispatched) and
  resume, retry of a run whose element failed (on a file flag the test
  removes) reaching DONE with nothing missing;
- a trigger every second starts runs (trigger_id set) until removed;
- a run explained (`GET /api/runs/{id}/explain` cites the fan-out's
  decision), and its lineage: every task's `task.created` follows from a
  `decision.zenith` (final_decision_source automation) naming it;
- registration refusals: one pipeline with many problems is refused with
  every one of them (422, code and pointer each).

The harness (a node per case, HTTP and CLI helpers) is tests/node_harness.py;
SIGKILL and restart in the middle of a run: tests/node_pipeline_restart_test.py.
"""

import json
import os
import time
import urllib.parse

import node_harness
from node_harness import *  # noqa: F401,F403 (the fixtures and NodeTestCase)

FINAL_RUN = ("DONE", "FAILED", "CANCELLED")
LIST_TYPE = "application/vnd.omniva.asset-list+json"


def lister_score(i):
    """lister@1's score of item i (tests/pipeline_modules/lister/lister.py)."""
    return ((37 * i) % 101) / 100


def select_indices(scores, top=None, minimum=None):
    """docs/pipelines.md's `select`: the indices whose score is at least
    `minimum`, then the `top` highest (ties: earlier first), in their
    original order."""
    kept = [i for i, s in enumerate(scores) if minimum is None or s >= minimum]
    kept.sort(key=lambda i: -scores[i])  # stable: ties keep the earlier first
    if top is not None:
        kept = kept[:top]
    return sorted(kept)


def branch_of(task):
    """The branch of a task of a run. (StaticPipelineTest checks that a root
    task's record carries `"branch": ""`; the other cases read a missing one
    as the root, so that they test what they are about.)"""
    return task.get("branch", "")


def value_input(key, dtype, default=None, **constraints):
    doc = {"key": key, "label": key, "contract_type": "VALUE", "dtype": dtype}
    if default is not None:
        doc["default"] = default
    if constraints:
        doc["constraints"] = constraints
    return doc


def json_input(key):
    return {"key": key, "label": key, "contract_type": "ASSET", "required": True,
            "constraints": {"media_types": ["application/json"]}}


def pipeline(name, inputs, steps, outputs=None, description=None):
    return {"name": name, "version": 1, "schema_version": "1.0.0",
            "description": description or f"{name} (a test pipeline)",
            "inputs": inputs, "steps": steps, "outputs": outputs or {}}


# first -> second -> third, all single steps on a document.
STATIC = pipeline(
    "static-chain",
    [json_input("doc"), value_input("fail_index", "int", -1)],
    [{"id": "first", "module": "worker@1",
      "inputs": {"item": {"from": "inputs.doc"},
                 "fail_index": {"from": "inputs.fail_index"}}},
     {"id": "second", "module": "worker@1",
      "inputs": {"item": {"from": "first.out"}, "parent": {"from": "inputs.doc"}}},
     {"id": "third", "module": "worker@1",
      # first.item: the asset first's input `item` took (first has no output `item`).
      "inputs": {"item": {"from": "second.out"}, "parent": {"from": "first.item"}}}],
    {"final": {"from": "third.out"}, "middle": {"from": "second.out"}})

# A list of `count` items, one worker per item.
FAN = pipeline(
    "fan",
    [value_input("count", "int", 4, min=0, max=50)],
    [{"id": "list", "module": "lister@1", "inputs": {"count": {"from": "inputs.count"}}},
     {"id": "work", "module": "worker@1", "for_each": {"from": "list.items"},
      "inputs": {"item": {"from": "item"}}}],
    {"outs": {"from": "work.out"}, "list": {"from": "list.items"}})

# A list; per item its candidates (an array inside the splitter's JSON
# output); per candidate a worker (its item a VALUE input) given its parent
# (the item the splitter took); then, in the same inner branch, a single step
# on the worker's output.
NESTED = pipeline(
    "nested",
    [value_input("count", "int", 3, min=0, max=50)],
    [{"id": "list", "module": "lister@1", "inputs": {"count": {"from": "inputs.count"}}},
     {"id": "split", "module": "splitter@1", "for_each": {"from": "list.items"},
      "inputs": {"source": {"from": "item"}}},
     {"id": "work", "module": "vworker@1",
      "for_each": {"from": "split.result", "pointer": "/candidates"},
      "inputs": {"item": {"from": "item"}, "parent": {"from": "split.source"}}},
     {"id": "again", "module": "worker@1",
      "inputs": {"item": {"from": "work.out"}, "parent": {"from": "split.result"}}}],
    {"results": {"from": "again.out"}})

# A list; per item a splitter; per candidate file (its `many` output) a worker.
LISTS = pipeline(
    "lists",
    [value_input("count", "int", 2, min=0, max=50)],
    [{"id": "list", "module": "lister@1", "inputs": {"count": {"from": "inputs.count"}}},
     {"id": "split", "module": "splitter@1", "for_each": {"from": "list.items"},
      "inputs": {"source": {"from": "item"}}},
     {"id": "work", "module": "worker@1", "for_each": {"from": "split.parts"},
      "inputs": {"item": {"from": "item"}, "parent": {"from": "split.source"}}}],
    {"results": {"from": "work.out"}})

# The elements of a fan-out given to an input of the other kind: a list's
# files to a VALUE input of dtype json, an array's values to an ASSET input
# of application/json ("each element is an asset given to the step's ASSET or
# VALUE input").
CROSS = pipeline(
    "cross",
    [value_input("count", "int", 3, min=0, max=50), json_input("doc")],
    [{"id": "list", "module": "lister@1", "inputs": {"count": {"from": "inputs.count"}}},
     {"id": "files", "module": "vworker@1", "for_each": {"from": "list.items"},
      "inputs": {"item": {"from": "item"}}},
     {"id": "split", "module": "splitter@1", "inputs": {"source": {"from": "inputs.doc"}}},
     {"id": "values", "module": "worker@1",
      "for_each": {"from": "split.result", "pointer": "/candidates"},
      "inputs": {"item": {"from": "item"}}}])

# `select` over a list (by /score; files to an ASSET input) and over an array
# (by /confidence; values to a VALUE input).
SELECT = pipeline(
    "select",
    [value_input("count", "int", 6, min=0, max=50), json_input("doc")],
    [{"id": "list", "module": "lister@1", "inputs": {"count": {"from": "inputs.count"}}},
     {"id": "best", "module": "worker@1",
      "for_each": {"from": "list.items",
                   "select": {"by": "score", "pointer": "/score", "top": 3}},
      "inputs": {"item": {"from": "item"}}},
     {"id": "good", "module": "worker@1",
      "for_each": {"from": "list.items",
                   "select": {"by": "score", "pointer": "/score", "min": 0.5}},
      "inputs": {"item": {"from": "item"}}},
     {"id": "split", "module": "splitter@1", "inputs": {"source": {"from": "inputs.doc"}}},
     {"id": "top", "module": "vworker@1",
      "for_each": {"from": "split.result", "pointer": "/candidates",
                   "select": {"by": "score", "pointer": "/confidence", "top": 2}},
      "inputs": {"item": {"from": "item"}}},
     {"id": "floor", "module": "vworker@1",
      "for_each": {"from": "split.result", "pointer": "/candidates",
                   "select": {"by": "score", "pointer": "/confidence", "min": 0.6,
                              "top": 5}},
      "inputs": {"item": {"from": "item"}}}])

# A list, a worker per item (failing on request), a report gathering them.
GATHER = pipeline(
    "gather",
    [value_input("count", "int", 4, min=0, max=50),
     value_input("list_sleep", "float", 0, min=0, max=30),
     value_input("fail_index", "int", -1),
     value_input("fail_all", "bool", False),
     value_input("fail_flag", "string", ""),
     value_input("sleep", "float", 0, min=0, max=30)],
    [{"id": "list", "module": "lister@1",
      "inputs": {"count": {"from": "inputs.count"}, "sleep": {"from": "inputs.list_sleep"}}},
     {"id": "work", "module": "worker@1", "for_each": {"from": "list.items"},
      "inputs": {"item": {"from": "item"},
                 "fail_index": {"from": "inputs.fail_index"},
                 "fail_all": {"from": "inputs.fail_all"},
                 "fail_flag": {"from": "inputs.fail_flag"},
                 "sleep": {"from": "inputs.sleep"}}},
     {"id": "report", "module": "report@1", "collect": {"from": "work.out"},
      "inputs": {"clips": {"from": "collected"}}}],
    {"summary": {"from": "report.summary"}})


class PipelineCase(NodeTestCase):
    """A node with the pipeline test modules and `pool` (four workers)."""

    pool = "default:4:2:1"

    def setUp(self):
        self.node_args = ("--modules", os.path.join(node_harness.REPO, "tests",
                                                     "pipeline_modules"),
                          "--pool", self.pool)
        super().setUp()

    # -- registering and running ------------------------------------------------------

    def register(self, doc):
        status, answer, _ = self.http("POST", "/api/pipelines", doc)
        self.assertEqual(status, 201, f"POST /api/pipelines {doc['name']}: {answer}")
        ref = f"{doc['name']}@{doc['version']}"
        self.assertEqual(answer["ref"], ref, answer)
        return ref

    def start(self, ref, values=None, inputs=None, **extra):
        body = {"inputs": inputs or {}, "values": values or {}}
        body.update(extra)
        status, run, _ = self.http("POST", f"/api/pipelines/{ref}/runs", body)
        self.assertEqual(status, 201, f"POST /api/pipelines/{ref}/runs {body}: {run}")
        self.assertRegex(run["run_id"], UUID)
        self.assertEqual(run["pipeline"], ref, run)
        return run

    def get_run(self, run_id):
        return self.get_ok(f"/api/runs/{run_id}")

    def wait_run(self, run_id, statuses=FINAL_RUN, timeout=40):
        last = {}

        def reached():
            last["run"] = self.get_run(run_id)
            return last["run"] if last["run"]["status"] in statuses else None
        try:
            return wait_until(reached, timeout, f"run {run_id} to be one of {statuses}")
        except AssertionError as e:
            raise AssertionError(f"{e}; the run: {json.dumps(last.get('run'))}") from None

    def wait_done(self, run_id, timeout=40):
        run = self.wait_run(run_id, timeout=timeout)
        self.assertEqual(run["status"], "DONE", json.dumps(run))
        return run

    def action(self, run_id, verb, expect=200):
        status, doc, _ = self.http("POST", f"/api/runs/{run_id}/{verb}")
        self.assertEqual(status, expect, f"POST /api/runs/{run_id}/{verb}: {doc}")
        if expect == 409:
            self.assertEqual(doc["error"]["code"], "run_not_active", doc)
        return doc

    # -- reading ------------------------------------------------------------------------

    def pages(self, path):
        """Every item of a list route (`next_cursor` may be absent or null)."""
        out, cursor = [], None
        while True:
            sep = "&" if "?" in path else "?"
            page = self.get_ok(path + (f"{sep}cursor={urllib.parse.quote(cursor)}"
                                       if cursor else ""))
            out += page["items"]
            cursor = page.get("next_cursor")
            if not cursor:
                return out

    def run_tasks(self, run):
        """The task records of `run` (from its `task_ids`), in creation order."""
        self.assertFalse(run.get("tasks_truncated", False), run)
        return [self.task(t["task_id"]) for t in run["task_ids"]]

    def by_step(self, tasks, step):
        """{branch: task} of `step`, checking there is one task per branch."""
        out = {}
        for t in tasks:
            if t["step"] == step:
                branch = branch_of(t)
                self.assertNotIn(branch, out,
                                 f"two tasks of step {step} in branch '{branch}': "
                                 f"{out.get(branch, {}).get('task_id')} and {t['task_id']}")
                out[branch] = t
        return out

    def check_run_tasks(self, run, tasks):
        """Each task carries the run: run_id, its trace, a step and a branch;
        `task_ids` agrees with the task records; the tasks the search by the
        run's id finds are the same."""
        listed = {t["task_id"]: t for t in run["task_ids"]}
        self.assertEqual(len(listed), len(run["task_ids"]), "task_ids has duplicates")
        for t in tasks:
            self.assertEqual(t["run_id"], run["run_id"], t)
            self.assertEqual(t["trace_id"], run["run_id"], t)
            self.assertEqual(listed[t["task_id"]]["step"], t["step"])
            self.assertEqual(listed[t["task_id"]]["branch"], branch_of(t))
        found = [t for t in self.pages(f"/api/tasks?q={run['run_id']}&limit=1000")
                 if t.get("run_id") == run["run_id"]]
        self.assertEqual(sorted(t["task_id"] for t in found), sorted(listed))
        self.assertEqual(run["tasks"]["total"], len(tasks), run["tasks"])

    def content(self, asset_id):
        status, doc, _ = self.http("GET", f"/api/assets/{asset_id}/content")
        self.assertEqual(status, 200, f"content of {asset_id}: {doc}")
        return json.loads(doc) if isinstance(doc, str) else doc

    def upload_json(self, doc, name="doc.json"):
        status, asset, _ = self.http(
            "POST", f"/api/assets/upload?filename={name}&media_type=application/json",
            json.dumps(doc).encode())
        self.assertEqual(status, 201, asset)
        return asset["asset_id"]

    def step_of(self, run, step_id):
        steps = {s["id"]: s for s in run["steps"]}
        self.assertIn(step_id, steps, run["steps"])
        return steps[step_id]

    def trace_packets(self, run_id):
        """The packets of the log whose trace is the run (the export)."""
        status, text, _ = self.http("GET", "/api/lineage/export")
        self.assertEqual(status, 200, text)
        out = []
        for line in text.splitlines():
            if line.strip():
                p = json.loads(line)
                if p.get("trace_id") == run_id:
                    out.append(p)
        return out

    def created_packets(self, run_id, task_ids):
        """{task id: [its task.created packets]} for the run's trace, checking
        that every task.created of the trace names one of `task_ids` (its
        subjects are the task, its inputs and its outputs)."""
        out = {t: [] for t in task_ids}
        for p in self.trace_packets(run_id):
            if p["kind"] == "task.created":
                named = [s for s in p["subjects"] if s in out]
                self.assertEqual(len(named), 1, f"a task.created of no task of the run: {p}")
                out[named[0]].append(p)
        return out

    def kinds_of_trace(self, run_id):
        return [p["kind"] for p in self.trace_packets(run_id)]


# -- a static pipeline ------------------------------------------------------------------


class StaticPipelineTest(PipelineCase):

    def test_three_single_steps_reach_done_with_outputs(self):
        ref = self.register(STATIC)
        # The same content again: 200; another content under the ref: 409.
        status, doc, _ = self.http("POST", "/api/pipelines", STATIC)
        self.assertEqual(status, 200, doc)
        other = dict(STATIC, description="another content")
        status, doc, _ = self.http("POST", "/api/pipelines", other)
        self.assertEqual(status, 409, doc)
        self.assertEqual(doc["error"]["code"], "immutable_ref", doc)

        shown = self.get_ok(f"/api/pipelines/{ref}")
        self.assertEqual(shown["ref"], ref)
        steps = {s["id"]: s for s in shown["steps"]}
        self.assertEqual([s["id"] for s in shown["steps"]], ["first", "second", "third"])
        for s in steps.values():
            self.assertEqual(s["kind"], "single", s)
            self.assertEqual(s["scope"], [], s)
        self.assertEqual(steps["first"]["depends_on"], [])
        self.assertEqual(steps["second"]["depends_on"], ["first"])
        self.assertEqual(steps["third"]["depends_on"], ["first", "second"])
        self.assertIn(ref, [p["ref"] for p in self.pages("/api/pipelines")])
        status, doc = self.get("/api/pipelines/nope@1")
        self.assertEqual(status, 404, doc)

        source = {"index": 7, "title": "a document"}
        doc_id = self.upload_json(source)

        # Refused run requests: every problem at once, nothing started.
        status, doc, _ = self.http("POST", f"/api/pipelines/{ref}/runs",
                                   {"inputs": {"bogus": doc_id},
                                    "values": {"fail_index": "x"}})
        self.assertEqual(status, 422, doc)
        pointers = {e["pointer"] for e in doc["errors"]}
        self.assertTrue({"/inputs/doc", "/inputs/bogus", "/values/fail_index"} <= pointers,
                        doc)
        status, doc, _ = self.http("POST", "/api/pipelines/nope@1/runs", {"inputs": {}})
        self.assertEqual(status, 404, doc)
        self.assertEqual(self.pages(f"/api/runs?pipeline={ref}"), [])

        run = self.start(ref, inputs={"doc": doc_id}, values={"fail_index": 99})
        self.assertIn(run["status"], ("RUNNING", "DONE"), run)
        run = self.wait_done(run["run_id"])
        self.assertEqual(run["missing"], [], run)
        self.assertTrue(run.get("ended_at"), run)
        self.assertNotIn("error", run)
        tasks = self.run_tasks(run)
        self.check_run_tasks(run, tasks)
        self.assertEqual([(t["step"], branch_of(t)) for t in tasks],
                         [("first", ""), ("second", ""), ("third", "")])
        first, second, third = tasks
        for t in tasks:
            self.assertEqual(t["status"], "DONE", t)
        self.assertEqual(first["input_mapping"]["item"], doc_id)
        self.assertEqual(first["values"]["fail_index"], 99, first)
        # Chained through the promised assets of the steps before.
        self.assertEqual(second["input_mapping"]["item"], first["outputs"]["out"])
        self.assertEqual(second["input_mapping"]["parent"], doc_id)
        self.assertEqual(third["input_mapping"]["item"], second["outputs"]["out"])
        self.assertEqual(third["input_mapping"]["parent"], doc_id, "first.item: its input")

        for s in run["steps"]:
            self.assertEqual(s["kind"], "single", s)
            self.assertEqual(s["branches"], 1, s)
            self.assertEqual(s["tasks"].get("DONE"), 1, s)
        self.assertEqual(run["outputs"], {"final": third["outputs"]["out"],
                                          "middle": second["outputs"]["out"]})
        final = self.content(run["outputs"]["final"])
        middle = self.content(run["outputs"]["middle"])
        self.assertEqual(final["parent"], source)
        self.assertEqual(final["item"], middle)
        self.assertEqual(middle["parent"], source)
        self.assertEqual(middle["item"], {"item": source, "parent": None, "index": 7,
                                          "task_id": first["task_id"]})

        summaries = self.pages(f"/api/runs?pipeline={ref}")
        self.assertEqual([s["run_id"] for s in summaries], [run["run_id"]])
        self.assertEqual(summaries[0]["status"], "DONE")
        self.assertEqual(summaries[0]["tasks"]["total"], 3, summaries[0])
        self.assertEqual(summaries[0]["tasks"]["DONE"], 3, summaries[0])
        self.assertIn(run["run_id"], [s["run_id"] for s in self.pages("/api/runs?status=DONE")])
        self.assertNotIn(run["run_id"],
                         [s["run_id"] for s in self.pages("/api/runs?status=RUNNING")])
        status, doc = self.get("/api/runs/00000000-0000-4000-8000-000000000000")
        self.assertEqual(status, 404, doc)
        kinds = self.kinds_of_trace(run["run_id"])
        self.assertIn("run.started", kinds)
        self.assertEqual(kinds.count("run.done"), 1, kinds)

        # The CLI starts a run too (`--json`: the run), newest first in the list.
        cli_run = self.cli_json("pipeline", "run", ref, "--input", f"doc={doc_id}",
                                "--value", "fail_index=98")
        self.assertRegex(cli_run["run_id"], UUID)
        again = self.wait_done(cli_run["run_id"])
        self.assertEqual(again["values"]["fail_index"], 98, again)
        self.assertEqual([s["run_id"] for s in self.pages(f"/api/runs?pipeline={ref}")],
                         [cli_run["run_id"], run["run_id"]])
        # "Tasks of a run carry run_id, step and branch": the root's is "".
        for t in tasks:
            self.assertEqual((t.get("run_id"), t.get("step"), t.get("branch")),
                             (run["run_id"], t["step"], ""), t)
        self.finish()


# -- fan-outs ---------------------------------------------------------------------------


class FanOutTest(PipelineCase):

    def test_a_many_output_fans_out_one_task_per_element(self):
        ref = self.register(FAN)
        shown = {s["id"]: s for s in self.get_ok(f"/api/pipelines/{ref}")["steps"]}
        self.assertEqual(shown["work"]["kind"], "for_each")
        self.assertEqual(shown["work"]["scope"], ["work"])
        self.assertEqual(shown["work"]["depends_on"], ["list"])

        run = self.wait_done(self.start(ref, values={"count": 4})["run_id"])
        tasks = self.run_tasks(run)
        self.check_run_tasks(run, tasks)
        self.assertEqual(len(tasks), 5, run["task_ids"])
        lister = self.by_step(tasks, "list")[""]
        work = self.by_step(tasks, "work")
        self.assertEqual(sorted(work), ["0", "1", "2", "3"])

        # The list: the lister's list asset, its elements AVAILABLE JSON files.
        list_id = lister["outputs"]["items"]
        listed = self.asset(list_id)
        self.assertEqual(listed["status"], "AVAILABLE", listed)
        self.assertEqual(listed["media_type"], LIST_TYPE, listed)
        elements = self.content(list_id)["assets"]
        self.assertEqual(len(elements), 4, elements)
        for i, element in enumerate(elements):
            a = self.asset(element)
            self.assertEqual(a["status"], "AVAILABLE", a)
            self.assertEqual(a["media_type"], "application/json", a)
            self.assertEqual(a["produced_by"], lister["task_id"], a)
            self.assertEqual(self.content(element), {"index": i, "score": lister_score(i)})
            t = work[str(i)]
            self.assertEqual(t["status"], "DONE", t)
            self.assertEqual(t["module_ref"], "worker@1")
            self.assertEqual(t["input_mapping"]["item"], element, t)

        step = self.step_of(run, "work")
        self.assertEqual(step["kind"], "for_each", step)
        self.assertEqual(step["branches"], 4, step)
        self.assertEqual(step["tasks"].get("DONE"), 4, step)
        self.assertEqual(step["fanouts"], {"": 4}, step)
        self.assertEqual(run["outputs"]["list"], list_id)
        outs = run["outputs"]["outs"]
        self.assertEqual(outs, [work[str(i)]["outputs"]["out"] for i in range(4)])
        for i, out in enumerate(outs):
            self.assertEqual(self.content(out)["index"], i)

        # An empty list fans out to nothing; the run is DONE.
        empty = self.wait_done(self.start(ref, values={"count": 0})["run_id"])
        tasks = self.run_tasks(empty)
        self.assertEqual([t["step"] for t in tasks], ["list"])
        self.assertEqual(self.content(tasks[0]["outputs"]["items"])["assets"], [])
        step = self.step_of(empty, "work")
        self.assertEqual((step["branches"], step["fanouts"]), (0, {"": 0}), step)
        # DONE: "the run's outputs exist"; no branch gives an empty list.
        self.assertEqual(empty["outputs"].get("outs"), [], empty)
        self.finish()


class NestedFanOutTest(PipelineCase):

    def test_a_fan_out_inside_a_fan_out_carries_its_parent(self):
        ref = self.register(NESTED)
        shown = {s["id"]: s for s in self.get_ok(f"/api/pipelines/{ref}")["steps"]}
        self.assertEqual(shown["split"]["scope"], ["split"])
        self.assertEqual(shown["work"]["scope"], ["split", "work"])
        self.assertEqual(shown["again"]["kind"], "single")
        self.assertEqual(shown["again"]["scope"], ["split", "work"])

        run = self.wait_done(self.start(ref, values={"count": 3})["run_id"], timeout=50)
        tasks = self.run_tasks(run)
        self.check_run_tasks(run, tasks)
        lister = self.by_step(tasks, "list")[""]
        elements = self.content(lister["outputs"]["items"])["assets"]
        split = self.by_step(tasks, "split")
        work = self.by_step(tasks, "work")
        again = self.by_step(tasks, "again")
        self.assertEqual(sorted(split), ["0", "1", "2"])
        # splitter@1 writes index % 4 + 1 candidates: 1, 2 and 3.
        expected = sorted(f"{i}/{j}" for i in range(3) for j in range(i + 1))
        self.assertEqual(sorted(work), expected)
        self.assertEqual(sorted(again), expected)
        self.assertEqual(len(tasks), 1 + 3 + 6 + 6)

        for i in range(3):
            s = split[str(i)]
            self.assertEqual(s["input_mapping"]["source"], elements[i], s)
            result = self.content(s["outputs"]["result"])
            self.assertEqual(len(result["candidates"]), i + 1, result)
            for j, candidate in enumerate(result["candidates"]):
                branch = f"{i}/{j}"
                w = work[branch]
                self.assertEqual(w["status"], "DONE", w)
                # The parent: the asset split's input took in branch i.
                self.assertEqual(w["input_mapping"]["parent"], s["input_mapping"]["source"], w)
                # The element: a VALUE asset of dtype json, the candidate.
                element = self.asset(w["input_mapping"]["item"])
                self.assertEqual(element["kind"], "VALUE", element)
                self.assertEqual(element["dtype"], "json", element)
                self.assertEqual(self.content(element["asset_id"]), candidate)
                out = self.content(w["outputs"]["out"])
                self.assertEqual(out["item"], candidate)
                self.assertEqual(out["parent"], {"index": i, "score": lister_score(i)})
                # Inside the branch, work.out and split.result are this branch's.
                a = again[branch]
                self.assertEqual(a["status"], "DONE", a)
                self.assertEqual(a["input_mapping"]["item"], w["outputs"]["out"], a)
                self.assertEqual(a["input_mapping"]["parent"], s["outputs"]["result"], a)

        self.assertEqual(self.step_of(run, "split")["fanouts"], {"": 3})
        self.assertEqual(self.step_of(run, "work")["fanouts"], {"0": 1, "1": 2, "2": 3})
        self.assertEqual(self.step_of(run, "work")["branches"], 6)
        self.assertEqual(self.step_of(run, "again")["branches"], 6)
        self.assertEqual(sorted(run["outputs"]["results"]),
                         sorted(a["outputs"]["out"] for a in again.values()))
        self.finish()


class SelectTest(PipelineCase):

    def test_select_keeps_the_top_k_and_those_at_least_min_in_order(self):
        ref = self.register(SELECT)
        doc_id = self.upload_json({"index": 3})
        run = self.wait_done(self.start(ref, values={"count": 6},
                                        inputs={"doc": doc_id})["run_id"], timeout=50)
        tasks = self.run_tasks(run)
        self.check_run_tasks(run, tasks)
        lister = self.by_step(tasks, "list")[""]
        elements = self.content(lister["outputs"]["items"])["assets"]
        scores = [self.content(e)["score"] for e in elements]
        self.assertEqual(scores, [lister_score(i) for i in range(6)])

        # Over the list: branch j is the j-th kept element, in list order.
        for step, kept in (("best", select_indices(scores, top=3)),
                           ("good", select_indices(scores, minimum=0.5))):
            self.assertEqual(kept, [2, 4, 5] if step == "best" else [2, 5])
            got = self.by_step(tasks, step)
            self.assertEqual(sorted(got), [str(j) for j in range(len(kept))], step)
            for j, i in enumerate(kept):
                t = got[str(j)]
                self.assertEqual(t["status"], "DONE", t)
                self.assertEqual(t["input_mapping"]["item"], elements[i],
                                 f"{step} branch {j}: element {i}")
                self.assertEqual(self.content(t["outputs"]["out"])["item"],
                                 {"index": i, "score": scores[i]})
            self.assertEqual(self.step_of(run, step)["fanouts"], {"": len(kept)})

        # Over the array: confidences tie in pairs; ties keep the earlier.
        split = self.by_step(tasks, "split")[""]
        candidates = self.content(split["outputs"]["result"])["candidates"]
        confidences = [c["confidence"] for c in candidates]
        self.assertEqual(confidences, [0.92, 0.72, 0.72, 0.52])
        for step, kept in (("top", select_indices(confidences, top=2)),
                           ("floor", select_indices(confidences, top=5, minimum=0.6))):
            self.assertEqual(kept, [0, 1] if step == "top" else [0, 1, 2])
            got = self.by_step(tasks, step)
            self.assertEqual(sorted(got), [str(j) for j in range(len(kept))], step)
            for j, i in enumerate(kept):
                out = self.content(got[str(j)]["outputs"]["out"])
                self.assertEqual(out["item"], candidates[i], f"{step} branch {j}")
            self.assertEqual(self.step_of(run, step)["fanouts"], {"": len(kept)})
        self.finish()


class ElementKindsTest(PipelineCase):

    def test_elements_go_to_inputs_of_either_kind(self):
        ref = self.register(CROSS)
        doc_id = self.upload_json({"index": 2})
        run = self.wait_done(self.start(ref, values={"count": 3},
                                        inputs={"doc": doc_id})["run_id"])
        tasks = self.run_tasks(run)
        lister = self.by_step(tasks, "list")[""]
        elements = self.content(lister["outputs"]["items"])["assets"]
        files = self.by_step(tasks, "files")
        self.assertEqual(sorted(files), ["0", "1", "2"])
        for i, element in enumerate(elements):
            out = self.content(files[str(i)]["outputs"]["out"])
            self.assertEqual(out["item"], {"index": i, "score": lister_score(i)})
        split = self.by_step(tasks, "split")[""]
        candidates = self.content(split["outputs"]["result"])["candidates"]
        values = self.by_step(tasks, "values")
        self.assertEqual(sorted(values), [str(j) for j in range(len(candidates))])
        for j, candidate in enumerate(candidates):
            self.assertEqual(self.content(values[str(j)]["outputs"]["out"])["item"], candidate)
        self.finish()


# -- fan-ins ------------------------------------------------------------------------------


class CollectTest(PipelineCase):

    def test_one_failed_element_is_missing_and_its_siblings_go_on(self):
        ref = self.register(GATHER)
        shown = {s["id"]: s for s in self.get_ok(f"/api/pipelines/{ref}")["steps"]}
        self.assertEqual(shown["report"]["kind"], "collect")
        self.assertEqual(shown["report"]["scope"], [])

        run = self.wait_done(self.start(ref, values={"count": 4, "fail_index": 2})["run_id"])
        tasks = self.run_tasks(run)
        self.check_run_tasks(run, tasks)
        work = self.by_step(tasks, "work")
        self.assertEqual(sorted(work), ["0", "1", "2", "3"])
        failed = work["2"]
        self.assertEqual(failed["status"], "ERROR", failed)
        self.assertEqual(failed["error"]["code"], "exit_code", failed)
        for b in ("0", "1", "3"):
            self.assertEqual(work[b]["status"], "DONE", work[b])

        self.assertEqual(len(run["missing"]), 1, run["missing"])
        missing = run["missing"][0]
        self.assertEqual((missing["step"], missing["branch"], missing["task_id"],
                          missing["code"]), ("work", "2", failed["task_id"], "exit_code"))
        self.assertTrue(missing["message"], missing)

        report = self.by_step(tasks, "report")[""]
        self.assertEqual(report["status"], "DONE", report)
        collected_id = report["input_mapping"]["clips"]
        collected = self.asset(collected_id)
        self.assertEqual(collected["media_type"], LIST_TYPE, collected)
        collected = self.content(collected_id)
        self.assertEqual(collected["assets"],
                         [work[b]["outputs"]["out"] for b in ("0", "1", "3")])
        self.assertEqual(len(collected["missing"]), 1, collected)
        m = collected["missing"][0]
        self.assertEqual((m["task_id"], m["branch"], m["code"]),
                         (failed["task_id"], "2", "exit_code"))
        self.assertEqual(run["outputs"]["summary"], report["outputs"]["summary"])
        self.assertEqual(self.content(run["outputs"]["summary"]),
                         {"count": 3, "missing": 1, "assets": collected["assets"],
                          "missing_branches": ["2"]})
        step = self.step_of(run, "report")
        self.assertEqual((step["kind"], step["branches"]), ("collect", 1), step)
        self.finish()


class EveryElementFailedTest(PipelineCase):

    def check_upstream_failed(self, run):
        self.assertEqual(run["status"], "FAILED", json.dumps(run))
        self.assertTrue(run.get("error"), run)
        self.assertTrue(run.get("ended_at"), run)
        tasks = self.run_tasks(run)
        report = self.by_step(tasks, "report")
        self.assertEqual(sorted(report), [""], f"the collect's task: {run['task_ids']}")
        self.assertEqual(report[""]["status"], "ERROR", report[""])
        self.assertEqual(report[""]["error"]["code"], "upstream_failed", report[""])
        self.assertEqual(self.kinds_of_trace(run["run_id"]).count("run.failed"), 1)
        return tasks

    def test_every_element_failed_fails_the_collect_and_the_run(self):
        ref = self.register(GATHER)
        run = self.wait_run(self.start(ref, values={"count": 2, "fail_all": True})["run_id"])
        tasks = self.check_upstream_failed(run)
        work = self.by_step(tasks, "work")
        self.assertEqual(sorted(work), ["0", "1"])
        for t in work.values():
            self.assertEqual((t["status"], t["error"]["code"]), ("ERROR", "exit_code"), t)
        self.assertEqual(sorted(m["branch"] for m in run["missing"] if m["step"] == "work"),
                         ["0", "1"], run)
        self.finish()

    def test_no_element_at_all_gathers_an_empty_list(self):
        # An empty list is not a failure: the collect runs over no element
        # (docs/pipelines.md, "collect").
        ref = self.register(GATHER)
        run = self.wait_run(self.start(ref, values={"count": 0})["run_id"])
        self.assertEqual(run["status"], "DONE", json.dumps(run))
        tasks = self.run_tasks(run)
        self.assertEqual(self.by_step(tasks, "work"), {})
        report = self.by_step(tasks, "report")
        self.assertEqual(sorted(report), [""])
        self.assertEqual(report[""]["status"], "DONE", report[""])
        clips = self.asset(report[""]["input_mapping"]["clips"])
        with open(clips["uri"], encoding="utf-8") as f:
            self.assertEqual(json.load(f), {"assets": [], "missing": []})
        self.assertEqual(run["missing"], [])
        self.finish()


class SingleStepFailedTest(PipelineCase):

    def test_a_step_outside_a_fan_out_that_fails_fails_the_run(self):
        doc = pipeline("broken-list", [],
                       [{"id": "list", "module": "lister@1",
                         "inputs": {"count": {"value": 3}, "fail_at": {"value": 1}}},
                        {"id": "work", "module": "worker@1", "for_each": {"from": "list.items"},
                         "inputs": {"item": {"from": "item"}}}])
        run = self.wait_run(self.start(self.register(doc))["run_id"])
        self.assertEqual(run["status"], "FAILED", json.dumps(run))
        self.assertEqual(run["error"]["code"], "exit_code", run)
        tasks = self.run_tasks(run)
        self.assertEqual([(t["step"], t["status"]) for t in tasks], [("list", "ERROR")])
        self.assertEqual(self.step_of(run, "work")["branches"], 0)
        self.finish()


# -- operators' actions -------------------------------------------------------------------


class CancelTest(PipelineCase):

    def test_cancel_stops_every_unfinished_task(self):
        ref = self.register(GATHER)
        run = self.start(ref, values={"count": 3, "sleep": 20})
        run_id = run["run_id"]

        def running():
            r = self.get_run(run_id)
            return r if self.step_of(r, "work")["tasks"].get("RUNNING", 0) >= 1 else None
        wait_until(running, 20, "a task of step work to run")
        answer = self.action(run_id, "cancel")
        self.assertEqual(answer["run_id"], run_id)
        run = self.wait_run(run_id, timeout=10)
        self.assertEqual(run["status"], "CANCELLED", run)
        started = time.monotonic()
        tasks = wait_until(lambda: (lambda ts: ts if all(t["status"] in FINISHED for t in ts)
                                    else None)(self.run_tasks(self.get_run(run_id))),
                           10, "every task of the cancelled run to end")
        self.assertLess(time.monotonic() - started, 10)
        self.assertEqual(self.by_step(tasks, "list")[""]["status"], "DONE")
        work = self.by_step(tasks, "work")
        self.assertEqual(sorted(work), ["0", "1", "2"])
        for t in work.values():
            self.assertEqual(t["status"], "CANCELLED", t)
        for t in self.by_step(tasks, "report").values():
            self.assertEqual(t["status"], "CANCELLED", t)
        self.assertTrue(run.get("ended_at"), run)
        for verb in ("cancel", "pause", "resume", "retry"):
            self.action(run_id, verb, expect=409)
        self.assertEqual(self.get_run(run_id)["status"], "CANCELLED")
        self.assertEqual(self.kinds_of_trace(run_id).count("run.cancelled"), 1)
        self.finish()


class PauseTest(PipelineCase):
    # One worker: the elements queue READY behind the one that runs.
    pool = "default:1:2:1"

    def test_a_paused_run_dispatches_nothing_until_resumed(self):
        ref = self.register(GATHER)
        run_id = self.start(ref, values={"count": 3, "sleep": 1.5})["run_id"]

        def one_running():
            r = self.get_run(run_id)
            return r if self.step_of(r, "work")["tasks"].get("RUNNING", 0) == 1 else None
        wait_until(one_running, 20, "the first element to run")
        paused = self.action(run_id, "pause")
        self.assertEqual(paused["status"], "PAUSED", paused)

        tasks = self.run_tasks(self.get_run(run_id))
        work = self.by_step(tasks, "work")
        self.assertEqual(sorted(work), ["0", "1", "2"])
        first = [t for t in work.values() if t["status"] == "RUNNING"]
        self.assertEqual(len(first), 1, work)
        # The running one ends; the others stay READY, never dispatched.
        self.wait_finished(first[0]["task_id"], timeout=10)
        time.sleep(2)
        run = self.get_run(run_id)
        self.assertEqual(run["status"], "PAUSED", run)
        for t in self.by_step(self.run_tasks(run), "work").values():
            if t["task_id"] != first[0]["task_id"]:
                self.assertEqual(t["status"], "READY", t)
                self.assertEqual(t["attempt"], 1, t)
        self.assertEqual(self.by_step(self.run_tasks(run), "report"), {})

        resumed = self.action(run_id, "resume")
        self.assertEqual(resumed["status"], "RUNNING", resumed)
        run = self.wait_done(run_id)
        self.assertEqual(run["missing"], [])
        self.assertEqual(self.content(run["outputs"]["summary"])["count"], 3)
        for verb in ("pause", "resume", "cancel"):
            self.action(run_id, verb, expect=409)
        kinds = [k for k in self.kinds_of_trace(run_id) if k.startswith("run.")]
        self.assertEqual(kinds, ["run.started", "run.paused", "run.resumed", "run.done"])
        self.finish()


class RetryTest(PipelineCase):

    def test_retry_of_a_run_with_a_failed_element_reaches_done(self):
        ref = self.register(GATHER)
        flag = self.write("fail-flag", "while this file exists, element 1 fails\n")
        run_id = self.start(ref, values={"count": 3, "fail_index": 1,
                                         "fail_flag": flag})["run_id"]
        run = self.wait_done(run_id)
        self.assertEqual([(m["step"], m["branch"]) for m in run["missing"]], [("work", "1")])
        self.assertEqual(self.content(run["outputs"]["summary"])["missing"], 1)
        before = self.by_step(self.run_tasks(run), "work")
        self.assertEqual(before["1"]["status"], "ERROR", before["1"])

        os.remove(flag)
        retried = self.action(run_id, "retry")
        self.assertEqual(retried["status"], "RUNNING", retried)
        run = self.wait_done(run_id)
        self.assertEqual(run["missing"], [], run)
        tasks = self.run_tasks(run)
        work = self.by_step(tasks, "work")
        # The failed element ran again as itself: no new element task.
        self.assertEqual({b: t["task_id"] for b, t in work.items()},
                         {b: t["task_id"] for b, t in before.items()})
        for t in work.values():
            self.assertEqual(t["status"], "DONE", t)
        self.assertGreaterEqual(work["1"]["attempt"], 2, work["1"])
        summary = self.content(run["outputs"]["summary"])
        self.assertEqual((summary["count"], summary["missing"]), (3, 0), summary)
        self.assertEqual(summary["assets"], [work[b]["outputs"]["out"] for b in "012"])
        # DONE with nothing missing: nothing to retry.
        self.action(run_id, "retry", expect=409)
        kinds = self.kinds_of_trace(run_id)
        self.assertEqual(kinds.count("run.retried"), 1, kinds)
        self.assertEqual(kinds.count("run.done"), 2, kinds)
        self.finish()


# -- triggers -------------------------------------------------------------------------------


class TriggerTest(PipelineCase):

    def test_a_trigger_every_second_starts_runs_until_removed(self):
        ref = self.register(FAN)
        for body, pointer in (({"pipeline": ref, "every": "soon"}, "/every"),
                              ({"pipeline": ref, "cron": "61 * * * *"}, "/cron"),
                              ({"pipeline": ref, "every": "1s", "cron": "* * * * *"}, "")):
            status, doc, _ = self.http("POST", "/api/triggers", body)
            self.assertEqual(status, 400, f"{body}: {doc}")
            problems = doc.get("errors") or [doc["error"]]
            if pointer:
                self.assertIn(pointer, [p["pointer"] for p in problems], doc)
        self.assertEqual(self.get_ok("/api/triggers")["items"], [])

        # A cron trigger: its next start is the next 06:00 UTC.
        status, daily, _ = self.http("POST", "/api/triggers",
                                     {"pipeline": ref, "cron": "0 6 * * *"})
        self.assertEqual(status, 201, daily)
        self.assertEqual(daily["cron"], "0 6 * * *")
        self.assertIn("T06:00:00", daily["next_start"], daily)

        status, trigger, _ = self.http("POST", "/api/triggers",
                                       {"pipeline": ref, "every": "1s",
                                        "values": {"count": 1}})
        self.assertEqual(status, 201, trigger)
        tid = trigger["trigger_id"]
        self.assertRegex(tid, UUID)
        self.assertEqual((trigger["pipeline"], trigger["every_ms"]), (ref, 1000), trigger)
        self.assertTrue(trigger["next_start"], trigger)

        def started():
            runs = [r for r in self.pages(f"/api/runs?pipeline={ref}")
                    if r.get("trigger_id") == tid]
            return runs or None
        runs = wait_until(started, 10, "a run started by the trigger")
        run = self.wait_done(runs[-1]["run_id"])
        self.assertEqual(run["trigger_id"], tid)
        self.assertEqual(run["values"], {"count": 1}, run)
        self.assertEqual(len(self.run_tasks(run)), 2)
        listed = {t["trigger_id"]: t for t in self.get_ok("/api/triggers")["items"]}
        self.assertEqual(sorted(listed), sorted([tid, daily["trigger_id"]]))
        self.assertTrue(listed[tid].get("last_run_id"), listed[tid])
        self.assertTrue(listed[tid].get("last_start"), listed[tid])
        self.assertFalse(listed[daily["trigger_id"]].get("last_run_id"), listed)

        status, removed, _ = self.http("DELETE", f"/api/triggers/{tid}")
        self.assertEqual(status, 200, removed)
        self.assertEqual(removed["trigger_id"], tid)
        status, doc, _ = self.http("DELETE", f"/api/triggers/{tid}")
        self.assertEqual(status, 404, doc)
        self.assertEqual(doc["error"]["code"], "not_found", doc)
        time.sleep(0.5)
        count = len(self.pages(f"/api/runs?pipeline={ref}"))
        time.sleep(2.5)
        self.assertEqual(len(self.pages(f"/api/runs?pipeline={ref}")), count,
                         "no run after the trigger was removed")
        self.assertEqual([t["trigger_id"] for t in self.get_ok("/api/triggers")["items"]],
                         [daily["trigger_id"]])
        status, _, _ = self.http("DELETE", f"/api/triggers/{daily['trigger_id']}")
        self.assertEqual(status, 200)

        status, text, _ = self.http("GET", "/api/lineage/export")
        packets = [json.loads(line) for line in text.splitlines() if line.strip()]
        kinds = [p["kind"] for p in packets if tid in p.get("subjects", [])]
        self.assertEqual(kinds[0], "trigger.created", kinds)
        self.assertIn("trigger.fired", kinds)
        self.assertEqual(kinds[-1], "trigger.removed", kinds)
        self.finish()


# -- explanation and lineage -----------------------------------------------------------------


class ExplainTest(PipelineCase):

    def test_a_run_is_explained_and_its_tasks_follow_from_decisions(self):
        ref = self.register(LISTS)
        run = self.wait_done(self.start(ref, values={"count": 2})["run_id"], timeout=50)
        run_id = run["run_id"]
        tasks = self.run_tasks(run)
        packets = self.trace_packets(run_id)
        by_id = {p["id"]: p for p in packets}

        # Each task's task.created follows from a decision.zenith of the run,
        # an automation's (the decision is its parent).
        created = self.created_packets(run_id, [t["task_id"] for t in tasks])
        decisions = {}
        for t in tasks:
            self.assertEqual(len(created[t["task_id"]]), 1, f"task {t['task_id']} created twice")
            parents = created[t["task_id"]][0].get("_meta_parents", [])
            made_by = [by_id[p] for p in parents
                       if p in by_id and by_id[p]["kind"] == "decision.zenith"]
            self.assertEqual(len(made_by), 1, f"{t['step']} {branch_of(t)}: parents {parents}")
            d = made_by[0]
            self.assertEqual(d["payload"].get("final_decision_source"), "automation", d)
            decisions[(t["step"], branch_of(t))] = d

        # A fan-out's decision has the list's packet (the asset the for_each
        # reads) as its evidence.
        lister = self.by_step(tasks, "list")[""]
        split = self.by_step(tasks, "split")

        def evidence_names(decision, asset_id):
            parents = decision.get("_meta_parents", []) + \
                decision["payload"].get("evidence", [])
            return any(asset_id in self.get_ok(f"/api/lineage/{p}")["packet"]["subjects"]
                       for p in parents)
        fan_split = decisions[("split", "0")]
        self.assertIs(decisions[("split", "1")], fan_split, "one decision for the fan-out")
        self.assertTrue(evidence_names(fan_split, lister["outputs"]["items"]), fan_split)
        fan_work = decisions[("work", "1/0")]
        self.assertIs(decisions[("work", "1/1")], fan_work, "one decision for the fan-out")
        self.assertIsNot(decisions[("work", "0/0")], fan_work, "one decision per fan-out")
        self.assertTrue(evidence_names(fan_work, split["1"]["outputs"]["parts"]), fan_work)

        # HaloLux's story of the run cites the fan-out's decision.
        status, doc = self.get(f"/api/runs/{run_id}/explain")
        self.assertEqual(status, 200, doc)
        self.assertTrue(doc["narrative"].strip(), doc)
        cited = [step["packet_id"] for step in doc["chain"]]
        for packet_id in cited:
            self.assertIn("kind", self.get_ok(f"/api/lineage/{packet_id}")["packet"])
        problems = []
        if fan_split["id"] not in cited:
            problems.append(f"the explanation cites no fan-out decision ({fan_split['id']}): "
                            f"{doc['narrative']}")
        self.assertEqual(problems, [])
        self.finish()


# -- registration refusals --------------------------------------------------------------------


class RefusalTest(PipelineCase):

    def test_a_pipeline_with_many_problems_is_refused_with_every_one(self):
        item = {"item": {"from": "item"}}
        steps = [
            {"id": "list", "module": "lister@1", "inputs": {"count": {"from": "inputs.count"}}},
            {"id": "ghost", "module": "nope@1", "inputs": {}},
            {"id": "w1", "module": "worker@1", "inputs": {"bogus": {"value": 1}}},
            {"id": "w2", "module": "worker@1", "inputs": item},
            {"id": "w3", "module": "worker@1", "inputs": {"item": {"value": {"index": 1}}}},
            {"id": "l2", "module": "lister@1", "inputs": {"count": {"value": "three"}}},
            {"id": "r1", "module": "report@1", "inputs": {"clips": {"from": "inputs.doc"}}},
            {"id": "s1", "module": "splitter@1", "inputs": {"source": {"from": "inputs.doc"}}},
            {"id": "w4", "module": "worker@1",
             "for_each": {"from": "s1.result", "pointer": "/nothing"}, "inputs": item},
            {"id": "w5", "module": "worker@1",
             "for_each": {"from": "list.items",
                          "select": {"by": "oracle", "pointer": "/score", "top": 1}},
             "inputs": item},
            {"id": "w6", "module": "worker@1",
             "for_each": {"from": "list.items",
                          "select": {"by": "score", "pointer": "/score", "top": 0}},
             "inputs": item},
            {"id": "w7", "module": "worker@1", "inputs": {"item": {"from": "nowhere.out"}}},
            {"id": "later", "module": "worker@1", "inputs": {"item": {"from": "inputs.doc"}}},
            {"id": "list", "module": "lister@1", "inputs": {"count": {"value": 1}}},
            {"id": "fa", "module": "worker@1", "for_each": {"from": "list.items"},
             "inputs": item},
            {"id": "fb", "module": "worker@1", "for_each": {"from": "list.items"},
             "inputs": {"item": {"from": "item"}, "parent": {"from": "fa.out"}}},
            {"id": "c1", "module": "report@1", "inputs": {"clips": {"from": "collected"}}},
            {"id": "Bad Id", "module": "worker@1", "inputs": {"item": {"from": "inputs.doc"}}},
            {"id": "w8", "module": "worker@1", "for_each": {"from": "list.items",
                                                           "select": {"by": "score"}},
             "inputs": item},
        ]
        doc = pipeline("broken", [value_input("count", "int", 2), json_input("doc")], steps,
                       {"x": {"from": "nowhere.out"}, "ok": {"from": "later.out"}})
        status, answer, _ = self.http("POST", "/api/pipelines", doc)
        self.assertEqual(status, 422, answer)
        errors = answer["errors"]
        for e in errors:
            self.assertTrue(e["message"], e)
        found = [(e["code"], e["pointer"]) for e in errors]
        # (code, pointer) exactly, or (code, pointer prefix) where the spec
        # says "the member" / "the mapping" / "the second".
        exact = [
            ("module_not_found", "/steps/1/module"),
            ("unknown_input", "/steps/2/inputs/bogus"),
            ("missing_input", "/steps/2/inputs/item"),
            ("unresolved_reference", "/steps/3/inputs/item/from"),
            ("invalid_pointer", "/steps/8/for_each/pointer"),
            ("invalid_argument", "/steps/9/for_each/select/by"),
            ("unresolved_reference", "/steps/11/inputs/item/from"),
            ("unresolved_reference", "/steps/16/inputs/clips/from"),
        ]
        prefixed = [
            ("kind_mismatch", "/steps/4/inputs/item"),
            ("dtype_mismatch", "/steps/5/inputs/count"),
            ("media_type_mismatch", "/steps/6/inputs/clips"),
            ("invalid_argument", "/steps/10/for_each/select"),
            ("duplicate_key", "/steps/13"),
            ("scope_mismatch", "/steps/15/inputs/parent"),
            ("invalid_argument", "/steps/17/id"),
            ("invalid_argument", "/steps/18/for_each/select"),
            ("unresolved_reference", "/outputs/x"),
        ]
        absent = [e for e in exact if e not in found]
        absent += [(code, pointer + "...") for code, pointer in prefixed
                   if not any(c == code and p.startswith(pointer) for c, p in found)]
        # The steps without a fault are not blamed.
        blamed = [e for e in errors for i in (0, 7, 12, 14)
                  if e["pointer"].startswith(f"/steps/{i}/") or e["pointer"] == f"/steps/{i}"]
        blamed += [e for e in errors if e["pointer"].startswith("/outputs/ok")]
        self.assertEqual((absent, blamed), ([], []),
                         "expected problems absent, problems blamed on sound members; "
                         f"the answer: {json.dumps(errors, indent=1)}")
        status, doc = self.get("/api/pipelines/broken@1")
        self.assertEqual(status, 404, doc)
        self.finish()

    def test_the_meta_schemas_problems_all_at_once(self):
        bad = pipeline("broken-too", [], [])
        del bad["steps"]
        bad["version"] = "one"
        bad["colour"] = "blue"
        status, answer, _ = self.http("POST", "/api/pipelines", bad)
        self.assertEqual(status, 422, answer)
        found = [(e["code"], e["pointer"]) for e in answer["errors"]]
        for expected in (("missing_field", "/steps"), ("unknown_field", "/colour"),
                         ("invalid_contract", "/version")):
            self.assertIn(expected, found, answer)
        status, answer, _ = self.http("POST", "/api/pipelines",
                                      dict(STATIC, schema_version="2.0.0"))
        self.assertEqual(status, 422, answer)
        self.assertIn(("unsupported_schema_version", "/schema_version"),
                      [(e["code"], e["pointer"]) for e in answer["errors"]])
        refs = [p["ref"] for p in self.pages("/api/pipelines")]
        for ref in ("broken@1", "broken-too@1", "static-chain@1"):
            self.assertNotIn(ref, refs)
        self.finish()


if __name__ == "__main__":
    node_harness.main()
