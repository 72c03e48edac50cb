#!/usr/bin/env python3
"""The advisory engines through a real node (docs/engines.md).

Usage: node_engines_test.py OMNIVA_BINARY REPO_DIR

Each case starts a node whose control cycle, heartbeats and breakers are
short (a configuration file, `[omniva]`; the policies come from a plain
folder given with `--modules`), registers test modules whose retry policy
pauses 50 ms, and checks what the engines advised and what Zenith decided,
through the task rows, the lineage and HaloLux:

- Eclipse: a module failing transiently on its first attempt (an output
  manifest error marked `transient`, exit 1; a code the policy's `retry_on`
  lists) runs again and ends DONE with one set of outputs; a deterministic
  failure is not retried; five failures in a row quarantine the module (its
  next task waits READY, its explanation says why) until an operator
  releases it; a lost attempt (a silent fault, `--faults`) runs again, three
  make the task poison.
- Paradox: `reuse` and `block` duplicates; a task on a blocked task's output
  ends `upstream_failed` (or, submitted after the skip, is refused).
- `omniva task retry` revives a failed chain: every task of it ends DONE.
- HaloLux: every task of every case is explained through HTTP and the CLI;
  every packet cited exists.
- Paradox's audits: a clean node, and every node after its case, has no
  finding; the audit is recorded.

The harness (a node per case, HTTP and CLI helpers) is tests/node_harness.py.
"""

import json
import os
import shutil
import tempfile

import node_harness
from node_harness import *  # noqa: F401,F403 (the fixtures and NodeTestCase)

# A short control cycle and heartbeats; a breaker's cooldown long enough that
# no probe goes while a case looks at a quarantine.
CONFIG = {
    "control-cycle-ms": 100,
    "heartbeat-interval-ms": 100,
    "heartbeat-timeout-ms": 800,
    "breaker-threshold": 5,
    "breaker-cooldown-ms": 600000,
    "poison-after": 3,
}

# Retries pause 50 ms (no jitter), up to 5 attempts.
FAST_POLICY = {
    "description": "Tests: retry at once.",
    "retry": {"max_attempts": 5, "backoff_ms": [50], "jitter_pct": 0},
}

# The same, and a plain non-zero exit is worth another try.
EXIT_POLICY = {
    "description": "Tests: retry a non-zero exit at once.",
    "retry": {"max_attempts": 5, "backoff_ms": [50], "jitter_pct": 0,
              "retry_on": ["exit_code"]},
}

# One program for every test module; its VALUE inputs say how it behaves:
#   mode "ok"         writes its output {"n": n}
#        "exit"       exits 1 (a deterministic failure)
#        "transient"  on attempt 1: an output manifest error network_timeout
#                     marked transient, exit 1; later attempts succeed
#        "exit_once"  on attempt 1 exits 1; later attempts succeed
#        "gate"       exits 1 unless the file `gate` names exists
PROGRAM = '''\
import argparse, json, os, sys
parser = argparse.ArgumentParser()
parser.add_argument("--manifest", required=True)
manifest = json.load(open(parser.parse_args().manifest, encoding="utf-8"))
values = {k: v.get("value") for k, v in manifest["inputs"].items()}
mode, n, gate = values["mode"], values["n"], values["gate"]
out = manifest["output_dir"]
first = manifest["attempt"] == 1

def write_manifest(doc):
    with open(os.path.join(out, "output_manifest.json"), "w", encoding="utf-8") as f:
        json.dump(doc, f)

if mode == "transient" and first:
    print("the network timed out", file=sys.stderr)
    write_manifest({"error": {"code": "network_timeout",
                              "message": "the network timed out (a test fixture)",
                              "transient": True}})
    sys.exit(1)
if mode == "exit" or (mode == "exit_once" and first) \\
        or (mode == "gate" and not os.path.exists(gate)):
    print("failing on purpose", file=sys.stderr)
    sys.exit(1)
with open(os.path.join(out, "result.json"), "w", encoding="utf-8") as f:
    json.dump({"n": n}, f)
write_manifest({"outputs": {"result": {"path": "result.json",
                                       "media_type": "application/json"}}})
'''


