#!/usr/bin/env python3
"""The defects a hostile client found (issue 11), through a real node.

Usage: node_defects_test.py OMNIVA_BINARY REPO_DIR

- A task request is refused with all its problems at once: what is wrong
  with its shape (a malformed asset id) and what pre-flight finds in the
  rest of it (an unknown input, a missing one, a value out of range).
- JSON answers are valid UTF-8 whatever they echo.
- A request body naming a member twice is refused, never "last one wins".
- One integer rule: 1e-400 is refused where 1.5 is; 2^200 is too large.
- A path with a NUL byte says so; the node's own secrets never become assets.

The harness (a node per case, HTTP and CLI helpers) is tests/node_harness.py.
"""

import json
import os
import re
import urllib.error
import urllib.request

import node_harness
from node_harness import *  # noqa: F401,F403 (the fixtures and NodeTestCase)

# A test module like the clip-scorer@3: a required ASSET input and
# an int VALUE input with a maximum. No task of it runs for real.
SCORER_CONTRACT = {
    "name": "clip-scorer",
    "version": 3,
    "description": "Scores a clip (a test fixture).",
    "inputs": [
        {"key": "clip", "label": "The clip", "contract_type": "ASSET",
         "required": True, "constraints": {"media_types": ["video/mp4"]}},
        {"key": "threshold", "label": "Threshold", "contract_type": "VALUE",
         "dtype": "int", "required": True, "constraints": {"min": 0, "max": 5}},
    ],
    "outputs": [{
        "key": "score",
        "label": "Score",
        "contract_type": "ASSET",
        "media_type": "application/json",
    }],
    "resources": {"cpu": 1, "memory_gb": 0.1, "gpu": False, "timeout_s": 20},
    "run": {"command": ["python3", "score.py"]},
    "schema_version": "1.0.0",
}

SCORER_SCRIPT = "raise SystemExit('clip-scorer is a fixture: it never runs')\n"


