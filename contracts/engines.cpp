#include "contracts/engines.hpp"

#include "contracts/registry_store.hpp"

#include <algorithm>

namespace omniva::contracts {

namespace {

json::value string_array(const std::vector<std::string>& xs) {
  json::array out;
  out.reserve(xs.size());
  for (auto& x : xs)
    out.emplace_back(x);
  return json::value{std::move(out)};
}

void set_if(json::value& out, std::string key, const std::string& x) {
  if (!x.empty())
    out.set(std::move(key), x);
}

bool is_pool_name(std::string_view name) noexcept {
  return !name.empty() && name.size() <= 128
         && std::all_of(name.begin(), name.end(), [](char c) {
              return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
                     || (c >= '0' && c <= '9') || c == '-' || c == '_'
                     || c == '.';
            });
}

} // namespace

json::value to_json(const conflict_resolution& x) {
  json::value out{json::object{}};
  out.set("check", x.check);
  out.set("severity", x.severity);
  out.set("action", x.action);
  out.set("affected", string_array(x.affected));
  out.set("evidence", string_array(x.evidence));
  out.set("message", x.message);
  out.set("schema_version", std::string{current_schema_version});
  return out;
}

json::value to_json(const audit_report& x) {
  json::value out{json::object{}};
  out.set("audit_id", x.audit_id);
  out.set("started_at", x.started_at);
  out.set("finished_at", x.finished_at);
  out.set("tasks_checked", static_cast<int64_t>(x.tasks_checked));
  out.set("assets_checked", static_cast<int64_t>(x.assets_checked));
  out.set("packets_checked", static_cast<int64_t>(x.packets_checked));
  json::array findings;
  for (auto& f : x.findings)
    findings.push_back(to_json(f));
  out.set("findings", json::value{std::move(findings)});
  set_if(out, "requested_by", x.requested_by);
  set_if(out, "packet_id", x.packet_id);
  return out;
}

json::value to_json(const quarantine_record& x) {
  json::value out{json::object{}};
  out.set("target", x.target);
  out.set("state", x.state);
  set_if(out, "by", x.by);
  set_if(out, "reason", x.reason);
  set_if(out, "since", x.since);
  set_if(out, "probe_at", x.probe_at);
  set_if(out, "probe_task", x.probe_task);
  if (x.failures > 0)
    out.set("failures", static_cast<int64_t>(x.failures));
  return out;
}

std::optional<quarantine_record>
quarantine_record_from_json(const json::value& x,
                            std::vector<problem>& problems) {
  auto first = problems.size();
  if (!x.is_object()) {
    problems.push_back({ec::schema_violation, "",
                        "a quarantine must be a JSON object"});
    return std::nullopt;
  }
  quarantine_record r;
  auto text = [&](const char* key, std::string& out, bool required) {
    auto* v = x.find(key);
    if (v == nullptr) {
      if (required)
        problems.push_back({ec::schema_violation, std::string{"/"} + key,
                            std::string{"a quarantine needs '"} + key + "'"});
      return;
    }
    if (!v->is_string()) {
      problems.push_back({ec::schema_violation, std::string{"/"} + key,
                          std::string{"'"} + key + "' must be a string"});
      return;
    }
    out = v->as_string();
  };
  text("target", r.target, true);
  text("state", r.state, true);
  text("by", r.by, false);
  text("reason", r.reason, false);
  text("since", r.since, false);
  text("probe_at", r.probe_at, false);
  text("probe_task", r.probe_task, false);
  if (auto* v = x.find("failures")) {
    auto n = v->as_int64();
    if (!n || *n < 0 || *n > int64_t{UINT32_MAX})
      problems.push_back({ec::schema_violation, "/failures",
                          "'failures' must be a count"});
    else
      r.failures = static_cast<uint32_t>(*n);
  }
  if (!r.target.empty() && !is_quarantine_target(r.target))
    problems.push_back({ec::invalid_argument, "/target",
                        "'" + r.target
                          + "' is not a quarantine target (module:<name@N> "
                            "or pool:<name>)"});
  if (r.state != "open" && r.state != "half_open")
    problems.push_back({ec::schema_violation, "/state",
                        "a quarantine's state is open or half_open"});
  if (problems.size() > first)
    return std::nullopt;
  return r;
}

std::string module_target(std::string_view module_ref) {
  return "module:" + std::string{module_ref};
}

std::string pool_target(std::string_view pool) {
  return "pool:" + std::string{pool};
}

bool is_quarantine_target(std::string_view target) noexcept {
  if (target.starts_with("module:"))
    return is_registry_ref(target.substr(7));
  if (target.starts_with("pool:"))
    return is_pool_name(target.substr(5));
  return false;
}

json::value to_json(const explanation& x) {
  json::value out{json::object{}};
  out.set("subject", x.subject);
  out.set("subject_kind", x.subject_kind);
  out.set("narrative", x.narrative);
  json::array chain;
  chain.reserve(x.chain.size());
  for (auto& step : x.chain) {
    json::value s{json::object{}};
    s.set("statement", step.statement);
    s.set("packet_id", step.packet_id);
    chain.push_back(std::move(s));
  }
  out.set("chain", json::value{std::move(chain)});
  out.set("missing", string_array(x.missing));
  out.set("completeness", x.completeness);
  set_if(out, "next_cursor", x.next_cursor);
  return out;
}

} // namespace omniva::contracts
