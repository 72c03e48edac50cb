#!/usr/bin/env python3
"""Writes the seed inputs of the fuzz corpora (docs/fuzzing.md).

usage: tests/fuzz/make_seeds.py [SUITE]

SUITE is the official JSON Schema test suite (default:
../shared/json-schema-test-suite beside the repository). Seeds are small
inputs taken from the project's own test material: a few hundred schema and
instance pairs of the suite's draft 2020-12 tests (only pairs under 600
bytes), the example modules' module.json files, the shipped schemas, and
hand-written task requests and HTTP requests. Each seed is stored under
tests/fuzz/corpus/<target>/ named by the SHA-1 of its content, as libFuzzer
names what it adds, so running this again adds nothing twice. Nothing is
removed: the corpora keep what fuzzing found.
"""

import hashlib
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def write(target, data):
    if isinstance(data, str):
        data = data.encode()
    folder = os.path.join(HERE, "corpus", target)
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, hashlib.sha1(data).hexdigest())
    if not os.path.exists(path):
        with open(path, "wb") as f:
            f.write(data)


def compact(x):
    return json.dumps(x, separators=(",", ":"), ensure_ascii=False)


def suite_pairs(suite):
    tests = os.path.join(suite, "tests-draft2020-12")
    if not os.path.isdir(tests):
        print(f"make_seeds: no suite at {suite}; schema seeds skipped",
              file=sys.stderr)
        return []
    pairs = []
    for name in sorted(os.listdir(tests)):
        if not name.endswith(".json"):
            continue
        with open(os.path.join(tests, name), encoding="utf-8") as f:
            groups = json.load(f)
        for group in groups:
            schema = compact(group["schema"])
            for case in group["tests"]:
                data = compact(case["data"])
                if len(schema) + len(data) < 600:
                    pairs.append((schema, data))
    return pairs


def module_files():
    out = []
    modules = os.path.join(ROOT, "modules")
    for name in sorted(os.listdir(modules)):
        path = os.path.join(modules, name, "module.json")
        if os.path.isfile(path):
            with open(path, encoding="utf-8") as f:
                out.append(f.read())
    return out


def shipped_schemas():
    folder = os.path.join(ROOT, "contracts", "schemas")
    out = {}
    for name in sorted(os.listdir(folder)):
        with open(os.path.join(folder, name), encoding="utf-8") as f:
            out[name] = f.read()
    return out


VIDEO = "0b6f3c8e-2d4a-4f7b-9c1e-5a8d2f4b6c01"
PENDING = "7c2e9a41-6b3d-4e8f-a1c5-3d9b7e2f4a02"
AUDIO = "3a9d5e7f-1b2c-4d3e-8f4a-6b7c8d9e0f04"
FAILED = "9b1c2d3e-4f5a-4b6c-8d7e-8f9a0b1c2d06"
STRICT = "5e8f1a2b-3c4d-4e5f-9a6b-7c8d9e0f1a05"
URL = "3e4f5a6b-7c8d-4e9f-8a1b-2c3d4e5f6a09"
TEXT = "4f5a6b7c-8d9e-4f0a-9b2c-3d4e5f6a7b10"
JSON_VALUE = "6a7b8c9d-0e1f-4a2b-8c3d-4e5f6a7b8c11"
CLIP = "1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e07"
BAD_CLIP = "2d3e4f5a-6b7c-4d8e-9f0a-1b2c3d4e5f08"

REQUESTS = [
    {"module_ref": "face-detect@1", "input_mapping": {"source_video": VIDEO}},
    {"module_ref": "face-detect@1",
     "input_mapping": {"source_video": PENDING, "clip": CLIP},
     "values": {"threshold": 0.7, "speed": "accurate", "caption": "Hi",
                "callback": "https://example.com/x", "max_faces": 3,
                "flag": True, "name": "n", "options": {"k": 1, "tree": [1, [2, [3]]]}},
     "priority": 5, "idempotency_key": "upload-42",
     "trace_id": "2f1e0d9c-8b7a-4c6d-9e5f-4a3b2c1d0e08", "mode": "mock",
     "schema_version": "1.0.0"},
    {"module_id": "face-detect@1",
     "input_mapping": {"source_video": FAILED, "clip": BAD_CLIP,
                       "threshold": STRICT, "caption": TEXT, "callback": URL,
                       "options": JSON_VALUE},
     "values": {"threshold": 7, "speed": "slow", "caption": "lower case text",
                "max_faces": 0, "unknown": 1}},
    {"module_ref": "face-detect@1", "input_mapping": {"source_video": AUDIO},
     "values": {"candidate": {"start_time": 1, "end_time": 0.5}},
     "schema_version": "9.0.0"},
    {"module_ref": "other@2", "priority": -2147483648},
]

