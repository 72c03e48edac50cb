#define BOOST_TEST_MODULE halolux
#include <boost/test/unit_test.hpp>

// HaloLux's pure logic (contracts/halolux.hpp): explanations of tasks,
// assets and traces from packets built by hand in a small in-memory log.
// Every test also checks that each statement cites a packet of the log.

#include "contracts/halolux.hpp"
#include "contracts/hex.hpp"
#include "tests/test_print.hpp"

#include <algorithm>
#include <cstdio>
#include <map>
#include <set>
#include <string>
#include <vector>

using namespace omniva;
using contracts::ec;
using contracts::explain_query;
using contracts::explanation;
using contracts::packet;

namespace {

/// A lineage log in memory: packets in seq order, time advancing by one
/// second per commit.
class memory_log {
public:
  /// Adds a packet made now; returns its id.
  std::string add(std::string kind, std::vector<std::string> subjects,
                  std::string payload = "{}", std::string trace = "trace-1",
                  std::string actor = "zenith") {
    packet p;
    p.seq = packets_.size() + 1;
    p.kind = std::move(kind);
    p.actor = std::move(actor);
    p.trace_id = std::move(trace);
    p.subjects = std::move(subjects);
    p.payload = std::move(payload);
    p.at = time();
    auto d = contracts::sha256("packet " + std::to_string(p.seq));
    p.id = contracts::to_hex(std::span<const uint8_t>{d.data(), d.size()});
    packets_.push_back(p);
    return p.id;
  }

  /// Later packets are made one second later.
  void commit() {
    ++second_;
  }

  std::string time() const {
    char buf[40];
    std::snprintf(buf, sizeof buf, "2030-01-01T00:%02d:%02d.000Z",
                  second_ / 60, second_ % 60);
    return buf;
  }

  bool has(const std::string& id) const {
    return std::any_of(packets_.begin(), packets_.end(),
                       [&](auto& p) { return p.id == id; });
  }

  const packet& by_id(const std::string& id) const {
    return *std::find_if(packets_.begin(), packets_.end(),
                         [&](auto& p) { return p.id == id; });
  }

  size_t size() const {
    return packets_.size();
  }

  /// How many reads the explanations made.
  size_t reads = 0;

  halolux::lineage_source source() {
    halolux::lineage_source src;
    src.history = [this](std::string_view subject, uint64_t first,
                         uint64_t last, size_t limit)
      -> caf::expected<std::vector<packet>> {
      ++reads;
      std::vector<packet> out;
      for (auto& p : packets_)
        if (p.seq >= first && p.seq <= last && out.size() < limit
            && std::find(p.subjects.begin(), p.subjects.end(), subject)
                 != p.subjects.end())
          out.push_back(p);
      return out;
    };
    src.last_seq = [this](std::string_view subject,
                          uint64_t at_most) -> caf::expected<uint64_t> {
      ++reads;
      uint64_t out = 0;
      for (auto& p : packets_)
        if (p.seq <= at_most
            && std::find(p.subjects.begin(), p.subjects.end(), subject)
                 != p.subjects.end())
          out = p.seq;
      return out;
    };
    src.at = [this](uint64_t seq) -> caf::expected<packet> {
      ++reads;
      if (seq == 0 || seq > packets_.size())
        return contracts::make_error(ec::not_found, "no packet");
      return packets_[seq - 1];
    };
    src.trace = [this](std::string_view trace, uint64_t first, uint64_t last,
                       size_t limit) -> caf::expected<std::vector<packet>> {
      ++reads;
      std::vector<packet> out;
      for (auto& p : packets_)
        if (p.seq >= first && p.seq <= last && out.size() < limit
            && p.trace_id == trace)
          out.push_back(p);
      return out;
    };
    return src;
  }

  caf::expected<explanation> explain(std::string id, uint32_t limit = 0,
                                     std::string cursor = {}) {
    explain_query q;
    q.id = std::move(id);
    q.limit = limit;
    q.cursor = std::move(cursor);
    return halolux::explain(q, source());
  }

private:
  std::vector<packet> packets_;
  int second_ = 0;
};

/// Every statement cites a packet of the log, and the narrative holds
/// every statement.
void check_cited(const memory_log& log, const explanation& x) {
  BOOST_TEST_MESSAGE(x.narrative);
  for (auto& step : x.chain) {
    BOOST_TEST_CONTEXT(step.statement) {
      BOOST_CHECK(log.has(step.packet_id));
      BOOST_CHECK(x.narrative.find(step.statement) != std::string::npos);
    }
  }
  BOOST_CHECK_GE(x.completeness, 0.0);
  BOOST_CHECK_LE(x.completeness, 1.0);
}

/// The statement that contains `words`; fails the test when none does.
const contracts::reasoning_step* step_with(const explanation& x,
                                           const std::string& words) {
  for (auto& s : x.chain)
    if (s.statement.find(words) != std::string::npos)
      return &s;
  BOOST_ERROR("no statement contains '" << words << "'; narrative: "
                                        << x.narrative);
  return nullptr;
}

bool says(const explanation& x, const std::string& words) {
  return std::any_of(x.chain.begin(), x.chain.end(), [&](auto& s) {
    return s.statement.find(words) != std::string::npos;
  });
}

/// The position of the statement containing `words` in the chain.
size_t position(const explanation& x, const std::string& words) {
  for (size_t i = 0; i < x.chain.size(); ++i)
    if (x.chain[i].statement.find(words) != std::string::npos)
      return i;
  BOOST_ERROR("no statement contains '" << words << "'");
  return x.chain.size();
}

ec code_of(const caf::error& e) {
  return static_cast<ec>(e.code());
}

/// The pointer an error names.
std::string pointer_of(const caf::error& e) {
  auto p = contracts::problem_from_error(e);
  return p ? p->pointer : std::string{};
}

// -- packets as Zenith writes them (docs/engines.md, "Packets") --

std::string created(memory_log& log, const std::string& task,
                    const std::string& module,
                    std::map<std::string, std::string> inputs,
                    std::map<std::string, std::string> outputs,
                    const std::string& trace = "trace-1",
                    const std::string& op = "alice") {
  std::vector<std::string> subjects{task};
  std::string in = "{", out = "{";
  for (auto& [k, v] : inputs) {
    subjects.push_back(v);
    in += (in.size() > 1 ? "," : "") + std::string{"\""} + k + "\":\"" + v + "\"";
  }
  for (auto& [k, v] : outputs) {
    subjects.push_back(v);
    out += (out.size() > 1 ? "," : "") + std::string{"\""} + k + "\":\"" + v + "\"";
  }
  return log.add("task.created", subjects,
                 R"({"module_ref":")" + module + R"(","status":"PENDING","inputs":)"
                   + in + "}," + R"("outputs":)" + out + R"(},"operator":")" + op
                   + R"("})",
                 trace);
}

