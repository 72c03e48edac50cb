#!/usr/bin/env python3
"""Named API tokens and roles through a real node (docs/operations.md, "Tokens and roles").

A viewer reads and is refused all work (403 forbidden, naming 'operator'); an
operator works but manages neither tokens nor modules (naming 'admin'); an
admin does everything. Secrets are shown once, stored hashed, never listed,
never in the lineage or the node's log; expired, revoked and rotated-away
secrets open nothing (401); rotating `admin` rewrites <data>/token; the last
admin stays; tokens survive a restart; a data folder with only a token file
gets its admin token.

Run: python3 tests/node_tokens_test.py build/runtime/omniva .
"""

import glob
import hashlib
import json
import os
import re
import stat

import node_harness
from node_harness import *

SECRET = re.compile(r"^omv_[0-9a-f]{64}$")


def sha256_hex(text):
    return hashlib.sha256(text.encode()).hexdigest()


class TokensTest(NodeTestCase):

    # -- helpers ---------------------------------------------------------------

    def make(self, name, role, *extra):
        """Creates a token through the CLI (as the admin); returns its secret."""
        r = self.cli_ok("token", "create", name, "--role", role, *extra)
        secret = r.stdout.strip()
        self.assertRegex(secret, SECRET)
        self.assertIn("will not be shown again", r.stderr)
        return secret

    def status(self, token, method, path, body=None):
        return self.http(method, path, body, token=token)[0]

    def assert_forbidden(self, answer, role):
        status, doc, _ = answer
        self.assertEqual(status, 403, doc)
        self.assertEqual(doc["error"]["code"], "forbidden")
        self.assertIn(f"'{role}'", doc["error"]["message"])

    def assert_refused(self, answer, status, code, pointer=None):
        got, doc, _ = answer
        self.assertEqual(got, status, doc)
        self.assertEqual(doc["error"]["code"], code, doc)
        if pointer is not None:
            self.assertEqual(doc["error"]["pointer"], pointer, doc)

    def tokens(self, token="node"):
        status, doc, _ = self.http("GET", "/api/tokens", token=token)
        self.assertEqual(status, 200, doc)
        return {t["name"]: t for t in doc["items"]}

    # -- roles -----------------------------------------------------------------

    def test_a_viewer_reads_and_is_refused_all_work_naming_the_operator_role(self):
        viewer = self.make("dash", "viewer")
        for path in ("/api/tasks", "/api/assets", "/api/modules", "/api/tasks/counts",
                     "/metrics", "/api/lineage/verify"):
            self.assertEqual(self.status(viewer, "GET", path), 200, path)
        task = self.submit("slow@1", values={"seconds": 0})
        slow = {"module_ref": "slow@1", "input_mapping": {}, "values": {"seconds": 0}}
        self.assert_forbidden(self.http("POST", "/api/tasks", slow, token=viewer), "operator")
        self.assert_forbidden(self.http("POST", f"/api/tasks/{task['task_id']}/cancel",
                                        token=viewer), "operator")
        self.assert_forbidden(self.http("POST", f"/api/tasks/{task['task_id']}/priority",
                                        {"priority": 3}, token=viewer), "operator")
        self.assert_forbidden(self.http("POST", "/api/assets/value",
                                        {"value": 1, "dtype": "int"}, token=viewer),
                              "operator")
        self.assert_forbidden(self.http("POST", "/api/tokens",
                                        {"name": "x", "role": "viewer"}, token=viewer),
                              "admin")
        # The CLI says which role was needed.
        r = self.cli("task", "cancel", task["task_id"], "--token", viewer)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("forbidden", r.stderr)
        self.assertIn("'operator'", r.stderr)
        # Nothing the viewer asked for happened.
        self.assertEqual(len(self.items("/api/tasks")), 1)
        self.assertNotIn("VALUE", [a["kind"] for a in self.items("/api/assets")])
        self.assertEqual(self.history(task["task_id"])[0]["kind"], "task.created")
        self.assertNotIn("task.cancelled",
                         [p["kind"] for p in self.history(task["task_id"])])
        self.finish()

    def test_an_operator_works_but_manages_neither_tokens_nor_modules(self):
        self.register_spawner()
        op = self.make("ci-bot", "operator")
        pidfile = os.path.join(self.tmp, "pids")
        status, task, _ = self.http("POST", "/api/tasks", {
            "module_ref": "spawner@1", "input_mapping": {},
            "values": {"pidfile": pidfile, "seconds": 120}}, token=op)
        self.assertEqual(status, 201, task)
        wait_until(lambda: self.pids_in(pidfile), 20, "the spawner to start")
        status, cancelled, _ = self.http("POST", f"/api/tasks/{task['task_id']}/cancel",
                                         token=op)
        self.assertEqual(status, 200, cancelled)
        self.assertEqual(cancelled["status"], "CANCELLED")
        # The packets name the operator's token.
        history = self.history(task["task_id"])
        by_kind = {p["kind"]: p for p in history}
        self.assertEqual(by_kind["task.created"]["payload"]["operator"], "ci-bot")
        self.assertEqual(by_kind["task.cancelled"]["payload"]["operator"], "ci-bot")
        # Tokens, modules, schemas and rescans are the admin's.
        self.assert_forbidden(self.http("GET", "/api/tokens", token=op), "admin")
        self.assert_forbidden(self.http("POST", "/api/tokens",
                                        {"name": "x", "role": "viewer"}, token=op), "admin")
        self.assert_forbidden(self.http("POST", "/api/tokens/ci-bot/rotate", token=op),
                              "admin")
        self.assert_forbidden(self.http("DELETE", "/api/tokens/admin", token=op), "admin")
        self.assert_forbidden(self.http("POST", "/api/modules", SPAWNER_CONTRACT,
                                        token=op), "admin")
        self.assert_forbidden(self.http("POST", "/api/modules/rescan", token=op), "admin")
        self.assert_forbidden(self.http("POST", "/api/schemas?ref=test.report@1",
                                        REPORT_SCHEMA, token=op), "admin")
        r = self.cli("token", "create", "x", "--role", "viewer", "--token", op)
        self.assertEqual(r.returncode, 1)
        self.assertIn("'admin'", r.stderr)
        self.assertEqual(sorted(self.tokens()), ["admin", "ci-bot"])
        self.finish()

    # -- the admin's verbs -----------------------------------------------------

    def test_an_admin_lists_tokens_without_their_secrets(self):
        viewer = self.make("v", "viewer", "--expires", "30d")
        op = self.make("o", "operator")
        listed = self.tokens()
        self.assertEqual(sorted(listed), ["admin", "o", "v"])
        self.assertEqual(listed["v"]["role"], "viewer")
        self.assertEqual(listed["o"]["created_by"], "admin")
        self.assertEqual(listed["admin"]["created_by"], "node")
        self.assertIsNone(listed["o"]["expires_at"])
        self.assertRegex(listed["v"]["expires_at"], r"^\d{4}-\d\d-\d\dT")
        for t in listed.values():
            self.assertEqual(sorted(t), ["created_at", "created_by", "expires_at",
                                         "name", "role"])
        raw = json.dumps(self.get_ok("/api/tokens"))
        for secret in (viewer, op, self.node.token):
            self.assertNotIn(secret, raw)
            self.assertNotIn(sha256_hex(secret), raw)
        # The table for people.
        table = self.cli_ok("token", "list").stdout.splitlines()
        self.assertEqual(table[0].split(), ["name", "role", "created", "created", "by",
                                            "expires"])
        rows = {line.split()[0]: line.split() for line in table[1:]}
        self.assertEqual(rows["o"][1], "operator")
        self.assertEqual(rows["o"][-1], "never")
        self.assertEqual(rows["v"][-1], listed["v"]["expires_at"])
        # --json prints the whole answer, the secret in it, once.
        made = json.loads(self.cli_ok("token", "create", "j", "--role", "viewer",
                                      "--json").stdout)
        self.assertRegex(made["secret"], SECRET)
        self.assertEqual(made["role"], "viewer")
        self.assertEqual(self.status(made["secret"], "GET", "/api/tasks"), 200)
        self.finish()

    def test_bad_token_requests_are_refused_with_their_pointer(self):
        self.make("taken", "viewer")
        post = lambda body: self.http("POST", "/api/tokens", body)
        self.assert_refused(post({"name": "taken", "role": "admin"}), 409,
                            "immutable_ref", "/name")
        for name in ("Bad", "1abc", "a" * 65, "", "a b", "é"):
            self.assert_refused(post({"name": name, "role": "viewer"}), 400,
                                "invalid_argument", "/name")
        self.assert_refused(post({"role": "viewer"}), 400, "missing_field", "/name")
        self.assert_refused(post({"name": "x"}), 400, "missing_field", "/role")
        self.assert_refused(post({"name": "x", "role": "root"}), 400,
                            "invalid_argument", "/role")
        for expires in ("2001-01-01T00:00:00Z", "3x", "0d", "-1d", "99999999d", ""):
            self.assert_refused(post({"name": "x", "role": "viewer", "expires": expires}),
                                400, "invalid_argument", "/expires")
        self.assert_refused(post({"name": "x", "role": "viewer", "secret": "mine"}),
                            400, "unknown_field", "/secret")
        self.assert_refused(post({"name": 7, "role": "viewer"}), 400, "type_mismatch",
                            "/name")
        self.assert_refused(self.http("DELETE", "/api/tokens/ghost"), 404, "not_found")
        self.assert_refused(self.http("POST", "/api/tokens/ghost/rotate"), 404,
                            "not_found")
        self.assert_refused(self.http("DELETE", "/api/tokens/Bad"), 400,
                            "invalid_argument")
        r = self.cli("token", "create", "taken", "--role", "viewer")
        self.assertEqual(r.returncode, 1)
        self.assertIn("immutable_ref", r.stderr)
        self.assertEqual(sorted(self.tokens()), ["admin", "taken"])
        self.get_ok("/api/health")
        self.finish()

    # -- secrets that open nothing -----------------------------------------------

    def test_an_expired_token_opens_nothing(self):
        short = self.make("short", "viewer", "--expires", "5s")
        self.assertEqual(self.status(short, "GET", "/api/tasks"), 200)
        wait_until(lambda: self.status(short, "GET", "/api/tasks") == 401, 30,
                   "the short token to expire")
        status, doc, headers = self.http("GET", "/api/tasks", token=short)
        self.assertEqual(doc["error"]["code"], "unauthorized")
        self.assertEqual(headers.get("WWW-Authenticate"), "Bearer")
        # Still listed, with its expiry; a token of another name still works.
        self.assertIn("short", self.tokens())
        self.assertEqual(self.status(self.make("long", "viewer", "--expires", "1h"),
                                     "GET", "/api/tasks"), 200)
        self.finish()

    def test_revoked_and_rotated_away_secrets_open_nothing(self):
        viewer = self.make("v", "viewer")
        self.assertEqual(self.status(viewer, "GET", "/api/tasks"), 200)
        self.assertEqual(self.cli_ok("token", "revoke", "v").stdout.strip(), "revoked v")
        self.assertEqual(self.status(viewer, "GET", "/api/tasks"), 401)
        self.assertNotIn("v", self.tokens())
        old = self.make("o", "operator")
        new = self.cli_ok("token", "rotate", "o").stdout.strip()
        self.assertRegex(new, SECRET)
        self.assertNotEqual(new, old)
        self.assertEqual(self.status(old, "GET", "/api/tasks"), 401)
        self.assertEqual(self.status(new, "GET", "/api/tasks"), 200)
        self.assertEqual(self.tokens()["o"]["role"], "operator")
        # A rotation may change the role (and the expiry).
        newer = self.cli_ok("token", "rotate", "o", "--role", "viewer",
                            "--expires", "2h").stdout.strip()
        self.assertEqual(self.status(new, "GET", "/api/tasks"), 401)
        self.assert_forbidden(self.http("POST", "/api/tasks", {
            "module_ref": "slow@1", "input_mapping": {}}, token=newer), "operator")
        self.assertIsNotNone(self.tokens()["o"]["expires_at"])
        # The lineage keeps every change, with who made it.
        kinds = [(p["kind"], p["payload"]["operator"]) for p in self.history("token:o")]
        self.assertEqual(kinds, [("token.created", "admin"), ("token.rotated", "admin"),
                                 ("token.rotated", "admin")])
        self.assertEqual(self.history("token:o")[2]["payload"]["previous_role"], "operator")
        self.assertEqual([p["kind"] for p in self.history("token:v")],
                         ["token.created", "token.revoked"])
        self.finish()

    # -- the first admin -----------------------------------------------------------

    def test_rotating_admin_rewrites_the_token_file_and_the_cli_keeps_working(self):
        old = self.node.token
        r = self.cli_ok("token", "rotate", "admin")
        new = r.stdout.strip()
        self.assertRegex(new, SECRET)
        path = os.path.join(self.node.data, "token")
        self.assertIn(path, r.stderr)
        with open(path, encoding="utf-8") as f:
            self.assertEqual(f.read(), new + "\n")
        self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600)
        self.assertEqual(self.status(old, "GET", "/api/tasks"), 401)
        self.node.token = new
        # The CLI reads the new file.
        self.assertIn("admin", self.cli_ok("token", "list").stdout)
        self.make("after", "viewer")
        self.finish()

    def test_the_last_admin_can_be_neither_revoked_nor_demoted(self):
        r = self.cli("token", "revoke", "admin")
        self.assertEqual(r.returncode, 1)
        self.assertIn("illegal_transition", r.stderr)
        self.assertIn("last admin", r.stderr)
        self.assert_refused(self.http("POST", "/api/tokens/admin/rotate",
                                      {"role": "operator"}), 409, "illegal_transition",
                            "/role")
        self.assertEqual(self.tokens()["admin"]["role"], "admin")
        # With a second admin, the first may go (and the token file opens nothing).
        root = self.make("root", "admin")
        self.assertEqual(self.cli_ok("token", "revoke", "admin").stdout.strip(),
                         "revoked admin")
        self.assertEqual(self.status(self.node.token, "GET", "/api/tasks"), 401)
        r = self.cli("token", "list")
        self.assertEqual(r.returncode, 1)
        self.assertEqual(sorted(self.tokens(token=root)), ["root"])
        r = self.cli("token", "revoke", "root", "--token", root)
        self.assertIn("last admin", r.stderr)
        self.finish()

    def test_tokens_survive_a_restart_and_secrets_stay_out_of_lineage_and_logs(self):
        viewer = self.make("v", "viewer")
        first = self.make("o", "operator")
        rotated = self.cli_ok("token", "rotate", "o").stdout.strip()
        self.assertEqual(self.node.stop(), 0, self.node.log()[-2000:])
        self.node.start()
        self.assertEqual(self.status(viewer, "GET", "/api/tasks"), 200)
        self.assertEqual(self.status(rotated, "GET", "/api/tasks"), 200)
        self.assertEqual(self.status(first, "GET", "/api/tasks"), 401)
        self.assertEqual(self.status(self.node.token, "GET", "/api/tokens"), 200)
        # No second admin token was made at the restart.
        self.assertEqual([p["kind"] for p in self.history("token:admin")],
                         ["token.created"])
        self.assertEqual(self.history("token:admin")[0]["payload"]["operator"], "node")
        # Neither a secret nor its hash is in the lineage or the node's logs.
        export = os.path.join(self.tmp, "lineage.ndjson")
        self.cli_ok("lineage", "export", "--to", export, "--data", self.node.data,
                    node=False)
        with open(export, encoding="utf-8") as f:
            lineage = f.read()
        self.assertIn("token.rotated", lineage)
        logs = ""
        for path in glob.glob(os.path.join(self.tmp, "node-*.log")):
            with open(path, encoding="utf-8", errors="replace") as f:
                logs += f.read()
        self.assertIn("token", logs)
        for secret in (viewer, first, rotated, self.node.token):
            for text in (secret, sha256_hex(secret)):
                self.assertNotIn(text, lineage)
                self.assertNotIn(text, logs)
        self.finish()

    def test_a_data_folder_with_only_a_token_file_gets_its_admin_token(self):
        # A data folder from before named tokens: the token file, no tokens.
        self.assertEqual(self.node.stop(), 0)
        root = os.path.join(self.tmp, "legacy")
        os.makedirs(os.path.join(root, "data"))
        legacy = "0123456789abcdef" * 4
        with open(os.path.join(root, "data", "token"), "w", encoding="utf-8") as f:
            f.write(legacy + "\n")
        self.node = Node(root, self.node_args)
        self.node.start()
        self.assertEqual(self.node.token, legacy)
        listed = self.tokens()
        self.assertEqual(sorted(listed), ["admin"])
        self.assertEqual(listed["admin"]["role"], "admin")
        self.assertEqual(listed["admin"]["created_by"], "node")
        self.assertEqual(self.status("not-it", "GET", "/api/tasks"), 401)
        self.finish()


if __name__ == "__main__":
    node_harness.main()