HTTP = [
    "GET /api/health HTTP/1.1\r\nHost: localhost\r\n\r\n",
    "GET /api/tasks?status=READY&limit=10 HTTP/1.1\r\nHost: a\r\n"
    "Authorization: Bearer 0123456789abcdef0123456789abcdef\r\n\r\n",
    "POST /api/tasks HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\n"
    "Authorization: bearer  0123456789abcdef0123456789abcdef \r\n"
    "Content-Length: 30\r\n\r\n{\"module_ref\":\"face-detect@1\"}",
    "POST /api/assets/value HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
    "Expect: 100-continue\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
    "GET /api/tasks/abc%2Fdef/files/out/x%20y.txt HTTP/1.0\r\n\r\n",
    "DELETE /api/assets/0b6f3c8e-2d4a-4f7b-9c1e-5a8d2f4b6c01 HTTP/1.1\r\n"
    "host: a\r\nX-A: 1\r\nx-a: 2\r\n\r\n",
    "GET /api/schemas/media.metadata%401?x=%zz HTTP/1.1\r\n\r\n",
    "PUT /api/tasks HTTP/1.1\r\nContent-Length: 99999999\r\n\r\n",
    "GET /api/lineage/verify HTTP/2.0\r\n\r\n",
]

JSON_EXTRA = [
    "18446744073709551616", "-9223372036854775809", "1e400", "-0", "0.1e-999",
    "\"\\ud83d\\ude00\\u0000\"", "\"\\udc00\"", "[" * 30 + "]" * 30,
    "{\"a\":1,\"a\":2}", "[1.5,-2e10,true,false,null,{}]", " \n\t[ ]\r\n",
]

SCHEMA_EXTRA = [
    ('{"anyOf":[{"$ref":"#"},{"$ref":"#"}]}', "1"),
    ('{"anyOf":[{"type":"integer","$ref":"#"},{"$ref":"#"}]}', "1"),
    ('{"$dynamicAnchor":"a","oneOf":[{"$dynamicRef":"#a"},{"$dynamicRef":"#a"}]}', "1"),
    ('{"if":{"$ref":"#"},"then":{"$ref":"#"}}', "1"),
    ('{"type":"array","items":{"$ref":"ClipCandidate.json"}}', "[{\"start_time\":1}]"),
    ('{"$ref":"EditJob.json"}', "{}"),
    ('{"properties":{"x":{"$ref":"#/$defs/d"}},"$defs":{"d":{"allOf":[{"$ref":"#/$defs/e"},{"$ref":"#/$defs/e"}]},"e":{"pattern":"^a+$","format":"date-time"}}}',
     "{\"x\":\"2026-11-21T05:30:27Z\"}"),
]


def main():
    suite = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        ROOT, "..", "shared", "json-schema-test-suite")
    pairs = suite_pairs(suite)
    # Every third pair keeps the corpus small and still covers each keyword.
    for schema, data in pairs[::3]:
        write("json_schema", schema + "\0" + data)
    for schema, data in SCHEMA_EXTRA:
        write("json_schema", schema + "\0" + data)
    seen = set()
    for _, data in pairs:
        if data not in seen and len(seen) < 120:
            seen.add(data)
            write("json", data)
    for text in JSON_EXTRA:
        write("json", text)
    modules = module_files()
    for text in modules:
        write("json", text)
        write("module_contract", text)
    shipped = shipped_schemas()
    for name, text in shipped.items():
        if len(text) < 4096:
            write("json", text)
    for request in REQUESTS:
        write("preflight", compact(request))
    for text in HTTP:
        write("http_request", text)
    # The fuzz_preflight contract, and a contract with every field, as
    # module.json texts.
    with open(os.path.join(HERE, "fuzz_preflight.cpp"), encoding="utf-8") as f:
        source = f.read()
    start = source.index('R"({') + 3
    write("module_contract", source[start:source.index('})"', start) + 1])


if __name__ == "__main__":
    main()
