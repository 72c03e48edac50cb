#define BOOST_TEST_MODULE zenith_runs
#include <boost/test/unit_test.hpp>

// Zenith's run engine as a state (actors/zenith_runs.cpp): pipelines
// registered whole, fan-outs over a `many` output and over an array inside a
// JSON output, `select`, `collect` with a failed element, the run's end,
// pause, cancel, and a restart that creates no element twice. Every commit
// is read back and the log verified (rows justified by packets).

#include "actors/zenith.hpp"
#include "contracts/error_code.hpp"
#include "contracts/json.hpp"
#include "contracts/module_registration.hpp"
#include "contracts/pipeline.hpp"
#include "contracts/run.hpp"
#include "storage/verify.hpp"
#include "tests/actors/test_support.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>

using namespace omniva;
using namespace omniva::test_support;
using contracts::ec;
using contracts::run_status;
using contracts::task_record;
using contracts::task_status;

namespace {

contracts::module_entry entry_of(const std::string& text) {
  auto e = contracts::check_module_text(text, "/modules/x", {});
  BOOST_REQUIRE_MESSAGE(e, "module does not parse: " << why(e));
  return *e;
}

/// `lister@1`: a VALUE `n` makes any number of JSON files (`items`, many).
std::string lister_module() {
  return module_json("lister", "Lists JSON documents.",
                     R"([{"key": "n", "label": "N", "contract_type": "VALUE",
                          "dtype": "int"}])",
                     R"([{"key": "items", "label": "Items", "contract_type": "ASSET",
                          "media_type": "application/json", "many": true}])");
}

/// `pick@1`: a VALUE json `item` makes a JSON `result`.
std::string pick_module() {
  return module_json("pick", "Works on one element.",
                     R"([{"key": "item", "label": "Item", "contract_type": "VALUE",
                          "dtype": "json"},
                         {"key": "prev", "label": "Parent", "contract_type": "ASSET",
                          "required": false,
                          "constraints": {"media_types": ["application/json"]}}])",
                     json_result_output());
}

/// `gather@1`: a list asset `clips` makes a JSON `result`.
std::string gather_module() {
  return module_json("gather", "Gathers a list.",
                     R"([{"key": "clips", "label": "Clips", "contract_type": "ASSET",
                          "constraints": {"media_types":
                            ["application/vnd.omniva.asset-list+json"]}}])",
                     json_result_output());
}

const std::string fan_pipeline = R"({
  "name": "fan", "version": 1, "schema_version": "1.0.0", "description": "x",
  "inputs": [{"key": "n", "label": "N", "contract_type": "VALUE", "dtype": "int"}],
  "steps": [
    {"id": "list", "module": "lister@1", "inputs": {"n": {"from": "inputs.n"}}},
    {"id": "each", "module": "step@1", "for_each": {"from": "list.items"},
     "inputs": {"prev": {"from": "item"}}},
    {"id": "all", "module": "gather@1", "collect": {"from": "each.result"},
     "inputs": {"clips": {"from": "collected"}}}],
  "outputs": {"results": {"from": "each.result"}}})";

const std::string select_pipeline = R"({
  "name": "best", "version": 1, "schema_version": "1.0.0", "description": "x",
  "inputs": [{"key": "n", "label": "N", "contract_type": "VALUE", "dtype": "int"}],
  "steps": [
    {"id": "make", "module": "source@1", "inputs": {"n": {"from": "inputs.n"}}},
    {"id": "top", "module": "pick@1",
     "for_each": {"from": "make.result", "pointer": "/c",
                  "select": {"by": "score", "pointer": "/s", "top": 2}},
     "inputs": {"item": {"from": "item"}, "prev": {"from": "make.result"}}}],
  "outputs": {"best": {"from": "top.result"}}})";

const std::string pantheon_pipeline = R"({
  "name": "voted", "version": 1, "schema_version": "1.0.0", "description": "x",
  "inputs": [{"key": "n", "label": "N", "contract_type": "VALUE", "dtype": "int"}],
  "steps": [
    {"id": "make", "module": "source@1", "inputs": {"n": {"from": "inputs.n"}}},
    {"id": "edit", "module": "pick@1",
     "for_each": {"from": "make.result", "pointer": "/clip_candidates",
                  "select": {"by": "pantheon", "top": 2}},
     "inputs": {"item": {"from": "item"}}}],
  "outputs": {"clips": {"from": "edit.result"}}})";

/// An analysis with four candidates; by consensus: 3, 1, 2, 0.
const std::string analysis_content = R"({
  "keywords_detected": ["omniva"], "virality_score": 0.6, "relevance_score": 0.8,
  "clip_candidates": [
    {"start_time": 0, "end_time": 8, "confidence": 0.2, "subject_focus": "scene",
     "faces_detected": 0, "semantic_tags": [], "pantheon_votes": {}, "lattice_priority": 0},
    {"start_time": 8, "end_time": 20, "confidence": 0.9, "subject_focus": "creator",
     "faces_detected": 1, "semantic_tags": ["omniva", "speech"], "pantheon_votes": {},
     "lattice_priority": 0},
    {"start_time": 20, "end_time": 30, "confidence": 0.5, "subject_focus": "scene",
     "faces_detected": 0, "semantic_tags": ["speech"], "pantheon_votes": {},
     "lattice_priority": 0},
    {"start_time": 30, "end_time": 40, "confidence": 0.95, "subject_focus": "creator",
     "faces_detected": 2, "semantic_tags": ["omniva", "speech", "faces"],
     "pantheon_votes": {}, "lattice_priority": 0}]})";

