#!/usr/bin/env python3
"""Policies through a real node (docs/policies.md): budgets, quotas, leases,
admission and success predicates, as Zenith enforces them and as the lineage
records them.

Usage: node_policies_test.py OMNIVA_BINARY REPO_DIR

Every case starts a node with the test modules of tests/policy_modules/
(payer@1, spender@1, uploader@1, bulk-uploader@1, receipt@1, publisher@1,
slow-publisher@1 and their policies; see its README.md) and those of
tests/pipeline_modules/ (lister@1 makes the lists the pipelines fan out
over). The modules are real python3 programs: each writes a receipt
{"status": "uploaded"|"failed"} and reports a cost of $0.20 against a
declared (reserved) $0.25.

- A run stops admitting tasks at its budget: a pipeline charged to budget
  'team' ($0.60) fans out over five costly tasks; exactly two run (two
  reservations fit, and once they settled for $0.40 a third does not), the
  other three wait READY with `task.held` budget_exhausted and HaloLux says
  why; spent + reserved never exceeds the cap at any packet of the budget's
  history; once `omniva budget set` raises the cap, the run ends DONE, and
  the spend the lineage adds up equals Zenith's. A run capped by its
  pipeline's policy ($0.50) stops the same way, and `GET /api/runs/{id}/spend`
  (and `omniva budget spend`) shows its cap and spend.
- Uploads wait for a quota window: eight uploads of 1,600 units against
  10,000 units per 5 s window become READY at once; the dispatch packets say
  how many units each window had used, which shows at most six per window;
  the rest wait with `task.held` quota_exhausted and, after the window
  resets, all eight end DONE with one attempt each. An upload needing more
  than a whole window ends ERROR quota_exceeded without being dispatched
  (an expected failure for now: a READY task cannot end ERROR, see the case).
- A success predicate fails an attempt: a receipt saying "failed" ends the
  task ERROR success_predicate_failed at /predicates/success/1, the message
  naming value.matches@1 and what it saw; its output never becomes
  AVAILABLE; its policy allows three attempts, yet only one ran. A receipt
  saying "uploaded" ends DONE with both verdicts in `task.succeeded`.
- Two tasks contend for one publishing prefix: while the first holds the
  lease on /publish/test/ (`GET /api/leases`), the second waits READY with
  `task.held` lease_held; it is dispatched only after the first ended, as
  the lineage's order shows, and the first's settlement released the lease.
- A lease that expires: an attempt on a one-second lease that no heartbeat
  renews (heartbeats every 5 s) gets a `lease.expired` packet, is stopped
  and ends ERROR lease_lost; its output never becomes AVAILABLE.
- Spend after a SIGKILL and a restart: with one upload settled and two
  running (reserved), the node is killed; after the restart the budget's
  spent is what was spent plus what was reserved before (the dead attempts
  are charged their worst case, in a `budget.settled` packet), the lineage's
  figures equal Zenith's, and when the uploads run again and end, the spend
  adds up again.

No case asserts how long anything takes: gates (files a module waits for)
order the events, and the lineage's order and counts are what is checked.

The harness is tests/node_harness.py; the pipeline helpers are
node_pipelines_test.PipelineCase.
"""

import json
import os
import re
import shutil
import tempfile
import time
import unittest

import node_harness
from node_harness import *  # noqa: F401,F403 (the fixtures and NodeTestCase)
from node_pipelines_test import PipelineCase, pipeline, value_input

COST = 250000      # what each costly module declares per run (its reservation)
REPORTED = 200000  # what it reports in its output manifest (what is charged)


def policy_modules():
    return os.path.join(node_harness.REPO, "tests", "policy_modules")


def pipeline_modules():
    return os.path.join(node_harness.REPO, "tests", "pipeline_modules")


