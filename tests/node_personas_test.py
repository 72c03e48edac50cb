#!/usr/bin/env python3
"""Pantheon's personas as registry entries `name@N` through a real node's
HTTP API, CLI and module folders (docs/engines.md, "Pantheon";
runtime/api_personas.cpp, runtime/cli_personas.cpp).

Usage: node_personas_test.py OMNIVA_BINARY REPO_DIR

- `GET /api/personas` lists the built-in `personas@1` (three agents) from
  the first start; `GET /api/personas/personas@1` shows its document.
- `POST /api/personas?ref=name@N` (the document as the body) answers 201
  with the personas as registered, the same document again 200, another
  document under the ref 409 `immutable_ref` (also for `personas@1`); a
  refused document is 422 with every problem and its pointer; a body that
  is no JSON or names a member twice, a missing or malformed ref, are 400.
  Unknown refs are 404. A viewer reads but cannot register. Each
  registration is one `personas.registered` packet (subject the ref).
- `omniva personas register FILE|--ref REF FILE`, `personas list`,
  `personas show REF` (every problem printed, exit 1 on a refusal).
- A pipeline's `select` by pantheon may name registered personas; an
  unknown ref is 422 `invalid_ref` at `/steps/N/for_each/select/personas`.
- A restart keeps them; a module folder's `personas/<name>@<N>.json` is
  registered at start before the folders' pipelines (which may name them),
  and a rescan reports each file as kind "personas".

The harness (a node per case, HTTP and CLI helpers) is tests/node_harness.py.
"""

import copy
import json
import os

import node_harness
from node_harness import *  # noqa: F401,F403 (the fixtures and NodeTestCase)

BOLD = {
    "description": "Chases what spreads (a test fixture).",
    "agents": [
        {"agent": "hype", "weight": 2, "features": {"virality": 0.7, "keyword": 0.3},
         "stance": "wants what spreads"},
        {"agent": "careful", "features": {"confidence": 1}},
    ],
}

def clips_with(personas, version=2, name="clips-voted"):
    """clips@1 (modules/pipelines) renamed, its select naming `personas`."""
    with open(os.path.join(node_harness.REPO, "modules", "pipelines", "clips@1.json"),
              encoding="utf-8") as f:
        doc = json.load(f)
    doc["name"], doc["version"] = name, version
    doc["steps"][2]["for_each"]["select"]["personas"] = personas
    return doc


class PersonasCase(NodeTestCase):

    def refused(self, answer, status, code, pointer=None):
        got, doc, _ = answer
        self.assertEqual(got, status, doc)
        self.assertEqual(doc["error"]["code"], code, doc)
        if pointer is not None:
            self.assertEqual(doc["error"]["pointer"], pointer, doc)
        return doc

    def post(self, ref, body, **kw):
        path = "/api/personas" + (f"?ref={ref}" if ref is not None else "")
        return self.http("POST", path, body, **kw)


