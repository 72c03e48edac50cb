#define BOOST_TEST_MODULE http
#include <boost/test/unit_test.hpp>

#include "contracts/error_code.hpp"
#include "contracts/json.hpp"
#include "runtime/http_client.hpp"
#include "runtime/http_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

using namespace omniva;
using namespace omniva::runtime;
using namespace std::chrono_literals;
using contracts::ec;

namespace {

/// A server on 127.0.0.1 with a port picked by the system.
http_server_config local_config() {
  http_server_config cfg;
  cfg.host = "127.0.0.1";
  cfg.port = 0;
  return cfg;
}

std::string url_of(const http_server& server) {
  return "http://127.0.0.1:" + std::to_string(server.port());
}

/// Starts `server`, failing the test when it cannot listen.
void start(http_server& server) {
  auto err = server.start();
  BOOST_REQUIRE_MESSAGE(!err, "start() failed: " << to_string(err));
  BOOST_REQUIRE_NE(server.port(), 0);
}

/// Returns the member `key` of a JSON object response as a string.
std::string member(const http_result& r, const std::string& key) {
  auto doc = r.json();
  BOOST_REQUIRE_MESSAGE(doc, "not JSON: " << r.body);
  auto* x = doc->find(key);
  BOOST_REQUIRE_MESSAGE(x != nullptr, "no member " << key << " in " << r.body);
  return x->is_string() ? x->as_string() : json::serialize(*x);
}

/// Returns `error.<key>` of an HTTP API error body.
std::string error_member(const http_result& r, const std::string& key) {
  auto doc = r.json();
  BOOST_REQUIRE_MESSAGE(doc, "not JSON: " << r.body);
  auto* error = doc->find("error");
  BOOST_REQUIRE_MESSAGE(error != nullptr && error->is_object(),
                        "no error object in " << r.body);
  auto* x = error->find(key);
  BOOST_REQUIRE_MESSAGE(x != nullptr && x->is_string(),
                        "no string error." << key << " in " << r.body);
  return x->as_string();
}

/// A handler answering `{"ok": true}`.
void answer_ok(http_request, responder r) {
  r.send(json_response(200, json::object{{"ok", true}}));
}

/// A plain TCP connection for what the client cannot send: garbage, chunked
/// bodies, half requests. Every read gives up after 5 s.
class raw_connection {
public:
  explicit raw_connection(uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    BOOST_REQUIRE(fd_ >= 0);
    timeval tv{5, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    BOOST_REQUIRE(::connect(fd_, reinterpret_cast<sockaddr*>(&addr),
                            sizeof(addr))
                  == 0);
  }

  ~raw_connection() {
    close();
  }

  void close() {
    if (fd_ >= 0)
      ::close(fd_);
    fd_ = -1;
  }

  bool send(std::string_view data) {
    while (!data.empty()) {
      auto n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0)
        return false;
      data.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }

  /// One read; "" at the end of the stream, on an error or a timeout.
  std::string receive_some() {
    char buf[8192];
    auto n = ::recv(fd_, buf, sizeof(buf), 0);
    if (n <= 0)
      return {};
    return std::string(buf, static_cast<size_t>(n));
  }

  /// Reads until `data_` holds `marker` (true) or the stream ends (false).
  bool receive_until(std::string_view marker) {
    while (data_.find(marker) == std::string::npos) {
      auto chunk = receive_some();
      if (chunk.empty())
        return false;
      data_ += chunk;
    }
    return true;
  }

  /// Whether the server closes the connection within the read timeout
  /// (what it still sends is collected).
  bool closed_by_peer() {
    char buf[4096];
    for (;;) {
      auto n = ::recv(fd_, buf, sizeof(buf), 0);
      if (n == 0)
        return true;
      if (n < 0)
        return errno == ECONNRESET;
      data_.append(buf, static_cast<size_t>(n));
    }
  }

  /// Everything received so far.
  std::string& data() {
    return data_;
  }

private:
  int fd_ = -1;
  std::string data_;
};

/// A response read off a raw connection.
struct raw_response {
  unsigned status = 0;
  std::string head;
  std::string body;
};

/// Reads one Content-Length delimited response.
raw_response read_response(raw_connection& c) {
  raw_response result;
  if (!c.receive_until("\r\n\r\n"))
    return result;
  auto end = c.data().find("\r\n\r\n");
  result.head = c.data().substr(0, end + 4);
  c.data().erase(0, end + 4);
  if (result.head.size() > 12)
    result.status = static_cast<unsigned>(std::atoi(result.head.c_str() + 9));
  std::string lower = result.head;
  for (auto& ch : lower)
    ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  size_t length = 0;
  if (auto i = lower.find("content-length:"); i != std::string::npos)
    length = std::strtoull(lower.c_str() + i + 15, nullptr, 10);
  while (c.data().size() < length) {
    auto chunk = c.receive_some();
    if (chunk.empty())
      break;
    c.data() += chunk;
  }
  result.body = c.data().substr(0, length);
  c.data().erase(0, length);
  return result;
}

/// Returns the value of `error.code` in a raw response body.
std::string raw_error_code(const raw_response& r) {
  auto doc = json::parse(r.body);
  if (!doc)
    return "(not JSON: " + r.body + ")";
  auto* code = json::resolve_pointer(*doc.doc, "/error/code");
  return code != nullptr && code->is_string() ? code->as_string() : "(none)";
}

/// Waits up to `limit` for `pred`.
template <class Pred>
bool eventually(Pred pred, std::chrono::milliseconds limit = 3000ms) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred())
      return true;
    std::this_thread::sleep_for(10ms);
  }
  return pred();
}

/// A fresh, empty folder, removed with the object.
struct temp_folder {
  temp_folder() {
    std::string pattern = (std::filesystem::temp_directory_path()
                           / "omniva-http-test-XXXXXX")
                            .string();
    BOOST_REQUIRE(::mkdtemp(pattern.data()) != nullptr);
    path = pattern;
  }
  ~temp_folder() {
    std::error_code ignored;
    std::filesystem::remove_all(path, ignored);
  }
  bool empty() const {
    return std::filesystem::is_empty(path);
  }
  std::filesystem::path path;
};

std::string random_bytes(size_t n, unsigned seed) {
  std::mt19937 gen{seed};
  std::string result(n, '\0');
  for (auto& c : result)
    c = static_cast<char>(gen() & 0xff);
  return result;
}

/// Splits the events of an SSE body ("event: x\ndata: y\n\n" ...) into
/// (event, data) pairs.
std::vector<std::pair<std::string, std::string>>
parse_events(std::string_view text) {
  std::vector<std::pair<std::string, std::string>> result;
  while (true) {
    auto end = text.find("\n\n");
    if (end == std::string_view::npos)
      break;
    auto block = text.substr(0, end);
    text.remove_prefix(end + 2);
    std::pair<std::string, std::string> ev;
    while (!block.empty()) {
      auto nl = block.find('\n');
      auto line = block.substr(0, nl);
      block = nl == std::string_view::npos ? std::string_view{}
                                           : block.substr(nl + 1);
      if (line.substr(0, 7) == "event: ")
        ev.first = std::string{line.substr(7)};
      else if (line.substr(0, 6) == "data: ")
        ev.second += (ev.second.empty() ? "" : "\n")
                     + std::string{line.substr(6)};
    }
    result.push_back(std::move(ev));
  }
  return result;
}

} // namespace

