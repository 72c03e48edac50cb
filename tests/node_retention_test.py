#!/usr/bin/env python3
"""Retention through a real node (docs/operations.md, "Retention and garbage
collection"): `POST /api/gc` and `omniva gc [--dry-run]` with windows of zero
(or the defaults, to see what they keep).

- an old finished task's folder goes and its output becomes PURGED: its
  history says so, naming the operator; its content answers 410; used as an
  input it is refused with asset_purged at its pointer; a dry run before
  changed nothing; the node restarts fine after it;
- an output held by a PENDING task stays, and goes once the holder is done;
- the folder of an attempt that did not win goes, the winner's stays; a
  removal recorded before a crash is completed without a second record;
- a deleted upload's blob stays within its grace and goes after it, a blob
  an asset references stays;
- the node's own passes (`--retention-interval`) name the operator
  "retention";
- refusals: a bad body (400 with its pointer), a token below admin (403).

`finish()` runs `omniva lineage verify` after each case (the node running,
then stopped).
"""

import json
import os

import node_harness
from node_harness import *

# A module with two JSON inputs, `a` and `b`, that copies `a` (a test
# fixture): a task of it waits (PENDING) while `b` is promised, holding `a`.
PAIR_CONTRACT = {
    "name": "pair",
    "version": 1,
    "description": "Copies its first JSON input once both exist (a test fixture).",
    "inputs": [
        {"key": "a", "label": "First", "contract_type": "ASSET",
         "constraints": {"media_types": ["application/json"]}},
        {"key": "b", "label": "Second", "contract_type": "ASSET",
         "constraints": {"media_types": ["application/json"]}},
    ],
    "outputs": [{"key": "copy", "label": "Copy of a", "contract_type": "ASSET",
                 "media_type": "application/json"}],
    "resources": {"cpu": 1, "memory_gb": 0.1, "gpu": False, "timeout_s": 20},
    "run": {"command": ["python3", "pair.py"]},
    "schema_version": "1.0.0",
}

PAIR_SCRIPT = '''\
import argparse, json, os, shutil
parser = argparse.ArgumentParser()
parser.add_argument("--manifest", required=True)
manifest = json.load(open(parser.parse_args().manifest, encoding="utf-8"))
out = manifest["output_dir"]
shutil.copyfile(manifest["inputs"]["a"]["path"], os.path.join(out, "copy.json"))
with open(os.path.join(out, "output_manifest.json"), "w", encoding="utf-8") as f:
    json.dump({"outputs": {"copy": {"path": "copy.json",
                                    "media_type": "application/json"}}}, f)
'''

# A module that works until the file its `flag` value names exists (at most
# 20 s), then writes a JSON output (a test fixture): a task's output that
# stays promised for as long as the test wants.
GATE_CONTRACT = {
    "name": "gate",
    "version": 1,
    "description": "Waits for a file, then writes a JSON document (a test fixture).",
    "inputs": [{"key": "flag", "label": "The file it waits for",
                "contract_type": "VALUE", "dtype": "string"}],
    "outputs": [{"key": "result", "label": "Done", "contract_type": "ASSET",
                 "media_type": "application/json"}],
    "resources": {"cpu": 1, "memory_gb": 0.1, "gpu": False, "timeout_s": 30},
    "run": {"command": ["python3", "gate.py"]},
    "schema_version": "1.0.0",
}

GATE_SCRIPT = '''\
import argparse, json, os, time
parser = argparse.ArgumentParser()
parser.add_argument("--manifest", required=True)
manifest = json.load(open(parser.parse_args().manifest, encoding="utf-8"))
flag = manifest["inputs"]["flag"]["value"]
deadline = time.time() + 20
while not os.path.exists(flag) and time.time() < deadline:
    time.sleep(0.05)
out = manifest["output_dir"]
with open(os.path.join(out, "result.json"), "w", encoding="utf-8") as f:
    json.dump({"ok": True}, f)
with open(os.path.join(out, "output_manifest.json"), "w", encoding="utf-8") as f:
    json.dump({"outputs": {"result": {"path": "result.json",
                                      "media_type": "application/json"}}}, f)
'''

# Windows of zero: whatever is finished may go at once. No pass of its own.
EVERYTHING_GOES = ONE_WORKER + ("--retention-attempts-days", "0",
                                "--retention-outputs-days", "0",
                                "--retention-interval", "0")