def contract(name, policy=None, duplicates=None):
    doc = {
        "name": name,
        "version": 1,
        "description": "Succeeds or fails as its values say (a test fixture).",
        "inputs": [
            {"key": "mode", "label": "How it behaves", "contract_type": "VALUE",
             "dtype": "string", "default": "ok"},
            {"key": "n", "label": "What it writes", "contract_type": "VALUE",
             "dtype": "int", "default": 0},
            {"key": "gate", "label": "The file that lets it succeed",
             "contract_type": "VALUE", "dtype": "string", "default": ""},
        ],
        "outputs": [{
            "key": "result",
            "label": "Result",
            "contract_type": "ASSET",
            "media_type": "application/json",
        }],
        "resources": {"cpu": 1, "memory_gb": 0.1, "gpu": False, "timeout_s": 30},
        "run": {"command": ["python3", "fixture.py"]},
        "schema_version": "1.0.0",
    }
    if policy:
        doc["policy"] = policy
    if duplicates:
        doc["duplicates"] = duplicates
    return doc


def subsequence(wanted, kinds):
    """Whether `wanted` occurs in `kinds` in order (not necessarily adjacent)."""
    it = iter(kinds)
    return all(k in it for k in wanted)


class EnginesTestCase(NodeTestCase):
    """A node with CONFIG (plus `config`) and, when `faults` is set, that
    fault plan."""

    config = {}
    faults = None

    def setUp(self):
        conf_dir = tempfile.mkdtemp(prefix="omniva-engines-")
        self.addCleanup(shutil.rmtree, conf_dir, True)
        conf = os.path.join(conf_dir, "omniva.conf")
        with open(conf, "w", encoding="utf-8") as f:
            f.write("[omniva]\n")
            for key, value in {**CONFIG, **self.config}.items():
                f.write(f"{key}={value}\n")
        # The policies: a plain folder the node scans at start (a module
        # folder registered through the CLI brings no policies).
        registry = os.path.join(conf_dir, "registry")
        os.makedirs(os.path.join(registry, "policies"))
        for ref, doc in (("fast@1", FAST_POLICY), ("exit-retry@1", EXIT_POLICY)):
            with open(os.path.join(registry, "policies", ref + ".json"), "w",
                      encoding="utf-8") as f:
                json.dump(doc, f)
        args = ["--config", conf, "--modules", registry]
        if self.faults is not None:
            plan = os.path.join(conf_dir, "faults.json")
            with open(plan, "w", encoding="utf-8") as f:
                json.dump(self.faults, f)
            args += ["--faults", plan]
        self.node_args = tuple(args)
        super().setUp()
        # Every task a case made, explained at its end.
        self.seen = []

    # -- fixtures ----------------------------------------------------------------

    def register_module(self, name, policy="fast@1", duplicates=None):
        """Registers test module `name`@1 (PROGRAM) naming `policy`; returns
        its ref."""
        folder = os.path.join(self.tmp, name)
        os.makedirs(folder)
        with open(os.path.join(folder, "module.json"), "w", encoding="utf-8") as f:
            json.dump(contract(name, policy, duplicates), f, indent=2)
        with open(os.path.join(folder, "fixture.py"), "w", encoding="utf-8") as f:
            f.write(PROGRAM)
        ref = f"{name}@1"
        self.assertEqual(self.cli_ok("module", "register", folder).stdout.strip(), ref)
        return ref

    def run_task(self, ref, **values):
        task = self.submit(ref, values=values)
        self.seen.append(task["task_id"])
        return task

    def relay(self, asset_id):
        task = self.submit("json-relay@1", inputs={"source": asset_id})
        self.seen.append(task["task_id"])
        return task

    # -- reading -------------------------------------------------------------------

    def kinds(self, entity):
        return [p["kind"] for p in self.history(entity)]

    def packets(self, entity, kind):
        return [p for p in self.history(entity) if p["kind"] == kind]

    def decisions(self, task_id, engine):
        """Zenith's decisions on `task_id` after advice of `engine`, in order."""
        out = []
        for p in self.packets(task_id, "decision.zenith"):
            if p["payload"].get("engine") != engine:
                continue
            out += [d for d in p["payload"]["decisions"] if d.get("task_id") == task_id]
        return out

    def plans(self, task_id):
        """Eclipse's plans for `task_id`, in order."""
        return [plan for p in self.packets(task_id, "advice.eclipse")
                for plan in p["payload"].get("plans", []) if plan["task_id"] == task_id]

    def quarantines(self):
        return self.items("/api/quarantines")

    def wait_done(self, task_id, timeout=30):
        row = self.wait_finished(task_id, timeout)
        self.assertEqual(row["status"], "DONE", row)
        return row

    def wait_error(self, task_id, code, timeout=30):
        row = self.wait_finished(task_id, timeout)
        self.assertEqual(row["status"], "ERROR", row)
        self.assertEqual(row["error"]["code"], code, row)
        return row

    # -- HaloLux and audits at the end of every case ------------------------------

    def explain(self, subject):
        """HaloLux's explanation of `subject` through HTTP and the CLI, checked:
        the same answer, a narrative, completeness in [0, 1], every cited
        packet in the log."""
        doc = self.get_ok(f"/api/explain/{subject}")
        self.assertEqual(doc["subject"], subject, doc)
        self.assertEqual(self.cli_json("explain", subject), doc)
        self.assertTrue(doc["narrative"].strip(), doc)
        self.assertGreaterEqual(doc["completeness"], 0, doc)
        self.assertLessEqual(doc["completeness"], 1, doc)
        self.assertTrue(doc["chain"], doc)
        for step in doc["chain"]:
            self.assertTrue(step["statement"].strip(), step)
            self.assertRegex(step["packet_id"], SHA256, step)
            packet = self.get_ok(f"/api/lineage/{step['packet_id']}")["packet"]
            self.assertIn("kind", packet)
        return doc

    def explain_all(self):
        for task_id in self.seen:
            with self.subTest(explain=task_id):
                doc = self.explain(task_id)
                self.assertEqual(doc["subject_kind"], "task", doc)

    def audit_is_clean(self):
        r = self.cli("audit", "run", "--json")
        audit = json.loads(r.stdout) if r.stdout.strip() else {}
        self.assertEqual(r.returncode, 0, f"audit run: {r.stdout}{r.stderr}")
        self.assertEqual(audit["findings"], [], audit)
        self.assertEqual(audit["requested_by"], "admin", audit)
        listed = self.items("/api/audits")
        self.assertEqual(listed[0]["audit_id"], audit["audit_id"], listed)
        self.assertEqual(listed[0]["packet_id"], audit["packet_id"], listed)
        record = self.get_ok(f"/api/lineage/{audit['packet_id']}")["packet"]
        self.assertEqual(record["kind"], "advice.paradox", record)
        return audit

    def end_case(self):
        self.explain_all()
        self.audit_is_clean()
        self.finish()