// -- routing -------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(a_route_pattern_captures_its_parameters) {
  http_server server{local_config()};
  server.route("GET", "/api/tasks/{id}", [](http_request req, responder r) {
    r.send(json_response(200, json::object{{"id", req.params["id"]},
                                            {"route", "show"}}));
  });
  server.route("POST", "/api/tasks/{id}/cancel",
               [](http_request req, responder r) {
                 r.send(json_response(200, json::object{{"id", req.params["id"]},
                                                        {"route", "cancel"}}));
               });
  start(server);
  http_client client{url_of(server), ""};
  auto shown = client.request("GET", "/api/tasks/t%201");
  BOOST_REQUIRE_EQUAL(shown.status, 200u);
  BOOST_CHECK_EQUAL(member(shown, "id"), "t 1");
  BOOST_CHECK_EQUAL(member(shown, "route"), "show");
  auto cancelled = client.request("POST", "/api/tasks/42/cancel", "{}");
  BOOST_REQUIRE_EQUAL(cancelled.status, 200u);
  BOOST_CHECK_EQUAL(member(cancelled, "id"), "42");
  BOOST_CHECK_EQUAL(member(cancelled, "route"), "cancel");
}

BOOST_AUTO_TEST_CASE(a_literal_segment_wins_over_a_parameter) {
  http_server server{local_config()};
  server.route("GET", "/api/tasks/{id}", [](http_request, responder r) {
    r.send(json_response(200, json::object{{"route", "show"}}));
  });
  server.route("GET", "/api/tasks/stats", [](http_request, responder r) {
    r.send(json_response(200, json::object{{"route", "stats"}}));
  });
  start(server);
  http_client client{url_of(server), ""};
  BOOST_CHECK_EQUAL(member(client.request("GET", "/api/tasks/stats"), "route"),
                    "stats");
  BOOST_CHECK_EQUAL(member(client.request("GET", "/api/tasks/x"), "route"),
                    "show");
}

BOOST_AUTO_TEST_CASE(a_catch_all_segment_takes_the_rest_of_the_path) {
  http_server server{local_config()};
  server.route("GET", "/web/{file*}", [](http_request req, responder r) {
    r.send(json_response(200, json::object{{"file", req.params["file"]}}));
  });
  start(server);
  http_client client{url_of(server), ""};
  BOOST_CHECK_EQUAL(member(client.request("GET", "/web/css/app.css"), "file"),
                    "css/app.css");
  BOOST_CHECK_EQUAL(client.request("GET", "/web").status, 404u);
}

BOOST_AUTO_TEST_CASE(query_parameters_are_decoded) {
  http_server server{local_config()};
  server.route("GET", "/api/q", [](http_request req, responder r) {
    json::object members;
    for (auto& [k, v] : req.query)
      members.emplace_back(k, json::value{v});
    members.emplace_back("path", json::value{req.path});
    r.send(json_response(200, json::value{std::move(members)}));
  });
  start(server);
  http_client client{url_of(server), ""};
  auto res = client.request("GET", "/api/q?a=1&b=x+y%21&flag&c="
                                     + url_encode("a&b=c/d"));
  BOOST_REQUIRE_EQUAL(res.status, 200u);
  BOOST_CHECK_EQUAL(member(res, "a"), "1");
  BOOST_CHECK_EQUAL(member(res, "b"), "x y!");
  BOOST_CHECK_EQUAL(member(res, "flag"), "");
  BOOST_CHECK_EQUAL(member(res, "c"), "a&b=c/d");
  BOOST_CHECK_EQUAL(member(res, "path"), "/api/q");
}

BOOST_AUTO_TEST_CASE(an_unknown_path_is_a_404_json_error) {
  http_server server{local_config()};
  server.route("GET", "/api/tasks", answer_ok);
  start(server);
  http_client client{url_of(server), ""};
  auto res = client.request("GET", "/api/nothing/here");
  BOOST_CHECK_EQUAL(res.status, 404u);
  BOOST_CHECK_EQUAL(res.content_type, "application/json");
  BOOST_CHECK_EQUAL(error_member(res, "code"), "not_found");
  BOOST_CHECK_NE(error_member(res, "message"), "");
  BOOST_CHECK_EQUAL(error_member(res, "pointer"), "");
}

BOOST_AUTO_TEST_CASE(a_known_path_with_another_method_is_a_405) {
  http_server server{local_config()};
  server.route("GET", "/api/tasks/{id}", answer_ok);
  server.route("PUT", "/api/tasks/{id}", answer_ok);
  start(server);
  http_client client{url_of(server), ""};
  auto res = client.request("DELETE", "/api/tasks/1");
  BOOST_CHECK_EQUAL(res.status, 405u);
  BOOST_CHECK_EQUAL(error_member(res, "code"), "invalid_argument");
  BOOST_CHECK_EQUAL(res.headers["allow"], "GET, PUT");
}

BOOST_AUTO_TEST_CASE(a_malformed_percent_escape_in_the_path_is_a_400) {
  http_server server{local_config()};
  server.route("GET", "/api/tasks/{id}", answer_ok);
  start(server);
  http_client client{url_of(server), ""};
  auto res = client.request("GET", "/api/tasks/%zz");
  BOOST_CHECK_EQUAL(res.status, 400u);
  BOOST_CHECK_EQUAL(error_member(res, "code"), "invalid_argument");
}

// -- responses -----------------------------------------------------------------

BOOST_AUTO_TEST_CASE(an_error_response_carries_code_message_and_pointer) {
  auto res = error_response(422, ec::missing_input, "Input x is required.",
                            "/input_mapping/x");
  BOOST_CHECK_EQUAL(res.status, 422u);
  BOOST_CHECK_EQUAL(res.content_type, "application/json");
  auto doc = json::parse(res.body);
  BOOST_REQUIRE(doc);
  auto expected = json::parse(R"({"error":{"code":"missing_input",)"
                              R"("message":"Input x is required.",)"
                              R"("pointer":"/input_mapping/x"}})");
  BOOST_CHECK(*doc.doc == *expected.doc);
}

BOOST_AUTO_TEST_CASE(handler_headers_and_content_type_reach_the_client) {
  http_server server{local_config()};
  server.route("GET", "/metrics", [](http_request, responder r) {
    http_response res;
    res.content_type = "text/plain; version=0.0.4";
    res.body = "omniva_up 1\n";
    res.headers.emplace_back("X-Omniva", "yes");
    res.headers.emplace_back("X-Bad", "a\r\nInjected: 1");
    r.send(std::move(res));
  });
  start(server);
  http_client client{url_of(server), ""};
  auto res = client.request("GET", "/metrics");
  BOOST_CHECK_EQUAL(res.status, 200u);
  BOOST_CHECK_EQUAL(res.content_type, "text/plain; version=0.0.4");
  BOOST_CHECK_EQUAL(res.body, "omniva_up 1\n");
  BOOST_CHECK_EQUAL(res.headers["x-omniva"], "yes");
  BOOST_CHECK_EQUAL(res.headers.count("x-bad"), 0u);
  BOOST_CHECK_EQUAL(res.headers.count("injected"), 0u);
}

