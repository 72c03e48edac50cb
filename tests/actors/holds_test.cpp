#define BOOST_TEST_MODULE holds
#include <boost/test/unit_test.hpp>

// Zenith's holds (which unfinished task holds which asset) through the
// committer: each hold is a row of its own (storage::table::holds), written
// with the packet that creates the task and erased with the one that ends
// it; the held asset's row is never rewritten for it. Every commit is read
// back and the log verified (the fixture's `commit`).

#include "actors/zenith.hpp"
#include "contracts/error_code.hpp"
#include "contracts/json.hpp"
#include "contracts/module_registration.hpp"
#include "storage/verify.hpp"
#include "tests/actors/test_support.hpp"

#include <algorithm>
#include <string>
#include <vector>

using namespace omniva;
using namespace omniva::test_support;
using contracts::asset_record;
using contracts::ec;
using contracts::task_record;
using contracts::task_request;
using contracts::task_status;

namespace {

/// What a worker reports for a successful (`ok`) or failed run of `t`.
contracts::execution_outcome outcome(const task_record& t, bool ok) {
  contracts::execution_outcome o;
  o.execution_id = t.task_id + "/" + std::to_string(t.attempt);
  o.task_id = t.task_id;
  o.attempt = t.attempt;
  o.ok = ok;
  if (ok)
    for (auto& [key, id] : t.outputs)
      o.outputs.push_back({key, "/data/outputs/" + t.task_id + "/" + key,
                           "application/json", std::string(64, 'a'), 17});
  else {
    o.error_code = ec::exit_code;
    o.error_message = "the module exited with status 3";
  }
  return o;
}

std::vector<std::string> sorted(std::vector<std::string> xs) {
  std::sort(xs.begin(), xs.end());
  return xs;
}

struct fixture : zenith_state_fixture {
  fixture() : zenith_state_fixture("omniva-holds-", 7) {
    open();
    for (auto& text : {source_module(), step_module()}) {
      auto e = contracts::check_module_text(text, "/modules/x", {});
      BOOST_REQUIRE_MESSAGE(e, why(e));
      BOOST_REQUIRE(st->enroll(*e));
    }
    commit();
  }

  task_record submit(const task_request& req) {
    auto r = st->submit(req);
    BOOST_REQUIRE_MESSAGE(r.ok, "submission refused: "
                                  << (r.problems.empty()
                                        ? std::string{"?"}
                                        : r.problems.front().message));
    return r.task;
  }

  /// An AVAILABLE JSON file asset, committed.
  asset_record add_json_file() {
    asset_record a;
    a.kind = contracts::asset_kind::file;
    a.media_type = "application/json";
    a.uri = "/data/blobs/input.json";
    a.sha256 = std::string(64, 'b');
    a.size = 2;
    auto added = st->add_asset(a);
    BOOST_REQUIRE_MESSAGE(added, "add_asset failed: " << why(added));
    commit();
    return *added;
  }

  /// The holders of `asset_id`, as the database has them.
  std::vector<std::string> holders(const std::string& asset_id) {
    auto h = db->read->holders(asset_id);
    BOOST_REQUIRE_MESSAGE(h, why(h));
    return *h;
  }

  /// The row of asset `asset_id`, as stored.
  std::string asset_row(const std::string& asset_id) {
    auto row = db->read->get(storage::table::assets, asset_id);
    BOOST_REQUIRE_MESSAGE(row, why(row));
    return *row;
  }

  /// Dispatches every READY task and commits; returns the orders' tasks.
  std::vector<task_record> dispatch() {
    st->dispatch_ready();
    auto fx = commit();
    std::vector<task_record> out;
    for (auto& [pool, order] : fx.dispatches)
      out.push_back(order.task);
    return out;
  }

  /// The `_rows` record of the first packet naming `subject` (a task's
  /// `task.created`).
  json::value rows_of_first_packet(const std::string& subject) {
    auto history = db->read->history(subject);
    BOOST_REQUIRE(history && !history->empty());
    BOOST_CHECK_EQUAL(history->front().kind, "task.created");
    auto payload = json::parse(history->front().payload);
    BOOST_REQUIRE(payload);
    auto* rows = payload.doc->find("_rows");
    BOOST_REQUIRE(rows != nullptr);
    return *rows;
  }
};

} // namespace

