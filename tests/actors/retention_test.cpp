#define BOOST_TEST_MODULE retention
#include <boost/test/unit_test.hpp>

// Retention through Zenith's and the janitor's state (no actor system): the
// janitor plans from the database and a real data folder, Zenith records
// what it accepts (checking each item again), the janitor removes the
// files. Every commit is read back and the log verified (the fixture's
// `commit`).

#include "actors/janitor.hpp"
#include "actors/zenith.hpp"
#include "contracts/error_code.hpp"
#include "contracts/json.hpp"
#include "contracts/module_registration.hpp"
#include "contracts/retention.hpp"
#include "tests/actors/test_support.hpp"

#include <fcntl.h>
#include <sys/stat.h>

#include <fstream>
#include <string>
#include <vector>

using namespace omniva;
using namespace omniva::test_support;
using contracts::asset_status;
using contracts::ec;
using contracts::task_record;
using contracts::task_request;
using contracts::task_status;
namespace fs = std::filesystem;

namespace {

constexpr std::chrono::milliseconds day = std::chrono::hours{24};

/// Writes `text` to `path`, making its folders.
void write_file(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream out{path, std::ios::binary};
  out << text;
}

struct fixture : zenith_state_fixture {
  actors::janitor_state janitor;
  contracts::manual_clock* zenith_clock = nullptr;
  contracts::manual_clock* janitor_clock = nullptr;

  fixture() : zenith_state_fixture("omniva-retention-", 11) {
    open();
    st->config.heartbeat_timeout = std::chrono::seconds{60};
    zenith_clock = &static_cast<contracts::manual_clock&>(*st->clock);
    for (auto& text : {source_module(), step_module()}) {
      auto e = contracts::check_module_text(text, "/modules/x", {});
      BOOST_REQUIRE_MESSAGE(e, why(e));
      BOOST_REQUIRE(st->enroll(*e));
    }
    commit();
    janitor.config.data_dir = dir.path.string();
    janitor.config.policy.attempts_after = day * 7;
    janitor.config.policy.outputs_after = day * 365;
    janitor.config.policy.blob_grace = std::chrono::hours{1};
    janitor.reader = db->read;
    auto clock = std::make_unique<contracts::manual_clock>(zenith_clock->now());
    janitor_clock = clock.get();
    janitor.clock = std::move(clock);
  }

  /// Moves both clocks forward by `d`.
  void advance(std::chrono::milliseconds d) {
    zenith_clock->advance(d);
    janitor_clock->advance(d);
  }

  fs::path outputs(const std::string& task_id) {
    return dir.path / "outputs" / task_id;
  }

  task_record submit(const task_request& req) {
    auto r = st->submit(req);
    BOOST_REQUIRE_MESSAGE(r.ok, "refused: " << (r.problems.empty()
                                                  ? std::string{"?"}
                                                  : r.problems.front().message));
    return r.task;
  }

  /// Runs `t` to DONE at attempt 2 (its first worker is taken for lost),
  /// each attempt leaving a folder with a log and a result.
  task_record run_twice(task_record t) {
    commit();
    st->dispatch_ready();
    commit();
    write_file(outputs(t.task_id) / "1" / "stderr.log", "lost\n");
    advance(std::chrono::seconds{61});
    BOOST_REQUIRE_EQUAL(st->check_heartbeats(), 1u);
    commit(); // Eclipse plans a retry after default@1's first pause (1 s)
    advance(std::chrono::seconds{2});
    st->on_due();
    commit();
    st->dispatch_ready();
    commit();
    auto& now = st->tasks.at(t.task_id);
    BOOST_REQUIRE_EQUAL(now.attempt, 2u);
    auto folder = outputs(t.task_id) / "2";
    write_file(folder / "stdout.log", "done\n");
    write_file(folder / "result.json", "{\"ok\": true}");
    contracts::execution_outcome o;
    o.execution_id = t.task_id + "/2";
    o.task_id = t.task_id;
    o.attempt = 2;
    o.ok = true;
    o.outputs.push_back({"result", (folder / "result.json").string(),
                         "application/json", std::string(64, 'e'), 12});
    st->on_result(o);
    commit();
    BOOST_REQUIRE(st->tasks.at(t.task_id).status == task_status::done);
    return st->tasks.at(t.task_id);
  }

