#define BOOST_TEST_MODULE node_log
#include <boost/test/unit_test.hpp>

#include "contracts/json.hpp"
#include "contracts/node_log.hpp"
#include "runtime/node_metrics.hpp"

#include <mutex>
#include <string>
#include <vector>

using namespace omniva;
using omniva::contracts::committed_event;

namespace {

/// Collects the node log's lines while it lives; restores text and stderr.
struct captured_log {
  explicit captured_log(node_log::format f = node_log::format::text) {
    node_log::set_format(f);
    node_log::set_sink([this](std::string_view line) {
      std::lock_guard guard{mutex};
      lines.emplace_back(line);
    });
  }
  ~captured_log() {
    node_log::set_sink({});
    node_log::set_format(node_log::format::text);
  }
  std::mutex mutex;
  std::vector<std::string> lines;
};

/// Parses a JSON line, failing the test when it does not parse.
json::value parse_line(const std::string& line) {
  auto r = json::parse(line);
  BOOST_REQUIRE_MESSAGE(r, "not JSON: " << line);
  return *r.doc;
}

std::string member(const json::value& v, std::string_view key) {
  auto* x = v.find(key);
  BOOST_REQUIRE_MESSAGE(x != nullptr, "no " << key << " in "
                                            << json::serialize(v));
  return x->is_string() ? x->as_string() : json::serialize(*x);
}

committed_event event(std::string kind, std::string subject,
                      std::string payload, uint64_t seq = 1) {
  return committed_event{std::move(kind), "p" + std::to_string(seq),
                         std::move(subject), seq,
                         "2026-12-05T10:00:00.000Z", std::move(payload)};
}

} // namespace

// -- the log ---------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(a_text_line_has_time_level_event_and_fields) {
  captured_log log;
  node_log::write(node_log::level::warn, "task.failed",
                  {{"task", json::value{"t-1"}},
                   {"code", json::value{"timeout"}},
                   {"message", json::value{"ran for \"too\" long\nreally"}},
                   {"attempt", json::value{int64_t{2}}}});
  BOOST_REQUIRE_EQUAL(log.lines.size(), 1u);
  auto& line = log.lines[0];
  // "2026-12-05T21:58:00.123Z warn task.failed task=t-1 ..."
  BOOST_CHECK_EQUAL(line.size() > 25 ? line[23] : ' ', 'Z');
  BOOST_CHECK_NE(line.find(" warn task.failed task=t-1 code=timeout "
                           "message=\"ran for \\\"too\\\" long\\nreally\" "
                           "attempt=2"),
                 std::string::npos);
  BOOST_CHECK_EQUAL(line.find('\n'), std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_json_line_is_one_object_with_at_level_and_event_first) {
  captured_log log{node_log::format::json};
  node_log::write(node_log::level::error, "http.refused",
                  {{"route", json::value{"/api/tasks/{id}"}},
                   {"status", json::value{int64_t{500}}},
                   {"code", json::value{}}});
  BOOST_REQUIRE_EQUAL(log.lines.size(), 1u);
  auto v = parse_line(log.lines[0]);
  auto& members = v.as_object();
  BOOST_REQUIRE_GE(members.size(), 3u);
  BOOST_CHECK_EQUAL(members[0].first, "at");
  BOOST_CHECK_EQUAL(members[1].first, "level");
  BOOST_CHECK_EQUAL(members[2].first, "event");
  BOOST_CHECK_EQUAL(member(v, "level"), "error");
  BOOST_CHECK_EQUAL(member(v, "event"), "http.refused");
  BOOST_CHECK_EQUAL(member(v, "route"), "/api/tasks/{id}");
  BOOST_CHECK_EQUAL(member(v, "status"), "500");
  BOOST_CHECK_EQUAL(member(v, "code"), "null");
  BOOST_CHECK(contracts::parse_timestamp(member(v, "at")));
}