struct fixture : zenith_state_fixture {
  fixture() : zenith_state_fixture("omniva-runs-", 7) {
    open();
    for (auto& text : {step_module(), source_module(), lister_module(),
                       pick_module(), gather_module()})
      BOOST_REQUIRE(st->enroll(entry_of(text)));
    commit();
  }

  void restart() {
    close();
    open();
  }

  /// Restarts with the clock `ms` later than the fixture's start (the node
  /// was down meanwhile).
  void restart_later(int64_t ms) {
    close();
    db = open_test_database(dir.path);
    st = std::make_unique<actors::zenith_state>();
    st->config.data_dir = dir.path.string();
    st->config.pools = {test_pool(2)};
    st->db = db;
    st->ids = std::make_unique<contracts::seeded_id_source>(seed + 1);
    st->clock = std::make_unique<contracts::manual_clock>(contracts::timestamp{
      std::chrono::milliseconds{1'790'000'000'000 + ms}});
    auto err = st->recover();
    BOOST_REQUIRE_MESSAGE(!err, "recover failed: " << text_of(err));
  }

  size_t runs_of(const std::string& trigger) {
    return std::count_if(st->runs.begin(), st->runs.end(), [&](auto& kv) {
      return kv.second.record.trigger_id == trigger;
    });
  }

  void register_pipeline(const std::string& text) {
    auto r = st->register_pipeline(text);
    BOOST_REQUIRE_MESSAGE(r.ok, "pipeline refused: "
                                  << (r.problems.empty() ? std::string{"?"}
                                                         : r.problems.front().pointer
                                                             + " "
                                                             + r.problems.front().message));
    commit();
  }

  std::string start(const std::string& ref, int n) {
    contracts::run_request req;
    req.pipeline_ref = ref;
    req.values["n"] = std::to_string(n);
    auto r = st->start_run(req);
    BOOST_REQUIRE_MESSAGE(r.ok, "run refused: "
                                  << (r.problems.empty() ? std::string{"?"}
                                                         : r.problems.front().message));
    commit();
    return r.run.run_id;
  }

  std::vector<contracts::dispatch_order> dispatch() {
    std::vector<contracts::dispatch_order> out;
    for (;;) {
      st->dispatch_ready();
      if (st->batch.empty())
        return out;
      auto fx = commit();
      for (auto& [pool, order] : fx.dispatches)
        out.push_back(std::move(order));
    }
  }

  /// Writes `content` as the file of output `key` of `order`'s attempt.
  contracts::produced_output file(const contracts::dispatch_order& order,
                                  const std::string& key,
                                  const std::string& name,
                                  const std::string& content) {
    auto dir = std::filesystem::path{order.output_dir};
    std::filesystem::create_directories(dir);
    auto path = dir / name;
    std::ofstream{path} << content;
    return {key, path.string(), "application/json", std::string(64, 'b'),
            content.size()};
  }

  void succeed(const contracts::dispatch_order& order,
               std::vector<contracts::produced_output> outputs) {
    contracts::execution_outcome o;
    o.execution_id = order.execution_id;
    o.task_id = order.task.task_id;
    o.attempt = order.task.attempt;
    o.ok = true;
    o.outputs = std::move(outputs);
    st->on_result(o);
    commit();
  }

  void fail(const contracts::dispatch_order& order) {
    contracts::execution_outcome o;
    o.execution_id = order.execution_id;
    o.task_id = order.task.task_id;
    o.attempt = order.task.attempt;
    o.error_code = ec::exit_code;
    o.error_message = "the module exited with status 3";
    st->on_result(o);
    commit();
  }

  /// The run's tasks of `step`, by branch.
  std::map<std::string, task_record> of_step(const std::string& run,
                                             const std::string& step) {
    std::map<std::string, task_record> out;
    for (auto& [id, t] : st->tasks)
      if (t.run_id == run && t.step == step) {
        BOOST_CHECK_MESSAGE(out.count(t.branch) == 0,
                            "two tasks of " << step << " in branch " << t.branch);
        out[t.branch] = t;
      }
    return out;
  }

  contracts::run_record run_row(const std::string& id) {
    auto text = db->read->get(storage::table::runs, id);
    BOOST_REQUIRE_MESSAGE(text, "no run row " << id);
    auto doc = json::parse(*text);
    BOOST_REQUIRE(doc);
    std::vector<contracts::problem> problems;
    auto rec = contracts::run_record_from_json(*doc.doc, problems);
    BOOST_REQUIRE(rec);
    return *rec;
  }

  json::value view(const std::string& id) {
    auto text = st->run_view(id);
    BOOST_REQUIRE_MESSAGE(text, why(text));
    auto doc = json::parse(*text);
    BOOST_REQUIRE(doc);
    return *doc.doc;
  }
};

