#!/usr/bin/env python3
"""The `omniva` client commands through a real node: pages and the next-page
line, task counts, filters that say no, task logs (also followed), progress on
a terminal (a pseudo-terminal here), readable tables, sizes, module show in
the contract's order, lineage show alike with --data and --node, and what the
CLI says when it has no token.

Usage: node_cli_test.py OMNIVA_BINARY REPO_DIR (harness: tests/node_harness.py)
"""

import json
import os
import pty
import re
import shlex
import subprocess
import threading
import time
import unicodedata

import node_harness
from node_harness import *  # noqa: F401,F403 (the fixtures and NodeTestCase)

CLOCK = r"\d\d:\d\d:\d\d"


class Terminal:
    """A pseudo-terminal a command writes to; collects what it shows."""

    def __init__(self):
        self.master, self.slave = pty.openpty()
        self.text = ""
        self.lock = threading.Lock()
        self.reader = threading.Thread(target=self._read, daemon=True)

    def start(self):
        """Call once the command holds the slave side."""
        os.close(self.slave)
        self.reader.start()

    def _read(self):
        while True:
            try:
                chunk = os.read(self.master, 4096)
            except OSError:  # EIO: every writer closed the slave
                break
            if not chunk:
                break
            with self.lock:
                self.text += chunk.decode("utf-8", errors="replace")

    def wait_for(self, pattern, timeout=30):
        """Waits until what was shown matches `pattern` (a regex, multiline)."""
        regex = re.compile(pattern, re.M)
        return wait_until(lambda: regex.search(self.shown()), timeout,
                          f"{pattern!r} on the terminal; it shows {self.shown()!r}")

    def shown(self):
        with self.lock:
            return self.text.replace("\r\n", "\n")

    def close(self):
        self.reader.join(10)
        os.close(self.master)


class CliTestCase(NodeTestCase):
    def command(self, *args):
        """The argv of an `omniva` client command against this case's node."""
        return [node_harness.OMNIVA] + [str(a) for a in args] + [
            "--node", self.node.url, "--data", self.node.data]

    def talker(self, gate):
        return self.cli_ok("task", "create", "talker@1", "--value",
                           "gate=" + json.dumps(os.path.join(self.tmp, gate))
                           ).stdout.strip()

    def open_gate(self, gate):
        self.write(gate, "")

    def table(self, text):
        """The lines of a table, and the column each heading starts at."""
        lines = text.rstrip("\n").split("\n")
        starts = [m.start() for m in re.finditer(r"(?:^|(?<=  ))\S", lines[0])]
        return lines, starts

    def assert_aligned(self, text):
        lines, starts = self.table(text)
        for line in lines[1:]:
            if line.startswith("next page: "):
                continue
            for s in starts[1:]:
                if s < len(line):
                    self.assertEqual(line[s - 2:s], "  ", f"{line!r} at {s}:\n{text}")
                    self.assertNotEqual(line[s], " ", f"{line!r} at {s}:\n{text}")


