#!/usr/bin/env python3
"""A node on a disk that fills up (docs/operations.md, "Disk space and the reserve").

Below its disk reserve a node refuses new work with 507 insufficient_storage
(an upload before its body is read), says so on /api/health, in /metrics and
in its log, serves reads and cancels, lets running tasks finish, and takes
work again once space returns. On a disk filled to the last block a task that
cannot write its output fails with a clear error, the node keeps answering,
and after a restart the lineage verifies with nothing committed lost.

The full-disk cases put the data folder on a 64 MiB tmpfs: they need to
mount one (root, or a user namespace: the file re-runs itself under
`unshare -rm` when it may not mount but may make one) and are skipped, loudly,
when neither works.
"""

import errno
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import urllib.parse

import node_harness
from node_harness import *

MiB = 1 << 20
TMPFS_SIZE = 64 * MiB
RESERVE = 16 * MiB

# A module that waits for a file outside the data folder to appear (so the
# test decides when it writes), then writes an output of `megabytes` MiB.
WRITER_CONTRACT = {
    "name": "disk-writer",
    "version": 1,
    "description": "Writes an output of the given size once a go file exists (a test fixture).",
    "inputs": [
        {"key": "megabytes", "label": "Output size in MiB", "contract_type": "VALUE",
         "dtype": "int", "default": 1},
        {"key": "gofile", "label": "Waits for this file", "contract_type": "VALUE",
         "dtype": "string", "default": ""},
    ],
    "outputs": [{"key": "blob", "label": "Bytes", "contract_type": "ASSET",
                 "media_type": "application/octet-stream"}],
    "resources": {"cpu": 1, "memory_gb": 0.1, "gpu": False, "timeout_s": 120},
    "run": {"command": ["python3", "writer.py"]},
    "schema_version": "1.0.0",
}

WRITER_SCRIPT = '''\
import argparse, json, os, time
parser = argparse.ArgumentParser()
parser.add_argument("--manifest", required=True)
manifest = json.load(open(parser.parse_args().manifest, encoding="utf-8"))
inputs = manifest["inputs"]
go = inputs["gofile"]["value"]
while go and not os.path.exists(go):
    time.sleep(0.05)
out = manifest["output_dir"]
with open(os.path.join(out, "blob.bin"), "wb") as f:
    for _ in range(inputs["megabytes"]["value"]):
        f.write(b"x" * (1 << 20))
with open(os.path.join(out, "output_manifest.json"), "w", encoding="utf-8") as f:
    json.dump({"outputs": {"blob": {"path": "blob.bin",
                                    "media_type": "application/octet-stream"}}}, f)
'''


def free_bytes(path):
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize


def try_mount_tmpfs(path, size):
    """Mounts a tmpfs of `size` bytes on `path`; returns why not, or None."""
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", path],
                       capture_output=True, text=True)
    return None if r.returncode == 0 else (r.stderr.strip() or f"mount exited {r.returncode}")


def unmount(path):
    subprocess.run(["umount", "-l", path], capture_output=True)


def mount_probe():
    """Why this process cannot mount a tmpfs, or None when it can."""
    probe = tempfile.mkdtemp(prefix="omniva-mount-probe-")
    try:
        why = try_mount_tmpfs(probe, MiB)
        if why is None:
            unmount(probe)
        return why
    finally:
        shutil.rmtree(probe, ignore_errors=True)


class DiskTestCase(NodeTestCase):
    """Helpers for nodes whose disk fills up."""

    def register_writer(self):
        folder = os.path.join(self.tmp, "disk_writer")
        os.makedirs(folder)
        with open(os.path.join(folder, "module.json"), "w", encoding="utf-8") as f:
            json.dump(WRITER_CONTRACT, f, indent=2)
        with open(os.path.join(folder, "writer.py"), "w", encoding="utf-8") as f:
            f.write(WRITER_SCRIPT)
        self.assertEqual(self.cli_ok("module", "register", folder).stdout.strip(),
                         "disk-writer@1")

    def start_writer(self, megabytes, go_name):
        """A disk-writer task, RUNNING, that writes once <tmp>/<go_name> exists."""
        go = os.path.join(self.tmp, go_name)
        task = self.submit("disk-writer@1", values={"megabytes": megabytes, "gofile": go})
        self.wait_status(task["task_id"], ("RUNNING",))
        return task, go

    def assert_refused_for_space(self, status, doc, what):
        self.assertEqual(status, 507, f"{what}: {doc}")
        self.assertEqual(doc["error"]["code"], "insufficient_storage", what)
        message = doc["error"]["message"]
        self.assertIn(self.node.data, message)
        self.assertIn("reserve", message)

    def upload_head_only(self, length):
        """Sends the head of an upload of `length` bytes and no body; returns
        the raw answer (the node must answer without waiting for the body)."""
        parts = urllib.parse.urlsplit(self.node.url)
        with socket.create_connection((parts.hostname, parts.port), timeout=10) as s:
            s.sendall((f"POST /api/assets/upload?media_type=application/octet-stream "
                       f"HTTP/1.1\r\nHost: {parts.netloc}\r\n"
                       f"Authorization: Bearer {self.node.token}\r\n"
                       f"Content-Type: application/octet-stream\r\n"
                       f"Content-Length: {length}\r\n\r\n").encode())
            answer = b""
            while True:
                chunk = s.recv(65536)  # times out (a failure) if the node waits
                if not chunk:
                    break
                answer += chunk
        return answer.decode("utf-8", errors="replace")

    def health(self):
        status, doc = self.get("/api/health", token=None)
        self.assertEqual(status, 200, doc)
        return doc

    def metric(self, name):
        status, text = self.get("/metrics")
        self.assertEqual(status, 200)
        for line in text.splitlines():
            if line.startswith(name + " "):
                return int(line.split()[1])
        self.fail(f"/metrics has no {name}:\n{text}")