BOOST_AUTO_TEST_CASE(a_second_answer_is_ignored) {
  http_server server{local_config()};
  server.route("GET", "/twice", [](http_request, responder r) {
    r.send(json_response(200, json::object{{"n", 1}}));
    r.send(json_response(200, json::object{{"n", 2}}));
  });
  start(server);
  http_client client{url_of(server), ""};
  BOOST_CHECK_EQUAL(member(client.request("GET", "/twice"), "n"), "1");
  // The connection is in a clean state for the next request.
  BOOST_CHECK_EQUAL(member(client.request("GET", "/twice"), "n"), "1");
  BOOST_CHECK_EQUAL(client.connections_opened(), 1u);
}

BOOST_AUTO_TEST_CASE(a_handler_that_drops_its_responder_yields_a_500) {
  http_server server{local_config()};
  server.route("GET", "/forgetful", [](http_request, responder) {});
  start(server);
  http_client client{url_of(server), ""};
  auto res = client.request("GET", "/forgetful");
  BOOST_CHECK_EQUAL(res.status, 500u);
  BOOST_CHECK_NE(error_member(res, "message"), "");
}

BOOST_AUTO_TEST_CASE(a_throwing_handler_yields_a_500) {
  http_server server{local_config()};
  server.route("GET", "/throws", [](http_request, responder) {
    throw std::runtime_error("boom");
  });
  start(server);
  http_client client{url_of(server), ""};
  auto res = client.request("GET", "/throws");
  BOOST_CHECK_EQUAL(res.status, 500u);
  BOOST_CHECK_NE(error_member(res, "message").find("boom"), std::string::npos);
  BOOST_CHECK_EQUAL(client.request("GET", "/throws").status, 500u);
}

// -- auth ----------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(a_request_without_the_token_is_a_401) {
  http_server server{local_config()};
  server.set_token("s3cret-token");
  server.route("GET", "/api/tasks", answer_ok);
  start(server);
  http_client client{url_of(server), ""};
  auto res = client.request("GET", "/api/tasks");
  BOOST_CHECK_EQUAL(res.status, 401u);
  BOOST_CHECK_EQUAL(error_member(res, "code"), "unauthorized");
  BOOST_CHECK_EQUAL(res.headers["www-authenticate"], "Bearer");
}

BOOST_AUTO_TEST_CASE(a_request_with_a_wrong_token_is_a_401) {
  http_server server{local_config()};
  server.set_token("s3cret-token");
  server.route("GET", "/api/tasks", answer_ok);
  start(server);
  for (auto wrong : {"s3cret-tokem", "s3cret-token-longer", "s3cret", "x"}) {
    http_client client{url_of(server), wrong};
    auto res = client.request("GET", "/api/tasks");
    BOOST_CHECK_MESSAGE(res.status == 401u, wrong << ": " << res.status);
    BOOST_CHECK_EQUAL(error_member(res, "code"), "unauthorized");
  }
  raw_connection raw{server.port()};
  raw.send("GET /api/tasks HTTP/1.1\r\nHost: x\r\n"
           "Authorization: Basic s3cret-token\r\n\r\n");
  BOOST_CHECK_EQUAL(read_response(raw).status, 401u);
}

BOOST_AUTO_TEST_CASE(a_request_with_the_token_is_served) {
  http_server server{local_config()};
  server.set_token("s3cret-token");
  server.route("GET", "/api/tasks", answer_ok);
  start(server);
  http_client client{url_of(server), "s3cret-token"};
  auto res = client.request("GET", "/api/tasks");
  BOOST_CHECK_EQUAL(res.status, 200u);
  BOOST_CHECK(res.ok());
  BOOST_CHECK_EQUAL(res.reason(), "");
}

BOOST_AUTO_TEST_CASE(a_public_route_needs_no_token) {
  http_server server{local_config()};
  server.set_token("s3cret-token");
  server.route_public("GET", "/health", answer_ok);
  server.route("GET", "/api/tasks", answer_ok);
  start(server);
  http_client client{url_of(server), ""};
  BOOST_CHECK_EQUAL(client.request("GET", "/health").status, 200u);
  BOOST_CHECK_EQUAL(client.request("GET", "/api/tasks").status, 401u);
}

// -- connections ---------------------------------------------------------------

BOOST_AUTO_TEST_CASE(the_client_keeps_one_connection_alive) {
  http_server server{local_config()};
  server.route("POST", "/echo", [](http_request req, responder r) {
    r.send(json_response(200, json::object{{"remote", req.remote},
                                           {"body", req.body}}));
  });
  start(server);
  http_client client{url_of(server), ""};
  std::string first_remote;
  for (int i = 0; i < 5; ++i) {
    auto body = "{\"i\":" + std::to_string(i) + "}";
    auto res = client.request("POST", "/echo", body);
    BOOST_REQUIRE_EQUAL(res.status, 200u);
    BOOST_CHECK_EQUAL(member(res, "body"), body);
    if (i == 0)
      first_remote = member(res, "remote");
    BOOST_CHECK_EQUAL(member(res, "remote"), first_remote);
  }
  BOOST_CHECK_EQUAL(client.connections_opened(), 1u);
}

BOOST_AUTO_TEST_CASE(a_responder_may_answer_later_from_another_thread) {
  std::mutex mutex;
  std::vector<std::thread> workers;
  http_server server{local_config()};
  server.route("GET", "/slow", [&](http_request, responder r) {
    std::lock_guard guard{mutex};
    workers.emplace_back([r]() mutable {
      std::this_thread::sleep_for(200ms);
      r.send(json_response(200, json::object{{"late", true}}));
    });
  });
  start(server);
  http_client client{url_of(server), ""};
  for (int i = 0; i < 2; ++i) {
    auto before = std::chrono::steady_clock::now();
    auto res = client.request("GET", "/slow");
    auto elapsed = std::chrono::steady_clock::now() - before;
    BOOST_CHECK_EQUAL(res.status, 200u);
    BOOST_CHECK_EQUAL(member(res, "late"), "true");
    BOOST_CHECK(elapsed >= 200ms);
  }
  BOOST_CHECK_EQUAL(client.connections_opened(), 1u);
  server.stop();
  for (auto& t : workers)
    t.join();
}

BOOST_AUTO_TEST_CASE(an_idle_connection_is_closed) {
  auto cfg = local_config();
  cfg.idle_timeout = 300ms;
  http_server server{cfg};
  server.route("GET", "/x", answer_ok);
  start(server);
  raw_connection raw{server.port()};
  auto before = std::chrono::steady_clock::now();
  BOOST_CHECK(raw.closed_by_peer());
  BOOST_CHECK(std::chrono::steady_clock::now() - before < 3s);
  // The client notices the closed connection and reconnects once.
  http_client client{url_of(server), ""};
  BOOST_CHECK_EQUAL(client.request("GET", "/x").status, 200u);
  std::this_thread::sleep_for(600ms);
  BOOST_CHECK_EQUAL(client.request("GET", "/x").status, 200u);
  BOOST_CHECK_EQUAL(client.connections_opened(), 2u);
}

