#define BOOST_TEST_MODULE json_schema
#include <boost/test/unit_test.hpp>

#include "contracts/json_schema.hpp"

#include <filesystem>
#include <fstream>
#include <string>
#include <unistd.h>

using namespace omniva;
using namespace omniva::contracts;

namespace {

json::value doc(std::string_view text) {
  auto r = json::parse(text);
  BOOST_REQUIRE_MESSAGE(r, "test JSON does not parse: " << text);
  return std::move(*r.doc);
}

std::shared_ptr<const compiled_schema>
compile(std::string_view schema, const schema_options& opts = {}) {
  schema_registry registry;
  auto r = compile_schema(doc(schema), registry, opts);
  BOOST_REQUIRE_MESSAGE(r, "schema does not compile: "
                             << (r.errors.empty() ? "" : r.errors[0].message));
  return r.schema;
}

std::vector<schema_error> compile_errors(std::string_view schema) {
  schema_registry registry;
  auto r = compile_schema(doc(schema), registry);
  BOOST_REQUIRE(!r);
  return r.errors;
}

bool has_error(const std::vector<schema_error>& errors,
               std::string_view instance_location,
               std::string_view keyword_location) {
  for (auto& e : errors)
    if (e.instance_location == instance_location
        && e.keyword_location == keyword_location)
      return true;
  return false;
}

bool has_keyword(const std::vector<schema_error>& errors,
                 std::string_view keyword_location) {
  for (auto& e : errors)
    if (e.keyword_location == keyword_location)
      return true;
  return false;
}

} // namespace

// -- error output ---------------------------------------------------------------

BOOST_AUTO_TEST_CASE(every_error_is_reported_with_instance_and_keyword_location) {
  auto s = compile(R"({
    "type": "object",
    "required": ["name"],
    "properties": {
      "age": {"type": "integer", "minimum": 0},
      "tags": {"type": "array", "items": {"type": "string"}}
    },
    "additionalProperties": false
  })");
  auto r = s->validate_text(R"({"age": -1, "tags": ["a", 2], "extra": true})");
  BOOST_TEST(!r.valid);
  BOOST_TEST(r.errors.size() == 4u);
  BOOST_TEST(has_error(r.errors, "", "/required"));
  BOOST_TEST(has_error(r.errors, "/age", "/properties/age/minimum"));
  BOOST_TEST(has_error(r.errors, "/tags/1", "/properties/tags/items/type"));
  BOOST_TEST(has_error(r.errors, "/extra", "/additionalProperties"));
}

BOOST_AUTO_TEST_CASE(keyword_location_follows_refs) {
  auto s = compile(R"({
    "$defs": {"positive": {"type": "number", "exclusiveMinimum": 0}},
    "properties": {"n": {"$ref": "#/$defs/positive"}}
  })");
  auto r = s->validate_text(R"({"n": 0})");
  BOOST_TEST(!r.valid);
  BOOST_REQUIRE_EQUAL(r.errors.size(), 1u);
  BOOST_TEST(r.errors[0].instance_location == "/n");
  BOOST_TEST(r.errors[0].keyword_location == "/properties/n/$ref/exclusiveMinimum");
}

BOOST_AUTO_TEST_CASE(pointer_tokens_are_escaped) {
  auto s = compile(R"({"additionalProperties": {"type": "string"}})");
  auto r = s->validate_text(R"({"a/b~c": 1})");
  BOOST_REQUIRE_EQUAL(r.errors.size(), 1u);
  BOOST_TEST(r.errors[0].instance_location == "/a~1b~0c");
}

BOOST_AUTO_TEST_CASE(flag_output_gives_the_verdict_only) {
  auto s = compile(R"({"type": "string"})");
  auto r = s->validate_text("42", output::flag);
  BOOST_TEST(!r.valid);
  BOOST_TEST(r.errors.empty());
  BOOST_TEST(s->validate_text(R"("x")", output::flag).valid);
}

BOOST_AUTO_TEST_CASE(a_passing_anyof_branch_discards_the_errors_of_the_others) {
  auto s = compile(R"({"anyOf": [{"type": "string"}, {"type": "integer"}]})");
  auto ok = s->validate_text("3");
  BOOST_TEST(ok.valid);
  BOOST_TEST(ok.errors.empty());
  auto bad = s->validate_text("true");
  BOOST_TEST(!bad.valid);
  BOOST_TEST(has_keyword(bad.errors, "/anyOf"));
}

