#define BOOST_TEST_MODULE run
#include <boost/test/unit_test.hpp>

// Runs and triggers of pipelines (contracts/run.hpp, docs/pipelines.md):
// names, the run request, the run and trigger rows, schedules (`every`,
// cron) and when they start next.

#include "contracts/ids.hpp"
#include "contracts/run.hpp"
#include "tests/test_print.hpp"

#include <algorithm>
#include <string>
#include <vector>

using namespace omniva::contracts;
namespace json = omniva::json;

namespace {

constexpr const char* asset_a = "3f1c2a9e-8b7d-4c6e-9a1b-2d3e4f5a6b7c";
constexpr const char* run_a = "7c6b5a49-3827-4615-8f4e-3d2c1b0a9f8e";
constexpr const char* trigger_a = "0a1b2c3d-4e5f-4a6b-9c7d-8e9f0a1b2c3d";

json::value parse(const std::string& text) {
  auto parsed = json::parse(text);
  BOOST_REQUIRE_MESSAGE(parsed, "not JSON: " << text);
  return std::move(*parsed.doc);
}

/// Milliseconds since the epoch of an RFC 3339 date-time.
int64_t ms(const char* text) {
  auto t = parse_timestamp(text);
  BOOST_REQUIRE_MESSAGE(t, "not a timestamp: " << text);
  return t->time_since_epoch().count();
}

std::string iso(int64_t x) {
  return format_timestamp(timestamp{std::chrono::milliseconds{x}});
}

/// The first problem, for failure messages.
std::string first(const std::vector<problem>& ps) {
  return ps.empty() ? std::string{} : to_string(ps[0]);
}

/// The problem at `pointer`, or nullptr.
const problem* at(const std::vector<problem>& ps, const std::string& pointer) {
  auto i = std::find_if(ps.begin(), ps.end(),
                        [&](const problem& p) { return p.pointer == pointer; });
  return i == ps.end() ? nullptr : &*i;
}

/// Checks that exactly one problem is at `pointer`, with `code`.
void expect(const std::vector<problem>& ps, const std::string& pointer, ec code) {
  auto n = std::count_if(ps.begin(), ps.end(),
                         [&](const problem& p) { return p.pointer == pointer; });
  BOOST_CHECK_MESSAGE(n == 1, n << " problems at " << pointer);
  if (auto* p = at(ps, pointer))
    BOOST_CHECK_EQUAL(p->code, code);
}

/// The cron start after `after` as a timestamp text, "none" for nullopt.
std::string cron_next(const std::string& expr, const char* after) {
  auto next = next_start(schedule_spec{0, expr}, 0, ms(after));
  return next ? iso(*next) : "none";
}

run_record full_run() {
  run_record x;
  x.run_id = run_a;
  x.pipeline_ref = "clips@1";
  x.status = run_status::failed;
  x.inputs = {{"video", asset_a}};
  x.values = {{"job", R"({"channel":"c","limit":[1,2.5,null]})"}, {"n", "3"}};
  x.mode = execution_mode::mock;
  x.priority = -7;
  x.trigger_id = trigger_a;
  x.requested_by = "ops-token";
  x.created_at = "2026-03-10T07:00:00.000Z";
  x.updated_at = "2026-03-10T07:05:00.000Z";
  x.ended_at = "2026-03-10T07:05:00.000Z";
  x.fanouts = {{"analyze#", 4}, {"edit#2", 3}};
  x.error = task_error{"upstream_failed", "every element of edit failed", false,
                       ""};
  return x;
}

trigger_record every_trigger() {
  trigger_record x;
  x.trigger_id = trigger_a;
  x.pipeline_ref = "clips@1";
  x.schedule.every_ms = 86400000;
  x.inputs = {{"video", asset_a}};
  x.values = {{"job", R"({"channel":"c"})"}};
  x.mode = execution_mode::real;
  x.created_at = "2026-03-10T07:00:00.000Z";
  x.created_by = "ops-token";
  x.anchor_ms = ms("2026-03-10T07:00:00.000Z");
  x.next_ms = ms("2026-03-12T07:00:00.000Z");
  x.last_ms = ms("2026-03-11T07:00:00.000Z");
  x.last_run_id = run_a;
  return x;
}

} // namespace

