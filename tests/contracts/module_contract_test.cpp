#define BOOST_TEST_MODULE module_contract
#include <boost/test/unit_test.hpp>

#include "contracts/json_schema.hpp"
#include "contracts/module_contract.hpp"
#include "contracts/module_registration.hpp"
#include "contracts/schema_catalog.hpp"

#include <caf/binary_deserializer.hpp>
#include <caf/binary_serializer.hpp>

#include <algorithm>
#include <string>
#include <vector>

namespace omniva::contracts {

// Lets Boost.Test print enums in failure messages.
inline std::ostream& boost_test_print_type(std::ostream& os, input_kind x) {
  return os << to_string(x);
}

inline std::ostream& boost_test_print_type(std::ostream& os, value_dtype x) {
  return os << to_string(x);
}

inline std::ostream& boost_test_print_type(std::ostream& os, duplicate_mode x) {
  return os << to_string(x);
}

} // namespace omniva::contracts

using namespace omniva::contracts;
namespace json = omniva::json;

namespace {

/// The face-detect contract exactly as the asset-contracts conversation
/// gives it (no version, description, resources, run or schema_version).
constexpr const char* seed_contract = R"({
  "name": "face-detect-v1",
  "inputs": [
    {
      "key": "source_video",
      "label": "Input Video File",
      "contract_type": "ASSET",
      "constraints": {
        "media_types": ["video/mp4", "video/mkv"]
      }
    },
    {
      "key": "confidence_threshold",
      "label": "Detection Confidence",
      "contract_type": "VALUE",
      "default": 0.5,
      "constraints": {
        "dtype": "float",
        "min": 0.1,
        "max": 1.0
      }
    }
  ],
  "outputs": [
    {
      "key": "faces_archive",
      "label": "Zipped Face Images",
      "contract_type": "ASSET",
      "media_type": "application/zip"
    }
  ]
})";

/// A valid contract every rule test breaks in one place. Inputs: 0 an
/// ASSET, 1 a float VALUE with a default, 2 a text VALUE with a pattern.
constexpr const char* base_contract = R"({
  "name": "face-detect",
  "version": 1,
  "description": "Finds faces in a video.",
  "inputs": [
    {"key": "source_video", "label": "Input Video File",
     "contract_type": "ASSET",
     "constraints": {"media_types": ["video/mp4", "video/mkv"]}},
    {"key": "confidence_threshold", "contract_type": "VALUE",
     "dtype": "float", "default": 0.5,
     "constraints": {"min": 0.1, "max": 1.0}},
    {"key": "caption", "contract_type": "VALUE", "dtype": "text",
     "required": false, "default": "Faces",
     "constraints": {"pattern": "^[A-Z]", "max_length": 20}}
  ],
  "outputs": [
    {"key": "faces_archive", "contract_type": "ASSET",
     "media_type": "application/zip"},
    {"key": "faces_index", "media_type": "application/json",
     "schema": "ClipCandidate"}
  ],
  "resources": {"cpu": 2, "memory_gb": 4, "gpu": false, "timeout_s": 900},
  "run": {"command": ["python3", "detect.py"]},
  "secrets": {"required": ["HF_TOKEN"], "optional": []},
  "schema_version": "1.0.0"
})";

json::value doc_of(const char* text) {
  auto parsed = json::parse(text);
  BOOST_REQUIRE_MESSAGE(parsed, "test JSON does not parse");
  return std::move(*parsed.doc);
}

json::value base() {
  return doc_of(base_contract);
}

/// The value at `pointer` inside `doc`, for editing.
json::value& at(json::value& doc, std::string_view pointer) {
  auto* x = json::resolve_pointer(doc, pointer);
  BOOST_REQUIRE_MESSAGE(x != nullptr, "no " << pointer << " in the test doc");
  return const_cast<json::value&>(*x);
}

std::vector<problem> problems_of(const json::value& doc,
                                 const contract_options& options = {}) {
  auto result = parse_module_contract_document(doc, options);
  BOOST_CHECK_EQUAL(result.contract.has_value(), result.problems.empty());
  return result.problems;
}

std::string describe(const std::vector<problem>& xs) {
  std::string out;
  for (auto& p : xs)
    out += "\n  " + to_string(p);
  return out;
}

/// Requires exactly one problem, with `code` at `pointer`.
void require_single(const std::vector<problem>& xs, std::string_view code,
                    std::string_view pointer) {
  BOOST_REQUIRE_MESSAGE(xs.size() == 1,
                        "expected exactly one problem, got " << xs.size()
                                                             << describe(xs));
  BOOST_TEST(to_string(xs[0].code) == code);
  BOOST_TEST(xs[0].pointer == pointer);
  BOOST_TEST(!xs[0].message.empty());
}

bool has(const std::vector<problem>& xs, std::string_view code,
         std::string_view pointer) {
  return std::any_of(xs.begin(), xs.end(), [&](const problem& p) {
    return to_string(p.code) == code && p.pointer == pointer;
  });
}

} // namespace

// -- the example of the seed conversation -------------------------------------------

