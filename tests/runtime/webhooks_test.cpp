#define BOOST_TEST_MODULE webhooks
#include <boost/test/unit_test.hpp>

#include "contracts/json.hpp"
#include "contracts/webhook.hpp"
#include "runtime/webhooks.hpp"

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <sys/stat.h>
#include <unistd.h>

using namespace omniva;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

/// A temporary folder, removed at the end of the case.
struct temp_dir {
  temp_dir() {
    std::string pattern = (fs::temp_directory_path() / "omniva-webhooks-XXXXXX")
                            .string();
    BOOST_REQUIRE(::mkdtemp(pattern.data()) != nullptr);
    path = pattern;
  }
  ~temp_dir() {
    std::error_code ignored;
    fs::remove_all(path, ignored);
  }
  std::string path;
};

json::value parse(const std::string& text) {
  auto r = json::parse(text);
  BOOST_REQUIRE_MESSAGE(r, "not JSON: " << text);
  return *r.doc;
}

std::vector<contracts::problem> request_problems(const std::string& text) {
  std::vector<contracts::problem> problems;
  auto r = contracts::webhook_request_from_json(parse(text), problems);
  BOOST_CHECK_EQUAL(r.has_value(), problems.empty());
  return problems;
}

} // namespace

// -- the signature ------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(signature_is_hmac_sha256_in_hex) {
  // RFC 4231, test case 2.
  BOOST_CHECK_EQUAL(runtime::webhook_signature("Jefe",
                                               "what do ya want for nothing?"),
                    "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

BOOST_AUTO_TEST_CASE(signature_changes_with_the_body_and_the_secret) {
  auto a = runtime::webhook_signature("secret-one-0123456", "{\"seq\":1}");
  BOOST_CHECK_NE(a, runtime::webhook_signature("secret-one-0123456", "{\"seq\":2}"));
  BOOST_CHECK_NE(a, runtime::webhook_signature("secret-two-0123456", "{\"seq\":1}"));
  BOOST_CHECK_EQUAL(a.size(), 7u + 64u);
}

BOOST_AUTO_TEST_CASE(made_secrets_are_64_hex_digits_and_differ) {
  auto a = runtime::make_webhook_secret();
  auto b = runtime::make_webhook_secret();
  BOOST_CHECK_EQUAL(a.size(), 64u);
  BOOST_CHECK(a.find_first_not_of("0123456789abcdef") == std::string::npos);
  BOOST_CHECK_NE(a, b);
}

// -- backoff --------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(retry_delay_doubles_from_initial_up_to_max) {
  using runtime::retry_delay;
  BOOST_CHECK(retry_delay(1, 100ms, 1000ms) == 100ms);
  BOOST_CHECK(retry_delay(2, 100ms, 1000ms) == 200ms);
  BOOST_CHECK(retry_delay(3, 100ms, 1000ms) == 400ms);
  BOOST_CHECK(retry_delay(4, 100ms, 1000ms) == 800ms);
  BOOST_CHECK(retry_delay(5, 100ms, 1000ms) == 1000ms);
  BOOST_CHECK(retry_delay(4'000'000'000u, 100ms, 1000ms) == 1000ms);
}

BOOST_AUTO_TEST_CASE(retry_delay_never_overflows_nor_goes_below_initial) {
  using runtime::retry_delay;
  auto big = std::chrono::milliseconds{std::chrono::milliseconds::max().count() / 2 + 1};
  BOOST_CHECK(retry_delay(60, big, std::chrono::milliseconds::max()) >= big);
  BOOST_CHECK(retry_delay(1, 500ms, 100ms) == 500ms); // max below initial
  BOOST_CHECK(retry_delay(0, 100ms, 1000ms) == 100ms);
}

// -- the state file -------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(state_file_round_trips_and_is_private) {
  temp_dir tmp;
  auto path = runtime::webhook_state_path(tmp.path, "abc");
  runtime::delivery_state st;
  st.delivered_seq = 18'446'744'073'709'551'000ull;
  st.failures = 3;
  st.last_error = "cannot connect to http://127.0.0.1:9: Connection refused";
  st.last_status = 500;
  st.next_attempt_at = "2026-01-02T03:04:05.678Z";
  st.last_delivered_at = "2026-01-02T03:04:00.000Z";
  BOOST_REQUIRE(!runtime::write_delivery_state(path, st));
  auto back = runtime::read_delivery_state(path);
  BOOST_REQUIRE(back);
  BOOST_CHECK(*back == st);
  struct stat file {};
  BOOST_REQUIRE(::stat(path.c_str(), &file) == 0);
  BOOST_CHECK_EQUAL(file.st_mode & 0777, 0600u);
  BOOST_REQUIRE(::stat(runtime::webhook_dir(tmp.path).c_str(), &file) == 0);
  BOOST_CHECK_EQUAL(file.st_mode & 0777, 0700u);
  // No temporary file is left beside it.
  BOOST_CHECK(!fs::exists(path + ".tmp"));
}

BOOST_AUTO_TEST_CASE(state_file_rewrite_replaces_it_whole) {
  temp_dir tmp;
  auto path = runtime::webhook_state_path(tmp.path, "abc");
  runtime::delivery_state st;
  st.last_error = std::string(4000, 'x');
  BOOST_REQUIRE(!runtime::write_delivery_state(path, st));
  st.last_error.clear();
  st.delivered_seq = 7;
  BOOST_REQUIRE(!runtime::write_delivery_state(path, st));
  auto back = runtime::read_delivery_state(path);
  BOOST_REQUIRE(back);
  BOOST_CHECK_EQUAL(back->delivered_seq, 7u);
  BOOST_CHECK(back->last_error.empty());
}

BOOST_AUTO_TEST_CASE(state_file_missing_or_damaged_is_said_so) {
  temp_dir tmp;
  auto path = runtime::webhook_state_path(tmp.path, "abc");
  auto missing = runtime::read_delivery_state(path);
  BOOST_REQUIRE(!missing);
  BOOST_CHECK_EQUAL(static_cast<int>(missing.error().code()),
                    static_cast<int>(contracts::ec::not_found));
  fs::create_directories(runtime::webhook_dir(tmp.path));
  for (auto* text : {"{\"delivered_seq\":", "[]", "{\"delivered_seq\":-1}",
                     "{\"failures\":\"3\"}", "{\"last_error\":5}"}) {
    std::ofstream{path} << text;
    auto r = runtime::read_delivery_state(path);
    BOOST_REQUIRE_MESSAGE(!r, text);
    BOOST_CHECK_EQUAL(static_cast<int>(r.error().code()),
                      static_cast<int>(contracts::ec::corruption));
  }
}

BOOST_AUTO_TEST_CASE(state_json_has_nulls_for_what_is_not_there) {
  auto v = runtime::to_json(runtime::delivery_state{});
  BOOST_CHECK_EQUAL(json::serialize(v),
                    "{\"delivered_seq\":0,\"failures\":0,\"last_error\":null,"
                    "\"last_status\":null,\"next_attempt_at\":null,"
                    "\"last_delivered_at\":null}");
}

BOOST_AUTO_TEST_CASE(secret_file_is_private_and_removed_with_the_state) {
  temp_dir tmp;
  auto path = runtime::webhook_secret_path(tmp.path, "abc");
  BOOST_REQUIRE(!runtime::write_private_file(path, "s3cret-with-16-bytes\n"));
  auto secret = runtime::read_webhook_secret(tmp.path, "abc");
  BOOST_REQUIRE(secret);
  BOOST_CHECK_EQUAL(*secret, "s3cret-with-16-bytes\n");
  struct stat file {};
  BOOST_REQUIRE(::stat(path.c_str(), &file) == 0);
  BOOST_CHECK_EQUAL(file.st_mode & 0777, 0600u);
  BOOST_REQUIRE(!runtime::write_delivery_state(
    runtime::webhook_state_path(tmp.path, "abc"), {}));
  runtime::remove_webhook_files(tmp.path, "abc");
  BOOST_CHECK(!fs::exists(path));
  BOOST_CHECK(!fs::exists(runtime::webhook_state_path(tmp.path, "abc")));
  BOOST_CHECK(!runtime::read_webhook_secret(tmp.path, "abc"));
}

// -- the body --------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(body_carries_the_packet_without_its_rows_record) {
  contracts::packet p;
  p.id = std::string(64, 'a');
  p.seq = 42;
  p.kind = "task.failed";
  p.trace_id = "11111111-1111-4111-8111-111111111111";
  p.subjects = {"t1", "a1"};
  p.at = "2026-01-02T03:04:05.678Z";
  p.payload = R"({"code":"spawn_failed","_rows":{"tasks":{"t1":"x"}}})";
  auto body = parse(runtime::delivery_body("w1", p, "t1"));
  BOOST_CHECK_EQUAL(json::serialize(body),
                    "{\"webhook\":\"w1\",\"seq\":42,\"id\":\"" + p.id
                      + "\",\"kind\":\"task.failed\",\"subject\":\"t1\","
                        "\"subjects\":[\"t1\",\"a1\"],\"at\":\"" + p.at
                      + "\",\"trace_id\":\"" + p.trace_id
                      + "\",\"payload\":{\"code\":\"spawn_failed\"}}");
}