// -- names --------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(run_status_and_action_names_round_trip) {
  const std::pair<run_status, const char*> statuses[] = {
    {run_status::running, "RUNNING"}, {run_status::paused, "PAUSED"},
    {run_status::done, "DONE"},       {run_status::failed, "FAILED"},
    {run_status::cancelled, "CANCELLED"}};
  for (auto [x, name] : statuses) {
    BOOST_CHECK_EQUAL(to_string(x), name);
    BOOST_CHECK(run_status_from_string(name) == x);
  }
  BOOST_CHECK(!run_status_from_string("running"));
  BOOST_CHECK(!run_status_from_string(""));
  BOOST_CHECK(!is_final(run_status::running));
  BOOST_CHECK(!is_final(run_status::paused));
  BOOST_CHECK(is_final(run_status::done));
  BOOST_CHECK(is_final(run_status::failed));
  BOOST_CHECK(is_final(run_status::cancelled));
  const std::pair<run_action, const char*> actions[] = {
    {run_action::cancel, "cancel"},
    {run_action::pause, "pause"},
    {run_action::resume, "resume"},
    {run_action::retry, "retry"}};
  for (auto [x, name] : actions) {
    BOOST_CHECK_EQUAL(to_string(x), name);
    BOOST_CHECK(run_action_from_string(name) == x);
  }
  BOOST_CHECK(!run_action_from_string("CANCEL"));
  BOOST_CHECK(!run_action_from_string("stop"));
}

// -- run requests -------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(a_run_request_is_read_with_its_values_as_json) {
  std::vector<problem> ps;
  auto r = run_request_from_json(
    parse(R"({"inputs": {"video": ")" + std::string{asset_a}
          + R"("}, "values": {"job": {"a": [1, "x"]}, "n": 3},
              "mode": "mock", "priority": -2147483648, "pipeline": "clips@1"})"),
    ps);
  BOOST_REQUIRE(r);
  BOOST_CHECK(ps.empty());
  BOOST_CHECK(r->problems.empty());
  BOOST_CHECK_EQUAL(r->pipeline_ref, "clips@1");
  BOOST_CHECK(r->inputs == (std::map<std::string, std::string>{{"video", asset_a}}));
  BOOST_CHECK_EQUAL(r->values.at("job"), R"({"a":[1,"x"]})");
  BOOST_CHECK_EQUAL(r->values.at("n"), "3");
  BOOST_CHECK(r->mode == execution_mode::mock);
  BOOST_CHECK_EQUAL(r->priority, -2147483648LL);
  BOOST_CHECK(r->trigger_id.empty());
  BOOST_CHECK(r->requested_by.empty());
  // Everything is optional: the ref may come from the URL.
  auto empty = run_request_from_json(parse("{}"), ps);
  BOOST_REQUIRE(empty);
  BOOST_CHECK(ps.empty());
  BOOST_CHECK(empty->pipeline_ref.empty());
  BOOST_CHECK(empty->mode == execution_mode::real);
  BOOST_CHECK_EQUAL(empty->priority, 0);
}

