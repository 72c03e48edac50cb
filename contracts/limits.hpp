#pragma once

// The live state of policies (docs/policies.md): named budgets and the
// spend of capped runs, quotas with units per window, and leases on write
// prefixes. Zenith keeps them in memory and writes each change as a row of
// table `limits` with the packet that justifies it; `limits_request` is how
// the API reads and changes them.

#include "contracts/error_code.hpp"
#include "contracts/json.hpp"

#include <caf/meta/type_name.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace omniva::contracts {

/// The bounds of a budget or quota window, in milliseconds: 1 s .. 366 days.
inline constexpr int64_t min_window_ms = 1000;
inline constexpr int64_t max_window_ms = int64_t{366} * 24 * 3600 * 1000;

/// The most units a quota window may have (and a task may need).
inline constexpr int64_t max_quota_units = 1'000'000'000'000;

/// A cap on spend and what has been spent against it: a named budget
/// (`budget:<name>`) or the spend of a run whose pipeline's policy caps it
/// (`run:<run id>`).
struct budget_record {
  /// The limits subject: "budget:<name>" or "run:<run id>".
  std::string subject;
  /// The cap in millionths of a US dollar; -1: none (a run's spend kept
  /// without a cap).
  int64_t max_usd_micro = -1;
  /// 0: the cap holds for all time; else the length of the windows it
  /// holds per (aligned to the Unix epoch: "1d" resets at 00:00 UTC).
  int64_t window_ms = 0;
  /// The start of the window `spent_usd_micro` counts in (0 without one).
  int64_t window_start_ms = 0;
  /// Held by dispatched attempts not settled yet (their worst case).
  int64_t reserved_usd_micro = 0;
  /// Settled: what attempts cost (in the current window).
  int64_t spent_usd_micro = 0;
  std::string description;
  std::string created_at;
  std::string updated_at;

  /// Spent plus reserved.
  int64_t committed() const noexcept {
    return spent_usd_micro + reserved_usd_micro;
  }

  friend bool operator==(const budget_record&, const budget_record&) = default;
};

/// @relates budget_record
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, budget_record& x) {
  return f(caf::meta::type_name("budget_record"), x.subject, x.max_usd_micro,
           x.window_ms, x.window_start_ms, x.reserved_usd_micro,
           x.spent_usd_micro, x.description, x.created_at, x.updated_at);
}

/// A platform quota: units per window (the YouTube Data API's 10,000 a
/// day). Units are spent when an attempt is dispatched and never given back
/// (the platform counts a failed call too).
struct quota_record {
  /// "quota:<name>".
  std::string subject;
  int64_t units = 0;
  int64_t window_ms = 0;
  int64_t window_start_ms = 0;
  int64_t used_units = 0;
  std::string description;
  std::string created_at;
  std::string updated_at;

  friend bool operator==(const quota_record&, const quota_record&) = default;
};

/// @relates quota_record
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, quota_record& x) {
  return f(caf::meta::type_name("quota_record"), x.subject, x.units,
           x.window_ms, x.window_start_ms, x.used_units, x.description,
           x.created_at, x.updated_at);
}

/// An attempt's lease on a write prefix.
struct lease_record {
  /// "lease:<prefix>".
  std::string subject;
  std::string task_id;
  uint32_t attempt = 0;
  /// How long a heartbeat extends it.
  int64_t ttl_ms = 0;
  /// When it expires unless renewed (Unix ms).
  int64_t expires_ms = 0;
  std::string taken_at;

  /// The prefix ("/publish/youtube/").
  std::string_view prefix() const noexcept {
    return subject.size() > 6 ? std::string_view{subject}.substr(6)
                              : std::string_view{};
  }

  friend bool operator==(const lease_record&, const lease_record&) = default;
};

/// @relates lease_record
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, lease_record& x) {
  return f(caf::meta::type_name("lease_record"), x.subject, x.task_id,
           x.attempt, x.ttl_ms, x.expires_ms, x.taken_at);
}

/// What the API asks of the limits (to Zenith). `op`: "list" (every budget,
/// quota and lease), "show" (`subject`), "create" or "set" (a budget or
/// quota by `subject`; "set" changes the members given).
struct limits_request {
  std::string op;
  /// "budget:<name>" or "quota:<name>" ("run:<id>" and "lease:<prefix>"
  /// for "show").
  std::string subject;
  /// Budgets: the cap (-1: not given).
  int64_t max_usd_micro = -1;
  /// Quotas: units per window (-1: not given).
  int64_t units = -1;
  /// The window length (-1: not given; 0: none, for budgets).
  int64_t window_ms = -1;
  /// Whether `description` was given (a change sets it then).
  bool has_description = false;
  std::string description;
  /// Who asks (the operator), for the packet.
  std::string by;

  friend bool operator==(const limits_request&, const limits_request&) = default;
};

/// @relates limits_request
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, limits_request& x) {
  return f(caf::meta::type_name("limits_request"), x.op, x.subject,
           x.max_usd_micro, x.units, x.window_ms, x.has_description,
           x.description, x.by);
}

/// The start of the window `at_ms` lies in (windows of `window_ms` aligned
/// to the Unix epoch); 0 when `window_ms` is 0.
int64_t window_start(int64_t at_ms, int64_t window_ms) noexcept;

/// Parses a window: "30s", "15m", "12h", "1d", "500ms" (digits and a unit),
/// within `min_window_ms` .. `max_window_ms`; nullopt otherwise.
std::optional<int64_t> parse_window(std::string_view text);

/// "1d", "12h", "90s", "1500ms": the shortest exact spelling of `ms`.
std::string format_window(int64_t ms);

/// Whether `subject` names a budget ("budget:" and a policy name), a quota
/// ("quota:" ...), a run's spend ("run:" and a UUID) or a lease ("lease:"
/// and a write prefix).
bool is_limits_subject(std::string_view subject) noexcept;

json::value to_json(const budget_record& x);
json::value to_json(const quota_record& x);
json::value to_json(const lease_record& x);

/// Reads a row of table `limits` back (what `to_json` wrote); nullopt with
/// a reason in `why` when it is not one.
std::optional<budget_record> budget_from_json(const json::value& x, std::string& why);
std::optional<quota_record> quota_from_json(const json::value& x, std::string& why);
std::optional<lease_record> lease_from_json(const json::value& x, std::string& why);

/// Reads the body of `POST /api/budgets` / `PUT /api/budgets/{name}` (and
/// the quotas'): `{"name", "max_usd_micro", "window", "description"}`,
/// `{"name", "units", "window", "description"}`. `kind` is "budget" or
/// "quota"; `name` is the path's name for a PUT (empty for a POST, whose
/// body names it). Every problem at once, with its pointer.
std::optional<limits_request> limits_request_from_json(const json::value& body,
                                                       std::string_view kind,
                                                       std::string_view name,
                                                       bool create,
                                                       std::vector<problem>& problems);

} // namespace omniva::contracts
