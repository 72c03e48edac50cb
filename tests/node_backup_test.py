#!/usr/bin/env python3
"""Backup and restore through real nodes (docs/operations.md, "Backup and restore").

`omniva backup --to DIR` while the node runs and takes new tasks; the manifest
and its sums; `omniva restore --from DIR --data NEWDIR`; a second node on the
restored folder, after the first stopped and its folder was deleted: the same
lineage, the same bytes, old paths found in the new folder, old tokens accepted.
A tampered backup is refused; a backup into a folder that will not do is
refused with a stable code. A data folder moved with `mv` finds its files.
"""

import hashlib
import json
import os
import shutil
import subprocess
import threading

import node_harness
from node_harness import *


def read_json(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


class BackupTest(NodeTestCase):

    # -- fixtures ----------------------------------------------------------------

    def upload_json(self, doc, name="doc.json"):
        body = json.dumps(doc).encode()
        status, asset, _ = self.http(
            "POST", f"/api/assets/upload?filename={name}&media_type=application/json",
            body, headers={"Content-Type": "application/octet-stream"})
        self.assertEqual(status, 201, asset)
        return asset, body

    def relay(self, asset_id):
        return self.submit("json-relay@1", {"source": asset_id})["task_id"]

    def make_history(self):
        """A relay module, an upload, a schema, three relays done; returns
        (upload id, upload bytes, [done task ids])."""
        self.register_relay()
        status, doc, _ = self.http("POST", "/api/schemas?ref=test.report@1",
                                   REPORT_SCHEMA)
        self.assertEqual(status, 201, doc)
        asset, body = self.upload_json({"clip": 1, "text": "backed up"})
        done = []
        source = asset["asset_id"]
        for _ in range(3):
            t = self.relay(source)
            self.assertEqual(self.wait_finished(t)["status"], "DONE")
            done.append(t)
            source = self.task(t)["outputs"]["copy"]
        return asset["asset_id"], body, done

    def content(self, asset_id):
        status, body, headers = self.http_bytes("GET", f"/api/assets/{asset_id}/content")
        self.assertEqual(status, 200, body)
        return body

    def http_bytes(self, method, path):
        req = urllib.request.Request(self.node.url + path, method=method,
                                     headers={"Authorization": f"Bearer {self.node.token}"})
        try:
            with OPENER.open(req, timeout=30) as resp:
                return resp.status, resp.read(), resp.headers
        except urllib.error.HTTPError as e:
            return e.code, e.read(), e.headers

    def backup(self, to):
        r = self.cli_ok("backup", "--to", to, "--json", timeout=120)
        doc = json.loads(r.stdout)
        self.assertEqual(doc["state"], "done", doc)
        return doc["result"]

    def restore(self, src, data):
        return self.cli("restore", "--from", src, "--data", data, node=False,
                        timeout=120)

    def check_manifest(self, folder):
        """The manifest's own sum, then every file's size and SHA-256."""
        with open(os.path.join(folder, "manifest.json"), "rb") as f:
            text = f.read()
        with open(os.path.join(folder, "manifest.json.sha256"), encoding="utf-8") as f:
            self.assertEqual(f.read().split()[0], hashlib.sha256(text).hexdigest())
        manifest = json.loads(text)
        self.assertEqual(manifest["format"], "omniva-backup")
        self.assertEqual(manifest["format_version"], 1)
        self.assertRegex(manifest["created_at"], r"^\d{4}-\d\d-\d\dT.*Z$")
        listed = set()
        for f in manifest["files"]:
            path = os.path.join(folder, f["path"])
            self.assertEqual(os.path.getsize(path), f["size"], f["path"])
            self.assertEqual(sha256_of(path), f["sha256"], f["path"])
            listed.add(f["path"])
        on_disk = set()
        for root, _, names in os.walk(folder):
            for n in names:
                on_disk.add(os.path.relpath(os.path.join(root, n), folder))
        self.assertEqual(on_disk - listed, {"manifest.json", "manifest.json.sha256"})
        return manifest

    def start_second(self, root):
        """Stops nothing: starts a node on <root>/data and makes it `self.node`."""
        second = Node(root)
        second.start()
        self.node = second
        return second

    # -- cases --------------------------------------------------------------------

    def test_a_restored_folder_answers_the_same_lineage_and_files(self):
        upload, upload_bytes, done = self.make_history()
        original_token = self.node.token
        operator = self.cli_ok("token", "create", "ci-bot", "--role", "operator").stdout.strip()
        hook = self.cli_ok("webhook", "create", "http://127.0.0.1:9/hook",
                           "--events", "task.failed").stdout.split()[0]
        original_data = self.node.data
        outputs = {t: self.task(t)["outputs"]["copy"] for t in done}
        output_bytes = {a: self.content(a) for a in outputs.values()}
        # New tasks arrive while the backup runs.
        stop = threading.Event()
        submitted = []

        def submit_more():
            while not stop.is_set() and len(submitted) < 40:
                submitted.append(self.relay(upload))

        submitter = threading.Thread(target=submit_more)
        submitter.start()
        wait_until(lambda: len(submitted) >= 3, 20, "submissions to start")
        to = os.path.join(self.tmp, "backup")
        result = self.backup(to)
        stop.set()
        submitter.join()
        for t in submitted:
            self.wait_finished(t, timeout=40)
        self.assertGreater(result["files"], 0)
        self.assertGreater(result["linked"], 0)  # same file system: hard links
        log = self.node.log()
        self.assertRegex(log, r"info operator\.backup to=\S*backup operator=")
        self.assertRegex(log, rf"info backup\.written to=\S*backup files={result['files']} ")
        manifest = self.check_manifest(to)
        self.assertEqual(manifest["source"]["data_dir"], original_data)
        last_seq, head = manifest["log"]["last_seq"], manifest["log"]["head"]
        self.assertEqual(result["last_seq"], last_seq)
        paths = {f["path"] for f in manifest["files"]}
        self.assertIn("db/CURRENT", paths)
        self.assertIn("token", paths)
        self.assertIn("modules/json_relay/module.json", paths)
        self.assertIn("modules/json_relay/relay.py", paths)
        upload_row = self.asset(upload)
        blob = os.path.relpath(upload_row["uri"], original_data)
        self.assertIn(blob, paths)
        self.assertEqual(os.stat(os.path.join(to, blob)).st_ino,
                         os.stat(upload_row["uri"]).st_ino)
        for a in outputs.values():
            self.assertIn(os.path.relpath(self.asset(a)["uri"], original_data), paths)
        self.assertIn(f"outputs/{done[0]}/1/stdout.log", paths)
        self.assertEqual(os.stat(os.path.join(to, "token")).st_mode & 0o777, 0o600)
        self.assertIn(f"webhooks/{hook}.secret", paths)
        self.assertEqual(os.stat(os.path.join(to, "webhooks", f"{hook}.secret")).st_mode
                         & 0o777, 0o600)
        self.assertEqual(os.stat(to).st_mode & 0o777, 0o700)
        # The checkpoint's last packet is the original's packet at that seq:
        # the chain makes the first N packets identical.
        at_head = json.loads(self.cli_ok("lineage", "show", head, "--data", original_data,
                                         "--json", node=False).stdout)
        self.assertEqual(at_head["packet"]["seq"], last_seq)
        histories = {t: [p["id"] for p in self.history(t)] for t in done}
        self.finish()  # verifies and stops the first node
        shutil.rmtree(original_data)

        second_root = os.path.join(self.tmp, "second")
        restored = os.path.join(second_root, "data")
        r = self.restore(to, restored)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("verify    ok", r.stdout)
        with open(os.path.join(restored, "origin"), encoding="utf-8") as f:
            self.assertEqual(f.read().split(), [original_data])
        self.start_second(second_root)
        self.assertEqual(self.node.token, original_token)
        # A named token of the original opens the restored node too.
        status, doc, _ = self.http("GET", "/api/tasks?limit=1", token=operator)
        self.assertEqual(status, 200, doc)
        self.assertEqual(self.get_ok(f"/api/webhooks/{hook}")["url"], "http://127.0.0.1:9/hook")
        report = self.get_ok("/api/lineage/verify")
        self.assertTrue(report["ok"], report)
        self.assertGreaterEqual(report["packets"], last_seq)
        status, doc = self.get(f"/api/lineage/{head}")
        self.assertEqual(status, 200, doc)
        self.assertEqual(doc["packet"]["seq"], last_seq)
        for t, ids in histories.items():
            self.assertEqual([p["id"] for p in self.history(t)][:len(ids)], ids)
        # The same bytes, from files found under the new folder.
        self.assertEqual(self.content(upload), upload_bytes)
        for a, body in output_bytes.items():
            self.assertEqual(self.content(a), body)
        # A new task on a restored output: its input resolves under NEWDIR.
        source = outputs[done[-1]]
        t = self.relay(source)
        self.assertEqual(self.wait_finished(t)["status"], "DONE", self.task(t))
        manifest_in = read_json(os.path.join(restored, "outputs", t, "1",
                                             "input_manifest.json"))
        self.assertTrue(manifest_in["inputs"]["source"]["path"].startswith(restored + "/"),
                        manifest_in)
        self.assertEqual(self.content(self.task(t)["outputs"]["copy"]),
                         output_bytes[source])
        # The module runs from its restored folder: recorded as moved there.
        moved = [p for p in self.history("json-relay@1") if p["kind"] == "module.moved"]
        self.assertEqual(len(moved), 1, moved)
        payload = moved[0]["payload"]
        if isinstance(payload, str):
            payload = json.loads(payload)
        self.assertEqual(payload["dir"], os.path.join(restored, "modules", "json_relay"))
        self.assertEqual(payload["from"], os.path.join(self.tmp, "json_relay"))
        self.finish()

    def test_a_tampered_backup_is_refused_and_nothing_is_written(self):
        self.make_history()
        to = os.path.join(self.tmp, "backup")
        self.backup(to)
        self.finish()
        target = os.path.join(self.tmp, "restored")
        # A byte changed in a copied file.
        script = os.path.join(to, "modules", "json_relay", "relay.py")
        with open(script, "r+b") as f:
            first = f.read(1)
            f.seek(0)
            f.write(bytes([first[0] ^ 0x20]))
        r = self.restore(to, target)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("corruption", r.stderr)
        self.assertIn("modules/json_relay/relay.py", r.stderr)
        self.assertFalse(os.path.exists(target))
        with open(script, "r+b") as f:
            f.write(first)
        # A file gone.
        os.rename(os.path.join(to, "token"), os.path.join(self.tmp, "token.aside"))
        r = self.restore(to, target)
        self.assertEqual(r.returncode, 1)
        self.assertIn("token (missing)", r.stderr)
        self.assertFalse(os.path.exists(target))
        os.rename(os.path.join(self.tmp, "token.aside"), os.path.join(to, "token"))
        # The manifest itself changed.
        with open(os.path.join(to, "manifest.json"), "a", encoding="utf-8") as f:
            f.write(" ")
        r = self.restore(to, target)
        self.assertEqual(r.returncode, 1)
        self.assertIn("manifest.json", r.stderr)
        self.assertFalse(os.path.exists(target))

    def test_a_restore_into_a_folder_that_is_not_empty_is_refused(self):
        self.make_history()
        to = os.path.join(self.tmp, "backup")
        self.backup(to)
        self.finish()
        target = os.path.join(self.tmp, "full")
        os.makedirs(target)
        self.write(os.path.join("full", "keep.txt"), "mine")
        r = self.restore(to, target)
        self.assertEqual(r.returncode, 1)
        self.assertIn("invalid_argument", r.stderr)
        self.assertIn("not empty", r.stderr)
        self.assertEqual(os.listdir(target), ["keep.txt"])

    def test_a_backup_into_a_folder_that_will_not_do_is_refused(self):
        full = os.path.join(self.tmp, "full")
        os.makedirs(full)
        self.write(os.path.join("full", "keep.txt"), "mine")
        r = self.cli("backup", "--to", full)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("invalid_argument", r.stderr)
        self.assertIn("not empty", r.stderr)
        self.assertEqual(os.listdir(full), ["keep.txt"])
        status, doc, _ = self.http("POST", "/api/backup", {"to": full})
        self.assertEqual(status, 400)
        self.assertEqual(doc["error"]["code"], "invalid_argument")
        self.assertEqual(doc["error"]["pointer"], "/to")
        status, doc, _ = self.http("POST", "/api/backup",
                                   {"to": os.path.join(self.node.data, "b")})
        self.assertEqual(status, 403)
        self.assertEqual(doc["error"]["code"], "path_not_allowed")
        status, doc, _ = self.http("POST", "/api/backup", {"to": "relative/b"})
        self.assertEqual(status, 400)
        self.assertEqual(doc["error"]["code"], "invalid_argument")
        status, doc, _ = self.http("POST", "/api/backup", {"to": 3})
        self.assertEqual(status, 400)
        self.assertEqual(doc["error"]["code"], "type_mismatch")
        status, doc, _ = self.http("POST", "/api/backup", {"to": full, "x": 1})
        self.assertEqual(status, 400)
        self.assertEqual(doc["error"]["code"], "unknown_field")
        self.assertEqual(doc["error"]["pointer"], "/x")
        self.assertEqual(self.get_ok("/api/backup"), {"state": "none"})
        status, _, _ = self.http("POST", "/api/backup", {"to": full}, token=None)
        self.assertEqual(status, 401)
        # Backups are an admin's: an operator is told the role it needs.
        operator = self.cli_ok("token", "create", "ci-bot", "--role", "operator").stdout.strip()
        status, doc, _ = self.http("POST", "/api/backup",
                                   {"to": os.path.join(self.tmp, "new")}, token=operator)
        self.assertEqual(status, 403, doc)
        self.assertEqual(doc["error"]["code"], "forbidden")
        self.assertIn("admin", doc["error"]["message"])
        status, doc, _ = self.http("GET", "/api/backup", token=operator)
        self.assertEqual(status, 403, doc)
        self.assertFalse(os.path.exists(os.path.join(self.tmp, "new")))
        self.get_ok("/api/health")  # the node goes on
        self.finish()

    def test_a_moved_data_folder_finds_its_files(self):
        upload, upload_bytes, done = self.make_history()
        output = self.task(done[-1])["outputs"]["copy"]
        output_bytes = self.content(output)
        old = self.node.data
        self.finish()
        moved_root = os.path.join(self.tmp, "elsewhere")
        os.makedirs(moved_root)
        os.rename(old, os.path.join(moved_root, "data"))
        self.start_second(moved_root)
        new = self.node.data
        with open(os.path.join(new, "origin"), encoding="utf-8") as f:
            self.assertEqual(f.read().split(), [old, new])
        self.assertTrue(self.asset(upload)["uri"].startswith(old + "/"))
        self.assertEqual(self.content(upload), upload_bytes)
        t = self.relay(output)
        self.assertEqual(self.wait_finished(t)["status"], "DONE", self.task(t))
        manifest_in = read_json(os.path.join(new, "outputs", t, "1", "input_manifest.json"))
        self.assertTrue(manifest_in["inputs"]["source"]["path"].startswith(new + "/"))
        self.assertEqual(self.content(self.task(t)["outputs"]["copy"]), output_bytes)
        self.finish()


if __name__ == "__main__":
    node_harness.main()