BOOST_AUTO_TEST_CASE(a_run_request_reports_every_problem_at_once) {
  std::vector<problem> ps;
  auto r = run_request_from_json(
    parse(R"({"inputs": {"video": "not-a-uuid", "n": 5, "ok": ")"
          + std::string{asset_a}
          + R"("}, "values": {"k": true}, "mode": "fast",
              "priority": 2147483648, "pipeline": "clips", "extra": 1})"),
    ps);
  BOOST_REQUIRE(r); // an object: the request comes back with its problems
  expect(ps, "/extra", ec::unknown_field);
  expect(ps, "/pipeline", ec::invalid_ref);
  expect(ps, "/inputs/video", ec::invalid_uuid);
  expect(ps, "/inputs/n", ec::type_mismatch);
  expect(ps, "/mode", ec::not_in_enum);
  expect(ps, "/priority", ec::out_of_range);
  BOOST_CHECK_EQUAL(ps.size(), 6u);
  BOOST_CHECK(r->problems == ps);
  // Keys with a bad asset id stay, so that Zenith can still speak of them.
  BOOST_CHECK_EQUAL(r->inputs.size(), 3u);
  BOOST_CHECK_EQUAL(r->inputs.at("video"), "not-a-uuid");
  BOOST_CHECK_EQUAL(r->values.at("k"), "true");
  BOOST_CHECK(at(ps, "/inputs/video")->message.find("video") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_run_request_priority_is_an_int32) {
  for (auto [text, code] : {std::pair{"1.5", ec::type_mismatch},
                            std::pair{"\"3\"", ec::type_mismatch},
                            std::pair{"null", ec::type_mismatch},
                            std::pair{"-2147483649", ec::out_of_range},
                            std::pair{"1e10", ec::out_of_range},
                            std::pair{"18446744073709551615", ec::out_of_range}}) {
    std::vector<problem> ps;
    auto r = run_request_from_json(parse(std::string{R"({"priority": )"} + text + "}"),
                                   ps);
    BOOST_REQUIRE(r);
    BOOST_REQUIRE_EQUAL(ps.size(), 1u);
    BOOST_CHECK_MESSAGE(ps[0].code == code, text << ": " << to_string(ps[0]));
    BOOST_CHECK_EQUAL(ps[0].pointer, "/priority");
    BOOST_CHECK_EQUAL(r->priority, 0);
  }
  std::vector<problem> ps;
  auto r = run_request_from_json(parse(R"({"priority": 2147483647.0})"), ps);
  BOOST_REQUIRE(r);
  BOOST_CHECK(ps.empty());
  BOOST_CHECK_EQUAL(r->priority, 2147483647);
}

BOOST_AUTO_TEST_CASE(a_run_request_that_is_not_an_object_is_refused) {
  for (auto* text : {"[]", "\"clips@1\"", "null", "1"}) {
    std::vector<problem> ps;
    BOOST_CHECK(!run_request_from_json(parse(text), ps));
    BOOST_REQUIRE_EQUAL(ps.size(), 1u);
    BOOST_CHECK_EQUAL(ps[0].code, ec::type_mismatch);
    BOOST_CHECK_EQUAL(ps[0].pointer, "");
  }
  std::vector<problem> ps;
  auto r = run_request_from_json(parse(R"({"inputs": [], "values": "x"})"), ps);
  BOOST_REQUIRE(r);
  expect(ps, "/inputs", ec::type_mismatch);
  expect(ps, "/values", ec::type_mismatch);
}