BOOST_AUTO_TEST_CASE(oneof_with_two_matches_says_so) {
  auto s = compile(R"({"oneOf": [{"minimum": 1}, {"maximum": 10}]})");
  auto r = s->validate_text("5");
  BOOST_TEST(!r.valid);
  BOOST_REQUIRE_EQUAL(r.errors.size(), 1u);
  BOOST_TEST(r.errors[0].message.find("2 of the oneOf") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(text_that_is_not_json_is_a_parse_error) {
  auto s = compile("{}");
  auto r = s->validate_text(R"({"a": )");
  BOOST_TEST(!r.valid);
  BOOST_REQUIRE(r.parse_error.has_value());
  BOOST_TEST(r.parse_error->find("invalid JSON") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(validating_a_value_in_memory_matches_validating_its_text) {
  auto s = compile(R"({"properties": {"x": {"const": [1, {"a": null}]}}})");
  BOOST_TEST(s->validate(doc(R"({"x": [1.0, {"a": null}]})")).valid);
  BOOST_TEST(!s->validate(doc(R"({"x": [1, {"a": 0}]})")).valid);
}

// -- formats --------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(formats_assert_by_default) {
  auto s = compile(R"({"properties": {
    "id": {"format": "uuid"}, "at": {"format": "date-time"},
    "url": {"format": "uri"}, "ip": {"format": "ipv4"}}})");
  BOOST_TEST(s->validate_text(R"({"id": "3b241101-e2bb-4255-8caf-4136c566a962",
    "at": "2026-11-21T05:30:27.077Z", "url": "https://example.com/a?b#c",
    "ip": "127.0.0.1"})").valid);
  auto r = s->validate_text(R"({"id": "3b241101", "at": "2026-13-01T00:00:00Z",
    "url": "no scheme", "ip": "256.1.1.1"})");
  BOOST_TEST(r.errors.size() == 4u);
  BOOST_TEST(has_error(r.errors, "/at", "/properties/at/format"));
}

BOOST_AUTO_TEST_CASE(formats_only_annotate_when_asked) {
  schema_options opts;
  opts.format_assertion = false;
  auto s = compile(R"({"format": "uuid"})", opts);
  BOOST_TEST(s->validate_text(R"("not a uuid")").valid);
}

BOOST_AUTO_TEST_CASE(unknown_formats_are_accepted) {
  auto s = compile(R"({"format": "color"})");
  BOOST_TEST(s->validate_text(R"("anything")").valid);
}

// -- references -----------------------------------------------------------------

BOOST_AUTO_TEST_CASE(recursive_schemas_validate_recursive_documents) {
  auto s = compile(R"({
    "type": "object",
    "properties": {"children": {"type": "array", "items": {"$ref": "#"}}},
    "additionalProperties": false
  })");
  BOOST_TEST(s->validate_text(R"({"children": [{"children": [{}]}, {}]})").valid);
  auto r = s->validate_text(R"({"children": [{"children": [{"x": 1}]}]})");
  BOOST_TEST(!r.valid);
  BOOST_TEST(has_error(r.errors, "/children/0/children/0/x",
                       "/properties/children/items/$ref/properties/children/items/$ref/additionalProperties"));
}

BOOST_AUTO_TEST_CASE(a_ref_cycle_that_consumes_nothing_is_a_schema_error) {
  // Every instance would recurse forever: refused when compiled, at the
  // $ref that closes the cycle.
  auto errors = compile_errors(R"({"$defs": {"a": {"$ref": "#/$defs/b"},
                                             "b": {"$ref": "#/$defs/a"}},
                                   "$ref": "#/$defs/a"})");
  BOOST_REQUIRE_EQUAL(errors.size(), 1u);
  BOOST_TEST(errors[0].keyword_location == "/$defs/a/$ref");
  BOOST_TEST(errors[0].message.find("recurses without end") != std::string::npos);
}