class RetentionCase(NodeTestCase):
    """What the retention cases share."""

    def gc(self, body=None, token="node"):
        status, doc, _ = self.http("POST", "/api/gc", {} if body is None else body,
                                   token=token)
        return status, doc

    def gc_ok(self, dry_run=False):
        status, doc = self.gc({"dry_run": True} if dry_run else {})
        self.assertEqual(status, 200, doc)
        self.assertEqual(doc["dry_run"], dry_run)
        return doc

    def packets(self):
        return self.get_ok("/api/lineage/verify")["packets"]

    def folder(self, task_id, *attempt):
        return os.path.join(self.node.data, "outputs", task_id, *map(str, attempt))

    def run_ok(self):
        """A fail-on-request@1 task that succeeds; returns it, finished."""
        t = self.submit("fail-on-request@1", values={"mode": "ok"})
        done = self.wait_finished(t["task_id"])
        self.assertEqual(done["status"], "DONE", done)
        return done

    def item_of(self, doc, task_id):
        found = [t for t in doc["tasks"] if t["task_id"] == task_id]
        return found[0] if found else None

    def payload_of_last(self, entity, kind):
        found = [p for p in self.history(entity) if p["kind"] == kind]
        self.assertTrue(found, f"no {kind} packet names {entity}")
        return found[-1]["payload"]


