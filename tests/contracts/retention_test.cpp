#define BOOST_TEST_MODULE retention
#include <boost/test/unit_test.hpp>

// The retention policy's pure parts (contracts/retention.hpp): durations,
// what a pass plans for a task's folder and for a blob, what earlier
// records say, the blobs an asset references, the plan's JSON form.

#include "contracts/retention.hpp"
#include "contracts/status.hpp"
#include "tests/test_print.hpp"

#include <string>
#include <vector>

using namespace omniva::contracts;
namespace json = omniva::json;
using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

namespace {

constexpr milliseconds day = hours{24};

/// The time of the tests' passes.
const timestamp now{milliseconds{1'790'000'000'000}};

const std::string task_id = "3f2b1c0d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";
const std::string output_id = "5a6b7c8d-9e0f-4a1b-8c2d-3e4f5a6b7c8d";

/// A task that finished (`status`) `ago` before `now` at attempt `attempt`,
/// with one output.
task_record finished_task(task_status status, milliseconds ago,
                          uint32_t attempt) {
  task_record t;
  t.task_id = task_id;
  t.module_ref = "m@1";
  t.status = status;
  t.attempt = attempt;
  t.outputs["result"] = output_id;
  t.created_at = format_timestamp(now - ago - hours{1});
  t.updated_at = format_timestamp(now - ago);
  return t;
}

/// The task's output, AVAILABLE (or `status`), held by `holders`.
asset_record output(asset_status status = asset_status::available,
                    std::vector<std::string> holders = {}) {
  asset_record a;
  a.asset_id = output_id;
  a.kind = asset_kind::file;
  a.media_type = "application/json";
  a.status = status;
  a.uri = "/data/outputs/" + task_id + "/2/result.json";
  a.sha256 = std::string(64, 'c');
  a.size = 10;
  a.produced_by = task_id;
  a.holds = std::move(holders);
  a.created_at = format_timestamp(now - day * 400);
  return a;
}

/// A folder of the task with attempts 1 and 2 (100 and 200 bytes).
task_folder folder_of(task_record t, std::vector<asset_record> outputs = {}) {
  task_folder f;
  f.task = std::move(t);
  f.attempts = {{1, 100}, {2, 200}};
  f.outputs = std::move(outputs);
  return f;
}

retention_policy policy() {
  retention_policy p;
  p.attempts_after = day * 7;
  p.outputs_after = day * 365;
  p.blob_grace = hours{1};
  return p;
}

} // namespace

BOOST_AUTO_TEST_SUITE(durations)

BOOST_AUTO_TEST_CASE(a_number_with_a_unit_or_bare) {
  BOOST_TEST(parse_duration("7", day).value() == day * 7);
  BOOST_TEST(parse_duration("7d", seconds{1}).value() == day * 7);
  BOOST_TEST(parse_duration("0.5d", seconds{1}).value() == hours{12});
  BOOST_TEST(parse_duration("1.5h", day).value() == minutes{90});
  BOOST_TEST(parse_duration("30m", day).value() == minutes{30});
  BOOST_TEST(parse_duration("90s", day).value() == seconds{90});
  BOOST_TEST(parse_duration("0", day).value() == milliseconds{0});
  BOOST_TEST(parse_duration("0.25", seconds{1}).value() == milliseconds{250});
}

BOOST_AUTO_TEST_CASE(anything_else_is_refused) {
  for (auto bad : {"", "d", "-1", "+1", "1.", ".5", "1..2", "1ms", "1 d",
                   "1w", "7days", "1e3", "36600d", "nan"})
    BOOST_TEST(!parse_duration(bad, day).has_value(), "'" << bad << "' read");
}

BOOST_AUTO_TEST_CASE(printed_in_the_largest_unit_that_fits) {
  BOOST_TEST(format_duration(day * 7) == "7d");
  BOOST_TEST(format_duration(day * 365) == "365d");
  BOOST_TEST(format_duration(hours{1}) == "1h");
  BOOST_TEST(format_duration(minutes{90}) == "1.5h");
  BOOST_TEST(format_duration(seconds{90}) == "1.5m");
  BOOST_TEST(format_duration(milliseconds{250}) == "0.25s");
  BOOST_TEST(format_duration(milliseconds{0}) == "0s");
}