BOOST_AUTO_TEST_CASE(bytes_that_are_not_utf8_are_replaced_in_both_formats) {
  std::string raw = "bad \xff\xfe end \xc3\xa9 \xed\xa0\x80";
  {
    captured_log log{node_log::format::json};
    node_log::write(node_log::level::warn, "task.failed",
                    {{"message", json::value{raw}}});
    BOOST_REQUIRE_EQUAL(log.lines.size(), 1u);
    auto v = parse_line(log.lines[0]);
    BOOST_CHECK_EQUAL(member(v, "message"),
                      "bad \xEF\xBF\xBD\xEF\xBF\xBD end \xc3\xa9 "
                      "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
  }
  {
    captured_log log;
    node_log::write(node_log::level::warn, "x", {{"v", json::value{"\xff"}}});
    BOOST_REQUIRE_EQUAL(log.lines.size(), 1u);
    BOOST_CHECK_NE(log.lines[0].find("v=\xEF\xBF\xBD"), std::string::npos);
  }
  BOOST_CHECK_EQUAL(node_log::valid_utf8("ok \xe2\x82\xac"), "ok \xe2\x82\xac");
  BOOST_CHECK_EQUAL(node_log::valid_utf8("\xc0\xaf"), // overlong '/'
                    "\xEF\xBF\xBD\xEF\xBF\xBD");
  BOOST_CHECK_EQUAL(node_log::valid_utf8("\xe2\x82"), // cut short
                    "\xEF\xBF\xBD\xEF\xBF\xBD");
}

BOOST_AUTO_TEST_CASE(the_format_is_read_from_its_name) {
  BOOST_CHECK(node_log::format_from_string("text") == node_log::format::text);
  BOOST_CHECK(node_log::format_from_string("json") == node_log::format::json);
  BOOST_CHECK(!node_log::format_from_string("JSON"));
  BOOST_CHECK(!node_log::format_from_string(""));
}

// -- lines from committed events ---------------------------------------------------

BOOST_AUTO_TEST_CASE(a_failed_task_is_a_warning_with_task_code_and_message) {
  captured_log log{node_log::format::json};
  runtime::log_committed_events(
    {event("task.created", "t-1", R"({"module_ref":"m@1","status":"READY"})"),
     event("task.failed", "t-1",
           R"({"code":"exit_code","message":"the module exited with 3","transient":false,"pointer":"/values/x"})")});
  BOOST_REQUIRE_EQUAL(log.lines.size(), 1u);
  auto v = parse_line(log.lines[0]);
  BOOST_CHECK_EQUAL(member(v, "level"), "warn");
  BOOST_CHECK_EQUAL(member(v, "event"), "task.failed");
  BOOST_CHECK_EQUAL(member(v, "task"), "t-1");
  BOOST_CHECK_EQUAL(member(v, "code"), "exit_code");
  BOOST_CHECK_EQUAL(member(v, "message"), "the module exited with 3");
  BOOST_CHECK_EQUAL(member(v, "pointer"), "/values/x");
}

BOOST_AUTO_TEST_CASE(operator_actions_and_lost_attempts_are_logged) {
  captured_log log{node_log::format::json};
  runtime::log_committed_events(
    {event("task.cancelled", "t-1", R"({"operator":"ci-bot"})"),
     event("task.priority_changed", "t-2", R"({"priority":7})"),
     event("asset.deleted", "a-1", "{}"),
     event("module.registered", "m@1", R"({"ref":"m@1"})"),
     event("module.moved", "m@1", R"({"ref":"m@1","dir":"/new","from":"/old"})"),
     event("schema.registered", "s@1", R"({"ref":"s@1"})"),
     event("policy.registered", "p@1", R"({"ref":"p@1"})"),
     event("task.requeued", "t-3",
           R"({"attempt":2,"reason":"no heartbeat from its worker for 60 s"})"),
     // The data plane writes nothing.
     event("task.dispatched", "t-4", R"({"attempt":1})"),
     event("task.succeeded", "t-4", R"({"outputs":{}})"),
     event("asset.registered", "a-2", R"({"kind":"FILE"})"),
     event("webhook.created", "w-1", R"({"url":"http://h/","operator":"admin"})"),
     event("token.rotated", "token:ci-bot", R"({"operator":"admin"})"),
     event("gc.completed", "gc",
           R"({"tasks":2,"folders":1,"attempts":1,"assets":3,"blobs":1,"bytes":4096,"operator":"retention"})")});
  BOOST_REQUIRE_EQUAL(log.lines.size(), 11u);
  std::vector<json::value> v;
  for (auto& l : log.lines)
    v.push_back(parse_line(l));
  BOOST_CHECK_EQUAL(member(v[0], "event"), "operator.cancel");
  BOOST_CHECK_EQUAL(member(v[0], "task"), "t-1");
  BOOST_CHECK_EQUAL(member(v[0], "operator"), "ci-bot");
  BOOST_CHECK_EQUAL(member(v[1], "event"), "operator.priority");
  BOOST_CHECK_EQUAL(member(v[1], "priority"), "7");
  BOOST_CHECK_EQUAL(member(v[2], "event"), "operator.asset_delete");
  BOOST_CHECK_EQUAL(member(v[2], "asset"), "a-1");
  BOOST_CHECK_EQUAL(member(v[3], "event"), "operator.module_register");
  BOOST_CHECK_EQUAL(member(v[3], "module"), "m@1");
  BOOST_CHECK_EQUAL(member(v[4], "event"), "operator.module_move");
  BOOST_CHECK_EQUAL(member(v[4], "dir"), "/new");
  BOOST_CHECK_EQUAL(member(v[4], "from"), "/old");
  BOOST_CHECK_EQUAL(member(v[5], "event"), "operator.schema_register");
  BOOST_CHECK_EQUAL(member(v[6], "event"), "operator.policy_register");
  BOOST_CHECK_EQUAL(member(v[7], "event"), "task.requeued");
  BOOST_CHECK_EQUAL(member(v[7], "level"), "warn");
  BOOST_CHECK_EQUAL(member(v[7], "attempt"), "2");
  BOOST_CHECK_EQUAL(member(v[8], "event"), "operator.webhook_create");
  BOOST_CHECK_EQUAL(member(v[8], "webhook"), "w-1");
  BOOST_CHECK_EQUAL(member(v[8], "operator"), "admin");
  BOOST_CHECK_EQUAL(member(v[9], "event"), "operator.token_rotate");
  BOOST_CHECK_EQUAL(member(v[9], "token"), "ci-bot");
  BOOST_CHECK_EQUAL(member(v[10], "event"), "gc.completed");
  BOOST_CHECK_EQUAL(member(v[10], "bytes"), "4096");
  BOOST_CHECK_EQUAL(member(v[10], "operator"), "retention");
  for (auto& x : v)
    if (member(x, "event").starts_with("operator.")
        || member(x, "event") == "gc.completed")
      BOOST_CHECK_EQUAL(member(x, "level"), "info");
}

BOOST_AUTO_TEST_CASE(a_payload_that_does_not_parse_still_gives_a_line) {
  captured_log log{node_log::format::json};
  runtime::log_committed_events({event("task.failed", "t-1", "not json")});
  BOOST_REQUIRE_EQUAL(log.lines.size(), 1u);
  auto v = parse_line(log.lines[0]);
  BOOST_CHECK_EQUAL(member(v, "task"), "t-1");
  BOOST_CHECK_EQUAL(member(v, "code"), "");
}