// A cycle through two branches doubled the work per level: `anyOf` of two
// `$ref: "#"` against 1 ran past 10 s and 3 GiB before it hit the depth limit.
BOOST_AUTO_TEST_CASE(two_branch_ref_cycles_are_schema_errors) {
  for (auto schema : {R"({"anyOf": [{"$ref": "#"}, {"$ref": "#"}]})",
                      R"({"oneOf": [{"$ref": "#"}, {"$ref": "#"}]})",
                      R"({"allOf": [{"$ref": "#"}, {"$ref": "#"}]})",
                      R"({"not": {"$ref": "#"}})",
                      R"({"$ref": "#"})"}) {
    BOOST_TEST_CONTEXT(schema) {
      auto errors = compile_errors(schema);
      BOOST_REQUIRE(!errors.empty());
      BOOST_TEST(errors[0].message.find("recurses without end")
                 != std::string::npos);
    }
  }
  auto errors = compile_errors(R"({"if": {"$ref": "#"}, "then": {"$ref": "#"}})");
  BOOST_TEST(has_keyword(errors, "/if/$ref"));
}

namespace {

/// Validates `text` both ways and requires the validation to stop as too
/// complex, with one error saying why; returns the `basic` result.
validation_result require_too_complex(const compiled_schema& s,
                                      std::string_view text,
                                      std::string_view why) {
  auto flag = s.validate_text(text, output::flag);
  BOOST_TEST(!flag.valid);
  BOOST_TEST(flag.too_complex);
  auto basic = s.validate_text(text);
  BOOST_TEST(!basic.valid);
  BOOST_TEST(basic.too_complex);
  BOOST_REQUIRE_EQUAL(basic.errors.size(), 1u);
  BOOST_TEST(basic.errors[0].too_complex);
  BOOST_TEST(basic.errors[0].message.find(why) != std::string::npos,
             basic.errors[0].message);
  return basic;
}

} // namespace

// Cycles that depend on the instance compile, and stop the validation as
// soon as a reference re-enters a schema at the same instance location.
BOOST_AUTO_TEST_CASE(instance_dependent_ref_cycles_stop_the_validation) {
  for (auto schema :
       {R"({"anyOf": [{"type": "integer", "$ref": "#"}, {"$ref": "#"}]})",
        R"({"oneOf": [{"type": "integer", "$ref": "#"}, {"$ref": "#"}]})",
        R"({"allOf": [{"type": "integer", "$ref": "#"}, {"$ref": "#"}]})",
        R"({"if": {"type": "integer", "$ref": "#"}, "then": {"$ref": "#"}})",
        R"({"not": {"type": "integer", "$ref": "#"}})"}) {
    BOOST_TEST_CONTEXT(schema) {
      auto s = compile(schema);
      require_too_complex(*s, "1", "re-enters");
    }
  }
}

BOOST_AUTO_TEST_CASE(dynamic_ref_cycles_stop_the_validation) {
  for (auto schema :
       {R"({"$dynamicAnchor": "a",
            "anyOf": [{"$dynamicRef": "#a"}, {"$dynamicRef": "#a"}]})",
        R"({"$dynamicAnchor": "a",
            "oneOf": [{"$dynamicRef": "#a"}, {"$dynamicRef": "#a"}]})",
        R"({"$dynamicAnchor": "a",
            "allOf": [{"$dynamicRef": "#a"}, {"$dynamicRef": "#a"}]})",
        R"({"$dynamicAnchor": "a",
            "if": {"$dynamicRef": "#a"}, "then": {"$dynamicRef": "#a"}})"}) {
    BOOST_TEST_CONTEXT(schema) {
      auto s = compile(schema);
      auto r = require_too_complex(*s, "1", "$dynamicRef at #/");
      BOOST_TEST(r.errors[0].instance_location == "");
    }
  }
}

BOOST_AUTO_TEST_CASE(a_cycle_reports_where_the_instance_was) {
  auto s = compile(R"({"properties": {"x": {"$ref": "#/$defs/loop"}},
                       "$defs": {"loop": {"anyOf": [{"type": "string"},
                                                    {"type": "integer", "$ref": "#/$defs/loop"}]}}})");
  BOOST_TEST(s->validate_text(R"({"x": "fine"})").valid);
  auto r = require_too_complex(*s, R"({"x": 1})", "re-enters #/$defs/loop");
  BOOST_TEST(r.errors[0].instance_location == "/x");
}