// -- what a webhook may ask for ---------------------------------------------------------

BOOST_AUTO_TEST_CASE(patterns_match_kinds_and_prefixes) {
  using contracts::event_kind_matches;
  BOOST_CHECK(event_kind_matches("task.failed", "task.failed"));
  BOOST_CHECK(!event_kind_matches("task.failed", "task.failed2"));
  BOOST_CHECK(event_kind_matches("task.*", "task.succeeded"));
  BOOST_CHECK(!event_kind_matches("task.*", "taskx.succeeded"));
  BOOST_CHECK(!event_kind_matches("task.*", "task."));
  BOOST_CHECK(!event_kind_matches("task.*", "asset.registered"));
  BOOST_CHECK(event_kind_matches("*", "webhook.created"));
  contracts::webhook_record w;
  w.events = {"task.failed", "asset.*"};
  BOOST_CHECK(contracts::webhook_wants(w, "asset.deleted"));
  BOOST_CHECK(contracts::webhook_wants(w, "task.failed"));
  BOOST_CHECK(!contracts::webhook_wants(w, "task.succeeded"));
}

BOOST_AUTO_TEST_CASE(known_patterns_are_known_kinds_and_their_nouns) {
  using contracts::is_known_event_pattern;
  for (auto kind : contracts::known_event_kinds)
    BOOST_CHECK_MESSAGE(is_known_event_pattern(kind), kind);
  BOOST_CHECK(is_known_event_pattern("task.*"));
  BOOST_CHECK(is_known_event_pattern("*"));
  BOOST_CHECK(!is_known_event_pattern("run.done"));
  BOOST_CHECK(!is_known_event_pattern("run.*"));
  BOOST_CHECK(!is_known_event_pattern("task"));
  BOOST_CHECK(!is_known_event_pattern("task.**"));
  BOOST_CHECK(!is_known_event_pattern(""));
}