BOOST_AUTO_TEST_CASE(seed_example_as_given_misses_exactly_the_required_fields) {
  auto xs = problems_of(doc_of(seed_contract));
  BOOST_TEST_MESSAGE(describe(xs));
  BOOST_REQUIRE_EQUAL(xs.size(), 5u);
  for (auto field : {"/version", "/description", "/resources", "/run",
                     "/schema_version"})
    BOOST_TEST(has(xs, "missing_field", field), "no missing_field at " << field);
}

BOOST_AUTO_TEST_CASE(seed_example_completed_is_valid) {
  auto path = std::string{OMNIVA_SOURCE_DIR} + "/modules/face_detect/module.json";
  auto doc = json::parse_file(path);
  BOOST_REQUIRE_MESSAGE(doc, path << ": " << doc.error.message);
  auto result = parse_module_contract_document(*doc.doc);
  BOOST_REQUIRE_MESSAGE(result, describe(result.problems));
  auto& c = *result.contract;
  BOOST_TEST(c.ref() == "face-detect@1");
  BOOST_TEST(c.schema_version == "1.0.0");
  BOOST_REQUIRE_EQUAL(c.inputs.size(), 2u);
  BOOST_TEST(c.inputs[0].contract_type == input_kind::asset);
  BOOST_TEST((c.inputs[0].media_types
              == std::vector<std::string>{"video/mp4", "video/mkv"}));
  // dtype inside constraints (the seed's spelling) is normalised.
  auto& threshold = c.inputs[1];
  BOOST_TEST(threshold.contract_type == input_kind::value);
  BOOST_TEST(threshold.dtype == value_dtype::floating);
  BOOST_REQUIRE(threshold.min && threshold.max);
  BOOST_TEST(*threshold.min == 0.1);
  BOOST_TEST(*threshold.max == 1.0);
  BOOST_TEST(threshold.default_json == "0.5");
  BOOST_TEST(!threshold.must_be_given());
  BOOST_REQUIRE_EQUAL(c.outputs.size(), 1u);
  BOOST_TEST(c.outputs[0].media_type == "application/zip");
  BOOST_TEST((c.run.command == std::vector<std::string>{"python3", "detect.py"}));
}

BOOST_AUTO_TEST_CASE(dtype_next_to_contract_type_or_in_constraints_is_the_same) {
  auto inner = base();
  auto& input = at(inner, "/inputs/1");
  input.erase("dtype");
  at(inner, "/inputs/1/constraints").set("dtype", "float");
  auto a = parse_module_contract_document(base());
  auto b = parse_module_contract_document(inner);
  BOOST_REQUIRE_MESSAGE(a, describe(a.problems));
  BOOST_REQUIRE_MESSAGE(b, describe(b.problems));
  BOOST_TEST((*a.contract == *b.contract));
}

BOOST_AUTO_TEST_CASE(the_same_dtype_in_both_places_is_accepted) {
  auto doc = base();
  at(doc, "/inputs/1/constraints").set("dtype", "float");
  BOOST_TEST(problems_of(doc).empty());
}

BOOST_AUTO_TEST_CASE(a_valid_contract_round_trips_through_its_json_form) {
  auto first = parse_module_contract_document(base());
  BOOST_REQUIRE_MESSAGE(first, describe(first.problems));
  auto normalised = to_json(*first.contract);
  BOOST_TEST(at(normalised, "/inputs/1/dtype").as_string() == "float");
  auto second = parse_module_contract_document(normalised);
  BOOST_REQUIRE_MESSAGE(second, describe(second.problems));
  BOOST_TEST((*first.contract == *second.contract));
}

BOOST_AUTO_TEST_CASE(a_contract_round_trips_through_caf_serialization) {
  auto parsed = parse_module_contract_document(base());
  BOOST_REQUIRE(parsed);
  auto x = *parsed.contract;
  std::vector<char> buf;
  caf::binary_serializer sink{nullptr, buf};
  BOOST_REQUIRE(!sink(x));
  module_contract y;
  caf::binary_deserializer source{nullptr, buf};
  BOOST_REQUIRE(!source(y));
  BOOST_TEST((x == y));
  BOOST_TEST(y.inputs[2].max_length.value_or(-1) == 20);
}

BOOST_AUTO_TEST_CASE(omitted_optional_parts_take_their_defaults) {
  auto doc = base();
  doc.erase("secrets");
  at(doc, "/resources").as_object().clear();
  auto result = parse_module_contract_document(doc);
  BOOST_REQUIRE_MESSAGE(result, describe(result.problems));
  BOOST_TEST((result.contract->resources == resource_spec{}));
  BOOST_TEST(result.contract->secrets.required.empty());
  BOOST_TEST(result.contract->inputs[0].required);
}

// -- one invalid contract per rule -----------------------------------------------

BOOST_AUTO_TEST_CASE(text_that_is_not_json_is_invalid_json) {
  auto result = parse_module_contract("{\"name\": ");
  BOOST_TEST(!result);
  require_single(result.problems, "invalid_json", "");
}

BOOST_AUTO_TEST_CASE(a_member_named_twice_is_a_duplicate_key) {
  auto text = json::serialize(base());
  // {"name": ..., then the same member again at the end.
  text.insert(text.size() - 1, R"(,"name":"other")");
  auto result = parse_module_contract(text);
  BOOST_TEST(!result);
  require_single(result.problems, "duplicate_key", "/name");
}

