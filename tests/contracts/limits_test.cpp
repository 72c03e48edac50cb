#define BOOST_TEST_MODULE limits
#include <boost/test/unit_test.hpp>

// The limits' data (contracts/limits.hpp, docs/policies.md): windows aligned
// to the Unix epoch and their spelling, the subjects of budgets, quotas,
// runs' spend and leases, the rows of table `limits` read back (and damaged
// ones refused with a reason), and the bodies of the budget and quota API
// (every problem at once, with its code and pointer).

#include "contracts/limits.hpp"
#include "contracts/predicate.hpp"
#include "tests/test_print.hpp"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

using namespace omniva::contracts;
namespace json = omniva::json;

namespace {

constexpr int64_t second = 1000;
constexpr int64_t minute = 60 * second;
constexpr int64_t hour = 60 * minute;
constexpr int64_t day = 24 * hour;

/// Parses `text`, which the test wrote: it must be JSON.
json::value doc(const std::string& text) {
  auto parsed = json::parse(text);
  BOOST_REQUIRE_MESSAGE(parsed, "the test's JSON does not parse: " << text);
  return std::move(*parsed.doc);
}

/// "code pointer" of each problem, sorted (the order is not the contract).
std::vector<std::string> codes(const std::vector<problem>& problems) {
  std::vector<std::string> out;
  for (auto& p : problems)
    out.push_back(std::string{to_string(p.code)} + " " + p.pointer);
  std::sort(out.begin(), out.end());
  return out;
}

/// Every problem on one line each, for failure messages.
std::string dump(const std::vector<problem>& problems) {
  std::string out;
  for (auto& p : problems)
    out += "\n  " + std::string{to_string(p.code)} + " " + p.pointer + ": "
           + p.message;
  return out;
}

/// Reads `body` as the API does; the problems go to `problems`.
std::optional<limits_request> request(const std::string& body,
                                      std::string_view kind,
                                      std::string_view name, bool create,
                                      std::vector<problem>& problems) {
  return limits_request_from_json(doc(body), kind, name, create, problems);
}

const std::string run_uuid = "0f8fad5b-d9cb-469f-a165-70867728950e";

budget_record a_budget() {
  budget_record b;
  b.subject = "budget:team";
  b.max_usd_micro = 5'000'000;
  b.window_ms = day;
  b.window_start_ms = 1'789'948'800'000;
  b.reserved_usd_micro = 250'000;
  b.spent_usd_micro = 500'000;
  b.description = "5 dollars a day";
  b.created_at = "2026-09-20T00:00:00.000Z";
  b.updated_at = "2026-09-21T10:00:00.000Z";
  return b;
}

quota_record a_quota() {
  quota_record q;
  q.subject = "quota:youtube-data-api";
  q.units = 10'000;
  q.window_ms = day;
  q.window_start_ms = 1'789'948'800'000;
  q.used_units = 3'200;
  q.description = "YouTube Data API";
  q.created_at = "2026-09-20T00:00:00.000Z";
  q.updated_at = "2026-09-21T10:00:00.000Z";
  return q;
}

lease_record a_lease() {
  lease_record l;
  l.subject = "lease:/publish/youtube/";
  l.task_id = run_uuid;
  l.attempt = 2;
  l.ttl_ms = 3600 * second;
  l.expires_ms = 1'790'003'600'000;
  l.taken_at = "2026-09-21T10:13:20.000Z";
  return l;
}

/// `to_json(x)` with member `key` set to `v` (or removed when `v` is
/// absent).
template <class Record>
json::value with(const Record& x, const std::string& key,
                 std::optional<json::value> v) {
  auto out = to_json(x);
  if (v)
    out.set(key, std::move(*v));
  else
    out.erase(key);
  return out;
}

} // namespace