std::string cleared(memory_log& log, const std::string& task,
                    const std::string& decision = "ready",
                    const std::string& action = "clear",
                    const std::string& duplicate_of = "") {
  log.add("advice.paradox", {task},
          R"({"advice":"clearance","items":[{"task_id":")" + task
            + R"(","action":")" + action + R"(","duplicate_of":")"
            + duplicate_of + R"(","key":"k1"}]})",
          "trace-1", "paradox");
  return log.add("decision.zenith", {task},
                 R"({"engine":"paradox","decisions":[{"task_id":")" + task
                   + R"(","decision":")" + decision + R"("}],"evidence":[]})");
}

std::string routed(memory_log& log, const std::string& task,
                   const std::string& pool, int rank = 3,
                   const std::string& discarded = "[]") {
  return log.add("advice.lattice", {task},
                 R"({"routes":[{"task_id":")" + task + R"(","pool":")" + pool
                   + R"(","score":0.5,"rank":)" + std::to_string(rank)
                   + R"(,"routing_sequence":7,"discarded":)" + discarded + "}]}",
                 "trace-1", "lattice");
}

std::string dispatched(memory_log& log, const std::string& task,
                       const std::string& pool, int attempt = 1) {
  return log.add("task.dispatched", {task},
                 R"({"pool":")" + pool + R"(","attempt":)"
                   + std::to_string(attempt) + R"(,"execution_id":")" + task
                   + "/" + std::to_string(attempt) + R"("})");
}

std::string succeeded(memory_log& log, const std::string& task,
                      std::map<std::string, std::string> outputs = {}) {
  std::vector<std::string> subjects{task};
  std::string out = "{";
  for (auto& [k, v] : outputs) {
    subjects.push_back(v);
    out += (out.size() > 1 ? "," : "") + std::string{"\""} + k
           + R"(":{"asset_id":")" + v + R"(","sha256":"abc"})";
  }
  return log.add("task.succeeded", subjects, R"({"outputs":)" + out + "}}");
}

/// A task that runs clean: created, cleared, routed and dispatched, and
/// (`finish`) succeeded.
void clean_task(memory_log& log, const std::string& task,
                std::map<std::string, std::string> outputs = {},
                bool finish = true, const std::string& trace = "trace-1") {
  created(log, task, "m@1", {}, outputs, trace);
  log.commit();
  cleared(log, task);
  routed(log, task, "p1");
  dispatched(log, task, "p1");
  log.commit();
  if (finish) {
    succeeded(log, task, outputs);
    log.commit();
  }
}

} // namespace

// -- tasks ------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(a_clean_task_is_told_from_submission_to_its_end_with_all_its_evidence) {
  memory_log log;
  clean_task(log, "task-a", {{"out", "asset-a"}});
  auto x = log.explain("task-a");
  BOOST_REQUIRE(x);
  check_cited(log, *x);
  BOOST_CHECK_EQUAL(x->subject, "task-a");
  BOOST_CHECK_EQUAL(x->subject_kind, "task");
  BOOST_CHECK(x->missing.empty());
  BOOST_CHECK_EQUAL(x->completeness, 1.0);
  auto* submitted = step_with(*x, "was submitted by alice");
  BOOST_REQUIRE(submitted);
  BOOST_CHECK_EQUAL(log.by_id(submitted->packet_id).kind, "task.created");
  BOOST_CHECK(says(*x, "pre-flight passed"));
  BOOST_CHECK(says(*x, "Paradox found no identical task"));
  BOOST_CHECK(says(*x, "Lattice routed it to pool p1"));
  auto* run = step_with(*x, "Attempt 1 was dispatched to pool p1");
  BOOST_REQUIRE(run);
  BOOST_CHECK_EQUAL(log.by_id(run->packet_id).kind, "task.dispatched");
  BOOST_CHECK(says(*x, "Attempt 1 succeeded"));
  BOOST_CHECK(says(*x, "Now it is DONE"));
  // In the order things happened.
  BOOST_CHECK_LT(position(*x, "was submitted"), position(*x, "Paradox found"));
  BOOST_CHECK_LT(position(*x, "Paradox found"), position(*x, "Lattice routed"));
  BOOST_CHECK_LT(position(*x, "Lattice routed"), position(*x, "dispatched"));
  BOOST_CHECK_LT(position(*x, "dispatched"), position(*x, "succeeded"));
  // A clean task routed and dispatched in one commit did not wait.
  BOOST_CHECK(!says(*x, "waited"));
}

BOOST_AUTO_TEST_CASE(explaining_twice_gives_the_same_explanation) {
  memory_log log;
  clean_task(log, "task-a", {{"out", "asset-a"}});
  created(log, "task-b", "m@2", {{"in", "asset-a"}}, {});
  auto x = log.explain("task-b");
  auto y = log.explain("task-b");
  BOOST_REQUIRE(x && y);
  BOOST_CHECK(*x == *y);
}