class RetryTest(EnginesTestCase):

    def check_retried_once(self, task_id, code, transient):
        """Two attempts, the first failed with `code` and retried by Eclipse
        and Zenith, one set of outputs."""
        row = self.wait_done(task_id)
        self.assertEqual(row["attempt"], 2, row)
        kinds = self.kinds(task_id)
        self.assertTrue(subsequence(
            ["task.created", "task.dispatched", "task.attempt_failed", "advice.eclipse",
             "decision.zenith", "task.requeued", "task.dispatched", "task.succeeded"],
            kinds), kinds)
        self.assertEqual(kinds.count("task.dispatched"), 2, kinds)
        self.assertEqual(kinds.count("task.succeeded"), 1, kinds)
        self.assertNotIn("task.failed", kinds)

        failed = self.packets(task_id, "task.attempt_failed")
        self.assertEqual(len(failed), 1, failed)
        self.assertEqual(failed[0]["payload"]["attempt"], 1, failed)
        self.assertEqual(failed[0]["payload"]["code"], code, failed)
        self.assertEqual(failed[0]["payload"]["transient"], transient, failed)
        self.assertFalse(failed[0]["payload"].get("lost", False), failed)

        plans = self.plans(task_id)
        self.assertEqual([(p["attempt"], p["action"], p["code"]) for p in plans],
                         [(1, "retry", code)], plans)
        self.assertEqual(self.decisions(task_id, "eclipse")[0]["decision"], "retry")
        requeued = self.packets(task_id, "task.requeued")
        self.assertEqual([p["payload"]["attempt"] for p in requeued], [2], requeued)

        # One set of outputs: the promised asset, made once, by attempt 2.
        (asset_id,) = row["outputs"].values()
        asset = self.asset(asset_id)
        self.assertEqual(asset["status"], "AVAILABLE", asset)
        self.assertEqual(asset["produced_by"], task_id, asset)
        self.assertEqual(self.kinds(asset_id).count("task.succeeded"), 1)
        folder = os.path.join(self.node.data, "outputs", task_id)
        self.assertFalse(os.path.exists(os.path.join(folder, "1", "result.json")))
        self.assertEqual(sha256_of(os.path.join(folder, "2", "result.json")),
                         asset["sha256"])

    def test_a_transient_manifest_error_is_retried_and_the_second_attempt_is_done(self):
        ref = self.register_module("flaky")
        task = self.run_task(ref, mode="transient", n=1)
        self.check_retried_once(task["task_id"], "network_timeout", True)
        self.end_case()

    def test_a_code_the_policy_lists_is_retried(self):
        ref = self.register_module("stubborn", policy="exit-retry@1")
        task = self.run_task(ref, mode="exit_once", n=2)
        self.check_retried_once(task["task_id"], "exit_code", False)
        self.end_case()

    def test_a_deterministic_failure_is_not_retried(self):
        ref = self.register_module("broken")
        task = self.run_task(ref, mode="exit", n=3)
        row = self.wait_error(task["task_id"], "exit_code")
        self.assertEqual(row["attempt"], 1, row)
        kinds = self.kinds(task["task_id"])
        self.assertEqual(kinds.count("task.dispatched"), 1, kinds)
        self.assertNotIn("task.requeued", kinds)
        self.assertTrue(subsequence(["task.attempt_failed", "advice.eclipse",
                                     "decision.zenith", "task.failed"], kinds), kinds)
        plans = self.plans(task["task_id"])
        self.assertEqual([(p["action"], p["failure_class"]) for p in plans],
                         [("fail", "deterministic")], plans)
        self.assertEqual([d["decision"] for d in self.decisions(task["task_id"], "eclipse")],
                         ["fail"])
        self.assertEqual(self.asset(task["outputs"]["result"])["status"], "FAILED")
        self.end_case()