  /// A pass as the janitor runs one: plan, Zenith records, files go.
  contracts::purge_plan pass(const std::string& by = "tester") {
    auto planned = janitor.plan(false, by);
    BOOST_REQUIRE_MESSAGE(planned, why(planned));
    auto record = actors::janitor_state::to_record(*planned);
    contracts::purge_plan accepted = record;
    accepted.tasks.clear();
    accepted.blobs.clear();
    if (!contracts::empty(record)) {
      auto r = st->purge(record);
      BOOST_REQUIRE_MESSAGE(r, why(r));
      accepted = *r;
      commit();
    }
    return janitor.remove(*planned, std::move(accepted));
  }

  /// The kinds of the packets naming `subject`, in order.
  std::vector<std::string> kinds(const std::string& subject) {
    auto h = db->read->history(subject);
    BOOST_REQUIRE_MESSAGE(h, why(h));
    std::vector<std::string> out;
    for (auto& p : *h)
      out.push_back(p.kind);
    return out;
  }

  uint64_t packets() {
    auto n = db->read->packet_count();
    BOOST_REQUIRE(n);
    return *n;
  }

  contracts::asset_record asset_row(const std::string& id) {
    auto text = db->read->get(storage::table::assets, id);
    BOOST_REQUIRE_MESSAGE(text, why(text));
    auto doc = json::parse(*text);
    std::vector<contracts::problem> problems;
    auto a = contracts::asset_record_from_json(*doc.doc, problems);
    BOOST_REQUIRE(a);
    return *a;
  }

  /// A blob file in the store, written `age` before the janitor's now.
  std::string blob(const std::string& content_sha, std::chrono::milliseconds age) {
    auto path = dir.path / "blobs" / "sha256" / content_sha.substr(0, 2)
                / content_sha;
    write_file(path, "blob bytes");
    auto when = janitor_clock->now() - age;
    auto ms = when.time_since_epoch().count();
    struct timespec times[2];
    times[0].tv_sec = times[1].tv_sec = ms / 1000;
    times[0].tv_nsec = times[1].tv_nsec = (ms % 1000) * 1'000'000;
    BOOST_REQUIRE_EQUAL(::utimensat(AT_FDCWD, path.c_str(), times, 0), 0);
    return path.string();
  }
};

} // namespace

BOOST_FIXTURE_TEST_CASE(the_attempt_that_did_not_win_goes_after_a_week, fixture) {
  auto t = run_twice(submit(source_request()));
  advance(day * 6);
  BOOST_CHECK(contracts::empty(pass()));
  BOOST_CHECK(fs::exists(outputs(t.task_id) / "1"));
  advance(day * 2);
  auto went = pass("admin");
  BOOST_REQUIRE_EQUAL(went.tasks.size(), 1u);
  BOOST_CHECK(went.tasks.front().attempts == std::vector<uint32_t>{1});
  BOOST_CHECK(!went.tasks.front().whole);
  BOOST_CHECK(!went.trace_id.empty());
  BOOST_CHECK(!fs::exists(outputs(t.task_id) / "1"));
  BOOST_CHECK(fs::exists(outputs(t.task_id) / "2" / "result.json"));
  // Recorded: the task's history says so, naming the operator; a summary
  // names the pass.
  auto history = db->read->history(t.task_id);
  BOOST_REQUIRE(history && !history->empty());
  auto& last = history->back();
  BOOST_CHECK_EQUAL(last.kind, "task.files_removed");
  BOOST_CHECK_EQUAL(last.trace_id, went.trace_id);
  auto payload = json::parse(last.payload);
  BOOST_CHECK_EQUAL(json::serialize(*payload.doc->find("attempts")), "[1]");
  BOOST_CHECK_EQUAL(payload.doc->find("operator")->as_string(), "admin");
  BOOST_CHECK(kinds("gc") == std::vector<std::string>{"gc.completed"});
  // The output is untouched; a second pass has nothing to do.
  BOOST_CHECK(st->assets.at(t.outputs.at("result")).status
              == asset_status::available);
  auto before = packets();
  BOOST_CHECK(contracts::empty(pass()));
  BOOST_CHECK_EQUAL(packets(), before);
}