BOOST_AUTO_TEST_CASE(a_cycle_under_not_is_no_verdict) {
  // The depth limit failed the innermost evaluation and each `not` flipped
  // it: the verdict depended on the parity of the limit.
  auto s = compile(R"({"not": {"type": "integer", "$ref": "#"}})");
  require_too_complex(*s, "1", "re-enters");
  BOOST_TEST(s->validate_text(R"("text")").valid);
}

BOOST_AUTO_TEST_CASE(recursion_that_consumes_the_instance_is_not_a_cycle) {
  // The same schema re-entered below the location where it was entered.
  auto s = compile(R"({"anyOf": [{"type": "integer"},
                                 {"type": "array", "items": {"$ref": "#"}},
                                 {"type": "object",
                                  "additionalProperties": {"$ref": "#"}}]})");
  BOOST_TEST(s->validate_text(R"([1, [2, {"a": [3, {"b": 4}]}]])").valid);
  auto r = s->validate_text(R"([1, [2, {"a": [3, {"b": "x"}]}]])");
  BOOST_TEST(!r.valid);
  BOOST_TEST(!r.too_complex);
}

namespace {

/// A schema whose `d0` evaluates `d1` twice, `d1` evaluates `d2` twice, ...
/// down to `d<levels>`, an integer: 2^levels evaluations, and no cycle.
std::string doubling_chain(int levels) {
  std::string defs;
  for (int i = 0; i < levels; ++i) {
    auto next = R"({"$ref": "#/$defs/d)" + std::to_string(i + 1) + R"("})";
    defs += R"("d)" + std::to_string(i) + R"(": {"allOf": [)" + next + ", "
            + next + "]}, ";
  }
  defs += R"("d)" + std::to_string(levels) + R"(": {"type": "integer"})";
  return R"({"$defs": {)" + defs + R"(}, "$ref": "#/$defs/d0"})";
}

} // namespace

BOOST_AUTO_TEST_CASE(branches_that_multiply_without_a_cycle_run_out_of_budget) {
  require_too_complex(*compile(doubling_chain(40)), "1", "evaluation steps");
  // Ten levels (a few thousand evaluations) are well within the budget.
  auto small = compile(doubling_chain(10));
  BOOST_TEST(small->validate_text("1").valid);
  BOOST_TEST(!small->validate_text("1.5").valid);
}

BOOST_AUTO_TEST_CASE(the_budget_grows_with_the_document) {
  schema_options opts;
  opts.max_evaluations = 100;
  opts.evaluations_per_byte = 0;
  auto s = compile(R"({"type": "array", "items": {"type": "integer"}})", opts);
  BOOST_TEST(s->validate_text("[1, 2, 3]").valid);
  std::string big = "[0";
  for (int i = 1; i < 200; ++i)
    big += ", " + std::to_string(i);
  big += "]";
  require_too_complex(*s, big, "evaluation steps");
  opts.evaluations_per_byte = 4;
  BOOST_TEST(compile(R"({"type": "array", "items": {"type": "integer"}})", opts)
               ->validate_text(big).valid);
}

BOOST_AUTO_TEST_CASE(the_number_of_errors_kept_is_bounded) {
  std::string required;
  for (int i = 0; i < 3000; ++i)
    required += (i ? ", \"p" : "\"p") + std::to_string(i) + "\"";
  auto s = compile("{\"required\": [" + required + "]}");
  auto r = s->validate_text("{}");
  BOOST_TEST(!r.valid);
  BOOST_TEST(!r.too_complex);
  BOOST_TEST(r.errors.size() == 1000u);
}

BOOST_AUTO_TEST_CASE(a_huge_enum_makes_a_short_message) {
  std::string values;
  for (int i = 0; i < 1000; ++i)
    values += (i ? ", \"" : "\"") + std::string(100, 'a' + i % 26) + "\"";
  auto s = compile("{\"enum\": [" + values + "]}");
  auto r = s->validate_text("1");
  BOOST_REQUIRE_EQUAL(r.errors.size(), 1u);
  BOOST_TEST(r.errors[0].message.size() < 600u);
}

