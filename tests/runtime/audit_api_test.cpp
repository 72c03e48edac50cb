#define BOOST_TEST_MODULE audit_api
#include <boost/test/unit_test.hpp>

// The audit routes of the HTTP API (runtime/api_audits.cpp) on a real
// server and database: `POST /api/audits` asks Zenith (a stand-in here,
// which records who asked) and answers its report; `GET /api/audits` lists
// the audits recorded in the lineage, newest first, a page at a time.

#include "contracts/audit.hpp"
#include "contracts/ids.hpp"
#include "contracts/json.hpp"
#include "contracts/registry_store.hpp"
#include "contracts/type_ids.hpp"
#include "runtime/http_client.hpp"
#include "runtime/http_server.hpp"
#include "runtime/node_api.hpp"
#include "storage/database.hpp"
#include "storage/testing/committer_door.hpp"

#include <caf/actor_cast.hpp>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>

#include <filesystem>
#include <mutex>
#include <random>
#include <string>
#include <vector>

using namespace omniva;
using contracts::audit_report;

namespace {

/// Who asked the stand-in Zenith for an audit, in order.
struct zenith_log {
  std::mutex mtx;
  std::vector<std::string> asked_by;
};

/// A stand-in for Zenith's `audit` handler: answers a report naming who
/// asked, as recorded (a packet id set).
caf::behavior auditing_zenith(caf::event_based_actor*,
                              std::shared_ptr<zenith_log> log) {
  return {
    [log](atom::audit, const std::string& by) {
      {
        std::lock_guard<std::mutex> guard{log->mtx};
        log->asked_by.push_back(by);
      }
      audit_report r;
      r.audit_id = "0f8fad5b-d9cb-469f-a165-70867728950e";
      r.started_at = "2026-12-01T10:00:00.000Z";
      r.finished_at = "2026-12-01T10:00:01.000Z";
      r.tasks_checked = 3;
      r.requested_by = by;
      r.packet_id = std::string(64, 'f');
      contracts::conflict_resolution f;
      f.check = "time_backwards";
      f.severity = "low";
      f.action = "ignore";
      f.affected = {"trace-1"};
      f.evidence = {std::string(64, '1'), std::string(64, '2')};
      f.message = "the clock went back";
      r.findings.push_back(f);
      return r;
    },
  };
}

/// A data folder with a database, an actor system with the stand-in
/// Zenith, and the node's routes on a server listening on a free port
/// (no tokens checked: every request is an admin named "anonymous").
struct fixture {
  std::filesystem::path dir;
  std::shared_ptr<storage::writable_database> db;
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  std::shared_ptr<zenith_log> log = std::make_shared<zenith_log>();
  caf::actor zenith;
  std::unique_ptr<runtime::http_server> server;
  std::unique_ptr<runtime::http_client> client;
  contracts::seeded_id_source ids{7};

  fixture() {
    std::random_device rd;
    dir = std::filesystem::temp_directory_path()
          / ("omniva-audit-api-" + std::to_string(rd()));
    std::filesystem::create_directories(dir);
    auto opened = storage::testing::committer_door::open(
      storage::database_path(dir.string()));
    BOOST_REQUIRE(opened);
    db = std::make_shared<storage::writable_database>(std::move(*opened));
    contracts::register_types(cfg);
    cfg.set("logger.console-verbosity", caf::atom("quiet"));
    sys = std::make_unique<caf::actor_system>(cfg);
    zenith = sys->spawn(auditing_zenith, log);
    runtime::http_server_config hc;
    hc.host = "127.0.0.1";
    hc.port = 0;
    server = std::make_unique<runtime::http_server>(hc);
    runtime::api_context ctx{*sys,
                             caf::actor_cast<actors::zenith_actor>(zenith),
                             actors::ledger_actor{},
                             db->read,
                             std::make_shared<runtime::event_hub>(),
                             dir.string(),
                             {},
                             actors::registry_actor{},
                             std::make_shared<contracts::registry_store>()};
    runtime::install_routes(*server, ctx);
    BOOST_REQUIRE(!server->start());
    client = std::make_unique<runtime::http_client>(
      "http://127.0.0.1:" + std::to_string(server->port()), "");
  }

  ~fixture() {
    client.reset();
    server->stop();
    server.reset();
    caf::anon_send_exit(zenith, caf::exit_reason::user_shutdown);
    zenith = nullptr;
    sys.reset();
    db.reset();
    std::error_code ignored;
    std::filesystem::remove_all(dir, ignored);
  }

  /// Records an audit as Zenith does (`advice.paradox`, subject `audits`);
  /// returns it with its packet id.
  audit_report record(const std::string& by, size_t findings = 0) {
    audit_report r;
    r.audit_id = ids.next_uuid();
    r.started_at = "2026-12-01T10:00:00.000Z";
    r.finished_at = "2026-12-01T10:00:00.100Z";
    r.packets_checked = 10;
    r.requested_by = by;
    for (size_t i = 0; i < findings; ++i) {
      contracts::conflict_resolution f;
      f.check = "hold_on_finished_task";
      f.severity = "medium";
      f.action = "ignore";
      f.affected = {ids.next_uuid(), ids.next_uuid()};
      f.message = "a hold";
      r.findings.push_back(f);
    }
    contracts::packet p;
    p.kind = "advice.paradox";
    p.actor = "paradox";
    p.trace_id = ids.next_uuid();
    p.at = r.finished_at;
    p.subjects = {std::string{audit::audits_subject}};
    p.payload = json::serialize(audit::audit_payload(r));
    storage::commit_batch b;
    b.add(std::move(p));
    auto receipt = db->write.commit(b);
    BOOST_REQUIRE(receipt);
    r.packet_id = receipt->ids.front();
    return r;
  }

