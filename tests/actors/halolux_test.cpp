#define BOOST_TEST_MODULE halolux_actor
#include <boost/test/unit_test.hpp>

// HaloLux on a real database: the reader's range reads it uses, its state
// (the cache and what invalidates it) and the actor answering a request.
// The logic itself is tested in tests/contracts/halolux_test.cpp.

#include "actors/halolux.hpp"
#include "contracts/error_code.hpp"
#include "contracts/type_ids.hpp"
#include "storage/testing/committer_door.hpp"
#include "tests/actors/test_support.hpp"
#include "tests/test_print.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scoped_actor.hpp>

#include <string>
#include <vector>

using namespace omniva;
using namespace omniva::test_support;
using contracts::ec;
using contracts::explain_query;
using contracts::packet;

namespace {

packet make(std::string kind, std::vector<std::string> subjects,
            std::string payload = "{}", std::string trace = "trace-1") {
  packet p;
  p.kind = std::move(kind);
  p.actor = "zenith";
  p.trace_id = std::move(trace);
  p.subjects = std::move(subjects);
  p.at = "2030-01-01T00:00:00.000Z";
  p.payload = std::move(payload);
  return p;
}

packet created(const std::string& task, const std::string& trace = "trace-1") {
  return make("task.created", {task},
              R"({"module_ref":"m@1","status":"PENDING","inputs":{},"outputs":{}})",
              trace);
}

struct fixture {
  temp_dir dir{"omniva-halolux-"};
  storage::writable_database db;
  actors::halolux_state state;

  fixture() : db(open()) {
    state.reader = db.read;
  }

  storage::writable_database open() {
    auto r = storage::testing::committer_door::open(dir.path.string());
    BOOST_REQUIRE_MESSAGE(r, "open failed");
    return std::move(*r);
  }

  /// Commits `ps` as one batch.
  void commit(std::vector<packet> ps) {
    storage::commit_batch b;
    for (auto& p : ps)
      b.add(std::move(p));
    auto r = db.write.commit(b);
    if (!r)
      BOOST_FAIL("commit failed: " << text_of(r.error()));
  }

  contracts::explanation explain(std::string id, uint32_t limit = 0,
                                 std::string cursor = {}) {
    explain_query q{std::move(id), limit, std::move(cursor)};
    auto x = state.explain(q);
    if (!x)
      BOOST_FAIL("explain failed: " << text_of(x.error()));
    return *x;
  }
};

/// The value of `x`, or `fallback` on an error.
uint64_t or_(const caf::expected<uint64_t>& x, uint64_t fallback) {
  return x ? *x : fallback;
}

bool says(const contracts::explanation& x, const std::string& words) {
  return x.narrative.find(words) != std::string::npos;
}

} // namespace

// -- the reader's range reads ---------------------------------------------------------

BOOST_FIXTURE_TEST_CASE(the_reader_reads_stretches_of_histories_and_traces, fixture) {
  commit({created("task-a", "trace-x")});                                // 1
  commit({make("task.ready", {"task-b"}, "{}", "trace-y")});             // 2
  commit({make("task.dispatched", {"task-a"}, "{}", "trace-x")});        // 3
  commit({make("task.succeeded", {"task-a"}, "{}", "trace-x")});         // 4
  auto& r = *db.read;
  auto h = r.history("task-a", 2, 3, 10);
  BOOST_REQUIRE(h);
  BOOST_REQUIRE_EQUAL(h->size(), 1u);
  BOOST_CHECK_EQUAL(h->front().seq, 3u);
  auto all = r.history("task-a", 1, UINT64_MAX, 2);
  BOOST_REQUIRE(all);
  BOOST_CHECK_EQUAL(all->size(), 2u);
  auto t = r.by_trace("trace-x", 2, UINT64_MAX, 10);
  BOOST_REQUIRE(t);
  BOOST_REQUIRE_EQUAL(t->size(), 2u);
  BOOST_CHECK_EQUAL(t->front().seq, 3u);
  BOOST_CHECK_EQUAL(t->back().seq, 4u);
  BOOST_CHECK_EQUAL(or_(r.last_seq_of("task-a"), 0), 4u);
  BOOST_CHECK_EQUAL(or_(r.last_seq_of("task-a", 3), 0), 3u);
  BOOST_CHECK_EQUAL(or_(r.last_seq_of("task-a", 2), 9), 1u);
  BOOST_CHECK_EQUAL(or_(r.last_seq_of("task-a", 0), 9), 0u);
  BOOST_CHECK_EQUAL(or_(r.last_seq_of("task"), 9), 0u); // a prefix is not a subject
  BOOST_CHECK_EQUAL(or_(r.last_seq_of("nobody"), 9), 0u);
  BOOST_CHECK_EQUAL(or_(r.last_seq_of_trace("trace-x"), 0), 4u);
  BOOST_CHECK_EQUAL(or_(r.last_seq_of_trace("trace-y"), 0), 2u);
  BOOST_CHECK_EQUAL(or_(r.last_seq_of_trace("trace-z"), 9), 0u);
}

// -- the state --------------------------------------------------------------------------

BOOST_FIXTURE_TEST_CASE(an_explanation_cites_the_packets_of_the_database, fixture) {
  commit({created("task-a")});
  auto x = explain("task-a");
  BOOST_CHECK_EQUAL(x.subject_kind, "task");
  BOOST_REQUIRE(!x.chain.empty());
  for (auto& step : x.chain)
    BOOST_CHECK_MESSAGE(db.read->packet_by_id(step.packet_id),
                        step.statement << " cites no packet of the log");
}

