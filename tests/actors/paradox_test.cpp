#define BOOST_TEST_MODULE paradox
#include <boost/test/unit_test.hpp>

// Paradox as an actor (actors/paradox.hpp) on CAF's deterministic scheduler
// over a real database: it clears batches of new tasks (finding the first
// task of a `reuse` or `block` key in the lineage when its memory lacks
// it) and audits what the database holds. No Zenith: the test commits the
// packets and rows Zenith would (and some it never should) through the
// test door to the committer.

#include "actors/paradox.hpp"
#include "contracts/audit.hpp"
#include "contracts/json.hpp"
#include "storage/commit.hpp"
#include "tests/actors/test_support.hpp"

#include <string>
#include <vector>

using namespace omniva;
using namespace omniva::test_support;
using contracts::asset_record;
using contracts::asset_status;
using contracts::clearance_item;
using contracts::duplicate_mode;
using contracts::task_record;
using contracts::task_status;

namespace {

/// A database in a fresh folder, Paradox on it, a scoped actor to ask
/// with, and ids and times for what the test commits.
struct fixture {
  temp_dir dir{"omniva-paradox-"};
  caf::actor_system_config cfg;
  caf::actor_system sys;
  caf::scheduler::test_coordinator& sched;
  caf::scoped_actor self;
  std::shared_ptr<storage::writable_database> db;
  actors::paradox_actor paradox;
  contracts::seeded_id_source ids{42};
  /// The time of the next packet committed; each one a second later.
  contracts::timestamp at{std::chrono::milliseconds{1'790'000'000'000}};

  fixture()
    : sys(testing_config(cfg)),
      sched(dynamic_cast<caf::scheduler::test_coordinator&>(sys.scheduler())),
      self(sys, true),
      db(open_test_database(dir.path)) {
    paradox = sys.spawn(actors::paradox,
                        std::shared_ptr<const storage::reader>{db->read});
    sched.run();
  }

  ~fixture() {
    caf::anon_send_exit(paradox, caf::exit_reason::user_shutdown);
    sched.run();
  }

  /// Asks Paradox, runs the scheduler and returns the answer (or error).
  template <class Answer, class... Ts>
  caf::expected<Answer> ask(Ts... xs) {
    auto h = self->request(paradox, caf::infinite, std::move(xs)...);
    sched.run();
    caf::expected<Answer> out{Answer{}};
    h.receive([&](Answer& x) { out = std::move(x); },
              [&](caf::error& e) { out = std::move(e); });
    return out;
  }

  actors::paradox_state& state() {
    auto* ptr = caf::actor_cast<caf::abstract_actor*>(paradox);
    return dynamic_cast<caf::stateful_actor<actors::paradox_state,
                                            actors::paradox_actor::base>&>(*ptr)
      .state;
  }

  /// A packet of `kind` naming `subjects`, a second after the last one.
  contracts::packet make_packet(std::string kind,
                                std::vector<std::string> subjects,
                                json::value payload = json::object{}) {
    contracts::packet p;
    p.kind = std::move(kind);
    p.actor = "zenith";
    p.trace_id = ids.next_uuid();
    p.at = contracts::format_timestamp(at);
    at += std::chrono::seconds{1};
    std::sort(subjects.begin(), subjects.end());
    p.subjects = std::move(subjects);
    p.payload = json::serialize(payload);
    return p;
  }

  /// Commits `b`; returns the ids of its packets.
  std::vector<std::string> commit(storage::commit_batch& b) {
    auto receipt = db->write.commit(b);
    BOOST_REQUIRE_MESSAGE(receipt, "commit failed: " << why(receipt));
    return receipt->ids;
  }

  /// An asset row as Zenith writes it (without holds).
  static std::string asset_row(const asset_record& a) {
    auto row = contracts::to_json(a);
    row.erase("holds");
    return json::serialize(row);
  }

  static std::string task_row(const task_record& t) {
    return json::serialize(contracts::to_json(t));
  }

  /// An AVAILABLE FILE asset (an upload).
  asset_record available_asset() {
    asset_record a;
    a.asset_id = ids.next_uuid();
    a.kind = contracts::asset_kind::file;
    a.media_type = "application/json";
    a.status = asset_status::available;
    a.uri = "file:///data/blobs/x";
    a.sha256 = std::string(64, 'b');
    a.size = 2;
    a.created_at = contracts::format_timestamp(at);
    return a;
  }

  /// Commits an upload as Zenith does (`asset.registered` and its row);
  /// returns it.
  asset_record register_upload() {
    auto a = available_asset();
    storage::commit_batch b;
    auto i = b.add(make_packet("asset.registered", {a.asset_id},
                               json::object{{"kind", "FILE"}}));
    b.put(storage::table::assets, a.asset_id, asset_row(a), i);
    commit(b);
    return a;
  }