// -- windows ----------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(windows_are_aligned_to_the_unix_epoch) {
  // 1'790'000'000'000 ms is 2026-09-21T14:13:20Z: its day began at 00:00 UTC.
  BOOST_CHECK_EQUAL(window_start(1'790'000'000'000, day), 1'789'948'800'000);
  BOOST_CHECK_EQUAL(window_start(1'790'000'000'000, hour), 1'789'999'200'000);
  BOOST_CHECK_EQUAL(window_start(1'790'000'000'000, 30 * second),
                    1'789'999'980'000);
  // A boundary starts its own window; the instant before is in the last one.
  BOOST_CHECK_EQUAL(window_start(1'789'948'800'000, day), 1'789'948'800'000);
  BOOST_CHECK_EQUAL(window_start(1'789'948'800'000 - 1, day),
                    1'789'948'800'000 - day);
  BOOST_CHECK_EQUAL(window_start(0, day), 0);
  BOOST_CHECK_EQUAL(window_start(day - 1, day), 0);
  BOOST_CHECK_EQUAL(window_start(day, day), day);
  // Before the epoch, windows still start at a multiple of their length.
  BOOST_CHECK_EQUAL(window_start(-1, second), -second);
  BOOST_CHECK_EQUAL(window_start(-second, second), -second);
  BOOST_CHECK_EQUAL(window_start(-second - 1, second), -2 * second);
  // No window: 0.
  BOOST_CHECK_EQUAL(window_start(1'790'000'000'000, 0), 0);
  BOOST_CHECK_EQUAL(window_start(1'790'000'000'000, -5), 0);
}

BOOST_AUTO_TEST_CASE(windows_parse_with_their_units_within_bounds) {
  struct known {
    const char* text;
    int64_t ms;
  };
  for (auto [text, ms] : {known{"30s", 30 * second}, known{"15m", 15 * minute},
                          known{"12h", 12 * hour}, known{"1d", day},
                          known{"1s", second}, known{"1000ms", second},
                          known{"1500ms", 1500}, known{"90s", 90 * second},
                          known{"366d", 366 * day}, known{"8784h", 366 * day},
                          known{"0001d", day}}) {
    auto parsed = parse_window(text);
    BOOST_CHECK_MESSAGE(parsed && *parsed == ms,
                        text << " parses to " << (parsed ? *parsed : -1)
                             << ", not " << ms);
  }
  // The bounds are 1 s and 366 days, both included.
  BOOST_CHECK_EQUAL(*parse_window("1s"), min_window_ms);
  BOOST_CHECK_EQUAL(*parse_window("366d"), max_window_ms);
  for (auto out : {"999ms", "500ms", "0s", "0d", "367d", "8785h", "527041m",
                   "31622400001ms"})
    BOOST_CHECK_MESSAGE(!parse_window(out), out << " is outside 1s .. 366d");
  for (auto bad : {"", "d", "s", "1", "12", "1w", "1y", "1D", "1S", "-1d", "+1d",
                   "1.5h", " 1d", "1d ", "1 d", "1dd", "1ds", "d1", "1e3s",
                   "0x10s", "1d1h"})
    BOOST_CHECK_MESSAGE(!parse_window(bad), "'" << bad << "' is not a window");
  // At most twelve digits.
  BOOST_CHECK(!parse_window("0000000000001d"));
  BOOST_CHECK(parse_window("000000000001d"));
}

// A regression test: twelve digits of days do not fit in 64 bits of
// milliseconds (999'999'999'999 days is 8.64e19 ms, above INT64_MAX). Before
// baa397b parse_window multiplied first, the signed product overflowed and
// wrapped: "213503982335d" (2^64 / 86'400'000, rounded up) came out as
// 34'448'384 ms, a window of 9.5 hours, accepted.
BOOST_AUTO_TEST_CASE(a_huge_count_of_days_is_refused_not_wrapped) {
  for (auto huge : {"213503982335d", "427007964670d", "640511947004d",
                    "854015929339d", "999999999999d", "999999999999h",
                    "999999999999m", "999999999999s", "999999999999ms"}) {
    auto parsed = parse_window(huge);
    BOOST_CHECK_MESSAGE(!parsed, huge << " is far above 366d, yet parses to "
                                      << (parsed ? *parsed : -1) << " ms");
  }
}

