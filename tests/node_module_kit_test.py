#!/usr/bin/env python3
"""The kit for module authors: `omniva module init` and `omniva module run`.

- FirstModulePage follows docs/modules.md, "Write your first module", as it
  is written: every ```sh block between the page's begin and end markers is
  a step (its first line `# step N: title`), run in order in one bash shell
  (`set -e`: a failing command fails the step) in a temporary folder, with
  `omniva` on the PATH; the step that starts a node ("runs until Ctrl-C")
  runs in the background on a free port (the page's 127.0.0.1:8080 becomes
  127.0.0.1:0, and the node's address goes to OMNIVA_NODE for the steps
  after it). What a step prints is checked against the ```text block after
  it (each line a pattern, `…` for anything, matched in order), and some
  steps are checked further here (files, JSON, the node's records).
- ModuleKit checks init and run directly: both languages through contract
  check and a run, the mock adapter, refused values and inputs (exit 2 with
  codes and pointers), failing modules (exit 1 with their error), outputs
  breaking their contract, folders init refuses, the execution folder, and
  schemas from module folders.
- ModuleOnNode runs a module init wrote on a real node and compares its
  output with what `module run` produced for the same input.

Run as `python3 tests/node_module_kit_test.py OMNIVA_BINARY REPO_DIR`.
"""

import json
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import node_harness  # noqa: E402
from node_harness import *  # noqa: E402,F401,F403

SAMPLE_REPORT = {"words": 12, "lines": 2}


