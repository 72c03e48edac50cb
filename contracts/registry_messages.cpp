#include "contracts/registry_messages.hpp"

#include <algorithm>

namespace omniva::contracts {

std::string_view to_string(registry_kind x) noexcept {
  switch (x) {
    case registry_kind::schema:
      return "schema";
    case registry_kind::policy:
      return "policy";
    case registry_kind::module:
      return "module";
    case registry_kind::folder:
      return "folder";
    case registry_kind::pipeline:
      return "pipeline";
    case registry_kind::personas:
      return "personas";
    case registry_kind::predicate:
      return "predicate";
  }
  return "unknown";
}

std::string_view to_string(registry_outcome x) noexcept {
  switch (x) {
    case registry_outcome::registered:
      return "registered";
    case registry_outcome::unchanged:
      return "unchanged";
    case registry_outcome::refused:
      return "refused";
  }
  return "unknown";
}

size_t registry_report::count(registry_outcome outcome) const noexcept {
  return static_cast<size_t>(
    std::count_if(items.begin(), items.end(),
                  [&](const registry_item& x) { return x.outcome == outcome; }));
}

json::value to_json(const registry_report& x) {
  json::array items;
  for (auto& item : x.items) {
    json::value v{json::object{}};
    v.set("kind", to_string(item.kind));
    v.set("ref", item.ref);
    v.set("source", item.source);
    v.set("outcome", to_string(item.outcome));
    if (item.outcome == registry_outcome::refused)
      v.set("error", to_json(item.error));
    items.push_back(std::move(v));
  }
  json::value out{json::object{}};
  out.set("items", json::value{std::move(items)});
  for (auto o : {registry_outcome::registered, registry_outcome::unchanged,
                 registry_outcome::refused})
    out.set(std::string{to_string(o)}, static_cast<int64_t>(x.count(o)));
  return out;
}

} // namespace omniva::contracts
