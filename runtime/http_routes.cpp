#include "runtime/http_routes.hpp"

#include "runtime/http_parsing.hpp"

#include <algorithm>
#include <stdexcept>
#include <utility>

namespace omniva::runtime::detail {

namespace {

/// Matches decoded path `segments` against `r`, collecting the parameters
/// and a rank (lower is more specific).
bool match(const compiled_route& r, const std::vector<std::string>& segments,
           std::map<std::string, std::string>& params,
           std::vector<uint8_t>& rank) {
  size_t i = 0;
  for (auto& seg : r.segments) {
    rank.push_back(static_cast<uint8_t>(seg.type));
    if (seg.type == route_segment::kind::rest) {
      if (i >= segments.size())
        return false;
      std::string rest = segments[i];
      for (++i; i < segments.size(); ++i) {
        rest += '/';
        rest += segments[i];
      }
      params[seg.text] = std::move(rest);
      return true;
    }
    if (i >= segments.size())
      return false;
    if (seg.type == route_segment::kind::literal) {
      if (seg.text != segments[i])
        return false;
    } else {
      params[seg.text] = segments[i];
    }
    ++i;
  }
  return i == segments.size();
}

} // namespace

std::shared_ptr<const compiled_route>
compile_route(std::string method, const std::string& pattern,
              http_handler handler, route_options options) {
  if (pattern.empty() || pattern.front() != '/')
    throw std::invalid_argument("route pattern must start with '/': "
                                + pattern);
  auto r = std::make_shared<compiled_route>();
  r->method = std::move(method);
  r->handler = std::move(handler);
  r->options = options;
  auto parts = split_path(pattern);
  for (size_t i = 0; i < parts.size(); ++i) {
    auto part = parts[i];
    route_segment seg;
    if (part.size() >= 2 && part.front() == '{' && part.back() == '}') {
      part = part.substr(1, part.size() - 2);
      seg.type = route_segment::kind::param;
      if (!part.empty() && part.back() == '*') {
        if (i + 1 != parts.size())
          throw std::invalid_argument(
            "a {name*} segment must be the last of a pattern: " + pattern);
        part.remove_suffix(1);
        seg.type = route_segment::kind::rest;
      }
      if (part.empty())
        throw std::invalid_argument("route parameter without a name: "
                                    + pattern);
    } else if (part.find_first_of("{}") != std::string_view::npos) {
      throw std::invalid_argument("malformed route pattern: " + pattern);
    }
    seg.text = std::string{part};
    r->segments.push_back(std::move(seg));
  }
  return r;
}

route_choice
choose_route(const std::vector<std::shared_ptr<const compiled_route>>& routes,
             std::string_view method, const std::vector<std::string>& segments) {
  route_choice result;
  std::vector<uint8_t> best_rank;
  auto consider = [&](bool fallbacks) {
    for (auto& candidate : routes) {
      if (candidate->options.fallback != fallbacks)
        continue;
      std::map<std::string, std::string> params;
      std::vector<uint8_t> rank;
      if (!match(*candidate, segments, params, rank))
        continue;
      if (candidate->method != method) {
        if (!fallbacks
            && std::find(result.allowed.begin(), result.allowed.end(),
                         candidate->method)
                 == result.allowed.end())
          result.allowed.push_back(candidate->method);
        continue;
      }
      if (!result.route || rank < best_rank) {
        result.route = candidate;
        best_rank = std::move(rank);
        result.params = std::move(params);
      }
    }
  };
  consider(false);
  // A fallback takes only what no other pattern matches.
  if (!result.route && result.allowed.empty())
    consider(true);
  return result;
}

} // namespace omniva::runtime::detail