BOOST_AUTO_TEST_CASE(an_int_value_too_large_for_64_bits_is_out_of_range) {
  input_spec spec;
  spec.key = "n";
  spec.contract_type = input_kind::value;
  spec.dtype = value_dtype::integer;
  auto big = json::parse("1606938044258990275541962092341162602522202993782792835301376");
  auto problems = check_value(spec, *big.doc, "/values/n");
  require_single(problems, "out_of_range", "/values/n");
  BOOST_TEST(problems[0].message.find("too large") != std::string::npos);
  BOOST_TEST(problems[0].message.find("got an integer") == std::string::npos);
  auto tiny = json::parse("1e-400");
  require_single(check_value(spec, *tiny.doc, "/values/n"), "dtype_mismatch",
                 "/values/n");
}

BOOST_AUTO_TEST_CASE(duplicate_input_keys_are_refused) {
  auto doc = base();
  at(doc, "/inputs/1/key") = "source_video";
  require_single(problems_of(doc), "duplicate_key", "/inputs/1/key");
}

BOOST_AUTO_TEST_CASE(duplicate_output_keys_are_refused) {
  auto doc = base();
  at(doc, "/outputs/1/key") = "faces_archive";
  require_single(problems_of(doc), "duplicate_key", "/outputs/1/key");
}

BOOST_AUTO_TEST_CASE(min_greater_than_max_is_an_invalid_range) {
  auto doc = base();
  at(doc, "/inputs/1/constraints/min") = 2.0;
  require_single(problems_of(doc), "invalid_range",
                 "/inputs/1/constraints/min");
}

BOOST_AUTO_TEST_CASE(a_negative_max_length_is_an_invalid_range) {
  auto doc = base();
  at(doc, "/inputs/2/constraints/max_length") = -1;
  require_single(problems_of(doc), "invalid_range",
                 "/inputs/2/constraints/max_length");
}

BOOST_AUTO_TEST_CASE(a_default_outside_its_range_is_an_invalid_default) {
  auto doc = base();
  at(doc, "/inputs/1/default") = 1.5;
  require_single(problems_of(doc), "invalid_default", "/inputs/1/default");
}

BOOST_AUTO_TEST_CASE(a_default_of_the_wrong_dtype_is_an_invalid_default) {
  auto doc = base();
  at(doc, "/inputs/1/default") = "high";
  require_single(problems_of(doc), "invalid_default", "/inputs/1/default");
}

BOOST_AUTO_TEST_CASE(a_default_failing_its_pattern_is_an_invalid_default) {
  auto doc = base();
  at(doc, "/inputs/2/default") = "faces";
  require_single(problems_of(doc), "invalid_default", "/inputs/2/default");
}

BOOST_AUTO_TEST_CASE(a_default_outside_its_enum_is_an_invalid_default) {
  auto doc = base();
  at(doc, "/inputs").push_back(doc_of(
    R"({"key": "speed", "contract_type": "VALUE", "dtype": "enum",
        "default": "slow", "constraints": {"enum": ["fast", "accurate"]}})"));
  require_single(problems_of(doc), "invalid_default", "/inputs/3/default");
}

BOOST_AUTO_TEST_CASE(a_media_type_without_subtype_is_invalid) {
  auto doc = base();
  at(doc, "/inputs/0/constraints/media_types/1") = "video";
  require_single(problems_of(doc), "invalid_media_type",
                 "/inputs/0/constraints/media_types/1");
}

BOOST_AUTO_TEST_CASE(an_output_media_type_must_be_type_slash_subtype) {
  auto doc = base();
  at(doc, "/outputs/0/media_type") = "application zip";
  require_single(problems_of(doc), "invalid_media_type",
                 "/outputs/0/media_type");
}

BOOST_AUTO_TEST_CASE(an_input_may_accept_a_media_type_family) {
  auto doc = base();
  at(doc, "/inputs/0/constraints/media_types/1") = "video/*";
  BOOST_TEST(problems_of(doc).empty());
}

BOOST_AUTO_TEST_CASE(an_empty_command_is_refused) {
  auto doc = base();
  at(doc, "/run/command").as_array().clear();
  require_single(problems_of(doc), "empty_command", "/run/command");
}

BOOST_AUTO_TEST_CASE(a_command_with_an_empty_program_is_refused) {
  auto doc = base();
  at(doc, "/run/command/0") = " ";
  require_single(problems_of(doc), "empty_command", "/run/command/0");
}

BOOST_AUTO_TEST_CASE(a_timeout_beyond_a_year_is_refused) {
  // Deadlines are start + timeout in nanoseconds of a steady clock: a bound
  // keeps the sum far from overflowing.
  auto doc = base();
  at(doc, "/resources/timeout_s") = int64_t{31536000};
  BOOST_CHECK(problems_of(doc).empty());
  at(doc, "/resources/timeout_s") = int64_t{9000000000000000000};
  require_single(problems_of(doc), "invalid_contract", "/resources/timeout_s");
}

BOOST_AUTO_TEST_CASE(a_name_that_cannot_form_a_ref_is_refused) {
  auto doc = base();
  at(doc, "/name") = "Face Detect";
  require_single(problems_of(doc), "invalid_ref", "/name");
}

BOOST_AUTO_TEST_CASE(a_name_starting_with_a_digit_is_refused) {
  auto doc = base();
  at(doc, "/name") = "3d-faces";
  require_single(problems_of(doc), "invalid_ref", "/name");
}