class PagingTest(CliTestCase):
    def follow_pages(self, *args):
        """Runs a list command and each next-page command it prints; returns
        the rows of every page (the next-page lines run exactly as printed)."""
        r = self.cli_ok(*args)
        pages = []
        while True:
            lines = r.stdout.rstrip("\n").split("\n")
            nxt = [l for l in lines if l.startswith("next page: ")]
            rows = [l for l in lines[1:] if not l.startswith("next page: ")]
            pages.append(rows)
            if not nxt:
                return pages
            self.assertEqual(lines[-1], nxt[0], "the next-page line is the last line")
            argv = shlex.split(nxt[0][len("next page: "):])
            self.assertEqual(argv[0], "omniva")
            r = subprocess.run([node_harness.OMNIVA] + argv[1:], cwd=self.tmp,
                               capture_output=True, text=True, timeout=60)
            self.assertEqual(r.returncode, 0, r.stderr)

    def test_every_list_pages_and_prints_the_next_page_command(self):
        tasks = [self.cli_ok("task", "create", "slow@1", "--value", "seconds=0",
                             "--mode", "mock").stdout.strip() for _ in range(5)]
        for t in tasks:
            self.wait_finished(t)
        pages = self.follow_pages("task", "list", "--limit", "2")
        self.assertEqual([len(p) for p in pages], [2, 2, 1])
        self.assertEqual([row.split()[0] for p in pages for row in p], tasks,
                         "every task once, oldest first")
        # A filter is part of the next page's command.
        pages = self.follow_pages("task", "list", "--status", "DONE", "--limit", "3")
        self.assertEqual([len(p) for p in pages], [3, 2])
        r = self.cli_ok("task", "list", "--status", "DONE", "--limit", "3")
        self.assertIn(" --status DONE ", r.stdout.splitlines()[-1])
        self.assertNotIn(self.node.token, r.stdout, "the token is never printed")

        # --json: the page as the node answers it.
        page = self.cli_json("task", "list", "--limit", "2")
        self.assertEqual(set(page), {"items", "next_cursor"})
        self.assertEqual([t["task_id"] for t in page["items"]], tasks[:2])
        page = self.cli_json("task", "list", "--limit", "2", "--cursor", page["next_cursor"])
        self.assertEqual([t["task_id"] for t in page["items"]], tasks[2:4])
        page = self.cli_json("task", "list", "--cursor", page["next_cursor"])
        self.assertEqual([t["task_id"] for t in page["items"]], tasks[4:])
        self.assertIsNone(page["next_cursor"])
        r = self.cli_ok("task", "list")
        self.assertNotIn("next page", r.stdout, "no next-page line on the last page")

        # Modules (those shipped in modules/), assets, schemas and policies
        # page alike.
        shipped = len(self.cli_json("module", "list")["items"])
        self.assertGreaterEqual(shipped, 5)
        pages = self.follow_pages("module", "list", "--limit", "2")
        self.assertEqual([len(p) for p in pages],
                         [2] * (shipped // 2) + ([1] if shipped % 2 else []))
        for _ in range(3):
            self.cli_ok("asset", "value", "7", "--dtype", "int")
        # Five outputs of the tasks, three values.
        pages = self.follow_pages("asset", "list", "--limit", "3")
        self.assertEqual([len(p) for p in pages], [3, 3, 2])
        self.assertEqual(len({row.split()[0] for p in pages for row in p}), 8)
        for noun in ("module", "asset", "schema", "policy"):
            page = self.cli_json(noun, "list", "--limit", "1")
            self.assertEqual(set(page), {"items", "next_cursor"}, noun)
            self.assertEqual(len(page["items"]), 1, noun)
        self.finish()

    def test_task_counts(self):
        tasks = [self.cli_ok("task", "create", "slow@1", "--value", "seconds=0",
                             "--mode", "mock").stdout.strip() for _ in range(3)]
        for t in tasks:
            self.wait_finished(t)
        counts = self.cli_json("task", "counts")
        for status in ("PENDING", "READY", "RUNNING", "DONE", "ERROR", "CANCELLED",
                       "SKIPPED"):
            self.assertIn(status, counts)
        self.assertEqual(counts["DONE"], 3)
        self.assertEqual(counts["total"], 3)
        r = self.cli_ok("task", "counts")
        lines = r.stdout.splitlines()
        self.assertEqual(lines[0].split(), ["status", "count"])
        self.assertEqual([l.split()[0] for l in lines[1:]],
                         ["PENDING", "READY", "RUNNING", "DONE", "ERROR", "CANCELLED",
                          "SKIPPED", "total"])
        self.assertIn(["DONE", "3"], [l.split() for l in lines])
        self.assertEqual(lines[-1].split(), ["total", "3"])
        self.assert_aligned(r.stdout)
        # By module, in counts and in the list.
        self.assertEqual(self.cli_json("task", "counts", "--module", "slow@1")["total"], 3)
        self.assertEqual(self.cli_json("task", "counts", "--module", "summarize@1")["total"], 0)
        self.assertEqual(self.cli_json("task", "list", "--module", "summarize@1")["items"], [])
        self.assertEqual(len(self.cli_json("task", "list", "--module", "slow@1")["items"]), 3)
        self.finish()

    def test_a_filter_the_node_does_not_know_exits_2(self):
        for args, allowed in ((("task", "list", "--status", "done"), "DONE"),
                              (("asset", "list", "--status", "nope"), "AVAILABLE"),
                              (("task", "list", "--limit", "0"), ""),
                              (("task", "list", "--limit", "5000"), ""),
                              (("task", "list", "--cursor", "not-a-cursor"), "")):
            with self.subTest(args=args):
                r = self.cli(*args)
                self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
                self.assertEqual(r.stdout, "", "no empty table")
                self.assertIn("invalid_filter", r.stderr)
                self.assertTrue(r.stderr.startswith("omniva: "), r.stderr)
                self.assertIn(allowed, r.stderr)
        # The CLI's own usage errors are 2 as well.
        self.assertEqual(self.cli("task", "list", "--limit", "many").returncode, 2)
        self.finish()


class LogsTest(CliTestCase):
    node_args = ONE_WORKER

    def test_logs_of_an_attempt_also_followed_as_they_come(self):
        self.register_talker()
        task = self.talker("gate")
        self.wait_status(task, ("RUNNING",))
        follow = subprocess.Popen(self.command("task", "logs", task, "--follow"),
                                  cwd=self.tmp, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
        self.addCleanup(follow.stderr.close)
        self.addCleanup(follow.stdout.close)
        self.addCleanup(lambda: follow.poll() is None and follow.kill())
        # The first line arrives while the attempt still runs: it waits for
        # the gate, which opens only after the line was read.
        self.assertEqual(follow.stdout.readline(), b"out 1\n")
        self.assertEqual(follow.stdout.readline(), b"before gate\n")
        self.assertIsNone(follow.poll(), "--follow goes on while the attempt runs")
        self.open_gate("gate")
        rest, err = follow.communicate(timeout=60)
        self.assertEqual(follow.returncode, 0, err)
        self.assertEqual(rest, b"after gate\n")
        self.assertEqual(self.wait_finished(task)["status"], "DONE")

        self.assertEqual(self.cli_ok("task", "logs", task).stdout, "out 1\nbefore gate\nafter gate\n")
        self.assertEqual(self.cli_ok("task", "logs", task, "--attempt", "1").stdout,
                         "out 1\nbefore gate\nafter gate\n")
        self.assertEqual(self.cli_ok("task", "logs", task, "--stderr").stdout,
                         "err 1\nerr 2\n")
        # A finished attempt followed: what it wrote, then the end.
        self.assertEqual(self.cli_ok("task", "logs", task, "--follow").stdout,
                         "out 1\nbefore gate\nafter gate\n")

        r = self.cli("task", "logs", task, "--attempt", "2")
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("not_found", r.stderr)
        self.assertIn("attempt 2", r.stderr)
        r = self.cli("task", "logs", "3b241101-e2bb-4255-8caf-4136c566a962")
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("not_found", r.stderr)
        r = self.cli("task", "logs", task, "--json")
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
        self.finish()


class ProgressTest(CliTestCase):
    node_args = ONE_WORKER

    def test_task_wait_on_a_terminal_shows_each_status_change(self):
        self.register_talker()
        first = self.talker("gate-1")
        self.wait_status(first, ("RUNNING",))
        task = self.talker("gate-2")
        # PENDING until Paradox cleared it, then READY: the only worker is busy.
        self.wait_status(task, ("READY",))
        term = Terminal()
        wait = subprocess.Popen(self.command("task", "wait", task), cwd=self.tmp,
                                stdout=term.slave, stderr=subprocess.PIPE,
                                stdin=subprocess.DEVNULL)
        self.addCleanup(lambda: wait.poll() is None and wait.kill())
        term.start()
        term.wait_for(rf"^{CLOCK} READY$")
        self.open_gate("gate-1")
        term.wait_for(rf"^{CLOCK} RUNNING \(attempt 1\)$")
        self.open_gate("gate-2")
        term.wait_for(rf"^{CLOCK} DONE$")
        _, err = wait.communicate(timeout=60)
        self.assertEqual(wait.returncode, 0, err)
        term.close()
        lines = term.shown().strip().split("\n")
        self.assertEqual([l.split(" ", 1)[1] for l in lines],
                         ["READY", "RUNNING (attempt 1)", "DONE"], "each change once")

        # Not a terminal: the final status alone; --json: the record alone.
        self.assertEqual(self.cli_ok("task", "wait", task).stdout, "DONE\n")
        term = Terminal()
        r = subprocess.run(self.command("task", "wait", task, "--json"), cwd=self.tmp,
                           stdout=term.slave, stderr=subprocess.PIPE, timeout=60)
        term.start()
        term.close()
        self.assertEqual(r.returncode, 0)
        self.assertEqual(json.loads(term.shown())["status"], "DONE")
        self.finish()

    def test_a_failed_task_on_a_terminal_ends_with_its_error(self):
        task = self.cli_ok("task", "create", "fail-on-request@1", "--value",
                           "mode=exit").stdout.strip()
        term = Terminal()
        wait = subprocess.Popen(self.command("task", "wait", task), cwd=self.tmp,
                                stdout=term.slave, stderr=subprocess.PIPE,
                                stdin=subprocess.DEVNULL)
        term.start()
        wait.communicate(timeout=60)
        self.assertEqual(wait.returncode, 1)
        term.close()
        self.assertRegex(term.shown(), rf"(?m)^{CLOCK} ERROR exit_code: ")
        self.finish()

    def upload(self, path, *extra, stdout_tty=False, stderr_tty=True):
        """Runs `asset add`; returns (exit code, stdout, stderr) as shown."""
        out_term = Terminal() if stdout_tty else None
        err_term = Terminal() if stderr_tty else None
        p = subprocess.Popen(self.command("asset", "add", path, *extra), cwd=self.tmp,
                             stdout=out_term.slave if out_term else subprocess.PIPE,
                             stderr=err_term.slave if err_term else subprocess.PIPE,
                             stdin=subprocess.DEVNULL)
        for t in (out_term, err_term):
            if t:
                t.start()
        out, err = p.communicate(timeout=60)
        out = (out or b"").decode()
        err = (err or b"").decode()
        rc = p.returncode
        for t in (out_term, err_term):
            if t:
                t.close()
        return rc, out_term.shown() if out_term else out, err_term.shown() if err_term else err

    def test_asset_add_of_a_large_file_shows_a_progress_bar_on_a_terminal(self):
        big = os.path.join(self.tmp, "big.bin")
        with open(big, "wb") as f:
            f.write(os.urandom(3 * 1024 * 1024))
        # stdout captured (A=$(omniva asset add big.bin)), stderr a terminal.
        rc, out, err = self.upload(big)
        self.assertEqual(rc, 0, err)
        self.assertRegex(out.strip(), UUID, "stdout holds the id alone")
        self.assertIn("big.bin", err)
        self.assertIn("100%  3.0 MiB / 3.0 MiB", err)
        self.assertRegex(err, r"\d+(\.\d)? (B|KiB|MiB|GiB)/s")
        # Not a terminal, or --json, or a small file: no bar.
        rc, out, err = self.upload(big, stderr_tty=False)
        self.assertEqual((rc, err), (0, ""))
        rc, out, err = self.upload(big, "--json")
        self.assertEqual((rc, err), (0, ""))
        self.assertEqual(json.loads(out)["size"], 3 * 1024 * 1024)
        small = self.write("small.txt", "small\n")
        rc, out, err = self.upload(small)
        self.assertEqual((rc, err), (0, ""))
        self.finish()


class ReadableOutputTest(CliTestCase):
    def test_module_show_in_the_contracts_order(self):
        order = ["name", "version", "description", "inputs", "outputs", "resources",
                 "run", "schema_version"]
        for args in (("module", "show", "media-probe@1"),
                     ("module", "show", "media-probe@1", "--json")):
            with self.subTest(args=args):
                doc = json.loads(self.cli_ok(*args).stdout,
                                 object_pairs_hook=lambda pairs: pairs)
                keys = [k for k, _ in doc]
                self.assertEqual(keys[:2], ["name", "version"])
                self.assertEqual([k for k in keys if k in order], order)
                inputs = dict(doc)["inputs"]
                self.assertEqual([k for k, _ in inputs[0]][:3],
                                 ["key", "label", "contract_type"])
                self.assertEqual([k for k, _ in dict(doc)["resources"]],
                                 ["cpu", "memory_gb", "gpu", "timeout_s"])
        self.finish()

    def test_tables_are_aligned_and_long_descriptions_cut(self):
        full = {m["ref"]: m["description"] for m in self.cli_json("module", "list")["items"]}
        env = dict(os.environ, COLUMNS="100")
        r = subprocess.run(self.command("module", "list"), cwd=self.tmp, env=env,
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assert_aligned(r.stdout)
        lines, starts = self.table(r.stdout)
        self.assertEqual(lines[0].split(), ["ref", "inputs", "outputs", "description"])
        cut = 0
        for line in lines[1:]:
            self.assertLessEqual(len(line), 100, line)
            ref, desc = line.split()[0], line[starts[-1]:]
            if desc.endswith("\u2026"):
                cut += 1
                self.assertTrue(full[ref].startswith(desc[:-1]), (desc, full[ref]))
            else:
                self.assertEqual(desc, full[ref])
        self.assertGreater(cut, 0, "long descriptions are cut")
        self.assert_aligned(self.cli_ok("task", "list").stdout)

        # Wide characters take two columns each: cut by columns, not bytes or
        # characters.
        wide = dict(node_harness.RELAY_CONTRACT, name="wide",
                    description="\u6570\u636e" * 40)
        path = self.write("wide.json", json.dumps(wide))
        self.cli_ok("module", "register", path)
        r = subprocess.run(self.command("module", "list"), cwd=self.tmp, env=env,
                           capture_output=True, text=True, timeout=60)
        line = [l for l in r.stdout.splitlines() if l.startswith("wide@1 ")][0]
        columns = sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in line)
        self.assertLessEqual(columns, 100, line)
        self.assertGreater(columns, 95, line)
        self.assertTrue(line.endswith("\u2026"), line)
        self.finish()

    def test_sizes_in_binary_units(self):
        sizes = {"b512.bin": (512, "512 B"), "k15.bin": (1536, "1.5 KiB"),
                 "m15.bin": (1536 * 1024, "1.5 MiB")}
        ids = {}
        for name, (n, _) in sizes.items():
            path = os.path.join(self.tmp, name)
            with open(path, "wb") as f:
                f.write(b"x" * n)
            ids[name] = self.cli_ok("asset", "add", path).stdout.strip()
        r = self.cli_ok("asset", "list")
        self.assert_aligned(r.stdout)
        rows = {l.split()[0]: l for l in r.stdout.splitlines()[1:]}
        for name, (n, text) in sizes.items():
            self.assertIn(f"  {text}  ", rows[ids[name]])
            shown = self.cli_ok("asset", "show", ids[name]).stdout
            want = text if n < 1024 else f"{text} ({n} bytes)"
            self.assertRegex(shown, rf"(?m)^size +{re.escape(want)}$")
        self.finish()

    def test_lineage_show_prints_the_same_with_data_and_node(self):
        task = self.submit("slow@1", values={"seconds": 0}, mode="mock")["task_id"]
        self.wait_finished(task)
        packet = self.history(task)[0]["id"]
        for args in ((task,), (task, "--up"), (packet,), (packet, "--down"),
                     (task, "--json"), (task, "--up", "--json"), (packet, "--down", "--json")):
            with self.subTest(args=args):
                local = self.cli("lineage", "show", *args, "--data", self.node.data,
                                 node=False)
                remote = self.cli("lineage", "show", *args, "--node", self.node.url,
                                  "--data", self.node.data, node=False)
                self.assertEqual(local.returncode, 0, local.stderr)
                self.assertEqual(remote.returncode, 0, remote.stderr)
                self.assertEqual(local.stdout, remote.stdout)
                self.assertIn(task, local.stdout)
        unknown = "no-such-thing"
        local = self.cli("lineage", "show", unknown, "--data", self.node.data, node=False)
        remote = self.cli("lineage", "show", unknown, "--node", self.node.url, "--data",
                          self.node.data, node=False)
        self.assertEqual((local.returncode, remote.returncode), (1, 1))
        self.assertEqual(local.stderr, remote.stderr)
        self.assertIn("nothing in the lineage log names 'no-such-thing'", local.stderr)
        self.finish()

    def test_without_a_token_the_cli_says_where_it_looked(self):
        env = {k: v for k, v in os.environ.items() if k != "OMNIVA_TOKEN"}
        r = subprocess.run([node_harness.OMNIVA, "task", "list", "--node", self.node.url],
                           cwd=self.tmp, env=env, capture_output=True, text=True,
                           timeout=60)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertEqual(len(r.stderr.splitlines()), 1, r.stderr)
        for said in ("no API token found", "var/omniva/token", "OMNIVA_TOKEN",
                     "--token", "--data"):
            self.assertIn(said, r.stderr)
        # A token that is refused: where it came from.
        r = subprocess.run([node_harness.OMNIVA, "task", "list", "--node", self.node.url],
                           cwd=self.tmp, env=dict(env, OMNIVA_TOKEN="wrong"),
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 1)
        self.assertIn("refused the token from $OMNIVA_TOKEN", r.stderr)
        # The data folder's token works.
        r = subprocess.run([node_harness.OMNIVA, "task", "list", "--node", self.node.url,
                            "--data", self.node.data], cwd=self.tmp, env=env,
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.finish()


if __name__ == "__main__":
    node_harness.main()
