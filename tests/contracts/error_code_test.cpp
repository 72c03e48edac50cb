#define BOOST_TEST_MODULE error_code
#include <boost/test/unit_test.hpp>

#include "contracts/error_code.hpp"
#include "contracts/type_ids.hpp"
#include "tests/test_print.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/message.hpp>
#include <caf/sec.hpp>

#include <set>
#include <string>

using namespace omniva::contracts;

BOOST_AUTO_TEST_CASE(every_code_round_trips_through_its_name) {
  for (auto code : all_error_codes()) {
    auto name = to_string(code);
    auto parsed = ec_from_string(name);
    BOOST_REQUIRE_MESSAGE(parsed.has_value(), name);
    BOOST_CHECK_MESSAGE(*parsed == code, name);
  }
}

BOOST_AUTO_TEST_CASE(names_and_values_are_unique) {
  std::set<std::string> names;
  std::set<int> values;
  for (auto code : all_error_codes()) {
    BOOST_CHECK_MESSAGE(names.emplace(to_string(code)).second,
                        "duplicate name " << to_string(code));
    BOOST_CHECK(values.emplace(static_cast<int>(code)).second);
  }
  BOOST_TEST(names.size() == ec_count);
  BOOST_TEST(!names.contains("unknown"));
}

BOOST_AUTO_TEST_CASE(names_are_snake_case) {
  for (auto code : all_error_codes()) {
    auto name = to_string(code);
    BOOST_REQUIRE(!name.empty());
    bool ok = name.front() != '_' && name.back() != '_';
    for (char c : name)
      ok = ok && ((c >= 'a' && c <= 'z') || c == '_');
    BOOST_CHECK_MESSAGE(ok, name);
  }
}

BOOST_AUTO_TEST_CASE(numeric_values_are_stable) {
  // Values travel in caf::error across nodes: they never change.
  BOOST_TEST(static_cast<int>(ec::none) == 0);
  BOOST_TEST(static_cast<int>(ec::invalid_json) == 1);
  BOOST_TEST(static_cast<int>(ec::illegal_transition) == 7);
  BOOST_TEST(static_cast<int>(ec::missing_input) == 16);
  BOOST_TEST(static_cast<int>(ec::semantic_violation) == 28);
  BOOST_TEST(static_cast<int>(ec::invalid_digest) == 34);
}

BOOST_AUTO_TEST_CASE(every_code_the_design_names_exists) {
  for (auto name :
       {"invalid_json", "invalid_schema", "schema_violation", "io_error",
        "invalid_argument", "unsupported_schema_version", "illegal_transition",
        "invalid_contract", "duplicate_key", "invalid_range", "invalid_default",
        "invalid_media_type", "empty_command", "invalid_ref",
        "module_not_found", "missing_input", "unknown_input", "asset_not_found",
        "asset_failed", "kind_mismatch", "media_type_mismatch",
        "dtype_mismatch", "out_of_range", "not_in_enum", "pattern_mismatch",
        "too_long", "invalid_pattern", "semantic_violation"})
    BOOST_CHECK_MESSAGE(ec_from_string(name).has_value(), name);
}

BOOST_AUTO_TEST_CASE(unknown_names_and_values_are_rejected) {
  BOOST_TEST(!ec_from_string("no_such_code").has_value());
  BOOST_TEST(!ec_from_string("Missing_Input").has_value());
  BOOST_TEST(!ec_from_string("").has_value());
  BOOST_TEST(to_string(static_cast<ec>(200)) == "unknown");
}

BOOST_AUTO_TEST_CASE(make_error_carries_code_and_category) {
  caf::error err = make_error(ec::missing_input, "the input x is missing");
  BOOST_TEST(err.code() == static_cast<uint8_t>(ec::missing_input));
  BOOST_TEST((err.category() == error_category));
  BOOST_TEST((err == ec::missing_input));
  BOOST_TEST((err != ec::unknown_input));
}

BOOST_AUTO_TEST_CASE(an_ec_converts_implicitly_to_caf_error) {
  caf::error err = ec::io_error;
  BOOST_TEST(err.code() == static_cast<uint8_t>(ec::io_error));
  BOOST_TEST(err.context().empty());
}

BOOST_AUTO_TEST_CASE(render_error_prints_the_name_and_the_context) {
  auto err = make_error(ec::missing_input, "the input x is missing");
  BOOST_TEST(render_error(err.code(), err.category(), err.context())
             == "missing_input: the input x is missing");
  auto bare = make_error(ec::io_error);
  BOOST_TEST(render_error(bare.code(), bare.category(), bare.context())
             == "io_error");
}