BOOST_AUTO_TEST_CASE(many_clients_at_once) {
  std::atomic<int> handled = 0;
  http_server server{local_config()};
  server.route("POST", "/api/count/{n}", [&](http_request req, responder r) {
    ++handled;
    r.send(json_response(200, json::object{{"n", req.params["n"]},
                                           {"body", req.body}}));
  });
  start(server);
  constexpr int threads = 50;
  constexpr int requests = 20;
  std::atomic<int> good = 0;
  std::vector<std::thread> clients;
  for (int t = 0; t < threads; ++t)
    clients.emplace_back([&, t] {
      http_client client{url_of(server), ""};
      for (int i = 0; i < requests; ++i) {
        auto n = std::to_string(t * requests + i);
        auto res = client.request("POST", "/api/count/" + n, "[" + n + "]");
        auto doc = res.json();
        if (res.status == 200 && doc && doc->find("n") != nullptr
            && doc->find("n")->as_string() == n
            && doc->find("body")->as_string() == "[" + n + "]")
          ++good;
      }
    });
  for (auto& c : clients)
    c.join();
  BOOST_CHECK_EQUAL(good.load(), threads * requests);
  BOOST_CHECK_EQUAL(handled.load(), threads * requests);
}

// -- limits and malformed requests -----------------------------------------------

BOOST_AUTO_TEST_CASE(a_body_over_the_limit_is_a_413) {
  http_server server{local_config()};
  server.route("POST", "/api/echo", [](http_request req, responder r) {
    r.send(json_response(200, json::object{
                                {"size", static_cast<int64_t>(req.body.size())}}));
  });
  start(server);
  http_client client{url_of(server), ""};
  auto res = client.request("POST", "/api/echo",
                            std::string(2 * default_body_limit, 'x'));
  BOOST_CHECK_EQUAL(res.status, 413u);
  BOOST_CHECK_EQUAL(error_member(res, "code"), "too_large");
  // At the limit is fine, and the client recovers from the closed connection.
  auto fits = client.request("POST", "/api/echo",
                             std::string(default_body_limit, 'x'));
  BOOST_CHECK_EQUAL(fits.status, 200u);
  BOOST_CHECK_EQUAL(member(fits, "size"), std::to_string(default_body_limit));
}

BOOST_AUTO_TEST_CASE(an_announced_length_over_the_limit_is_refused_at_once) {
  http_server server{local_config()};
  server.route("POST", "/api/echo", answer_ok);
  start(server);
  raw_connection raw{server.port()};
  raw.send("POST /api/echo HTTP/1.1\r\nHost: x\r\n"
           "Content-Length: 1000000000\r\n\r\n");
  auto res = read_response(raw);
  BOOST_CHECK_EQUAL(res.status, 413u);
  BOOST_CHECK_EQUAL(raw_error_code(res), "too_large");
}

BOOST_AUTO_TEST_CASE(a_chunked_body_over_the_limit_is_a_413) {
  http_server server{local_config()};
  route_options small;
  small.max_body = 100;
  server.route("POST", "/api/small", answer_ok, small);
  start(server);
  raw_connection raw{server.port()};
  std::string chunk(80, 'a');
  raw.send("POST /api/small HTTP/1.1\r\nHost: x\r\n"
           "Transfer-Encoding: chunked\r\n\r\n"
           "50\r\n" + chunk + "\r\n50\r\n" + chunk + "\r\n0\r\n\r\n");
  auto res = read_response(raw);
  BOOST_CHECK_EQUAL(res.status, 413u);
  BOOST_CHECK_EQUAL(raw_error_code(res), "too_large");
}

BOOST_AUTO_TEST_CASE(a_chunked_body_within_the_limit_is_served) {
  http_server server{local_config()};
  server.route("POST", "/api/echo", [](http_request req, responder r) {
    r.send(json_response(200, json::object{{"body", req.body}}));
  });
  start(server);
  raw_connection raw{server.port()};
  raw.send("POST /api/echo HTTP/1.1\r\nHost: x\r\n"
           "Transfer-Encoding: chunked\r\n\r\n"
           "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n");
  auto res = read_response(raw);
  BOOST_CHECK_EQUAL(res.status, 200u);
  BOOST_CHECK_EQUAL(res.body, R"({"body":"abcde"})");
}

BOOST_AUTO_TEST_CASE(garbage_is_a_400_and_the_server_goes_on) {
  http_server server{local_config()};
  server.route("GET", "/x", answer_ok);
  start(server);
  for (std::string_view garbage :
       {std::string_view{"\x01\x02\x03 garbage\r\n\r\n"},
        std::string_view{"GET /x HTTP/1.1\r\nBad Header Line\r\n\r\n"},
        std::string_view{"GET /x HTTP/1.1\r\nContent-Length: abc\r\n\r\n"},
        std::string_view{"GET x HTTP/1.1\r\nHost: a\r\n\r\n"}}) {
    raw_connection raw{server.port()};
    raw.send(garbage);
    auto res = read_response(raw);
    BOOST_CHECK_MESSAGE(res.status == 400u,
                        "status " << res.status << " for " << garbage);
    BOOST_CHECK_EQUAL(raw_error_code(res), "invalid_argument");
  }
  {
    // A client that leaves halfway through a request.
    raw_connection raw{server.port()};
    raw.send("POST /x HTTP/1.1\r\nContent-Length: 100\r\n\r\nabc");
  }
  http_client client{url_of(server), ""};
  BOOST_CHECK_EQUAL(client.request("GET", "/x").status, 200u);
}

BOOST_AUTO_TEST_CASE(expect_100_continue_is_answered_before_the_body) {
  http_server server{local_config()};
  server.route("POST", "/api/echo", [](http_request req, responder r) {
    r.send(json_response(200, json::object{{"body", req.body}}));
  });
  start(server);
  raw_connection raw{server.port()};
  raw.send("POST /api/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
           "Expect: 100-continue\r\n\r\n");
  BOOST_REQUIRE(raw.receive_until("\r\n\r\n"));
  BOOST_CHECK_EQUAL(raw.data().substr(0, 12), "HTTP/1.1 100");
  raw.data().clear();
  raw.send("hello");
  auto res = read_response(raw);
  BOOST_CHECK_EQUAL(res.status, 200u);
  BOOST_CHECK_EQUAL(res.body, R"({"body":"hello"})");
  // Too large: the final answer comes at once, without a 100.
  raw.send("POST /api/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5000000\r\n"
           "Expect: 100-continue\r\n\r\n");
  BOOST_CHECK_EQUAL(read_response(raw).status, 413u);
}

BOOST_AUTO_TEST_CASE(pipelined_requests_are_answered_in_order) {
  http_server server{local_config()};
  server.route("GET", "/api/n/{n}", [](http_request req, responder r) {
    r.send(json_response(200, json::object{{"n", req.params["n"]}}));
  });
  start(server);
  raw_connection raw{server.port()};
  raw.send("GET /api/n/1 HTTP/1.1\r\nHost: x\r\n\r\n"
           "GET /api/n/2 HTTP/1.1\r\nHost: x\r\n\r\n"
           "GET /api/n/3 HTTP/1.0\r\n\r\n");
  BOOST_CHECK_EQUAL(read_response(raw).body, R"({"n":"1"})");
  BOOST_CHECK_EQUAL(read_response(raw).body, R"({"n":"2"})");
  auto last = read_response(raw);
  BOOST_CHECK_EQUAL(last.head.substr(0, 12), "HTTP/1.0 200");
  BOOST_CHECK_EQUAL(last.body, R"({"n":"3"})");
  // HTTP/1.0 without keep-alive: the server closes after the answer.
  BOOST_CHECK(raw.closed_by_peer());
}