  /// Commits the `task.created` of a `reuse` or `block` task with duplicate
  /// key `key` (subject `dup:<key>`); returns the task id.
  std::string create_durable_task(const std::string& key) {
    task_record t;
    t.task_id = ids.next_uuid();
    t.module_ref = "source@1";
    t.trace_id = ids.next_uuid();
    t.created_at = t.updated_at = contracts::format_timestamp(at);
    storage::commit_batch b;
    auto i = b.add(make_packet("task.created",
                               {t.task_id, paradox::duplicate_subject(key)},
                               json::object{{"module_ref", "source@1"},
                                            {"status", "PENDING"},
                                            {"task_id", t.task_id},
                                            {"duplicate_key", key}}));
    b.put(storage::table::tasks, t.task_id, task_row(t), i);
    commit(b);
    return t.task_id;
  }
};

clearance_item item(std::string task, std::string key,
                    duplicate_mode mode = duplicate_mode::allow) {
  clearance_item x;
  x.task_id = std::move(task);
  x.module_ref = "source@1";
  x.key = std::move(key);
  x.mode = mode;
  return x;
}

const std::string key_a(64, 'a');
const std::string key_b(64, 'b');
const std::string key_c(64, 'c');

} // namespace

// -- clearance ---------------------------------------------------------------------------------

BOOST_FIXTURE_TEST_CASE(a_batch_is_cleared_in_order, fixture) {
  auto advice = ask<contracts::paradox_advice>(
    atom::clear_v, std::vector<clearance_item>{item("t1", key_a),
                                               item("t2", key_a),
                                               item("t3", key_b, duplicate_mode::block)});
  BOOST_REQUIRE_MESSAGE(advice, why(advice));
  BOOST_REQUIRE_EQUAL(advice->items.size(), 3u);
  BOOST_TEST(advice->items[0].task_id == "t1");
  BOOST_TEST(advice->items[0].action == "clear");
  BOOST_TEST(advice->items[1].task_id == "t2");
  BOOST_TEST(advice->items[1].action == "ignore");
  BOOST_TEST(advice->items[1].duplicate_of == "t1");
  BOOST_TEST(advice->items[1].key == key_a);
  BOOST_TEST(advice->items[2].action == "clear");
  // A later batch still knows the keys.
  auto later = ask<contracts::paradox_advice>(
    atom::clear_v,
    std::vector<clearance_item>{item("t4", key_b, duplicate_mode::block)});
  BOOST_REQUIRE(later);
  BOOST_TEST(later->items[0].action == "block");
  BOOST_TEST(later->items[0].duplicate_of == "t3");
  BOOST_TEST(state().index.size() == 2u);
}

BOOST_FIXTURE_TEST_CASE(the_first_task_of_a_reuse_key_is_found_in_the_lineage, fixture) {
  // Recorded before this Paradox started (an earlier run of the node).
  auto first = create_durable_task(key_a);
  BOOST_TEST(state().durable_first(key_a).value_or("") == first);
  BOOST_TEST(!state().durable_first(key_c).has_value());
  auto advice = ask<contracts::paradox_advice>(
    atom::clear_v,
    std::vector<clearance_item>{item("t-new", key_a, duplicate_mode::reuse)});
  BOOST_REQUIRE_MESSAGE(advice, why(advice));
  BOOST_TEST(advice->items[0].action == "reuse");
  BOOST_TEST(advice->items[0].duplicate_of == first);
}

BOOST_FIXTURE_TEST_CASE(a_block_key_recorded_by_the_task_itself_clears_it, fixture) {
  // Zenith records the task (naming dup:<key>) before it asks Paradox: the
  // first packet under the key is the task's own.
  auto own = create_durable_task(key_b);
  auto advice = ask<contracts::paradox_advice>(
    atom::clear_v,
    std::vector<clearance_item>{item(own, key_b, duplicate_mode::block),
                                item("t-second", key_b, duplicate_mode::block)});
  BOOST_REQUIRE(advice);
  BOOST_TEST(advice->items[0].action == "clear");
  BOOST_TEST(advice->items[1].action == "block");
  BOOST_TEST(advice->items[1].duplicate_of == own);
}

BOOST_FIXTURE_TEST_CASE(an_allow_key_is_not_looked_up_in_the_lineage, fixture) {
  create_durable_task(key_c);
  auto advice = ask<contracts::paradox_advice>(
    atom::clear_v, std::vector<clearance_item>{item("t-allow", key_c)});
  BOOST_REQUIRE(advice);
  BOOST_TEST(advice->items[0].action == "clear");
}

// -- audits ----------------------------------------------------------------------------------------