BOOST_AUTO_TEST_CASE(urls_must_be_http_with_a_host) {
  using contracts::check_webhook_url;
  for (auto* good : {"http://127.0.0.1:8080/hook", "http://example.com",
                     "HTTP://example.com/a?b=c", "http://[::1]:9000/x"})
    BOOST_CHECK_MESSAGE(check_webhook_url(good).empty(), good);
  for (auto* bad : {"", "https://example.com/hook", "ftp://example.com",
                    "example.com/hook", "http:///path", "http://user:pw@host/",
                    "http://host:0/", "http://host:70000/", "http://host:8o/",
                    "http://host/a b", "http://host/#frag", "http://hóst/"}) {
    auto problems = check_webhook_url(bad);
    BOOST_REQUIRE_MESSAGE(problems.size() == 1, bad);
    BOOST_CHECK_EQUAL(problems.front().pointer, "/url");
    BOOST_CHECK(problems.front().code == contracts::ec::invalid_argument);
  }
  BOOST_CHECK(check_webhook_url("https://x/").front().message.find("https")
              != std::string::npos);
  BOOST_CHECK(!check_webhook_url("http://" + std::string(3000, 'a')).empty());
}

BOOST_AUTO_TEST_CASE(urls_split_into_base_and_target) {
  auto t = contracts::split_webhook_url("http://127.0.0.1:8080/a/b?x=1");
  BOOST_REQUIRE(t);
  BOOST_CHECK_EQUAL(t->base, "http://127.0.0.1:8080");
  BOOST_CHECK_EQUAL(t->target, "/a/b?x=1");
  t = contracts::split_webhook_url("http://example.com");
  BOOST_REQUIRE(t);
  BOOST_CHECK_EQUAL(t->target, "/");
  BOOST_CHECK(!contracts::split_webhook_url("https://example.com"));
}