BOOST_FIXTURE_TEST_CASE(an_old_task_folder_goes_and_its_output_is_purged,
                        fixture) {
  auto t = run_twice(submit(source_request()));
  auto out = t.outputs.at("result");
  advance(day * 366);
  auto went = pass();
  BOOST_REQUIRE_EQUAL(went.tasks.size(), 1u);
  BOOST_CHECK(went.tasks.front().whole);
  BOOST_CHECK(went.tasks.front().assets == std::vector<std::string>{out});
  BOOST_CHECK(!fs::exists(outputs(t.task_id)));
  // PURGED in memory and in its row, with when; its history says why.
  BOOST_CHECK(st->assets.at(out).status == asset_status::purged);
  auto row = asset_row(out);
  BOOST_CHECK(row.status == asset_status::purged);
  BOOST_CHECK_EQUAL(row.purged_at,
                    contracts::format_timestamp(zenith_clock->now()));
  BOOST_CHECK_EQUAL(kinds(out).back(), "asset.purged");
  // Used as an input, it is refused at its pointer.
  auto refused = st->submit(step_request(out));
  BOOST_REQUIRE(!refused.ok);
  BOOST_REQUIRE_EQUAL(refused.problems.size(), 1u);
  BOOST_CHECK(refused.problems.front().code == ec::asset_purged);
  BOOST_CHECK_EQUAL(refused.problems.front().pointer, "/input_mapping/prev");
}

BOOST_FIXTURE_TEST_CASE(an_output_held_by_an_unfinished_task_keeps_its_folder,
                        fixture) {
  auto t = run_twice(submit(source_request()));
  auto out = t.outputs.at("result");
  auto holder = submit(step_request(out));
  commit();
  advance(day * 366);
  // Only the losing attempt goes: the winner holds what the holder reads.
  auto went = pass();
  BOOST_REQUIRE_EQUAL(went.tasks.size(), 1u);
  BOOST_CHECK(!went.tasks.front().whole);
  BOOST_CHECK(fs::exists(outputs(t.task_id) / "2" / "result.json"));
  BOOST_CHECK(st->assets.at(out).status == asset_status::available);
  // Once the holder is over, the folder goes.
  BOOST_REQUIRE(st->cancel(holder.task_id));
  commit();
  went = pass();
  BOOST_REQUIRE_EQUAL(went.tasks.size(), 1u);
  BOOST_CHECK(went.tasks.front().whole);
  BOOST_CHECK(!fs::exists(outputs(t.task_id)));
  BOOST_CHECK(st->assets.at(out).status == asset_status::purged);
}

BOOST_FIXTURE_TEST_CASE(zenith_refuses_an_item_taken_since_it_was_planned,
                        fixture) {
  auto t = run_twice(submit(source_request()));
  auto out = t.outputs.at("result");
  advance(day * 366);
  auto planned = janitor.plan(false, "tester");
  BOOST_REQUIRE(planned);
  BOOST_REQUIRE_EQUAL(planned->plan.tasks.size(), 1u);
  BOOST_REQUIRE(planned->plan.tasks.front().whole);
  // A task takes the output between the plan and the record.
  submit(step_request(out));
  commit();
  auto before = packets();
  auto accepted = st->purge(actors::janitor_state::to_record(*planned));
  BOOST_REQUIRE(accepted);
  BOOST_CHECK(contracts::empty(*accepted));
  BOOST_CHECK_EQUAL(accepted->skipped, 1u);
  commit();
  BOOST_CHECK_EQUAL(packets(), before); // nothing recorded
  auto went = janitor.remove(*planned, *accepted);
  BOOST_CHECK(contracts::empty(went));
  BOOST_CHECK(fs::exists(outputs(t.task_id) / "2" / "result.json"));
  BOOST_CHECK(st->assets.at(out).status == asset_status::available);
}