// -- run records --------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(a_run_record_round_trips_through_its_row) {
  auto x = full_run();
  auto j = to_json(x);
  // Values are JSON, fan-outs an object, the error an object.
  BOOST_REQUIRE(j.find("values") && j.find("values")->is_object());
  BOOST_CHECK(*j.find("values")->find("job")
              == parse(R"({"channel":"c","limit":[1,2.5,null]})"));
  BOOST_CHECK_EQUAL(j.find("pipeline")->as_string(), "clips@1");
  BOOST_CHECK_EQUAL(j.find("status")->as_string(), "FAILED");
  BOOST_CHECK(*j.find("fanouts") == parse(R"({"analyze#": 4, "edit#2": 3})"));
  BOOST_CHECK(*j.find("error")
              == parse(R"({"code": "upstream_failed", "message":
                           "every element of edit failed", "transient": false})"));
  // Through text too.
  for (const auto& doc : {j, parse(json::serialize(j))}) {
    std::vector<problem> ps;
    auto back = run_record_from_json(doc, ps);
    BOOST_REQUIRE_MESSAGE(back, first(ps));
    BOOST_CHECK(*back == x);
  }
  // A running run without the optional members omits them.
  run_record y;
  y.run_id = run_a;
  y.pipeline_ref = "clips@2";
  y.created_at = "2026-03-10T07:00:00.000Z";
  y.updated_at = "2026-03-10T07:00:00.000Z";
  auto k = to_json(y);
  for (auto* absent : {"trigger_id", "requested_by", "ended_at", "error"})
    BOOST_CHECK_MESSAGE(!k.find(absent), absent);
  BOOST_CHECK(*k.find("fanouts") == parse("{}"));
  std::vector<problem> ps;
  auto back = run_record_from_json(k, ps);
  BOOST_REQUIRE(back);
  BOOST_CHECK(*back == y);
}

BOOST_AUTO_TEST_CASE(a_bad_run_row_is_refused_with_its_problems) {
  auto j = to_json(full_run());
  j.set("status", "SLEEPING");
  j.set("fanouts", parse(R"({"edit#": -1, "x#": "2"})"));
  j.set("error", parse(R"({"message": 3})"));
  j.erase("created_at");
  j.set("colour", "red");
  std::vector<problem> ps;
  BOOST_CHECK(!run_record_from_json(j, ps));
  expect(ps, "/status", ec::not_in_enum);
  expect(ps, "/fanouts/edit#", ec::out_of_range);
  expect(ps, "/fanouts/x#", ec::type_mismatch);
  expect(ps, "/error/code", ec::missing_field);
  expect(ps, "/error/message", ec::type_mismatch);
  expect(ps, "/created_at", ec::missing_field);
  expect(ps, "/colour", ec::unknown_field);
  BOOST_CHECK_EQUAL(ps.size(), 7u);
}

// -- every ---------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(every_takes_a_positive_integer_and_a_unit) {
  BOOST_CHECK(parse_every("500ms") == 500);
  BOOST_CHECK(parse_every("30s") == 30000);
  BOOST_CHECK(parse_every("5m") == 300000);
  BOOST_CHECK(parse_every("2h") == 7200000);
  BOOST_CHECK(parse_every("1d") == 86400000);
  BOOST_CHECK(parse_every("90m") == 5400000);
  // The largest count of days that fits in int64 milliseconds, and one more.
  BOOST_CHECK(parse_every("106751991167d") == 106751991167LL * 86400000);
  BOOST_CHECK(!parse_every("106751991168d"));
  BOOST_CHECK(!parse_every("99999999999999999999ms"));
  for (auto* bad : {"", "0s", "0ms", "-5m", "+5m", "5", "m", "1.5h", "1 d",
                    " 1d", "1d ", "1D", "1w", "1dd", "5min", "1h30m", "ms5"})
    BOOST_CHECK_MESSAGE(!parse_every(bad), '"' << bad << '"');
}

BOOST_AUTO_TEST_CASE(every_starts_on_the_anchor_grid) {
  schedule_spec s{3600000, ""};
  auto anchor = ms("2026-03-10T07:20:00.000Z");
  // The slot after `after`, counted from the anchor: not from `after`.
  BOOST_CHECK_EQUAL(iso(*next_start(s, anchor, ms("2026-03-10T09:45:10.000Z"))),
                    "2026-03-10T10:20:00.000Z");
  // Strictly after: a slot itself gives the next one.
  BOOST_CHECK_EQUAL(iso(*next_start(s, anchor, ms("2026-03-10T10:20:00.000Z"))),
                    "2026-03-10T11:20:00.000Z");
  BOOST_CHECK_EQUAL(iso(*next_start(s, anchor, anchor)),
                    "2026-03-10T08:20:00.000Z");
  BOOST_CHECK_EQUAL(*next_start(s, anchor, anchor - 1), anchor);
  // Nothing before the anchor.
  BOOST_CHECK_EQUAL(*next_start(s, anchor, anchor - 86400000), anchor);
  // A restart long after: one start at the next slot, not a backlog.
  BOOST_CHECK_EQUAL(iso(*next_start(s, anchor, ms("2027-01-01T00:00:00.500Z"))),
                    "2027-01-01T00:20:00.000Z");
  BOOST_CHECK_EQUAL(*next_start(schedule_spec{7, ""}, 3, 10), 17);
  BOOST_CHECK_EQUAL(*next_start(schedule_spec{7, ""}, -10, -4), -3);
  // Beyond int64: none. An invalid schedule: none.
  BOOST_CHECK(!next_start(schedule_spec{86400000, ""}, 0,
                          std::numeric_limits<int64_t>::max() - 5));
  BOOST_CHECK(!next_start(schedule_spec{0, ""}, 0, 0));
  BOOST_CHECK(!next_start(schedule_spec{-5, ""}, 0, 0));
  BOOST_CHECK(!next_start(schedule_spec{1000, "* * * * *"}, 0, 0));
}

// -- cron ----------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(valid_cron_expressions_pass) {
  for (auto* ok : {"* * * * *", "0 6 * * *", "*/15 * * * *", "0 0 29 2 *",
                   "59 23 31 12 7", "0 0 1 1 0", "0,30 8-18 * * 1-5",
                   "5-55/10 */2 1-31/3 1,6,12 0,6,7", "0 0 13 * 5",
                   "  0   6\t*  * *  ", "07 06 01 01 01", "*/60 */24 * * *"})
    BOOST_CHECK_MESSAGE(!check_cron(ok, "/cron"), ok);
}

BOOST_AUTO_TEST_CASE(invalid_cron_expressions_name_the_bad_field) {
  const std::pair<const char*, const char*> cases[] = {
    {"", "5 fields"},
    {"* * * *", "5 fields"},
    {"* * * * * *", "5 fields"},
    {"60 * * * *", "minute"},
    {"* 24 * * *", "hour"},
    {"* * 0 * *", "day-of-month"},
    {"* * 32 * *", "day-of-month"},
    {"* * * 0 *", "month"},
    {"* * * 13 *", "month"},
    {"* * * * 8", "day-of-week"},
    {"*/0 * * * *", "minute"},
    {"*/61 * * * *", "minute"},
    {"5/10 * * * *", "minute"},
    {"10-5 * * * *", "minute"},
    {"1,,2 * * * *", "minute"},
    {"1, * * * *", "minute"},
    {"a * * * *", "minute"},
    {"* -1 * * *", "hour"},
    {"* 1- * * *", "hour"},
    {"* * * JAN *", "month"},
    {"* * * * 1-2-3", "day-of-week"},
    {"@daily", "5 fields"},
    {"* * * * */", "day-of-week"},
  };
  for (auto [expr, field] : cases) {
    auto p = check_cron(expr, "/schedule/cron");
    BOOST_REQUIRE_MESSAGE(p, '"' << expr << "\" passed");
    BOOST_CHECK_EQUAL(p->code, ec::invalid_argument);
    BOOST_CHECK_EQUAL(p->pointer, "/schedule/cron");
    BOOST_CHECK_MESSAGE(p->message.find(field) != std::string::npos,
                        expr << ": " << p->message);
  }
  // An invalid expression never starts.
  BOOST_CHECK(!next_start(schedule_spec{0, "60 * * * *"}, 0, 0));
}

BOOST_AUTO_TEST_CASE(cron_starts_at_the_next_matching_minute) {
  // Daily at 06:00 UTC.
  BOOST_CHECK_EQUAL(cron_next("0 6 * * *", "2026-03-10T07:00:00.000Z"),
                    "2026-03-11T06:00:00.000Z");
  BOOST_CHECK_EQUAL(cron_next("0 6 * * *", "2026-03-10T05:59:59.999Z"),
                    "2026-03-10T06:00:00.000Z");
  // Strictly after: the matching minute itself gives the next day.
  BOOST_CHECK_EQUAL(cron_next("0 6 * * *", "2026-03-10T06:00:00.000Z"),
                    "2026-03-11T06:00:00.000Z");
  BOOST_CHECK_EQUAL(cron_next("0 6 * * *", "2026-12-31T06:00:00.001Z"),
                    "2027-01-01T06:00:00.000Z");
  // The hours are UTC: 06:30 at +01:00 is 05:30 UTC.
  BOOST_CHECK_EQUAL(cron_next("0 6 * * *", "2026-03-10T06:30:00+01:00"),
                    "2026-03-10T06:00:00.000Z");
  // Every quarter hour.
  BOOST_CHECK_EQUAL(cron_next("*/15 * * * *", "2026-03-10T10:07:30.000Z"),
                    "2026-03-10T10:15:00.000Z");
  BOOST_CHECK_EQUAL(cron_next("*/15 * * * *", "2026-03-10T10:15:00.000Z"),
                    "2026-03-10T10:30:00.000Z");
  BOOST_CHECK_EQUAL(cron_next("*/15 * * * *", "2026-03-10T10:45:00.000Z"),
                    "2026-03-10T11:00:00.000Z");
  BOOST_CHECK_EQUAL(cron_next("*/15 * * * *", "2026-12-31T23:50:00.000Z"),
                    "2027-01-01T00:00:00.000Z");
  BOOST_CHECK_EQUAL(cron_next("* * * * *", "2026-03-10T10:07:00.000Z"),
                    "2026-03-10T10:08:00.000Z");
  // Lists, ranges and steps together: weekdays 08:00-18:00 on the half hour.
  BOOST_CHECK_EQUAL(cron_next("0,30 8-18 * * 1-5", "2026-03-13T18:30:00.000Z"),
                    "2026-03-16T08:00:00.000Z"); // Friday evening -> Monday
  BOOST_CHECK_EQUAL(cron_next("5-55/10 */2 * * *", "2026-03-10T01:20:00.000Z"),
                    "2026-03-10T02:05:00.000Z");
  BOOST_CHECK_EQUAL(cron_next("0 0 1 1,7 *", "2026-03-10T00:00:00.000Z"),
                    "2026-07-01T00:00:00.000Z");
  // Before the epoch too.
  BOOST_CHECK_EQUAL(cron_next("0 12 * * *", "1969-12-31T13:00:00.000Z"),
                    "1970-01-01T12:00:00.000Z");
}

BOOST_AUTO_TEST_CASE(cron_february_29_waits_for_a_leap_year) {
  BOOST_CHECK_EQUAL(cron_next("0 0 29 2 *", "2025-03-01T00:00:00.000Z"),
                    "2028-02-29T00:00:00.000Z");
  BOOST_CHECK_EQUAL(cron_next("0 0 29 2 *", "2024-02-29T00:00:00.000Z"),
                    "2028-02-29T00:00:00.000Z");
  BOOST_CHECK_EQUAL(cron_next("0 0 29 2 *", "2024-02-28T23:59:00.000Z"),
                    "2024-02-29T00:00:00.000Z");
  // 2100 is not a leap year: the next one, 2104, lies beyond five years.
  BOOST_CHECK_EQUAL(cron_next("0 0 29 2 *", "2097-03-01T00:00:00.000Z"), "none");
  BOOST_CHECK_EQUAL(cron_next("0 0 29 2 *", "2099-03-01T00:00:00.000Z"),
                    "2104-02-29T00:00:00.000Z");
}

BOOST_AUTO_TEST_CASE(cron_day_of_month_or_day_of_week) {
  // Both restricted: either matches (the 10th, or a Monday).
  BOOST_CHECK_EQUAL(cron_next("0 0 10 * 1", "2026-02-01T12:00:00.000Z"),
                    "2026-02-02T00:00:00.000Z"); // Monday the 2nd
  BOOST_CHECK_EQUAL(cron_next("0 0 10 * 1", "2026-02-09T12:00:00.000Z"),
                    "2026-02-10T00:00:00.000Z"); // Tuesday the 10th
  // Day of month `*`: the day of week alone decides, and the other way.
  BOOST_CHECK_EQUAL(cron_next("0 0 * * 1", "2026-02-02T12:00:00.000Z"),
                    "2026-02-09T00:00:00.000Z");
  BOOST_CHECK_EQUAL(cron_next("0 0 10 * *", "2026-02-02T12:00:00.000Z"),
                    "2026-02-10T00:00:00.000Z");
  // A field starting with `*` is not restricted (crontab(5)): both must
  // match, so a Monday that is also day 1, 6, 11, 16, ...
  BOOST_CHECK_EQUAL(cron_next("0 0 */5 * 1", "2026-02-01T12:00:00.000Z"),
                    "2026-02-16T00:00:00.000Z");
  // 0 and 7 are both Sunday.
  BOOST_CHECK_EQUAL(cron_next("0 0 * * 7", "2026-02-02T12:00:00.000Z"),
                    "2026-02-08T00:00:00.000Z");
  BOOST_CHECK_EQUAL(cron_next("0 0 * * 0", "2026-02-02T12:00:00.000Z"),
                    "2026-02-08T00:00:00.000Z");
  BOOST_CHECK_EQUAL(cron_next("0 0 * * 6-7", "2026-02-02T12:00:00.000Z"),
                    "2026-02-07T00:00:00.000Z");
}

BOOST_AUTO_TEST_CASE(cron_days_that_never_come_never_start) {
  BOOST_CHECK_EQUAL(cron_next("0 0 30 2 *", "2026-01-01T00:00:00.000Z"), "none");
  BOOST_CHECK_EQUAL(cron_next("0 0 31 4,6,9,11 *", "2026-01-01T00:00:00.000Z"),
                    "none");
  // ... unless the day of week gives another way in.
  BOOST_CHECK_EQUAL(cron_next("0 0 30 2 1", "2026-01-01T00:00:00.000Z"),
                    "2026-02-02T00:00:00.000Z");
  // Out of the years a timestamp can spell: none.
  BOOST_CHECK(!next_start(schedule_spec{0, "* * * * *"}, 0,
                          std::numeric_limits<int64_t>::max()));
}

// -- triggers ------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(a_trigger_record_round_trips_through_its_row) {
  auto x = every_trigger();
  auto j = to_json(x);
  BOOST_CHECK_EQUAL(j.find("pipeline")->as_string(), "clips@1");
  BOOST_CHECK_EQUAL(j.find("every")->as_string(), "1d");
  BOOST_CHECK(*j.find("every_ms") == json::value{int64_t{86400000}});
  BOOST_CHECK(!j.find("cron"));
  BOOST_CHECK_EQUAL(j.find("next_start")->as_string(), "2026-03-12T07:00:00.000Z");
  BOOST_CHECK_EQUAL(j.find("last_start")->as_string(), "2026-03-11T07:00:00.000Z");
  BOOST_CHECK(*j.find("values") == parse(R"({"job": {"channel": "c"}})"));
  for (const auto& doc : {j, parse(json::serialize(j))}) {
    std::vector<problem> ps;
    auto back = trigger_record_from_json(doc, ps);
    BOOST_REQUIRE_MESSAGE(back, first(ps));
    BOOST_CHECK(*back == x);
  }
  // A cron trigger that never ran: no last start, no every.
  trigger_record y;
  y.trigger_id = trigger_a;
  y.pipeline_ref = "clips@1";
  y.schedule.cron = "0 6 * * *";
  y.mode = execution_mode::mock;
  y.created_at = "2026-03-10T07:00:00.000Z";
  y.anchor_ms = ms("2026-03-10T07:00:00.000Z");
  y.next_ms = ms("2026-03-11T06:00:00.000Z");
  auto k = to_json(y);
  for (auto* absent : {"every", "every_ms", "last_start", "last_ms",
                       "last_run_id", "created_by"})
    BOOST_CHECK_MESSAGE(!k.find(absent), absent);
  BOOST_CHECK_EQUAL(k.find("cron")->as_string(), "0 6 * * *");
  std::vector<problem> ps;
  auto back = trigger_record_from_json(k, ps);
  BOOST_REQUIRE(back);
  BOOST_CHECK(*back == y);
  // An uneven every is spelled in the unit that divides it.
  x.schedule.every_ms = 5400000;
  BOOST_CHECK_EQUAL(to_json(x).find("every")->as_string(), "90m");
  x.schedule.every_ms = 1500;
  BOOST_CHECK_EQUAL(to_json(x).find("every")->as_string(), "1500ms");
  BOOST_CHECK(trigger_record_from_json(to_json(x), ps) == x);
}