BOOST_AUTO_TEST_CASE(a_task_waiting_on_a_pending_input_names_the_producer_and_why_it_waits_in_turn) {
  memory_log log;
  // q runs; p waits for q's output; t waits for p's output.
  clean_task(log, "task-q", {{"out", "asset-q"}}, false);
  created(log, "task-p", "m@2", {{"in", "asset-q"}}, {{"out", "asset-p"}});
  cleared(log, "task-p", "wait");
  log.commit();
  created(log, "task-t", "m@3", {{"in", "asset-p"}}, {});
  cleared(log, "task-t", "wait");
  log.commit();
  auto x = log.explain("task-t");
  BOOST_REQUIRE(x);
  check_cited(log, *x);
  BOOST_CHECK(says(*x, "Now it is PENDING"));
  auto* input = step_with(*x, "It waits for input in (asset asset-p), promised by task task-p");
  BOOST_REQUIRE(input);
  BOOST_CHECK(input->statement.find("PENDING") != std::string::npos);
  auto* deeper = step_with(*x, "Task task-p waits for input in (asset asset-q), promised by task task-q");
  BOOST_REQUIRE(deeper);
  BOOST_CHECK(deeper->statement.find("RUNNING") != std::string::npos);
  // The producer's state is shown by the packet that set it.
  BOOST_CHECK_EQUAL(log.by_id(deeper->packet_id).kind, "task.dispatched");
  auto* running = step_with(*x, "Task task-q runs attempt 1 in pool p1");
  BOOST_REQUIRE(running);
  // Unfinished, nothing is missing.
  BOOST_CHECK(x->missing.empty());
}

BOOST_AUTO_TEST_CASE(a_task_that_waited_for_an_input_in_the_past_says_when_it_came) {
  memory_log log;
  clean_task(log, "task-p", {{"out", "asset-p"}}, false);
  created(log, "task-t", "m@3", {{"in", "asset-p"}}, {});
  cleared(log, "task-t", "wait");
  log.commit();
  auto done = succeeded(log, "task-p", {{"out", "asset-p"}});
  log.add("task.ready", {"task-t", "asset-p"});
  routed(log, "task-t", "p1");
  dispatched(log, "task-t", "p1");
  log.commit();
  succeeded(log, "task-t");
  auto x = log.explain("task-t");
  BOOST_REQUIRE(x);
  check_cited(log, *x);
  BOOST_CHECK(says(*x, "It waited for input in (asset asset-p), promised by task task-p (module m@1)"));
  auto* came = step_with(*x, "Task task-p finished");
  BOOST_REQUIRE(came);
  BOOST_CHECK_EQUAL(came->packet_id, done);
  BOOST_CHECK(says(*x, "It became READY at"));
  BOOST_CHECK(says(*x, "when input in (asset asset-p) became AVAILABLE"));
  BOOST_CHECK_LT(position(*x, "It waited for input"), position(*x, "Task task-p finished"));
  BOOST_CHECK_LT(position(*x, "Task task-p finished"), position(*x, "It became READY"));
  BOOST_CHECK_EQUAL(x->completeness, 1.0);
}

BOOST_AUTO_TEST_CASE(an_input_available_at_creation_is_not_waited_for) {
  memory_log log;
  clean_task(log, "task-p", {{"out", "asset-p"}});
  log.add("asset.registered", {"asset-r"}, R"({"kind":"FILE","sha256":"ff"})",
          "trace-9");
  log.commit();
  created(log, "task-t", "m@3", {{"a", "asset-p"}, {"b", "asset-r"}}, {});
  auto x = log.explain("task-t");
  BOOST_REQUIRE(x);
  check_cited(log, *x);
  BOOST_CHECK(says(*x, "Input a (asset asset-p) was made by task task-p, AVAILABLE since"));
  BOOST_CHECK(says(*x, "Input b (asset asset-r) was registered"));
  BOOST_CHECK(!says(*x, "waited for input"));
}

BOOST_AUTO_TEST_CASE(a_failed_attempt_its_plan_the_decision_and_the_retry_are_told) {
  memory_log log;
  clean_task(log, "task-a", {}, false);
  log.add("task.attempt_failed", {"task-a"},
          R"({"attempt":1,"code":"timeout","message":"ran over 30 s","transient":true,"lost":false})");
  log.add("advice.eclipse", {"task-a"},
          R"({"plans":[{"task_id":"task-a","attempt":1,"failure_class":"transient","action":"retry","code":"timeout","delay_ms":1000,"avoid_pool":"p1","reason":"timeouts are transient."}],"breakers":[]})",
          "trace-1", "eclipse");
  log.add("decision.zenith", {"task-a"},
          R"({"engine":"eclipse","decisions":[{"task_id":"task-a","decision":"retry"}]})");
  auto requeue = log.add("task.requeued", {"task-a"},
                         R"({"attempt":2,"reason":"timeout","not_before":"2030-01-01T00:00:09.000Z"})");
  log.commit();
  log.add("task.ready", {"task-a"}, R"({"reason":"backoff over"})");
  routed(log, "task-a", "p2", 1, R"([{"pool":"p1","reason":"avoided","score":0.9}])");
  dispatched(log, "task-a", "p2", 2);
  log.commit();
  succeeded(log, "task-a");
  auto x = log.explain("task-a");
  BOOST_REQUIRE(x);
  check_cited(log, *x);
  BOOST_CHECK(says(*x, "Attempt 1 failed at"));
  BOOST_CHECK(says(*x, "timeout — ran over 30 s (the failure may be transient)"));
  BOOST_CHECK(says(*x, "Eclipse judged the failure of attempt 1 (timeout) transient and planned a retry after 1000 ms, away from pool p1: timeouts are transient."));
  BOOST_CHECK(says(*x, "Zenith decided to retry it"));
  auto* queued = step_with(*x, "it may not start before 2030-01-01T00:00:09.000Z");
  BOOST_REQUIRE(queued);
  BOOST_CHECK_EQUAL(queued->packet_id, requeue);
  BOOST_CHECK(says(*x, "(backoff over)"));
  BOOST_CHECK(says(*x, "it discarded pool p1 (avoided)"));
  BOOST_CHECK(says(*x, "Attempt 2 was dispatched to pool p2"));
  BOOST_CHECK(says(*x, "Attempt 2 succeeded"));
  // created (2), clearance and its decision, two dispatches, two ends, the
  // retry decision and its requeue, the end.
  BOOST_CHECK(x->missing.empty());
  BOOST_CHECK_EQUAL(x->completeness, 1.0);
}

