#pragma once

// Eclipse's pure logic (docs/engines.md, "Eclipse"): failure
// classification, retry plans with seeded jitter, circuit breakers. The
// actor (actors/eclipse.hpp) only feeds batches through it.

#include "contracts/engines.hpp"

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace omniva::eclipse {

/// How Eclipse judges (node options `omniva.breaker-threshold`,
/// `omniva.breaker-cooldown-ms`, `omniva.poison-after`, the node's seed).
struct settings {
  /// Consecutive failures that open a breaker. Default 5.
  uint32_t breaker_threshold = 5;
  /// How long an open breaker waits before one probe. Default 60 s.
  std::chrono::milliseconds cooldown = std::chrono::seconds{60};
  /// Attempts lost with their worker after which a task is poison (0:
  /// never). Default 3.
  uint32_t poison_after = 3;
  /// Seeds the jitter (a simulation's seed; else the node's start time).
  uint64_t seed = 0;
};

/// Whose doing a failure is: the module's (its exit codes, contract
/// violations, its timeouts) or the pool's (lost workers, failures to start
/// a process, kills by the system: `lost_worker`, `spawn_failed`,
/// `signal`).
enum class blame : uint8_t { module, pool };

/// Returns whose doing a failure with `code` is.
blame blame_of(std::string_view code) noexcept;

/// Whether a failed attempt is worth retrying: transient codes (`timeout`,
/// `signal`, `lost_worker`, `spawn_failed`, `io_error`), a report marked
/// transient (a module's manifest error with `"transient": true`), or a
/// code the policy lists in `retry_on`. Everything else (a plain non-zero
/// exit, `missing_output`, `output_contract_violation`, a manifest error
/// without `transient`) is deterministic.
bool is_transient(const contracts::attempt_report& r);

/// The pause before retry `retry` (1 for the first retry) of task
/// `task_id` under `policy`: `backoff_ms[retry - 1]` (the last value for
/// later ones; 0 when empty) with jitter of ±`jitter_pct`% drawn from
/// (seed, task id, retry) alone, so the same inputs give the same pause.
uint32_t backoff_ms(const contracts::policy_entry& policy, uint32_t retry,
                    uint64_t seed, std::string_view task_id);

/// The plan for one failed attempt: `poison` when the attempt was lost
/// and the task's lost attempts reached `poison_after` (this wins over
/// max_attempts); `fail` when deterministic or out of attempts (`code` the
/// failure's own); else `retry` after `backoff_ms`, avoiding the pool that
/// failed.
contracts::retry_plan plan(const contracts::attempt_report& r, const settings& s);

/// The circuit breakers, per module ref and per pool.
class breakers {
public:
  explicit breakers(settings s = {}) : settings_(s) {
  }

  /// Counts one attempt's end and returns the breakers whose state changes:
  /// a failure counts against the module's breaker or the pool's (by
  /// `blame_of`); the threshold opens it; a success resets the module's
  /// and the pool's count (an open breaker's stays: only its probe or a
  /// `reset` releases it); a probe's success closes the half-open breakers
  /// of its module and pool (the readiness signal), a probe's failure
  /// opens them again, whoever is blamed.
  std::vector<contracts::breaker_advice>
  observe(const contracts::attempt_report& r);

  /// Marks `target` half-open (Zenith let the cool-down pass): the next
  /// report with `probe` decides.
  void probing(const std::string& target);

  /// Forgets `target`'s count and state (an operator released it).
  void reset(const std::string& target);

  /// Marks `target` open (Zenith committed its quarantine: an operator's,
  /// or this breaker's own advice), keeping its count: no success releases
  /// it until `probing` (then the probe decides) or `reset`.
  void mark_open(const std::string& target);

  /// `target`'s consecutive failures.
  uint32_t failures(const std::string& target) const;

  /// Whether `target`'s breaker is open or half-open.
  bool is_open(const std::string& target) const;

private:
  struct breaker {
    /// Consecutive failures counted.
    uint32_t failures = 0;
    /// Open or half-open: nothing but a probe is dispatched to it.
    bool open = false;
    /// Half-open: the next report with `probe` closes or reopens it.
    bool half_open = false;
  };
  settings settings_;
  std::map<std::string, breaker> state_;
};

/// Advises on one batch of attempt reports: a plan for each failure (in
/// order) and the breaker changes.
contracts::eclipse_advice advise(const std::vector<contracts::attempt_report>& reports,
                                 breakers& b, const settings& s);

} // namespace omniva::eclipse
