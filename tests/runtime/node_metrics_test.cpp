#define BOOST_TEST_MODULE node_metrics
#include <boost/test/unit_test.hpp>

#include "runtime/node_metrics.hpp"

#include <string>
#include <vector>

using namespace omniva;
using omniva::contracts::committed_event;

namespace {

uint64_t next_seq = 0;

/// An event at second `s` of 2026-12-05T10:00 (`s` below 60).
committed_event at(double s, std::string kind, std::string subject,
                   std::string payload = "{}") {
  char when[40];
  std::snprintf(when, sizeof when, "2026-12-05T10:00:%06.3fZ", s);
  ++next_seq;
  return committed_event{std::move(kind), "p" + std::to_string(next_seq),
                         std::move(subject), next_seq, when,
                         std::move(payload)};
}

bool has_line(const std::string& text, const std::string& line) {
  return ("\n" + text).find("\n" + line + "\n") != std::string::npos;
}

} // namespace

BOOST_AUTO_TEST_CASE(a_task_is_timed_from_creation_through_queue_and_run) {
  runtime::node_metrics m;
  m.observe({at(0, "task.created", "t1", R"({"module_ref":"m@1","status":"READY"})")});
  BOOST_CHECK_EQUAL(m.tasks_in_memory(), 1u);
  m.observe({at(0.5, "task.dispatched", "t1", R"({"attempt":1})")});
  // The outcome's own measure wins over the packets' times.
  m.observe({at(4, "task.succeeded", "t1",
                R"({"outputs":{},"metrics":{"mode":"real","duration_ms":3000}})")});
  BOOST_CHECK_EQUAL(m.tasks_in_memory(), 0u);
  auto text = m.render();
  BOOST_CHECK(has_line(text, "# TYPE omniva_task_duration_seconds histogram"));
  BOOST_CHECK(has_line(text, "omniva_task_duration_seconds_count{module=\"m@1\",status=\"DONE\"} 1"));
  BOOST_CHECK(has_line(text, "omniva_task_duration_seconds_sum{module=\"m@1\",status=\"DONE\"} 4"));
  BOOST_CHECK(has_line(text, "omniva_task_run_seconds_sum{module=\"m@1\"} 3"));
  BOOST_CHECK(has_line(text, "omniva_task_run_seconds_count{module=\"m@1\"} 1"));
  BOOST_CHECK(has_line(text, "omniva_task_queue_wait_seconds_sum{module=\"m@1\"} 0.5"));
  BOOST_CHECK(has_line(text, "omniva_task_queue_wait_seconds_bucket{module=\"m@1\",le=\"0.5\"} 1"));
  BOOST_CHECK(has_line(text, "omniva_task_queue_wait_seconds_bucket{module=\"m@1\",le=\"0.25\"} 0"));
}

BOOST_AUTO_TEST_CASE(a_pending_task_waits_from_ready_and_a_failure_runs_until_its_packet) {
  runtime::node_metrics m;
  m.observe({at(0, "task.created", "t1", R"({"module_ref":"m@1","status":"PENDING"})"),
             at(2, "task.ready", "t1"), at(3, "task.dispatched", "t1"),
             at(5.5, "task.failed", "t1", R"({"code":"exit_code","message":"x"})")});
  auto text = m.render();
  BOOST_CHECK(has_line(text, "omniva_task_queue_wait_seconds_sum{module=\"m@1\"} 1"));
  BOOST_CHECK(has_line(text, "omniva_task_run_seconds_sum{module=\"m@1\"} 2.5"));
  BOOST_CHECK(has_line(text, "omniva_task_duration_seconds_sum{module=\"m@1\",status=\"ERROR\"} 5.5"));
  BOOST_CHECK_EQUAL(m.tasks_in_memory(), 0u);
}

BOOST_AUTO_TEST_CASE(a_lost_attempt_has_no_run_time_and_the_task_waits_again) {
  runtime::node_metrics m;
  m.observe({at(0, "task.created", "t1", R"({"module_ref":"m@1","status":"READY"})"),
             at(1, "task.dispatched", "t1"),
             at(30, "task.requeued", "t1", R"({"attempt":2})"),
             at(30, "task.ready", "t1"), at(31, "task.dispatched", "t1"),
             at(33, "task.succeeded", "t1", R"({"outputs":{}})")});
  auto text = m.render();
  BOOST_CHECK(has_line(text, "omniva_task_queue_wait_seconds_count{module=\"m@1\"} 2"));
  BOOST_CHECK(has_line(text, "omniva_task_queue_wait_seconds_sum{module=\"m@1\"} 2"));
  BOOST_CHECK(has_line(text, "omniva_task_run_seconds_count{module=\"m@1\"} 1"));
  BOOST_CHECK(has_line(text, "omniva_task_run_seconds_sum{module=\"m@1\"} 2"));
}

BOOST_AUTO_TEST_CASE(a_cancelled_task_counts_its_duration_only) {
  runtime::node_metrics m;
  m.observe({at(0, "task.created", "t1", R"({"module_ref":"m@1","status":"PENDING"})"),
             at(7, "task.cancelled", "t1", R"({"operator":"admin"})")});
  auto text = m.render();
  BOOST_CHECK(has_line(text, "omniva_task_duration_seconds_count{module=\"m@1\",status=\"CANCELLED\"} 1"));
  BOOST_CHECK_EQUAL(text.find("omniva_task_run_seconds_count"), std::string::npos);
  BOOST_CHECK_EQUAL(m.tasks_in_memory(), 0u);
}

BOOST_AUTO_TEST_CASE(tasks_created_before_the_node_started_are_not_counted) {
  runtime::node_metrics m;
  m.observe({at(1, "task.dispatched", "old"),
             at(2, "task.succeeded", "old", R"({"outputs":{}})"),
             at(3, "asset.registered", "a1", R"({"kind":"FILE"})")});
  BOOST_CHECK_EQUAL(m.tasks_in_memory(), 0u);
  auto text = m.render();
  BOOST_CHECK_EQUAL(text.find("_count"), std::string::npos);
}

BOOST_AUTO_TEST_CASE(memory_holds_only_unfinished_tasks) {
  runtime::node_metrics m;
  for (int i = 0; i < 1000; ++i) {
    auto id = "t" + std::to_string(i);
    m.observe({at(0, "task.created", id, R"({"module_ref":"m@1","status":"READY"})"),
               at(1, "task.dispatched", id)});
    if (i % 10 != 0)
      m.observe({at(2, "task.succeeded", id, R"({"outputs":{}})")});
  }
  BOOST_CHECK_EQUAL(m.tasks_in_memory(), 100u);
  BOOST_CHECK(has_line(m.render(), "omniva_task_duration_seconds_count{module=\"m@1\",status=\"DONE\"} 900"));
}