BOOST_AUTO_TEST_CASE(a_request_head_over_the_limit_is_a_431) {
  auto cfg = local_config();
  cfg.max_header_bytes = 1024;
  http_server server{cfg};
  server.route("GET", "/x", answer_ok);
  start(server);
  raw_connection raw{server.port()};
  raw.send("GET /x HTTP/1.1\r\nHost: a\r\nX-Big: " + std::string(4096, 'b')
           + "\r\n\r\n");
  auto res = read_response(raw);
  BOOST_CHECK_EQUAL(res.status, 431u);
  BOOST_CHECK_EQUAL(raw_error_code(res), "too_large");
}

// -- uploads -------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(an_upload_is_streamed_to_a_temporary_file) {
  temp_folder uploads;
  temp_folder sources;
  auto cfg = local_config();
  cfg.upload_dir = uploads.path.string();
  auto content = random_bytes(3 * 1024 * 1024 + 17, 7);
  auto source = (sources.path / "input.bin").string();
  std::ofstream{source, std::ios::binary} << content;
  std::string seen_path;
  http_server server{cfg};
  server.set_token("t");
  server.route_upload(
    "POST", "/api/assets",
    [&](http_request req, responder r) {
      seen_path = req.body_file;
      std::ifstream in{req.body_file, std::ios::binary};
      std::string stored{std::istreambuf_iterator<char>{in}, {}};
      r.send(json_response(
        200, json::object{{"size", static_cast<int64_t>(stored.size())},
                          {"same", stored == content},
                          {"in_memory", static_cast<int64_t>(req.body.size())},
                          {"name", req.query["name"]}}));
    },
    64 * 1024 * 1024);
  start(server);
  http_client client{url_of(server), "t"};
  auto res = client.upload_file("/api/assets", source,
                                {{"name", "input file.bin"}});
  BOOST_REQUIRE_EQUAL(res.status, 200u);
  BOOST_CHECK_EQUAL(member(res, "size"), std::to_string(content.size()));
  BOOST_CHECK_EQUAL(member(res, "same"), "true");
  BOOST_CHECK_EQUAL(member(res, "in_memory"), "0");
  BOOST_CHECK_EQUAL(member(res, "name"), "input file.bin");
  BOOST_CHECK(!seen_path.empty());
  BOOST_CHECK_EQUAL(std::filesystem::path{seen_path}.parent_path(),
                    uploads.path);
  // Once answered, the temporary file is gone.
  BOOST_CHECK(eventually([&] { return uploads.empty(); }));
}

BOOST_AUTO_TEST_CASE(an_upload_over_its_limit_is_a_413_and_leaves_no_file) {
  temp_folder uploads;
  temp_folder sources;
  auto cfg = local_config();
  cfg.upload_dir = uploads.path.string();
  auto source = (sources.path / "big.bin").string();
  std::ofstream{source, std::ios::binary} << random_bytes(5000, 3);
  http_server server{cfg};
  server.route_upload("POST", "/api/assets", answer_ok, 1000);
  start(server);
  http_client client{url_of(server), ""};
  auto res = client.upload_file("/api/assets", source);
  BOOST_CHECK_EQUAL(res.status, 413u);
  BOOST_CHECK_EQUAL(error_member(res, "code"), "too_large");
  // Chunked, so that the limit is only noticed while writing the file.
  raw_connection raw{server.port()};
  std::string chunk(800, 'z');
  raw.send("POST /api/assets HTTP/1.1\r\nHost: x\r\n"
           "Transfer-Encoding: chunked\r\n\r\n"
           "320\r\n" + chunk + "\r\n320\r\n" + chunk + "\r\n0\r\n\r\n");
  BOOST_CHECK_EQUAL(read_response(raw).status, 413u);
  BOOST_CHECK(eventually([&] { return uploads.empty(); }));
}

BOOST_AUTO_TEST_CASE(an_unreadable_upload_source_is_an_error_result) {
  http_client client{"http://127.0.0.1:1", ""};
  auto res = client.upload_file("/api/assets", "/no/such/file.bin");
  BOOST_CHECK_EQUAL(res.status, 0u);
  BOOST_CHECK_NE(res.error.find("/no/such/file.bin"), std::string::npos);
}

// -- event streams -------------------------------------------------------------

namespace {

/// A server with one event-stream route; the test gets each stream through
/// `streams`.
struct stream_fixture {
  explicit stream_fixture(http_server_config cfg = local_config())
    : server(std::move(cfg)) {
    server.set_token("t");
    server.route("GET", "/api/events", [this](http_request, responder r) {
      auto s = r.start_stream();
      std::lock_guard guard{mutex};
      streams.push_back(std::move(s));
    });
    start(server);
  }

  std::shared_ptr<event_stream> wait_for_stream() {
    std::shared_ptr<event_stream> result;
    eventually([&] {
      std::lock_guard guard{mutex};
      if (!streams.empty())
        result = streams.back();
      return result != nullptr;
    });
    BOOST_REQUIRE(result);
    return result;
  }

  std::mutex mutex;
  std::vector<std::shared_ptr<event_stream>> streams;
  http_server server;
};

const std::string_view events_request = "GET /api/events HTTP/1.1\r\n"
                                        "Host: x\r\nAuthorization: Bearer t\r\n"
                                        "Accept: text/event-stream\r\n\r\n";

} // namespace

BOOST_AUTO_TEST_CASE(an_event_stream_delivers_events_in_order) {
  stream_fixture f;
  raw_connection raw{f.server.port()};
  raw.send(events_request);
  auto stream = f.wait_for_stream();
  stream->send("task.created", R"({"n":1})");
  stream->send("task.running", "line one\nline two");
  stream->send("task.succeeded", R"({"n":3})");
  BOOST_REQUIRE(raw.receive_until("\r\n\r\n"));
  auto head_end = raw.data().find("\r\n\r\n") + 4;
  auto head = raw.data().substr(0, head_end);
  BOOST_CHECK_EQUAL(head.substr(0, 15), "HTTP/1.1 200 OK");
  BOOST_CHECK_NE(head.find("Content-Type: text/event-stream"),
                 std::string::npos);
  BOOST_CHECK_EQUAL(head.find("Content-Length"), std::string::npos);
  while (parse_events(std::string_view{raw.data()}.substr(head_end)).size()
         < 3) {
    auto chunk = raw.receive_some();
    BOOST_REQUIRE_MESSAGE(!chunk.empty(), "stream ended: " << raw.data());
    raw.data() += chunk;
  }
  auto events = parse_events(std::string_view{raw.data()}.substr(head_end));
  BOOST_REQUIRE_EQUAL(events.size(), 3u);
  BOOST_CHECK_EQUAL(events[0].first, "task.created");
  BOOST_CHECK_EQUAL(events[0].second, R"({"n":1})");
  BOOST_CHECK_EQUAL(events[1].first, "task.running");
  BOOST_CHECK_EQUAL(events[1].second, "line one\nline two");
  BOOST_CHECK_EQUAL(events[2].first, "task.succeeded");
  BOOST_CHECK_EQUAL(events[2].second, R"({"n":3})");
  BOOST_CHECK(!stream->closed());
}

