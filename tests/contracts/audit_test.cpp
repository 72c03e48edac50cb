#define BOOST_TEST_MODULE audit
#include <boost/test/unit_test.hpp>

// Paradox's audit checks (contracts/audit.hpp) over hand-built state rows
// and packets: each check finds what it should, with its rating, affected
// ids and evidence, and nothing on a clean node; findings come in a fixed
// order; an audit's record reads back.

#include "contracts/audit.hpp"
#include "contracts/json.hpp"

#include <algorithm>
#include <random>
#include <string>
#include <vector>

using namespace omniva;
using namespace omniva::contracts;
using audit::lineage_digest;
using audit::state_snapshot;

namespace {

// Ids: readable stand-ins (the checks never look inside an id).
const std::string upload = "asset-upload";
const std::string out_a = "asset-out-a";
const std::string out_b = "asset-out-b";
const std::string task_a = "task-a";
const std::string task_b = "task-b";
const std::string trace_upload = "trace-upload";
const std::string trace_work = "trace-work";

/// A packet `id` of `kind` in `trace` at second `second` of a minute.
packet make_packet(std::string id, std::string kind, std::string trace,
                   int second, std::vector<std::string> subjects,
                   std::string payload = "{}") {
  packet p;
  p.id = std::move(id);
  p.kind = std::move(kind);
  p.actor = "zenith";
  p.trace_id = std::move(trace);
  p.at = "2026-12-01T10:00:" + std::string(second < 10 ? "0" : "")
         + std::to_string(second) + ".000Z";
  std::sort(subjects.begin(), subjects.end());
  p.subjects = std::move(subjects);
  p.payload = std::move(payload);
  return p;
}

/// The payload of a `task.succeeded` making `asset` as output `result`.
std::string succeeded_payload(const std::string& asset) {
  return R"({"outputs":{"result":{"asset_id":")" + asset
         + R"(","sha256":"00"}},"metrics":null})";
}

asset_record make_asset(const std::string& id, asset_status status,
                        const std::string& produced_by = {}) {
  asset_record a;
  a.asset_id = id;
  a.status = status;
  a.produced_by = produced_by;
  a.media_type = "application/json";
  return a;
}

task_record make_task(const std::string& id, task_status status,
                      std::map<std::string, std::string> inputs,
                      std::map<std::string, std::string> outputs) {
  task_record t;
  t.task_id = id;
  t.module_ref = "step@1";
  t.status = status;
  t.input_mapping = std::move(inputs);
  t.outputs = std::move(outputs);
  t.trace_id = trace_work;
  return t;
}

/// A clean node: an upload; task A read it and is DONE (its output
/// AVAILABLE); task B reads A's output and RUNS (its output PENDING, its
/// hold on A's output in place). Every packet in order, times rising.
struct clean_node {
  state_snapshot state;
  std::vector<packet> log;

  clean_node() {
    state.assets = {make_asset(upload, asset_status::available),
                    make_asset(out_a, asset_status::available, task_a),
                    make_asset(out_b, asset_status::pending, task_b)};
    state.tasks = {make_task(task_a, task_status::done, {{"in", upload}},
                             {{"result", out_a}}),
                   make_task(task_b, task_status::running, {{"prev", out_a}},
                             {{"result", out_b}})};
    state.holds = {{out_a, task_b}};
    log = {
      make_packet("p-upload", "asset.registered", trace_upload, 1, {upload},
                  R"({"kind":"FILE"})"),
      make_packet("p-a-created", "task.created", trace_work, 2,
                  {task_a, upload, out_a}),
      make_packet("p-a-ready", "task.ready", trace_work, 3, {task_a}),
      make_packet("p-a-done", "task.succeeded", trace_work, 4,
                  {task_a, out_a, upload}, succeeded_payload(out_a)),
      make_packet("p-b-created", "task.created", trace_work, 5,
                  {task_b, out_a, out_b}),
      make_packet("p-b-dispatched", "task.dispatched", trace_work, 6, {task_b}),
    };
  }