BOOST_AUTO_TEST_CASE(windows_are_spelled_in_their_largest_exact_unit) {
  BOOST_CHECK_EQUAL(format_window(day), "1d");
  BOOST_CHECK_EQUAL(format_window(366 * day), "366d");
  BOOST_CHECK_EQUAL(format_window(12 * hour), "12h");
  BOOST_CHECK_EQUAL(format_window(36 * hour), "36h");
  BOOST_CHECK_EQUAL(format_window(15 * minute), "15m");
  BOOST_CHECK_EQUAL(format_window(90 * second), "90s");
  BOOST_CHECK_EQUAL(format_window(30 * second), "30s");
  BOOST_CHECK_EQUAL(format_window(1500), "1500ms");
  BOOST_CHECK_EQUAL(format_window(1), "1ms");
  // Whatever it writes parses back to the same length.
  for (int64_t ms : std::initializer_list<int64_t>{
         second, 1500, 90 * second, 15 * minute, 61 * minute, 12 * hour,
         25 * hour, day, 7 * day, 366 * day})
    BOOST_CHECK_EQUAL(parse_window(format_window(ms)).value_or(-1), ms);
}

// -- subjects -----------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(limits_subjects_name_a_budget_a_quota_a_run_or_a_lease) {
  const std::vector<std::string> goods{
    "budget:team", "budget:a", "budget:paid-api_2.x", "quota:youtube-data-api",
    "run:" + run_uuid, "lease:/publish/youtube/", "lease:/", "lease:/a/b"};
  for (auto& good : goods)
    BOOST_CHECK_MESSAGE(is_limits_subject(good), good);
  for (auto bad : {"", "budget", "budget:", "budget:Team", "budget:9lives",
                   "budget:a b", "quota:", "quota:YT", "run:", "run:abc",
                   "run:0f8fad5b-d9cb-469f-a165-70867728950", "lease:",
                   "lease:publish", "lease:/a//b", "lease:/a/../b", "task:x",
                   "team", "Budget:team", " budget:team"})
    BOOST_CHECK_MESSAGE(!is_limits_subject(bad), "'" << bad << "' is no subject");
  BOOST_CHECK(!is_limits_subject("budget:" + std::string(65, 'a')));
  BOOST_CHECK(is_limits_subject("budget:" + std::string(64, 'a')));
}

// -- rows -----------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(a_budget_row_round_trips_with_its_derived_members) {
  auto b = a_budget();
  auto j = to_json(b);
  BOOST_CHECK_EQUAL(j.find("name")->as_string(), "team");
  BOOST_CHECK_EQUAL(j.find("window")->as_string(), "1d");
  BOOST_CHECK_EQUAL(j.find("window_start")->as_string(), "2026-09-21T00:00:00.000Z");
  BOOST_CHECK_EQUAL(*j.find("available_usd_micro")->as_int64(), 4'250'000);
  std::string why;
  auto back = budget_from_json(doc(json::serialize(j)), why);
  BOOST_REQUIRE_MESSAGE(back, why);
  BOOST_CHECK(*back == b);
  // Overcommitted (a raise lowered since): nothing available, never less.
  b.max_usd_micro = 600'000;
  BOOST_CHECK_EQUAL(*to_json(b).find("available_usd_micro")->as_int64(), 0);
  // A run's spend without a cap nor a window: null cap, no window members.
  budget_record run;
  run.subject = "run:" + run_uuid;
  run.spent_usd_micro = 42;
  run.created_at = run.updated_at = "2026-09-21T10:00:00.000Z";
  auto rj = to_json(run);
  BOOST_CHECK_EQUAL(rj.find("run_id")->as_string(), run_uuid);
  BOOST_CHECK(rj.find("max_usd_micro")->is_null());
  BOOST_CHECK(rj.find("window") == nullptr);
  BOOST_CHECK(rj.find("available_usd_micro") == nullptr);
  auto run_back = budget_from_json(doc(json::serialize(rj)), why);
  BOOST_REQUIRE_MESSAGE(run_back, why);
  BOOST_CHECK(*run_back == run);
  // A cap of zero is a cap.
  run.max_usd_micro = 0;
  auto zero = budget_from_json(to_json(run), why);
  BOOST_REQUIRE_MESSAGE(zero, why);
  BOOST_CHECK_EQUAL(zero->max_usd_micro, 0);
}

