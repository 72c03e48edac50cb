#define BOOST_TEST_MODULE access
#include <boost/test/unit_test.hpp>

// Roles and named tokens (contracts/access.hpp): the role order, token
// names, expiry as people write it, and the token record and change through
// CAF and JSON, with every problem and its pointer.

#include "contracts/access.hpp"
#include "contracts/type_ids.hpp"

#include <caf/binary_deserializer.hpp>
#include <caf/binary_serializer.hpp>

#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

using namespace omniva;
using namespace omniva::contracts;
using namespace std::chrono_literals;

namespace {

/// 2026-09-21T14:13:20Z.
const timestamp now{std::chrono::milliseconds{1'790'000'000'000}};

template <class T>
T binary_round_trip(T x) {
  std::vector<char> buf;
  caf::binary_serializer sink{nullptr, buf};
  BOOST_REQUIRE(!sink(x));
  T out;
  caf::binary_deserializer source{nullptr, buf};
  BOOST_REQUIRE(!source(out));
  BOOST_CHECK_EQUAL(source.remaining(), 0u);
  return out;
}

json::value parse(std::string_view text) {
  auto doc = json::parse(text);
  BOOST_REQUIRE_MESSAGE(doc, "not JSON: " << text);
  return std::move(*doc.doc);
}

/// The pointers of the problems `token_record_from_json` finds in `text`.
std::vector<std::string> record_problems(std::string_view text) {
  std::vector<problem> problems;
  auto t = token_record_from_json(parse(text), problems);
  BOOST_CHECK(!t);
  std::vector<std::string> out;
  for (auto& p : problems)
    out.push_back(p.pointer);
  return out;
}

token_record sample_record() {
  return {"ci-bot", role::operator_, std::string(64, 'a'),
          "2026-09-21T14:13:20.000Z", "admin", "2027-01-01T00:00:00.000Z"};
}

} // namespace

BOOST_AUTO_TEST_CASE(each_role_allows_what_the_ones_below_it_do) {
  BOOST_CHECK(allows(role::admin, role::operator_));
  BOOST_CHECK(allows(role::operator_, role::viewer));
  BOOST_CHECK(allows(role::viewer, role::viewer));
  BOOST_CHECK(!allows(role::viewer, role::operator_));
  BOOST_CHECK(!allows(role::operator_, role::admin));
  for (auto r : {role::viewer, role::operator_, role::admin})
    BOOST_CHECK(role_from_string(to_string(r)) == r);
  BOOST_CHECK(!role_from_string("Admin"));
  BOOST_CHECK(!role_from_string("operator_"));
}

BOOST_AUTO_TEST_CASE(token_names_are_lowercase_and_at_most_64_bytes) {
  for (auto good : {"a", "ci-bot", "team.dash_1", "z9"})
    BOOST_CHECK_MESSAGE(is_token_name(good), good);
  BOOST_CHECK(is_token_name(std::string(64, 'a')));
  for (auto bad : {"", "1a", "-a", "_a", ".a", "A", "aB", "a b", "a/b", "a:b",
                   "caf\xc3\xa9", "a\n"})
    BOOST_CHECK_MESSAGE(!is_token_name(bad), bad);
  BOOST_CHECK(!is_token_name(std::string(65, 'a')));
  auto p = check_token_name("Bad", "/name");
  BOOST_REQUIRE(p);
  BOOST_CHECK(p->code == ec::invalid_argument);
  BOOST_CHECK_EQUAL(p->pointer, "/name");
  BOOST_CHECK(!check_token_name("good", "/name"));
  BOOST_CHECK_EQUAL(token_subject("ci"), "token:ci");
}

