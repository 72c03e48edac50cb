#define BOOST_TEST_MODULE contracts_schema_example
#include <boost/test/unit_test.hpp>

// Example instances of JSON Schemas (what the mock adapter writes for JSON
// outputs): valid for the shipped schemas, deterministic per seed, and
// following refs, enums, bounds and formats.

#include "contracts/json.hpp"
#include "contracts/json_schema.hpp"
#include "contracts/schema_catalog.hpp"
#include "contracts/schema_example.hpp"

using namespace omniva;
using contracts::example_instance;

namespace {

json::value parse_json(const std::string& text) {
  auto parsed = json::parse(text);
  BOOST_REQUIRE_MESSAGE(parsed, "not JSON: " << text);
  return *parsed.doc;
}

} // namespace

BOOST_AUTO_TEST_CASE(example_instances_satisfy_the_shipped_schemas) {
  auto& catalog = contracts::schema_catalog::shipped();
  for (auto& name : {"ClipCandidate", "AnalysisResult", "ScraperJob", "UploadJob",
                     "EditJob", "ScheduleTask", "envelope", "task_request"}) {
    auto* doc = catalog.document(name);
    BOOST_REQUIRE_MESSAGE(doc, name);
    auto instance = example_instance(*doc, "seed");
    auto problems = contracts::validate_core_document(name, instance);
    BOOST_CHECK_MESSAGE(problems.empty(),
                        name << ": " << json::serialize(instance) << " -> "
                             << (problems.empty() ? "" : to_string(problems.front())));
  }
}

BOOST_AUTO_TEST_CASE(example_instances_follow_refs_enums_bounds_and_formats) {
  auto schema = parse_json(R"({
    "$defs": {"id": {"type": "string", "format": "uuid"},
              "level": {"enum": ["low", "high"]}},
    "type": "object",
    "required": ["id", "level", "at", "count", "ratio", "name", "tags", "kind", "hex"],
    "properties": {
      "id": {"$ref": "#/$defs/id"},
      "level": {"$ref": "#/$defs/level"},
      "at": {"type": "string", "format": "date-time"},
      "count": {"type": "integer", "minimum": 3, "maximum": 9},
      "ratio": {"type": "number", "exclusiveMinimum": 0, "maximum": 0.5},
      "name": {"type": "string", "minLength": 12, "maxLength": 12},
      "tags": {"type": "array", "items": {"type": "string"}, "minItems": 2, "uniqueItems": true},
      "kind": {"const": "clip"},
      "hex": {"type": "string", "pattern": "^[0-9a-f]{64}$"}
    },
    "additionalProperties": false
  })");
  auto compiled = contracts::schema_catalog::shipped().compile_inline(schema);
  BOOST_REQUIRE(compiled);
  auto a = example_instance(schema, "one");
  BOOST_CHECK_MESSAGE(compiled.schema->validate(a).valid, json::serialize(a));
  BOOST_CHECK(example_instance(schema, "one") == a);
  BOOST_CHECK(example_instance(schema, "two") != a);
  BOOST_CHECK_EQUAL(a.find("kind")->as_string(), "clip");
  BOOST_CHECK_EQUAL(*a.find("count")->as_int64(), 3);
}