BOOST_AUTO_TEST_CASE(damaged_budget_rows_are_refused_with_a_reason) {
  auto b = a_budget();
  std::vector<std::pair<std::string, json::value>> damaged{
    {"an array", doc("[1]")},
    {"a string", json::value{"budget:team"}},
    {"no subject", with(b, "subject", std::nullopt)},
    {"a quota's subject", with(b, "subject", json::value{"quota:team"})},
    {"a lease's subject", with(b, "subject", json::value{"lease:/a/"})},
    {"a malformed subject", with(b, "subject", json::value{"budget:Team"})},
    {"a subject that is a number", with(b, "subject", json::value{7})},
    {"a negative cap", with(b, "max_usd_micro", json::value{-1})},
    {"a cap above 10^15", with(b, "max_usd_micro", json::value{max_usd_micro + 1})},
    {"a cap as text", with(b, "max_usd_micro", json::value{"5"})},
    {"a fractional cap", with(b, "max_usd_micro", json::value{1.5})},
    {"a window above 366d", with(b, "window_ms", json::value{max_window_ms + 1})},
    {"a negative window", with(b, "window_ms", json::value{-1})},
    {"a negative window start", with(b, "window_start_ms", json::value{-1})},
    {"a negative reservation", with(b, "reserved_usd_micro", json::value{-1})},
    {"a reservation as text", with(b, "reserved_usd_micro", json::value{"1"})},
    {"a negative spend", with(b, "spent_usd_micro", json::value{-5})},
    {"a fractional spend", with(b, "spent_usd_micro", json::value{0.5})},
  };
  for (auto& [what, row] : damaged) {
    std::string why;
    auto back = budget_from_json(row, why);
    BOOST_CHECK_MESSAGE(!back, "a budget row with " << what << " is read");
    BOOST_CHECK_MESSAGE(!why.empty(), "no reason for " << what);
  }
  // What the row may leave out reads as its default.
  std::string why;
  auto bare = budget_from_json(doc(R"({"subject": "budget:team"})"), why);
  BOOST_REQUIRE_MESSAGE(bare, why);
  BOOST_CHECK_EQUAL(bare->max_usd_micro, -1);
  BOOST_CHECK_EQUAL(bare->window_ms, 0);
  BOOST_CHECK_EQUAL(bare->committed(), 0);
}

