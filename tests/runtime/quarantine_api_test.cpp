#define BOOST_TEST_MODULE quarantine_api
#include <boost/test/unit_test.hpp>

// The body of `POST /api/quarantines` (runtime/api_quarantines.hpp): which
// requests become a change for Zenith, and every problem of the others with
// its code and JSON pointer.

#include "contracts/json.hpp"
#include "runtime/api_quarantines.hpp"
#include "tests/test_print.hpp"

#include <string>
#include <vector>

using namespace omniva;
using contracts::ec;

namespace {

json::value parse(const std::string& text) {
  auto r = json::parse(text);
  BOOST_REQUIRE_MESSAGE(r, "not JSON: " << text);
  return *r.doc;
}

/// The change `text` asks for; fails the case when it is refused.
contracts::quarantine_change accepted(const std::string& text) {
  std::vector<contracts::problem> problems;
  auto change = runtime::quarantine_request_from_json(parse(text), problems);
  BOOST_REQUIRE_MESSAGE(change, "refused: " << text << ": "
                                  << (problems.empty()
                                        ? std::string{"(no problem)"}
                                        : contracts::to_string(problems.front())));
  BOOST_CHECK(problems.empty());
  return *change;
}

/// Every problem of `text`, which must be refused.
std::vector<contracts::problem> refused(const std::string& text) {
  std::vector<contracts::problem> problems;
  auto change = runtime::quarantine_request_from_json(parse(text), problems);
  BOOST_CHECK_MESSAGE(!change, "accepted: " << text);
  BOOST_CHECK(!problems.empty());
  return problems;
}

/// The single problem of `text`; fails the case when it has another count.
contracts::problem refused_once(const std::string& text) {
  auto problems = refused(text);
  BOOST_REQUIRE_EQUAL(problems.size(), 1u);
  return problems.front();
}

} // namespace

// -- what is accepted ---------------------------------------------------------------

BOOST_AUTO_TEST_CASE(a_module_ref_becomes_a_module_target) {
  auto c = accepted(R"({"module": "media.metadata@2"})");
  BOOST_CHECK(c.add);
  BOOST_CHECK_EQUAL(c.target, "module:media.metadata@2");
  BOOST_CHECK_EQUAL(c.reason, "");
  BOOST_CHECK_EQUAL(c.by, "");
}

BOOST_AUTO_TEST_CASE(a_pool_name_becomes_a_pool_target_with_its_reason) {
  auto c = accepted(R"({"pool": "gpu-1.a_b", "reason": "driver update"})");
  BOOST_CHECK_EQUAL(c.target, "pool:gpu-1.a_b");
  BOOST_CHECK_EQUAL(c.reason, "driver update");
}

BOOST_AUTO_TEST_CASE(a_target_is_taken_as_given) {
  BOOST_CHECK_EQUAL(accepted(R"({"target": "module:x@1"})").target,
                    "module:x@1");
  BOOST_CHECK_EQUAL(accepted(R"({"target": "pool:gpu", "reason": null})").target,
                    "pool:gpu");
}

BOOST_AUTO_TEST_CASE(a_reason_of_the_largest_size_is_accepted) {
  std::string reason(runtime::max_quarantine_reason_bytes, 'r');
  auto c = accepted(R"({"pool": "gpu", "reason": ")" + reason + R"("})");
  BOOST_CHECK_EQUAL(c.reason, reason);
}

// -- the target ---------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(no_target_is_a_missing_field_at_target) {
  for (auto text : {R"({})", R"({"reason": "why"})"}) {
    auto p = refused_once(text);
    BOOST_CHECK_EQUAL(p.code, ec::missing_field);
    BOOST_CHECK_EQUAL(p.pointer, "/target");
  }
}

BOOST_AUTO_TEST_CASE(a_malformed_target_is_refused_at_the_member_that_gave_it) {
  struct example {
    const char* body;
    const char* pointer;
  };
  for (auto [body, pointer] : {
         example{R"({"target": "gpu"})", "/target"},
         example{R"({"target": "module:x"})", "/target"},
         example{R"({"target": "node:x"})", "/target"},
         example{R"({"module": "x"})", "/module"},
         example{R"({"module": "x@0"})", "/module"},
         example{R"({"module": "module:x@1"})", "/module"},
         example{R"({"pool": ""})", "/pool"},
         example{R"({"pool": "gpu a"})", "/pool"},
         example{R"({"pool": "pool:gpu"})", "/pool"},
       }) {
    BOOST_TEST_CONTEXT(body) {
      auto p = refused_once(body);
      BOOST_CHECK_EQUAL(p.code, ec::invalid_argument);
      BOOST_CHECK_EQUAL(p.pointer, pointer);
    }
  }
}