  lineage_digest digest() const {
    lineage_digest d;
    for (auto& p : log)
      d.add(p);
    return d;
  }

  std::vector<conflict_resolution> findings() const {
    return audit::run_checks(state, digest());
  }

  asset_record& asset(const std::string& id) {
    return *std::find_if(state.assets.begin(), state.assets.end(),
                         [&](auto& a) { return a.asset_id == id; });
  }

  task_record& task(const std::string& id) {
    return *std::find_if(state.tasks.begin(), state.tasks.end(),
                         [&](auto& t) { return t.task_id == id; });
  }
};

using ids = std::vector<std::string>;

} // namespace

// -- a clean node ---------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(a_clean_node_has_no_findings) {
  clean_node n;
  auto found = n.findings();
  BOOST_TEST(found.empty());
  for (auto& f : found)
    BOOST_TEST_MESSAGE(f.check << ": " << f.message);
  BOOST_TEST(n.digest().packets() == n.log.size());
}

BOOST_AUTO_TEST_CASE(the_digest_knows_producers_and_ends) {
  clean_node n;
  auto d = n.digest();
  BOOST_TEST(d.producers(upload) == ids{"p-upload"});
  BOOST_TEST(d.producers(out_a) == ids{"p-a-done"});
  BOOST_TEST(d.producers(out_b).empty());
  BOOST_TEST(d.ended_by(task_a) == "p-a-done");
  BOOST_TEST(d.ended_by(task_b) == "");
  // The output a packet produced is not taken for the task it ended.
  BOOST_TEST(d.ended_by(out_a) == "");
}

// -- available_without_producer ----------------------------------------------------------

BOOST_AUTO_TEST_CASE(an_available_asset_no_packet_produced_is_found) {
  clean_node n;
  n.state.assets.push_back(make_asset("asset-orphan", asset_status::available));
  auto found = n.findings();
  BOOST_REQUIRE_EQUAL(found.size(), 1u);
  BOOST_TEST(found[0].check == "available_without_producer");
  BOOST_TEST(found[0].severity == "high");
  BOOST_TEST(found[0].action == "quarantine");
  BOOST_TEST(found[0].affected == ids{"asset-orphan"});
  BOOST_TEST(found[0].evidence.empty());
}

BOOST_AUTO_TEST_CASE(an_output_made_available_without_task_succeeded_names_its_task) {
  clean_node n;
  n.asset(out_b).status = asset_status::available;
  auto found = audit::check_available_without_producer(n.state, n.digest());
  BOOST_REQUIRE_EQUAL(found.size(), 1u);
  BOOST_TEST(found[0].affected == (ids{out_b, task_b}));
}

BOOST_AUTO_TEST_CASE(an_output_bound_by_task_reused_has_its_producer) {
  clean_node n;
  n.state.assets.push_back(make_asset("asset-out-c", asset_status::available,
                                      "task-c"));
  n.state.tasks.push_back(make_task("task-c", task_status::done, {},
                                    {{"result", "asset-out-c"}}));
  n.log.push_back(make_packet(
    "p-c-reused", "task.reused", trace_work, 7, {"task-c", "asset-out-c", task_a},
    R"({"reused_from":"task-a","outputs":{"result":{"asset_id":"asset-out-c","sha256":"00"}}})"));
  BOOST_TEST(n.findings().empty());
  auto d = n.digest();
  BOOST_TEST(d.ended_by("task-c") == "p-c-reused");
  // The task it took from keeps the packet that ended it.
  BOOST_TEST(d.ended_by(task_a) == "p-a-done");
}