BOOST_AUTO_TEST_CASE(the_server_notices_when_a_stream_client_leaves) {
  stream_fixture f;
  auto raw = std::make_unique<raw_connection>(f.server.port());
  raw->send(events_request);
  auto stream = f.wait_for_stream();
  stream->send("hello", "1");
  BOOST_REQUIRE(raw->receive_until("data: 1\n\n"));
  BOOST_CHECK(!stream->closed());
  raw.reset();
  BOOST_CHECK(eventually([&] { return stream->closed(); }));
  // Sending to a closed stream is harmless.
  stream->send("hello", "2");
  stream->close();
  BOOST_CHECK(stream->closed());
}

BOOST_AUTO_TEST_CASE(an_event_stream_is_exempt_from_the_idle_timeout) {
  auto cfg = local_config();
  cfg.idle_timeout = 200ms;
  stream_fixture f{cfg};
  raw_connection raw{f.server.port()};
  raw.send(events_request);
  auto stream = f.wait_for_stream();
  std::this_thread::sleep_for(700ms);
  BOOST_CHECK(!stream->closed());
  stream->send("late", "still here");
  BOOST_CHECK(raw.receive_until("data: still here\n\n"));
}

BOOST_AUTO_TEST_CASE(closing_an_event_stream_ends_the_connection) {
  stream_fixture f;
  raw_connection raw{f.server.port()};
  raw.send(events_request);
  auto stream = f.wait_for_stream();
  stream->send("last", "bye");
  stream->close();
  BOOST_CHECK(raw.closed_by_peer());
  BOOST_CHECK_NE(raw.data().find("data: bye\n\n"), std::string::npos);
  BOOST_CHECK(eventually([&] { return stream->closed(); }));
}

BOOST_AUTO_TEST_CASE(a_stream_after_an_answer_is_closed) {
  std::shared_ptr<event_stream> late;
  http_server server{local_config()};
  server.route("GET", "/x", [&](http_request, responder r) {
    r.send(json_response(200, json::object{{"ok", true}}));
    late = r.start_stream();
  });
  start(server);
  http_client client{url_of(server), ""};
  BOOST_CHECK_EQUAL(client.request("GET", "/x").status, 200u);
  BOOST_REQUIRE(late);
  BOOST_CHECK(late->closed());
}

BOOST_AUTO_TEST_CASE(an_event_with_an_id_carries_an_id_line_first) {
  stream_fixture f;
  raw_connection raw{f.server.port()};
  raw.send(events_request);
  auto stream = f.wait_for_stream();
  stream->send("task.created", R"({"n":1})", 41);
  stream->send("plain", "no id");
  BOOST_REQUIRE(raw.receive_until("data: no id\n\n"));
  BOOST_CHECK_NE(raw.data().find("\r\n\r\nid: 41\nevent: task.created\n"
                                 "data: {\"n\":1}\n\nevent: plain\n"),
                 std::string::npos);
}

namespace {

/// The `id:` values of an SSE body, in order.
std::vector<uint64_t> event_ids(std::string_view text) {
  std::vector<uint64_t> ids;
  for (size_t at = text.find("id: "); at != std::string_view::npos;
       at = text.find("id: ", at + 1))
    if (at == 0 || text[at - 1] == '\n')
      ids.push_back(std::strtoull(text.data() + at + 4, nullptr, 10));
  return ids;
}

} // namespace

BOOST_AUTO_TEST_CASE(a_held_stream_replays_then_releases_without_gap_or_duplicate) {
  stream_fixture f;
  raw_connection raw{f.server.port()};
  raw.send(events_request);
  auto stream = f.wait_for_stream();
  stream->hold();
  // Live events 5..7 arrive while 1..5 are replayed: 5 twice.
  stream->send("live", "5", 5);
  stream->send("live", "6", 6);
  for (uint64_t id = 1; id <= 5; ++id)
    stream->replay("past", std::to_string(id), id);
  stream->send("live", "7", 7);
  BOOST_REQUIRE(stream->release(5));
  stream->send("live", "4", 4); // older than the replay: dropped
  stream->send("live", "8", 8);
  BOOST_REQUIRE(raw.receive_until("data: 8\n\n"));
  BOOST_CHECK((event_ids(raw.data())
               == std::vector<uint64_t>{1, 2, 3, 4, 5, 6, 7, 8}));
  // Not holding: release is a no-op.
  BOOST_CHECK(stream->release(100));
}

BOOST_AUTO_TEST_CASE(a_held_stream_that_discarded_events_asks_for_more_replay) {
  stream_fixture f;
  raw_connection raw{f.server.port()};
  raw.send(events_request);
  auto stream = f.wait_for_stream();
  stream->hold();
  // More than 4 MiB kept back: the kept events are discarded.
  std::string big(64 * 1024, 'x');
  uint64_t id = 0;
  while (++id <= 80)
    stream->send("live", big, id);
  stream->send("live", "81", 81);
  // The replay reached 10 only: 11..80 are lost unless replayed too.
  BOOST_CHECK(!stream->release(10));
  BOOST_CHECK(stream->release(80));
  BOOST_REQUIRE(raw.receive_until("data: 81\n\n"));
  auto ids = event_ids(raw.data());
  BOOST_REQUIRE(!ids.empty());
  BOOST_CHECK_EQUAL(ids.front(), 81u);
  BOOST_CHECK_EQUAL(ids.size(), 1u);
}

BOOST_AUTO_TEST_CASE(the_backlog_counts_what_is_not_written_yet) {
  stream_fixture f;
  raw_connection raw{f.server.port()};
  raw.send(events_request);
  auto stream = f.wait_for_stream();
  stream->send("e", "x");
  BOOST_REQUIRE(raw.receive_until("data: x\n\n"));
  BOOST_CHECK(eventually([&] { return stream->backlog() == 0; }));
}

// -- text streams --------------------------------------------------------------

namespace {

/// A server with one text-stream route; the test gets each stream through
/// `streams`.
struct text_fixture {
  text_fixture() : server(local_config()) {
    server.route("GET", "/logs/{n}", [this](http_request, responder r) {
      auto s = r.start_text_stream("text/plain; charset=utf-8");
      std::lock_guard guard{mutex};
      streams.push_back(std::move(s));
    });
    start(server);
  }

  std::shared_ptr<text_stream> wait_for_stream() {
    std::shared_ptr<text_stream> result;
    eventually([&] {
      std::lock_guard guard{mutex};
      if (!streams.empty())
        result = streams.back();
      return result != nullptr;
    });
    BOOST_REQUIRE(result);
    return result;
  }

  std::mutex mutex;
  std::vector<std::shared_ptr<text_stream>> streams;
  http_server server;
};

} // namespace