std::string list_content(const std::string& path) {
  std::ifstream f{path};
  return {std::istreambuf_iterator<char>{f}, std::istreambuf_iterator<char>{}};
}

} // namespace

BOOST_FIXTURE_TEST_SUITE(runs, fixture)

BOOST_AUTO_TEST_CASE(a_many_output_fans_out_and_a_collect_gathers_what_succeeded) {
  register_pipeline(fan_pipeline);
  auto run = start("fan@1", 3);
  BOOST_CHECK_EQUAL(of_step(run, "each").size(), 0u);
  auto orders = dispatch();
  BOOST_REQUIRE_EQUAL(orders.size(), 1u);
  BOOST_CHECK_EQUAL(orders[0].task.step, "list");
  auto& lister = orders[0];
  auto list_id = lister.task.outputs.at("items");
  BOOST_CHECK_EQUAL(st->assets.at(list_id).media_type,
                    contracts::asset_list_media_type);
  succeed(lister, {file(lister, "items", "a.json", R"({"i":0})"),
                   file(lister, "items", "b.json", R"({"i":1})"),
                   file(lister, "items", "c.json", R"({"i":2})")});
  // The list: three element assets, in order, and their tasks.
  auto& list = st->assets.at(list_id);
  BOOST_CHECK(list.status == contracts::asset_status::available);
  auto doc = json::parse(list_content(list.uri));
  BOOST_REQUIRE(doc);
  auto& ids = doc.doc->find("assets")->as_array();
  BOOST_REQUIRE_EQUAL(ids.size(), 3u);
  // Each element is a packet of its own, a child of the lister's success.
  for (size_t i = 0; i < 3; ++i) {
    auto history = db->read->history(ids[i].as_string());
    BOOST_REQUIRE(history);
    // The success, its own packet, then what the run did with it.
    BOOST_REQUIRE_GE(history->size(), 2u);
    BOOST_CHECK_EQUAL((*history)[0].kind, "task.succeeded");
    auto& produced = (*history)[1];
    BOOST_CHECK_EQUAL(produced.kind, "asset.produced");
    BOOST_CHECK_EQUAL(produced.meta_parents.at(0), (*history)[0].id);
    auto said = json::parse(produced.payload);
    BOOST_REQUIRE(said);
    BOOST_CHECK_EQUAL(said.doc->find("output")->as_string(), "items");
    BOOST_CHECK_EQUAL(said.doc->find("index")->as_int64().value_or(-1),
                      static_cast<int64_t>(i));
  }
  auto each = of_step(run, "each");
  BOOST_REQUIRE_EQUAL(each.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    auto& t = each.at(std::to_string(i));
    BOOST_CHECK_EQUAL(t.input_mapping.at("prev"), ids[i].as_string());
    BOOST_CHECK_EQUAL(t.trace_id, run);
  }
  BOOST_CHECK_EQUAL(run_row(run).fanouts.at("each#"), 3u);
  // Two succeed, one fails: the collect gathers the two, names the third.
  auto elements = dispatch();
  BOOST_REQUIRE_EQUAL(elements.size(), 2u); // two workers
  succeed(elements[0], {file(elements[0], "result", "r.json", "{}")});
  fail(elements[1]);
  auto last = dispatch();
  BOOST_REQUIRE_EQUAL(last.size(), 1u);
  BOOST_CHECK_EQUAL(of_step(run, "all").size(), 0u); // one still running
  succeed(last[0], {file(last[0], "result", "r.json", "{}")});
  auto all = of_step(run, "all");
  BOOST_REQUIRE_EQUAL(all.size(), 1u);
  auto& collected = st->assets.at(all.begin()->second.input_mapping.at("clips"));
  auto gathered = json::parse(list_content(collected.uri));
  BOOST_REQUIRE(gathered);
  BOOST_CHECK_EQUAL(gathered.doc->find("assets")->as_array().size(), 2u);
  auto& missing = gathered.doc->find("missing")->as_array();
  BOOST_REQUIRE_EQUAL(missing.size(), 1u);
  BOOST_CHECK_EQUAL(missing[0].find("task_id")->as_string(),
                    elements[1].task.task_id);
  BOOST_CHECK(run_row(run).status == run_status::running);
  auto gather = dispatch();
  BOOST_REQUIRE_EQUAL(gather.size(), 1u);
  succeed(gather[0], {file(gather[0], "result", "g.json", "{}")});
  auto row = run_row(run);
  BOOST_CHECK(row.status == run_status::done);
  BOOST_CHECK(!row.ended_at.empty());
  auto v = view(run);
  BOOST_CHECK_EQUAL(v.find("missing")->as_array().size(), 1u);
  BOOST_CHECK_EQUAL(v.find("outputs")->find("results")->as_array().size(), 2u);
  // The fan-out is a decision of Zenith's, with the list as its evidence.
  auto history = db->read->history(list_id);
  BOOST_REQUIRE(history);
  bool decided = std::any_of(history->begin(), history->end(), [](auto& p) {
    return p.kind == "decision.zenith"
           && p.payload.find("\"fan_out\"") != std::string::npos
           && p.payload.find("automation") != std::string::npos;
  });
  BOOST_CHECK(decided);
}