BOOST_AUTO_TEST_CASE(a_version_that_is_not_positive_is_refused) {
  auto doc = base();
  at(doc, "/version") = 0;
  require_single(problems_of(doc), "invalid_ref", "/version");
}

BOOST_AUTO_TEST_CASE(a_pattern_re2_refuses_is_an_invalid_pattern) {
  auto doc = base();
  at(doc, "/inputs/2/constraints/pattern") = "([A-Z]";
  require_single(problems_of(doc), "invalid_pattern",
                 "/inputs/2/constraints/pattern");
}

BOOST_AUTO_TEST_CASE(a_backreference_is_an_invalid_pattern_for_re2) {
  auto doc = base();
  at(doc, "/inputs/2/constraints/pattern") = "^(a)\\1";
  at(doc, "/inputs/2").erase("default");
  require_single(problems_of(doc), "invalid_pattern",
                 "/inputs/2/constraints/pattern");
}

BOOST_AUTO_TEST_CASE(a_malformed_schema_id_is_an_invalid_ref) {
  auto doc = base();
  at(doc, "/outputs/1/schema") = "clip candidate@x";
  require_single(problems_of(doc), "invalid_ref", "/outputs/1/schema");
}

BOOST_AUTO_TEST_CASE(an_unregistered_schema_id_is_an_invalid_ref_when_a_registry_is_given) {
  auto doc = base();
  at(doc, "/outputs/1/schema") = "media.metadata@1";
  // Without a registry only the syntax is checked.
  BOOST_TEST(problems_of(doc).empty());
  contract_options options;
  options.resolve_schema = [](std::string_view) {
    return std::shared_ptr<const compiled_schema>{};
  };
  require_single(problems_of(doc, options), "invalid_ref", "/outputs/1/schema");
}

BOOST_AUTO_TEST_CASE(an_inline_schema_that_does_not_compile_is_an_invalid_schema) {
  auto doc = base();
  at(doc, "/inputs").push_back(doc_of(
    R"({"key": "options", "contract_type": "VALUE", "dtype": "json",
        "required": false, "constraints": {"schema": {"type": "thing"}}})"));
  auto xs = problems_of(doc);
  BOOST_REQUIRE_MESSAGE(!xs.empty(), "accepted");
  BOOST_TEST(to_string(xs[0].code) == "invalid_schema");
  BOOST_TEST(xs[0].pointer.starts_with("/inputs/3/constraints/schema"));
}

BOOST_AUTO_TEST_CASE(a_value_input_without_dtype_misses_a_field) {
  auto doc = base();
  at(doc, "/inputs/1").erase("dtype");
  require_single(problems_of(doc), "missing_field", "/inputs/1/dtype");
}

BOOST_AUTO_TEST_CASE(an_enum_input_without_values_misses_a_field) {
  auto doc = base();
  at(doc, "/inputs").push_back(
    doc_of(R"({"key": "speed", "contract_type": "VALUE", "dtype": "enum"})"));
  require_single(problems_of(doc), "missing_field", "/inputs/3/constraints/enum");
}

BOOST_AUTO_TEST_CASE(an_asset_input_without_media_types_misses_a_field) {
  auto doc = base();
  at(doc, "/inputs/0/constraints").erase("media_types");
  require_single(problems_of(doc), "missing_field",
                 "/inputs/0/constraints/media_types");
}

BOOST_AUTO_TEST_CASE(a_dtype_on_an_asset_input_does_not_belong) {
  auto doc = base();
  at(doc, "/inputs/0").set("dtype", "string");
  require_single(problems_of(doc), "invalid_contract", "/inputs/0/dtype");
}

BOOST_AUTO_TEST_CASE(a_dtype_given_twice_with_different_values_is_refused) {
  auto doc = base();
  at(doc, "/inputs/1/constraints").set("dtype", "int");
  require_single(problems_of(doc), "invalid_contract",
                 "/inputs/1/constraints/dtype");
}

BOOST_AUTO_TEST_CASE(a_range_on_a_text_input_does_not_fit_its_dtype) {
  auto doc = base();
  at(doc, "/inputs/2/constraints").set("min", 1);
  require_single(problems_of(doc), "invalid_contract",
                 "/inputs/2/constraints/min");
}

BOOST_AUTO_TEST_CASE(an_enum_value_of_the_wrong_dtype_is_refused) {
  auto doc = base();
  at(doc, "/inputs").push_back(doc_of(
    R"({"key": "size", "contract_type": "VALUE", "dtype": "int",
        "required": false, "constraints": {"enum": [16, "32"]}})"));
  require_single(problems_of(doc), "invalid_contract",
                 "/inputs/3/constraints/enum/1");
}

BOOST_AUTO_TEST_CASE(an_undeclared_field_is_an_unknown_field) {
  auto doc = base();
  doc.set("entrypoint", "detect.py");
  require_single(problems_of(doc), "unknown_field", "/entrypoint");
}

BOOST_AUTO_TEST_CASE(a_wrong_contract_type_is_an_invalid_contract) {
  auto doc = base();
  at(doc, "/inputs/0/contract_type") = "FILE";
  auto xs = problems_of(doc);
  BOOST_REQUIRE(!xs.empty());
  BOOST_TEST(has(xs, "invalid_contract", "/inputs/0/contract_type"));
}