BOOST_FIXTURE_TEST_CASE(zenith_never_records_the_last_attempt_or_an_unfinished_task,
                        fixture) {
  auto t = run_twice(submit(source_request()));
  auto pending = submit(source_request());
  commit();
  contracts::purge_plan forged;
  forged.by = "tester";
  contracts::purge_task last;
  last.task_id = t.task_id;
  last.attempts = {2};
  contracts::purge_task unfinished;
  unfinished.task_id = pending.task_id;
  unfinished.whole = true;
  forged.tasks = {last, unfinished};
  auto r = st->purge(forged);
  BOOST_REQUIRE(r);
  BOOST_CHECK(contracts::empty(*r));
  BOOST_CHECK_EQUAL(r->skipped, 2u);
  forged.dry_run = true;
  BOOST_CHECK(is(st->purge(forged).error(), ec::invalid_argument));
}

BOOST_FIXTURE_TEST_CASE(a_blob_no_asset_references_goes_after_its_grace,
                        fixture) {
  auto unreferenced = std::string(62, 'a') + "01";
  auto referenced = std::string(62, 'b') + "02";
  auto young = std::string(62, 'c') + "03";
  auto gone_path = blob(unreferenced, std::chrono::hours{2});
  auto kept_path = blob(referenced, std::chrono::hours{2});
  auto young_path = blob(young, std::chrono::minutes{10});
  contracts::asset_record a;
  a.kind = contracts::asset_kind::file;
  a.media_type = "text/plain";
  a.uri = kept_path;
  a.sha256 = referenced;
  a.size = 10;
  BOOST_REQUIRE(st->add_asset(a));
  commit();
  // A dry run changes nothing.
  auto before = packets();
  auto shown = janitor.plan(true, "tester");
  BOOST_REQUIRE(shown);
  BOOST_REQUIRE_EQUAL(shown->plan.blobs.size(), 1u);
  BOOST_CHECK(shown->plan.dry_run);
  BOOST_CHECK(fs::exists(gone_path));
  BOOST_CHECK_EQUAL(packets(), before);
  auto went = pass();
  BOOST_REQUIRE_EQUAL(went.blobs.size(), 1u);
  BOOST_CHECK_EQUAL(went.blobs.front().sha256, unreferenced);
  BOOST_CHECK(!fs::exists(gone_path));
  BOOST_CHECK(fs::exists(kept_path));
  BOOST_CHECK(fs::exists(young_path));
  BOOST_CHECK(kinds("blob:" + unreferenced)
              == std::vector<std::string>{"blob.removed"});
}

BOOST_FIXTURE_TEST_CASE(a_removal_recorded_before_a_crash_completes_without_a_new_record,
                        fixture) {
  auto t = run_twice(submit(source_request()));
  auto sha = std::string(62, 'd') + "04";
  auto blob_path = blob(sha, std::chrono::hours{2});
  advance(day * 366);
  // Zenith records the pass; the node dies before the files go.
  auto planned = janitor.plan(false, "tester");
  BOOST_REQUIRE(planned);
  auto accepted = st->purge(actors::janitor_state::to_record(*planned));
  BOOST_REQUIRE(accepted && !contracts::empty(*accepted));
  commit();
  BOOST_REQUIRE(fs::exists(outputs(t.task_id)));
  BOOST_REQUIRE(fs::exists(blob_path));
  janitor.reader.reset();
  close();
  open();
  janitor.reader = db->read;
  auto before = packets();
  auto went = pass();
  BOOST_CHECK_EQUAL(packets(), before); // no second record
  BOOST_REQUIRE_EQUAL(went.tasks.size(), 1u);
  BOOST_CHECK(went.tasks.front().recorded);
  BOOST_REQUIRE_EQUAL(went.blobs.size(), 1u);
  BOOST_CHECK(went.blobs.front().recorded);
  BOOST_CHECK(!fs::exists(outputs(t.task_id)));
  BOOST_CHECK(!fs::exists(blob_path));
}