BOOST_AUTO_TEST_CASE(a_problem_becomes_an_error_with_pointer_and_message) {
  auto err = make_error(problem{ec::missing_input, "/input_mapping/x",
                                "the input x is required"});
  BOOST_TEST(render_error(err.code(), err.category(), err.context())
             == "missing_input: /input_mapping/x: the input x is required");
}

BOOST_AUTO_TEST_CASE(an_error_with_a_pointer_keeps_it_across_actors) {
  auto err = make_error(ec::invalid_schema, "type 'strnig' is not a type",
                        "/properties/n/type");
  BOOST_TEST(render_error(err.code(), err.category(), err.context())
             == "invalid_schema: type 'strnig' is not a type (at "
                "/properties/n/type)");
  auto p = problem_from_error(err);
  BOOST_REQUIRE(p.has_value());
  BOOST_CHECK(*p == (problem{ec::invalid_schema, "/properties/n/type",
                             "type 'strnig' is not a type"}));
  auto root = problem_from_error(make_error(ec::not_found, "no schema x@1"));
  BOOST_REQUIRE(root.has_value());
  BOOST_CHECK(*root == (problem{ec::not_found, "", "no schema x@1"}));
  BOOST_CHECK(!problem_from_error(caf::make_error(caf::sec::request_timeout)));
}

BOOST_AUTO_TEST_CASE(the_actor_system_renders_registered_errors) {
  caf::actor_system_config cfg;
  register_types(cfg);
  caf::actor_system sys{cfg};
  BOOST_TEST(sys.render(make_error(ec::asset_not_found, "no asset 42"))
             == "asset_not_found: no asset 42");
}

BOOST_AUTO_TEST_CASE(problem_json_has_code_pointer_and_message) {
  problem p{ec::missing_input, "/input_mapping/x", "the input x is required"};
  BOOST_TEST(omniva::json::serialize(to_json(p))
             == R"({"code":"missing_input","pointer":"/input_mapping/x",)"
                R"("message":"the input x is required"})");
}

BOOST_AUTO_TEST_CASE(problem_json_keeps_an_empty_pointer_for_the_root) {
  problem p{ec::invalid_json, "", "not JSON"};
  auto j = to_json(p);
  auto* pointer = j.find("pointer");
  BOOST_REQUIRE(pointer != nullptr);
  BOOST_TEST(pointer->as_string() == "");
}

BOOST_AUTO_TEST_CASE(problem_json_round_trips) {
  problem p{ec::out_of_range, "/values/threshold", "must lie in [0, 1]"};
  auto back = problem_from_json(to_json(p));
  BOOST_REQUIRE(back.has_value());
  BOOST_TEST((*back == p));
  BOOST_TEST(!problem_from_json(omniva::json::value{"x"}).has_value());
}

BOOST_AUTO_TEST_CASE(problem_to_string_names_code_and_place) {
  BOOST_TEST(to_string(problem{ec::too_long, "/label", "at most 5"})
             == "too_long at /label: at most 5");
  BOOST_TEST(to_string(problem{ec::invalid_json, "", "not JSON"})
             == "invalid_json at the root: not JSON");
}

BOOST_AUTO_TEST_CASE(problems_found_at_once_become_one_error_led_by_the_first) {
  std::vector<problem> problems{
    {ec::dtype_mismatch, "/value", "expected an integer"},
    {ec::missing_field, "", "the label is missing"}};
  auto p = problem_from_error(make_error(problems, ec::invalid_argument));
  BOOST_REQUIRE(p);
  BOOST_TEST(p->code == ec::dtype_mismatch);
  BOOST_TEST(p->pointer == "/value");
  BOOST_TEST(p->message
             == "dtype_mismatch /value: expected an integer; "
                "missing_field (root): the label is missing");
}

BOOST_AUTO_TEST_CASE(one_problem_keeps_its_own_message_and_none_gives_the_fallback) {
  auto one = problem_from_error(
    make_error(std::vector<problem>{{ec::invalid_json, "/value", "not JSON"}}, ec::none));
  BOOST_REQUIRE(one);
  BOOST_TEST(one->code == ec::invalid_json);
  BOOST_TEST(one->pointer == "/value");
  BOOST_TEST(one->message == "not JSON");
  auto none = problem_from_error(make_error(std::vector<problem>{}, ec::invalid_contract));
  BOOST_REQUIRE(none);
  BOOST_TEST(none->code == ec::invalid_contract);
}