BOOST_FIXTURE_TEST_CASE(a_new_holder_writes_its_hold_and_leaves_the_asset_row_alone,
                        fixture) {
  auto input = add_json_file();
  auto row_before = asset_row(input.asset_id);
  auto first = submit(step_request(input.asset_id));
  commit();
  auto second = submit(step_request(input.asset_id));
  commit();
  BOOST_CHECK(holders(input.asset_id) == sorted({first.task_id, second.task_id}));
  // The asset's row is as it was, and lists no holders.
  BOOST_CHECK_EQUAL(asset_row(input.asset_id), row_before);
  BOOST_CHECK_EQUAL(asset_row(input.asset_id).find("holds"), std::string::npos);
  // The second task's creation wrote its task, its output and its hold:
  // not the input's row.
  auto rows = rows_of_first_packet(second.task_id);
  auto* assets = rows.find("assets");
  BOOST_REQUIRE(assets != nullptr);
  BOOST_CHECK(assets->find(input.asset_id) == nullptr);
  BOOST_CHECK(assets->find(second.outputs.at("result")) != nullptr);
  auto* holds = rows.find("holds");
  BOOST_REQUIRE(holds != nullptr);
  BOOST_CHECK(holds->find(storage::hold_key(input.asset_id, second.task_id))
              != nullptr);
  // Zenith's own view, in the order the holds were taken.
  BOOST_CHECK(st->assets.at(input.asset_id).holds
              == (std::vector{first.task_id, second.task_id}));
}

BOOST_FIXTURE_TEST_CASE(a_task_that_succeeds_releases_its_holds, fixture) {
  auto input = add_json_file();
  auto row_before = asset_row(input.asset_id);
  auto t = submit(step_request(input.asset_id));
  commit();
  auto running = dispatch();
  BOOST_REQUIRE_EQUAL(running.size(), 1u);
  BOOST_CHECK(holders(input.asset_id) == std::vector{t.task_id});
  st->on_result(outcome(running.front(), true));
  commit();
  BOOST_CHECK(holders(input.asset_id).empty());
  BOOST_CHECK(st->assets.at(input.asset_id).holds.empty());
  BOOST_CHECK_EQUAL(asset_row(input.asset_id), row_before);
  // Released, the asset may go.
  BOOST_REQUIRE(st->erase_asset(input.asset_id));
  commit();
}

BOOST_FIXTURE_TEST_CASE(a_failure_releases_the_holds_of_the_task_and_its_dependants,
                        fixture) {
  auto first = submit(source_request());
  auto second = submit(step_request(first.outputs.at("result")));
  auto third = submit(step_request(second.outputs.at("result")));
  commit();
  BOOST_CHECK(holders(first.outputs.at("result")) == std::vector{second.task_id});
  BOOST_CHECK(holders(second.outputs.at("result")) == std::vector{third.task_id});
  auto running = dispatch();
  BOOST_REQUIRE_EQUAL(running.size(), 1u);
  st->on_result(outcome(running.front(), false));
  commit();
  for (auto* t : {&first, &second, &third})
    BOOST_CHECK(holders(t->outputs.at("result")).empty());
}

BOOST_FIXTURE_TEST_CASE(a_cancelled_task_releases_its_holds, fixture) {
  auto input = add_json_file();
  auto t = submit(step_request(input.asset_id));
  commit();
  auto refused = st->erase_asset(input.asset_id);
  BOOST_REQUIRE(!refused);
  BOOST_CHECK(is(refused.error(), ec::asset_in_use));
  BOOST_REQUIRE(st->cancel(t.task_id));
  commit();
  BOOST_CHECK(holders(input.asset_id).empty());
  BOOST_REQUIRE(st->erase_asset(input.asset_id));
  commit();
}

BOOST_FIXTURE_TEST_CASE(holds_come_back_from_their_rows_after_a_restart, fixture) {
  auto input = add_json_file();
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) {
    ids.push_back(submit(step_request(input.asset_id)).task_id);
    // A millisecond apart: the holds' order is the tasks' creation order.
    dynamic_cast<contracts::manual_clock&>(*st->clock)
      .advance(std::chrono::milliseconds{1});
  }
  commit();
  close();
  open();
  BOOST_CHECK(st->assets.at(input.asset_id).holds == ids);
  auto refused = st->erase_asset(input.asset_id);
  BOOST_REQUIRE(!refused);
  BOOST_CHECK(is(refused.error(), ec::asset_in_use));
  BOOST_CHECK_NE(text_of(refused.error()).find(ids.front()), std::string::npos);
  // A hold released after the restart is erased from the table too.
  BOOST_REQUIRE(st->cancel(ids.front()));
  commit();
  BOOST_CHECK(holders(input.asset_id)
              == sorted(std::vector<std::string>{ids.begin() + 1, ids.end()}));
}