class OldTaskTest(RetentionCase):
    node_args = EVERYTHING_GOES

    def test_an_old_task_folder_goes_and_its_output_is_purged(self):
        t = self.run_ok()
        out = t["outputs"]["report"]
        self.assertTrue(os.path.isdir(self.folder(t["task_id"], 1)))

        # A dry run shows it and changes nothing.
        before = self.packets()
        shown = self.gc_ok(dry_run=True)
        item = self.item_of(shown, t["task_id"])
        self.assertIsNotNone(item, shown)
        self.assertTrue(item["whole"], item)
        self.assertEqual(item["assets"], [out])
        self.assertGreater(item["bytes"], 0)
        self.assertFalse(item["recorded_earlier"])
        self.assertNotIn("trace_id", shown)
        r = self.cli_ok("gc", "--dry-run")
        self.assertIn("would remove 1 task folder", r.stdout)
        self.assertIn(t["task_id"], r.stdout)
        self.assertIn("1 asset would become PURGED", r.stdout)
        self.assertEqual(self.packets(), before, "a dry run records nothing")
        self.assertTrue(os.path.isdir(self.folder(t["task_id"])))
        self.assertEqual(self.asset(out)["status"], "AVAILABLE")

        # The pass: recorded, then removed.
        went = self.gc_ok()
        item = self.item_of(went, t["task_id"])
        self.assertIsNotNone(item, went)
        self.assertTrue(item["whole"])
        self.assertEqual(went["operator"], "admin")
        self.assertEqual(went["totals"]["assets"], 1)
        self.assertIn("trace_id", went)
        self.assertFalse(os.path.exists(self.folder(t["task_id"])))
        asset = self.asset(out)
        self.assertEqual(asset["status"], "PURGED", asset)
        self.assertIn("purged_at", asset)
        self.assertIn(out, [a["asset_id"] for a in self.items("/api/assets?status=PURGED")])
        status, doc = self.get(f"/api/assets/{out}/content")
        self.assertEqual(status, 410, doc)
        self.assertEqual(doc["error"]["code"], "asset_purged")

        # Its history says so, naming who asked; the task's and the pass's too.
        purged = self.payload_of_last(out, "asset.purged")
        self.assertEqual(purged["operator"], "admin")
        self.assertEqual(purged["task_id"], t["task_id"])
        self.assertIn("retention", purged["reason"])
        removed = self.payload_of_last(t["task_id"], "task.files_removed")
        self.assertTrue(removed["whole"])
        self.assertEqual(removed["attempts"], [1])
        summary = self.payload_of_last("gc", "gc.completed")
        self.assertEqual(summary["operator"], "admin")
        self.assertEqual(summary["assets"], 1)

        # A backup does not count the purged file as missing.
        backup = self.cli_json("backup", "--to", os.path.join(self.tmp, "backup"))
        self.assertEqual(backup["state"], "done", backup)
        self.assertEqual(backup["result"]["missing"], 0, backup)

        # Its logs are gone, and asking for them says why.
        status, doc = self.get(f"/api/tasks/{t['task_id']}/attempts/1/logs")
        self.assertEqual(status, 404, doc)
        self.assertEqual(doc["error"]["code"], "not_found")
        self.assertIn("removed by the retention policy", doc["error"]["message"])

        # Used as an input, it is refused at its pointer (HTTP and CLI).
        self.register_relay()
        status, doc, _ = self.http("POST", "/api/tasks", {
            "module_ref": "json-relay@1", "input_mapping": {"source": out}})
        self.assertEqual(status, 422, doc)
        self.assertEqual([(e["code"], e["pointer"]) for e in doc["errors"]],
                         [("asset_purged", "/input_mapping/source")])
        r = self.cli("task", "create", "json-relay@1", "--input", f"source={out}")
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("asset_purged", r.stderr)

        # A second pass has nothing to do and records nothing.
        before = self.packets()
        again = self.gc_ok()
        self.assertEqual(again["totals"]["tasks"], 0, again)
        self.assertEqual(self.packets(), before)
        self.assertIn("nothing was removed", self.cli_ok("gc").stdout)

        # The node restarts fine after it: the asset is still PURGED.
        self.verify_lineage()
        self.assertEqual(self.node.stop(), 0, self.node.log()[-2000:])
        self.node.start()
        self.assertEqual(self.asset(out)["status"], "PURGED")
        self.assertEqual(self.gc_ok()["totals"]["tasks"], 0)
        self.finish()

    def test_an_output_held_by_a_pending_task_stays(self):
        self.register_fixture(PAIR_CONTRACT, "pair.py", PAIR_SCRIPT)
        self.register_fixture(GATE_CONTRACT, "gate.py", GATE_SCRIPT)
        x = self.run_ok()
        out = x["outputs"]["report"]
        flag = os.path.join(self.tmp, "go")
        gate = self.submit("gate@1", values={"flag": flag})
        self.wait_status(gate["task_id"], ("RUNNING",), timeout=10)
        y = self.submit("pair@1", {"a": out, "b": gate["outputs"]["result"]})
        self.assertEqual(y["status"], "PENDING")
        self.assertEqual(self.asset(out)["holds"], [y["task_id"]])

        went = self.gc_ok()
        self.assertIsNone(self.item_of(went, x["task_id"]), went)
        self.assertIsNone(self.item_of(went, gate["task_id"]), "unfinished")
        self.assertTrue(os.path.isdir(self.folder(x["task_id"], 1)))
        self.assertEqual(self.asset(out)["status"], "AVAILABLE")

        # Once the holder is done, nothing holds it: it goes.
        with open(flag, "w", encoding="utf-8"):
            pass
        self.assertEqual(self.wait_finished(y["task_id"], timeout=30)["status"], "DONE")
        went = self.gc_ok()
        self.assertIsNotNone(self.item_of(went, x["task_id"]), went)
        self.assertFalse(os.path.exists(self.folder(x["task_id"])))
        self.assertEqual(self.asset(out)["status"], "PURGED")
        self.finish()

    def test_refusals(self):
        cases = [
            ({"dry_run": "yes"}, 400, "type_mismatch", "/dry_run"),
            ({"bogus": True}, 400, "unknown_field", "/bogus"),
            ([True], 400, "type_mismatch", ""),
        ]
        for body, status, code, pointer in cases:
            with self.subTest(body=body):
                got, doc = self.gc(body)
                self.assertEqual(got, status, doc)
                self.assertEqual(doc["error"]["code"], code)
                self.assertEqual(doc["error"]["pointer"], pointer)
        got, doc, _ = self.http("POST", "/api/gc", b"{not json")
        self.assertEqual((got, doc["error"]["code"]), (400, "invalid_json"))
        # Below admin: 403 forbidden, naming the role needed.
        for role in ("operator", "viewer"):
            status, made, _ = self.http("POST", "/api/tokens",
                                        {"name": f"{role}-1", "role": role})
            self.assertEqual(status, 201, made)
            got, doc = self.gc({"dry_run": True}, token=made["secret"])
            self.assertEqual(got, 403, doc)
            self.assertEqual(doc["error"]["code"], "forbidden")
            self.assertIn("admin", doc["error"]["message"])
            r = self.cli("gc", "--dry-run", "--token", made["secret"])
            self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
            self.assertIn("forbidden", r.stderr)
        r = self.cli("gc", "--bogus")
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertEqual(self.get("/api/health", token=None)[0], 200)
        self.finish()