class BreakerTest(EnginesTestCase):

    def test_five_failures_quarantine_the_module_until_an_operator_releases_it(self):
        ref = self.register_module("fragile")
        gate = os.path.join(self.tmp, "fragile.go")
        failed = [self.run_task(ref, mode="gate", gate=gate, n=i) for i in range(5)]
        for t in failed:
            self.wait_error(t["task_id"], "exit_code")
        target = f"module:{ref}"
        opened = wait_until(lambda: [q for q in self.quarantines() if q["target"] == target],
                            10, f"the breaker to quarantine {target}")
        self.assertEqual(opened[0]["by"], "eclipse", opened)
        self.assertEqual(opened[0]["state"], "open", opened)
        self.assertEqual(opened[0]["failures"], 5, opened)
        breakers = [b for t in failed for p in self.packets(t["task_id"], "advice.eclipse")
                    for b in p["payload"].get("breakers", []) if b["target"] == target]
        self.assertTrue(any(b["state"] == "open" for b in breakers), breakers)

        # Its next task waits READY, and HaloLux says why.
        waiting = self.run_task(ref, mode="gate", gate=gate, n=5)
        self.assertEqual(self.wait_status(waiting["task_id"], ("READY",))["status"], "READY")
        doc = self.explain(waiting["task_id"])
        self.assertIn("quarantin", doc["narrative"].lower(), doc)
        self.assertTrue(any("quarantin" in s["statement"].lower() for s in doc["chain"]), doc)
        self.assertNotIn("task.dispatched", self.kinds(waiting["task_id"]))
        self.assertEqual(self.task(waiting["task_id"])["status"], "READY")

        # The cause is gone; the operator releases the module: it runs.
        self.write("fragile.go", "")
        self.assertEqual(self.cli_ok("quarantine", "rm", "module", ref).stdout.strip(),
                         f"released {target}")
        self.assertEqual([q for q in self.quarantines() if q["target"] == target], [])
        row = self.wait_done(waiting["task_id"])
        self.assertEqual(row["attempt"], 1, row)
        removed = [p["payload"] for p in self.packets(target, "operator.override")]
        self.assertEqual([(p["action"], p["operator"]) for p in removed],
                         [("quarantine.remove", "admin")], removed)
        self.end_case()