BOOST_AUTO_TEST_CASE(a_text_stream_sends_chunks_in_order_and_ends_with_the_zero_chunk) {
  text_fixture f;
  raw_connection raw{f.server.port()};
  raw.send("GET /logs/1 HTTP/1.1\r\nHost: x\r\n\r\n");
  auto stream = f.wait_for_stream();
  stream->write("line one\n");
  stream->write(""); // nothing: a zero chunk would end the body
  stream->write("line two\nand a half");
  BOOST_REQUIRE(raw.receive_until("and a half\r\n"));
  BOOST_CHECK(!stream->closed());
  stream->close();
  BOOST_CHECK(raw.closed_by_peer());
  auto& text = raw.data();
  auto head_end = text.find("\r\n\r\n");
  BOOST_REQUIRE_NE(head_end, std::string::npos);
  auto head = text.substr(0, head_end + 4);
  BOOST_CHECK_EQUAL(head.substr(0, 15), "HTTP/1.1 200 OK");
  BOOST_CHECK_NE(head.find("Content-Type: text/plain; charset=utf-8\r\n"),
                 std::string::npos);
  BOOST_CHECK_NE(head.find("Transfer-Encoding: chunked\r\n"),
                 std::string::npos);
  BOOST_CHECK_EQUAL(head.find("Content-Length"), std::string::npos);
  BOOST_CHECK_EQUAL(text.substr(head_end + 4),
                    "9\r\nline one\n\r\n13\r\nline two\nand a half\r\n"
                    "0\r\n\r\n");
  BOOST_CHECK(eventually([&] { return stream->closed(); }));
  stream->write("late"); // harmless
}

BOOST_AUTO_TEST_CASE(a_text_stream_reads_back_through_a_chunked_parser) {
  text_fixture f;
  std::promise<http_result> answer;
  std::thread reader{[&] {
    http_client client{url_of(f.server), ""};
    answer.set_value(client.request("GET", "/logs/2"));
  }};
  auto stream = f.wait_for_stream();
  for (int i = 0; i < 100; ++i)
    stream->write("line " + std::to_string(i) + "\n");
  stream->close();
  auto r = answer.get_future().get();
  reader.join();
  BOOST_CHECK_EQUAL(r.status, 200u);
  std::string expected;
  for (int i = 0; i < 100; ++i)
    expected += "line " + std::to_string(i) + "\n";
  BOOST_CHECK_EQUAL(r.body, expected);
}

BOOST_AUTO_TEST_CASE(a_text_stream_to_an_http_1_0_client_is_raw_bytes) {
  text_fixture f;
  raw_connection raw{f.server.port()};
  raw.send("GET /logs/1 HTTP/1.0\r\n\r\n");
  auto stream = f.wait_for_stream();
  stream->write("abc\n");
  stream->write("def\n");
  stream->close();
  BOOST_CHECK(raw.closed_by_peer());
  auto& text = raw.data();
  BOOST_CHECK_EQUAL(text.substr(0, 15), "HTTP/1.0 200 OK");
  BOOST_CHECK_EQUAL(text.find("Transfer-Encoding"), std::string::npos);
  BOOST_CHECK_EQUAL(text.substr(text.find("\r\n\r\n") + 4), "abc\ndef\n");
}

BOOST_AUTO_TEST_CASE(a_text_stream_notices_when_the_client_leaves) {
  text_fixture f;
  auto raw = std::make_unique<raw_connection>(f.server.port());
  raw->send("GET /logs/1 HTTP/1.1\r\nHost: x\r\n\r\n");
  auto stream = f.wait_for_stream();
  stream->write("x\n");
  BOOST_REQUIRE(raw->receive_until("x\n\r\n"));
  raw.reset();
  BOOST_CHECK(eventually([&] { return stream->closed(); }));
  stream->write("y\n");
  stream->close();
  BOOST_CHECK(stream->closed());
}

BOOST_AUTO_TEST_CASE(a_text_stream_after_an_answer_is_closed) {
  std::shared_ptr<text_stream> late;
  http_server server{local_config()};
  server.route("GET", "/x", [&](http_request, responder r) {
    r.send(json_response(200, json::object{{"ok", true}}));
    late = r.start_text_stream("text/plain");
  });
  start(server);
  http_client client{url_of(server), ""};
  BOOST_CHECK_EQUAL(client.request("GET", "/x").status, 200u);
  BOOST_REQUIRE(late);
  BOOST_CHECK(late->closed());
}

BOOST_AUTO_TEST_CASE(a_text_stream_is_exempt_from_the_idle_timeout) {
  auto cfg = local_config();
  cfg.idle_timeout = 200ms;
  http_server server{cfg};
  std::mutex mutex;
  std::shared_ptr<text_stream> stream;
  server.route("GET", "/t", [&](http_request, responder r) {
    auto s = r.start_text_stream("");
    std::lock_guard guard{mutex};
    stream = std::move(s);
  });
  start(server);
  raw_connection raw{server.port()};
  raw.send("GET /t HTTP/1.1\r\nHost: x\r\n\r\n");
  BOOST_REQUIRE(raw.receive_until("\r\n\r\n"));
  BOOST_CHECK_NE(raw.data().find("text/plain; charset=utf-8"),
                 std::string::npos);
  std::this_thread::sleep_for(700ms);
  std::lock_guard guard{mutex};
  BOOST_REQUIRE(stream);
  BOOST_CHECK(!stream->closed());
  stream->write("still here");
  BOOST_CHECK(raw.receive_until("still here\r\n"));
}

// -- what the server tells its owner ---------------------------------------------

namespace {

/// A server whose answers are collected through `on_answer`.
struct answer_fixture {
  answer_fixture() : server(make_config()) {
    server.set_token("t");
    server.route("GET", "/api/tasks/{id}", [](http_request, responder r) {
      r.send(error_response(404, ec::not_found, "no task"));
    });
    server.route("GET", "/ok", answer_ok);
    start(server);
  }

  http_server_config make_config() {
    auto cfg = local_config();
    cfg.on_answer = [this](const http_answer& a) {
      std::lock_guard guard{mutex};
      answers.push_back(a);
    };
    return cfg;
  }

  /// Waits for the `n`th answer and returns it.
  http_answer nth(size_t n) {
    http_answer result;
    BOOST_REQUIRE(eventually([&] {
      std::lock_guard guard{mutex};
      if (answers.size() < n)
        return false;
      result = answers[n - 1];
      return true;
    }));
    return result;
  }

  std::mutex mutex;
  std::vector<http_answer> answers;
  http_server server;
};

} // namespace