BOOST_AUTO_TEST_CASE(a_bad_trigger_row_is_refused_with_its_problems) {
  auto j = to_json(every_trigger());
  j.set("next_start", "2026-03-12T08:00:00.000Z"); // disagrees with next_ms
  j.set("every", "2d");                            // disagrees with every_ms
  j.set("cron", "0 6 * * *");                      // and a second schedule
  j.set("pipeline", "clips");
  j.erase("anchor_ms");
  std::vector<problem> ps;
  BOOST_CHECK(!trigger_record_from_json(j, ps));
  expect(ps, "/next_start", ec::invalid_argument);
  expect(ps, "/every", ec::invalid_argument);
  expect(ps, "/cron", ec::invalid_argument);
  expect(ps, "/pipeline", ec::invalid_ref);
  expect(ps, "/anchor_ms", ec::missing_field);
  BOOST_CHECK_EQUAL(ps.size(), 5u);
}

BOOST_AUTO_TEST_CASE(a_trigger_request_takes_every_or_cron) {
  std::vector<problem> ps;
  auto t = trigger_request_from_json(
    parse(R"({"pipeline": "clips@1", "every": "1d", "values": {"job": {"a": 1}},
              "inputs": {"video": ")" + std::string{asset_a}
          + R"("}, "mode": "mock"})"),
    ps);
  BOOST_REQUIRE_MESSAGE(t, first(ps));
  BOOST_CHECK_EQUAL(t->pipeline_ref, "clips@1");
  BOOST_CHECK(t->schedule == (schedule_spec{86400000, ""}));
  BOOST_CHECK_EQUAL(t->values.at("job"), R"({"a":1})");
  BOOST_CHECK_EQUAL(t->inputs.at("video"), asset_a);
  BOOST_CHECK(t->mode == execution_mode::mock);
  auto c = trigger_request_from_json(
    parse(R"({"pipeline": "clips@1", "cron": "0 6 * * *"})"), ps);
  BOOST_REQUIRE(c);
  BOOST_CHECK(ps.empty());
  BOOST_CHECK(c->schedule == (schedule_spec{0, "0 6 * * *"}));
  BOOST_CHECK(c->mode == execution_mode::real);
}

