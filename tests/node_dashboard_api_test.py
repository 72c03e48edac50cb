#!/usr/bin/env python3
"""What the node serves the dashboard (docs/http-api.md, "Dashboard files",
"Pools", the Range rows of content): its files, confined to its folder and
never shadowing the API; range requests on an asset's content (media
elements seek); `GET /api/pools`.

Run: python3 tests/node_dashboard_api_test.py OMNIVA_BINARY REPO_DIR
"""

import base64
import hashlib
import http.client
import json
import os
import re
import shutil
import tempfile
import urllib.parse

import node_harness
from node_harness import NodeTestCase, wait_until

INDEX = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>t</title>
<script type="importmap">
{"imports": {"liba": "/vendor/liba/x.js"}}
</script>
<script type="module" src="/app.js"></script>
</head><body></body></html>
"""

# name -> (bytes, the Content-Type expected)
FILES = {
    "app.js": (b"export const x = 1;\n", "text/javascript"),
    "lib/util.mjs": (b"export default 2;\n", "text/javascript"),
    "style.css": (b"body { color: black; }\n", "text/css"),
    "data.json": (b'{"a": 1}\n', "application/json"),
    "icon.svg": (b"<svg xmlns='http://www.w3.org/2000/svg'/>\n", "image/svg+xml"),
    "pic.png": (b"\x89PNG\r\n\x1a\nfake", "image/png"),
    "favicon.ico": (b"\x00\x00\x01\x00", "image/x-icon"),
    "app.js.map": (b'{"version": 3}', "application/json"),
    "font.woff2": (b"wOF2fake", "font/woff2"),
}


def make_web(root):
    """A dashboard folder with a package.json listing one dependency and one
    devDependency, dotfiles and symbolic links; a secret beside it."""
    web = os.path.join(root, "web")
    os.makedirs(os.path.join(web, "lib"))
    with open(os.path.join(web, "index.html"), "w", encoding="utf-8") as f:
        f.write(INDEX)
    for name, (data, _) in FILES.items():
        with open(os.path.join(web, name), "wb") as f:
            f.write(data)
    with open(os.path.join(web, "package.json"), "w", encoding="utf-8") as f:
        json.dump({"name": "t", "dependencies": {"liba": "1.0.0"},
                   "devDependencies": {"devlib": "1.0.0"}}, f)
    for pkg, name in (("liba", "x.js"), ("devlib", "y.js")):
        os.makedirs(os.path.join(web, "node_modules", pkg, "dist"))
        with open(os.path.join(web, "node_modules", pkg, name), "w") as f:
            f.write(f"export const {pkg} = 1;\n")
        with open(os.path.join(web, "node_modules", pkg, "dist", "a.css"), "w") as f:
            f.write("p{}\n")
    with open(os.path.join(web, ".env"), "w") as f:
        f.write("SECRET=1\n")
    os.makedirs(os.path.join(web, "lib", ".git"))
    with open(os.path.join(web, "lib", ".git", "config"), "w") as f:
        f.write("x\n")
    with open(os.path.join(root, "secret.txt"), "w") as f:
        f.write("not for the browser\n")
    os.symlink(os.path.join(root, "secret.txt"), os.path.join(web, "escape.txt"))
    os.symlink(root, os.path.join(web, "up"))
    os.symlink(os.path.join(web, "app.js"), os.path.join(web, "alias.js"))
    return web


class WebTestCase(NodeTestCase):
    """A node serving a dashboard folder made for the case."""

    def setUp(self):
        self.webroot = tempfile.mkdtemp(prefix="omniva-web-")
        self.addCleanup(shutil.rmtree, self.webroot, True)
        self.web = make_web(self.webroot)
        self.node_args = ("--web", self.web)
        super().setUp()

    def raw(self, method, path, headers=None, token=None):
        """Sends `path` exactly as given; returns (status, headers, bytes)."""
        parts = urllib.parse.urlsplit(self.node.url)
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        self.addCleanup(conn.close)
        hdrs = dict(headers or {})
        if token:
            hdrs["Authorization"] = f"Bearer {token}"
        conn.request(method, path, headers=hdrs)
        resp = conn.getresponse()
        return resp.status, resp.headers, resp.read()

    def assert_not_found(self, path, method="GET"):
        status, headers, body = self.raw(method, path)
        self.assertEqual(status, 404, f"{method} {path}: {body[:200]!r}")
        self.assertTrue(headers["Content-Type"].startswith("application/json"), path)
        self.assertEqual(json.loads(body)["error"]["code"], "not_found", path)
        return json.loads(body)["error"]["message"]


class StaticFilesTest(WebTestCase):

    def test_the_page_and_its_files_with_their_types_and_no_token(self):
        status, headers, body = self.raw("GET", "/")
        self.assertEqual(status, 200)
        self.assertEqual(body.decode(), INDEX)
        self.assertEqual(headers["Content-Type"], "text/html; charset=utf-8")
        self.assertEqual(headers["Cache-Control"], "no-cache")
        self.assertEqual(headers["X-Content-Type-Options"], "nosniff")
        self.assertEqual(headers["Referrer-Policy"], "no-referrer")
        csp = headers["Content-Security-Policy"]
        # The import map, and only it, by its hash.
        inline = re.search(r'<script type="importmap">(.*?)</script>', INDEX, re.S).group(1)
        digest = base64.b64encode(hashlib.sha256(inline.encode()).digest()).decode()
        script_src = re.search(r"script-src ([^;]*)", csp).group(1).split()
        self.assertEqual(script_src, ["'self'", f"'sha256-{digest}'"], csp)
        # Styles of the node, and the one rule Cytoscape.js inserts.
        cy_rule = ".__________cytoscape_container { position: relative; }"
        cy_hash = base64.b64encode(hashlib.sha256(cy_rule.encode()).digest()).decode()
        self.assertIn(f"style-src 'self' 'sha256-{cy_hash}';", csp)
        self.assertNotIn("unsafe", csp)
        self.assertEqual(self.raw("GET", "/index.html")[2].decode(), INDEX)
        for name, (data, ctype) in FILES.items():
            status, headers, body = self.raw("GET", "/" + name)
            self.assertEqual(status, 200, name)
            self.assertEqual(body, data, name)
            self.assertEqual(headers["Content-Type"].split(";")[0], ctype, name)
            self.assertEqual(headers["Cache-Control"], "no-cache", name)
            self.assertNotIn("Content-Security-Policy", headers, name)
        # A symbolic link that stays inside the folder is followed.
        self.assertEqual(self.raw("GET", "/alias.js")[2], FILES["app.js"][0])
        self.finish()

    def test_an_etag_of_size_and_time_answers_304_until_the_file_changes(self):
        status, headers, _ = self.raw("GET", "/app.js")
        etag = headers["ETag"]
        self.assertRegex(etag, r'^"[0-9a-f]+-[0-9a-f]+"$')
        status, headers, body = self.raw("GET", "/app.js", {"If-None-Match": etag})
        self.assertEqual((status, body), (304, b""))
        self.assertEqual(headers["ETag"], etag)
        self.assertEqual(self.raw("GET", "/app.js", {"If-None-Match": f'"x", W/{etag}'})[0],
                         304)
        self.assertEqual(self.raw("GET", "/app.js", {"If-None-Match": '"other"'})[0], 200)
        with open(os.path.join(self.web, "app.js"), "wb") as f:
            f.write(b"export const x = 22;\n")
        status, headers, body = self.raw("GET", "/app.js", {"If-None-Match": etag})
        self.assertEqual((status, body), (200, b"export const x = 22;\n"))
        self.assertNotEqual(headers["ETag"], etag)
        self.finish()

    def test_only_the_dependencies_of_package_json_are_served_as_vendor(self):
        status, headers, body = self.raw("GET", "/vendor/liba/x.js")
        self.assertEqual((status, body), (200, b"export const liba = 1;\n"))
        self.assertTrue(headers["Content-Type"].startswith("text/javascript"))
        self.assertEqual(self.raw("GET", "/vendor/liba/dist/a.css")[0], 200)
        for path in ("/vendor/devlib/y.js", "/vendor/devlib/dist/a.css",
                     "/vendor/nothing/x.js", "/vendor/liba", "/vendor/liba/",
                     "/vendor/liba/missing.js",
                     "/node_modules/liba/x.js", "/node_modules/devlib/y.js",
                     "/lib/node_modules/x.js"):
            self.assert_not_found(path)
        self.finish()

    def test_traversal_dotfiles_and_symbolic_links_out_of_the_folder_are_refused(self):
        for path in ("/../secret.txt", "/%2e%2e/secret.txt", "/%2E%2E/secret.txt",
                     "/lib/../../secret.txt", "/lib/..%2f..%2fsecret.txt",
                     "/lib%2f..%2f..%2fsecret.txt", "/./app.js",
                     "/vendor/liba/../../../secret.txt",
                     "/vendor/liba/%2e%2e/%2e%2e/%2e%2e/secret.txt",
                     "/vendor/liba/..%2fdevlib%2fy.js", "/vendor/..%2fsecret.txt",
                     "/escape.txt", "/up/secret.txt", "/.env", "/lib/.git/config",
                     "/%2eenv", "/lib", "/lib/", "//app.js", "/app.js%00.png",
                     "/..%5csecret.txt"):
            message = self.assert_not_found(path)
            self.assertNotIn(self.webroot, message)
        self.finish()

    def test_the_api_keeps_its_404_and_405_answers(self):
        for method, path in (("GET", "/api/nope"), ("POST", "/api/nope"),
                             ("GET", "/api"), ("GET", "/api/"), ("GET", "/metrics/x"),
                             ("DELETE", "/api/tasks/x/y/z"), ("PUT", "/nothing"),
                             ("GET", "/api/%2e%2e/app.js")):
            message = self.assert_not_found(path, method)
            self.assertIn("There is no endpoint at", message)
        # A known path with another method: 405, whose Allow gains nothing.
        status, headers, body = self.raw("PUT", "/api/tasks")
        self.assertEqual(status, 405, body)
        self.assertEqual(sorted(m.strip() for m in headers["Allow"].split(",")),
                         ["GET", "POST"])
        status, headers, body = self.raw("PUT", "/api/quarantines/pool:x")
        self.assertEqual((status, headers["Allow"]), (405, "DELETE"), body)
        # The API still wants its token; with it, it answers as before.
        self.assertEqual(self.raw("GET", "/api/tasks")[0], 401)
        self.assertEqual(self.raw("GET", "/metrics")[0], 401)
        self.assertEqual(self.raw("GET", "/api/tasks", token=self.node.token)[0], 200)
        self.finish()


class NoDashboardTest(NodeTestCase):
    node_args = ("--web", "none")

    def test_a_node_without_a_dashboard_says_so(self):
        status, doc, _ = self.http("GET", "/", token=None)
        self.assertEqual(status, 404)
        self.assertEqual(doc["error"]["code"], "not_found")
        self.assertIn("without a dashboard", doc["error"]["message"])
        status, doc, _ = self.http("GET", "/app.js", token=None)
        self.assertEqual(status, 404)
        self.assertEqual(doc["error"]["code"], "not_found")
        self.finish()


class ShippedDashboardTest(NodeTestCase):
    """The node's own dashboard (the source tree's web/, the default)."""

    def test_every_entry_of_the_import_map_and_every_stylesheet_loads(self):
        status, page, headers = self.http("GET", "/", token=None)
        self.assertEqual(status, 200)
        imports = json.loads(re.search(r'<script type="importmap">(.*?)</script>',
                                       page, re.S).group(1))["imports"]
        sheets = re.findall(r'<link rel="stylesheet" href="([^"]+)"', page)
        modules = re.findall(r'<script type="module" src="([^"]+)"', page)
        self.assertIn("preact", imports)
        for url in list(imports.values()) + sheets + modules:
            status, body, h = self.http("GET", url, token=None)
            self.assertEqual(status, 200, url)
            want = "text/css" if url.endswith(".css") else "text/javascript"
            self.assertTrue(h["Content-Type"].startswith(want), (url, h["Content-Type"]))
        with open(os.path.join(node_harness.REPO, "web", "package.json")) as f:
            dev = json.load(f).get("devDependencies", {})
        for pkg in dev:
            if os.path.exists(os.path.join(node_harness.REPO, "web", "node_modules",
                                           pkg, "package.json")):
                status, _, _ = self.http("GET", f"/vendor/{pkg}/package.json", token=None)
                self.assertEqual(status, 404, pkg)
        self.finish()


class RangeTest(NodeTestCase):
    """`GET /api/assets/{id}/content` with `Range`."""

    def upload(self, data):
        status, doc, _ = self.http("POST", "/api/assets/upload?label=blob", data,
                                   headers={"Content-Type": "application/octet-stream"})
        self.assertEqual(status, 201, doc)
        return doc["asset_id"]

    def content(self, asset_id, **headers):
        parts = urllib.parse.urlsplit(self.node.url)
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
        self.addCleanup(conn.close)
        hdrs = {k.replace("_", "-"): v for k, v in headers.items()}
        hdrs["Authorization"] = f"Bearer {self.node.token}"
        conn.request("GET", f"/api/assets/{asset_id}/content", headers=hdrs)
        resp = conn.getresponse()
        return resp.status, resp.headers, resp.read()

    def test_ranges_of_a_small_file(self):
        data = os.urandom(1000)
        asset_id = self.upload(data)
        etag = '"' + hashlib.sha256(data).hexdigest() + '"'
        status, h, body = self.content(asset_id)
        self.assertEqual((status, body, h["Accept-Ranges"], h["ETag"]),
                         (200, data, "bytes", etag))
        cases = (("bytes=0-99", 0, 99), ("bytes=900-", 900, 999), ("bytes=-10", 990, 999),
                 ("bytes=-5000", 0, 999), ("bytes=995-2000", 995, 999),
                 ("bytes=10-10", 10, 10), ("bytes=0-0, 5-9", 0, 0), ("BYTES=3-4", 3, 4), ("bytes= 7 - 8 ", 7, 8))
        for spec, first, last in cases:
            status, h, body = self.content(asset_id, Range=spec)
            self.assertEqual(status, 206, spec)
            self.assertEqual(h["Content-Range"], f"bytes {first}-{last}/1000", spec)
            self.assertEqual(body, data[first:last + 1], spec)
            self.assertEqual(h["Accept-Ranges"], "bytes", spec)
            self.assertEqual(h["ETag"], etag, spec)
        for spec in ("bytes=1000-", "bytes=5000-6000", "bytes=-0"):
            status, h, body = self.content(asset_id, Range=spec)
            self.assertEqual(status, 416, spec)
            self.assertEqual(h["Content-Range"], "bytes */1000", spec)
            self.assertEqual(json.loads(body)["error"]["code"], "invalid_argument")
        # Malformed or other units: the whole file.
        for spec in ("bytes=x-y", "bytes=5-2", "items=0-1", "bytes=", "bytes=--1"):
            status, h, body = self.content(asset_id, Range=spec)
            self.assertEqual((status, len(body)), (200, 1000), spec)
        # If-Range: the range holds only for the same content.
        status, _, body = self.content(asset_id, Range="bytes=0-9", If_Range=etag)
        self.assertEqual((status, body), (206, data[:10]))
        status, _, body = self.content(asset_id, Range="bytes=0-9", If_Range='"other"')
        self.assertEqual((status, body), (200, data))
        status, _, body = self.content(asset_id, Range="bytes=0-9",
                                       If_Range="Wed, 21 Oct 2015 07:28:00 GMT")
        self.assertEqual((status, body), (200, data))
        # If-None-Match with its ETag: 304.
        status, h, body = self.content(asset_id, If_None_Match=etag)
        self.assertEqual((status, body, h["ETag"]), (304, b"", etag))
        self.finish()

    def test_ranges_of_a_large_file_come_in_pieces_a_player_can_follow(self):
        size = 9 * 1024 * 1024 + 17
        data = os.urandom(size)
        asset_id = self.upload(data)
        # Open-ended from 0: at most 8 MiB, the Content-Range says how much.
        status, h, body = self.content(asset_id, Range="bytes=0-")
        self.assertEqual(status, 206)
        cap = 8 * 1024 * 1024
        self.assertEqual(h["Content-Range"], f"bytes 0-{cap - 1}/{size}")
        self.assertEqual(body, data[:cap])
        # A player asks for the rest.
        status, h, body = self.content(asset_id, Range=f"bytes={cap}-")
        self.assertEqual((status, h["Content-Range"]), (206, f"bytes {cap}-{size - 1}/{size}"))
        self.assertEqual(body, data[cap:])
        status, h, body = self.content(asset_id, Range="bytes=9000000-9000099")
        self.assertEqual((status, body), (206, data[9000000:9000100]))
        status, h, body = self.content(asset_id, Range="bytes=-3")
        self.assertEqual((status, h["Content-Range"], body),
                         (206, f"bytes {size - 3}-{size - 1}/{size}", data[-3:]))
        # Without Range: the whole file, streamed as before.
        status, h, body = self.content(asset_id)
        self.assertEqual((status, len(body), h["Transfer-Encoding"]), (200, size, "chunked"))
        self.assertEqual(body, data)
        self.finish()

    def test_a_value_and_missing_assets_answer_as_before(self):
        status, doc, _ = self.http("POST", "/api/assets/value",
                                   {"value": {"n": 1}, "dtype": "json"})
        status, h, body = self.content(doc["asset_id"], Range="bytes=0-1")
        self.assertEqual((status, json.loads(body)), (200, {"n": 1}))
        status, h, body = self.content("00000000-0000-4000-8000-000000000000",
                                       Range="bytes=0-1")
        self.assertEqual(status, 404)
        self.finish()


class PoolsTest(NodeTestCase):
    node_args = ("--pool", "default:1:2:1", "--pool", "big:3:8:32:gpu")

    def pools(self, token="node"):
        status, doc, _ = self.http("GET", "/api/pools", token=token)
        self.assertEqual(status, 200, doc)
        return {p["name"]: p for p in doc["items"]}

    def test_pools_with_their_slots_resources_and_health(self):
        pools = self.pools()
        self.assertEqual(set(pools), {"default", "big"})
        big = pools["big"]
        self.assertEqual(big, {"name": "big", "workers": 3, "slots_total": 3,
                               "slots_free": 3, "running": 0, "queued": 0,
                               "resources": {"cpu": 8, "memory_gb": 32, "gpu": True},
                               "health": "ok", "quarantine": None, "location": "local"})
        self.assertEqual(pools["default"]["resources"],
                         {"cpu": 2, "memory_gb": 1, "gpu": False})
        # A viewer reads them; no token, no pools.
        viewer = self.cli_ok("token", "create", "dash", "--role", "viewer").stdout.strip()
        self.assertEqual(set(self.pools(token=viewer)), {"default", "big"})
        status, doc, _ = self.http("GET", "/api/pools", token=None)
        self.assertEqual(status, 401)
        status, doc, _ = self.http("GET", "/api/pools?x=1")
        self.assertEqual(status, 400, doc)
        # An operator quarantines a pool: it shows as such, then is released.
        status, doc, _ = self.http("POST", "/api/quarantines",
                                   {"pool": "big", "reason": "maintenance"})
        self.assertEqual(status, 201, doc)
        big = self.pools()["big"]
        self.assertEqual(big["health"], "quarantined")
        self.assertEqual(big["quarantine"]["target"], "pool:big")
        self.assertEqual(big["quarantine"]["reason"], "maintenance")
        self.assertEqual(self.pools()["default"]["health"], "ok")
        status, doc, _ = self.http("DELETE", "/api/quarantines/pool:big")
        self.assertEqual(status, 200, doc)
        big = self.pools()["big"]
        self.assertEqual((big["health"], big["quarantine"]), ("ok", None))
        self.finish()

    def test_running_and_queued_follow_the_work(self):
        # talker@1 fits both pools; quarantine big so both go to default (1 slot).
        ref = self.register_talker()
        status, doc, _ = self.http("POST", "/api/quarantines", {"pool": "big"})
        self.assertEqual(status, 201, doc)
        gate = os.path.join(self.tmp, "gate")
        a = self.submit(ref, values={"gate": gate})
        b = self.submit(ref, values={"gate": gate})

        def busy():
            p = self.pools()["default"]
            return p if (p["running"], p["queued"]) == (1, 1) else None
        p = wait_until(busy, 20, "one task running and one queued in pool default")
        self.assertEqual((p["slots_free"], p["slots_total"]), (0, 1))
        self.assertEqual(self.pools()["big"]["running"], 0)
        with open(gate, "w") as f:
            f.write("go")
        for t in (a, b):
            self.assertEqual(self.wait_finished(t["task_id"], 30)["status"], "DONE")
        p = self.pools()["default"]
        self.assertEqual((p["running"], p["queued"], p["slots_free"]), (0, 0, 1))
        self.finish()


if __name__ == "__main__":
    node_harness.main()