def spend_pipeline(name, **extra):
    """A list of `count` items (lister@1) and a spender@1 per item."""
    doc = pipeline(
        name,
        [value_input("count", "int", 5, min=0, max=50)],
        [{"id": "list", "module": "lister@1", "inputs": {"count": {"from": "inputs.count"}}},
         {"id": "spend", "module": "spender@1", "for_each": {"from": "list.items"},
          "inputs": {"item": {"from": "item"}}}],
        {"receipts": {"from": "spend.receipt"}})
    doc.update(extra)
    return doc


class PolicyCase(PipelineCase):
    """A node with the policy and pipeline test modules and `pool`; `config`
    (options of the node's configuration file) when a case needs some."""

    pool = "default:4:1:1"
    config = None

    def setUp(self):
        args = ["--modules", policy_modules(), "--modules", pipeline_modules(),
                "--pool", self.pool]
        if self.config:
            conf_dir = tempfile.mkdtemp(prefix="omniva-policies-")
            self.addCleanup(shutil.rmtree, conf_dir, True)
            path = os.path.join(conf_dir, "omniva.conf")
            with open(path, "w", encoding="utf-8") as f:
                f.write("[omniva]\n" + "".join(f"{k}={v}\n" for k, v in self.config.items()))
            args += ["--config", path]
        self.node_args = tuple(args)
        NodeTestCase.setUp(self)

    # -- reading ------------------------------------------------------------------------

    def packets(self, entity, kind):
        return [p for p in self.history(entity) if p["kind"] == kind]

    def held(self, task_id):
        """The payloads of the task's `task.held` packets."""
        return [p["payload"] for p in self.packets(task_id, "task.held")]

    def budget(self, name):
        return self.cli_json("budget", "show", name)

    def check_lineage_agrees(self, view):
        """The spend the lineage adds up equals Zenith's figures."""
        self.assertEqual(view["lineage"]["spent_usd_micro"], view["spent_usd_micro"], view)
        self.assertEqual(view["lineage"]["reserved_usd_micro"], view["reserved_usd_micro"],
                         view)

    def check_over_cap(self, saw, what, cap):
        """`saw` (a held task's reason) says that `what` (a budget, a run's
        cap) has no room for the task's $0.25 under `cap` dollars."""
        m = re.fullmatch(re.escape(what) + r" has \$([0-9.]+) spent and \$([0-9.]+) "
                         r"reserved of \$([0-9.]+); this task needs \$0\.25", saw)
        self.assertIsNotNone(m, saw)
        spent, reserved, of = (float(x) for x in m.groups())
        self.assertAlmostEqual(of, cap, msg=saw)
        self.assertGreater(round(spent + reserved + 0.25, 6), cap, saw)

    def check_never_above(self, series, caps):
        """Every point of a budget's lineage series has spent + reserved within
        the cap in force then: `caps` is [(first seq, cap)], in order."""
        self.assertTrue(series, "the budget's history is empty")
        for point in series:
            cap = [c for seq, c in caps if point["seq"] >= seq][-1]
            self.assertLessEqual(point["spent_usd_micro"] + point["reserved_usd_micro"],
                                 cap, f"{point} above the cap {cap}: {series}")

    def gate(self, name):
        """A path a module waits for; `open_gate` creates it. Opened at the
        end of the case in any event, so that no module is left waiting."""
        path = os.path.join(self.tmp, name)
        self.addCleanup(self.open_gate, path)
        return path

    @staticmethod
    def open_gate(path):
        if os.path.isdir(os.path.dirname(path)):
            with open(path, "w", encoding="utf-8") as f:
                f.write("go\n")

    def step_tasks(self, run_id, step):
        return [t for t in self.get_run(run_id)["task_ids"] if t["step"] == step]


# -- budgets --------------------------------------------------------------------------