BOOST_AUTO_TEST_CASE(a_trigger_request_reports_every_problem) {
  auto problems_of = [](const std::string& text) {
    std::vector<problem> ps;
    BOOST_CHECK_MESSAGE(!trigger_request_from_json(parse(text), ps), text);
    return ps;
  };
  auto ps = problems_of(R"({"pipeline": "clips@1"})");
  BOOST_REQUIRE_EQUAL(ps.size(), 1u);
  expect(ps, "/every", ec::missing_field);
  // Both: refused at the second one given.
  ps = problems_of(R"({"pipeline": "clips@1", "every": "1d", "cron": "0 6 * * *"})");
  BOOST_REQUIRE_EQUAL(ps.size(), 1u);
  expect(ps, "/cron", ec::invalid_argument);
  ps = problems_of(R"({"cron": "0 6 * * *", "every": "1d", "pipeline": "clips@1"})");
  BOOST_REQUIRE_EQUAL(ps.size(), 1u);
  expect(ps, "/every", ec::invalid_argument);
  ps = problems_of(R"({"pipeline": "clips@1", "every": "1 day"})");
  expect(ps, "/every", ec::invalid_argument);
  ps = problems_of(R"({"pipeline": "clips@1", "every": 86400000})");
  expect(ps, "/every", ec::type_mismatch);
  ps = problems_of(R"({"pipeline": "clips@1", "cron": "0 25 * * *"})");
  expect(ps, "/cron", ec::invalid_argument);
  BOOST_CHECK(ps[0].message.find("hour") != std::string::npos);
  // Everything at once.
  ps = problems_of(R"({"pipeline": "clips", "every": "0s", "inputs": {"v": "x"},
                       "values": [], "mode": "dry", "every_ms": 5})");
  expect(ps, "/pipeline", ec::invalid_ref);
  expect(ps, "/every", ec::invalid_argument);
  expect(ps, "/inputs/v", ec::invalid_uuid);
  expect(ps, "/values", ec::type_mismatch);
  expect(ps, "/mode", ec::not_in_enum);
  expect(ps, "/every_ms", ec::unknown_field);
  BOOST_CHECK_EQUAL(ps.size(), 6u);
  ps = problems_of(R"({"every": "1d"})");
  expect(ps, "/pipeline", ec::missing_field);
  ps = problems_of("[]");
  expect(ps, "", ec::type_mismatch);
}