  /// Commits a packet naming `audits` that is no audit's record.
  void record_other() {
    contracts::packet p;
    p.kind = "advice.paradox";
    p.actor = "paradox";
    p.trace_id = ids.next_uuid();
    p.at = "2026-12-01T10:00:00.000Z";
    p.subjects = {std::string{audit::audits_subject}};
    p.payload = R"({"advice":"clearance","items":[]})";
    storage::commit_batch b;
    b.add(std::move(p));
    BOOST_REQUIRE(db->write.commit(b));
  }

  json::value get(const std::string& path, unsigned status = 200) {
    auto r = client->request("GET", path);
    BOOST_REQUIRE_MESSAGE(r.status == status, path << ": " << r.status << " "
                                                    << r.body);
    auto doc = r.json();
    BOOST_REQUIRE(doc);
    return *doc;
  }
};

std::vector<std::string> audit_ids(const json::value& page) {
  std::vector<std::string> out;
  for (auto& item : page.find("items")->as_array())
    out.push_back(item.find("audit_id")->as_string());
  return out;
}

std::string next_cursor(const json::value& page) {
  auto* n = page.find("next_cursor");
  return n && n->is_string() ? n->as_string() : std::string{};
}

} // namespace

BOOST_FIXTURE_TEST_CASE(post_runs_an_audit_through_zenith_for_the_operator, fixture) {
  auto r = client->request("POST", "/api/audits", "");
  BOOST_REQUIRE_MESSAGE(r.status == 200u, r.body);
  auto doc = r.json();
  BOOST_REQUIRE(doc);
  BOOST_TEST(doc->find("audit_id")->as_string()
             == "0f8fad5b-d9cb-469f-a165-70867728950e");
  BOOST_TEST(doc->find("packet_id")->as_string() == std::string(64, 'f'));
  BOOST_TEST(doc->find("requested_by")->as_string() == "anonymous");
  BOOST_TEST(doc->find("tasks_checked")->as_int64().value_or(0) == 3);
  auto& findings = doc->find("findings")->as_array();
  BOOST_REQUIRE_EQUAL(findings.size(), 1u);
  BOOST_TEST(findings[0].find("check")->as_string() == "time_backwards");
  BOOST_TEST(findings[0].find("evidence")->as_array().size() == 2u);
  std::lock_guard<std::mutex> guard{log->mtx};
  BOOST_TEST(log->asked_by == std::vector<std::string>{"anonymous"});
}

BOOST_FIXTURE_TEST_CASE(post_takes_an_empty_object_and_refuses_members, fixture) {
  BOOST_TEST(client->request("POST", "/api/audits", "{}").status == 200u);
  auto r = client->request("POST", "/api/audits", R"({"check": "two_producers"})");
  BOOST_TEST(r.status == 400u);
  auto doc = r.json();
  BOOST_REQUIRE(doc);
  BOOST_TEST(doc->find("error")->find("code")->as_string() == "unknown_field");
  BOOST_TEST(doc->find("error")->find("pointer")->as_string() == "/check");
  BOOST_TEST(client->request("POST", "/api/audits", "[]").status == 400u);
  BOOST_TEST(client->request("POST", "/api/audits", "{").status == 400u);
  std::lock_guard<std::mutex> guard{log->mtx};
  BOOST_TEST(log->asked_by.size() == 1u);
}

BOOST_FIXTURE_TEST_CASE(get_lists_the_recorded_audits_newest_first, fixture) {
  BOOST_TEST(audit_ids(get("/api/audits")).empty());
  auto first = record("schedule", 2);
  record_other();
  auto second = record("alice");
  auto page = get("/api/audits");
  BOOST_TEST(audit_ids(page) == (std::vector<std::string>{second.audit_id,
                                                         first.audit_id}));
  BOOST_TEST(next_cursor(page).empty());
  auto& oldest = page.find("items")->as_array()[1];
  BOOST_TEST((oldest == contracts::to_json(first)));
  BOOST_TEST(oldest.find("packet_id")->as_string() == first.packet_id);
  BOOST_TEST(oldest.find("findings")->as_array().size() == 2u);
}

BOOST_FIXTURE_TEST_CASE(get_pages_with_limit_and_cursor, fixture) {
  std::vector<std::string> made;
  for (int i = 0; i < 5; ++i) {
    made.insert(made.begin(), record("schedule").audit_id);
    if (i == 2)
      record_other();
  }
  std::vector<std::string> seen;
  std::string cursor;
  int pages = 0;
  do {
    auto page = get("/api/audits?limit=2"
                    + (cursor.empty() ? std::string{} : "&cursor=" + cursor));
    auto ids = audit_ids(page);
    BOOST_TEST(ids.size() <= 2u);
    seen.insert(seen.end(), ids.begin(), ids.end());
    cursor = next_cursor(page);
    ++pages;
  } while (!cursor.empty() && pages < 10);
  BOOST_TEST(seen == made);
  BOOST_TEST(pages == 3);
}

BOOST_FIXTURE_TEST_CASE(get_refuses_what_it_does_not_know, fixture) {
  auto bad = get("/api/audits?cursor=abc", 400);
  BOOST_TEST(bad.find("error")->find("code")->as_string() == "invalid_filter");
  bad = get("/api/audits?status=DONE", 400);
  BOOST_TEST(bad.find("error")->find("pointer")->as_string() == "/status");
  get("/api/audits?limit=0", 400);
}