// -- two_producers ---------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(an_asset_produced_by_two_packets_is_found) {
  clean_node n;
  n.log.push_back(make_packet("p-upload-again", "asset.registered",
                              "trace-other", 7, {upload}));
  auto found = n.findings();
  BOOST_REQUIRE_EQUAL(found.size(), 1u);
  BOOST_TEST(found[0].check == "two_producers");
  BOOST_TEST(found[0].severity == "critical");
  BOOST_TEST(found[0].action == "block");
  BOOST_TEST(found[0].affected == ids{upload});
  BOOST_TEST(found[0].evidence == (ids{"p-upload", "p-upload-again"}));
}

BOOST_AUTO_TEST_CASE(an_asset_two_tasks_claim_as_output_is_found) {
  clean_node n;
  n.state.tasks.push_back(make_task("task-c", task_status::pending, {},
                                    {{"result", out_a}}));
  auto found = audit::check_two_producers(n.state, n.digest());
  BOOST_REQUIRE_EQUAL(found.size(), 1u);
  BOOST_TEST(found[0].affected == (ids{out_a, task_a, "task-c"}));
  BOOST_TEST(found[0].evidence == ids{"p-a-done"});
}

BOOST_AUTO_TEST_CASE(an_asset_whose_produced_by_names_another_task_is_found) {
  clean_node n;
  n.asset(out_a).produced_by = "task-z";
  auto found = audit::check_two_producers(n.state, n.digest());
  BOOST_REQUIRE_EQUAL(found.size(), 1u);
  BOOST_TEST(found[0].affected == (ids{out_a, task_a, "task-z"}));
}

// -- done_with_missing_outputs ------------------------------------------------------------