BOOST_AUTO_TEST_CASE(an_unknown_major_schema_version_is_refused) {
  auto doc = base();
  at(doc, "/schema_version") = "2.0.0";
  require_single(problems_of(doc), "unsupported_schema_version",
                 "/schema_version");
}

BOOST_AUTO_TEST_CASE(a_document_that_is_not_an_object_is_refused) {
  auto xs = problems_of(doc_of("[1, 2]"));
  require_single(xs, "invalid_contract", "");
}

// -- all problems at once ---------------------------------------------------------

BOOST_AUTO_TEST_CASE(every_problem_is_reported_at_once) {
  auto doc = base();
  at(doc, "/name") = "Face Detect";
  at(doc, "/inputs/1/key") = "source_video";
  at(doc, "/inputs/1/constraints/min") = 2.0;
  at(doc, "/inputs/2/constraints/pattern") = "(";
  at(doc, "/outputs/0/media_type") = "zip";
  at(doc, "/run/command").as_array().clear();
  doc.erase("description");
  auto xs = problems_of(doc);
  BOOST_TEST_MESSAGE(describe(xs));
  BOOST_TEST(has(xs, "invalid_ref", "/name"));
  BOOST_TEST(has(xs, "duplicate_key", "/inputs/1/key"));
  BOOST_TEST(has(xs, "invalid_range", "/inputs/1/constraints/min"));
  BOOST_TEST(has(xs, "invalid_pattern", "/inputs/2/constraints/pattern"));
  BOOST_TEST(has(xs, "invalid_media_type", "/outputs/0/media_type"));
  BOOST_TEST(has(xs, "empty_command", "/run/command"));
  BOOST_TEST(has(xs, "missing_field", "/description"));
  BOOST_TEST(xs.size() == 7u);
}

// -- policy --------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(a_contract_without_policy_follows_the_default_policy) {
  auto result = parse_module_contract_document(base());
  BOOST_REQUIRE_MESSAGE(result, describe(result.problems));
  BOOST_TEST(result.contract->policy.empty());
  BOOST_TEST(result.contract->policy_ref() == "default@1");
  BOOST_TEST(to_json(*result.contract).find("policy") == nullptr);
}

BOOST_AUTO_TEST_CASE(a_policy_ref_is_read_and_written_back) {
  auto doc = base();
  doc.set("policy", "retry.slow@2");
  auto result = parse_module_contract_document(doc);
  BOOST_REQUIRE_MESSAGE(result, describe(result.problems));
  BOOST_TEST(result.contract->policy == "retry.slow@2");
  BOOST_TEST(result.contract->policy_ref() == "retry.slow@2");
  auto written = to_json(*result.contract);
  BOOST_REQUIRE(written.find("policy") != nullptr);
  BOOST_TEST(written.find("policy")->as_string() == "retry.slow@2");
  auto again = parse_module_contract_document(written);
  BOOST_REQUIRE_MESSAGE(again, describe(again.problems));
  BOOST_TEST((*again.contract == *result.contract));
}

BOOST_AUTO_TEST_CASE(a_policy_that_is_not_name_at_version_is_an_invalid_ref) {
  for (auto* bad : {"slow", "slow@0", "slow@01", "@1", "1slow@1", "slow@1@2", ""}) {
    auto doc = base();
    doc.set("policy", bad);
    auto xs = problems_of(doc);
    BOOST_TEST_CONTEXT("policy '" << bad << "'") {
      require_single(xs, "invalid_ref", "/policy");
      BOOST_TEST(xs[0].message.find("default@1") != std::string::npos);
    }
  }
}

BOOST_AUTO_TEST_CASE(a_policy_that_is_not_a_string_is_an_invalid_contract) {
  auto doc = base();
  doc.set("policy", 2);
  require_single(problems_of(doc), "invalid_contract", "/policy");
}

// -- many outputs ----------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(an_output_is_one_file_unless_it_says_many) {
  auto result = parse_module_contract_document(base());
  BOOST_REQUIRE_MESSAGE(result, describe(result.problems));
  for (auto& o : result.contract->outputs)
    BOOST_TEST(!o.many);
  // The JSON form (and so a stored module row) leaves the default out.
  auto written = to_json(*result.contract);
  BOOST_TEST(at(written, "/outputs/0").find("many") == nullptr);
  BOOST_TEST(at(written, "/outputs/1").find("many") == nullptr);
}

BOOST_AUTO_TEST_CASE(a_many_output_is_read_and_written_back) {
  auto doc = base();
  at(doc, "/outputs/1").set("many", true);
  at(doc, "/outputs/0").set("many", false);
  auto result = parse_module_contract_document(doc);
  BOOST_REQUIRE_MESSAGE(result, describe(result.problems));
  auto& c = *result.contract;
  BOOST_TEST(!c.outputs[0].many);
  BOOST_TEST(c.outputs[1].many);
  BOOST_TEST(c.find_output("faces_index")->many);
  auto written = to_json(c);
  BOOST_TEST(at(written, "/outputs/0").find("many") == nullptr);
  BOOST_REQUIRE(at(written, "/outputs/1").find("many") != nullptr);
  BOOST_TEST(at(written, "/outputs/1/many").as_bool());
  auto again = parse_module_contract_document(written);
  BOOST_REQUIRE_MESSAGE(again, describe(again.problems));
  BOOST_TEST((*again.contract == c));
  // Across actors too: `many` is part of what CAF serializes.
  std::vector<char> buf;
  caf::binary_serializer sink{nullptr, buf};
  BOOST_REQUIRE(!sink(c));
  module_contract y;
  caf::binary_deserializer source{nullptr, buf};
  BOOST_REQUIRE(!source(y));
  BOOST_TEST(y.outputs[1].many);
  BOOST_TEST(!y.outputs[0].many);
}

