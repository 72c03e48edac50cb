// Fuzz target: the node's reading of an HTTP/1.1 request
// (runtime/http_parsing.hpp, runtime/http_routes.hpp and Boost.Beast's
// parser as runtime/http_session.cpp drives it), docs/fuzzing.md.
//
// Input: the bytes a client sends. They go through the steps of
// `http_session::on_header` and the body read: Beast's header parser within
// the node's header limit, the version and target checks, the query string,
// the header fields, the path's percent-decoding, the choice among the
// node's routes, the bearer token, and the body (Content-Length or chunked)
// within the route's limit. Nothing crashes, hangs or leaks, and a chosen
// route's parameters are the decoded path's segments.

#include "runtime/http_beast.hpp"
#include "runtime/http_routes.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

using namespace omniva::runtime;
using namespace omniva::runtime::detail;

namespace {

[[noreturn]] void broken(const char* what) {
  std::fprintf(stderr, "fuzz_http_request: %s\n", what);
  std::abort();
}

/// The node's routes (runtime/node_api.cpp and the api_*.cpp files), with
/// small body limits so that the limit checks are reached.
std::vector<std::shared_ptr<const compiled_route>> node_routes() {
  struct spec {
    const char* method;
    const char* pattern;
    bool is_public;
  };
  static constexpr spec specs[] = {
    {"GET", "/api/health", true},
    {"GET", "/metrics", true},
    {"GET", "/api/tasks", false},
    {"POST", "/api/tasks", false},
    {"GET", "/api/tasks/{id}", false},
    {"POST", "/api/tasks/{id}/cancel", false},
    {"POST", "/api/tasks/{id}/priority", false},
    {"GET", "/api/tasks/{id}/files/{path*}", false},
    {"GET", "/api/assets", false},
    {"POST", "/api/assets/path", false},
    {"POST", "/api/assets/value", false},
    {"POST", "/api/assets/upload", false},
    {"GET", "/api/assets/{id}", false},
    {"DELETE", "/api/assets/{id}", false},
    {"GET", "/api/events", false},
    {"GET", "/api/lineage/verify", false},
    {"GET", "/api/lineage/witness", false},
    {"GET", "/api/lineage/{id}", false},
    {"GET", "/api/modules", false},
    {"POST", "/api/modules", false},
    {"POST", "/api/modules/rescan", false},
    {"GET", "/api/modules/{ref}", false},
    {"GET", "/api/schemas", false},
    {"POST", "/api/schemas", false},
    {"GET", "/api/schemas/{ref}", false},
    {"GET", "/api/policies", false},
    {"GET", "/api/policies/{ref}", false},
  };
  std::vector<std::shared_ptr<const compiled_route>> routes;
  for (auto& s : specs) {
    route_options options;
    options.is_public = s.is_public;
    options.max_body = 4096;
    routes.push_back(compile_route(s.method, s.pattern, {}, options));
  }
  return routes;
}

constexpr std::string_view token = "0123456789abcdef0123456789abcdef";

/// The body, read as the session reads it once the route is known.
void read_body(http::request_parser<http::empty_body>& header,
               const compiled_route& route, std::string_view rest) {
  http::request_parser<http::string_body> parser{std::move(header)};
  parser.body_limit(route.options.max_body);
  beast::error_code err;
  while (!rest.empty() && !parser.is_done()) {
    auto used = parser.put(net::buffer(rest.data(), rest.size()), err);
    if (err == http::error::need_more)
      return;
    if (err)
      return;
    if (used == 0)
      return;
    rest.remove_prefix(used);
  }
  if (parser.is_done() && parser.get().body().size() > route.options.max_body)
    broken("a body beyond the route's limit was read");
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const auto routes = node_routes();
  std::string_view input{reinterpret_cast<const char*>(data), size};
  http::request_parser<http::empty_body> parser;
  parser.header_limit(omniva::defaults::http::max_header_bytes);
  parser.body_limit(std::numeric_limits<uint64_t>::max());
  parser.eager(false);
  beast::error_code err;
  size_t used = 0;
  while (!parser.is_header_done()) {
    auto rest = input.substr(used);
    if (rest.empty())
      return 0;
    auto n = parser.put(net::buffer(rest.data(), rest.size()), err);
    if (err)
      return 0;
    if (n == 0)
      return 0;
    used += n;
  }
  auto& head = parser.get();
  if (head.version() != 10 && head.version() != 11)
    return 0;
  std::string method{head.method_string()};
  auto target = std::string_view{head.target().data(), head.target().size()};
  if (target.empty() || target.front() != '/')
    return 0;
  auto question = target.find('?');
  std::string path{target.substr(0, question)};
  std::map<std::string, std::string> query;
  if (question != std::string_view::npos
      && !parse_query(target.substr(question + 1), query))
    return 0;
  auto headers = lowercase_fields(head);
  for (auto& [name, value] : headers)
    if (lowercase(name) != name)
      broken("a field name kept an uppercase letter");
  (void) split_path(path);
  auto segments = decode_path(path);
  if (!segments)
    return 0;
  auto choice = choose_route(routes, method, *segments);
  if (!choice.route)
    return 0;
  size_t named = 0;
  for (auto& seg : choice.route->segments)
    named += seg.type != route_segment::kind::literal;
  if (choice.params.size() != named)
    broken("a chosen route's parameters are not its pattern's");
  if (auto i = headers.find("authorization"); i != headers.end()) {
    auto given = bearer_token(i->second);
    (void) constant_time_equal(given, token);
  }
  auto length = parser.content_length();
  if (length && *length > choice.route->options.max_body)
    return 0;
  read_body(parser, *choice.route, input.substr(used));
  return 0;
}