def page_steps(path):
    """The steps of "Write your first module": [(title, script, expected lines)]."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    begin = text.find("<!-- first-module: begin")
    end = text.find("<!-- first-module: end -->")
    if begin < 0 or end < begin:
        raise AssertionError("docs/modules.md has no first-module begin/end markers")
    section = text[begin:end]
    blocks = re.findall(r"^```(sh|text)\n(.*?)^```$", section, re.S | re.M)
    steps = []
    for lang, body in blocks:
        if lang == "sh":
            first = body.split("\n", 1)[0]
            match = re.match(r"# step (\d+): (.+)$", first)
            if not match:
                raise AssertionError(f"a sh block without '# step N: title': {first!r}")
            if int(match.group(1)) != len(steps) + 1:
                raise AssertionError(f"step {match.group(1)} out of order")
            steps.append([match.group(2), body, None])
        else:
            if not steps or steps[-1][2] is not None:
                raise AssertionError("a text block that follows no step")
            steps[-1][2] = [line for line in body.split("\n") if line.strip()]
    return steps


def line_pattern(line):
    """A pattern line as a regular expression: `…` matches anything."""
    return re.compile(".*".join(re.escape(part) for part in line.rstrip().split("…")))


def check_lines(test, expected, output, what):
    """Each pattern line (but a lone `…`) matches an output line, in order."""
    lines = [line.rstrip() for line in output.split("\n")]
    at = 0
    for want in expected:
        if want.strip() == "…":
            continue
        pattern = line_pattern(want)
        while at < len(lines) and not pattern.fullmatch(lines[at]):
            at += 1
        test.assertLess(at, len(lines),
                        f"{what}: no line matches {want!r} (in order) in:\n{output}")
        at += 1


class Shell:
    """One bash process; steps are sourced into it, so variables carry over."""

    def __init__(self, cwd, env):
        self.cwd = cwd
        self.proc = subprocess.Popen(["bash", "--noprofile", "--norc", "-s"], cwd=cwd,
                                     env=env, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True, bufsize=1)

    def run(self, n, script, timeout=60):
        """Sources `script` with set -e; returns (ok, output)."""
        path = os.path.join(self.cwd, f".step-{n}.sh")
        out = os.path.join(self.cwd, f".step-{n}.out")
        with open(path, "w", encoding="utf-8") as f:
            f.write(script)
        self.proc.stdin.write(f"set -e; source {path} > {out} 2>&1; set +e; "
                              f"echo __step_{n}_done\n")
        self.proc.stdin.flush()
        deadline = time.monotonic() + timeout
        done = False
        while not done:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            ready, _, _ = select.select([self.proc.stdout], [], [], left)
            if not ready:
                break
            line = self.proc.stdout.readline()
            if not line:  # set -e ended the shell: the step failed
                break
            done = line.strip() == f"__step_{n}_done"
        with open(out, encoding="utf-8", errors="replace") as f:
            return done, f.read()

    def close(self):
        if self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stdout.close()


class FirstModulePage(unittest.TestCase):
    """docs/modules.md, "Write your first module", step by step."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="omniva-kit-page-")
        self.node = None
        self.addCleanup(self.cleanup)

    def cleanup(self):
        if self.node is not None and self.node.poll() is None:
            self.node.kill()
            self.node.wait()
        if os.environ.get("OMNIVA_KEEP_TMP"):
            print(f"\n  kept {self.tmp}", file=sys.stderr)
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)

    def start_node(self, script, env):
        """The node step, in the background, on a free port: returns its output."""
        script = script.replace("127.0.0.1:8080", "127.0.0.1:0")
        self.assertIn("127.0.0.1:0", script, "the node step gives no --http 127.0.0.1:8080")
        command = script.split("\n", 1)[1].strip()
        self.assertNotIn("\n", command, "the node step is one command")
        log_path = os.path.join(self.tmp, ".node.log")
        log = open(log_path, "w")
        self.node = subprocess.Popen(["bash", "-c", "exec " + command],
                                     cwd=self.tmp, env=env, stdout=log,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        log.close()

        def listening():
            with open(log_path, encoding="utf-8", errors="replace") as f:
                text = f.read()
            if self.node.poll() is not None:
                raise AssertionError(f"the node exited with {self.node.returncode}:\n{text}")
            match = LISTENING.search(text)
            return match and (match.group(1), text)

        return wait_until(listening, 20, "the node's 'listening' line")

    def test_the_page_runs_as_written(self):
        steps = page_steps(os.path.join(node_harness.REPO, "docs", "modules.md"))
        self.assertGreaterEqual(len(steps), 10, "the page lost its steps")
        env = dict(os.environ)
        env["PATH"] = os.path.dirname(node_harness.OMNIVA) + os.pathsep + env["PATH"]
        for name in ("OMNIVA_NODE", "OMNIVA_TOKEN", "TMPDIR"):
            env.pop(name, None)
        env["LC_ALL"] = "C.UTF-8"
        shell = Shell(self.tmp, env)
        self.addCleanup(shell.close)
        checked = set()
        for n, (title, script, expected) in enumerate(steps, 1):
            what = f"step {n} ({title})"
            if "runs until Ctrl-C" in title:
                url, output = self.start_node(script, env)
                shell.run(f"{n}env", f"export OMNIVA_NODE={url}\n")
            else:
                ok, output = shell.run(n, script)
                self.assertTrue(ok, f"{what} failed:\n{script}\n--- output:\n{output}")
            if expected:
                check_lines(self, expected, output, what)
            extra = getattr(self, "after_" + re.sub(r"\W+", "_", title.split(" (")[0]).strip("_"),
                            None)
            if extra:
                extra(output)
                checked.add(extra.__name__)
        # Every extra check found its step: a renamed step is noticed.
        self.assertEqual(checked, {m for m in dir(self) if m.startswith("after_")})
        # The page leaves a node running ("stop it with Ctrl-C"): SIGINT stops it cleanly.
        self.node.send_signal(signal.SIGINT)
        self.assertEqual(self.node.wait(10), 0)
        r = subprocess.run([node_harness.OMNIVA, "lineage", "verify", "--data",
                            os.path.join(self.tmp, "var", "omniva")],
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    # -- what the page's steps leave, checked beyond their output -------------------

    def after_make_a_module_folder(self, output):
        folder = os.path.join(self.tmp, "word-count")
        self.assertEqual(sorted(os.listdir(folder)),
                         ["README.md", "main.py", "module.json", "sample"])
        with open(os.path.join(folder, "module.json"), encoding="utf-8") as f:
            contract = json.load(f)
        self.assertEqual((contract["name"], contract["version"]), ("word-count", 1))
        self.assertEqual(contract["run"]["command"], ["python3", "main.py"])

    def after_run_it_once_without_a_node(self, output):
        run = os.path.join(self.tmp, "run-1")
        with open(os.path.join(run, "report.json"), encoding="utf-8") as f:
            self.assertEqual(json.load(f), SAMPLE_REPORT)
        for name in ("input_manifest.json", "output_manifest.json", "stdout.log",
                     "stderr.log"):
            self.assertTrue(os.path.exists(os.path.join(run, name)), name)

    def after_change_the_program(self, output):
        with open(os.path.join(self.tmp, "word-count", "main.py"), encoding="utf-8") as f:
            self.assertIn('return {"characters": len(text), "words"', f.read())

    def after_change_the_contract(self, output):
        with open(os.path.join(self.tmp, "run-2", "report.json"), encoding="utf-8") as f:
            self.assertEqual(json.load(f), dict(SAMPLE_REPORT, characters=65))

    def after_submit_a_task(self, output):
        tasks = subprocess.run([node_harness.OMNIVA, "task", "list", "--json", "--node",
                                self.node_url(), "--data",
                                os.path.join(self.tmp, "var", "omniva")],
                               capture_output=True, text=True)
        self.assertEqual(tasks.returncode, 0, tasks.stderr)
        items = json.loads(tasks.stdout)["items"]
        self.assertEqual([(t["module_ref"], t["status"], t["values"]) for t in items],
                         [("word-count@1", "DONE", {"min_words": 3})])

    def node_url(self):
        with open(os.path.join(self.tmp, ".node.log"), encoding="utf-8") as f:
            return LISTENING.search(f.read()).group(1)


class ModuleKit(unittest.TestCase):
    """init and run, directly."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="omniva-kit-")
        # Where runs without --keep make their folder: checked to be left empty.
        self.runs = os.path.join(self.tmp, "tmpdir")
        os.makedirs(self.runs)
        self.addCleanup(shutil.rmtree, self.tmp, True)

    def omniva(self, *args, cwd=None):
        env = dict(os.environ, TMPDIR=self.runs)
        return subprocess.run([node_harness.OMNIVA] + [str(a) for a in args],
                              cwd=cwd or self.tmp, env=env, capture_output=True,
                              text=True, timeout=60, stdin=subprocess.DEVNULL)

    def expect(self, rc, *args, **kw):
        r = self.omniva(*args, **kw)
        self.assertEqual(r.returncode, rc,
                         f"omniva {' '.join(map(str, args))}:\n{r.stdout}{r.stderr}")
        return r

    def init(self, name="counter", lang="python"):
        r = self.expect(0, "module", "init", name, "--lang", lang, "--dir", self.tmp,
                        "--json")
        doc = json.loads(r.stdout)
        self.assertEqual(doc["ref"], f"{name}@1")
        return doc["dir"]

    def run_json(self, rc, folder, *args):
        r = self.expect(rc, "module", "run", folder, *args, "--json")
        return json.loads(r.stdout)

    def sample(self, folder):
        return os.path.join(folder, "sample", "text.txt")

    def tearDown(self):
        self.assertEqual(os.listdir(self.runs), [],
                         "a run without --keep left its folder behind")

    # -- init --------------------------------------------------------------------

    def test_init_then_check_then_run_in_both_languages(self):
        reports = {}
        for lang, program in (("python", "main.py"), ("shell", "main.sh")):
            folder = self.init(f"count-{lang}", lang)
            self.assertEqual(sorted(os.listdir(folder)),
                             sorted(["README.md", program, "module.json", "sample"]))
            r = self.expect(0, "contract", "check", os.path.join(folder, "module.json"))
            self.assertEqual(r.stdout.strip(), f"ok: count-{lang}@1")
            keep = os.path.join(self.tmp, f"run-{lang}")
            doc = self.run_json(0, folder, "--input", f"text={self.sample(folder)}",
                                "--keep", keep)
            self.assertTrue(doc["ok"])
            self.assertEqual(doc["outcome"]["status"], "DONE")
            self.assertEqual(doc["outcome"]["metrics"]["mode"], "real")
            self.assertEqual(doc["task"]["values"], {"min_words": 1})
            self.assertEqual(doc["task"]["defaults_applied"], ["min_words"])
            [out] = doc["outcome"]["outputs"]
            self.assertEqual((out["key"], out["media_type"]), ("report", "application/json"))
            self.assertEqual(os.path.dirname(out["path"]), keep)
            with open(out["path"], encoding="utf-8") as f:
                reports[lang] = json.load(f)
            self.assertEqual(out["sha256"], sha256_of(out["path"]))
        self.assertEqual(reports, {"python": SAMPLE_REPORT, "shell": SAMPLE_REPORT})

    def test_init_refuses_a_folder_that_is_not_empty(self):
        folder = os.path.join(self.tmp, "busy")
        os.makedirs(folder)
        self.write(os.path.join(folder, "notes.txt"), "mine")
        r = self.expect(1, "module", "init", "busy", "--dir", self.tmp)
        self.assertIn("invalid_argument", r.stderr)
        self.assertIn("is not empty", r.stderr)
        self.assertEqual(os.listdir(folder), ["notes.txt"])
        doc = json.loads(self.expect(1, "module", "init", "busy", "--dir", self.tmp,
                                     "--json").stdout)
        self.assertEqual([e["code"] for e in doc["errors"]], ["invalid_argument"])
        # An empty folder is fine.
        os.makedirs(os.path.join(self.tmp, "empty"))
        self.expect(0, "module", "init", "empty", "--dir", self.tmp)

    def test_init_refuses_a_name_the_contract_refuses(self):
        for name in ("WordCount", "9lives", "a b", "../up"):
            r = self.expect(2, "module", "init", name, "--json")
            doc = json.loads(r.stdout)
            self.assertEqual([(e["code"], e["pointer"]) for e in doc["errors"]],
                             [("invalid_ref", "/name")], name)
        self.assertEqual(sorted(os.listdir(self.tmp)), ["tmpdir"])
        r = self.expect(2, "module", "init", "x", "--lang", "cobol")
        self.assertIn("--lang must be python or shell", r.stderr)

    # -- run ---------------------------------------------------------------------

    def test_mock_mode_writes_outputs_that_satisfy_the_contract(self):
        folder = self.init()
        # The program is never started in mock mode.
        os.remove(os.path.join(folder, "main.py"))
        keep = os.path.join(self.tmp, "mock-run")
        doc = self.run_json(0, folder, "--input", f"text={self.sample(folder)}",
                            "--mode", "mock", "--keep", keep)
        self.assertEqual(doc["outcome"]["metrics"]["mode"], "mock")
        self.assertEqual(doc["mode"], "mock")
        [out] = doc["outcome"]["outputs"]
        with open(out["path"], encoding="utf-8") as f:
            report = json.load(f)
        self.assertEqual(sorted(report), ["lines", "words"])
        self.assertTrue(all(isinstance(v, int) and v >= 0 for v in report.values()))
        # The same inputs, the same bytes.
        again = self.run_json(0, folder, "--input", f"text={self.sample(folder)}",
                              "--mode", "mock")
        self.assertEqual(again["outcome"]["outputs"][0]["sha256"], out["sha256"])

    def test_bad_values_are_refused_with_codes_and_pointers(self):
        folder = self.init()
        text = f"text={self.sample(folder)}"
        for value, code in (("min_words=many", "dtype_mismatch"),
                            ('min_words="3"', "dtype_mismatch"),
                            ("min_words=2.5", "dtype_mismatch"),
                            ("min_words=-1", "out_of_range"),
                            ("min_words=1000001", "out_of_range")):
            doc = self.run_json(2, folder, "--input", text, "--value", value)
            self.assertEqual(doc["stage"], "preflight")
            self.assertEqual([(e["code"], e["pointer"]) for e in doc["errors"]],
                             [(code, "/values/min_words")], value)
        r = self.expect(2, "module", "run", folder, "--input", text, "--value",
                        "min_words=-1")
        self.assertIn("the request for counter@1 is refused (1 problem)", r.stderr)
        self.assertIn("out_of_range /values/min_words:", r.stderr)
        self.assertEqual(r.stdout, "")

    def test_every_problem_of_a_request_at_once(self):
        folder = self.init()
        doc = self.run_json(2, folder, "--value", "min_words=-1", "--value", "colour=1",
                            "--input", "extra=" + self.sample(folder))
        self.assertEqual(sorted((e["code"], e["pointer"]) for e in doc["errors"]),
                         [("missing_input", "/input_mapping/text"),
                          ("out_of_range", "/values/min_words"),
                          ("unknown_input", "/input_mapping/extra"),
                          ("unknown_input", "/values/colour")])
        doc = self.run_json(2, folder, "--input", "text=" + os.path.join(self.tmp, "nope.txt"),
                            "--input", "text=" + self.sample(folder))
        self.assertEqual([(e["code"], e["pointer"]) for e in doc["errors"]],
                         [("not_found", "/input_mapping/text"),
                          ("duplicate_key", "/input_mapping/text")])

    def test_a_missing_required_input(self):
        folder = self.init()
        r = self.expect(2, "module", "run", folder)
        self.assertIn("missing_input /input_mapping/text:", r.stderr)

    def test_a_file_of_another_media_type(self):
        folder = self.init()
        png = os.path.join(self.tmp, "dot.png")
        with open(png, "wb") as f:
            f.write(bytes.fromhex("89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
                                  "0000000d49444154789c6360000000000500010d0a2db40000000049454e44ae426082"))
        doc = self.run_json(2, folder, "--input", f"text={png}")
        self.assertEqual([(e["code"], e["pointer"]) for e in doc["errors"]],
                         [("media_type_mismatch", "/input_mapping/text")])
        # Unless the caller says what it is.
        self.run_json(1, folder, "--input", f"text={png}", "--media-type", "text=text/plain")

    def test_a_module_that_fails(self):
        for lang in ("python", "shell"):
            folder = self.init(f"fails-{lang}", lang)
            doc = self.run_json(1, folder, "--input", f"text={self.sample(folder)}",
                                "--value", "min_words=100")
            self.assertFalse(doc["ok"])
            error = doc["outcome"]["error"]
            self.assertEqual(error["code"], "exit_code")
            self.assertIn("the module exited with status 1", error["message"])
            self.assertIn("the text has 12 word(s), fewer than min_words (100)",
                          error["message"])
            self.assertEqual(doc["outcome"]["outputs"], [])
            r = self.expect(1, "module", "run", folder, "--input",
                            f"text={self.sample(folder)}", "--value", "min_words=100")
            self.assertTrue(r.stdout.startswith(f"ERROR fails-{lang}@1 (real, "), r.stdout)
            self.assertIn("  exit_code: the module exited with status 1", r.stdout)

    def test_an_output_that_breaks_the_contract(self):
        folder = self.init()
        program = os.path.join(folder, "main.py")
        with open(program, encoding="utf-8") as f:
            text = f.read()
        self.write(program, text.replace('"lines": text.count("\\n")',
                                         '"lines": -1'))
        doc = self.run_json(1, folder, "--input", f"text={self.sample(folder)}")
        error = doc["outcome"]["error"]
        self.assertEqual((error["code"], error["pointer"]),
                         ("output_contract_violation", "/lines"))
        # A program that is not there cannot start.
        os.remove(program)
        doc = self.run_json(1, folder, "--input", f"text={self.sample(folder)}")
        self.assertEqual(doc["outcome"]["error"]["code"], "exit_code")

    def test_ctrl_c_stops_the_module_and_cleans_up(self):
        folder = self.init()
        pidfile = os.path.join(self.tmp, "pid")
        self.write(os.path.join(folder, "main.py"),
                   "import os, time\n"
                   f"open({pidfile!r}, 'w').write(str(os.getpid()))\n"
                   "time.sleep(120)\n")
        env = dict(os.environ, TMPDIR=self.runs)
        proc = subprocess.Popen([node_harness.OMNIVA, "module", "run", folder, "--input",
                                 f"text={self.sample(folder)}", "--json"],
                                cwd=self.tmp, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        self.addCleanup(lambda: proc.poll() is None and proc.kill())
        def started():
            if os.path.exists(pidfile):
                with open(pidfile, encoding="utf-8") as f:
                    return f.read()
            return None

        pid = int(wait_until(started, 20, "the module to start"))
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
        self.assertEqual(proc.returncode, 1, out + err)
        doc = json.loads(out)
        self.assertEqual(doc["outcome"]["error"]["code"], "cancelled")
        wait_until(lambda: not process_alive(pid), 10, "the module's process to be gone")

    def test_keep_takes_a_new_or_empty_folder(self):
        folder = self.init()
        busy = os.path.join(self.tmp, "busy")
        os.makedirs(busy)
        self.write(os.path.join(busy, "x"), "x")
        r = self.expect(2, "module", "run", folder, "--input",
                        f"text={self.sample(folder)}", "--keep", busy)
        self.assertIn("is not an empty folder", r.stderr)
        self.assertEqual(os.listdir(busy), ["x"])
        # A folder made for a run that was refused is not left behind.
        fresh = os.path.join(self.tmp, "fresh")
        self.expect(2, "module", "run", folder, "--keep", fresh)
        self.assertFalse(os.path.exists(fresh))
        r = self.expect(0, "module", "run", folder, "--input",
                        f"text={self.sample(folder)}")
        self.assertIn("the execution folder was removed", r.stdout)
        self.assertIn("sha256 ", r.stdout)

    def test_a_contract_that_is_not_valid_does_not_run(self):
        folder = self.init()
        path = os.path.join(folder, "module.json")
        with open(path, encoding="utf-8") as f:
            contract = json.load(f)
        contract["inputs"][1]["default"] = -5
        contract["run"]["command"] = []
        self.write(path, json.dumps(contract))
        doc = self.run_json(2, folder, "--input", f"text={self.sample(folder)}")
        self.assertEqual(doc["stage"], "contract")
        self.assertEqual(sorted((e["code"], e["pointer"]) for e in doc["errors"]),
                         [("empty_command", "/run/command"),
                          ("invalid_default", "/inputs/1/default")])
        r = self.expect(2, "module", "run", os.path.join(self.tmp, "nowhere"))
        self.assertIn("not_found", r.stderr)

    def test_schemas_come_from_module_folders(self):
        modules = os.path.join(node_harness.REPO, "modules")
        probe = os.path.join(modules, "media_probe")
        keep = os.path.join(self.tmp, "probe")
        self.write(os.path.join(self.tmp, "note.txt"), "one two three\n")
        # media-probe@1 promises media.metadata@1, a schema of its own folder.
        doc = self.run_json(0, probe, "--input", "source=note.txt", "--keep", keep)
        [metadata] = doc["outcome"]["outputs"]
        summarize = os.path.join(modules, "summarize")
        # summarize@1 requires it of its input: the schema comes from --modules.
        doc = self.run_json(2, summarize, "--input", f"metadata={metadata['path']}")
        self.assertEqual([(e["code"], e["pointer"]) for e in doc["errors"]],
                         [("invalid_ref", "/inputs/0/constraints/schema")])
        doc = self.run_json(0, summarize, "--input", f"metadata={metadata['path']}",
                            "--modules", modules)
        self.assertEqual(doc["outcome"]["outputs"][0]["media_type"], "text/plain")

    def write(self, path, text):
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)


class ModuleOnNode(NodeTestCase):
    """A module init wrote, on a node: the output module run gave."""

    def test_the_node_runs_it_as_module_run_did(self):
        r = self.cli_ok("module", "init", "word-count", node=False)
        folder = os.path.join(self.tmp, "word-count")
        sample = os.path.join(folder, "sample", "text.txt")
        local = json.loads(self.cli_ok("module", "run", folder, "--input",
                                       f"text={sample}", "--value", "min_words=3",
                                       "--json", node=False).stdout)
        self.assertEqual(self.cli_ok("module", "register", folder).stdout.strip(),
                         "word-count@1")
        asset = self.cli_ok("asset", "add", sample).stdout.strip()
        task = self.submit("word-count@1", {"text": asset}, {"min_words": 3})
        done = self.wait_finished(task["task_id"])
        self.assertEqual(done["status"], "DONE", done)
        report = self.asset(done["outputs"]["report"])
        self.assertEqual(report["sha256"], local["outcome"]["outputs"][0]["sha256"])
        # The same failure, the same code and message.
        failing = self.submit("word-count@1", {"text": asset}, {"min_words": 100})
        failed = self.wait_finished(failing["task_id"])
        local = json.loads(self.cli("module", "run", folder, "--input", f"text={sample}",
                                    "--value", "min_words=100", "--json",
                                    node=False).stdout)
        self.assertEqual((failed["error"]["code"], failed["error"]["message"]),
                         (local["outcome"]["error"]["code"],
                          local["outcome"]["error"]["message"]))
        self.finish()


if __name__ == "__main__":
    node_harness.main()