BOOST_AUTO_TEST_CASE(a_module_row_keeps_many_and_an_older_row_reads_as_one_file) {
  auto with_many = base();
  at(with_many, "/outputs/1").set("many", true);
  for (auto many : {true, false}) {
    auto text = json::serialize(many ? with_many : base());
    auto entry = check_module_text(text, "/modules/face-detect", {});
    BOOST_REQUIRE(entry);
    auto row = encode_module_row(*entry);
    auto back = decode_module_row("face-detect@1", row);
    BOOST_REQUIRE(back);
    BOOST_TEST(back->contract.outputs[1].many == many);
    BOOST_TEST((back->contract == entry->contract));
  }
}

BOOST_AUTO_TEST_CASE(many_must_be_a_boolean) {
  for (auto* bad : {R"("true")", "1", "null", "[true]"}) {
    auto doc = base();
    at(doc, "/outputs/1").set("many", doc_of(bad));
    BOOST_TEST_CONTEXT("many: " << bad) {
      require_single(problems_of(doc), "invalid_contract", "/outputs/1/many");
    }
  }
}

BOOST_AUTO_TEST_CASE(a_many_output_of_the_list_media_type_is_refused) {
  auto doc = base();
  at(doc, "/outputs/1").set("many", true);
  at(doc, "/outputs/1").erase("schema");
  at(doc, "/outputs/1/media_type") = "application/vnd.omniva.asset-list+json";
  auto xs = problems_of(doc);
  require_single(xs, "invalid_contract", "/outputs/1/media_type");
  BOOST_TEST(xs[0].message.find("faces_index") != std::string::npos);
  // One output of the list type, not many, is not this rule's business.
  at(doc, "/outputs/1").set("many", false);
  BOOST_TEST(problems_of(doc).empty());
}

// -- duplicates ----------------------------------------------------------------------

namespace {

/// The base contract with input 3, a json VALUE "job" (a ScraperJob).
json::value base_with_job() {
  auto doc = base();
  at(doc, "/inputs").push_back(doc_of(
    R"({"key": "job", "contract_type": "VALUE", "dtype": "json",
        "constraints": {"schema": "ScraperJob"}})"));
  return doc;
}

/// `base_with_job()` with `"duplicates": <rule>`.
json::value with_duplicates(const char* rule) {
  auto doc = base_with_job();
  doc.set("duplicates", doc_of(rule));
  return doc;
}

} // namespace

BOOST_AUTO_TEST_CASE(a_contract_without_duplicates_allows_them) {
  auto result = parse_module_contract_document(base_with_job());
  BOOST_REQUIRE_MESSAGE(result, describe(result.problems));
  BOOST_TEST((result.contract->duplicates == duplicate_rule{}));
  BOOST_TEST(result.contract->duplicates.mode == duplicate_mode::allow);
  BOOST_TEST(to_json(*result.contract).find("duplicates") == nullptr);
}

BOOST_AUTO_TEST_CASE(duplicates_may_be_a_mode_alone) {
  for (auto mode : {duplicate_mode::allow, duplicate_mode::reuse,
                    duplicate_mode::block}) {
    auto name = std::string{to_string(mode)};
    auto doc = base_with_job();
    doc.set("duplicates", name);
    auto result = parse_module_contract_document(doc);
    BOOST_REQUIRE_MESSAGE(result, name << describe(result.problems));
    BOOST_TEST(result.contract->duplicates.mode == mode, name);
    BOOST_TEST(result.contract->duplicates.key.empty());
    // Written back as the mode alone; the default not at all.
    auto json = to_json(*result.contract);
    auto* written = json.find("duplicates");
    if (mode == duplicate_mode::allow) {
      BOOST_TEST(written == nullptr);
    } else {
      BOOST_REQUIRE(written != nullptr);
      BOOST_TEST(written->as_string() == name);
    }
  }
}

BOOST_AUTO_TEST_CASE(duplicates_may_name_the_parts_of_inputs_that_count) {
  auto doc = with_duplicates(
    R"({"mode": "block",
        "key": {"job": ["/platform", "/target_url", "/requested_range"],
                "caption": [""]}})");
  auto result = parse_module_contract_document(doc);
  BOOST_REQUIRE_MESSAGE(result, describe(result.problems));
  auto& rule = result.contract->duplicates;
  BOOST_TEST(rule.mode == duplicate_mode::block);
  BOOST_REQUIRE_EQUAL(rule.key.size(), 2u);
  BOOST_TEST((rule.key.at("job")
              == std::vector<std::string>{"/platform", "/target_url",
                                          "/requested_range"}));
  BOOST_TEST((rule.key.at("caption") == std::vector<std::string>{""}));
  // The object form is written back, and reads back the same.
  auto written = to_json(*result.contract);
  BOOST_TEST(at(written, "/duplicates/mode").as_string() == "block");
  BOOST_TEST(at(written, "/duplicates/key/job/1").as_string() == "/target_url");
  auto again = parse_module_contract_document(written);
  BOOST_REQUIRE_MESSAGE(again, describe(again.problems));
  BOOST_TEST((*again.contract == *result.contract));
}