BOOST_AUTO_TEST_CASE(an_expiry_is_a_duration_or_a_time_in_the_future) {
  BOOST_CHECK(*parse_expiry("90s", now) == now + 90s);
  BOOST_CHECK(*parse_expiry("15m", now) == now + 15min);
  BOOST_CHECK(*parse_expiry("12h", now) == now + 12h);
  BOOST_CHECK(*parse_expiry("30d", now) == now + 720h);
  BOOST_CHECK(*parse_expiry("36525d", now) == now + 36525 * 24h);
  BOOST_CHECK(*parse_expiry("2027-01-01T00:00:00Z", now)
              == *parse_timestamp("2027-01-01T00:00:00Z"));
  for (auto bad : {"", "0s", "0d", "-1d", "1", "d", "1w", "1.5h", "1 d", "1D",
                   "36526d", "999999999999999999999d", "2026-09-21T14:13:20Z",
                   "2001-01-01T00:00:00Z", "tomorrow"}) {
    auto r = parse_expiry(bad, now);
    BOOST_CHECK_MESSAGE(!r, bad);
    if (!r)
      BOOST_CHECK(problem_from_error(r.error())->code == ec::invalid_argument);
  }
}

BOOST_AUTO_TEST_CASE(a_token_record_round_trips_and_its_public_form_has_no_hash) {
  auto t = sample_record();
  BOOST_CHECK(binary_round_trip(t) == t);
  auto never = t;
  never.expires_at.reset();
  BOOST_CHECK(binary_round_trip(never) == never);
  std::vector<problem> problems;
  auto back = token_record_from_json(parse(json::serialize(to_json(t))), problems);
  BOOST_REQUIRE(back);
  BOOST_CHECK(*back == t);
  back = token_record_from_json(parse(json::serialize(to_json(never))), problems);
  BOOST_REQUIRE(back);
  BOOST_CHECK(*back == never);
  BOOST_CHECK(problems.empty());
  auto shown = to_public_json(t);
  BOOST_CHECK(shown.find("secret_sha256") == nullptr);
  BOOST_CHECK(json::serialize(shown).find(t.secret_sha256) == std::string::npos);
  BOOST_CHECK(to_public_json(never).find("expires_at")->is_null());
}

BOOST_AUTO_TEST_CASE(a_bad_token_row_reports_every_problem_with_its_pointer) {
  auto pointers = record_problems(
    R"({"name": "Bad", "role": "root", "secret_sha256": "xyz",
        "created_at": "yesterday", "created_by": 3, "expires_at": "never",
        "extra": 1})");
  std::vector<std::string> expected{"/extra",      "/name",       "/role",
                                    "/secret_sha256", "/created_by", "/created_at",
                                    "/expires_at"};
  std::sort(pointers.begin(), pointers.end());
  std::sort(expected.begin(), expected.end());
  BOOST_CHECK_EQUAL_COLLECTIONS(pointers.begin(), pointers.end(), expected.begin(),
                                expected.end());
  auto missing = record_problems("{}");
  BOOST_CHECK_EQUAL(missing.size(), 5u); // all but expires_at
  BOOST_CHECK_EQUAL(record_problems("[]").size(), 1u);
}

BOOST_AUTO_TEST_CASE(a_token_change_round_trips_and_is_checked) {
  token_change c{token_action::rotate, "ci", role::viewer, std::string(64, 'b'),
                 std::nullopt, "admin"};
  BOOST_CHECK(binary_round_trip(c) == c);
  std::vector<problem> problems;
  auto back = token_change_from_json(parse(json::serialize(to_json(c))), problems);
  BOOST_REQUIRE(back);
  BOOST_CHECK(*back == c);
  BOOST_CHECK(check_token_change(c, now).empty());
  // A revoke needs no hash; a create needs a role.
  token_change r{token_action::revoke, "ci", std::nullopt, "", std::nullopt, "a"};
  BOOST_CHECK(check_token_change(r, now).empty());
  token_change bad{token_action::create, "CI", std::nullopt, "nothex",
                   "2001-01-01T00:00:00Z", ""};
  std::vector<std::string> pointers;
  for (auto& p : check_token_change(bad, now))
    pointers.push_back(p.pointer);
  std::vector<std::string> expected{"/name", "/role", "/secret_sha256",
                                    "/expires_at", "/by"};
  BOOST_CHECK_EQUAL_COLLECTIONS(pointers.begin(), pointers.end(), expected.begin(),
                                expected.end());
  problems.clear();
  BOOST_CHECK(!token_change_from_json(parse(R"({"action": "delete", "name": "x", "by": "y"})"),
                                      problems));
  BOOST_REQUIRE_EQUAL(problems.size(), 1u);
  BOOST_CHECK_EQUAL(problems[0].pointer, "/action");
}