class RunBudgetTest(PolicyCase):

    def stalled_at_the_cap(self, run_id, count, running):
        """Waits until `running` tasks of step spend are DONE and the others
        READY and held back; returns (done, held) task records."""
        def settled():
            tasks = self.step_tasks(run_id, "spend")
            if len(tasks) != count:
                return None
            done = [t for t in tasks if t["status"] == "DONE"]
            waiting = [t for t in tasks if t["status"] == "READY"]
            if len(done) != running or len(waiting) != count - running:
                return None
            if not all(self.held(t["task_id"]) for t in waiting):
                return None
            return done, waiting
        done, waiting = wait_until(settled, 40, f"{running} of {count} tasks DONE, "
                                                f"the rest held")
        return ([self.task(t["task_id"]) for t in done],
                [self.task(t["task_id"]) for t in waiting])

    def test_a_run_stops_admitting_at_its_budget_and_finishes_once_it_is_raised(self):
        self.cli_ok("budget", "create", "team", "--max-usd-micro", 600000)
        ref = self.register(spend_pipeline("team-spend", budget="team"))
        run_id = self.start(ref, values={"count": 5})["run_id"]

        # $0.60: two reservations of $0.25 fit; when both settled for $0.20
        # each, $0.40 spent + $0.25 does not.
        done, waiting = self.stalled_at_the_cap(run_id, 5, 2)
        for t in waiting:
            # Held once (the reason did not change as the others settled).
            held = self.held(t["task_id"])
            self.assertEqual(len(held), 1, held)
            self.assertEqual(held[0]["code"], "budget_exhausted", held)
            self.assertEqual(held[0]["predicate"], "budget.available@1", held)
            self.check_over_cap(held[0]["saw"], "budget 'team'", 0.60)
            self.assertEqual(self.packets(t["task_id"], "task.dispatched"), [])
        self.assertEqual(self.get_run(run_id)["status"], "RUNNING")
        for t in done:
            dispatched = self.packets(t["task_id"], "task.dispatched")
            self.assertEqual(len(dispatched), 1)
            admission = dispatched[0]["payload"]["admission"]
            self.assertEqual(admission["reserved_usd_micro"], COST, admission)
            self.assertEqual(admission["scopes"], ["budget:team"], admission)
            settled = self.packets(t["task_id"], "task.succeeded")[0]["payload"]["settled"]
            self.assertEqual((settled["reserved_usd_micro"], settled["charged_usd_micro"],
                              settled["reported_usd_micro"]), (COST, REPORTED, REPORTED),
                             settled)
            self.assertEqual(settled["scopes"], ["budget:team"], settled)

        # HaloLux says why the task waits.
        explained = self.cli_ok("explain", waiting[0]["task_id"]).stdout
        self.assertIn("It waits: admission holds it back since", explained)
        self.assertIn(self.held(waiting[0]["task_id"])[0]["saw"]
                      + " (budget.available@1, budget_exhausted)", explained)

        team = self.budget("team")
        self.assertEqual((team["spent_usd_micro"], team["reserved_usd_micro"]),
                         (2 * REPORTED, 0), team)
        self.check_lineage_agrees(team)

        # Raised: the three go, the run ends DONE.
        self.cli_ok("budget", "set", "team", "--max-usd-micro", 2000000)
        run = self.wait_done(run_id, timeout=40)
        tasks = self.run_tasks(run)
        self.assertEqual([t["status"] for t in tasks], ["DONE"] * 6)
        for t in waiting:
            self.assertEqual(self.task(t["task_id"])["attempt"], 1)

        team = self.budget("team")
        self.assertEqual((team["spent_usd_micro"], team["reserved_usd_micro"]),
                         (5 * REPORTED, 0), team)
        self.check_lineage_agrees(team)
        self.assertEqual(team["lineage"]["events"], 10, team)  # 5 dispatches, 5 settlements
        # Never above the cap in force: $0.60 until the change, $2 after; the
        # held tasks' dispatches come after the change.
        changed = self.packets("budget:team", "budget.changed")
        self.assertEqual(len(changed), 1)
        self.assertEqual(changed[0]["payload"]["before"]["max_usd_micro"], 600000)
        self.check_never_above(team["lineage"]["series"],
                               [(0, 600000), (changed[0]["seq"], 2000000)])
        for t in waiting:
            held = self.packets(t["task_id"], "task.held")[0]
            dispatched = self.packets(t["task_id"], "task.dispatched")
            self.assertEqual(len(dispatched), 1)
            self.assertLess(held["seq"], changed[0]["seq"])
            self.assertGreater(dispatched[0]["seq"], changed[0]["seq"])
        self.finish()

    def test_a_run_capped_by_its_pipelines_policy_stops_at_its_cap(self):
        ref = self.register(spend_pipeline("capped-spend", policy="capped@1"))
        run_id = self.start(ref, values={"count": 4})["run_id"]
        # $0.50 a run: two reservations fit, then $0.40 spent + $0.25 does not.
        done, waiting = self.stalled_at_the_cap(run_id, 4, 2)
        for t in waiting:
            held = self.held(t["task_id"])
            self.assertEqual([h["code"] for h in held], ["budget_exhausted"], held)
            self.check_over_cap(held[0]["saw"], f"run {run_id}'s cap", 0.50)
        for t in done:
            admission = self.packets(t["task_id"], "task.dispatched")[0]["payload"]["admission"]
            self.assertEqual(admission["scopes"], [f"run:{run_id}"], admission)

        spend = self.get_ok(f"/api/runs/{run_id}/spend")
        self.assertEqual(spend["run_id"], run_id, spend)
        self.assertEqual(spend["max_usd_micro"], 500000, spend)
        self.assertEqual((spend["spent_usd_micro"], spend["reserved_usd_micro"]),
                         (2 * REPORTED, 0), spend)
        self.check_lineage_agrees(spend)
        self.check_never_above(spend["lineage"]["series"], [(0, 500000)])
        self.assertEqual(self.cli_json("budget", "spend", run_id), spend)
        self.assertIn(f"run:{run_id}",
                      [b["subject"] for b in self.get_ok("/api/budgets")["items"]])
        self.assertEqual(self.get_run(run_id)["status"], "RUNNING")
        self.action(run_id, "cancel")
        self.wait_run(run_id, ("CANCELLED",))
        self.finish()