class PersonasApiTest(PersonasCase):

    def test_personas_are_registered_listed_shown_and_kept(self):
        # The built-in personas@1, from the first start.
        listed = self.get_ok("/api/personas")
        self.assertEqual(listed["items"], [{
            "ref": "personas@1", "built_in": True,
            "agents": ["risk_mitigation", "exploratory_push", "trend_chasing"]}])
        self.assertIsNone(listed["next_cursor"])
        builtin = self.get_ok("/api/personas/personas@1")
        self.assertTrue(builtin["built_in"])
        agents = {a["agent"]: a for a in builtin["document"]["agents"]}
        self.assertEqual(agents["risk_mitigation"]["features"],
                         {"confidence": 0.5, "faces": 0.3, "relevance": 0.2})

        # Registered: 201, then the same document 200 (nothing new).
        status, doc, _ = self.post("bold@1", BOLD)
        self.assertEqual(status, 201, doc)
        self.assertEqual((doc["ref"], doc["built_in"]), ("bold@1", False))
        self.assertEqual(doc["document"], BOLD)
        status, again, _ = self.post("bold@1", BOLD)
        self.assertEqual(status, 200, again)
        self.assertEqual(again, doc)
        self.assertEqual(self.get_ok("/api/personas/bold@1"), doc)

        # A ref is immutable, the built-in one too.
        changed = copy.deepcopy(BOLD)
        changed["agents"][1]["weight"] = 3
        self.refused(self.post("bold@1", changed), 409, "immutable_ref", "/ref")
        doc = self.refused(self.post("personas@1", BOLD), 409, "immutable_ref", "/ref")
        self.assertIn("built in", doc["error"]["message"])

        # Every problem of a document, each with its pointer.
        bad = {"agents": [
            {"agent": "Loud", "features": {"virality": 1}},
            {"agent": "calm", "weight": -1, "features": {"charisma": 1}},
            {"agent": "mute", "features": {"confidence": 0}, "mood": "x"},
            {"features": {"faces": 1}}],
            "extra": 1}
        status, doc, _ = self.post("bad@1", bad)
        self.assertEqual(status, 422, doc)
        got = {(e["code"], e["pointer"]) for e in doc["errors"]}
        self.assertEqual(got, {
            ("unknown_field", "/extra"),
            ("invalid_argument", "/agents/0/agent"),
            ("invalid_argument", "/agents/1/weight"),
            ("invalid_argument", "/agents/1/features/charisma"),
            ("invalid_argument", "/agents/1/features"),
            ("unknown_field", "/agents/2/mood"),
            ("invalid_argument", "/agents/2/features"),
            ("missing_field", "/agents/3/agent"),
        }, doc)
        status, doc, _ = self.post("bad@1", {"agents": []})
        self.assertEqual((status, doc["errors"][0]["code"], doc["errors"][0]["pointer"]),
                         (422, "invalid_argument", "/agents"), doc)
        self.refused(self.post("bad@1", b"{not json"), 400, "invalid_json")
        self.refused(self.post("bad@1", b'{"agents": [], "agents": []}'), 400,
                     "duplicate_key", "/agents")
        self.refused(self.post(None, BOLD), 400, "missing_field", "/ref")
        self.refused(self.post("Bold", BOLD), 400, "invalid_ref", "/ref")
        self.refused(self.post("bold@0", BOLD), 400, "invalid_ref", "/ref")
        self.refused(self.http("GET", "/api/personas/bad@1"), 404, "not_found")
        self.refused(self.http("GET", "/api/personas?sort=ref"), 400, "invalid_filter",
                     "/sort")

        # One packet per registration, naming the ref and its agents.
        history = self.history("bold@1")
        self.assertEqual([p["kind"] for p in history], ["personas.registered"])
        said = history[0]["payload"]
        self.assertEqual((said["ref"], said["agents"]), ("bold@1", ["hype", "careful"]))

        # A page at a time, by ref.
        status, doc, _ = self.post("calm@2", {"agents": [
            {"agent": "calm", "features": {"confidence": 1}}]})
        self.assertEqual(status, 201, doc)
        page = self.get_ok("/api/personas?limit=2")
        self.assertEqual([p["ref"] for p in page["items"]], ["bold@1", "calm@2"])
        self.assertIsNotNone(page["next_cursor"])
        self.assertEqual([p["ref"] for p in self.items("/api/personas?limit=1")],
                         ["bold@1", "calm@2", "personas@1"])
        listed = {p["ref"]: p for p in self.items("/api/personas")}
        self.assertEqual(listed["bold@1"], {
            "ref": "bold@1", "built_in": False, "description": BOLD["description"],
            "agents": ["hype", "careful"]})

        # A pipeline may name registered personas, not unknown ones.
        status, doc, _ = self.http("POST", "/api/pipelines", clips_with("bold@1"))
        self.assertEqual(status, 201, doc)
        self.assertEqual(doc["pipeline"]["steps"][2]["for_each"]["select"]["personas"],
                         "bold@1")
        status, doc, _ = self.http("POST", "/api/pipelines", clips_with("ghost@1", 3))
        self.assertEqual(status, 422, doc)
        self.assertIn(("invalid_ref", "/steps/2/for_each/select/personas"),
                      [(e["code"], e["pointer"]) for e in doc["errors"]])

        # A viewer reads them, but cannot register.
        viewer = self.cli_ok("token", "create", "dash", "--role", "viewer").stdout.strip()
        for path in ("/api/personas", "/api/personas/bold@1"):
            status, doc = self.get(path, token=viewer)
            self.assertEqual(status, 200, f"{path}: {doc}")
        doc = self.refused(self.post("view@1", BOLD, token=viewer), 403, "forbidden")
        self.assertIn("'operator'", doc["error"]["message"])

        # A restart keeps them (and the pipeline naming them).
        self.assertEqual(self.node.stop(), 0)
        self.node.start()
        self.assertEqual(self.get_ok("/api/personas/bold@1")["document"], BOLD)
        self.assertEqual([p["ref"] for p in self.items("/api/personas")],
                         ["bold@1", "calm@2", "personas@1"])
        self.get_ok("/api/pipelines/clips-voted@2")
        self.refused(self.post("bold@1", changed), 409, "immutable_ref", "/ref")
        status, doc, _ = self.post("bold@1", BOLD)
        self.assertEqual(status, 200, doc)
        self.finish()

    def test_the_cli_registers_lists_and_shows_personas(self):
        path = self.write("bold@1.json", json.dumps(BOLD))
        r = self.cli_ok("personas", "register", path)
        self.assertEqual(r.stdout.strip(), "bold@1")
        # Again: the same content is accepted.
        self.assertEqual(self.cli_ok("personas", "register", path).stdout.strip(), "bold@1")
        # --ref for a file whose name is no ref.
        other = self.write("mine.json", json.dumps({"agents": [
            {"agent": "steady", "features": {"confidence": 0.6, "relevance": 0.4}}]}))
        r = self.cli("personas", "register", other)
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
        self.assertIn("--ref", r.stderr)
        self.assertEqual(self.cli_ok("personas", "register", "--ref", "steady@1",
                                     other).stdout.strip(), "steady@1")
        doc = self.cli_json("personas", "register", "--ref", "steady@1", other)
        self.assertEqual(doc["document"]["agents"][0]["agent"], "steady")

        # A refused document: every problem, exit 1.
        bad = self.write("bad@1.json", json.dumps({"agents": [
            {"agent": "x", "features": {"charisma": 1}},
            {"agent": "x", "features": {"faces": 1}}]}))
        r = self.cli("personas", "register", bad)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        out = r.stdout + r.stderr
        self.assertIn("/agents/0/features/charisma", out)
        self.assertIn("duplicate_key", out)
        self.assertIn("/agents/1/agent", out)
        changed = self.write("bold@1-changed.json", json.dumps({"agents": [
            {"agent": "x", "features": {"faces": 1}}]}))
        r = self.cli("personas", "register", "--ref", "bold@1", changed)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("immutable_ref", r.stdout + r.stderr)

        r = self.cli_ok("personas", "list")
        lines = r.stdout.splitlines()
        self.assertTrue(lines[0].split()[:3] == ["ref", "built_in", "agents"], r.stdout)
        self.assertEqual([l.split()[0] for l in lines[1:]],
                         ["bold@1", "personas@1", "steady@1"])
        self.assertIn("hype, careful", r.stdout)
        page = self.cli_json("personas", "list", "--limit", "1")
        self.assertEqual([p["ref"] for p in page["items"]], ["bold@1"])

        r = self.cli_ok("personas", "show", "bold@1")
        self.assertIn("Chases what spreads", r.stdout)
        self.assertIn("virality 0.7", r.stdout)
        self.assertIn("wants what spreads", r.stdout)
        r = self.cli_ok("personas", "show", "personas@1")
        self.assertIn("(built in)", r.stdout)
        self.assertIn("trend_chasing", r.stdout)
        self.assertEqual(self.cli_json("personas", "show", "bold@1")["document"], BOLD)
        r = self.cli("personas", "show", "nope@1")
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("not_found", r.stdout + r.stderr)
        self.finish()


