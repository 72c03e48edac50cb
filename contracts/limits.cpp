#include "contracts/limits.hpp"

#include "contracts/ids.hpp"
#include "contracts/predicate.hpp"

#include <algorithm>
#include <charconv>
#include <initializer_list>
#include <limits>

namespace omniva::contracts {

int64_t window_start(int64_t at_ms, int64_t window_ms) noexcept {
  if (window_ms <= 0)
    return 0;
  auto start = at_ms - at_ms % window_ms;
  return at_ms < 0 && at_ms % window_ms != 0 ? start - window_ms : start;
}

std::optional<int64_t> parse_window(std::string_view text) {
  auto digits = static_cast<size_t>(
    std::find_if(text.begin(), text.end(),
                 [](char c) { return c < '0' || c > '9'; })
    - text.begin());
  if (digits == 0 || digits > 12)
    return std::nullopt;
  auto unit = text.substr(digits);
  int64_t size = 0;
  if (unit == "ms")
    size = 1;
  else if (unit == "s")
    size = 1000;
  else if (unit == "m")
    size = 60 * 1000;
  else if (unit == "h")
    size = 3600 * 1000;
  else if (unit == "d")
    size = 24 * 3600 * 1000;
  else
    return std::nullopt;
  int64_t count = 0;
  auto [end, err] = std::from_chars(text.data(), text.data() + digits, count);
  if (err != std::errc{} || end != text.data() + digits)
    return std::nullopt;
  if (count > max_window_ms / size)
    return std::nullopt; // beyond 366 days (and never a wrapped product)
  auto ms = count * size;
  if (ms < min_window_ms)
    return std::nullopt;
  return ms;
}

std::string format_window(int64_t ms) {
  struct unit {
    int64_t size;
    const char* name;
  };
  for (auto u : {unit{24 * 3600 * 1000, "d"}, unit{3600 * 1000, "h"},
                 unit{60 * 1000, "m"}, unit{1000, "s"}})
    if (ms > 0 && ms % u.size == 0)
      return std::to_string(ms / u.size) + u.name;
  return std::to_string(ms) + "ms";
}

bool is_limits_subject(std::string_view subject) noexcept {
  if (subject.starts_with("budget:"))
    return is_policy_name(subject.substr(7));
  if (subject.starts_with("quota:"))
    return is_policy_name(subject.substr(6));
  if (subject.starts_with("run:"))
    return is_uuid(subject.substr(4));
  if (subject.starts_with("lease:"))
    return is_write_prefix(subject.substr(6));
  return false;
}

namespace {

void set_window(json::value& out, int64_t window_ms, int64_t start_ms) {
  if (window_ms <= 0)
    return;
  out.set("window", format_window(window_ms));
  out.set("window_ms", window_ms);
  out.set("window_start", format_timestamp(timestamp{std::chrono::milliseconds{start_ms}}));
  out.set("window_start_ms", start_ms);
}

/// Reads member `key` of `x` as an integer within [lo, hi].
bool integer(const json::value& x, std::string_view key, int64_t lo, int64_t hi,
             int64_t& into, bool required, std::string& why) {
  auto* v = x.find(key);
  if (v == nullptr) {
    if (required)
      why = "no " + std::string{key};
    return !required;
  }
  auto n = v->as_int64();
  if (!v->is_integral() || !n || *n < lo || *n > hi) {
    why = std::string{key} + " is not an integer in range";
    return false;
  }
  into = *n;
  return true;
}

void text(const json::value& x, std::string_view key, std::string& into) {
  if (auto* v = x.find(key); v != nullptr && v->is_string())
    into = v->as_string();
}

/// Reads the `subject` of a row into `into`: false with `why` when `x` is
/// not an object or its subject is not a limits subject of one of `kinds`
/// ("budget:", ...).
bool subject_of(const json::value& x, std::initializer_list<std::string_view> kinds,
                std::string& into, std::string& why) {
  if (!x.is_object()) {
    why = "not an object";
    return false;
  }
  text(x, "subject", into);
  for (auto kind : kinds)
    if (into.starts_with(kind) && is_limits_subject(into))
      return true;
  why = "its subject '" + into + "' does not begin with";
  for (auto kind : kinds)
    why += (kind == *kinds.begin() ? " '" : " or '") + std::string{kind} + "'";
  return false;
}

/// The members every budget and quota row has besides its amounts.
template <class Record>
void texts(const json::value& x, Record& r) {
  text(x, "description", r.description);
  text(x, "created_at", r.created_at);
  text(x, "updated_at", r.updated_at);
}

} // namespace

json::value to_json(const budget_record& x) {
  json::value out{json::object{}};
  out.set("subject", x.subject);
  if (x.subject.starts_with("budget:"))
    out.set("name", x.subject.substr(7));
  else if (x.subject.starts_with("run:"))
    out.set("run_id", x.subject.substr(4));
  out.set("max_usd_micro", x.max_usd_micro < 0 ? json::value{}
                                               : json::value{x.max_usd_micro});
  set_window(out, x.window_ms, x.window_start_ms);
  out.set("reserved_usd_micro", x.reserved_usd_micro);
  out.set("spent_usd_micro", x.spent_usd_micro);
  if (x.max_usd_micro >= 0)
    out.set("available_usd_micro",
            std::max<int64_t>(0, x.max_usd_micro - x.committed()));
  if (!x.description.empty())
    out.set("description", x.description);
  out.set("created_at", x.created_at);
  out.set("updated_at", x.updated_at);
  return out;
}

json::value to_json(const quota_record& x) {
  json::value out{json::object{}};
  out.set("subject", x.subject);
  if (x.subject.starts_with("quota:"))
    out.set("name", x.subject.substr(6));
  out.set("units", x.units);
  set_window(out, x.window_ms, x.window_start_ms);
  out.set("used_units", x.used_units);
  out.set("available_units", std::max<int64_t>(0, x.units - x.used_units));
  if (x.window_ms > 0)
    out.set("resets_at",
            format_timestamp(timestamp{
              std::chrono::milliseconds{x.window_start_ms + x.window_ms}}));
  if (!x.description.empty())
    out.set("description", x.description);
  out.set("created_at", x.created_at);
  out.set("updated_at", x.updated_at);
  return out;
}

json::value to_json(const lease_record& x) {
  json::value out{json::object{}};
  out.set("subject", x.subject);
  out.set("prefix", std::string{x.prefix()});
  out.set("task_id", x.task_id);
  out.set("attempt", static_cast<int64_t>(x.attempt));
  out.set("ttl_ms", x.ttl_ms);
  out.set("expires_at",
          format_timestamp(timestamp{std::chrono::milliseconds{x.expires_ms}}));
  out.set("expires_ms", x.expires_ms);
  out.set("taken_at", x.taken_at);
  return out;
}

std::optional<budget_record> budget_from_json(const json::value& x,
                                              std::string& why) {
  budget_record r;
  if (!subject_of(x, {"budget:", "run:"}, r.subject, why))
    return std::nullopt;
  constexpr auto big = std::numeric_limits<int64_t>::max();
  if (auto* v = x.find("max_usd_micro"); v != nullptr && !v->is_null()) {
    if (!integer(x, "max_usd_micro", 0, max_usd_micro, r.max_usd_micro, true, why))
      return std::nullopt;
  }
  if (!integer(x, "window_ms", 0, max_window_ms, r.window_ms, false, why)
      || !integer(x, "window_start_ms", 0, big, r.window_start_ms, false, why)
      || !integer(x, "reserved_usd_micro", 0, big, r.reserved_usd_micro, false, why)
      || !integer(x, "spent_usd_micro", 0, big, r.spent_usd_micro, false, why))
    return std::nullopt;
  texts(x, r);
  return r;
}

std::optional<quota_record> quota_from_json(const json::value& x, std::string& why) {
  quota_record r;
  if (!subject_of(x, {"quota:"}, r.subject, why))
    return std::nullopt;
  constexpr auto big = std::numeric_limits<int64_t>::max();
  if (!integer(x, "units", 1, max_quota_units, r.units, true, why)
      || !integer(x, "window_ms", min_window_ms, max_window_ms, r.window_ms, true,
                  why)
      || !integer(x, "window_start_ms", 0, big, r.window_start_ms, false, why)
      || !integer(x, "used_units", 0, big, r.used_units, false, why))
    return std::nullopt;
  texts(x, r);
  return r;
}

std::optional<lease_record> lease_from_json(const json::value& x, std::string& why) {
  lease_record r;
  if (!subject_of(x, {"lease:"}, r.subject, why))
    return std::nullopt;
  text(x, "task_id", r.task_id);
  text(x, "taken_at", r.taken_at);
  int64_t attempt = 0;
  constexpr auto big = std::numeric_limits<int64_t>::max();
  if (!integer(x, "attempt", 0, std::numeric_limits<uint32_t>::max(), attempt,
               true, why)
      || !integer(x, "ttl_ms", 0, big, r.ttl_ms, true, why)
      || !integer(x, "expires_ms", 0, big, r.expires_ms, true, why))
    return std::nullopt;
  r.attempt = static_cast<uint32_t>(attempt);
  return r;
}

std::optional<limits_request> limits_request_from_json(const json::value& body,
                                                       std::string_view kind,
                                                       std::string_view name,
                                                       bool create,
                                                       std::vector<problem>& problems) {
  auto before = problems.size();
  auto report = [&](ec code, std::string pointer, std::string message) {
    problems.push_back({code, std::move(pointer), std::move(message)});
  };
  if (!body.is_object()) {
    report(ec::invalid_argument, "", "the body must be a JSON object");
    return std::nullopt;
  }
  bool budget = kind == "budget";
  limits_request r;
  r.op = create ? "create" : "set";
  std::string the_name{name};
  for (auto& [key, v] : body.as_object()) {
    bool known = key == "name" || key == "window" || key == "description"
                 || (budget ? key == "max_usd_micro" : key == "units");
    if (!known)
      report(ec::unknown_field, json::append_pointer("", key),
             "a " + std::string{kind} + " has no member '" + key + "'");
  }
  if (auto* v = body.find("name")) {
    if (!v->is_string() || !is_policy_name(v->as_string()))
      report(ec::invalid_argument, "/name",
             "a name is lowercase letters, digits, '.', '_' and '-', a letter "
             "first, at most 64 characters");
    else if (!name.empty() && v->as_string() != name)
      report(ec::invalid_argument, "/name",
             "the body names '" + v->as_string() + "' but the path names '"
               + std::string{name} + "'");
    else
      the_name = v->as_string();
  } else if (name.empty()) {
    report(ec::missing_field, "/name", "a " + std::string{kind} + " needs a name");
  }
  auto amount = [&](const char* key, int64_t lo, int64_t hi, int64_t& into) {
    auto* v = body.find(key);
    if (v == nullptr) {
      if (create)
        report(ec::missing_field, std::string{"/"} + key,
               "a new " + std::string{kind} + " needs " + key);
      return;
    }
    auto n = v->as_int64();
    if (!v->is_integral() || !n || *n < lo || *n > hi) {
      report(ec::schema_violation, std::string{"/"} + key,
             std::string{key} + " must be an integer from " + std::to_string(lo)
               + " to " + std::to_string(hi));
      return;
    }
    into = *n;
  };
  if (budget)
    amount("max_usd_micro", 0, max_usd_micro, r.max_usd_micro);
  else
    amount("units", 1, max_quota_units, r.units);
  if (auto* v = body.find("window")) {
    if (budget && v->is_null()) {
      r.window_ms = 0;
    } else if (auto ms = v->is_string() ? parse_window(v->as_string())
                                        : std::nullopt) {
      r.window_ms = *ms;
    } else {
      report(ec::schema_violation, "/window",
             "a window is digits and a unit (ms, s, m, h, d) from 1s to 366d, "
             "e.g. \"1d\""
               + std::string{budget ? "; null: none" : ""});
    }
  } else if (create && !budget) {
    report(ec::missing_field, "/window", "a quota needs a window (\"1d\")");
  }
  if (auto* v = body.find("description")) {
    if (!v->is_string() || v->as_string().size() > 1000)
      report(ec::schema_violation, "/description",
             "the description must be a string of at most 1000 bytes");
    else {
      r.has_description = true;
      r.description = v->as_string();
    }
  }
  if (problems.size() != before)
    return std::nullopt;
  r.subject = std::string{kind} + ":" + the_name;
  return r;
}

} // namespace omniva::contracts
