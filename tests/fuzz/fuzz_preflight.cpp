// Fuzz target: pre-flight (contracts/preflight.hpp), docs/fuzzing.md.
//
// Input: the JSON text of a task request, as `POST /api/tasks` receives it.
// It is read as Zenith reads it (`task_request_from_json`) and checked
// against a fixed contract with one input of every sort and a fixed ledger
// (available, pending and failed files, values, JSON assets). Any request
// is accepted or refused with problems, without crashing or hanging, and
// an accepted one maps or values every input it names.

#include "contracts/json.hpp"
#include "contracts/messages.hpp"
#include "contracts/module_contract.hpp"
#include "contracts/preflight.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

namespace json = omniva::json;
using namespace omniva::contracts;

namespace {

[[noreturn]] void broken(const char* what) {
  std::fprintf(stderr, "fuzz_preflight: %s\n", what);
  std::abort();
}

/// One input of every sort: files with media types, a JSON asset with a
/// shipped schema, bounded numbers, an enum, a patterned text, a URL, JSON
/// values with an inline schema and with a shipped one.
constexpr const char* contract_text = R"({
  "name": "face-detect",
  "version": 1,
  "description": "Finds faces in a video.",
  "inputs": [
    {"key": "source_video", "contract_type": "ASSET",
     "constraints": {"media_types": ["video/mp4", "video/x-matroska"]}},
    {"key": "clip", "contract_type": "ASSET", "required": false,
     "constraints": {"media_types": ["application/json"],
                     "schema": "ClipCandidate"}},
    {"key": "threshold", "contract_type": "VALUE", "dtype": "float",
     "default": 0.5, "constraints": {"min": 0.1, "max": 1.0}},
    {"key": "speed", "contract_type": "VALUE", "dtype": "enum",
     "default": "fast", "constraints": {"enum": ["fast", "accurate"]}},
    {"key": "caption", "contract_type": "VALUE", "dtype": "text",
     "required": false,
     "constraints": {"pattern": "^[A-Z]", "max_length": 10}},
    {"key": "callback", "contract_type": "VALUE", "dtype": "url",
     "required": false},
    {"key": "max_faces", "contract_type": "VALUE", "dtype": "int",
     "required": false, "constraints": {"min": 1, "max": 100}},
    {"key": "flag", "contract_type": "VALUE", "dtype": "bool",
     "required": false},
    {"key": "name", "contract_type": "VALUE", "dtype": "string",
     "required": false},
    {"key": "options", "contract_type": "VALUE", "dtype": "json",
     "required": false,
     "constraints": {"schema": {"type": "object",
                                "properties": {"k": {"type": "integer"},
                                               "tree": {"$ref": "#/$defs/tree"}},
                                "required": ["k"],
                                "$defs": {"tree": {"type": "array",
                                                   "items": {"anyOf": [{"type": "integer"},
                                                                       {"$ref": "#/$defs/tree"}]}}}}}},
    {"key": "candidate", "contract_type": "VALUE", "dtype": "json",
     "required": false, "constraints": {"schema": "ClipCandidate"}}
  ],
  "outputs": [
    {"key": "faces_archive", "media_type": "application/zip"}
  ],
  "resources": {"cpu": 1, "memory_gb": 2, "gpu": false, "timeout_s": 600},
  "run": {"command": ["python3", "detect.py"]},
  "schema_version": "1.0.0"
})";

asset_record file(const char* id, const char* media_type, asset_status status) {
  asset_record x;
  x.asset_id = id;
  x.kind = asset_kind::file;
  x.media_type = media_type;
  x.status = status;
  if (status == asset_status::available)
    x.uri = "uploads/file";
  else
    x.produced_by = "e4d1b2c3-5a6f-4b7c-8d9e-0f1a2b3c4d03";
  x.created_at = "2026-11-21T05:30:27.077Z";
  return x;
}

asset_record value(const char* id, const char* dtype, std::string value_json) {
  asset_record x;
  x.asset_id = id;
  x.kind = asset_kind::value;
  x.dtype = dtype;
  x.status = asset_status::available;
  x.value_json = std::move(value_json);
  x.created_at = "2026-11-21T05:30:27.077Z";
  return x;
}

/// The contract and ledger every input is checked against (the ids are the
/// ones the seed requests use).
struct fixture {
  module_contract contract;
  asset_table table;

  fixture() {
    auto parsed = parse_module_contract(contract_text);
    if (!parsed)
      broken("the fixed contract does not parse");
    contract = *parsed.contract;
    using enum asset_status;
    table.add(file("0b6f3c8e-2d4a-4f7b-9c1e-5a8d2f4b6c01", "video/mp4", available));
    table.add(file("7c2e9a41-6b3d-4e8f-a1c5-3d9b7e2f4a02", "video/x-matroska", pending));
    table.add(file("3a9d5e7f-1b2c-4d3e-8f4a-6b7c8d9e0f04", "audio/mpeg", available));
    table.add(file("9b1c2d3e-4f5a-4b6c-8d7e-8f9a0b1c2d06", "video/mp4", failed));
    table.add(value("5e8f1a2b-3c4d-4e5f-9a6b-7c8d9e0f1a05", "float", "0.8"));
    table.add(value("3e4f5a6b-7c8d-4e9f-8a1b-2c3d4e5f6a09", "url", R"("https://example.com/hook")"));
    table.add(value("4f5a6b7c-8d9e-4f0a-9b2c-3d4e5f6a7b10", "text", R"("Hello")"));
    table.add(value("6a7b8c9d-0e1f-4a2b-8c3d-4e5f6a7b8c11", "json", R"({"k": 1, "tree": [1, [2]]})"));
    auto clip = file("1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e07", "application/json", available);
    clip.value_json = R"({"start_time": 1.5, "end_time": 4, "confidence": 0.9,
      "subject_focus": "guest", "faces_detected": 2, "semantic_tags": ["laugh"],
      "pantheon_votes": {"risk": 0.2}, "lattice_priority": 0.7})";
    table.add(clip);
    auto bad = file("2d3e4f5a-6b7c-4d8e-9f0a-1b2c3d4e5f08", "application/json", available);
    bad.value_json = R"({"start_time": 1, "end_time": 4, "confidence": 7})";
    table.add(bad);
  }
};

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const fixture f;
  std::string_view text{reinterpret_cast<const char*>(data), size};
  auto doc = json::parse(text);
  if (!doc)
    return 0;
  std::vector<problem> problems;
  auto request = task_request_from_json(*doc.doc, problems);
  if (!request) {
    if (problems.empty())
      broken("a refused request has no problem");
    return 0;
  }
  auto result = preflight(f.contract, *request, f.table.view());
  if (!result) {
    if (result.problems.empty())
      broken("pre-flight refused a request without a problem");
    return 0;
  }
  if (!result.problems.empty())
    broken("pre-flight accepted a request with problems");
  for (auto& [key, id] : request->input_mapping)
    if (f.contract.find_input(key) == nullptr)
      broken("pre-flight accepted an input the contract does not declare");
  for (auto& [key, value] : request->values)
    if (f.contract.find_input(key) == nullptr)
      broken("pre-flight accepted a value the contract does not declare");
  (void) json::serialize(to_json(*result.task));
  return 0;
}
