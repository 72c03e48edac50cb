#pragma once

// Budgets, quotas, leases and predicates over HTTP (api_limits.cpp,
// docs/policies.md) and the spend of a budget, a run or a quota as the
// lineage records it.

#include "contracts/json.hpp"
#include "storage/reader.hpp"

#include <caf/expected.hpp>

#include <cstdint>
#include <string>

namespace omniva::runtime {

/// What the lineage says a budget, a run's cap or a quota has used.
struct limits_history {
  /// Budgets and runs: charged in the window from `window_start_ms` on.
  int64_t spent_usd_micro = 0;
  /// Budgets and runs: reserved by attempts not settled.
  int64_t reserved_usd_micro = 0;
  /// Quotas: units charged in the window.
  int64_t used_units = 0;
  /// The packets that changed it.
  uint64_t events = 0;
  /// After each of those packets (the last `max_points`): `{"at", "seq",
  /// "spent_usd_micro", "reserved_usd_micro"}` or `{"at", "seq",
  /// "used_units"}`.
  json::array series;
};

/// Adds up the history of `subject` ("budget:<name>", "run:<id>",
/// "quota:<name>"): the reservations of the dispatches that name it, the
/// settlements of their attempts and of restarts, the quota units charged;
/// spend and units only from `window_start_ms` on (0: all time).
caf::expected<limits_history>
limits_from_lineage(const storage::reader& reader, const std::string& subject,
                    int64_t window_start_ms, size_t max_points = 500);

} // namespace omniva::runtime