# -- quotas ---------------------------------------------------------------------------


class QuotaWindowTest(PolicyCase):
    # Room for the gate's task and all eight uploads at once: what holds the
    # uploads back is the quota, not a worker.
    pool = "default:10:1:1"
    WINDOW_S = 5

    def test_uploads_wait_for_the_quota_window_and_all_finish(self):
        self.cli_ok("quota", "create", "yt", "--units", 10000, "--window", f"{self.WINDOW_S}s")
        # Eight uploads waiting on one input, the receipt of a task waiting
        # for a gate: they become READY together when it is opened.
        gate = self.gate("uploads.go")
        first = self.submit("receipt@1", values={"n": 0, "gate": gate})
        uploads = [self.submit("uploader@1", inputs={"item": first["outputs"]["receipt"]},
                               values={"n": i})["task_id"] for i in range(8)]
        self.wait_status(first["task_id"], ("RUNNING",))
        for task_id in uploads:
            self.assertEqual(self.task(task_id)["status"], "PENDING")
        # Opened early in a window, so that the eight are admitted in one
        # (not an assertion: the counts below hold whenever it is opened).
        wait_until(lambda: time.time() % self.WINDOW_S < 0.5, self.WINDOW_S + 1,
                   "the start of a quota window")
        self.open_gate(gate)
        for task_id in uploads:
            t = self.wait_finished(task_id, timeout=40)
            self.assertEqual(t["status"], "DONE", t)
            self.assertEqual(t["attempt"], 1, t)

        # The dispatches in the lineage's order, each with the units its
        # window had used after it: 1600, 3200, ... and back to 1600 in a new
        # window. At most six fit a window of 10,000.
        dispatches = sorted((self.packets(t, "task.dispatched")[0] for t in uploads),
                            key=lambda p: p["seq"])
        used = []
        for p in dispatches:
            charged = p["payload"]["admission"]["quotas"]
            self.assertEqual(len(charged), 1, charged)
            self.assertEqual((charged[0]["quota"], charged[0]["units"]), ("yt", 1600), charged)
            self.assertIn("quota:yt", p["subjects"])
            used.append(charged[0]["used_units"])
        windows = [[]]
        for u in used:
            if windows[-1] and u != windows[-1][-1] + 1600:
                windows.append([])
            windows[-1].append(u)
        for w in windows:
            self.assertEqual(w, [1600 * (i + 1) for i in range(len(w))], used)
            self.assertLessEqual(len(w), 6, used)
        self.assertGreaterEqual(len(windows), 2, used)

        # The uploads that did not fit waited, with the reason; none failed.
        held = {t: self.held(t) for t in uploads}
        waited = [t for t in uploads if held[t]]
        self.assertGreaterEqual(len(waited), 2, held)
        for t in waited:
            self.assertEqual([h["code"] for h in held[t]], ["quota_exhausted"], held[t])
            self.assertEqual(held[t][0]["predicate"], "quota.available@1")
            self.assertIn("quota 'yt' has", held[t][0]["saw"])
            self.assertIn("the window resets at", held[t][0]["saw"])
            kinds = task_kinds(self.history(t))
            self.assertLess(kinds.index("task.held"), kinds.index("task.dispatched"), kinds)
        for t in uploads:
            kinds = task_kinds(self.history(t))
            self.assertNotIn("task.attempt_failed", kinds)
            self.assertEqual(kinds.count("task.dispatched"), 1, kinds)

        quota = self.cli_json("quota", "show", "yt")
        self.assertEqual(quota["units"], 10000, quota)
        self.assertEqual(quota["lineage"]["used_units"], quota["used_units"], quota)
        self.finish()

    # A READY task whose admission can never pass ends ERROR (READY -> ERROR
    # in contracts/status.hpp) instead of waiting for ever.
    def test_an_upload_needing_more_than_a_window_ends_quota_exceeded(self):
        self.cli_ok("quota", "create", "yt", "--units", 10000, "--window", "1d")
        task = self.submit("bulk-uploader@1", values={"n": 1})
        t = self.wait_finished(task["task_id"], timeout=10)
        self.assertEqual(t["status"], "ERROR", t)
        self.assertEqual(t["error"]["code"], "quota_exceeded", t)
        self.assertIn("12000", t["error"]["message"])
        self.assertEqual(t["attempt"], 1, t)
        kinds = task_kinds(self.history(task["task_id"]))
        self.assertNotIn("task.dispatched", kinds)
        self.assertNotEqual(self.asset(task["outputs"]["receipt"])["status"], "AVAILABLE")
        # Nothing was charged.
        quota = self.cli_json("quota", "show", "yt")
        self.assertEqual((quota["used_units"], quota["lineage"]["used_units"]), (0, 0), quota)
        self.finish()