BOOST_AUTO_TEST_CASE(the_defaults_keep_a_year) {
  retention_policy p;
  BOOST_TEST(p.attempts_after == day * 7);
  BOOST_TEST(p.outputs_after == day * 365);
  BOOST_TEST(p.blob_grace == hours{1});
  BOOST_TEST(p.interval == hours{1});
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(task_folders)

BOOST_AUTO_TEST_CASE(an_unfinished_task_keeps_everything) {
  for (auto st : {task_status::pending, task_status::ready, task_status::running}) {
    auto t = finished_task(task_status::done, day * 1000, 2);
    t.status = st;
    BOOST_TEST(plan_task_folder(folder_of(t), policy(), now).empty());
  }
}

BOOST_AUTO_TEST_CASE(a_young_task_keeps_everything) {
  auto f = folder_of(finished_task(task_status::done, day * 6, 2), {output()});
  BOOST_TEST(plan_task_folder(f, policy(), now).empty());
}

BOOST_AUTO_TEST_CASE(the_losing_attempts_go_after_the_attempts_window) {
  auto f = folder_of(finished_task(task_status::done, day * 8, 2), {output()});
  auto items = plan_task_folder(f, policy(), now);
  BOOST_REQUIRE_EQUAL(items.size(), 1u);
  auto& item = items.front();
  BOOST_TEST(item.task_id == task_id);
  BOOST_TEST(!item.whole);
  BOOST_TEST(item.attempts == std::vector<uint32_t>{1}); // 2 won
  BOOST_TEST(item.bytes == 100u);
  BOOST_TEST(item.assets.empty());
  BOOST_TEST(!item.recorded);
  BOOST_TEST(item.reason.find("attempt 1 did not win") != std::string::npos,
             item.reason);
}

BOOST_AUTO_TEST_CASE(a_failed_or_cancelled_task_keeps_its_last_attempt) {
  for (auto st : {task_status::error, task_status::cancelled}) {
    auto f = folder_of(finished_task(st, day * 8, 2));
    f.attempts[3] = 5; // a later folder: not the last attempt either
    auto items = plan_task_folder(f, policy(), now);
    BOOST_REQUIRE_EQUAL(items.size(), 1u);
    BOOST_TEST(items.front().attempts == (std::vector<uint32_t>{1, 3}));
  }
}

BOOST_AUTO_TEST_CASE(a_task_with_one_attempt_has_nothing_to_lose) {
  auto f = folder_of(finished_task(task_status::done, day * 8, 1));
  f.attempts = {{1, 100}};
  BOOST_TEST(plan_task_folder(f, policy(), now).empty());
}

BOOST_AUTO_TEST_CASE(the_whole_folder_goes_after_the_outputs_window) {
  auto f = folder_of(finished_task(task_status::done, day * 366, 2), {output()});
  f.other_bytes = 7;
  auto items = plan_task_folder(f, policy(), now);
  BOOST_REQUIRE_EQUAL(items.size(), 1u);
  auto& item = items.front();
  BOOST_TEST(item.whole);
  BOOST_TEST(item.attempts == (std::vector<uint32_t>{1, 2}));
  BOOST_TEST(item.bytes == 307u);
  BOOST_TEST(item.assets == std::vector<std::string>{output_id});
  BOOST_TEST(item.reason.find("no unfinished task holds its outputs")
               != std::string::npos,
             item.reason);
}

BOOST_AUTO_TEST_CASE(a_held_output_keeps_the_folder_but_not_the_losing_attempts) {
  auto held = output(asset_status::available,
                     {"7a8b9c0d-1e2f-4a3b-8c4d-5e6f7a8b9c0d"});
  auto f = folder_of(finished_task(task_status::done, day * 400, 2), {held});
  auto items = plan_task_folder(f, policy(), now);
  BOOST_REQUIRE_EQUAL(items.size(), 1u);
  BOOST_TEST(!items.front().whole);
  BOOST_TEST(items.front().attempts == std::vector<uint32_t>{1});
}

BOOST_AUTO_TEST_CASE(only_available_outputs_become_purged) {
  for (auto st : {asset_status::failed, asset_status::purged}) {
    auto f = folder_of(finished_task(task_status::error, day * 400, 2),
                       {output(st)});
    auto items = plan_task_folder(f, policy(), now);
    BOOST_REQUIRE_EQUAL(items.size(), 1u);
    BOOST_TEST(items.front().whole);
    BOOST_TEST(items.front().assets.empty());
  }
}

BOOST_AUTO_TEST_CASE(what_an_earlier_pass_recorded_goes_without_a_new_record) {
  // It recorded attempt 1 and stopped before removing it; now attempt 3
  // qualifies too.
  auto f = folder_of(finished_task(task_status::done, day * 8, 2));
  f.attempts[3] = 30;
  note_recorded_removal(R"({"attempts":[1],"whole":false,"bytes":100})",
                        f.recorded);
  auto items = plan_task_folder(f, policy(), now);
  BOOST_REQUIRE_EQUAL(items.size(), 2u);
  BOOST_TEST(items[0].recorded);
  BOOST_TEST(items[0].attempts == std::vector<uint32_t>{1});
  BOOST_TEST(!items[1].recorded);
  BOOST_TEST(items[1].attempts == std::vector<uint32_t>{3});
}

BOOST_AUTO_TEST_CASE(a_recorded_whole_folder_whose_outputs_are_purged_goes_unrecorded) {
  auto f = folder_of(finished_task(task_status::done, day * 400, 2),
                     {output(asset_status::purged)});
  note_recorded_removal(R"({"attempts":[1,2],"whole":true})", f.recorded);
  auto items = plan_task_folder(f, policy(), now);
  BOOST_REQUIRE_EQUAL(items.size(), 1u);
  BOOST_TEST(items.front().whole);
  BOOST_TEST(items.front().recorded);
}

BOOST_AUTO_TEST_CASE(recorded_removals_read_from_payloads) {
  recorded_removals r;
  note_recorded_removal(R"({"attempts":[2,1],"whole":false})", r);
  note_recorded_removal(R"({"attempts":[1,3]})", r);
  note_recorded_removal("not json", r);
  note_recorded_removal(R"({"attempts":[0,-1,"x"]})", r);
  BOOST_TEST(r.attempts == (std::vector<uint32_t>{2, 1, 3}));
  BOOST_TEST(!r.whole);
  note_recorded_removal(R"({"whole":true})", r);
  BOOST_TEST(r.whole);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(blobs)

const std::string sha = std::string(62, 'a') + "0f";

BOOST_AUTO_TEST_CASE(a_referenced_blob_stays) {
  std::unordered_set<std::string> referenced{sha};
  blob_file b{sha, 5, now - day, std::nullopt};
  BOOST_TEST(!plan_blob(b, referenced, policy(), now).has_value());
}

BOOST_AUTO_TEST_CASE(an_unreferenced_blob_goes_after_its_grace) {
  blob_file young{sha, 5, now - minutes{59}, std::nullopt};
  BOOST_TEST(!plan_blob(young, {}, policy(), now).has_value());
  blob_file old{sha, 5, now - minutes{61}, std::nullopt};
  auto item = plan_blob(old, {}, policy(), now);
  BOOST_REQUIRE(item.has_value());
  BOOST_TEST(item->sha256 == sha);
  BOOST_TEST(item->bytes == 5u);
  BOOST_TEST(!item->recorded);
}

BOOST_AUTO_TEST_CASE(a_blob_whose_removal_was_recorded_after_it_was_written) {
  blob_file b{sha, 5, now - day, now - hours{2}};
  auto item = plan_blob(b, {}, policy(), now);
  BOOST_REQUIRE(item.has_value());
  BOOST_TEST(item->recorded);
  // Written again after that record: a new blob, a new record.
  blob_file again{sha, 5, now - minutes{90}, now - hours{2}};
  item = plan_blob(again, {}, policy(), now);
  BOOST_REQUIRE(item.has_value());
  BOOST_TEST(!item->recorded);
}

BOOST_AUTO_TEST_CASE(assets_reference_blobs_by_content_and_by_path) {
  std::unordered_set<std::string> refs;
  auto a = output();
  a.sha256 = sha;
  a.uri = "/old/data/blobs/sha256/bb/" + std::string(64, 'b');
  add_blob_references(a, refs);
  BOOST_TEST(refs.count(sha) == 1u);
  BOOST_TEST(refs.count(std::string(64, 'b')) == 1u);
  // A PURGED asset references nothing.
  std::unordered_set<std::string> none;
  add_blob_references(output(asset_status::purged), none);
  BOOST_TEST(none.empty());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_CASE(the_json_form_counts_what_goes) {
  purge_plan p;
  p.by = "admin";
  p.at = format_timestamp(now);
  purge_task whole;
  whole.task_id = task_id;
  whole.whole = true;
  whole.attempts = {1, 2};
  whole.bytes = 300;
  whole.assets = {output_id};
  purge_task losing;
  losing.task_id = task_id;
  losing.attempts = {1};
  losing.bytes = 100;
  losing.recorded = true;
  p.tasks = {whole, losing};
  p.blobs = {{std::string(64, 'a'), 5, "no asset references it", false}};
  auto n = totals(p);
  BOOST_TEST(n.tasks == 2u);
  BOOST_TEST(n.folders == 1u);
  BOOST_TEST(n.attempts == 3u);
  BOOST_TEST(n.assets == 1u);
  BOOST_TEST(n.blobs == 1u);
  BOOST_TEST(n.bytes == 405u);
  auto doc = to_json(p);
  BOOST_TEST(json::serialize(*doc.find("totals"))
             == R"({"tasks":2,"folders":1,"attempts":3,"assets":1,"blobs":1,"bytes":405})");
  BOOST_TEST(doc.find("operator")->as_string() == "admin");
  BOOST_TEST(doc.find("trace_id") == nullptr);
  BOOST_TEST(doc.find("tasks")->as_array()[1].find("recorded_earlier")->as_bool());
  BOOST_TEST(!empty(p));
  BOOST_TEST(empty(purge_plan{}));
}
