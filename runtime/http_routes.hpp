#pragma once

// Route patterns of the HTTP server (DESIGN.md §8): how `http_server::route`
// compiles a pattern such as "/tasks/{id}/files/{path*}", and which route a
// request's method and path pick. Pure: no I/O and no locks (the server's
// state guards its list of routes).
//
// Internal to runtime/: the public API is http_server.hpp.

#include "runtime/http_server.hpp"

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace omniva::runtime::detail {

/// One segment of a route pattern.
struct route_segment {
  /// What a segment matches: its literal text, one segment (`{name}`), or
  /// the rest of the path, one segment or more (`{name*}`). The order is the
  /// rank: lower is more specific.
  enum class kind : uint8_t { literal, param, rest };
  /// What this segment matches.
  kind type = kind::literal;
  /// The literal text, or the parameter's name.
  std::string text;
};

/// A route, ready for matching.
struct compiled_route {
  /// The method, compared exactly ("GET").
  std::string method;
  /// The pattern, one entry per segment.
  std::vector<route_segment> segments;
  /// Answers the requests the route picks.
  http_handler handler;
  /// Public or not, body limit, upload or not.
  route_options options;
};

/// Compiles a route for `http_server::route`, which documents the pattern
/// syntax. Throws std::invalid_argument for a malformed pattern (a wiring
/// bug): one not starting with '/', a `{}` without a name, a `{name*}`
/// before the last segment, or a brace inside a literal.
std::shared_ptr<const compiled_route>
compile_route(std::string method, const std::string& pattern,
              http_handler handler, route_options options);

/// The route a request's method and path pick.
struct route_choice {
  /// The route whose pattern matches the path and whose method is the
  /// request's; among several, the one with a literal at the first differing
  /// segment, then the earliest added; a fallback route
  /// (`route_options::fallback`) only when no other route's pattern matches.
  /// Null when there is none.
  std::shared_ptr<const compiled_route> route;
  /// The values of `route`'s parameters, by name.
  std::map<std::string, std::string> params;
  /// The other methods of the routes whose pattern matches the path, each
  /// once, in the order added: when `route` is null, a 405's `Allow`, or a
  /// 404 when empty.
  std::vector<std::string> allowed;
};

/// Picks the route of `method` on the decoded path `segments` (see
/// `decode_path`) among `routes`, given in the order they were added.
route_choice
choose_route(const std::vector<std::shared_ptr<const compiled_route>>& routes,
             std::string_view method, const std::vector<std::string>& segments);

} // namespace omniva::runtime::detail