class AttemptTest(RetentionCase):
    # Losing attempts go at once; task folders stay their year.
    node_args = ONE_WORKER + ("--retention-attempts-days", "0",
                              "--retention-interval", "0")

    def test_the_attempt_that_did_not_win_goes_and_the_winner_stays(self):
        self.register_fixture(GATE_CONTRACT, "gate.py", GATE_SCRIPT)
        flag = os.path.join(self.tmp, "go")
        t = self.submit("gate@1", values={"flag": flag})
        self.wait_status(t["task_id"], ("RUNNING",), timeout=10)
        self.node.kill()  # SIGKILL mid-run: attempt 1 lost
        self.node.start()
        self.assertEqual(self.task(t["task_id"])["attempt"], 2)
        with open(flag, "w", encoding="utf-8"):
            pass
        done = self.wait_finished(t["task_id"], timeout=30)
        self.assertEqual((done["status"], done["attempt"]), ("DONE", 2), done)
        out = done["outputs"]["result"]
        # What attempt 1 left (the node removes such folders at its start;
        # here it stands for one it could not remove, or a failed attempt
        # before a retry).
        loser = self.folder(t["task_id"], 1)
        os.makedirs(loser, exist_ok=True)
        with open(os.path.join(loser, "stderr.log"), "w", encoding="utf-8") as f:
            f.write("attempt 1 was lost\n")

        went = self.gc_ok()
        item = self.item_of(went, t["task_id"])
        self.assertIsNotNone(item, went)
        self.assertEqual((item["whole"], item["attempts"]), (False, [1]), item)
        self.assertEqual(item["assets"], [])
        self.assertFalse(os.path.exists(loser))
        self.assertTrue(os.path.isdir(self.folder(t["task_id"], 2)))
        self.assertEqual(self.asset(out)["status"], "AVAILABLE")
        status, _ = self.get(f"/api/assets/{out}/content")
        self.assertEqual(status, 200)
        removed = self.payload_of_last(t["task_id"], "task.files_removed")
        self.assertEqual((removed["attempts"], removed["whole"]), ([1], False))

        # Recorded, then the node died before the folder went (it is back):
        # the next pass removes it without a second record.
        os.makedirs(loser)
        before = self.packets()
        went = self.gc_ok()
        item = self.item_of(went, t["task_id"])
        self.assertIsNotNone(item, went)
        self.assertTrue(item["recorded_earlier"], item)
        self.assertFalse(os.path.exists(loser))
        self.assertEqual(self.packets(), before)
        self.assertEqual(
            [p["kind"] for p in self.history(t["task_id"])].count("task.files_removed"), 1)
        self.finish()


class BlobTest(RetentionCase):
    node_args = ONE_WORKER + ("--retention-interval", "0")

    def blob_path(self, asset):
        sha = asset["sha256"]
        return os.path.join(self.node.data, "blobs", "sha256", sha[:2], sha)

    def upload(self, name, text):
        path = self.write(name, text)
        asset_id = self.cli_ok("asset", "add", path).stdout.strip()
        return self.asset(asset_id)

    def test_a_deleted_uploads_blob_goes_after_its_grace(self):
        keep = self.upload("keep.txt", "an upload that stays\n")
        drop = self.upload("drop.txt", "an upload deleted at once\n")
        self.cli_ok("asset", "rm", drop["asset_id"])
        # Within the grace (default 1 h) it stays.
        went = self.gc_ok()
        self.assertEqual(went["blobs"], [], went)
        self.assertTrue(os.path.exists(self.blob_path(drop)))

        self.assertEqual(self.node.stop(), 0)
        self.node.extra_args += ["--retention-blob-grace", "0"]
        self.node.start()
        shown = self.gc_ok(dry_run=True)
        self.assertEqual([b["sha256"] for b in shown["blobs"]], [drop["sha256"]])
        self.assertTrue(os.path.exists(self.blob_path(drop)))
        went = self.gc_ok()
        self.assertEqual([b["sha256"] for b in went["blobs"]], [drop["sha256"]])
        self.assertFalse(os.path.exists(self.blob_path(drop)))
        self.assertTrue(os.path.exists(self.blob_path(keep)))
        status, text, _ = self.http("GET", f"/api/assets/{keep['asset_id']}/content")
        self.assertEqual((status, text), (200, "an upload that stays\n"))
        removed = self.payload_of_last("blob:" + drop["sha256"], "blob.removed")
        self.assertEqual(removed["sha256"], drop["sha256"])
        self.assertEqual(removed["operator"], "admin")
        self.assertEqual(json.loads(self.cli_ok("gc", "--json").stdout)["blobs"], [])
        self.finish()


class TimerTest(RetentionCase):
    node_args = ONE_WORKER + ("--retention-attempts-days", "0",
                              "--retention-outputs-days", "0",
                              "--retention-interval", "0.2")

    def test_the_nodes_own_passes_name_the_operator_retention(self):
        t = self.run_ok()
        wait_until(lambda: not os.path.exists(self.folder(t["task_id"])), 20,
                   "the node's own pass to remove the task's folder")
        wait_until(lambda: self.asset(t["outputs"]["report"])["status"] == "PURGED",
                   10, "the output to be PURGED")
        summary = self.payload_of_last("gc", "gc.completed")
        self.assertEqual(summary["operator"], "retention")
        self.finish()


if __name__ == "__main__":
    node_harness.main()