BOOST_AUTO_TEST_CASE(a_done_task_with_a_failed_output_is_found) {
  clean_node n;
  n.asset(out_a).status = asset_status::failed;
  auto found = audit::check_done_with_missing_outputs(n.state, n.digest());
  BOOST_REQUIRE_EQUAL(found.size(), 1u);
  BOOST_TEST(found[0].check == "done_with_missing_outputs");
  BOOST_TEST(found[0].severity == "high");
  BOOST_TEST(found[0].action == "block");
  BOOST_TEST(found[0].affected == (ids{task_a, out_a}));
  BOOST_TEST(found[0].evidence == ids{"p-a-done"});
  BOOST_TEST(found[0].message.find("FAILED") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_done_task_whose_output_row_is_gone_is_found_unless_deleted) {
  clean_node n;
  std::erase_if(n.state.assets, [](auto& a) { return a.asset_id == out_a; });
  n.state.holds.clear(); // task B's hold is not what this test is about
  auto found = audit::check_done_with_missing_outputs(n.state, n.digest());
  BOOST_REQUIRE_EQUAL(found.size(), 1u);
  BOOST_TEST(found[0].affected == (ids{task_a, out_a}));
  BOOST_TEST(found[0].message.find("has no row") != std::string::npos);
  // An operator's delete accounts for it.
  n.log.push_back(make_packet("p-deleted", "asset.deleted", "trace-del", 9,
                              {out_a}));
  BOOST_TEST(audit::check_done_with_missing_outputs(n.state, n.digest()).empty());
}

BOOST_AUTO_TEST_CASE(a_purged_output_of_a_done_task_is_accounted_for) {
  clean_node n;
  n.asset(out_a).status = asset_status::purged;
  BOOST_TEST(audit::check_done_with_missing_outputs(n.state, n.digest()).empty());
}

BOOST_AUTO_TEST_CASE(a_done_task_with_a_pending_output_is_found_without_a_producer) {
  // Task B declared DONE while its output is still promised: the only
  // evidence is the packet that ended it.
  clean_node n;
  n.task(task_b).status = task_status::done;
  n.state.holds.clear();
  n.log.push_back(make_packet("p-b-done", "task.succeeded", trace_work, 8,
                              {task_b, out_a}, R"({"outputs":{}})"));
  auto found = n.findings();
  BOOST_REQUIRE_EQUAL(found.size(), 1u);
  BOOST_TEST(found[0].check == "done_with_missing_outputs");
  BOOST_TEST(found[0].affected == (ids{task_b, out_b}));
  BOOST_TEST(found[0].evidence == ids{"p-b-done"});
  BOOST_TEST(found[0].message.find("PENDING") != std::string::npos);
}

// -- hold_on_finished_task ------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(a_hold_of_a_finished_task_is_found) {
  clean_node n;
  n.state.holds.push_back({upload, task_a});
  auto found = n.findings();
  BOOST_REQUIRE_EQUAL(found.size(), 1u);
  BOOST_TEST(found[0].check == "hold_on_finished_task");
  BOOST_TEST(found[0].severity == "medium");
  BOOST_TEST(found[0].action == "ignore");
  BOOST_TEST(found[0].affected == (ids{task_a, upload}));
  BOOST_TEST(found[0].evidence == ids{"p-a-done"});
  BOOST_TEST(found[0].message.find("DONE") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_hold_of_a_task_that_does_not_exist_is_found) {
  clean_node n;
  n.state.holds.push_back({upload, "task-ghost"});
  auto found = audit::check_hold_on_finished_task(n.state, n.digest());
  BOOST_REQUIRE_EQUAL(found.size(), 1u);
  BOOST_TEST(found[0].affected == (ids{"task-ghost", upload}));
  BOOST_TEST(found[0].evidence.empty());
  BOOST_TEST(found[0].message.find("does not exist") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(holds_of_unfinished_tasks_are_fine) {
  clean_node n;
  for (auto s : {task_status::pending, task_status::ready, task_status::running}) {
    n.task(task_b).status = s;
    BOOST_TEST(audit::check_hold_on_finished_task(n.state, n.digest()).empty());
  }
  for (auto s : {task_status::error, task_status::cancelled, task_status::skipped}) {
    n.task(task_b).status = s;
    BOOST_TEST(audit::check_hold_on_finished_task(n.state, n.digest()).size() == 1u);
  }
}

// -- time_backwards --------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(a_packet_earlier_than_the_one_before_it_in_its_trace_is_found) {
  clean_node n;
  n.log.push_back(make_packet("p-b-beat", "task.requeued", trace_work, 3,
                              {task_b}));
  auto found = n.findings();
  BOOST_REQUIRE_EQUAL(found.size(), 1u);
  BOOST_TEST(found[0].check == "time_backwards");
  BOOST_TEST(found[0].severity == "low");
  BOOST_TEST(found[0].action == "ignore");
  BOOST_TEST(found[0].affected == ids{trace_work});
  BOOST_TEST(found[0].evidence == (ids{"p-b-dispatched", "p-b-beat"}));
}

BOOST_AUTO_TEST_CASE(time_may_differ_across_traces_and_repeat_within_one) {
  clean_node n;
  // Another trace, earlier than the last packet of the log: fine.
  n.log.push_back(make_packet("p-other", "asset.registered", "trace-other", 1,
                              {"asset-other"}));
  // The same millisecond as the packet before it in its trace: fine.
  n.log.push_back(make_packet("p-b-same", "task.ready", trace_work, 6, {task_b}));
  n.state.assets.push_back(make_asset("asset-other", asset_status::available));
  BOOST_TEST(n.findings().empty());
}

BOOST_AUTO_TEST_CASE(each_step_back_is_one_finding) {
  clean_node n;
  n.log.push_back(make_packet("p-x1", "task.ready", trace_work, 2, {task_b}));
  n.log.push_back(make_packet("p-x2", "task.ready", trace_work, 3, {task_b}));
  n.log.push_back(make_packet("p-x3", "task.ready", trace_work, 1, {task_b}));
  auto found = audit::check_time_backwards(n.digest());
  BOOST_REQUIRE_EQUAL(found.size(), 2u);
  BOOST_TEST(found[0].evidence == (ids{"p-b-dispatched", "p-x1"}));
  BOOST_TEST(found[1].evidence == (ids{"p-x2", "p-x3"}));
}

// -- order -------------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(findings_come_in_check_order_then_by_affected_ids_whatever_the_row_order) {
  clean_node n;
  n.state.assets.push_back(make_asset("asset-z-orphan", asset_status::available));
  n.state.assets.push_back(make_asset("asset-b-orphan", asset_status::available));
  n.state.holds.push_back({upload, task_a});
  n.state.holds.push_back({upload, "task-0-ghost"});
  n.log.push_back(make_packet("p-upload-again", "asset.registered",
                              trace_upload, 9, {upload}));
  n.log.push_back(make_packet("p-back", "task.ready", trace_work, 1, {task_b}));
  auto found = n.findings();
  std::vector<std::string> checks;
  std::vector<std::string> first;
  for (auto& f : found) {
    checks.push_back(f.check);
    first.push_back(f.affected.front());
  }
  BOOST_TEST(checks
             == (ids{"available_without_producer", "available_without_producer",
                     "two_producers", "hold_on_finished_task",
                     "hold_on_finished_task", "time_backwards"}));
  BOOST_TEST(first
             == (ids{"asset-b-orphan", "asset-z-orphan", upload, "task-0-ghost",
                     task_a, trace_work}));
  // The same rows in another order give the same list.
  std::mt19937 rng{7};
  for (int i = 0; i < 5; ++i) {
    auto shuffled = n.state;
    std::shuffle(shuffled.assets.begin(), shuffled.assets.end(), rng);
    std::shuffle(shuffled.tasks.begin(), shuffled.tasks.end(), rng);
    std::shuffle(shuffled.holds.begin(), shuffled.holds.end(), rng);
    BOOST_TEST((audit::run_checks(shuffled, n.digest()) == found));
  }
}

BOOST_AUTO_TEST_CASE(every_check_has_a_rating) {
  BOOST_REQUIRE_EQUAL(audit::check_names.size(), audit::check_ratings.size());
  for (size_t i = 0; i < audit::check_names.size(); ++i) {
    BOOST_TEST(audit::check_ratings[i].check == audit::check_names[i]);
    auto action = audit::check_ratings[i].action;
    BOOST_TEST((action == "block" || action == "quarantine" || action == "ignore"));
  }
}

// -- the record --------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(an_audit_reads_back_from_its_record) {
  clean_node n;
  n.state.holds.push_back({upload, task_a});
  audit_report r;
  r.audit_id = "0f8fad5b-d9cb-469f-a165-70867728950e";
  r.started_at = "2026-12-01T11:00:00.000Z";
  r.finished_at = "2026-12-01T11:00:00.250Z";
  r.tasks_checked = 2;
  r.assets_checked = 3;
  r.packets_checked = 6;
  r.findings = n.findings();
  r.requested_by = "alice";
  r.packet_id = "ignored: not part of the payload";
  auto payload = audit::audit_payload(r);
  BOOST_TEST(payload.find("advice")->as_string() == "audit");
  BOOST_TEST(payload.find("packet_id") == nullptr);
  BOOST_TEST(payload.find("findings")->as_array().size() == 1u);
  packet p = make_packet(std::string(64, 'a'), "advice.paradox", "trace-audit",
                         0, {std::string{audit::audits_subject}},
                         json::serialize(payload));
  auto back = audit::audit_from_packet(p);
  BOOST_REQUIRE(back.has_value());
  auto expected = r;
  expected.packet_id = p.id;
  BOOST_TEST((*back == expected));
  // A clearance's advice is no audit.
  p.payload = R"({"advice":"clearance","items":[]})";
  BOOST_TEST(!audit::audit_from_packet(p).has_value());
  p.kind = "task.created";
  p.payload = json::serialize(payload);
  BOOST_TEST(!audit::audit_from_packet(p).has_value());
}