BOOST_AUTO_TEST_CASE(external_refs_resolve_through_the_registry) {
  schema_registry registry;
  registry.add("https://example.com/defs.json",
               doc(R"({"$defs": {"id": {"type": "string", "minLength": 3}}})"));
  auto r = compile_schema(
    doc(R"({"$id": "https://example.com/root.json",
            "properties": {"id": {"$ref": "defs.json#/$defs/id"}}})"),
    registry);
  BOOST_REQUIRE(r);
  BOOST_TEST(r.schema->validate_text(R"({"id": "abc"})").valid);
  BOOST_TEST(!r.schema->validate_text(R"({"id": "ab"})").valid);
}

BOOST_AUTO_TEST_CASE(the_registry_loader_is_asked_for_unknown_uris_once) {
  schema_registry registry;
  int calls = 0;
  registry.set_loader([&](std::string_view uri) -> std::optional<json::value> {
    ++calls;
    if (uri == "urn:example:int")
      return json::value{json::object{{"type", "integer"}}};
    return std::nullopt;
  });
  auto r = compile_schema(doc(R"({"items": {"$ref": "urn:example:int"},
                                  "contains": {"$ref": "urn:example:int"}})"),
                          registry);
  BOOST_REQUIRE(r);
  BOOST_TEST(calls == 1);
  BOOST_TEST(!r.schema->validate_text(R"([1, "x"])").valid);
}

// The shipped catalog's registry, shared by every inline schema the node
// compiles, kept an entry for every unknown URI any schema named.
BOOST_AUTO_TEST_CASE(a_registry_without_a_loader_remembers_no_unknown_uri) {
  schema_registry registry;
  registry.add("urn:example:known", doc(R"({"type": "integer"})"));
  for (int i = 0; i < 100; ++i) {
    auto r = compile_schema(
      doc(R"({"$ref": "urn:example:unknown-)" + std::to_string(i) + R"("})"),
      registry);
    BOOST_TEST(!r.errors.empty());
  }
  BOOST_TEST(registry.size() == 1u);
  BOOST_TEST(registry.find("urn:example:known") != nullptr);
}

BOOST_AUTO_TEST_CASE(anchors_and_ids_are_reference_targets) {
  auto s = compile(R"({
    "$id": "https://example.com/a.json",
    "properties": {"x": {"$ref": "#pos"}, "y": {"$ref": "b.json"}},
    "$defs": {
      "pos": {"$anchor": "pos", "minimum": 0},
      "b": {"$id": "b.json", "type": "string"}
    }
  })");
  BOOST_TEST(s->validate_text(R"({"x": 1, "y": "s"})").valid);
  BOOST_TEST(!s->validate_text(R"({"x": -1})").valid);
  BOOST_TEST(!s->validate_text(R"({"y": 1})").valid);
}

BOOST_AUTO_TEST_CASE(dynamic_refs_resolve_in_the_dynamic_scope) {
  // A generic list whose item type the extending schema chooses.
  schema_registry registry;
  registry.add("https://example.com/list.json", doc(R"({
    "$id": "https://example.com/list.json",
    "$dynamicAnchor": "item",
    "type": "array",
    "items": {"$dynamicRef": "#item"},
    "$defs": {"item": {"$dynamicAnchor": "item"}}
  })"));
  auto r = compile_schema(doc(R"({
    "$id": "https://example.com/strings.json",
    "$ref": "list.json",
    "$defs": {"item": {"$dynamicAnchor": "item", "type": "string"}}
  })"), registry);
  BOOST_REQUIRE(r);
  BOOST_TEST(r.schema->validate_text(R"(["a", "b"])").valid);
  BOOST_TEST(!r.schema->validate_text(R"(["a", 1])").valid);
}

// -- unevaluated ----------------------------------------------------------------

BOOST_AUTO_TEST_CASE(unevaluated_properties_sees_through_applicators) {
  auto s = compile(R"({
    "allOf": [{"properties": {"a": true}}],
    "if": {"required": ["b"]}, "then": {"properties": {"b": true}},
    "unevaluatedProperties": false
  })");
  BOOST_TEST(s->validate_text(R"({"a": 1, "b": 2})").valid);
  auto r = s->validate_text(R"({"a": 1, "c": 3})");
  BOOST_TEST(!r.valid);
  BOOST_TEST(has_error(r.errors, "/c", "/unevaluatedProperties"));
}