class ReserveBeyondTheDiskTest(DiskTestCase):
    """No mount needed: a reserve larger than the disk's free space."""

    node_args = ("--disk-reserve", "1000000TiB")

    def test_a_reserve_above_the_free_space_refuses_new_work_at_once(self):
        status, doc, _ = self.http("POST", "/api/tasks",
                                   {"module_ref": "slow@1", "input_mapping": {}})
        self.assert_refused_for_space(status, doc, "POST /api/tasks")
        status, doc, _ = self.http("POST", "/api/assets/value",
                                   {"value": 3, "dtype": "int"})
        self.assert_refused_for_space(status, doc, "POST /api/assets/value")
        path = self.write("note.txt", "hello\n")
        status, doc, _ = self.http("POST", "/api/assets/path",
                                   {"path": path, "media_type": "text/plain"})
        self.assert_refused_for_space(status, doc, "POST /api/assets/path")
        status, doc, _ = self.http("POST", "/api/schemas?ref=test.thing@1",
                                   {"type": "object"})
        self.assert_refused_for_space(status, doc, "POST /api/schemas")
        # The CLI says why, with the code, and exits 1.
        r = self.cli("asset", "value", "3", "--dtype", "int")
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("insufficient_storage", r.stderr)

        # Health says so; the figures are those of the data folder's disk.
        doc = self.health()
        self.assertFalse(doc["ok"])
        self.assertEqual(doc["status"], "insufficient_storage")
        storage = doc["storage"]
        self.assertTrue(storage["low"])
        self.assertEqual(storage["reserve_bytes"], 1000000 << 40)
        self.assertEqual(storage["data_dir"], self.node.data)
        self.assertLess(storage["free_bytes"], storage["reserve_bytes"])
        self.assertGreater(storage["total_bytes"], 0)
        self.assertEqual(self.metric("omniva_disk_low"), 1)
        self.assertEqual(self.metric("omniva_disk_reserve_bytes"), 1000000 << 40)

        # Reads go on; nothing was created.
        self.assertEqual(self.items("/api/tasks"), [])
        self.assertEqual(self.items("/api/assets"), [])
        self.assertTrue(self.get_ok("/api/lineage/verify")["ok"])
        log = self.node.log()
        self.assertRegex(log, r"warn disk\.low free_bytes=\d+ reserve_bytes=\d+ data=")
        self.assertIn("status=507 code=insufficient_storage", log)
        self.finish()

    def test_sizes_the_flag_does_not_read_are_refused(self):
        for bad in ("lots", "1.5GiB", "-1", "1 PB"):
            r = subprocess.run([node_harness.OMNIVA, "serve", "--data",
                                os.path.join(self.tmp, "other"), "--http", "127.0.0.1:0",
                                "--disk-reserve", bad],
                               capture_output=True, text=True, timeout=30,
                               stdin=subprocess.DEVNULL)
            self.assertEqual(r.returncode, 2, bad)
            self.assertIn("--disk-reserve (omniva.disk-reserve) must be a size", r.stderr)
        # The configuration file's key reads the same way.
        conf = self.write("disk.conf", '[omniva]\ndisk-reserve="lots"\n')
        r = subprocess.run([node_harness.OMNIVA, "serve", "--config", conf, "--data",
                            os.path.join(self.tmp, "other"), "--http", "127.0.0.1:0"],
                           capture_output=True, text=True, timeout=30,
                           stdin=subprocess.DEVNULL)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("not 'lots'", r.stderr)
        r = subprocess.run([node_harness.OMNIVA, "serve", "--data",
                            os.path.join(self.tmp, "other"), "--http", "127.0.0.1:0",
                            "--disk-check-interval", "soon"],
                           capture_output=True, text=True, timeout=30,
                           stdin=subprocess.DEVNULL)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("--disk-check-interval", r.stderr)
        self.finish()