BOOST_AUTO_TEST_CASE(request_reports_every_problem_with_its_pointer) {
  auto problems = request_problems(
    R"({"url":"https://x/","events":["task.failed","run.done","task.failed",7],"extra":1,"secret":"short"})");
  std::vector<std::string> got;
  for (auto& p : problems)
    got.push_back(std::string{contracts::to_string(p.code)} + " " + p.pointer);
  std::vector<std::string> want{"unknown_field /extra",
                                "invalid_argument /url",
                                "type_mismatch /events/3",
                                "invalid_argument /secret"};
  BOOST_CHECK_EQUAL_COLLECTIONS(got.begin(), got.end(), want.begin(), want.end());
  problems = request_problems(R"({"url":"http://h/","events":["task.failed","run.done","task.failed"]})");
  got.clear();
  for (auto& p : problems)
    got.push_back(std::string{contracts::to_string(p.code)} + " " + p.pointer);
  want = {"invalid_argument /events/1", "duplicate_key /events/2"};
  BOOST_CHECK_EQUAL_COLLECTIONS(got.begin(), got.end(), want.begin(), want.end());
  // The refusal of an unknown kind names the known ones.
  BOOST_CHECK(problems.front().message.find("task.succeeded") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(request_needs_url_and_at_least_one_event) {
  auto problems = request_problems("{}");
  BOOST_REQUIRE_EQUAL(problems.size(), 2u);
  BOOST_CHECK_EQUAL(problems[0].pointer, "/url");
  BOOST_CHECK(problems[0].code == contracts::ec::missing_field);
  BOOST_CHECK_EQUAL(problems[1].pointer, "/events");
  problems = request_problems(R"({"url":"http://h/","events":[]})");
  BOOST_REQUIRE_EQUAL(problems.size(), 1u);
  BOOST_CHECK(problems[0].code == contracts::ec::missing_field);
  BOOST_CHECK_EQUAL(problems[0].pointer, "/events");
  BOOST_CHECK(request_problems("[]").size() == 1);
  std::vector<contracts::problem> none;
  auto ok = contracts::webhook_request_from_json(
    parse(R"({"url":"http://h/","events":["task.*"],"secret":"0123456789abcdef"})"),
    none);
  BOOST_REQUIRE(ok);
  BOOST_CHECK_EQUAL(*ok->secret, "0123456789abcdef");
}

BOOST_AUTO_TEST_CASE(record_json_round_trips) {
  contracts::webhook_record w{"11111111-1111-4111-8111-111111111111",
                              "http://h/x", {"task.failed", "asset.*"},
                              "2026-01-02T03:04:05.678Z", "admin"};
  auto back = contracts::webhook_record_from_json(contracts::to_json(w));
  BOOST_REQUIRE(back);
  BOOST_CHECK(*back == w);
  BOOST_CHECK(contracts::check_webhook_record(w).empty());
  w.id = "not-a-uuid";
  BOOST_CHECK_EQUAL(contracts::check_webhook_record(w).front().pointer, "/id");
}