BOOST_AUTO_TEST_CASE(every_element_failing_fails_the_collect_and_the_run) {
  register_pipeline(fan_pipeline);
  auto run = start("fan@1", 2);
  auto lister = dispatch().at(0);
  succeed(lister, {file(lister, "items", "a.json", "{}"),
                   file(lister, "items", "b.json", "{}")});
  for (auto& o : dispatch())
    fail(o);
  auto all = of_step(run, "all");
  BOOST_REQUIRE_EQUAL(all.size(), 1u);
  auto& t = st->tasks.at(all.begin()->second.task_id);
  BOOST_CHECK(t.status == task_status::error);
  BOOST_REQUIRE(t.error);
  BOOST_CHECK_EQUAL(t.error->code, "upstream_failed");
  BOOST_CHECK(run_row(run).status == run_status::failed);
}

BOOST_AUTO_TEST_CASE(an_empty_list_still_runs_the_collect) {
  register_pipeline(fan_pipeline);
  auto run = start("fan@1", 0);
  auto lister = dispatch().at(0);
  succeed(lister, {});
  BOOST_CHECK_EQUAL(of_step(run, "each").size(), 0u);
  auto gather = dispatch();
  BOOST_REQUIRE_EQUAL(gather.size(), 1u);
  BOOST_CHECK_EQUAL(gather[0].task.step, "all");
  succeed(gather[0], {file(gather[0], "result", "g.json", "{}")});
  BOOST_CHECK(run_row(run).status == run_status::done);
}

BOOST_AUTO_TEST_CASE(select_keeps_the_top_elements_in_their_order) {
  register_pipeline(select_pipeline);
  auto run = start("best@1", 1);
  auto make = dispatch().at(0);
  succeed(make, {file(make, "result", "m.json",
                      R"({"c": [{"s": 0.1, "k": "a"}, {"s": 0.9, "k": "b"},
                                {"k": "no score"}, {"s": 0.5, "k": "c"}]})")});
  auto top = of_step(run, "top");
  BOOST_REQUIRE_EQUAL(top.size(), 2u);
  auto value_of = [&](const task_record& t) {
    return st->assets.at(t.input_mapping.at("item")).value_json;
  };
  BOOST_CHECK_NE(value_of(top.at("0")).find("\"b\""), std::string::npos);
  BOOST_CHECK_NE(value_of(top.at("1")).find("\"c\""), std::string::npos);
  // The parent's output is carried into each branch.
  BOOST_CHECK_EQUAL(top.at("0").input_mapping.at("prev"),
                    make.task.outputs.at("result"));
  BOOST_CHECK_EQUAL(run_row(run).fanouts.at("top#"), 2u);
}

BOOST_AUTO_TEST_CASE(pantheon_votes_and_zenith_promotes_the_top_candidates) {
  register_pipeline(pantheon_pipeline);
  auto run = start("voted@1", 1);
  auto make = dispatch().at(0);
  succeed(make, {file(make, "result", "a.json", analysis_content)});
  auto edit = of_step(run, "edit");
  BOOST_REQUIRE_EQUAL(edit.size(), 2u);
  // The top two by consensus (3 and 1), in their original order, each
  // promoted: its votes, its Lattice priority and a clip id filled in.
  std::vector<json::value> kept;
  for (auto& [branch, t] : edit) {
    auto doc = json::parse(st->assets.at(t.input_mapping.at("item")).value_json);
    BOOST_REQUIRE(doc);
    kept.push_back(*doc.doc);
  }
  BOOST_CHECK_EQUAL(kept[0].find("start_time")->as_double(), 8.0);
  BOOST_CHECK_EQUAL(kept[1].find("start_time")->as_double(), 30.0);
  std::vector<std::string> clip_ids;
  for (auto& c : kept) {
    BOOST_CHECK_EQUAL(c.find("pantheon_votes")->as_object().size(), 3u);
    auto priority = c.find("lattice_priority")->as_double();
    BOOST_CHECK(priority > 0 && priority <= 1);
    BOOST_REQUIRE(c.find("clip_id") && c.find("clip_id")->is_string());
    clip_ids.push_back(c.find("clip_id")->as_string());
  }
  BOOST_CHECK_NE(clip_ids[0], clip_ids[1]);
  // Pantheon's report is advice, with an asset of its own; the fan-out
  // decision follows it and names the promoted clips.
  auto packets = db->read->history(run);
  BOOST_REQUIRE(packets);
  const contracts::packet* advice = nullptr;
  const contracts::packet* decision = nullptr;
  for (auto& p : *packets) {
    if (p.kind == "advice.pantheon")
      advice = &p;
    if (p.kind == "decision.zenith" && p.payload.find("\"fan_out\"") != std::string::npos)
      decision = &p;
  }
  BOOST_REQUIRE(advice);
  BOOST_REQUIRE(decision);
  BOOST_CHECK_EQUAL(advice->actor, "pantheon");
  BOOST_CHECK(std::find(decision->meta_parents.begin(), decision->meta_parents.end(),
                        advice->id) != decision->meta_parents.end());
  auto said = json::parse(advice->payload);
  BOOST_REQUIRE(said);
  auto report_asset = said.doc->find("report_asset")->as_string();
  auto& report = st->assets.at(report_asset);
  BOOST_CHECK_EQUAL(report.media_type, "application/json");
  BOOST_CHECK(std::filesystem::exists(report.uri));
  auto ranking = said.doc->find("report")->find("ranking")->as_array();
  BOOST_REQUIRE_EQUAL(ranking.size(), 4u);
  BOOST_CHECK_EQUAL(ranking[0].as_int64().value_or(-1), 3);
  BOOST_CHECK_EQUAL(ranking[1].as_int64().value_or(-1), 1);
  auto decided = json::parse(decision->payload);
  BOOST_REQUIRE(decided);
  auto promoted = decided.doc->find("promoted")->as_array();
  BOOST_REQUIRE_EQUAL(promoted.size(), 2u);
  BOOST_CHECK_EQUAL(promoted[0].as_string(), clip_ids[0]);
  BOOST_CHECK_EQUAL(decided.doc->find("select")->as_string(), "pantheon");
  // The run ends when the edits do.
  for (auto& o : dispatch())
    succeed(o, {file(o, "result", "r.json", "{}")});
  BOOST_CHECK(run_row(run).status == run_status::done);
}