class DefectsCase(NodeTestCase):
    def register_scorer(self):
        folder = os.path.join(self.tmp, "clip_scorer")
        os.makedirs(folder)
        with open(os.path.join(folder, "module.json"), "w", encoding="utf-8") as f:
            json.dump(SCORER_CONTRACT, f, indent=2)
        with open(os.path.join(folder, "score.py"), "w", encoding="utf-8") as f:
            f.write(SCORER_SCRIPT)
        self.assertEqual(self.cli_ok("module", "register", folder).stdout.strip(),
                         "clip-scorer@3")

    def clip(self):
        """A FILE asset the scorer accepts."""
        path = self.write("clip.mp4", "not really a video\n")
        return self.cli_ok("asset", "add", path, "--media-type",
                           "video/mp4").stdout.strip()

    def raw(self, method, path, body=None):
        """(status, raw body bytes, content type): no decoding at all."""
        headers = {"Authorization": f"Bearer {self.node.token}"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        req = urllib.request.Request(self.node.url + path, data=body,
                                     headers=headers, method=method)
        try:
            with node_harness.OPENER.open(req, timeout=30) as resp:
                return resp.status, resp.read(), resp.headers.get("Content-Type", "")
        except urllib.error.HTTPError as e:
            return e.code, e.read(), e.headers.get("Content-Type", "")

    def errors_of(self, doc):
        return {(e["code"], e["pointer"]) for e in doc["errors"]}


class AllErrorsAtOnceTest(DefectsCase):
    def test_shape_and_preflight_problems_come_together(self):
        self.register_scorer()
        expected = {("invalid_uuid", "/input_mapping/wrong"),
                    ("unknown_input", "/input_mapping/wrong"),
                    ("missing_input", "/input_mapping/clip"),
                    ("out_of_range", "/values/threshold")}
        status, doc, _ = self.http("POST", "/api/tasks", {
            "module_ref": "clip-scorer@3",
            "input_mapping": {"wrong": "abc"},
            "values": {"threshold": 7}})
        self.assertEqual(status, 422, doc)
        self.assertEqual(self.errors_of(doc), expected)
        self.assertEqual(len(doc["errors"]), 4, doc)
        for e in doc["errors"]:
            self.assertTrue(e["message"], e)

        r = self.cli("task", "create", "clip-scorer@3", "--input", "wrong=abc",
                     "--value", "threshold=7")
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertEqual(r.stdout, "")
        self.assertIn("4 error(s)", r.stderr)
        for code, pointer in expected:
            self.assertRegex(r.stderr, rf"{code} {re.escape(pointer)}: ")

        # More shape problems: each once, with what pre-flight finds.
        status, doc, _ = self.http("POST", "/api/tasks", {
            "module_ref": "clip-scorer@3",
            "input_mapping": {"clip": 42},
            "values": {"threshold": 2},
            "priority": "high",
            "colour": "red"})
        self.assertEqual(status, 422, doc)
        self.assertEqual(self.errors_of(doc), {("type_mismatch", "/input_mapping/clip"),
                                               ("type_mismatch", "/priority"),
                                               ("unknown_field", "/colour")})
        self.assertEqual(self.items("/api/tasks"), [], "nothing was created")
        self.finish()

    def test_an_unreadable_module_ref_is_still_refused_with_every_problem(self):
        status, doc, _ = self.http("POST", "/api/tasks", {
            "module_ref": "clip-scorer", "priority": "x"})
        self.assertEqual(status, 422, doc)
        self.assertEqual(self.errors_of(doc), {("invalid_ref", "/module_ref"),
                                               ("type_mismatch", "/priority")})
        self.finish()


class Utf8Test(DefectsCase):
    def test_answers_echoing_invalid_utf8_are_valid_utf8(self):
        status, body, ctype = self.raw("GET", "/api/tasks/%ff%fe")
        self.assertEqual(status, 404, body)
        self.assertTrue(ctype.startswith("application/json"), ctype)
        text = body.decode("utf-8")  # strict: raises on invalid UTF-8
        doc = json.loads(text)
        self.assertEqual(doc["error"]["code"], "not_found", doc)
        self.assertNotIn(b"\xff", body)
        self.assertNotIn(b"\xfe", body)
        self.assertIn("\ufffd", doc["error"]["message"])
        self.finish()


class DuplicateKeyTest(DefectsCase):
    def test_a_member_named_twice_is_refused_with_its_pointer(self):
        self.register_scorer()
        cases = [
            ("/api/tasks", b'{"module_ref": "clip-scorer@3", "module_ref": "x@1"}',
             "/module_ref"),
            ("/api/tasks", b'{"module_ref": "clip-scorer@3", '
                           b'"values": {"threshold": 1, "threshold": 2}}',
             "/values/threshold"),
            ("/api/assets/path", b'{"path": "/a", "label": "x", "path": "/b"}', "/path"),
            ("/api/assets/value", b'{"value": [{"k": 1, "k": 1}], "dtype": "json"}',
             "/value/0/k"),
        ]
        for route, body, pointer in cases:
            with self.subTest(route=route, body=body):
                status, doc, _ = self.http("POST", route, body)
                self.assertEqual(status, 400, doc)
                self.assertEqual(doc["error"]["code"], "duplicate_key", doc)
                self.assertEqual(doc["error"]["pointer"], pointer, doc)
                self.assertIn("twice", doc["error"]["message"])
        self.assertEqual(self.items("/api/tasks"), [], "nothing was created")
        self.assertEqual(self.items("/api/assets"), [], "nothing was registered")
        self.finish()


class IntegerRuleTest(DefectsCase):
    def test_1e_minus_400_is_refused_like_1_5(self):
        self.register_scorer()
        clip = self.clip()
        answers = {}
        for literal in ("1.5", "1e-400", "7.00000000000000000001"):
            body = ('{"module_ref": "clip-scorer@3", "input_mapping": {"clip": "%s"}, '
                    '"values": {"threshold": 1}, "mode": "mock", "priority": %s}'
                    % (clip, literal)).encode()
            status, doc, _ = self.http("POST", "/api/tasks", body)
            answers[literal] = (status, self.errors_of(doc) if status == 422 else doc)
        for literal in ("1e-400", "7.00000000000000000001"):
            self.assertEqual(answers[literal], answers["1.5"], literal)
        self.assertEqual(answers["1.5"], (422, {("type_mismatch", "/priority")}))
        # The same integer as a value: refused as a number with a fraction.
        body = ('{"module_ref": "clip-scorer@3", "input_mapping": {"clip": "%s"}, '
                '"values": {"threshold": 1e-400}, "mode": "mock"}' % clip).encode()
        status, doc, _ = self.http("POST", "/api/tasks", body)
        self.assertEqual(status, 422, doc)
        self.assertEqual(self.errors_of(doc), {("dtype_mismatch", "/values/threshold")})

        # Changing a task's priority: 1e-400 answers what 1.5 answers.
        status, task, _ = self.http("POST", "/api/tasks", (
            '{"module_ref": "clip-scorer@3", "input_mapping": {"clip": "%s"}, '
            '"values": {"threshold": 1}, "mode": "mock", "priority": 1e2}'
            % clip).encode())
        self.assertEqual(status, 201, task)
        self.assertEqual(task["priority"], 100, "1e2 is the integer 100")
        route = f"/api/tasks/{task['task_id']}/priority"
        refused = [self.http("POST", route, body)[:2]
                   for body in (b'{"priority": 1.5}', b'{"priority": 1e-400}')]
        self.assertEqual(refused[0], refused[1])
        self.assertEqual(refused[0][0], 400, refused)
        self.assertEqual(refused[0][1]["error"]["pointer"], "/priority")
        self.wait_finished(task["task_id"])
        self.finish()

    def test_an_integer_beyond_64_bits_is_too_large(self):
        self.register_scorer()
        clip = self.clip()
        status, doc, _ = self.http("POST", "/api/tasks", {
            "module_ref": "clip-scorer@3", "input_mapping": {"clip": clip},
            "values": {"threshold": 2 ** 200}})
        self.assertEqual(status, 422, doc)
        self.assertEqual(self.errors_of(doc), {("out_of_range", "/values/threshold")})
        message = doc["errors"][0]["message"]
        self.assertIn("too large", message)
        self.assertNotIn("got an integer", message)
        self.finish()


class PathTest(DefectsCase):
    def test_a_path_with_a_nul_byte_says_so(self):
        inside = self.write("inside.txt", "inside\n")
        status, doc, _ = self.http("POST", "/api/assets/path",
                                   {"path": inside + "\u0000.png"})
        self.assertEqual(status, 400, doc)
        self.assertEqual(doc["error"]["code"], "invalid_argument", doc)
        self.assertEqual(doc["error"]["pointer"], "/path", doc)
        self.assertEqual(doc["error"]["message"],
                         "a file path must not contain a NUL byte")
        self.finish()

    def test_the_node_s_own_secrets_are_not_assets(self):
        data = self.node.data
        secrets = [os.path.join(data, "token")]
        # The cluster secret to come, and the database's own files.
        secrets.append(self.write(os.path.join("data", "cluster-secret"), "shared\n"))
        db_files = [f for f in sorted(os.listdir(os.path.join(data, "db")))
                    if os.path.isfile(os.path.join(data, "db", f))]
        self.assertTrue(db_files)
        secrets.append(os.path.join(data, "db", db_files[0]))
        # Reached another way: through "..", or a symbolic link in the
        # working directory (an allowed root too).
        secrets.append(os.path.join(data, "db", "..", "token"))
        link = os.path.join(self.tmp, "innocent.txt")
        os.symlink(os.path.join(data, "token"), link)
        secrets.append(link)
        for path in secrets:
            with self.subTest(path=path):
                status, doc, _ = self.http("POST", "/api/assets/path", {"path": path})
                self.assertEqual(status, 403, doc)
                self.assertEqual(doc["error"]["code"], "path_not_allowed", doc)
                self.assertEqual(doc["error"]["pointer"], "/path", doc)
                self.assertIn("the node's own secret", doc["error"]["message"])
        r = self.cli("asset", "add", os.path.join(data, "token"), "--server-path")
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("path_not_allowed", r.stderr)
        self.assertNotIn(self.node.token, r.stdout + r.stderr)
        self.assertEqual(self.items("/api/assets"), [], "nothing was registered")
        # Another file of the data folder is still fine.
        notes = self.write(os.path.join("data", "notes.txt"), "mine\n")
        added = self.cli_json("asset", "add", notes, "--server-path",
                              "--media-type", "text/plain")
        self.assertEqual(added["status"], "AVAILABLE")
        self.finish()


if __name__ == "__main__":
    node_harness.main()