class PersonasFolderTest(PersonasCase):

    def test_a_folder_personas_file_is_registered_at_start_before_pipelines(self):
        root = os.path.join(self.tmp, "extra")
        os.makedirs(os.path.join(root, "personas"))
        os.makedirs(os.path.join(root, "pipelines"))
        files = {
            "steady@1.json": json.dumps(BOLD),
            "broken@1.json": json.dumps({"agents": [{"agent": "x", "features": {"luck": 1}}]}),
            "junk@1.json": "{nope",
            "Not A Ref.json": "{}",
        }
        for name, text in files.items():
            with open(os.path.join(root, "personas", name), "w", encoding="utf-8") as f:
                f.write(text)
        # A pipeline in the same folders naming them: registered after them.
        with open(os.path.join(root, "pipelines", "clips-steady@1.json"), "w",
                  encoding="utf-8") as f:
            json.dump(clips_with("steady@1", version=1, name="clips-steady"), f)

        self.assertEqual(self.node.stop(), 0)
        self.node.extra_args += ["--modules", root]
        self.node.start()
        self.assertIn("registered personas steady@1", self.node.log())
        self.assertIn("registered pipeline clips-steady@1", self.node.log())
        shown = self.get_ok("/api/personas/steady@1")
        self.assertEqual(shown["document"], BOLD)
        self.assertEqual([p["ref"] for p in self.items("/api/personas")],
                         ["personas@1", "steady@1"])
        p = self.get_ok("/api/pipelines/clips-steady@1")
        self.assertEqual(p["steps"][2]["for_each"]["select"]["personas"], "steady@1")
        self.assertEqual([h["kind"] for h in self.history("steady@1")],
                         ["personas.registered"])

        # A rescan reports each file, the personas before the pipelines.
        status, report, _ = self.http("POST", "/api/modules/rescan")
        self.assertEqual(status, 200, report)
        kinds = [i["kind"] for i in report["items"] if i["ref"]]
        self.assertLess(max(i for i, k in enumerate(kinds) if k == "personas"),
                        kinds.index("pipeline"), kinds)
        items = {(i["ref"] or os.path.basename(i["source"])): i
                 for i in report["items"] if i["kind"] == "personas"}
        self.assertEqual(items["steady@1"]["outcome"], "unchanged", items)
        self.assertEqual(items["steady@1"]["source"],
                         os.path.join(root, "personas", "steady@1.json"))
        self.assertEqual(items["broken@1"]["outcome"], "refused", items)
        self.assertEqual((items["broken@1"]["error"]["code"],
                          items["broken@1"]["error"]["pointer"]),
                         ("invalid_argument", "/agents/0/features/luck"))
        self.assertEqual(items["junk@1"]["error"]["code"], "invalid_json", items)
        self.assertEqual(items["Not A Ref.json"]["outcome"], "refused", items)
        self.assertEqual(items["Not A Ref.json"]["error"]["code"], "invalid_ref")
        r = self.cli("module", "rescan")
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("unchanged\tpersonas\tsteady@1", r.stdout)
        self.refused(self.http("GET", "/api/personas/broken@1"), 404, "not_found")
        self.finish()


if __name__ == "__main__":
    node_harness.main()