BOOST_AUTO_TEST_CASE(a_vote_lost_with_the_node_is_asked_again_and_decided_once) {
  register_pipeline(pantheon_pipeline);
  auto run = start("voted@1", 1);
  auto make = dispatch().at(0);
  // The ballot leaves; the node dies before Pantheon's answer comes back.
  play_engines = false;
  contracts::pantheon_ballot first;
  {
    contracts::execution_outcome o;
    o.execution_id = make.execution_id;
    o.task_id = make.task.task_id;
    o.attempt = make.task.attempt;
    o.ok = true;
    o.outputs = {file(make, "result", "a.json", analysis_content)};
    st->on_result(o);
    auto fx = commit();
    BOOST_REQUIRE_EQUAL(fx.ballots.size(), 1u);
    first = fx.ballots.front();
  }
  BOOST_CHECK(of_step(run, "edit").empty());
  // The run waits for the vote: it is not done.
  BOOST_CHECK(run_row(run).status == run_status::running);
  play_engines = true;
  restart();
  commit();
  auto edit = of_step(run, "edit");
  BOOST_CHECK_EQUAL(edit.size(), 2u);
  // One advice and one fan-out decision in the log.
  auto packets = db->read->history(run);
  BOOST_REQUIRE(packets);
  auto count = [&](std::string_view kind) {
    return std::count_if(packets->begin(), packets->end(),
                         [&](auto& p) { return p.kind == kind; });
  };
  BOOST_CHECK_EQUAL(count("advice.pantheon"), 1);
  // A late answer to the first ballot changes nothing.
  st->on_pantheon_advice(contracts::advise(first));
  commit();
  BOOST_CHECK_EQUAL(of_step(run, "edit").size(), 2u);
  packets = db->read->history(run);
  BOOST_REQUIRE(packets);
  BOOST_CHECK_EQUAL(count("advice.pantheon"), 1);
  BOOST_CHECK_EQUAL(run_row(run).fanouts.at("edit#"), 2u);
}

// -- personas as registry entries (docs/engines.md, "Pantheon") -------------------

/// One persona that weighs only a candidate's uncertainty: it ranks the
/// analysis' candidates 0, 2, 1, 3, where personas@1 ranks them 3, 1, 2, 0.
const std::string contrarian_personas = R"({"description": "Backs the unsure.",
  "agents": [{"agent": "contrarian", "features": {"uncertainty": 1},
              "stance": "backs what the others doubt"}]})";

/// `voted@<version>` with its select naming `personas`.
std::string voted_with(const std::string& personas, int version) {
  auto doc = json::parse(pantheon_pipeline);
  BOOST_REQUIRE(doc);
  doc.doc->set("version", static_cast<int64_t>(version));
  auto* sel = json::resolve_pointer(*doc.doc, "/steps/1/for_each/select");
  BOOST_REQUIRE(sel);
  const_cast<json::value*>(sel)->set("personas", personas);
  return json::serialize(*doc.doc);
}

/// The `advice.pantheon` payload of run `run` (there must be one).
json::value pantheon_advice_of(storage::writable_database& db, const std::string& run) {
  auto packets = db.read->history(run);
  BOOST_REQUIRE(packets);
  for (auto& p : *packets)
    if (p.kind == "advice.pantheon") {
      auto said = json::parse(p.payload);
      BOOST_REQUIRE(said);
      return *said.doc;
    }
  BOOST_FAIL("run " << run << " has no advice.pantheon");
  return {};
}

std::vector<int64_t> ranking_of(const json::value& advice) {
  std::vector<int64_t> out;
  for (auto& x : advice.find("report")->find("ranking")->as_array())
    out.push_back(x.as_int64().value_or(-1));
  return out;
}