BOOST_AUTO_TEST_CASE(unevaluated_items_counts_prefix_and_contains) {
  auto s = compile(R"({"prefixItems": [{"type": "integer"}],
                       "contains": {"type": "string"},
                       "unevaluatedItems": false})");
  BOOST_TEST(s->validate_text(R"([1, "a", "b"])").valid);
  BOOST_TEST(!s->validate_text(R"([1, "a", true])").valid);
}

// -- numbers --------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(multiple_of_with_decimals) {
  auto s = compile(R"({"multipleOf": 0.01})");
  BOOST_TEST(s->validate_text("19.99").valid);
  BOOST_TEST(s->validate_text("0.07").valid);
  BOOST_TEST(!s->validate_text("0.075").valid);
  auto i = compile(R"({"type": "integer", "multipleOf": 0.123456789})");
  BOOST_TEST(!i->validate_text("1e308").valid);
}

BOOST_AUTO_TEST_CASE(integers_beyond_64_bits_are_numbers_and_integers) {
  auto s = compile(R"({"type": "integer", "maximum": 1e30})");
  BOOST_TEST(s->validate_text("123456789012345678901234567890").valid);
  BOOST_TEST(!s->validate_text("12345678901234567890123456789012345").valid);
  BOOST_TEST(compile(R"({"const": 1e20})")->validate_text("100000000000000000000").valid);
}

BOOST_AUTO_TEST_CASE(integer_accepts_integral_floats) {
  auto s = compile(R"({"type": "integer"})");
  BOOST_TEST(s->validate_text("1.0").valid);
  BOOST_TEST(!s->validate_text("1.5").valid);
}

// -- strings and arrays ---------------------------------------------------------

BOOST_AUTO_TEST_CASE(lengths_count_code_points) {
  auto s = compile(R"({"maxLength": 2})");
  BOOST_TEST(s->validate_text(R"("💩💩")").valid);
  BOOST_TEST(!s->validate_text(R"("abc")").valid);
}

BOOST_AUTO_TEST_CASE(patterns_are_unanchored_and_unicode) {
  auto s = compile(R"({"pattern": "^\\p{Letter}+$"})");
  BOOST_TEST(s->validate_text(R"("héllo")").valid);
  BOOST_TEST(!s->validate_text(R"("a1")").valid);
  BOOST_TEST(compile(R"({"pattern": "b"})")->validate_text(R"("abc")").valid);
}

BOOST_AUTO_TEST_CASE(unique_items_compares_deeply_for_large_arrays) {
  auto s = compile(R"({"uniqueItems": true})");
  std::string many = "[";
  for (int i = 0; i < 100; ++i)
    many += "{\"k\": " + std::to_string(i) + "},";
  auto unique = many;
  unique.back() = ']';
  BOOST_TEST(s->validate_text(unique).valid);
  auto dup = many + "{\"k\": 42.0}]";
  BOOST_TEST(!s->validate_text(dup).valid);
}

BOOST_AUTO_TEST_CASE(property_names_validate_keys_as_strings) {
  auto s = compile(R"({"propertyNames": {"pattern": "^[a-z_]+$", "maxLength": 5}})");
  BOOST_TEST(s->validate_text(R"({"ab_c": 1})").valid);
  auto r = s->validate_text(R"({"Bad": 1, "toolong": 2})");
  BOOST_TEST(!r.valid);
  BOOST_TEST(r.errors.size() >= 2u);
}

// -- schemas that are not well formed -------------------------------------------

BOOST_AUTO_TEST_CASE(a_malformed_schema_reports_every_problem) {
  auto errors = compile_errors(R"({
    "type": "strnig",
    "minimum": "3",
    "required": ["a", "a"],
    "maxLength": -1,
    "multipleOf": 0,
    "properties": {"x": 5},
    "allOf": [],
    "$ref": "#/nowhere"
  })");
  BOOST_TEST(has_keyword(errors, "/type"));
  BOOST_TEST(has_keyword(errors, "/minimum"));
  BOOST_TEST(has_keyword(errors, "/required/1"));
  BOOST_TEST(has_keyword(errors, "/maxLength"));
  BOOST_TEST(has_keyword(errors, "/multipleOf"));
  BOOST_TEST(has_keyword(errors, "/properties/x"));
  BOOST_TEST(has_keyword(errors, "/allOf"));
  BOOST_TEST(has_keyword(errors, "/$ref"));
}