BOOST_AUTO_TEST_CASE(a_quota_row_round_trips_with_its_derived_members) {
  auto q = a_quota();
  auto j = to_json(q);
  BOOST_CHECK_EQUAL(j.find("name")->as_string(), "youtube-data-api");
  BOOST_CHECK_EQUAL(j.find("window")->as_string(), "1d");
  BOOST_CHECK_EQUAL(*j.find("available_units")->as_int64(), 6'800);
  BOOST_CHECK_EQUAL(j.find("resets_at")->as_string(), "2026-09-22T00:00:00.000Z");
  std::string why;
  auto back = quota_from_json(doc(json::serialize(j)), why);
  BOOST_REQUIRE_MESSAGE(back, why);
  BOOST_CHECK(*back == q);
  q.used_units = 12'000; // the quota was lowered under what was used
  BOOST_CHECK_EQUAL(*to_json(q).find("available_units")->as_int64(), 0);
  auto over = quota_from_json(to_json(q), why);
  BOOST_REQUIRE_MESSAGE(over, why);
  BOOST_CHECK_EQUAL(over->used_units, 12'000);
}

BOOST_AUTO_TEST_CASE(damaged_quota_rows_are_refused_with_a_reason) {
  auto q = a_quota();
  std::vector<std::pair<std::string, json::value>> damaged{
    {"null", json::value{}},
    {"no subject", with(q, "subject", std::nullopt)},
    {"a budget's subject", with(q, "subject", json::value{"budget:x"})},
    {"a malformed subject", with(q, "subject", json::value{"quota:"})},
    {"no units", with(q, "units", std::nullopt)},
    {"zero units", with(q, "units", json::value{0})},
    {"too many units", with(q, "units", json::value{max_quota_units + 1})},
    {"units as text", with(q, "units", json::value{"10000"})},
    {"no window", with(q, "window_ms", std::nullopt)},
    {"a window below 1s", with(q, "window_ms", json::value{999})},
    {"a window above 366d", with(q, "window_ms", json::value{max_window_ms + 1})},
    {"a negative window start", with(q, "window_start_ms", json::value{-1})},
    {"negative used units", with(q, "used_units", json::value{-1})},
    {"fractional used units", with(q, "used_units", json::value{1.25})},
  };
  for (auto& [what, row] : damaged) {
    std::string why;
    auto back = quota_from_json(row, why);
    BOOST_CHECK_MESSAGE(!back, "a quota row with " << what << " is read");
    BOOST_CHECK_MESSAGE(!why.empty(), "no reason for " << what);
  }
}

BOOST_AUTO_TEST_CASE(a_lease_row_round_trips_and_names_its_prefix) {
  auto l = a_lease();
  BOOST_CHECK_EQUAL(l.prefix(), "/publish/youtube/");
  auto j = to_json(l);
  BOOST_CHECK_EQUAL(j.find("prefix")->as_string(), "/publish/youtube/");
  BOOST_CHECK_EQUAL(j.find("expires_at")->as_string(), "2026-09-21T15:13:20.000Z");
  std::string why;
  auto back = lease_from_json(doc(json::serialize(j)), why);
  BOOST_REQUIRE_MESSAGE(back, why);
  BOOST_CHECK(*back == l);
  // The largest attempt number survives.
  l.attempt = std::numeric_limits<uint32_t>::max();
  auto big = lease_from_json(to_json(l), why);
  BOOST_REQUIRE_MESSAGE(big, why);
  BOOST_CHECK_EQUAL(big->attempt, std::numeric_limits<uint32_t>::max());
  // A record without a subject has no prefix.
  BOOST_CHECK_EQUAL(lease_record{}.prefix(), "");
}

BOOST_AUTO_TEST_CASE(damaged_lease_rows_are_refused_with_a_reason) {
  auto l = a_lease();
  std::vector<std::pair<std::string, json::value>> damaged{
    {"a number", json::value{3}},
    {"no subject", with(l, "subject", std::nullopt)},
    {"a budget's subject", with(l, "subject", json::value{"budget:x"})},
    {"a relative prefix", with(l, "subject", json::value{"lease:publish/"})},
    {"a '..' segment", with(l, "subject", json::value{"lease:/a/../b"})},
    {"no attempt", with(l, "attempt", std::nullopt)},
    {"a negative attempt", with(l, "attempt", json::value{-1})},
    {"an attempt above 2^32", with(l, "attempt", json::value{int64_t{1} << 32})},
    {"no ttl", with(l, "ttl_ms", std::nullopt)},
    {"a negative ttl", with(l, "ttl_ms", json::value{-1})},
    {"no expiry", with(l, "expires_ms", std::nullopt)},
    {"an expiry as text", with(l, "expires_ms", json::value{"soon"})},
  };
  for (auto& [what, row] : damaged) {
    std::string why;
    auto back = lease_from_json(row, why);
    BOOST_CHECK_MESSAGE(!back, "a lease row with " << what << " is read");
    BOOST_CHECK_MESSAGE(!why.empty(), "no reason for " << what);
  }
}

// -- the API's bodies ---------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(a_budget_is_created_from_a_whole_body) {
  std::vector<problem> problems;
  auto r = request(R"({"name": "team", "max_usd_micro": 5000000, "window": "1d",
                       "description": "5 dollars a day"})",
                   "budget", "", true, problems);
  BOOST_REQUIRE_MESSAGE(r, dump(problems));
  BOOST_CHECK(problems.empty());
  BOOST_CHECK_EQUAL(r->op, "create");
  BOOST_CHECK_EQUAL(r->subject, "budget:team");
  BOOST_CHECK_EQUAL(r->max_usd_micro, 5'000'000);
  BOOST_CHECK_EQUAL(r->window_ms, day);
  BOOST_CHECK_EQUAL(r->units, -1);
  BOOST_CHECK(r->has_description);
  BOOST_CHECK_EQUAL(r->description, "5 dollars a day");
  // Without a window or a description: not given (-1, none).
  auto bare = request(R"({"name": "team", "max_usd_micro": 0})", "budget", "",
                      true, problems);
  BOOST_REQUIRE_MESSAGE(bare, dump(problems));
  BOOST_CHECK_EQUAL(bare->max_usd_micro, 0);
  BOOST_CHECK_EQUAL(bare->window_ms, -1);
  BOOST_CHECK(!bare->has_description);
  // The largest cap.
  auto most = request(R"({"name": "team", "max_usd_micro": 1000000000000000})",
                      "budget", "", true, problems);
  BOOST_REQUIRE_MESSAGE(most, dump(problems));
  BOOST_CHECK_EQUAL(most->max_usd_micro, max_usd_micro);
}