# -- success predicates -----------------------------------------------------------------


class SuccessPredicateTest(PolicyCase):

    def test_a_failing_success_predicate_fails_the_attempt_once(self):
        task = self.submit("receipt@1", values={"n": -1})
        t = self.wait_finished(task["task_id"])
        self.assertEqual(t["status"], "ERROR", t)
        error = t["error"]
        self.assertEqual(error["code"], "success_predicate_failed", error)
        self.assertEqual(error["pointer"], "/predicates/success/1", error)
        self.assertFalse(error["transient"], error)
        self.assertIn("value.matches@1", error["message"])
        self.assertIn('"failed"', error["message"])
        self.assertIn("'/status'", error["message"])
        # Its policy (retrying@1) allows three attempts: only one ran.
        self.assertEqual(t["attempt"], 1, t)
        kinds = task_kinds(self.history(task["task_id"]))
        self.assertEqual(kinds.count("task.dispatched"), 1, kinds)
        self.assertNotIn("task.succeeded", kinds)
        self.assertEqual(kinds[-1], "task.failed", kinds)
        self.assertNotEqual(self.asset(t["outputs"]["receipt"])["status"], "AVAILABLE")

        # The same module with a good receipt: DONE, with both verdicts.
        good = self.submit("receipt@1", values={"n": 3})
        self.assertEqual(self.wait_finished(good["task_id"])["status"], "DONE")
        succeeded = self.packets(good["task_id"], "task.succeeded")
        self.assertEqual(len(succeeded), 1)
        verdicts = succeeded[0]["payload"]["predicates"]
        self.assertEqual([(v["id"], v["passed"]) for v in verdicts],
                         [("artifact.exists@1", True), ("value.matches@1", True)], verdicts)
        self.assertEqual(self.content(good["outputs"]["receipt"])["status"], "uploaded")
        self.finish()