BOOST_AUTO_TEST_CASE(a_pattern_re2_cannot_run_is_a_schema_error) {
  auto errors = compile_errors(R"({"pattern": "(a)\\1"})");
  BOOST_REQUIRE_EQUAL(errors.size(), 1u);
  BOOST_TEST(errors[0].keyword_location == "/pattern");
  BOOST_TEST(errors[0].message.find("RE2") != std::string::npos);
  auto lookahead = compile_errors(R"j({"patternProperties": {"(?=x)": true}})j");
  BOOST_TEST(has_keyword(lookahead, "/patternProperties/(?=x)"));
}

BOOST_AUTO_TEST_CASE(an_unresolvable_external_ref_is_a_schema_error) {
  auto errors = compile_errors(R"({"$ref": "https://example.com/missing.json"})");
  BOOST_TEST(has_keyword(errors, "/$ref"));
}

BOOST_AUTO_TEST_CASE(a_schema_that_is_neither_object_nor_boolean_is_refused) {
  auto errors = compile_errors("42");
  BOOST_TEST(!errors.empty());
}

BOOST_AUTO_TEST_CASE(boolean_schemas) {
  BOOST_TEST(compile("true")->validate_text("{}").valid);
  auto r = compile("false")->validate_text("{}");
  BOOST_TEST(!r.valid);
  BOOST_TEST(r.errors.size() == 1u);
}

BOOST_AUTO_TEST_CASE(a_compiled_schema_outlives_its_registry) {
  std::shared_ptr<const compiled_schema> s;
  {
    schema_registry registry;
    registry.add("urn:x", doc(R"({"type": "boolean"})"));
    auto r = compile_schema(doc(R"({"items": {"$ref": "urn:x"}})"), registry);
    BOOST_REQUIRE(r);
    s = r.schema;
  }
  BOOST_TEST(s->validate_text("[true]").valid);
  BOOST_TEST(!s->validate_text("[1]").valid);
}

BOOST_AUTO_TEST_CASE(simple_anchored_patterns_match_exactly) {
  // These shapes take the matcher without RE2; the verdicts must be RE2's.
  auto ident = compile(R"({"pattern": "^[a-z_]+$"})");
  BOOST_TEST(ident->validate_text(R"("snake_case")").valid);
  BOOST_TEST(!ident->validate_text(R"("Snake")").valid);
  BOOST_TEST(!ident->validate_text(R"("")").valid);
  BOOST_TEST(!ident->validate_text(R"("é")").valid);
  auto semver = compile(R"({"pattern": "^\\d+\\.\\d+\\.\\d+$"})");
  BOOST_TEST(semver->validate_text(R"("10.2.33")").valid);
  BOOST_TEST(!semver->validate_text(R"("1.2")").valid);
  BOOST_TEST(!semver->validate_text(R"("1.2.3.4")").valid);
  BOOST_TEST(!semver->validate_text(R"("1.2.3 ")").valid);
  auto yt = compile(R"({"pattern": "^[A-Za-z0-9_-]{11}$"})");
  BOOST_TEST(yt->validate_text(R"("dQw4w9WgXcQ")").valid);
  BOOST_TEST(!yt->validate_text(R"("dQw4w9WgXc")").valid);
  BOOST_TEST(!yt->validate_text(R"("dQw4w9WgXcQQ")").valid);
  auto range = compile(R"({"pattern": "^x{2,3}y?$"})");
  BOOST_TEST(range->validate_text(R"("xx")").valid);
  BOOST_TEST(range->validate_text(R"("xxxy")").valid);
  BOOST_TEST(!range->validate_text(R"("xxxx")").valid);
  // Overlapping classes need backtracking: RE2 decides.
  auto overlap = compile(R"({"pattern": "^a*a$"})");
  BOOST_TEST(overlap->validate_text(R"("aaa")").valid);
  BOOST_TEST(!overlap->validate_text(R"("b")").valid);
}

BOOST_AUTO_TEST_CASE(deep_documents_on_recursive_schemas_never_overflow_the_stack) {
  auto s = compile(R"({"type": "array", "items": {"$ref": "#"}})");
  auto deep = std::string(1000, '[') + std::string(1000, ']');
  auto r = s->validate_text(deep);
  // Valid, or (where frames are large, as under sanitizers) refused with the
  // recursion error: never a crash.
  if (!r.valid) {
    BOOST_REQUIRE(!r.errors.empty());
    BOOST_TEST(r.errors.back().message.find("recurses") != std::string::npos);
  }
  auto wrong = std::string(1000, '[') + "1" + std::string(1000, ']');
  BOOST_TEST(!s->validate_text(wrong).valid);
  BOOST_TEST(!s->validate_text(wrong, output::flag).valid);
}

// -- files beside a schema ----------------------------------------------------------

namespace {

namespace fs = std::filesystem;

/// A fresh folder under the system's temporary folder, removed at the end.
struct temp_folder {
  fs::path path;
  temp_folder() {
    path = fs::temp_directory_path()
           / ("omniva-json-schema-test-" + std::to_string(::getpid()));
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~temp_folder() {
    std::error_code ignored;
    fs::remove_all(path, ignored);
  }
  void write(const fs::path& rel, std::string_view text) const {
    fs::create_directories((path / rel).parent_path());
    std::ofstream{path / rel} << text;
  }
};

/// Compiles a schema that lives at `folder`/a/s.json and `$ref`s `ref`,
/// with `folder_file_loader` confined to `folder`/a.
compile_result compile_beside(const temp_folder& t, std::string_view ref) {
  schema_registry registry;
  registry.set_loader(folder_file_loader(t.path / "a"));
  schema_options opts;
  opts.base_uri = "file://" + (t.path / "a" / "s.json").string();
  return compile_schema(doc(R"({"$ref": ")" + std::string{ref} + R"("})"),
                        registry, opts);
}

} // namespace

BOOST_AUTO_TEST_CASE(a_schema_may_ref_files_inside_its_folder) {
  temp_folder t;
  t.write("a/b.json", R"({"type": "integer"})");
  t.write("a/sub/c.json", R"({"type": "string"})");
  auto b = compile_beside(t, "b.json");
  BOOST_REQUIRE(b);
  BOOST_TEST(b.schema->validate_text("1").valid);
  BOOST_TEST(!b.schema->validate_text("\"x\"").valid);
  BOOST_TEST((compile_beside(t, "sub/c.json").schema != nullptr));
  BOOST_TEST((compile_beside(t, "../a/b.json").schema != nullptr));
}

// The check was a string prefix: `/x/ab/y.json` begins with `/x/a`.
BOOST_AUTO_TEST_CASE(a_sibling_folder_with_a_longer_name_is_outside) {
  temp_folder t;
  t.write("a/b.json", R"({"type": "integer"})");
  t.write("ab/y.json", R"({"type": "integer"})");
  t.write("y.json", R"({"type": "integer"})");
  for (auto ref : {"../ab/y.json", "../y.json", "../a", "/etc/passwd"}) {
    BOOST_TEST_CONTEXT(ref) {
      auto r = compile_beside(t, ref);
      BOOST_TEST((r.schema == nullptr));
      BOOST_TEST(has_keyword(r.errors, "/$ref"));
      BOOST_TEST(r.errors[0].message.find("does not resolve")
                 != std::string::npos);
    }
  }
}

BOOST_AUTO_TEST_CASE(a_symlink_out_of_the_folder_is_outside) {
  temp_folder t;
  t.write("ab/y.json", R"({"type": "integer"})");
  fs::create_directories(t.path / "a");
  fs::create_symlink(t.path / "ab" / "y.json", t.path / "a" / "link.json");
  BOOST_TEST((compile_beside(t, "link.json").schema == nullptr));
  t.write("a/real.json", R"({"type": "integer"})");
  fs::create_symlink(t.path / "a" / "real.json", t.path / "a" / "inner.json");
  BOOST_TEST((compile_beside(t, "inner.json").schema != nullptr));
}
