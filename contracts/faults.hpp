#pragma once

// Seeded fault injection for the worker pools: a testing and simulation
// feature (docs/operations.md, "Fault injection"). A fault plan is a seed
// and a list of rules; for each order a pool is handed, the first rule that
// matches decides what goes wrong with it instead of (or before) running:
//
// - `silent`: the attempt never reports and no heartbeat is sent for it:
//   its worker is lost, and Zenith's heartbeat check
//   (`omniva.heartbeat-timeout-ms`) runs the task again as a new attempt;
// - `transient`: the attempt fails at once with a transient error (code
//   `io_error` unless the rule names another);
// - `fail`: the attempt fails at once with a deterministic error (code
//   `exit_code` unless the rule names another);
// - `slow`: the attempt runs after `delay_ms`.
//
// A rule matches by module ref (or "*"), pool name, attempt numbers and a
// rate. The rate is drawn from the plan's seed, the rule's position and the
// order's execution id alone, so the same run injects the same faults.
//
// The JSON form, as `omniva serve --faults FILE` reads it:
//
//   {"seed": 7, "rules": [
//     {"module": "flaky@1", "attempts": [1, 2], "fault": "silent"},
//     {"module": "*", "rate": 0.05, "fault": "transient"},
//     {"pool": "default", "fault": "slow", "delay_ms": 200}]}
//
// A rule's members: `fault` (required), `module`, `pool`, `attempts`,
// `rate`, `code` and `message` (transient and fail), `delay_ms` (slow,
// required there).

#include "contracts/error_code.hpp"
#include "contracts/json.hpp"
#include "contracts/node_messages.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace omniva::contracts {

/// What goes wrong with an attempt.
enum class fault_kind : uint8_t {
  /// The attempt is accepted and dropped: no run, no outcome, no heartbeat.
  silent,
  /// The attempt fails at once with a transient error (a retry may succeed).
  transient,
  /// The attempt fails at once with a deterministic error.
  fail,
  /// The attempt runs after a delay.
  slow,
};

/// Returns the JSON name of `k` ("silent", "transient", "fail", "slow").
std::string_view to_string(fault_kind k) noexcept;

/// Returns the kind named `name`, nullopt when there is none.
std::optional<fault_kind> fault_kind_from_string(std::string_view name) noexcept;

/// One rule of a fault plan. Every condition must hold for it to match.
struct fault_rule {
  /// The module ref the order's task runs ("flaky@1"); "*": any. Default: "*".
  std::string module = "*";
  /// The pool the order was sent to; "*": any. Default: "*".
  std::string pool = "*";
  /// The attempt numbers (from 1) it applies to; empty: every attempt.
  std::vector<uint32_t> attempts;
  /// The share of matching orders it applies to, in [0, 1], drawn by
  /// `fault_draw`. Default: 1 (every one).
  double rate = 1;
  /// What goes wrong.
  fault_kind fault = fault_kind::transient;
  /// The outcome's error code for `transient` (default `io_error`) and
  /// `fail` (default `exit_code`); `none` for the other kinds.
  ec code = ec::none;
  /// Words for the outcome's message after "injected fault: "; empty: a
  /// sentence naming the kind and the rule.
  std::string message;
  /// For `slow`: how long the attempt waits before it runs.
  std::chrono::milliseconds delay{0};

  friend bool operator==(const fault_rule&, const fault_rule&) = default;
};

/// A seed and rules, first match wins.
struct fault_plan {
  /// Seeds the rates' draws. Default: 0.
  uint64_t seed = 0;
  /// The rules, in the order they are tried.
  std::vector<fault_rule> rules;

  friend bool operator==(const fault_plan&, const fault_plan&) = default;
};

/// Either a plan or every problem found in its document.
struct fault_plan_check {
  /// Set when the document is a valid plan.
  std::optional<fault_plan> plan;
  /// Every problem, with the JSON pointer of the member at fault; empty
  /// when `plan` is set.
  std::vector<problem> problems;

  explicit operator bool() const noexcept {
    return plan.has_value();
  }
};

/// Checks a plan document and builds the plan. Problems, all reported at
/// once:
/// - `type_mismatch`: the document, `rules` or a rule is not an object or
///   array as due, or a member has the wrong JSON type;
/// - `missing_field` ("/rules", ".../fault"): a required member is absent;
/// - `unknown_field`: a member the plan does not know;
/// - `not_in_enum` (".../fault", ".../code"): a fault kind or an error code
///   name that does not exist (`none` included);
/// - `invalid_ref` (".../module"): neither "*" nor `name@version`;
/// - `out_of_range`: a negative seed, a rate outside [0, 1], an attempt
///   below 1, a `delay_ms` below 0 or above one day;
/// - `invalid_range` (".../attempts"): an empty list of attempts;
/// - `invalid_argument`: a member that does not apply to the rule's fault
///   (`delay_ms` outside `slow`, `code` and `message` outside `transient`
///   and `fail`), a `slow` rule without `delay_ms` (at its pointer), an
///   empty `pool`.
/// Pure; thread-safe.
fault_plan_check check_fault_plan(const json::value& doc);

/// The same for a text; one `invalid_json` (or `duplicate_key` at the
/// second member's pointer) when it is not JSON a plan may be.
fault_plan_check check_fault_plan_text(std::string_view text);

/// The same for a file; one `io_error` when it cannot be read.
fault_plan_check load_fault_plan(const std::string& path);

/// Returns the plan's JSON form; `check_fault_plan(to_json(x))` gives `x`
/// back.
json::value to_json(const fault_plan& x);

/// The draw of rule `rule` for execution `execution_id` under `seed`:
/// uniform in [0, 1), a function of its arguments alone (splitmix64 over
/// an FNV-1a hash of the id). A rule with rate r applies when the draw is
/// below r.
double fault_draw(uint64_t seed, size_t rule, std::string_view execution_id) noexcept;

/// A fault decided for one order.
struct injected_fault {
  /// What goes wrong.
  fault_kind kind = fault_kind::transient;
  /// The outcome's error code (`transient`, `fail`); else `none`.
  ec code = ec::none;
  /// Whether a retry may succeed: true for `transient` (and `silent`, whose
  /// attempt Zenith takes for `lost_worker`).
  bool transient = false;
  /// "injected fault: ..." for the outcome or the log.
  std::string message;
  /// For `slow`: the delay before the attempt runs.
  std::chrono::milliseconds delay{0};
  /// The rule that matched, from 0.
  size_t rule = 0;

  friend bool operator==(const injected_fault&, const injected_fault&) = default;
};

/// Whether `rule` matches `order` sent to pool `pool_name` (the rate is
/// not drawn here).
bool matches(const fault_rule& rule, const dispatch_order& order,
             std::string_view pool_name);

/// What goes wrong with `order` in pool `pool_name`: the first rule that
/// matches and whose draw falls below its rate; nullopt when none does.
/// Pure: the same plan, order and pool give the same answer.
std::optional<injected_fault> decide(const fault_plan& plan,
                                     const dispatch_order& order,
                                     std::string_view pool_name);

/// One line for the logs: "seed 7, 3 rules: silent for module flaky@1
/// attempts 1,2; transient for any module at rate 0.05; slow 200 ms in
/// pool default".
std::string describe(const fault_plan& x);

} // namespace omniva::contracts