# -- leases ---------------------------------------------------------------------------


class LeaseContentionTest(PolicyCase):

    def test_the_second_publisher_waits_for_the_first_ones_lease(self):
        gate = self.gate("first.go")
        first = self.submit("publisher@1", values={"n": 1, "gate": gate})
        self.wait_status(first["task_id"], ("RUNNING",))
        leases = self.get_ok("/api/leases")["items"]
        self.assertEqual([(l["prefix"], l["task_id"], l["attempt"]) for l in leases],
                         [("/publish/test/", first["task_id"], 1)], leases)
        self.assertEqual(leases[0]["ttl_ms"], 30000, leases)

        second = self.submit("publisher@1", values={"n": 2})
        wait_until(lambda: self.held(second["task_id"]), 20, "the second to be held")
        self.assertEqual(self.task(second["task_id"])["status"], "READY")
        held = self.held(second["task_id"])
        self.assertEqual([h["code"] for h in held], ["lease_held"], held)
        self.assertIn(f"leased by task {first['task_id']}", held[0]["saw"])
        self.assertIn("/publish/test/", held[0]["saw"])

        self.open_gate(gate)
        for task in (first, second):
            self.assertEqual(self.wait_finished(task["task_id"])["status"], "DONE")

        # The second was dispatched after the first ended, which released
        # the lease; each dispatch took it.
        first_end = self.packets(first["task_id"], "task.succeeded")[0]
        self.assertEqual(first_end["payload"]["settled"]["leases_released"],
                         ["/publish/test/"], first_end["payload"])
        dispatched = self.packets(second["task_id"], "task.dispatched")
        self.assertEqual(len(dispatched), 1)
        self.assertGreater(dispatched[0]["seq"], first_end["seq"])
        hold = self.packets(second["task_id"], "task.held")[0]
        self.assertLess(hold["seq"], first_end["seq"])
        for task in (first, second):
            taken = self.packets(task["task_id"], "task.dispatched")[0]["payload"]["admission"]
            self.assertEqual([l["prefix"] for l in taken["leases"]], ["/publish/test/"], taken)
        self.assertEqual([p["kind"] for p in self.history("lease:/publish/test/")
                          if p["kind"] in ("task.dispatched", "task.succeeded")],
                         ["task.dispatched", "task.succeeded"] * 2)
        self.assertEqual(self.get_ok("/api/leases")["items"], [])
        self.finish()


