#!/usr/bin/env python3
"""Who did what, through a real node: every packet a request causes names the
token that asked (docs/storage.md, "Packets"; docs/operations.md, "Tokens and
roles").

Two named tokens, `alice` (operator) and `ops-admin` (admin), act on one node:
the packets of alice's upload, submission, cancellation (and the cancellations
it cascades to), priority change and asset deletion name `"operator":
"alice"`; the module registration names `ops-admin`; the node's own work
(dispatches, results, the modules loaded at start) names no one or `node`;
the node's log names the operator of each operator action.

Run: python3 tests/node_attribution_test.py build/runtime/omniva .
"""

import json
import os
import urllib.parse

import node_harness
from node_harness import *


class AttributionTest(NodeTestCase):
    node_args = ("--log-format", "json")

    def make(self, name, role):
        r = self.cli_ok("token", "create", name, "--role", role)
        return r.stdout.strip()

    def as_(self, token, method, path, body=None):
        status, doc, _ = self.http(method, path, body, token=token)
        self.assertLess(status, 300, f"{method} {path}: {doc}")
        return doc

    def operators(self, entity):
        """(kind, operator or None) of every packet in the history of `entity`."""
        return [(p["kind"], p["payload"].get("operator")) for p in self.history(entity)]

    def test_each_packet_a_request_causes_names_its_token(self):
        alice = self.make("alice", "operator")
        admin = self.make("ops-admin", "admin")
        # The admin registers the relay module (through the API, with its token).
        folder = os.path.join(self.tmp, "json_relay")
        os.makedirs(folder)
        with open(os.path.join(folder, "relay.py"), "w", encoding="utf-8") as f:
            f.write(RELAY_SCRIPT)
        status, doc, _ = self.http(
            "POST", "/api/modules?dir=" + urllib.parse.quote(folder),
            json.dumps(RELAY_CONTRACT).encode(), token=admin)
        self.assertEqual(status, 201, doc)
        self.assertEqual(self.operators("json-relay@1"),
                         [("module.registered", "ops-admin")])

        # alice adds a value and a file, and runs a task on the file.
        doc = self.as_(alice, "POST", "/api/assets/value",
                       {"value": {"n": 1}, "dtype": "json"})
        source = doc["asset_id"]
        self.assertEqual(self.operators(source), [("asset.registered", "alice")])
        path = self.write("doc.json", '{"x": 1}')
        doc = self.as_(alice, "POST", "/api/assets/path", {"path": path})
        first = self.as_(alice, "POST", "/api/tasks",
                         {"module_ref": "json-relay@1",
                          "input_mapping": {"source": doc["asset_id"]}})
        done = self.wait_finished(first["task_id"])
        self.assertEqual(done["status"], "DONE", done)
        kinds = self.operators(first["task_id"])
        self.assertEqual(kinds[0], ("task.created", "alice"))
        # The node's own work (routing, dispatch, the result) names no one.
        for kind, who in kinds[1:]:
            self.assertIsNone(who, (kind, kinds))

        # alice cancels a running task: its packet, and the failure it cascades
        # to (a task waiting on its output), name her.
        sleeper = self.as_(alice, "POST", "/api/tasks",
                           {"module_ref": "slow@1", "values": {"seconds": 1.8}})
        waiting = self.as_(alice, "POST", "/api/tasks", {
            "module_ref": "json-relay@1",
            "input_mapping": {"source": sleeper["outputs"]["result"]}})
        self.as_(alice, "POST", f"/api/tasks/{sleeper['task_id']}/cancel")
        ended = self.wait_finished(waiting["task_id"])
        self.assertEqual(ended["error"]["code"], "upstream_cancelled", ended)
        self.assertIn(("task.cancelled", "alice"), self.operators(sleeper["task_id"]))
        self.assertIn(("task.failed", "alice"), self.operators(waiting["task_id"]))

        # The admin changes the priority of alice's task.
        busy = self.as_(alice, "POST", "/api/tasks",
                        {"module_ref": "slow@1", "values": {"seconds": 1.8}})
        self.as_(admin, "POST", f"/api/tasks/{busy['task_id']}/priority", {"priority": 9})
        self.assertIn(("task.priority_changed", "ops-admin"),
                      self.operators(busy["task_id"]))
        self.wait_finished(busy["task_id"])

        # alice deletes the value she added.
        self.as_(alice, "DELETE", f"/api/assets/{source}")
        self.assertEqual(self.operators(source)[-1], ("asset.deleted", "alice"))

        # The modules loaded at start were registered by the node.
        self.assertEqual(self.operators("slow@1")[0], ("module.registered", "node"))

        # The node's log names the operator of each operator action.
        lines = [json.loads(l) for l in self.node.log().splitlines()
                 if l.startswith("{")]
        actions = {(l["event"], l.get("operator")) for l in lines
                   if l.get("event", "").startswith("operator.")}
        self.assertIn(("operator.module_register", "ops-admin"), actions)
        self.assertIn(("operator.asset_delete", "alice"), actions)
        self.assertIn(("operator.cancel", "alice"), actions)
        self.assertIn(("operator.priority", "ops-admin"), actions)
        self.assertIn(("operator.token_create", "admin"), actions)
        self.finish()


if __name__ == "__main__":
    node_harness.main()