class NoReserveTest(DiskTestCase):
    """`--disk-reserve 0`: nothing is refused for space."""

    node_args = ("--disk-reserve", "0")

    def test_a_reserve_of_zero_refuses_nothing(self):
        task = self.submit("slow@1", values={"seconds": 0})
        self.assertEqual(self.wait_finished(task["task_id"])["status"], "DONE")
        self.assertEqual(self.health(), {"ok": True})
        self.assertEqual(self.metric("omniva_disk_low"), 0)
        self.finish()


class SmallDiskTest(DiskTestCase):
    """The data folder on a 64 MiB tmpfs with a 16 MiB reserve."""

    node_args = ("--disk-reserve", "16MiB", "--disk-check-interval", "100ms",
                 "--pool", "default:3:3:1")

    def setUp(self):
        why = mount_probe()
        if why is not None:
            print(f"\n  SKIPPED: cannot mount a tmpfs for the data folder ({why}); "
                  "run as root, or where `unshare -rm` works", file=sys.stderr)
            self.skipTest(f"cannot mount a tmpfs: {why}")
        self.tmp = tempfile.mkdtemp(prefix="omniva-disk-")
        self.addCleanup(self.remove_tmp)
        data = os.path.join(self.tmp, "data")
        os.makedirs(data)
        why = try_mount_tmpfs(data, TMPFS_SIZE)
        self.assertIsNone(why, f"mount a tmpfs on {data}")
        self.addCleanup(unmount, data)
        self.ballast_path = os.path.join(data, "ballast")
        self.node = Node(self.tmp, self.node_args, self.node_prefix)
        self.addCleanup(self.kill_node)
        self.node.start()

    def fill_below_reserve(self):
        """Writes ballast until the free space is 4 MiB below the reserve."""
        need = free_bytes(self.node.data) - (RESERVE - 4 * MiB)
        self.assertGreater(need, 0, "the fresh node left less than the reserve free")
        with open(self.ballast_path, "ab") as f:
            while need > 0:
                n = min(need, MiB)
                f.write(b"\0" * n)
                need -= n
        free = free_bytes(self.node.data)
        self.assertLess(free, RESERVE)
        self.assertGreater(free, 2 * MiB)

    def fill_completely(self):
        """Writes ballast until the disk refuses another byte."""
        with open(self.ballast_path, "ab", buffering=0) as f:
            for size in (MiB, 4096, 1):
                try:
                    while True:
                        f.write(b"\0" * size)
                except OSError as e:
                    self.assertEqual(e.errno, errno.ENOSPC, e)
        self.assertLess(free_bytes(self.node.data), 4096)

    def remove_ballast(self):
        os.remove(self.ballast_path)

    def test_below_the_reserve_new_work_waits_and_running_work_finishes(self):
        self.register_writer()
        running, go = self.start_writer(1, "go-running")
        doomed, _ = self.start_writer(1, "go-never")
        self.assertEqual(self.health(), {"ok": True})
        self.assertEqual(self.metric("omniva_disk_low"), 0)

        self.fill_below_reserve()
        # New work is refused at once (the gate reads the disk on admission).
        status, doc, _ = self.http("POST", "/api/tasks",
                                   {"module_ref": "disk-writer@1", "input_mapping": {}})
        self.assert_refused_for_space(status, doc, "POST /api/tasks")
        status, doc, _ = self.http("POST", "/api/assets/value",
                                   {"value": "x", "dtype": "string"})
        self.assert_refused_for_space(status, doc, "POST /api/assets/value")
        # An upload of a gigabyte is refused from its head: no body was sent,
        # none was waited for, no temporary file was made.
        answer = self.upload_head_only(1 << 30)
        self.assertTrue(answer.startswith("HTTP/1.1 507"), answer[:200])
        self.assertIn('"code":"insufficient_storage"', answer)
        self.assertEqual(os.listdir(os.path.join(self.node.data, "tmp")), [])
        r = self.cli("module", "register", os.path.join(self.tmp, "disk_writer"))
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("insufficient_storage", r.stderr)

        # Health and metrics say so.
        doc = self.health()
        self.assertFalse(doc["ok"])
        self.assertEqual(doc["status"], "insufficient_storage")
        self.assertTrue(doc["storage"]["low"])
        self.assertEqual(doc["storage"]["reserve_bytes"], RESERVE)
        self.assertLess(doc["storage"]["free_bytes"], RESERVE)
        self.assertEqual(doc["storage"]["total_bytes"], TMPFS_SIZE)
        self.assertEqual(self.metric("omniva_disk_low"), 1)
        self.assertRegex(self.node.log(), r"warn disk\.low free_bytes=\d+ "
                                          rf"reserve_bytes={RESERVE} data=")

        # Reads and cancels go on; the running task finishes.
        self.assertEqual(self.task(running["task_id"])["status"], "RUNNING")
        self.assertEqual(len(self.items("/api/tasks")), 2)
        status, doc, _ = self.http("POST", f"/api/tasks/{doomed['task_id']}/cancel")
        self.assertEqual(status, 200, doc)
        self.assertEqual(self.wait_finished(doomed["task_id"])["status"], "CANCELLED")
        open(go, "w").close()
        done = self.wait_finished(running["task_id"])
        self.assertEqual(done["status"], "DONE", done)
        self.assertEqual(self.asset(done["outputs"]["blob"])["status"], "AVAILABLE")

        # Space returns: work is taken again, health is plain ok, and the
        # node's own check notices without a request.
        self.remove_ballast()
        wait_until(lambda: "info disk.ok" in self.node.log(), 10,
                   "the disk.ok line of the node's log")
        self.assertEqual(self.health(), {"ok": True})
        again = self.submit("disk-writer@1", values={"megabytes": 1})
        self.assertEqual(self.wait_finished(again["task_id"])["status"], "DONE")
        self.assertEqual(self.node.log().count("warn disk.low"), 1)
        self.finish()

    def test_a_full_disk_fails_the_writing_task_and_loses_nothing(self):
        self.register_writer()
        before = self.submit("disk-writer@1", values={"megabytes": 1})
        self.assertEqual(self.wait_finished(before["task_id"])["status"], "DONE")
        writing, go = self.start_writer(8, "go-writing")

        self.fill_completely()
        open(go, "w").close()
        failed = self.wait_finished(writing["task_id"])
        # The task's own error, clear about the cause: not a crash, not a hang.
        self.assertEqual(failed["status"], "ERROR", failed)
        self.assertEqual(failed["error"]["code"], "insufficient_storage", failed)
        self.assertIn("is full", failed["error"]["message"])
        self.assertTrue(failed["error"]["transient"])
        self.assertEqual(self.asset(failed["outputs"]["blob"])["status"], "FAILED")
        self.assertRegex(self.node.log(), r"warn task\.failed task=\S+ "
                                          r"code=insufficient_storage")

        # The node keeps answering: reads, health, refusals of new work.
        self.assertTrue(self.node.alive())
        self.assertFalse(self.health()["ok"])
        status, doc, _ = self.http("POST", "/api/tasks",
                                   {"module_ref": "disk-writer@1", "input_mapping": {}})
        self.assert_refused_for_space(status, doc, "POST /api/tasks on a full disk")
        report = self.get_ok("/api/lineage/verify")
        self.assertTrue(report["ok"], report)
        tasks = {t["task_id"]: t["status"] for t in self.items("/api/tasks")}
        assets = {a["asset_id"]: a["status"] for a in self.items("/api/assets")}

        # Space returns; a restart finds every commit and a sound log.
        self.remove_ballast()
        self.assertEqual(self.node.stop(), 0, self.node.log()[-2000:])
        self.verify_lineage()
        self.node.start()
        after = self.get_ok("/api/lineage/verify")
        self.assertTrue(after["ok"], after)
        self.assertGreaterEqual(after["packets"], report["packets"])
        head = self.get_ok(f"/api/lineage/{report['head']}")["packet"]
        self.assertEqual(head["seq"], report["packets"])
        self.assertEqual({t["task_id"]: t["status"] for t in self.items("/api/tasks")},
                         tasks)
        self.assertEqual({a["asset_id"]: a["status"] for a in self.items("/api/assets")},
                         assets)
        again = self.submit("disk-writer@1", values={"megabytes": 1})
        self.assertEqual(self.wait_finished(again["task_id"])["status"], "DONE")
        self.finish()


def in_a_mount_namespace_if_needed():
    """Re-runs this file under `unshare -rm` when it may not mount a tmpfs
    but may make a user and mount namespace (where it may)."""
    if os.environ.get("OMNIVA_DISK_TEST_UNSHARED") or mount_probe() is None:
        return
    if shutil.which("unshare") is None:
        return
    if subprocess.run(["unshare", "-rm", "true"], capture_output=True).returncode != 0:
        return
    os.environ["OMNIVA_DISK_TEST_UNSHARED"] = "1"
    os.execvp("unshare", ["unshare", "-rm", "--", sys.executable] + sys.argv)


if __name__ == "__main__":
    in_a_mount_namespace_if_needed()
    node_harness.main()
