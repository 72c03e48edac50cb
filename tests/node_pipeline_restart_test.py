#!/usr/bin/env python3
"""A node killed (SIGKILL) in the middle of a pipeline's run, restarted on the
same data folder (docs/pipelines.md, "Runs": "A fan-out is decided once: the
run's row records it in the same commit as its tasks, so after a crash and a
restart no element's task is created twice").

Usage: node_pipeline_restart_test.py OMNIVA_BINARY REPO_DIR

The run: a list of 3 items (lister@1), a splitter per item (1, 2 and 3
candidates), a worker per candidate that sleeps (6 in all), a report
gathering the workers' outputs (tests/pipeline_modules/); the workers fan
out over the array inside the splitter's JSON output (first case) or over its
`many` output (second case). The node is killed while the workers run (and,
in the second case, first while the list is being made); after the restart the run ends DONE with every output, and
every (step, branch) has exactly one task, created once (one `task.created`
each in the lineage), found the same way through the run's `task_ids` and
the task search by the run's id.

The harness is tests/node_harness.py; the pipeline helpers are
node_pipelines_test.PipelineCase.
"""

import json
import signal

import node_harness
from node_harness import *  # noqa: F401,F403 (the fixtures and NodeTestCase)
from node_pipelines_test import PipelineCase, pipeline, value_input


def slow_pipeline(name, work_module, work_for_each):
    """A list of `count` items (made in `list_sleep` s), a splitter per item,
    a worker per candidate (`work_module`, `work_for_each`; sleeping `sleep` s, given the
    item the splitter took as its parent), a report gathering the workers."""
    return pipeline(
        name,
        [value_input("count", "int", 3, min=0, max=50),
         value_input("list_sleep", "float", 0, min=0, max=30),
         value_input("sleep", "float", 0, min=0, max=30)],
        [{"id": "list", "module": "lister@1",
          "inputs": {"count": {"from": "inputs.count"},
                     "sleep": {"from": "inputs.list_sleep"}}},
         {"id": "split", "module": "splitter@1", "for_each": {"from": "list.items"},
          "inputs": {"source": {"from": "item"}}},
         {"id": "work", "module": work_module, "for_each": work_for_each,
          "inputs": {"item": {"from": "item"}, "parent": {"from": "split.source"},
                     "sleep": {"from": "inputs.sleep"}}},
         {"id": "report", "module": "report@1", "collect": {"from": "work.out"},
          "inputs": {"clips": {"from": "collected"}}}],
        {"summary": {"from": "report.summary"}})


# The inner fan-out over the array inside the splitter's JSON output (each
# element a VALUE asset the fan-out's decision makes, to a VALUE input) ...
SLOW = slow_pipeline("slow-nested", "vworker@1",
                     {"from": "split.result", "pointer": "/candidates"})
# ... or over its `many` output `parts` (each element a file it wrote, to an
# ASSET input).
SLOW_LISTS = slow_pipeline("slow-lists", "worker@1", {"from": "split.parts"})

# splitter@1 writes index % 4 + 1 candidates: branches i/j, j <= i.
WORK_BRANCHES = sorted(f"{i}/{j}" for i in range(3) for j in range(i + 1))


class RestartInARunTest(PipelineCase):
    maxDiff = None
    # Two workers: of 6 sleeping elements, some run and some wait when killed.
    pool = "default:2:2:1"

    def running(self, run_id, step):
        """The tasks of `step` RUNNING now (the run as the node answers it)."""
        run = self.get_run(run_id)
        self.assertEqual(run["status"], "RUNNING", f"waiting for {step}: {json.dumps(run)}")
        return [t for t in run["task_ids"] if t["step"] == step and t["status"] == "RUNNING"]

    def kill_and_restart(self):
        self.node.kill()  # SIGKILL
        self.assertEqual(self.node.proc.returncode, -signal.SIGKILL)
        self.node.start()

    def check_finished_once(self, run_id, killed_while_running):
        run = self.wait_done(run_id, timeout=60)
        self.assertEqual(run["missing"], [], run)
        tasks = self.run_tasks(run)
        self.check_run_tasks(run, tasks)
        # One task per (step, branch): by_step fails on a second one.
        self.assertEqual(sorted(self.by_step(tasks, "list")), [""])
        self.assertEqual(sorted(self.by_step(tasks, "split")), ["0", "1", "2"])
        work = self.by_step(tasks, "work")
        self.assertEqual(sorted(work), WORK_BRANCHES)
        self.assertEqual(sorted(self.by_step(tasks, "report")), [""])
        self.assertEqual(len(tasks), 1 + 3 + 6 + 1)
        for t in tasks:
            self.assertEqual(t["status"], "DONE", t)
        # Created once each: one task.created per task in the run's trace.
        created = self.created_packets(run_id, [t["task_id"] for t in tasks])
        self.assertEqual({t: len(ps) for t, ps in created.items()},
                         {t["task_id"]: 1 for t in tasks})
        # The fan-outs as decided before the crash.
        self.assertEqual(self.step_of(run, "split")["fanouts"], {"": 3})
        self.assertEqual(self.step_of(run, "work")["fanouts"], {"0": 1, "1": 2, "2": 3})
        # The attempts the kill interrupted ran again.
        for task_id in killed_while_running:
            t = self.task(task_id)
            self.assertEqual(t["status"], "DONE", t)
            self.assertGreaterEqual(t["attempt"], 2, t)
        summary = self.content(run["outputs"]["summary"])
        self.assertEqual((summary["count"], summary["missing"]), (6, 0), summary)
        self.assertEqual(summary["assets"], [work[b]["outputs"]["out"] for b in WORK_BRANCHES])
        self.assertEqual(self.kinds_of_trace(run_id).count("run.done"), 1)
        return run

    def test_a_kill_while_the_elements_run(self):
        ref = self.register(SLOW)
        run_id = self.start(ref, values={"count": 3, "sleep": 2})["run_id"]
        killed = wait_until(lambda: self.running(run_id, "work"), 30,
                            "an element of step work to run")
        before = {(t["step"], t["branch"]): t["task_id"]
                  for t in self.get_run(run_id)["task_ids"]}
        self.kill_and_restart()
        # The tasks made before the kill are the same tasks after it.
        after = {(t["step"], t["branch"]): t["task_id"]
                 for t in self.get_run(run_id)["task_ids"]}
        for key, task_id in before.items():
            self.assertEqual(after.get(key), task_id, f"{key} after the restart")
        self.check_finished_once(run_id, [t["task_id"] for t in killed])
        self.finish()

    def test_a_kill_while_the_list_is_made_and_again_while_the_elements_run(self):
        ref = self.register(SLOW_LISTS)
        run_id = self.start(ref, values={"count": 3, "list_sleep": 2, "sleep": 2})["run_id"]
        lister = wait_until(lambda: self.running(run_id, "list"), 30, "the list to be made")
        self.kill_and_restart()
        run = self.get_run(run_id)
        self.assertIn(run["status"], ("RUNNING", "DONE"), json.dumps(run))
        self.assertEqual([t["task_id"] for t in run["task_ids"] if t["step"] == "list"],
                         [lister[0]["task_id"]])
        killed = wait_until(lambda: self.running(run_id, "work"), 40,
                            "an element of step work to run")
        self.kill_and_restart()
        run = self.check_finished_once(run_id, [lister[0]["task_id"]]
                                       + [t["task_id"] for t in killed])
        self.finish()


if __name__ == "__main__":
    node_harness.main()