/// The `start_time` of each element given to the run's `edit` tasks, and
/// the agents that voted on it.
std::vector<std::pair<double, std::vector<std::string>>>
edited(fixture& f, const std::string& run) {
  std::vector<std::pair<double, std::vector<std::string>>> out;
  for (auto& [branch, t] : f.of_step(run, "edit")) {
    auto doc = json::parse(f.st->assets.at(t.input_mapping.at("item")).value_json);
    BOOST_REQUIRE(doc);
    std::vector<std::string> agents;
    for (auto& [agent, vote] : doc.doc->find("pantheon_votes")->as_object())
      agents.push_back(agent);
    out.emplace_back(doc.doc->find("start_time")->as_double(), agents);
  }
  return out;
}

BOOST_AUTO_TEST_CASE(personas_are_registered_once_per_ref_with_every_problem) {
  auto r = st->register_personas("contrarian@1", contrarian_personas);
  BOOST_REQUIRE_MESSAGE(r.ok, "refused: " << (r.problems.empty() ? "?" : r.problems[0].message));
  BOOST_CHECK(!r.unchanged);
  commit();
  // The row is the document as registered (canonical); one packet names it.
  auto row = db->read->get(storage::table::personas, "contrarian@1");
  BOOST_REQUIRE(row);
  BOOST_CHECK_EQUAL(*row, r.document_json);
  BOOST_CHECK_EQUAL(*row, json::serialize(*json::parse(contrarian_personas).doc,
                                          json::style::canonical));
  auto history = db->read->history("contrarian@1");
  BOOST_REQUIRE(history);
  BOOST_REQUIRE_EQUAL(history->size(), 1u);
  BOOST_CHECK_EQUAL((*history)[0].kind, "personas.registered");
  // The same document again (spelt differently): unchanged, nothing written.
  r = st->register_personas("contrarian@1",
                            json::serialize(*json::parse(contrarian_personas).doc,
                                            json::style::pretty));
  BOOST_CHECK(r.ok && r.unchanged);
  BOOST_CHECK(st->batch.empty());
  // Other content under a held ref, the built-in one included.
  auto refused_with = [&](const std::string& ref, const std::string& text) {
    auto x = st->register_personas(ref, text);
    BOOST_CHECK(!x.ok);
    BOOST_CHECK(st->batch.empty());
    std::set<std::pair<std::string, std::string>> got;
    for (auto& p : x.problems)
      got.emplace(std::string{contracts::to_string(p.code)}, p.pointer);
    return got;
  };
  using problems = std::set<std::pair<std::string, std::string>>;
  const std::string other = R"({"agents": [{"agent": "contrarian", "features": {"faces": 1}}]})";
  BOOST_CHECK((refused_with("contrarian@1", other) == problems{{"immutable_ref", "/ref"}}));
  BOOST_CHECK((refused_with("personas@1", other) == problems{{"immutable_ref", "/ref"}}));
  // personas@1 exactly as built in is no change.
  r = st->register_personas("personas@1", pantheon::default_personas_json());
  BOOST_CHECK(r.ok && r.unchanged);
  // A bad ref, text that is no JSON, every problem of a document.
  BOOST_CHECK((refused_with("Contrarian", other) == problems{{"invalid_ref", "/ref"}}));
  BOOST_CHECK((refused_with("x@0", other) == problems{{"invalid_ref", "/ref"}}));
  BOOST_CHECK((refused_with("x@1", "{\"agents\": [") == problems{{"invalid_json", ""}}));
  BOOST_CHECK((refused_with("x@1", R"({"agents": [
      {"agent": "a", "features": {"luck": 1}},
      {"agent": "a", "weight": 0, "features": {"faces": 1}}], "mood": 1})")
    == problems{{"invalid_argument", "/agents/0/features/luck"},
                {"invalid_argument", "/agents/0/features"},
                {"duplicate_key", "/agents/1/agent"},
                {"invalid_argument", "/agents/1/weight"},
                {"unknown_field", "/mood"}}));
  BOOST_CHECK(!db->read->get(storage::table::personas, "x@1"));
  // A restart keeps them, immutable.
  restart();
  commit();
  BOOST_REQUIRE_EQUAL(st->personas.count("contrarian@1"), 1u);
  BOOST_CHECK_EQUAL(st->personas.at("contrarian@1").entry.agents.at(0).agent, "contrarian");
  BOOST_CHECK_EQUAL(st->personas.count("personas@1"), 1u);
  BOOST_CHECK((refused_with("contrarian@1", other) == problems{{"immutable_ref", "/ref"}}));
  r = st->register_personas("contrarian@1", contrarian_personas);
  BOOST_CHECK(r.ok && r.unchanged);
}

