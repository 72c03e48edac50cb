#!/usr/bin/env python3
"""Browser sessions through a real node (docs/http-api.md, "Sessions").

A token's secret or the one-time login code `omniva serve` prints is
exchanged (POST /api/session) for an HttpOnly, SameSite=Strict cookie that
the API accepts beside the bearer header: for reads, for the event stream
and for an asset's content, which a browser fetches without headers. A
viewer's session changes nothing; a request that changes something with the
cookie from another origin is refused; logging out, revoking or rotating the
token ends the session; a code opens one session, once; bad bodies are 400
with the pointer of the member at fault.

Run: python3 tests/node_session_test.py build/runtime/omniva .
"""

import re
import socket
import time
import urllib.parse

import node_harness
from node_harness import *

LINK = re.compile(r"omniva: dashboard at (http://127\.0\.0\.1:(\d+)/) - one-time login link: "
                  r"(http://127\.0\.0\.1:(\d+)/#login=([0-9a-f]{32}))\n")
COOKIE = re.compile(r"^omniva_session=([0-9a-f]{64}); Path=/; HttpOnly; SameSite=Strict; "
                    r"Max-Age=(\d+)$")
TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


class SessionTest(NodeTestCase):

    # -- helpers ---------------------------------------------------------------

    def origin(self):
        return self.node.url  # "http://127.0.0.1:PORT", the Host urllib sends

    def login(self, body, status=200, max_age=(6 * 86400, 7 * 86400)):
        """POSTs `body` to /api/session without a token; returns (doc, session id).
        The cookie must live `max_age` (low, high) seconds: as long as the
        session may (7 days at most)."""
        got, doc, headers = self.http("POST", "/api/session", body, token=None,
                                      headers={"Origin": self.origin()})
        self.assertEqual(got, status, doc)
        if status != 200:
            self.assertIsNone(headers.get("Set-Cookie"), doc)
            return doc, None
        self.assertEqual(headers.get("Cache-Control"), "no-store")
        match = COOKIE.match(headers.get("Set-Cookie", ""))
        self.assertTrue(match, headers.get("Set-Cookie"))
        self.assertGreaterEqual(int(match.group(2)), max_age[0])
        self.assertLessEqual(int(match.group(2)), max_age[1])
        self.assertEqual(set(doc), {"name", "role", "expires_at", "via"})
        self.assertRegex(doc["expires_at"], TIME)
        return doc, match.group(1)

    def login_token(self, secret):
        return self.login({"token": secret})[1]

    def with_cookie(self, sid, method, path, body=None, origin="same", headers=None):
        """A request carrying the session cookie (and no bearer token)."""
        hdrs = dict(headers or {})
        hdrs["Cookie"] = f"theme=dark; omniva_session={sid}"
        if origin == "same":
            hdrs["Origin"] = self.origin()
        elif origin is not None:
            hdrs["Origin"] = origin
        return self.http(method, path, body, token=None, headers=hdrs)

    def make_token(self, name, role):
        r = self.cli_ok("token", "create", name, "--role", role)
        return r.stdout.strip()

    def assert_error(self, answer, status, code, pointer=None):
        got, doc, _ = answer
        self.assertEqual(got, status, doc)
        self.assertEqual(doc["error"]["code"], code, doc)
        if pointer is not None:
            self.assertEqual(doc["error"]["pointer"], pointer, doc)

    def open_stream(self, cookie):
        """GET /api/events with only `cookie`; returns (status line, socket, rest)."""
        parts = urllib.parse.urlsplit(self.node.url)
        sock = socket.create_connection((parts.hostname, parts.port), timeout=10)
        self.addCleanup(sock.close)
        sock.sendall((f"GET /api/events HTTP/1.1\r\nHost: {parts.netloc}\r\n"
                      f"Cookie: {cookie}\r\nAccept: text/event-stream\r\n\r\n").encode())
        buf = b""
        while b"\r\n\r\n" not in buf:
            chunk = sock.recv(4096)
            self.assertTrue(chunk, f"the event stream closed: {buf!r}")
            buf += chunk
        head, rest = buf.split(b"\r\n\r\n", 1)
        return head.decode().split("\r\n")[0], sock, rest

    # -- cases -------------------------------------------------------------------

    def test_serve_prints_a_one_time_login_link_whose_code_opens_one_session(self):
        match = wait_until(lambda: LINK.search(self.node.log()), 10, "the login link")
        self.assertEqual(match.group(1), self.node.url + "/")
        self.assertEqual(match.group(2), match.group(4))
        self.assertEqual(self.node.url, f"http://127.0.0.1:{match.group(2)}")
        # Printed right after the listening line.
        lines = self.node.log().splitlines()
        at = [i for i, l in enumerate(lines) if "node listening on" in l][0]
        self.assertTrue(lines[at + 1].startswith("omniva: dashboard at "), lines[at + 1])
        code = match.group(5)
        doc, sid = self.login({"code": code})
        self.assertEqual((doc["name"], doc["role"], doc["via"]), ("admin", "admin", "cookie"))
        # Once only.
        doc, _ = self.login({"code": code}, status=401)
        self.assertEqual(doc["error"]["code"], "unauthorized")
        self.assertEqual(doc["error"]["pointer"], "/code")
        self.assert_error(self.http("POST", "/api/session", {"code": "0" * 32}, token=None),
                          401, "unauthorized", "/code")
        # The session it opened works.
        status, doc, _ = self.with_cookie(sid, "GET", "/api/session")
        self.assertEqual(status, 200, doc)
        self.assertEqual((doc["name"], doc["role"], doc["via"]), ("admin", "admin", "cookie"))
        self.finish()

    def test_a_token_logs_in_and_the_cookie_opens_reads_events_and_content(self):
        sid = self.login_token(self.node.token)
        # Without anything: 401; with the cookie: the same as the bearer.
        self.assert_error(self.http("GET", "/api/tasks", token=None), 401, "unauthorized")
        status, doc, _ = self.with_cookie(sid, "GET", "/api/tasks", origin=None)
        self.assertEqual(status, 200, doc)
        self.assertEqual(doc, self.get_ok("/api/tasks"))
        status, doc, _ = self.with_cookie(sid, "GET", "/api/session", origin=None)
        self.assertEqual((status, doc["name"], doc["via"]), (200, "admin", "cookie"))
        # A bearer token answers as itself (no expiry: the admin never expires).
        status, doc, _ = self.http("GET", "/api/session")
        self.assertEqual(status, 200, doc)
        self.assertEqual(doc, {"name": "admin", "role": "admin", "expires_at": None,
                               "via": "bearer"})
        self.assert_error(self.http("GET", "/api/session", token=None), 401, "unauthorized")

        # The event stream, as EventSource opens it: the cookie only.
        line, _, _ = self.open_stream("omniva_session=" + "0" * 64)
        self.assertIn(" 401 ", line)
        line, sock, rest = self.open_stream(f"omniva_session={sid}")
        self.assertIn(" 200 ", line)
        status, value, _ = self.http("POST", "/api/assets/value",
                                     {"value": {"a": 1}, "dtype": "json"})
        self.assertEqual(status, 201, value)
        seen = None
        for event, data in self.next_events(sock, rest, time.monotonic() + 10):
            if event == "asset.registered" and data["subject"] == value["asset_id"]:
                seen = data
                break
        self.assertIsNotNone(seen, "the cookie's event stream did not show the new asset")

        # An asset's bytes, as <img>/<video> fetch them: the cookie only.
        status, up, _ = self.http("POST", "/api/assets/upload?filename=a.txt"
                                  "&media_type=text/plain", b"hello, browser\n")
        self.assertEqual(status, 201, up)
        path = f"/api/assets/{up['asset_id']}/content"
        self.assert_error(self.http("GET", path, token=None), 401, "unauthorized")
        status, body, headers = self.with_cookie(sid, "GET", path, origin=None)
        self.assertEqual(status, 200, body)
        self.assertEqual(body, "hello, browser\n")
        self.assertTrue(headers["Content-Type"].startswith("text/plain"))
        status, body, _ = self.with_cookie(sid, "GET", f"/api/assets/{value['asset_id']}/content",
                                           origin=None)
        self.assertEqual((status, body), (200, {"a": 1}))

        # A bearer token still decides when both are sent: a wrong one is 401.
        status, doc, _ = self.http("GET", "/api/tasks", token="omv_" + "0" * 64,
                                   headers={"Cookie": f"omniva_session={sid}"})
        self.assertEqual(status, 401, doc)
        status, doc, _ = self.http("GET", "/api/tasks",
                                   headers={"Cookie": "omniva_session=" + "1" * 64})
        self.assertEqual(status, 200, doc)
        self.finish()

    def test_a_viewers_session_reads_and_changes_nothing(self):
        viewer = self.make_token("dash", "viewer")
        doc, sid = self.login({"token": viewer})
        self.assertEqual((doc["name"], doc["role"]), ("dash", "viewer"))
        for path in ("/api/tasks", "/api/assets", "/api/modules", "/api/tasks/counts"):
            status, doc, _ = self.with_cookie(sid, "GET", path)
            self.assertEqual(status, 200, (path, doc))
        slow = {"module_ref": "slow@1", "input_mapping": {}, "values": {"seconds": 0}}
        status, doc, _ = self.with_cookie(sid, "POST", "/api/tasks", slow)
        self.assertEqual(status, 403, doc)
        self.assertEqual(doc["error"]["code"], "forbidden")
        self.assertIn("'operator'", doc["error"]["message"])
        self.assertIn("'dash'", doc["error"]["message"])
        status, doc, _ = self.with_cookie(sid, "POST", "/api/assets/value",
                                          {"value": 1, "dtype": "int"})
        self.assertEqual(status, 403, doc)
        self.assertEqual(self.get_ok("/api/tasks/counts")["total"], 0)
        self.assertEqual(self.get_ok("/api/assets")["items"], [])
        # An operator's session works, from the dashboard's own origin.
        ops = self.make_token("ops", "operator")
        sid = self.login_token(ops)
        status, doc, _ = self.with_cookie(sid, "POST", "/api/tasks", slow)
        self.assertIn(status, (200, 201), doc)
        # What a session does is the token's doing.
        created = [p for p in self.history(doc["task_id"]) if p["kind"] == "task.created"]
        self.assertEqual(created[0]["payload"].get("operator"), "ops")
        self.finish()

    def test_a_cookie_from_another_origin_changes_nothing(self):
        sid = self.login_token(self.node.token)
        body = {"value": 7, "dtype": "int"}
        for origin in ("http://evil.example", "null",
                       self.origin().replace("127.0.0.1", "localhost"),
                       self.origin() + "0"):
            status, doc, _ = self.with_cookie(sid, "POST", "/api/assets/value", body,
                                              origin=origin)
            self.assertEqual(status, 403, (origin, doc))
            self.assertEqual(doc["error"]["code"], "forbidden")
        status, doc, _ = self.with_cookie(sid, "DELETE", "/api/tokens/admin",
                                          origin="http://evil.example")
        self.assertEqual(status, 403, doc)
        self.assertEqual(self.get_ok("/api/assets")["items"], [])
        # Reads are not refused (a GET changes nothing), nor is a bearer token.
        status, doc, _ = self.with_cookie(sid, "GET", "/api/assets",
                                          origin="http://evil.example")
        self.assertEqual(status, 200, doc)
        status, doc, _ = self.http("POST", "/api/assets/value", body,
                                   headers={"Origin": "http://evil.example"})
        self.assertEqual(status, 201, doc)
        # Without an Origin (not a browser's cross-origin request) and from
        # the own origin, the session works.
        for origin in (None, "same"):
            status, doc, _ = self.with_cookie(sid, "POST", "/api/assets/value", body,
                                              origin=origin)
            self.assertEqual(status, 201, doc)
        # Logging in or out from another origin is refused too.
        self.assert_error(self.http("POST", "/api/session", {"token": self.node.token},
                                    token=None, headers={"Origin": "http://evil.example"}),
                          403, "forbidden")
        status, doc, _ = self.with_cookie(sid, "DELETE", "/api/session",
                                          origin="http://evil.example")
        self.assertEqual(status, 403, doc)
        status, doc, _ = self.with_cookie(sid, "GET", "/api/session")
        self.assertEqual(status, 200, doc)
        self.finish()

    def test_logout_revocation_and_rotation_end_sessions(self):
        sid = self.login_token(self.node.token)
        other = self.login_token(self.node.token)
        self.assertNotEqual(sid, other)
        status, doc, headers = self.with_cookie(sid, "DELETE", "/api/session")
        self.assertEqual((status, doc), (200, {"ended": True}))
        self.assertEqual(headers["Set-Cookie"],
                         "omniva_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0")
        self.assert_error(self.with_cookie(sid, "GET", "/api/tasks"), 401, "unauthorized")
        status, doc, _ = self.with_cookie(sid, "DELETE", "/api/session")
        self.assertEqual((status, doc), (200, {"ended": False}))
        # The other session goes on.
        self.assertEqual(self.with_cookie(other, "GET", "/api/tasks")[0], 200)

        # Revoking a token ends its sessions.
        ops = self.make_token("ops", "operator")
        s1, s2 = self.login_token(ops), self.login_token(ops)
        self.assertEqual(self.with_cookie(s1, "GET", "/api/tasks")[0], 200)
        self.cli_ok("token", "revoke", "ops")
        for s in (s1, s2):
            self.assert_error(self.with_cookie(s, "GET", "/api/tasks"), 401, "unauthorized")
        # A new token of the same name does not revive them.
        self.make_token("ops", "operator")
        self.assert_error(self.with_cookie(s1, "GET", "/api/tasks"), 401, "unauthorized")

        # Rotating a token ends the sessions of its old secret.
        dash = self.make_token("dash", "viewer")
        s3 = self.login_token(dash)
        self.assertEqual(self.with_cookie(s3, "GET", "/api/tasks")[0], 200)
        status, doc, _ = self.http("POST", "/api/tokens/dash/rotate")
        self.assertEqual(status, 200, doc)
        self.assert_error(self.with_cookie(s3, "GET", "/api/tasks"), 401, "unauthorized")
        self.login({"token": dash}, status=401)
        s4 = self.login_token(doc["secret"])
        self.assertEqual(self.with_cookie(s4, "GET", "/api/tasks")[0], 200)
        # A token's expiry ends its sessions, and the answer says when.
        r = self.cli_ok("token", "create", "brief", "--role", "viewer", "--expires", "3s")
        doc, s5 = self.login({"token": r.stdout.strip()}, max_age=(1, 3))
        listed = {t["name"]: t for t in self.get_ok("/api/tokens")["items"]}
        self.assertEqual(doc["expires_at"], listed["brief"]["expires_at"])
        self.assertEqual(self.with_cookie(s5, "GET", "/api/tasks")[0], 200)
        wait_until(lambda: self.with_cookie(s5, "GET", "/api/tasks")[0] == 401, 10,
                   "the expired token's session to end")
        self.finish()

    def test_bad_login_bodies_are_refused_with_pointers(self):
        def post(body):
            data = body if isinstance(body, bytes) else None
            return self.http("POST", "/api/session", data if data is not None else body,
                             token=None)
        self.assert_error(post({"token": "omv_" + "0" * 64}), 401, "unauthorized", "/token")
        self.assert_error(post({"token": ""}), 401, "unauthorized", "/token")
        self.assert_error(post(b"{"), 400, "invalid_json", "")
        self.assert_error(post(b""), 400, "invalid_json", "")
        self.assert_error(post([1]), 400, "type_mismatch", "")
        self.assert_error(post({"token": 1}), 400, "type_mismatch", "/token")
        self.assert_error(post({"code": None}), 400, "type_mismatch", "/code")
        self.assert_error(post({"token": self.node.token, "remember": True}), 400,
                          "unknown_field", "/remember")
        self.assert_error(post({}), 400, "missing_field", "/token")
        self.assert_error(post({"token": self.node.token, "code": "x"}), 400,
                          "invalid_argument", "/code")
        self.assert_error(post(b'{"token": "a", "token": "b"}'), 400, "duplicate_key")
        # None of them made a session: nothing opens with what was not given.
        self.assert_error(self.http("GET", "/api/session", token=None), 401, "unauthorized")
        self.finish()


if __name__ == "__main__":
    node_harness.main()