BOOST_FIXTURE_TEST_CASE(an_audit_of_a_clean_database_finds_nothing, fixture) {
  register_upload();
  register_upload();
  auto report = ask<contracts::audit_report>(atom::audit_v, std::string{"tester"});
  BOOST_REQUIRE_MESSAGE(report, why(report));
  BOOST_TEST(report->findings.empty());
  BOOST_TEST(contracts::is_uuid_v4(report->audit_id));
  BOOST_TEST(report->requested_by == "tester");
  BOOST_TEST(report->tasks_checked == 0u);
  BOOST_TEST(report->assets_checked == 2u);
  BOOST_TEST(report->packets_checked == 2u);
  BOOST_TEST(contracts::is_timestamp(report->started_at));
  BOOST_TEST(contracts::is_timestamp(report->finished_at));
  BOOST_TEST(report->started_at <= report->finished_at);
  BOOST_TEST(report->packet_id.empty()); // Zenith sets it once recorded
  // Every audit has an id of its own.
  auto again = ask<contracts::audit_report>(atom::audit_v, std::string{"schedule"});
  BOOST_REQUIRE(again);
  BOOST_TEST(again->audit_id != report->audit_id);
}

BOOST_FIXTURE_TEST_CASE(an_audit_finds_what_was_planted, fixture) {
  auto input = register_upload();
  // A task DONE whose output stayed PENDING and whose hold on its input
  // was never released.
  task_record t;
  t.task_id = ids.next_uuid();
  t.module_ref = "step@1";
  t.trace_id = ids.next_uuid();
  t.input_mapping["prev"] = input.asset_id;
  asset_record out;
  out.asset_id = ids.next_uuid();
  out.media_type = "application/json";
  out.status = asset_status::pending;
  out.produced_by = t.task_id;
  out.created_at = contracts::format_timestamp(at);
  t.outputs["result"] = out.asset_id;
  t.created_at = t.updated_at = out.created_at;
  std::string succeeded;
  {
    storage::commit_batch b;
    auto created = b.add(make_packet("task.created",
                                     {t.task_id, input.asset_id, out.asset_id}));
    b.put(storage::table::tasks, t.task_id, fixture::task_row(t), created);
    b.put(storage::table::assets, out.asset_id, fixture::asset_row(out), created);
    b.put(storage::table::holds, storage::hold_key(input.asset_id, t.task_id),
          "", created);
    t.status = task_status::done;
    auto done = b.add(make_packet("task.succeeded", {t.task_id, input.asset_id},
                                  json::object{{"outputs", json::object{}}}),
                      {created});
    b.put(storage::table::tasks, t.task_id, fixture::task_row(t), done);
    succeeded = commit(b).at(1);
  }
  // An AVAILABLE asset whose only packet produced nothing.
  auto orphan = available_asset();
  {
    storage::commit_batch b;
    auto moved = b.add(make_packet("asset.holds_moved", {orphan.asset_id}));
    b.put(storage::table::assets, orphan.asset_id, fixture::asset_row(orphan),
          moved);
    commit(b);
  }
  auto report = ask<contracts::audit_report>(atom::audit_v, std::string{"tester"});
  BOOST_REQUIRE_MESSAGE(report, why(report));
  BOOST_TEST(report->tasks_checked == 1u);
  BOOST_TEST(report->assets_checked == 3u);
  BOOST_TEST(report->packets_checked == 4u);
  BOOST_REQUIRE_EQUAL(report->findings.size(), 3u);
  auto& f = report->findings;
  BOOST_TEST(f[0].check == "available_without_producer");
  BOOST_TEST(f[0].affected == std::vector<std::string>{orphan.asset_id});
  BOOST_TEST(f[1].check == "done_with_missing_outputs");
  BOOST_TEST(f[1].affected == (std::vector<std::string>{t.task_id, out.asset_id}));
  BOOST_TEST(f[1].evidence == std::vector<std::string>{succeeded});
  BOOST_TEST(f[2].check == "hold_on_finished_task");
  BOOST_TEST(f[2].affected == (std::vector<std::string>{t.task_id, input.asset_id}));
  BOOST_TEST(f[2].evidence == std::vector<std::string>{succeeded});
  // Paradox changed nothing.
  auto row = db->read->get(storage::table::tasks, t.task_id);
  BOOST_REQUIRE(row);
  BOOST_TEST(*row == fixture::task_row(t));
  BOOST_TEST(*db->read->packet_count() == 4u);
}

BOOST_FIXTURE_TEST_CASE(an_audit_over_a_row_that_does_not_parse_fails, fixture) {
  storage::commit_batch b;
  auto id = ids.next_uuid();
  auto i = b.add(make_packet("task.created", {id}));
  b.put(storage::table::tasks, id, "not json", i);
  commit(b);
  auto report = ask<contracts::audit_report>(atom::audit_v, std::string{"tester"});
  BOOST_REQUIRE(!report);
  BOOST_TEST(is(report.error(), contracts::ec::corruption));
  BOOST_TEST(text_of(report.error()).find(id) != std::string::npos);
}