BOOST_AUTO_TEST_CASE(the_owner_hears_of_each_answer_with_the_route_pattern) {
  answer_fixture f;
  http_client with{url_of(f.server), "t"};
  http_client without{url_of(f.server), ""};
  BOOST_CHECK_EQUAL(with.request("GET", "/api/tasks/%ff%fe?token=secret").status,
                    404u);
  BOOST_CHECK_EQUAL(without.request("GET", "/ok").status, 401u);
  BOOST_CHECK_EQUAL(with.request("GET", "/nowhere").status, 404u);
  BOOST_CHECK_EQUAL(with.request("GET", "/ok").status, 200u);
  auto a = f.nth(1);
  BOOST_CHECK_EQUAL(a.method, "GET");
  BOOST_CHECK_EQUAL(a.route, "/api/tasks/{id}");
  BOOST_CHECK_EQUAL(a.status, 404u);
  BOOST_CHECK_EQUAL(a.code, "not_found");
  BOOST_CHECK(a.remote.starts_with("127.0.0.1:"));
  auto b = f.nth(2);
  BOOST_CHECK_EQUAL(b.route, "/ok");
  BOOST_CHECK_EQUAL(b.status, 401u);
  BOOST_CHECK_EQUAL(b.code, "unauthorized");
  auto c = f.nth(3);
  BOOST_CHECK_EQUAL(c.route, "");
  BOOST_CHECK_EQUAL(c.status, 404u);
  BOOST_CHECK_EQUAL(c.code, "not_found");
  auto d = f.nth(4);
  BOOST_CHECK_EQUAL(d.route, "/ok");
  BOOST_CHECK_EQUAL(d.status, 200u);
  BOOST_CHECK_EQUAL(d.code, "");
}

BOOST_AUTO_TEST_CASE(the_owner_hears_of_a_refusal_of_garbage) {
  answer_fixture f;
  raw_connection raw{f.server.port()};
  raw.send("GET /ok HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer t\r\n\r\n"
           "\x01\xff garbage\r\n\r\n");
  auto first = read_response(raw);
  BOOST_CHECK_EQUAL(first.status, 200u);
  auto second = read_response(raw);
  BOOST_CHECK_EQUAL(second.status, 400u);
  auto a = f.nth(2);
  // Nothing of the first request is reported for the second.
  BOOST_CHECK_EQUAL(a.method, "");
  BOOST_CHECK_EQUAL(a.route, "");
  BOOST_CHECK_EQUAL(a.status, 400u);
  BOOST_CHECK_EQUAL(a.code, "invalid_argument");
}

// -- lifecycle -----------------------------------------------------------------

BOOST_AUTO_TEST_CASE(stop_closes_open_connections_and_streams) {
  std::mutex mutex;
  std::vector<responder> pending;
  std::shared_ptr<event_stream> stream;
  http_server server{local_config()};
  server.route("GET", "/pending", [&](http_request, responder r) {
    std::lock_guard guard{mutex};
    pending.push_back(std::move(r));
  });
  server.route("GET", "/api/events", [&](http_request, responder r) {
    auto s = r.start_stream();
    std::lock_guard guard{mutex};
    stream = std::move(s);
  });
  server.route("GET", "/x", answer_ok);
  start(server);
  raw_connection idle{server.port()};
  raw_connection waiting{server.port()};
  waiting.send("GET /pending HTTP/1.1\r\nHost: x\r\n\r\n");
  raw_connection events{server.port()};
  events.send("GET /api/events HTTP/1.1\r\nHost: x\r\n\r\n");
  BOOST_REQUIRE(events.receive_until("\r\n\r\n"));
  BOOST_REQUIRE(eventually([&] {
    std::lock_guard guard{mutex};
    return pending.size() == 1 && stream != nullptr;
  }));
  auto before = std::chrono::steady_clock::now();
  server.stop();
  BOOST_CHECK(std::chrono::steady_clock::now() - before < 3s);
  BOOST_CHECK(idle.closed_by_peer());
  BOOST_CHECK(waiting.closed_by_peer());
  BOOST_CHECK(events.closed_by_peer());
  BOOST_CHECK(stream->closed());
  // Answers after stop() are dropped, harmlessly.
  pending.front().send(json_response(200, json::object{{"late", true}}));
  stream->send("late", "x");
  BOOST_CHECK(stream->closed());
  http_client client{"http://127.0.0.1:" + std::to_string(server.port()), "",
                     2s};
  BOOST_CHECK_EQUAL(client.request("GET", "/x").status, 0u);
  server.stop(); // idempotent
  // A stopped server does not start again.
  BOOST_CHECK(static_cast<bool>(server.start()));
}

BOOST_AUTO_TEST_CASE(a_busy_port_is_an_io_error) {
  http_server first{local_config()};
  start(first);
  auto cfg = local_config();
  cfg.port = first.port();
  http_server second{cfg};
  auto err = second.start();
  BOOST_REQUIRE(err);
  BOOST_CHECK(err.category() == contracts::error_category);
  BOOST_CHECK_EQUAL(static_cast<int>(err.code()),
                    static_cast<int>(ec::io_error));
}

BOOST_AUTO_TEST_CASE(the_destructor_stops_a_busy_server) {
  std::mutex mutex;
  std::vector<responder> pending;
  std::unique_ptr<raw_connection> raw;
  {
    http_server server{local_config()};
    server.route("GET", "/pending", [&](http_request, responder r) {
      std::lock_guard guard{mutex};
      pending.push_back(r);
    });
    start(server);
    raw = std::make_unique<raw_connection>(server.port());
    raw->send("GET /pending HTTP/1.1\r\nHost: x\r\n\r\n");
    BOOST_REQUIRE(eventually([&] {
      std::lock_guard guard{mutex};
      return !pending.empty();
    }));
  }
  BOOST_CHECK(raw->closed_by_peer());
  // The responder outlives the server; answering and dropping it is safe.
  pending.front().send(json_response(200, json::object{}));
  pending.clear();
}

// -- client --------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(the_client_names_the_url_when_it_cannot_connect) {
  uint16_t port = 0;
  {
    http_server server{local_config()};
    start(server);
    port = server.port();
  }
  auto url = "http://127.0.0.1:" + std::to_string(port);
  http_client client{url, ""};
  auto res = client.request("GET", "/api/tasks");
  BOOST_CHECK_EQUAL(res.status, 0u);
  BOOST_CHECK(!res.ok());
  BOOST_CHECK_NE(res.error.find("cannot connect to " + url), std::string::npos);
  BOOST_CHECK_EQUAL(res.reason(), res.error);
}

BOOST_AUTO_TEST_CASE(a_malformed_base_url_is_an_error_result) {
  for (auto url : {"ftp://x:1", "https://127.0.0.1:8080", "http://:80",
                   "http://h:99999", "http://h:8080/api"}) {
    http_client client{url, ""};
    auto res = client.request("GET", "/");
    BOOST_CHECK_MESSAGE(res.status == 0u && !res.error.empty(), url);
  }
}

BOOST_AUTO_TEST_CASE(the_reason_of_an_error_response_is_code_and_message) {
  http_result r;
  r.status = 422;
  r.body = error_response(422, ec::missing_input, "Input x is required.",
                          "/input_mapping/x")
             .body;
  BOOST_CHECK_EQUAL(r.reason(),
                    "missing_input: Input x is required. (at /input_mapping/x)");
  r.body = "<html>oops</html>\nmore";
  BOOST_CHECK_EQUAL(r.reason(), "HTTP 422: <html>oops</html>");
}

BOOST_AUTO_TEST_CASE(url_encoding_keeps_only_unreserved_characters) {
  BOOST_CHECK_EQUAL(url_encode("a b/c?d=e&f~g.h_i-j"),
                    "a%20b%2Fc%3Fd%3De%26f~g.h_i-j");
  BOOST_CHECK_EQUAL(encode_query({{"b", "2"}, {"a", "x y"}}), "?a=x%20y&b=2");
  BOOST_CHECK_EQUAL(encode_query({}), "");
}