BOOST_AUTO_TEST_CASE(escaped_pointer_tokens_are_pointers_like_any_other) {
  auto doc = with_duplicates(R"({"mode": "reuse", "key": {"job": ["/a~1b/0/~0c"]}})");
  auto result = parse_module_contract_document(doc);
  BOOST_REQUIRE_MESSAGE(result, describe(result.problems));
  BOOST_TEST((result.contract->duplicates.key.at("job")
              == std::vector<std::string>{"/a~1b/0/~0c"}));
}

BOOST_AUTO_TEST_CASE(an_allow_rule_with_a_key_keeps_its_key) {
  // `allow` still records Paradox's advice, which the key decides.
  auto doc = with_duplicates(R"({"mode": "allow", "key": {"job": ["/platform"]}})");
  auto result = parse_module_contract_document(doc);
  BOOST_REQUIRE_MESSAGE(result, describe(result.problems));
  auto written = to_json(*result.contract);
  BOOST_TEST(at(written, "/duplicates/mode").as_string() == "allow");
  BOOST_TEST((*parse_module_contract_document(written).contract
              == *result.contract));
}

BOOST_AUTO_TEST_CASE(duplicates_cross_actors_with_the_contract) {
  auto parsed = parse_module_contract_document(with_duplicates(
    R"({"mode": "reuse", "key": {"job": ["/platform"]}})"));
  BOOST_REQUIRE(parsed);
  auto x = *parsed.contract;
  x.policy = "retry.slow@2";
  std::vector<char> buf;
  caf::binary_serializer sink{nullptr, buf};
  BOOST_REQUIRE(!sink(x));
  module_contract y;
  caf::binary_deserializer source{nullptr, buf};
  BOOST_REQUIRE(!source(y));
  BOOST_TEST((x == y));
  BOOST_TEST(y.policy == "retry.slow@2");
  BOOST_TEST(y.duplicates.mode == duplicate_mode::reuse);
}

BOOST_AUTO_TEST_CASE(an_unknown_mode_is_an_invalid_contract) {
  auto doc = base_with_job();
  doc.set("duplicates", "skip");
  auto xs = problems_of(doc);
  require_single(xs, "invalid_contract", "/duplicates");
  BOOST_TEST(xs[0].message.find("reuse") != std::string::npos, xs[0].message);
  require_single(problems_of(with_duplicates(R"({"mode": "Reuse"})")),
                 "invalid_contract", "/duplicates/mode");
}

BOOST_AUTO_TEST_CASE(duplicates_of_another_type_is_an_invalid_contract) {
  require_single(problems_of(with_duplicates("true")), "invalid_contract",
                 "/duplicates");
  require_single(problems_of(with_duplicates(R"(["reuse"])")),
                 "invalid_contract", "/duplicates");
}

BOOST_AUTO_TEST_CASE(the_object_form_needs_its_mode_and_nothing_else) {
  require_single(problems_of(with_duplicates(R"({"key": {"job": ["/platform"]}})")),
                 "missing_field", "/duplicates/mode");
  require_single(problems_of(with_duplicates(R"({"mode": "reuse", "keys": {}})")),
                 "unknown_field", "/duplicates/keys");
}

BOOST_AUTO_TEST_CASE(pointers_must_be_a_list_of_strings) {
  require_single(problems_of(with_duplicates(
                   R"({"mode": "reuse", "key": {"job": "/platform"}})")),
                 "invalid_contract", "/duplicates/key/job");
  require_single(problems_of(with_duplicates(
                   R"({"mode": "reuse", "key": {"job": ["/platform", 3]}})")),
                 "invalid_contract", "/duplicates/key/job/1");
}

BOOST_AUTO_TEST_CASE(a_key_naming_an_undeclared_input_is_an_invalid_ref) {
  auto xs = problems_of(with_duplicates(
    R"({"mode": "block", "key": {"jobs": ["/platform"]}})"));
  require_single(xs, "invalid_ref", "/duplicates/key/jobs");
  BOOST_TEST(xs[0].message.find("'jobs'") != std::string::npos, xs[0].message);
  // The message lists the inputs there are.
  BOOST_TEST(xs[0].message.find("source_video, confidence_threshold, caption, job")
               != std::string::npos,
             xs[0].message);
}

BOOST_AUTO_TEST_CASE(a_pointer_that_is_not_rfc_6901_is_an_invalid_contract) {
  for (auto* bad : {"platform", "/a~2", "/a~", "~0"}) {
    auto doc = base_with_job();
    json::value rule{json::object{}};
    rule.set("mode", "reuse");
    json::value key{json::object{}};
    json::array pointers;
    pointers.emplace_back("/platform");
    pointers.emplace_back(bad);
    key.set("job", std::move(pointers));
    rule.set("key", std::move(key));
    doc.set("duplicates", std::move(rule));
    auto xs = problems_of(doc);
    BOOST_TEST_CONTEXT("pointer '" << bad << "'") {
      require_single(xs, "invalid_contract", "/duplicates/key/job/1");
      BOOST_TEST(xs[0].message.find("RFC 6901") != std::string::npos);
    }
  }
}