class DuplicatesTest(EnginesTestCase):

    def test_a_reuse_duplicate_is_done_with_the_first_tasks_outputs(self):
        ref = self.register_module("memo", duplicates="reuse")
        first = self.run_task(ref, n=7)
        first_row = self.wait_done(first["task_id"])
        second = self.run_task(ref, n=7)
        row = self.wait_done(second["task_id"])
        self.assertEqual(row["reused_from"], first["task_id"], row)
        self.assertNotIn("task.dispatched", self.kinds(second["task_id"]))
        self.assertIn("task.reused", self.kinds(second["task_id"]))
        self.assertEqual([d["decision"] for d in self.decisions(second["task_id"], "paradox")],
                         ["reuse"])
        mine = self.asset(row["outputs"]["result"])
        theirs = self.asset(first_row["outputs"]["result"])
        self.assertNotEqual(mine["asset_id"], theirs["asset_id"])
        self.assertEqual(mine["status"], "AVAILABLE", mine)
        self.assertEqual(mine["sha256"], theirs["sha256"])
        # Another value is no duplicate: it runs.
        other = self.run_task(ref, n=8)
        row = self.wait_done(other["task_id"])
        self.assertNotIn("reused_from", row)
        self.assertIn("task.dispatched", self.kinds(other["task_id"]))
        self.end_case()

    def test_a_block_duplicate_is_skipped_and_what_waits_on_it_fails(self):
        self.register_relay()
        ref = self.register_module("once", duplicates="block")
        first = self.run_task(ref, n=9)
        # Duplicates, each with a task on its output submitted at once: that
        # one either came before the skip and fails in cascade, or pre-flight
        # found the output FAILED already and refused it (the skip commits one
        # Paradox round trip after the duplicate's creation: no request can be
        # sure to come in between; of several, some usually do).
        pairs = []
        for _ in range(6):
            dup = self.run_task(ref, n=9)
            status, doc, _ = self.http("POST", "/api/tasks", {
                "module_ref": "json-relay@1",
                "input_mapping": {"source": dup["outputs"]["result"]}})
            pairs.append((dup, status, doc))
        for dup, status, doc in pairs:
            task_id, blocked = dup["task_id"], dup["outputs"]["result"]
            row = self.wait_status(task_id, ("SKIPPED",))
            self.assertEqual(row["duplicate_of"], first["task_id"], row)
            out = self.asset(blocked)
            self.assertEqual(out["status"], "FAILED", out)
            skipped = self.packets(task_id, "task.skipped")
            self.assertEqual(len(skipped), 1, skipped)
            self.assertEqual(skipped[0]["payload"]["duplicate_of"], first["task_id"])
            self.assertEqual(skipped[0]["payload"]["code"], "duplicate_blocked")
            self.assertEqual([d["decision"] for d in self.decisions(task_id, "paradox")],
                             ["skip"])
            self.assertNotIn("task.dispatched", self.kinds(task_id))
            if status == 201:
                self.seen.append(doc["task_id"])
                self.wait_error(doc["task_id"], "upstream_failed")
            else:
                self.assertEqual(status, 422, doc)
                self.assertEqual([(e["code"], e["pointer"]) for e in doc["errors"]],
                                 [("asset_failed", "/input_mapping/source")], doc)
            # Submitted after the skip: refused at the door.
            status, doc, _ = self.http("POST", "/api/tasks", {
                "module_ref": "json-relay@1", "input_mapping": {"source": blocked}})
            self.assertEqual(status, 422, doc)
            self.assertEqual(doc["errors"][0]["code"], "asset_failed", doc)
        self.wait_done(first["task_id"])
        self.end_case()