BOOST_AUTO_TEST_CASE(a_fan_out_votes_with_the_personas_its_select_names) {
  // Unknown personas: the pipeline is refused where it names them.
  auto refused = st->register_pipeline(voted_with("contrarian@1", 2));
  BOOST_REQUIRE(!refused.ok);
  BOOST_REQUIRE_EQUAL(refused.problems.size(), 1u);
  BOOST_CHECK(refused.problems[0].code == ec::invalid_ref);
  BOOST_CHECK_EQUAL(refused.problems[0].pointer, "/steps/1/for_each/select/personas");
  BOOST_REQUIRE(st->register_personas("contrarian@1", contrarian_personas).ok);
  commit();
  register_pipeline(voted_with("contrarian@1", 2));
  register_pipeline(pantheon_pipeline);
  // A run to its end: the analysis, the vote, the two edits.
  auto run_voted = [&](const std::string& ref) {
    auto run = start(ref, 1);
    auto make = dispatch().at(0);
    succeed(make, {file(make, "result", "a.json", analysis_content)});
    for (auto& o : dispatch())
      succeed(o, {file(o, "result", "r.json", "{}")});
    BOOST_CHECK(run_row(run).status == run_status::done);
    return run;
  };
  // personas@1 and contrarian@1 rank the same candidates otherwise.
  auto builtin = run_voted("voted@1");
  auto mine = run_voted("voted@2");
  auto said = pantheon_advice_of(*db, builtin);
  BOOST_CHECK_EQUAL(said.find("personas")->as_string(), "personas@1");
  BOOST_CHECK((ranking_of(said) == std::vector<int64_t>{3, 1, 2, 0}));
  said = pantheon_advice_of(*db, mine);
  BOOST_CHECK_EQUAL(said.find("personas")->as_string(), "contrarian@1");
  BOOST_CHECK_EQUAL(said.find("report")->find("personas")->as_string(), "contrarian@1");
  BOOST_CHECK((ranking_of(said) == std::vector<int64_t>{0, 2, 1, 3}));
  // Each report row is the persona's: its agent, its stance in the
  // commentary.
  for (auto& row : said.find("report")->find("rows")->as_array()) {
    BOOST_CHECK_EQUAL(row.find("agent")->as_string(), "contrarian");
    BOOST_CHECK(row.find("commentary")->as_string().find("backs what the others doubt")
                != std::string::npos);
  }
  // The promoted candidates are the contrarian's top two, voted by it alone.
  using kept = std::vector<std::pair<double, std::vector<std::string>>>;
  BOOST_CHECK((edited(*this, mine) == kept{{0.0, {"contrarian"}}, {20.0, {"contrarian"}}}));
  BOOST_CHECK((edited(*this, builtin)
               == kept{{8.0, {"exploratory_push", "risk_mitigation", "trend_chasing"}},
                       {30.0, {"exploratory_push", "risk_mitigation", "trend_chasing"}}}));
  // After a restart the pipeline still names them and votes the same.
  // (Ids seeded anew: the runs before the restart keep theirs.)
  restart_later(60'000);
  commit();
  auto again = run_voted("voted@2");
  said = pantheon_advice_of(*db, again);
  BOOST_CHECK_EQUAL(said.find("personas")->as_string(), "contrarian@1");
  BOOST_CHECK((ranking_of(said) == std::vector<int64_t>{0, 2, 1, 3}));
  BOOST_CHECK_EQUAL(edited(*this, again).size(), 2u);
}

BOOST_AUTO_TEST_CASE(a_fan_out_whose_personas_are_gone_fails_naming_them) {
  BOOST_REQUIRE(st->register_personas("contrarian@1", contrarian_personas).ok);
  commit();
  register_pipeline(voted_with("contrarian@1", 2));
  // As if the row were lost: the ballot cannot be made.
  st->personas.erase("contrarian@1");
  auto run = start("voted@2", 1);
  auto make = dispatch().at(0);
  contracts::execution_outcome o;
  o.execution_id = make.execution_id;
  o.task_id = make.task.task_id;
  o.attempt = make.task.attempt;
  o.ok = true;
  o.outputs = {file(make, "result", "a.json", analysis_content)};
  st->on_result(o);
  auto fx = commit();
  BOOST_CHECK(of_step(run, "edit").empty());
  auto packets = db->read->history(run);
  BOOST_REQUIRE(packets);
  const contracts::packet* decision = nullptr;
  for (auto& p : *packets) {
    BOOST_CHECK_NE(p.kind, "advice.pantheon");
    if (p.kind == "decision.zenith" && p.payload.find("\"fan_out\"") != std::string::npos)
      decision = &p;
  }
  BOOST_REQUIRE(decision);
  auto decided = json::parse(decision->payload);
  BOOST_REQUIRE(decided);
  BOOST_CHECK(decided.doc->find("kept")->as_array().empty());
  auto problem = decided.doc->find("problem");
  BOOST_REQUIRE(problem && problem->is_string());
  BOOST_CHECK(problem->as_string().find("contrarian@1") != std::string::npos);
  BOOST_CHECK_EQUAL(run_row(run).fanouts.at("edit#"), 0u);
  BOOST_CHECK(run_row(run).status != run_status::running);
}

BOOST_AUTO_TEST_CASE(a_restart_creates_no_element_twice_and_goes_on) {
  register_pipeline(fan_pipeline);
  auto run = start("fan@1", 3);
  auto lister = dispatch().at(0);
  succeed(lister, {file(lister, "items", "a.json", "{}"),
                   file(lister, "items", "b.json", "{}"),
                   file(lister, "items", "c.json", "{}")});
  auto before = of_step(run, "each");
  BOOST_REQUIRE_EQUAL(before.size(), 3u);
  restart();
  commit();
  auto after = of_step(run, "each");
  BOOST_REQUIRE_EQUAL(after.size(), 3u);
  for (auto& [branch, t] : before)
    BOOST_CHECK_EQUAL(after.at(branch).task_id, t.task_id);
  // The collect still waits for all three, then the run ends.
  for (int round = 0; round < 3; ++round)
    for (auto& o : dispatch())
      succeed(o, {file(o, "result", "r.json", "{}")});
  BOOST_CHECK(run_row(run).status == run_status::done);
  BOOST_CHECK_EQUAL(of_step(run, "all").size(), 1u);
}

BOOST_AUTO_TEST_CASE(a_paused_run_dispatches_nothing_until_resumed) {
  register_pipeline(fan_pipeline);
  auto run = start("fan@1", 1);
  auto paused = st->change_run({run, contracts::run_action::pause, "op"});
  BOOST_REQUIRE(paused);
  commit();
  BOOST_CHECK(dispatch().empty());
  BOOST_CHECK(run_row(run).status == run_status::paused);
  auto again = st->change_run({run, contracts::run_action::pause, "op"});
  BOOST_REQUIRE(!again);
  BOOST_CHECK(is(again.error(), ec::run_not_active));
  BOOST_REQUIRE(st->change_run({run, contracts::run_action::resume, "op"}));
  commit();
  BOOST_CHECK_EQUAL(dispatch().size(), 1u);
}

BOOST_AUTO_TEST_CASE(cancelling_a_run_cancels_its_unfinished_tasks) {
  register_pipeline(fan_pipeline);
  auto run = start("fan@1", 2);
  auto lister = dispatch().at(0);
  succeed(lister, {file(lister, "items", "a.json", "{}"),
                   file(lister, "items", "b.json", "{}")});
  BOOST_REQUIRE(st->change_run({run, contracts::run_action::cancel, "op"}));
  commit();
  for (auto& [b, t] : of_step(run, "each"))
    BOOST_CHECK(st->tasks.at(t.task_id).status == task_status::cancelled);
  BOOST_CHECK(run_row(run).status == run_status::cancelled);
  BOOST_CHECK_EQUAL(of_step(run, "all").size(), 0u);
}

BOOST_AUTO_TEST_CASE(a_retry_runs_the_failed_element_and_the_collect_again) {
  register_pipeline(fan_pipeline);
  auto run = start("fan@1", 2);
  auto lister = dispatch().at(0);
  succeed(lister, {file(lister, "items", "a.json", "{}"),
                   file(lister, "items", "b.json", "{}")});
  for (auto& o : dispatch())
    fail(o);
  BOOST_REQUIRE(run_row(run).status == run_status::failed);
  BOOST_REQUIRE(st->change_run({run, contracts::run_action::retry, "op"}));
  commit();
  BOOST_CHECK(run_row(run).status == run_status::running);
  for (int round = 0; round < 3; ++round)
    for (auto& o : dispatch())
      succeed(o, {file(o, "result", "r.json", "{}")});
  BOOST_CHECK(run_row(run).status == run_status::done);
  auto v = view(run);
  BOOST_CHECK_MESSAGE(v.find("missing")->as_array().empty(), json::serialize(v));
}

BOOST_AUTO_TEST_CASE(a_run_request_is_checked_against_the_pipeline_inputs) {
  register_pipeline(fan_pipeline);
  contracts::run_request req;
  req.pipeline_ref = "fan@1";
  req.values["n"] = "\"three\"";
  auto r = st->start_run(req);
  BOOST_REQUIRE(!r.ok);
  BOOST_CHECK_EQUAL(r.problems.front().pointer, "/values/n");
  req.pipeline_ref = "nope@1";
  r = st->start_run(req);
  BOOST_REQUIRE(!r.ok);
  BOOST_CHECK(r.problems.front().code == ec::not_found);
}

BOOST_AUTO_TEST_CASE(a_start_missed_while_the_node_was_down_runs_once_at_restart) {
  register_pipeline(fan_pipeline);
  contracts::trigger_change c;
  c.record.pipeline_ref = "fan@1";
  c.record.schedule.every_ms = 60'000;
  c.record.values["n"] = "1";
  auto made = st->change_trigger(c);
  BOOST_REQUIRE_MESSAGE(made, why(made));
  commit();
  auto id = made->trigger_id;
  BOOST_CHECK_EQUAL(made->next_ms, made->anchor_ms + 60'000);
  st->fire_triggers();
  BOOST_CHECK_EQUAL(runs_of(id), 0u); // not due yet
  // Down for ten minutes: ten starts missed, one run.
  restart_later(10 * 60'000 + 500);
  commit();
  BOOST_CHECK_EQUAL(runs_of(id), 1u);
  auto& t = st->triggers.at(id);
  BOOST_CHECK_GT(t.next_ms, t.last_ms);
  BOOST_CHECK_EQUAL(t.next_ms, t.anchor_ms + 11 * 60'000);
  st->fire_triggers();
  commit();
  BOOST_CHECK_EQUAL(runs_of(id), 1u);
  // A trigger whose runs could not start is refused when it is made.
  contracts::trigger_change bad = c;
  bad.record.values["n"] = "\"many\"";
  auto refused = st->change_trigger(bad);
  BOOST_REQUIRE(!refused);
  BOOST_CHECK(is(refused.error(), ec::dtype_mismatch));
}

BOOST_AUTO_TEST_SUITE_END()