BOOST_AUTO_TEST_CASE(pointers_on_a_file_asset_input_are_refused) {
  auto xs = problems_of(with_duplicates(
    R"({"mode": "reuse", "key": {"source_video": ["/title"]}})"));
  require_single(xs, "invalid_contract", "/duplicates/key/source_video");
  // The message says why and what takes pointers.
  BOOST_TEST(xs[0].message.find("FILE ASSET") != std::string::npos, xs[0].message);
  BOOST_TEST(xs[0].message.find("content hash") != std::string::npos, xs[0].message);
  BOOST_TEST(xs[0].message.find("only to VALUE inputs") != std::string::npos,
             xs[0].message);
  // The whole-value pointer is refused there too: a file is not JSON.
  require_single(problems_of(with_duplicates(
                   R"({"mode": "reuse", "key": {"source_video": [""]}})")),
                 "invalid_contract", "/duplicates/key/source_video");
}

BOOST_AUTO_TEST_CASE(an_empty_pointer_list_is_refused) {
  auto xs = problems_of(with_duplicates(R"({"mode": "reuse", "key": {"job": []}})"));
  require_single(xs, "invalid_contract", "/duplicates/key/job");
  BOOST_TEST(xs[0].message.find("no JSON pointers") != std::string::npos,
             xs[0].message);
}

BOOST_AUTO_TEST_CASE(a_pointer_into_a_scalar_input_names_nothing) {
  // A float has no parts: only "" (the whole value) can name something.
  auto xs = problems_of(with_duplicates(
    R"({"mode": "reuse", "key": {"confidence_threshold": ["", "/x"]}})"));
  require_single(xs, "invalid_contract", "/duplicates/key/confidence_threshold/1");
  BOOST_TEST(xs[0].message.find("float") != std::string::npos, xs[0].message);
  BOOST_TEST(problems_of(with_duplicates(
                R"({"mode": "reuse", "key": {"confidence_threshold": [""]}})"))
               .empty());
}

BOOST_AUTO_TEST_CASE(every_duplicates_problem_is_reported_at_once) {
  auto doc = with_duplicates(
    R"({"mode": "skip",
        "key": {"nope": ["/a"], "job": ["/platform", "platform"],
                "source_video": ["/title"], "caption": []}})");
  doc.set("policy", "slow");
  auto xs = problems_of(doc);
  BOOST_TEST_MESSAGE(describe(xs));
  BOOST_TEST(has(xs, "invalid_contract", "/duplicates/mode"));
  BOOST_TEST(has(xs, "invalid_ref", "/duplicates/key/nope"));
  BOOST_TEST(has(xs, "invalid_contract", "/duplicates/key/job/1"));
  BOOST_TEST(has(xs, "invalid_contract", "/duplicates/key/source_video"));
  BOOST_TEST(has(xs, "invalid_contract", "/duplicates/key/caption"));
  BOOST_TEST(has(xs, "invalid_ref", "/policy"));
  BOOST_TEST(xs.size() == 6u);
}

BOOST_AUTO_TEST_CASE(duplicate_mode_names_round_trip) {
  for (auto name : {"allow", "reuse", "block"}) {
    auto m = duplicate_mode_from_string(name);
    BOOST_REQUIRE(m);
    BOOST_TEST(to_string(*m) == name);
  }
  BOOST_TEST(!duplicate_mode_from_string("Reuse"));
  BOOST_TEST(!duplicate_mode_from_string(""));
}

// -- helpers ------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(media_types_match_case_insensitively_and_by_family) {
  BOOST_TEST(media_type_matches("video/mp4", "video/mp4"));
  BOOST_TEST(media_type_matches("video/mp4", "Video/MP4; codecs=avc1"));
  BOOST_TEST(media_type_matches("video/*", "video/webm"));
  BOOST_TEST(!media_type_matches("video/*", "audio/mpeg"));
  BOOST_TEST(!media_type_matches("video/mp4", "video/mp4x"));
  BOOST_TEST(!media_type_matches("video/*", "video/"));
}

BOOST_AUTO_TEST_CASE(urls_need_a_scheme_and_an_authority) {
  BOOST_TEST(is_url("https://example.com/a?b=c"));
  BOOST_TEST(is_url("s3://bucket/key"));
  BOOST_TEST(!is_url("example.com"));
  BOOST_TEST(!is_url("hello world"));
  BOOST_TEST(!is_url("mailto:someone@example.com"));
  BOOST_TEST(!is_url("https://exa mple.com"));
}

BOOST_AUTO_TEST_CASE(dtype_names_round_trip) {
  for (auto name : {"string", "text", "url", "int", "float", "bool", "enum",
                    "json"}) {
    auto d = value_dtype_from_string(name);
    BOOST_REQUIRE(d);
    BOOST_TEST(to_string(*d) == name);
  }
  BOOST_TEST(!value_dtype_from_string("double"));
  BOOST_TEST(to_string(input_kind::asset) == "ASSET");
  BOOST_TEST((input_kind_from_string("VALUE") == std::optional{input_kind::value}));
}