BOOST_AUTO_TEST_CASE(a_failed_attempt_without_a_decision_is_missing_evidence) {
  memory_log log;
  clean_task(log, "task-a", {}, false);
  auto failed = log.add("task.attempt_failed", {"task-a"},
                        R"({"attempt":1,"code":"exit_code","message":"exit 3","transient":false})");
  auto x = log.explain("task-a");
  BOOST_REQUIRE(x);
  check_cited(log, *x);
  BOOST_REQUIRE_EQUAL(x->missing.size(), 1u);
  BOOST_CHECK(x->missing[0].find("attempt 1 of task task-a failed (packet " + failed)
              != std::string::npos);
  // Expected: submission, pre-flight, clearance, its decision, the
  // dispatch, the attempt's end, the decision on it: 6 of 7 are there.
  BOOST_CHECK_CLOSE(x->completeness, 6.0 / 7.0, 1e-9);
  BOOST_CHECK(x->narrative.find("1 piece of the evidence the lineage should hold is missing")
              != std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_history_without_its_creation_lacks_submission_and_preflight) {
  memory_log log;
  log.add("task.dispatched", {"task-a"},
          R"({"pool":"p1","attempt":1,"execution_id":"task-a/1","_rows":{"tasks":{"task-a":"d"}}})");
  log.commit();
  log.add("task.succeeded", {"task-a"}, R"({"outputs":{},"_rows":{"tasks":{"task-a":"d"}}})");
  auto x = log.explain("task-a");
  BOOST_REQUIRE(x);
  check_cited(log, *x);
  BOOST_CHECK_EQUAL(x->subject_kind, "task");
  BOOST_CHECK(std::any_of(x->missing.begin(), x->missing.end(), [](auto& m) {
    return m.find("no task.created records the submission of task task-a") != std::string::npos;
  }));
  BOOST_CHECK(std::any_of(x->missing.begin(), x->missing.end(), [](auto& m) {
    return m.find("pre-flight outcome") != std::string::npos;
  }));
  BOOST_CHECK(std::any_of(x->missing.begin(), x->missing.end(), [](auto& m) {
    return m.find("no Paradox clearance") != std::string::npos;
  }));
  // dispatch, end and final state are there; submission, pre-flight and
  // clearance are not.
  BOOST_CHECK_CLOSE(x->completeness, 3.0 / 6.0, 1e-9);
}

BOOST_AUTO_TEST_CASE(a_retry_decision_without_a_requeue_is_missing_evidence) {
  memory_log log;
  clean_task(log, "task-a", {}, false);
  log.add("task.attempt_failed", {"task-a"}, R"({"attempt":1,"code":"signal","transient":true})");
  log.add("advice.eclipse", {"task-a"},
          R"({"plans":[{"task_id":"task-a","attempt":1,"action":"retry","failure_class":"transient","code":"signal","delay_ms":5}]})");
  auto decision = log.add("decision.zenith", {"task-a"},
                          R"({"engine":"eclipse","decisions":[{"task_id":"task-a","decision":"retry"}]})");
  auto x = log.explain("task-a");
  BOOST_REQUIRE(x);
  BOOST_REQUIRE_EQUAL(x->missing.size(), 1u);
  BOOST_CHECK(x->missing[0].find("(packet " + decision + ") but no task.requeued records attempt 2")
              != std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_decision_to_fail_without_an_end_is_missing_evidence) {
  memory_log log;
  clean_task(log, "task-a", {}, false);
  log.add("task.attempt_failed", {"task-a"}, R"({"attempt":1,"code":"exit_code"})");
  log.add("advice.eclipse", {"task-a"},
          R"({"plans":[{"task_id":"task-a","attempt":1,"action":"fail","failure_class":"deterministic","code":"exit_code"}]})");
  log.add("decision.zenith", {"task-a"},
          R"({"engine":"eclipse","decisions":[{"task_id":"task-a","decision":"fail","code":"exit_code"}]})");
  auto x = log.explain("task-a");
  BOOST_REQUIRE(x);
  check_cited(log, *x);
  BOOST_CHECK(says(*x, "and advised that the task fails"));
  BOOST_CHECK(says(*x, "Zenith decided it fails with exit_code"));
  BOOST_REQUIRE_EQUAL(x->missing.size(), 1u);
  BOOST_CHECK(x->missing[0].find("decided 'fail'") != std::string::npos);
  BOOST_CHECK(x->missing[0].find("no packet records the task's end") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_decision_without_advice_is_missing_evidence) {
  memory_log log;
  created(log, "task-a", "m@1", {}, {});
  auto d = log.add("decision.zenith", {"task-a"},
                   R"({"engine":"paradox","decisions":[{"task_id":"task-a","decision":"wait"}]})");
  auto x = log.explain("task-a");
  BOOST_REQUIRE(x);
  BOOST_CHECK(std::any_of(x->missing.begin(), x->missing.end(), [&](auto& m) {
    return m.find("(packet " + d + ") follows no advice.paradox") != std::string::npos;
  }));
}

BOOST_AUTO_TEST_CASE(a_task_in_backoff_says_until_when) {
  memory_log log;
  clean_task(log, "task-a", {}, false);
  log.add("task.attempt_failed", {"task-a"}, R"({"attempt":1,"code":"lost_worker","transient":true,"lost":true})");
  log.add("advice.eclipse", {"task-a"},
          R"({"plans":[{"task_id":"task-a","attempt":1,"action":"retry","failure_class":"transient","code":"lost_worker","delay_ms":5000}]})");
  log.add("decision.zenith", {"task-a"},
          R"({"engine":"eclipse","decisions":[{"task_id":"task-a","decision":"retry"}]})");
  auto requeue = log.add("task.requeued", {"task-a"},
                         R"({"attempt":2,"reason":"lost_worker","not_before":"2030-01-01T00:05:00.000Z"})");
  auto x = log.explain("task-a");
  BOOST_REQUIRE(x);
  check_cited(log, *x);
  BOOST_CHECK(says(*x, "(its worker went silent)"));
  auto* wait = step_with(*x, "It waits for its backoff: attempt 2 may not start before 2030-01-01T00:05:00.000Z");
  BOOST_REQUIRE(wait);
  BOOST_CHECK_EQUAL(wait->packet_id, requeue);
  BOOST_CHECK(x->missing.empty());
}

BOOST_AUTO_TEST_CASE(a_ready_task_of_a_quarantined_module_says_so_now) {
  memory_log log;
  auto q = log.add("decision.zenith", {"module:m@1"},
                   R"({"engine":"eclipse","decisions":[{"target":"module:m@1","decision":"quarantine","reason":"5 failures in a row"}]})",
                   "trace-q");
  log.commit();
  created(log, "task-a", "m@1", {}, {});
  cleared(log, "task-a", "ready");
  auto x = log.explain("task-a");
  BOOST_REQUIRE(x);
  check_cited(log, *x);
  auto* s = step_with(*x, "It waits: its module m@1 is quarantined since");
  BOOST_REQUIRE(s);
  BOOST_CHECK_EQUAL(s->packet_id, q);
  BOOST_CHECK(s->statement.find("5 failures in a row") != std::string::npos);
  // Released, it no longer says so.
  log.commit();
  log.add("operator.override", {"module:m@1"},
          R"({"action":"quarantine.remove","target":"module:m@1","operator":"bob"})",
          "trace-o");
  auto y = log.explain("task-a");
  BOOST_REQUIRE(y);
  BOOST_CHECK(!says(*y, "is quarantined"));
  BOOST_CHECK(says(*y, "no route of Lattice follows yet"));
}

BOOST_AUTO_TEST_CASE(a_quarantine_waited_through_is_told_with_its_end) {
  memory_log log;
  auto q = log.add("operator.override", {"module:m@1"},
                   R"({"action":"quarantine.add","target":"module:m@1","operator":"bob","reason":"bad release"})",
                   "trace-o");
  log.commit();
  created(log, "task-a", "m@1", {}, {});
  cleared(log, "task-a", "ready");
  log.commit();
  auto released = log.add("operator.override", {"module:m@1"},
                          R"({"action":"quarantine.remove","target":"module:m@1","operator":"bob"})",
                          "trace-o");
  log.commit();
  routed(log, "task-a", "p1");
  dispatched(log, "task-a", "p1");
  auto x = log.explain("task-a");
  BOOST_REQUIRE(x);
  check_cited(log, *x);
  auto* then = step_with(*x, "When it became READY, module m@1 was quarantined");
  BOOST_REQUIRE(then);
  BOOST_CHECK_EQUAL(then->packet_id, q);
  BOOST_CHECK(then->statement.find("set by bob: bad release") != std::string::npos);
  auto* lifted = step_with(*x, "The quarantine of module m@1 became closed");
  BOOST_REQUIRE(lifted);
  BOOST_CHECK_EQUAL(lifted->packet_id, released);
  BOOST_CHECK_LT(position(*x, "When it became READY"), position(*x, "became closed"));
  BOOST_CHECK_LT(position(*x, "became closed"), position(*x, "Attempt 1 was dispatched"));
}

BOOST_AUTO_TEST_CASE(a_routed_task_without_a_free_worker_says_where_it_is_queued) {
  memory_log log;
  created(log, "task-a", "m@1", {}, {});
  cleared(log, "task-a", "ready");
  auto r = routed(log, "task-a", "p1", 42,
                  R"([{"pool":"p2","reason":"does_not_fit","score":0}])");
  auto x = log.explain("task-a");
  BOOST_REQUIRE(x);
  check_cited(log, *x);
  BOOST_CHECK(says(*x, "it discarded pool p2 (does_not_fit)"));
  auto* s = step_with(*x, "It is queued in pool p1 (rank 42)");
  BOOST_REQUIRE(s);
  BOOST_CHECK_EQUAL(s->packet_id, r);
  BOOST_CHECK(s->statement.find("waits for a free worker") != std::string::npos);
  // Dispatched a commit later, the wait is told in the past.
  log.commit();
  auto d = dispatched(log, "task-a", "p1");
  auto y = log.explain("task-a");
  BOOST_REQUIRE(y);
  auto* waited = step_with(*y, "It waited for a free worker in pool p1 from 2030-01-01T00:00:00.000Z until 2030-01-01T00:00:01.000Z");
  BOOST_REQUIRE(waited);
  BOOST_CHECK_EQUAL(waited->packet_id, d);
}

BOOST_AUTO_TEST_CASE(a_route_given_before_the_clearance_is_no_wait_for_a_worker) {
  memory_log log;
  // The engines answer apart: Lattice's route is committed first, the
  // clearance and the dispatch a moment later.
  created(log, "task-a", "m@1", {}, {});
  routed(log, "task-a", "p1");
  log.commit();
  cleared(log, "task-a", "ready");
  dispatched(log, "task-a", "p1");
  auto x = log.explain("task-a");
  BOOST_REQUIRE(x);
  check_cited(log, *x);
  BOOST_CHECK(says(*x, "Lattice routed it to pool p1"));
  BOOST_CHECK(!says(*x, "waited"));
  BOOST_CHECK_EQUAL(x->completeness, 1.0);
}

BOOST_AUTO_TEST_CASE(a_task_no_pool_takes_names_the_quarantined_pools) {
  memory_log log;
  auto q = log.add("decision.zenith", {"pool:gpu"},
                   R"({"engine":"eclipse","decisions":[{"target":"pool:gpu","decision":"quarantine"}]})",
                   "trace-q");
  log.commit();
  created(log, "task-a", "m@1", {}, {});
  cleared(log, "task-a", "ready");
  log.add("advice.lattice", {"task-a"},
          R"({"routes":[{"task_id":"task-a","pool":"","discarded":[{"pool":"gpu","reason":"quarantined","score":0.9}]}]})");
  auto x = log.explain("task-a");
  BOOST_REQUIRE(x);
  check_cited(log, *x);
  BOOST_CHECK(says(*x, "It waits for a pool: Lattice found none for it"));
  auto* pool = step_with(*x, "Pool gpu is quarantined since");
  BOOST_REQUIRE(pool);
  BOOST_CHECK_EQUAL(pool->packet_id, q);
}

BOOST_AUTO_TEST_CASE(a_blocked_duplicate_names_the_identical_task) {
  memory_log log;
  auto first = created(log, "task-d", "m@1", {}, {});
  log.commit();
  created(log, "task-a", "m@1", {}, {{"out", "asset-a"}});
  cleared(log, "task-a", "skip", "block", "task-d");
  log.add("task.skipped", {"task-a", "asset-a"},
          R"({"duplicate_of":"task-d","code":"duplicate_blocked"})");
  auto x = log.explain("task-a");
  BOOST_REQUIRE(x);
  check_cited(log, *x);
  BOOST_CHECK(says(*x, "Paradox found the identical task task-d and advised blocking this one"));
  auto* identical = step_with(*x, "The identical task task-d (module m@1) was submitted by alice");
  BOOST_REQUIRE(identical);
  BOOST_CHECK_EQUAL(identical->packet_id, first);
  BOOST_CHECK(says(*x, "Zenith decided to skip it: it duplicates task task-d"));
  BOOST_CHECK(says(*x, "It was SKIPPED"));
  BOOST_CHECK(says(*x, "Now it is SKIPPED"));
  BOOST_CHECK(x->missing.empty());
  BOOST_CHECK_EQUAL(x->completeness, 1.0);
}

BOOST_AUTO_TEST_CASE(a_task_waiting_to_reuse_names_the_identical_task_and_its_state) {
  memory_log log;
  clean_task(log, "task-d", {}, false);
  created(log, "task-a", "m@1", {}, {});
  cleared(log, "task-a", "reuse_wait", "reuse", "task-d");
  auto x = log.explain("task-a");
  BOOST_REQUIRE(x);
  check_cited(log, *x);
  auto* s = step_with(*x, "It waits for the identical task task-d to finish; it is RUNNING");
  BOOST_REQUIRE(s);
  BOOST_CHECK_EQUAL(log.by_id(s->packet_id).kind, "task.dispatched");
}

BOOST_AUTO_TEST_CASE(operator_actions_are_told_with_the_operator) {
  memory_log log;
  clean_task(log, "task-a", {}, false);
  log.add("task.priority_changed", {"task-a"}, R"({"priority":5,"operator":"carol"})");
  log.commit();
  log.add("task.cancelled", {"task-a"}, R"({"stopped":"task-a/1","operator":"bob"})");
  auto x = log.explain("task-a");
  BOOST_REQUIRE(x);
  check_cited(log, *x);
  BOOST_CHECK(says(*x, "carol set its priority to 5"));
  BOOST_CHECK(says(*x, "bob cancelled it at"));
  BOOST_CHECK(says(*x, "stopping attempt task-a/1"));
  BOOST_CHECK(says(*x, "Now it is CANCELLED"));
  // The cancel ended the running attempt: nothing is missing.
  BOOST_CHECK(x->missing.empty());
}

BOOST_AUTO_TEST_CASE(a_task_cancelled_before_paradox_answered_lacks_nothing) {
  memory_log log;
  created(log, "task-a", "m@1", {}, {});
  log.add("task.cancelled", {"task-a"}, R"({"operator":"bob"})");
  auto x = log.explain("task-a");
  BOOST_REQUIRE(x);
  BOOST_CHECK(x->missing.empty());
  BOOST_CHECK_EQUAL(x->completeness, 1.0);
}

BOOST_AUTO_TEST_CASE(waiting_tasks_that_wait_on_each_other_end_the_walk) {
  memory_log log;
  // Two tasks each waiting for the other's output (a log Zenith cannot
  // write: task-a's creation does not name its input): the walk must end.
  log.add("task.created", {"task-a", "asset-a"},
          R"({"module_ref":"m@1","status":"PENDING","inputs":{"in":"asset-b"},"outputs":{"out":"asset-a"}})");
  log.add("task.created", {"task-b", "asset-a", "asset-b"},
          R"({"module_ref":"m@1","status":"PENDING","inputs":{"in":"asset-a"},"outputs":{"out":"asset-b"}})");
  auto x = log.explain("task-a");
  BOOST_REQUIRE(x);
  check_cited(log, *x);
  BOOST_CHECK(says(*x, "Task task-b waits for input in (asset asset-a), promised by task task-a"));
  BOOST_CHECK_LT(x->chain.size(), 12u);
}

BOOST_AUTO_TEST_CASE(the_walk_over_waiting_tasks_stops_at_its_depth) {
  memory_log log;
  // task-0 waits on task-1's output, which waits on task-2's, ... task-30.
  for (int i = 30; i >= 0; --i) {
    auto id = "task-" + std::to_string(i);
    std::map<std::string, std::string> in;
    if (i < 30)
      in["in"] = "asset-" + std::to_string(i + 1);
    created(log, id, "m@1", in, {{"out", "asset-" + std::to_string(i)}});
  }
  auto x = log.explain("task-0");
  BOOST_REQUIRE(x);
  check_cited(log, *x);
  auto waits = std::count_if(x->chain.begin(), x->chain.end(), [](auto& s) {
    return s.statement.find("waits for input") != std::string::npos;
  });
  BOOST_CHECK_EQUAL(waits, static_cast<long>(halolux::max_wait_depth));
}

// -- assets -----------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(an_output_is_told_from_its_promise_to_its_holders) {
  memory_log log;
  clean_task(log, "task-p", {{"out", "asset-p"}});
  auto taken = created(log, "task-c", "m@2", {{"in", "asset-p"}}, {});
  log.add("task.ready", {"task-c", "asset-p"});
  created(log, "task-e", "m@2", {{"in", "asset-p"}}, {});
  log.commit();
  log.add("task.succeeded", {"task-e", "asset-p"}, R"({"outputs":{}})");
  auto x = log.explain("asset-p");
  BOOST_REQUIRE(x);
  check_cited(log, *x);
  BOOST_CHECK_EQUAL(x->subject_kind, "asset");
  BOOST_CHECK(says(*x, "Asset asset-p was promised as output 'out' of task task-p (module m@1)"));
  BOOST_CHECK(says(*x, "Task task-p succeeded at"));
  BOOST_CHECK(says(*x, "it is AVAILABLE (sha256 abc)"));
  BOOST_CHECK(says(*x, "Task task-c (module m@2) took it as input 'in'"));
  auto* holds = step_with(*x, "Task task-c holds it");
  BOOST_REQUIRE(holds);
  BOOST_CHECK_EQUAL(log.by_id(holds->packet_id).kind, "task.ready");
  // task-e finished: it holds it no longer.
  BOOST_CHECK(!says(*x, "Task task-e holds it"));
  BOOST_CHECK(says(*x, "Now it is AVAILABLE"));
  BOOST_CHECK(x->missing.empty());
  BOOST_CHECK_EQUAL(x->completeness, 1.0);
  (void) taken;
}

BOOST_AUTO_TEST_CASE(a_registered_asset_and_its_deletion) {
  memory_log log;
  auto reg = log.add("asset.registered", {"asset-r"},
                     R"({"kind":"VALUE","dtype":"int","operator":"dave"})", "trace-r");
  log.commit();
  log.add("asset.deleted", {"asset-r"}, R"({"operator":"dave"})", "trace-s");
  auto x = log.explain("asset-r");
  BOOST_REQUIRE(x);
  check_cited(log, *x);
  auto* s = step_with(*x, "Asset asset-r (kind VALUE, dtype int) was registered by dave");
  BOOST_REQUIRE(s);
  BOOST_CHECK_EQUAL(s->packet_id, reg);
  BOOST_CHECK(says(*x, "It was deleted by dave"));
  BOOST_CHECK(says(*x, "Now it is deleted"));
  BOOST_CHECK_EQUAL(x->completeness, 1.0);
}

BOOST_AUTO_TEST_CASE(an_output_of_a_failed_task_failed) {
  memory_log log;
  clean_task(log, "task-p", {{"out", "asset-p"}}, false);
  log.add("task.failed", {"task-p", "asset-p"}, R"({"code":"exit_code","message":"exit 1"})");
  auto x = log.explain("asset-p");
  BOOST_REQUIRE(x);
  check_cited(log, *x);
  BOOST_CHECK(says(*x, "Task task-p ended ERROR"));
  BOOST_CHECK(says(*x, "it FAILED"));
  BOOST_CHECK(says(*x, "Now it is FAILED"));
}

BOOST_AUTO_TEST_CASE(an_output_whose_producer_ended_without_saying_so_lacks_evidence) {
  memory_log log;
  created(log, "task-p", "m@1", {}, {{"out", "asset-p"}});
  // The producer's end does not name its output.
  auto end = log.add("task.failed", {"task-p"}, R"({"code":"exit_code"})");
  auto x = log.explain("asset-p");
  BOOST_REQUIRE(x);
  BOOST_REQUIRE_EQUAL(x->missing.size(), 1u);
  BOOST_CHECK(x->missing[0].find("task task-p ended (packet " + end) != std::string::npos);
  BOOST_CHECK_CLOSE(x->completeness, 0.5, 1e-9);
}

// -- traces -----------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(a_trace_is_paged_in_creation_order) {
  memory_log log;
  for (int i = 1; i <= 5; ++i)
    clean_task(log, "task-" + std::to_string(i), {}, i % 2 == 1, "trace-x");
  // Another trace between them is not part of it.
  clean_task(log, "task-other", {}, true, "trace-y");
  std::vector<std::string> seen;
  std::string cursor;
  int pages = 0;
  do {
    auto x = log.explain("trace-x", 2, cursor);
    BOOST_REQUIRE(x);
    check_cited(log, *x);
    BOOST_CHECK_EQUAL(x->subject_kind, "trace");
    for (auto& s : x->chain)
      if (auto at = s.statement.find(" was submitted"); at != std::string::npos)
        seen.push_back(s.statement.substr(5, at - 5 - std::string{" (module m@1)"}.size()));
    cursor = x->next_cursor;
    ++pages;
  } while (!cursor.empty() && pages < 10);
  BOOST_CHECK_EQUAL(pages, 3);
  std::vector<std::string> want{"task-1", "task-2", "task-3", "task-4", "task-5"};
  BOOST_CHECK_EQUAL_COLLECTIONS(seen.begin(), seen.end(), want.begin(), want.end());
}

BOOST_AUTO_TEST_CASE(a_trace_page_tells_each_task_briefly) {
  memory_log log;
  clean_task(log, "task-1", {{"out", "asset-1"}}, false, "trace-x");
  created(log, "task-2", "m@2", {{"in", "asset-1"}}, {}, "trace-x");
  auto x = log.explain("trace-x");
  BOOST_REQUIRE(x);
  check_cited(log, *x);
  BOOST_CHECK(x->narrative.starts_with("Trace trace-x: 2 tasks on this page, in the order they were created."));
  BOOST_CHECK(x->next_cursor.empty());
  BOOST_CHECK(says(*x, "Task task-1 is RUNNING"));
  BOOST_CHECK(says(*x, "Task task-2 is PENDING"));
  BOOST_CHECK(says(*x, "Task task-2 waits for input in (asset asset-1), promised by task task-1"));
  // task-2's wait sits with task-2, after task-1's statements.
  BOOST_CHECK_LT(position(*x, "Task task-1 is RUNNING"), position(*x, "Task task-2 waits"));
  // What task-1 does is told once, with task-1.
  BOOST_CHECK_EQUAL(std::count_if(x->chain.begin(), x->chain.end(),
                                  [](auto& s) {
                                    return s.statement.starts_with("Task task-1 runs attempt 1");
                                  }),
                    1);
  // task-2 has no clearance yet: the page lacks it.
  BOOST_CHECK(std::any_of(x->missing.begin(), x->missing.end(), [](auto& m) {
    return m.starts_with("task task-2: no Paradox clearance");
  }));
  BOOST_CHECK_LT(x->completeness, 1.0);
}

BOOST_AUTO_TEST_CASE(a_trace_without_tasks_lists_its_packets) {
  memory_log log;
  log.add("asset.registered", {"asset-r"}, R"({"kind":"FILE"})", "trace-r");
  auto x = log.explain("trace-r");
  BOOST_REQUIRE(x);
  check_cited(log, *x);
  BOOST_CHECK(x->narrative.starts_with("Trace trace-r: it holds no task."));
  BOOST_CHECK(says(*x, "asset.registered by zenith"));
}

BOOST_AUTO_TEST_CASE(a_cursor_of_another_trace_or_a_made_up_one_is_refused) {
  memory_log log;
  for (int i = 1; i <= 3; ++i) {
    clean_task(log, "task-x" + std::to_string(i), {}, true, "trace-x");
    clean_task(log, "task-y" + std::to_string(i), {}, true, "trace-y");
  }
  auto x = log.explain("trace-x", 1);
  BOOST_REQUIRE(x);
  BOOST_REQUIRE(!x->next_cursor.empty());
  auto other = log.explain("trace-y", 1, x->next_cursor);
  BOOST_REQUIRE(!other);
  BOOST_CHECK_EQUAL(code_of(other.error()), ec::invalid_filter);
  BOOST_CHECK_EQUAL(pointer_of(other.error()), "/cursor");
  for (auto bad : {"t", "t0.x", "tabc.123", "12", "t5.0000000000000000"}) {
    auto y = log.explain("trace-x", 1, bad);
    BOOST_REQUIRE(!y);
    BOOST_CHECK_EQUAL(code_of(y.error()), ec::invalid_filter);
  }
  auto seq = halolux::read_trace_cursor("trace-x", x->next_cursor);
  BOOST_REQUIRE(seq);
  BOOST_CHECK_EQUAL(halolux::trace_cursor("trace-x", *seq), x->next_cursor);
}

BOOST_AUTO_TEST_CASE(limits_out_of_range_are_refused) {
  memory_log log;
  clean_task(log, "task-1", {}, true, "trace-x");
  auto x = log.explain("trace-x", halolux::max_limit + 1);
  BOOST_REQUIRE(!x);
  BOOST_CHECK_EQUAL(code_of(x.error()), ec::invalid_filter);
  BOOST_CHECK_EQUAL(pointer_of(x.error()), "/limit");
  BOOST_CHECK(log.explain("trace-x", halolux::max_limit));
}

BOOST_AUTO_TEST_CASE(a_cursor_for_a_task_is_refused) {
  memory_log log;
  clean_task(log, "task-1");
  auto x = log.explain("task-1", 0, halolux::trace_cursor("task-1", 1));
  BOOST_REQUIRE(!x);
  BOOST_CHECK_EQUAL(code_of(x.error()), ec::invalid_filter);
  BOOST_CHECK_EQUAL(pointer_of(x.error()), "/cursor");
}

// -- what is not a task, an asset or a trace ----------------------------------------------

BOOST_AUTO_TEST_CASE(an_unknown_id_is_not_found) {
  memory_log log;
  clean_task(log, "task-1");
  auto x = log.explain("no-such-thing");
  BOOST_REQUIRE(!x);
  BOOST_CHECK_EQUAL(code_of(x.error()), ec::not_found);
  BOOST_CHECK(!log.explain(""));
  BOOST_CHECK(!log.explain(std::string(300, 'a')));
}

BOOST_AUTO_TEST_CASE(a_module_is_not_explained) {
  memory_log log;
  log.add("module.registered", {"m@1"}, R"({"ref":"m@1"})", "trace-m");
  auto x = log.explain("m@1");
  BOOST_REQUIRE(!x);
  BOOST_CHECK_EQUAL(code_of(x.error()), ec::not_found);
}

BOOST_AUTO_TEST_CASE(subject_kinds_and_created_tasks_are_told_from_packets) {
  packet p;
  p.kind = "task.created";
  p.subjects = {"asset-in", "asset-out", "dup:abc", "task-a"};
  p.payload = R"({"module_ref":"m@1","inputs":{"x":"asset-in"},"outputs":{"y":"asset-out"}})";
  BOOST_CHECK_EQUAL(halolux::created_task(p), "task-a");
  BOOST_CHECK_EQUAL(halolux::subject_kind("task-a", {p}), "task");
  BOOST_CHECK_EQUAL(halolux::subject_kind("asset-in", {p}), "asset");
  BOOST_CHECK_EQUAL(halolux::subject_kind("asset-out", {p}), "asset");
  BOOST_CHECK_EQUAL(halolux::subject_kind("dup:abc", {p}), "");
  packet q = p;
  q.payload = R"({"task_id":"task-b","inputs":{},"outputs":{}})";
  BOOST_CHECK_EQUAL(halolux::created_task(q), "task-b");
}