BOOST_AUTO_TEST_CASE(a_target_that_is_not_a_string_is_a_type_mismatch) {
  auto p = refused_once(R"({"module": 7})");
  BOOST_CHECK_EQUAL(p.code, ec::type_mismatch);
  BOOST_CHECK_EQUAL(p.pointer, "/module");
}

BOOST_AUTO_TEST_CASE(naming_the_target_twice_is_refused_at_the_second) {
  auto p = refused_once(R"({"module": "x@1", "pool": "gpu"})");
  BOOST_CHECK_EQUAL(p.code, ec::invalid_argument);
  BOOST_CHECK_EQUAL(p.pointer, "/pool");
  BOOST_CHECK_NE(p.message.find("'module'"), std::string::npos);
}

// -- the rest -----------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(a_body_that_is_not_an_object_is_a_type_mismatch_at_the_root) {
  for (auto text : {R"([])", R"("pool:gpu")", R"(null)"}) {
    auto p = refused_once(text);
    BOOST_CHECK_EQUAL(p.code, ec::type_mismatch);
    BOOST_CHECK_EQUAL(p.pointer, "");
  }
}

BOOST_AUTO_TEST_CASE(an_unknown_member_is_refused_at_its_escaped_pointer) {
  auto p = refused_once(R"({"pool": "gpu", "a/b~c": 1})");
  BOOST_CHECK_EQUAL(p.code, ec::unknown_field);
  BOOST_CHECK_EQUAL(p.pointer, "/a~1b~0c");
}

BOOST_AUTO_TEST_CASE(a_reason_that_is_not_a_string_or_too_long_is_refused) {
  auto p = refused_once(R"({"pool": "gpu", "reason": 3})");
  BOOST_CHECK_EQUAL(p.code, ec::type_mismatch);
  BOOST_CHECK_EQUAL(p.pointer, "/reason");
  std::string reason(runtime::max_quarantine_reason_bytes + 1, 'r');
  p = refused_once(R"({"pool": "gpu", "reason": ")" + reason + R"("})");
  BOOST_CHECK_EQUAL(p.code, ec::invalid_argument);
  BOOST_CHECK_EQUAL(p.pointer, "/reason");
}

BOOST_AUTO_TEST_CASE(every_problem_is_answered_at_once_in_the_bodys_order) {
  auto problems = refused(
    R"({"reason": 1, "module": "bad", "pool": "gpu", "color": "red"})");
  std::vector<std::pair<ec, std::string>> got;
  for (auto& p : problems)
    got.emplace_back(p.code, p.pointer);
  std::vector<std::pair<ec, std::string>> want{
    {ec::type_mismatch, "/reason"},
    {ec::invalid_argument, "/module"},
    {ec::invalid_argument, "/pool"},
    {ec::unknown_field, "/color"},
  };
  BOOST_REQUIRE_EQUAL(got.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    BOOST_CHECK_EQUAL(got[i].first, want[i].first);
    BOOST_CHECK_EQUAL(got[i].second, want[i].second);
  }
}

BOOST_AUTO_TEST_CASE(problems_already_given_are_kept_and_only_new_ones_count) {
  std::vector<contracts::problem> problems{
    {ec::invalid_json, "/x", "an earlier problem"}};
  auto change = runtime::quarantine_request_from_json(parse(R"({"pool": "gpu"})"),
                                                      problems);
  BOOST_REQUIRE(change);
  BOOST_CHECK_EQUAL(change->target, "pool:gpu");
  BOOST_CHECK_EQUAL(problems.size(), 1u);
}

BOOST_AUTO_TEST_CASE(a_refused_value_is_named_in_the_message) {
  auto p = refused_once("{\"pool\": \"g\\u00e9pu\"}");
  BOOST_CHECK_EQUAL(p.pointer, "/pool");
  BOOST_CHECK_NE(p.message.find("gépu"), std::string::npos);
}