class LeaseExpiryTest(PolicyCase):
    # Heartbeats every 5 s (the default, stated here): none renews a lease of
    # one second in time.
    config = {"heartbeat-interval-ms": 5000, "heartbeat-timeout-ms": 60000}

    def test_an_attempt_whose_lease_expires_fails_lease_lost_and_promotes_nothing(self):
        # It would write its receipt after 3 s, had it not been stopped.
        task = self.submit("slow-publisher@1", values={"n": 1, "sleep": 3})
        task_id = task["task_id"]
        t = self.wait_finished(task_id, timeout=30)
        self.assertEqual(t["status"], "ERROR", t)
        self.assertEqual(t["error"]["code"], "lease_lost", t)
        self.assertIn("/publish/slow/", t["error"]["message"])

        expired = self.packets(task_id, "lease.expired")
        self.assertEqual(len(expired), 1, expired)
        payload = expired[0]["payload"]
        self.assertEqual((payload["prefix"], payload["task_id"], payload["attempt"],
                          payload["ttl_ms"]), ("/publish/slow/", task_id, 1, 1000), payload)
        self.assertIn("lease:/publish/slow/", expired[0]["subjects"])
        kinds = task_kinds(self.history(task_id))
        self.assertLess(kinds.index("task.dispatched"), kinds.index("lease.expired"), kinds)
        self.assertLess(kinds.index("lease.expired"), kinds.index("task.failed"), kinds)
        self.assertNotIn("task.succeeded", kinds)
        self.assertEqual(self.get_ok("/api/leases")["items"], [])

        # Longer than the module would have taken: still nothing promoted.
        time.sleep(4)
        self.assertEqual(self.task(task_id)["status"], "ERROR")
        self.assertNotEqual(self.asset(task["outputs"]["receipt"])["status"], "AVAILABLE")
        self.assertNotIn("task.succeeded", task_kinds(self.history(task_id)))
        self.finish()


# -- spend across a restart -----------------------------------------------------------


class SpendAfterRestartTest(PolicyCase):
    pool = "default:2:1:1"

    def test_spend_after_a_sigkill_and_a_restart_equals_the_spend_before(self):
        self.cli_ok("budget", "create", "team", "--max-usd-micro", 10000000)
        done = self.submit("payer@1", values={"n": 0})
        self.assertEqual(self.wait_finished(done["task_id"])["status"], "DONE")
        gate = self.gate("uploads.go")
        running = [self.submit("payer@1", values={"n": i, "gate": gate})["task_id"]
                   for i in (1, 2)]
        for task_id in running:
            self.wait_status(task_id, ("RUNNING",))

        before = self.budget("team")
        self.assertEqual((before["spent_usd_micro"], before["reserved_usd_micro"]),
                         (REPORTED, 2 * COST), before)
        self.check_lineage_agrees(before)

        self.node.kill()  # SIGKILL, with two attempts holding reservations
        self.node.start()

        # The dead attempts are charged their worst case; they run again (and
        # reserve again) but wait for the gate, so nothing else settles.
        after = self.budget("team")
        self.assertEqual(after["spent_usd_micro"],
                         before["spent_usd_micro"] + before["reserved_usd_micro"], after)
        self.check_lineage_agrees(after)
        restart = [p for p in self.packets("budget:team", "budget.settled")
                   if p["subjects"] == ["budget:team"]]
        self.assertEqual(len(restart), 1, restart)
        self.assertEqual((restart[0]["payload"]["reserved_usd_micro"],
                          restart[0]["payload"]["charged_usd_micro"]),
                         (2 * COST, 2 * COST), restart[0]["payload"])
        self.assertIn("restarted", restart[0]["payload"]["reason"])

        self.open_gate(gate)
        for task_id in running:
            t = self.wait_finished(task_id, timeout=40)
            self.assertEqual(t["status"], "DONE", t)
            self.assertGreaterEqual(t["attempt"], 2, t)
        final = self.budget("team")
        self.assertEqual((final["spent_usd_micro"], final["reserved_usd_micro"]),
                         (REPORTED + 2 * COST + 2 * REPORTED, 0), final)
        self.check_lineage_agrees(final)
        self.check_never_above(final["lineage"]["series"], [(0, 10000000)])
        self.finish()


if __name__ == "__main__":
    node_harness.main()