BOOST_AUTO_TEST_CASE(a_set_changes_only_what_it_names) {
  std::vector<problem> problems;
  auto r = request(R"({"max_usd_micro": 8000000})", "budget", "team", false,
                   problems);
  BOOST_REQUIRE_MESSAGE(r, dump(problems));
  BOOST_CHECK_EQUAL(r->op, "set");
  BOOST_CHECK_EQUAL(r->subject, "budget:team");
  BOOST_CHECK_EQUAL(r->max_usd_micro, 8'000'000);
  BOOST_CHECK_EQUAL(r->window_ms, -1);
  BOOST_CHECK(!r->has_description);
  // `window: null` removes a budget's window.
  auto unwindowed = request(R"({"window": null})", "budget", "team", false, problems);
  BOOST_REQUIRE_MESSAGE(unwindowed, dump(problems));
  BOOST_CHECK_EQUAL(unwindowed->window_ms, 0);
  BOOST_CHECK_EQUAL(unwindowed->max_usd_micro, -1);
  // An empty set is no problem (nothing changes); the body may repeat the
  // path's name.
  auto nothing = request("{}", "budget", "team", false, problems);
  BOOST_REQUIRE_MESSAGE(nothing, dump(problems));
  auto same = request(R"({"name": "team", "description": ""})", "budget", "team",
                      false, problems);
  BOOST_REQUIRE_MESSAGE(same, dump(problems));
  BOOST_CHECK(same->has_description);
  BOOST_CHECK(same->description.empty());
  // A quota's set: units and window.
  auto quota = request(R"({"units": 20000, "window": "12h"})", "quota",
                       "youtube-data-api", false, problems);
  BOOST_REQUIRE_MESSAGE(quota, dump(problems));
  BOOST_CHECK_EQUAL(quota->subject, "quota:youtube-data-api");
  BOOST_CHECK_EQUAL(quota->units, 20'000);
  BOOST_CHECK_EQUAL(quota->window_ms, 12 * hour);
  BOOST_CHECK_EQUAL(quota->max_usd_micro, -1);
  BOOST_CHECK(problems.empty());
}

BOOST_AUTO_TEST_CASE(a_quota_is_created_with_units_and_a_window) {
  std::vector<problem> problems;
  auto r = request(R"({"name": "youtube-data-api", "units": 10000, "window": "1d"})",
                   "quota", "", true, problems);
  BOOST_REQUIRE_MESSAGE(r, dump(problems));
  BOOST_CHECK_EQUAL(r->op, "create");
  BOOST_CHECK_EQUAL(r->subject, "quota:youtube-data-api");
  BOOST_CHECK_EQUAL(r->units, 10'000);
  BOOST_CHECK_EQUAL(r->window_ms, day);
}

BOOST_AUTO_TEST_CASE(every_problem_of_a_budget_body_is_reported_at_once) {
  std::vector<problem> problems;
  auto r = request(R"({"colour": "red", "max_usd_micro": 1000000000000001,
                       "window": "1w", "description": 5, "units": 3, "a/b": 1})",
                   "budget", "", true, problems);
  BOOST_CHECK(!r);
  std::vector<std::string> want{
    "missing_field /name",          "schema_violation /description",
    "schema_violation /max_usd_micro", "schema_violation /window",
    "unknown_field /a~1b",          "unknown_field /colour",
    "unknown_field /units",
  };
  std::sort(want.begin(), want.end());
  BOOST_CHECK_MESSAGE(codes(problems) == want, dump(problems));
}