BOOST_FIXTURE_TEST_CASE(an_unchanged_explanation_comes_from_the_cache, fixture) {
  commit({created("task-a")});
  auto first = explain("task-a");
  BOOST_CHECK_EQUAL(state.misses, 1u);
  auto again = explain("task-a");
  BOOST_CHECK_EQUAL(state.hits, 1u);
  BOOST_CHECK(first == again);
  // A packet about something else leaves it valid.
  commit({created("task-b")});
  explain("task-a");
  BOOST_CHECK_EQUAL(state.hits, 2u);
}

BOOST_FIXTURE_TEST_CASE(a_new_packet_of_the_task_invalidates_its_explanation, fixture) {
  commit({created("task-a")});
  auto before = explain("task-a");
  BOOST_CHECK(says(before, "Now it is PENDING"));
  commit({make("task.cancelled", {"task-a"}, R"({"operator":"bob"})")});
  auto after = explain("task-a");
  BOOST_CHECK_EQUAL(state.misses, 2u);
  BOOST_CHECK(says(after, "bob cancelled it"));
  BOOST_CHECK(says(after, "Now it is CANCELLED"));
}

BOOST_FIXTURE_TEST_CASE(a_new_packet_of_a_related_task_invalidates_the_explanation, fixture) {
  // task-b waits for task-a's output; task-a's end changes why.
  commit({make("task.created", {"task-a", "asset-a"},
               R"({"module_ref":"m@1","status":"PENDING","inputs":{},"outputs":{"out":"asset-a"}})")});
  commit({make("task.created", {"task-b", "asset-a"},
               R"({"module_ref":"m@1","status":"PENDING","inputs":{"in":"asset-a"},"outputs":{}})")});
  auto before = explain("task-b");
  BOOST_CHECK(says(before, "promised by task task-a (module m@1), which is PENDING"));
  commit({make("task.dispatched", {"task-a"},
               R"({"pool":"p1","attempt":1})")});
  auto after = explain("task-b");
  BOOST_CHECK_EQUAL(state.hits, 0u);
  BOOST_CHECK(says(after, "promised by task task-a (module m@1), which is RUNNING"));
}

BOOST_FIXTURE_TEST_CASE(a_new_packet_of_a_trace_invalidates_its_pages, fixture) {
  commit({created("task-a", "trace-x")});
  auto before = explain("trace-x");
  BOOST_CHECK(says(before, "1 task on this page"));
  commit({created("task-b", "trace-x")});
  auto after = explain("trace-x");
  BOOST_CHECK_EQUAL(state.hits, 0u);
  BOOST_CHECK(says(after, "2 tasks on this page"));
  explain("trace-x");
  BOOST_CHECK_EQUAL(state.hits, 1u);
}

BOOST_FIXTURE_TEST_CASE(the_cache_keeps_at_most_its_entries, fixture) {
  state.config.cache_entries = 2;
  commit({created("task-a"), created("task-b"), created("task-c")});
  explain("task-a");
  explain("task-b");
  explain("task-a"); // task-b is now the least recently used
  explain("task-c");
  BOOST_CHECK_EQUAL(state.cache.size(), 2u);
  auto hits = state.hits;
  explain("task-a");
  BOOST_CHECK_EQUAL(state.hits, hits + 1);
  explain("task-b");
  BOOST_CHECK_EQUAL(state.hits, hits + 1);
}

BOOST_FIXTURE_TEST_CASE(errors_are_answered_and_not_kept, fixture) {
  commit({created("task-a")});
  auto x = state.explain(explain_query{"nothing", 0, {}});
  BOOST_REQUIRE(!x);
  BOOST_CHECK_EQUAL(static_cast<ec>(x.error().code()), ec::not_found);
  BOOST_CHECK(state.cache.empty());
}

// -- the actor --------------------------------------------------------------------------

BOOST_FIXTURE_TEST_CASE(the_actor_answers_an_explanation_or_the_error, fixture) {
  commit({created("task-a")});
  caf::actor_system_config cfg;
  contracts::register_types(cfg);
  cfg.set("logger.file-verbosity", caf::atom("quiet"));
  cfg.set("logger.console-verbosity", caf::atom("quiet"));
  caf::actor_system sys{cfg};
  auto h = sys.spawn(actors::halolux, std::shared_ptr<const storage::reader>{db.read},
                     actors::halolux_config{});
  caf::scoped_actor self{sys};
  bool answered = false;
  self->request(h, std::chrono::seconds{10}, atom::explain_v,
                explain_query{"task-a", 0, {}})
    .receive(
      [&](const contracts::explanation& x) {
        answered = true;
        BOOST_CHECK_EQUAL(x.subject, "task-a");
        BOOST_CHECK(says(x, "was submitted"));
      },
      [&](const caf::error& e) { BOOST_FAIL("explain failed: " << text_of(e)); });
  BOOST_CHECK(answered);
  self->request(h, std::chrono::seconds{10}, atom::explain_v,
                explain_query{"task-a", 5000, {}})
    .receive([&](const contracts::explanation&) { BOOST_FAIL("a bad limit was accepted"); },
             [&](const caf::error& e) {
               BOOST_CHECK_EQUAL(static_cast<ec>(e.code()), ec::invalid_filter);
             });
  caf::anon_send_exit(h, caf::exit_reason::user_shutdown);
}