class LostWorkerTest(EnginesTestCase):
    faults = {"seed": 1, "rules": [
        {"module": "lossy@1", "attempts": [1], "fault": "silent"},
        {"module": "doomed@1", "attempts": [1, 2, 3], "fault": "silent"},
    ]}

    def test_a_lost_attempt_runs_again(self):
        ref = self.register_module("lossy")
        task = self.run_task(ref, n=10)
        task_id = task["task_id"]
        row = self.wait_done(task_id)
        self.assertEqual(row["attempt"], 2, row)
        failed = self.packets(task_id, "task.attempt_failed")
        self.assertEqual([(p["payload"]["attempt"], p["payload"].get("lost")) for p in failed],
                         [(1, True)], failed)
        self.assertEqual(failed[0]["payload"]["code"], "lost_worker", failed)
        self.assertEqual([p["action"] for p in self.plans(task_id)], ["retry"])
        kinds = self.kinds(task_id)
        self.assertTrue(subsequence(["task.dispatched", "task.attempt_failed",
                                     "advice.eclipse", "decision.zenith", "task.requeued",
                                     "task.dispatched", "task.succeeded"], kinds), kinds)
        self.assertIn("injected fault", self.node.log())
        self.end_case()

    def test_three_lost_attempts_make_a_poison_task(self):
        ref = self.register_module("doomed")
        task = self.run_task(ref, n=11)
        task_id = task["task_id"]
        row = self.wait_error(task_id, "poison_task", timeout=60)
        self.assertEqual(row["attempt"], 3, row)
        failed = self.packets(task_id, "task.attempt_failed")
        self.assertEqual([(p["payload"]["attempt"], p["payload"].get("lost")) for p in failed],
                         [(1, True), (2, True), (3, True)], failed)
        self.assertEqual([p["action"] for p in self.plans(task_id)],
                         ["retry", "retry", "poison"])
        self.assertEqual(self.decisions(task_id, "eclipse")[-1]["decision"], "poison")
        self.assertEqual(self.asset(task["outputs"]["result"])["status"], "FAILED")
        self.end_case()


class OperatorRetryTest(EnginesTestCase):

    def test_retrying_a_failed_task_revives_its_chain(self):
        self.register_relay()
        ref = self.register_module("picky")
        gate = os.path.join(self.tmp, "picky.go")
        a = self.run_task(ref, mode="gate", gate=gate, n=12)
        b = self.relay(a["outputs"]["result"])
        c = self.relay(b["outputs"]["copy"])
        self.wait_error(a["task_id"], "exit_code")
        self.wait_error(b["task_id"], "upstream_failed")
        self.wait_error(c["task_id"], "upstream_failed")

        self.write("picky.go", "")
        retried = json.loads(self.cli_ok("task", "retry", a["task_id"], "--json").stdout)
        self.assertEqual(retried["task_id"], a["task_id"])
        self.assertEqual(retried["attempt"], 2, retried)
        for t in (a, b, c):
            self.wait_done(t["task_id"])
        kinds = self.kinds(a["task_id"])
        self.assertIn("operator.override", kinds)
        self.assertIn("task.retried", kinds)
        override = [p["payload"] for p in self.packets(a["task_id"], "operator.override")]
        self.assertEqual([(p["action"], p["operator"]) for p in override],
                         [("task.retry", "admin")], override)
        revived = {t["task_id"]: self.packets(t["task_id"], "task.revived") for t in (b, c)}
        for packets in revived.values():
            self.assertEqual(len(packets), 1, packets)
            self.assertEqual(packets[0]["payload"]["operator"], "admin", packets)
        self.assertEqual(self.asset(c["outputs"]["copy"])["status"], "AVAILABLE")
        self.explain_all()
        self.audit_is_clean()
        # `because` names the retried task (docs/engines.md, "Packets"), for
        # a task revived two deep too.
        for task_id, packets in revived.items():
            self.assertEqual(packets[0]["payload"]["because"], a["task_id"],
                             f"task.revived of {task_id}: {packets}")
        self.finish()


class AuditTest(EnginesTestCase):

    def test_an_audit_of_a_clean_node_finds_nothing_and_is_recorded(self):
        self.assertEqual(self.items("/api/audits"), [])
        audit = self.audit_is_clean()
        self.assertEqual(len(self.items("/api/audits")), 1)
        self.assertGreater(audit["packets_checked"], 0, audit)
        # And after work.
        ref = self.register_module("plain")
        self.wait_done(self.run_task(ref, n=13)["task_id"])
        audit = self.audit_is_clean()
        self.assertGreaterEqual(audit["tasks_checked"], 1, audit)
        self.assertEqual(len(self.items("/api/audits")), 2)
        self.end_case()


if __name__ == "__main__":
    node_harness.main()