BOOST_AUTO_TEST_CASE(each_bad_member_of_a_body_has_its_code_and_pointer) {
  struct refused {
    const char* body;
    const char* kind;
    const char* name;
    bool create;
    std::vector<std::string> want;
  };
  std::vector<refused> cases{
    // Names.
    {R"({"max_usd_micro": 1})", "budget", "", true, {"missing_field /name"}},
    {R"({"name": "Team", "max_usd_micro": 1})", "budget", "", true,
     {"invalid_argument /name"}},
    {R"({"name": "9lives", "max_usd_micro": 1})", "budget", "", true,
     {"invalid_argument /name"}},
    {R"({"name": 7, "max_usd_micro": 1})", "budget", "", true,
     {"invalid_argument /name"}},
    {R"({"name": "other"})", "budget", "team", false, {"invalid_argument /name"}},
    // Caps.
    {R"({"name": "team"})", "budget", "", true, {"missing_field /max_usd_micro"}},
    {R"({"name": "team", "max_usd_micro": -1})", "budget", "", true,
     {"schema_violation /max_usd_micro"}},
    {R"({"name": "team", "max_usd_micro": 1.5})", "budget", "", true,
     {"schema_violation /max_usd_micro"}},
    {R"({"name": "team", "max_usd_micro": "5"})", "budget", "", true,
     {"schema_violation /max_usd_micro"}},
    {R"({"max_usd_micro": null})", "budget", "team", false,
     {"schema_violation /max_usd_micro"}},
    // Windows.
    {R"({"name": "team", "max_usd_micro": 1, "window": "0s"})", "budget", "", true,
     {"schema_violation /window"}},
    {R"({"name": "team", "max_usd_micro": 1, "window": "367d"})", "budget", "",
     true, {"schema_violation /window"}},
    {R"({"name": "team", "max_usd_micro": 1, "window": 86400})", "budget", "", true,
     {"schema_violation /window"}},
    {R"({"window": ""})", "budget", "team", false, {"schema_violation /window"}},
    // Descriptions.
    {R"({"description": null})", "budget", "team", false,
     {"schema_violation /description"}},
    // Quotas.
    {R"({"name": "yt", "units": 10000})", "quota", "", true,
     {"missing_field /window"}},
    {R"({"name": "yt", "window": "1d"})", "quota", "", true,
     {"missing_field /units"}},
    {R"({"name": "yt", "units": 0, "window": "1d"})", "quota", "", true,
     {"schema_violation /units"}},
    {R"({"name": "yt", "units": 1000000000001, "window": "1d"})", "quota", "", true,
     {"schema_violation /units"}},
    {R"({"window": null})", "quota", "yt", false, {"schema_violation /window"}},
    {R"({"name": "yt", "units": 1, "window": "1d", "max_usd_micro": 5})", "quota",
     "", true, {"unknown_field /max_usd_micro"}},
    // A quota without a window, and everything else wrong with it, at once.
    {R"({"name": "YT", "units": -3, "description": [], "extra": true})", "quota",
     "", true,
     {"invalid_argument /name", "missing_field /window",
      "schema_violation /description", "schema_violation /units",
      "unknown_field /extra"}},
    // Not an object.
    {R"([])", "budget", "", true, {"invalid_argument "}},
    {R"("team")", "quota", "yt", false, {"invalid_argument "}},
  };
  for (auto& c : cases) {
    std::vector<problem> problems;
    auto r = request(c.body, c.kind, c.name, c.create, problems);
    BOOST_CHECK_MESSAGE(!r, c.body << " is read");
    auto want = c.want;
    std::sort(want.begin(), want.end());
    BOOST_CHECK_MESSAGE(codes(problems) == want, c.body << dump(problems));
    for (auto& p : problems)
      BOOST_CHECK_MESSAGE(!p.message.empty(), c.body << ": no message at " << p.pointer);
  }
}

BOOST_AUTO_TEST_CASE(problems_are_appended_to_those_found_before) {
  std::vector<problem> problems{{ec::invalid_argument, "/earlier", "found before"}};
  auto r = request(R"({"name": "team", "max_usd_micro": 5})", "budget", "", true,
                   problems);
  // A clean body reads, whatever was found before it.
  BOOST_CHECK(r);
  BOOST_CHECK_EQUAL(problems.size(), 1u);
  auto bad = request(R"({"name": "team"})", "budget", "", true, problems);
  BOOST_CHECK(!bad);
  BOOST_REQUIRE_EQUAL(problems.size(), 2u);
  BOOST_CHECK_EQUAL(problems[0].pointer, "/earlier");
  BOOST_CHECK_EQUAL(problems[1].pointer, "/max_usd_micro");
}
