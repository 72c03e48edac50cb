#include "contracts/eclipse.hpp"

#include "contracts/error_code.hpp"
#include "contracts/packet.hpp" // sha256

#include <fmt/format.h>

#include <algorithm>
#include <limits>

namespace omniva::eclipse {

namespace {

using contracts::ec;
using contracts::to_string;

/// Whether `code` is the name of `x`.
bool is(std::string_view code, ec x) noexcept {
  return code == to_string(x);
}

/// Clamps `x` to the range of uint32.
uint32_t clamp_u32(uint64_t x) noexcept {
  return static_cast<uint32_t>(
    std::min<uint64_t>(x, std::numeric_limits<uint32_t>::max()));
}

/// The cool-down in ms, as a breaker advice carries it.
uint32_t cooldown_ms(const settings& s) noexcept {
  auto ms = s.cooldown.count();
  return ms <= 0 ? 0 : clamp_u32(static_cast<uint64_t>(ms));
}

/// Appends `x` to `out` as 8 bytes, big endian.
void append_u64(std::string& out, uint64_t x) {
  for (int shift = 56; shift >= 0; shift -= 8)
    out.push_back(static_cast<char>(static_cast<uint8_t>(x >> shift)));
}

/// A 64-bit draw from (seed, task id, retry) alone: the first 8 bytes of
/// SHA-256 over them (the task id length-prefixed).
uint64_t jitter_draw(uint64_t seed, std::string_view task_id, uint32_t retry) {
  std::string material = "omniva.eclipse.jitter.v1";
  append_u64(material, seed);
  append_u64(material, task_id.size());
  material.append(task_id);
  append_u64(material, retry);
  auto d = contracts::sha256(material);
  uint64_t out = 0;
  for (size_t i = 0; i < 8; ++i)
    out = out << 8 | d[i];
  return out;
}

} // namespace

blame blame_of(std::string_view code) noexcept {
  if (is(code, ec::lost_worker) || is(code, ec::spawn_failed)
      || is(code, ec::signal))
    return blame::pool;
  return blame::module;
}

bool is_transient(const contracts::attempt_report& r) {
  if (r.transient)
    return true;
  for (auto x : {ec::timeout, ec::signal, ec::lost_worker, ec::spawn_failed,
                 ec::io_error})
    if (is(r.code, x))
      return true;
  auto& extra = r.policy.retry_on;
  return std::find(extra.begin(), extra.end(), r.code) != extra.end();
}

uint32_t backoff_ms(const contracts::policy_entry& policy, uint32_t retry,
                    uint64_t seed, std::string_view task_id) {
  auto& steps = policy.backoff_ms;
  if (steps.empty())
    return 0;
  size_t index = std::min<size_t>(std::max<uint32_t>(retry, 1), steps.size()) - 1;
  uint64_t base = steps[index];
  uint64_t pct = std::min<uint32_t>(policy.jitter_pct, 100);
  if (base == 0 || pct == 0)
    return clamp_u32(base);
  // [base * (1 - pct/100), base * (1 + pct/100)] in whole milliseconds.
  uint64_t lo = (base * (100 - pct) + 99) / 100;
  uint64_t hi = base * (100 + pct) / 100;
  if (hi < lo)
    return clamp_u32(base);
  return clamp_u32(lo + jitter_draw(seed, task_id, retry) % (hi - lo + 1));
}

contracts::retry_plan plan(const contracts::attempt_report& r, const settings& s) {
  contracts::retry_plan p;
  p.task_id = r.task_id;
  p.attempt = r.attempt;
  bool transient = is_transient(r);
  p.failure_class = transient ? "transient" : "deterministic";
  auto policy = r.policy.ref.empty() ? std::string{"default@1"} : r.policy.ref;
  if (is(r.code, ec::lost_worker) && s.poison_after > 0
      && r.lost_attempts >= s.poison_after) {
    p.action = "poison";
    p.code = std::string{to_string(ec::poison_task)};
    p.reason = fmt::format(
      "The task's worker was lost on {} attempts (the node's limit is {}), so "
      "the task is poison and is not run again.",
      r.lost_attempts, s.poison_after);
    return p;
  }
  p.code = r.code;
  if (!transient) {
    p.action = "fail";
    p.reason = fmt::format(
      "The failure {} is deterministic, so running the task again would fail "
      "the same way.",
      r.code);
    return p;
  }
  if (r.attempt >= r.policy.max_attempts) {
    p.action = "fail";
    p.reason = fmt::format(
      "The failure {} is transient, but the task has used all {} attempts its "
      "policy {} allows.",
      r.code, r.policy.max_attempts, policy);
    return p;
  }
  p.action = "retry";
  p.delay_ms = backoff_ms(r.policy, r.attempt, s.seed, r.task_id);
  p.avoid_pool = r.pool;
  p.reason = fmt::format(
    "The failure {} is transient: attempt {} of {} (policy {}) runs after {} "
    "ms, in another pool than {} when one fits.",
    r.code, r.attempt + 1, r.policy.max_attempts, policy, p.delay_ms, r.pool);
  return p;
}

std::vector<contracts::breaker_advice>
breakers::observe(const contracts::attempt_report& r) {
  std::vector<contracts::breaker_advice> out;
  auto module = contracts::module_target(r.module_ref);
  auto pool = contracts::pool_target(r.pool);
  auto open_advice = [&](const std::string& target, const breaker& b,
                         std::string reason) {
    out.push_back({target, "open", b.failures, cooldown_ms(settings_),
                   std::move(reason)});
  };
  if (r.ok) {
    for (auto* target : {&module, &pool}) {
      auto i = state_.find(*target);
      if (i == state_.end())
        continue;
      auto& b = i->second;
      if (b.half_open && r.probe) {
        state_.erase(i);
        out.push_back({*target, "closed", 0, 0, "probe succeeded: ready again"});
      } else if (!b.open) {
        state_.erase(i); // count back to zero
      }
      // Open and not probed: an operator's quarantine (or a breaker that
      // waits for its probe) is not released by a success.
    }
    return out;
  }
  auto& blamed = blame_of(r.code) == blame::pool ? pool : module;
  // A probe's failure reopens every half-open breaker it was the probe of,
  // whoever is blamed: the probe did not show the target ready.
  bool blamed_reopened = false;
  if (r.probe) {
    for (auto* target : {&module, &pool}) {
      auto i = state_.find(*target);
      if (i == state_.end() || !i->second.half_open)
        continue;
      auto& b = i->second;
      b.half_open = false;
      if (*target == blamed) {
        ++b.failures;
        blamed_reopened = true;
      }
      open_advice(*target, b,
                  fmt::format("The probe failed with {}: quarantined again for "
                              "{} ms before the next probe.",
                              r.code, cooldown_ms(settings_)));
    }
  }
  if (blamed_reopened)
    return out;
  auto& b = state_[blamed];
  ++b.failures;
  if (!b.open && b.failures >= settings_.breaker_threshold) {
    b.open = true;
    open_advice(blamed, b,
                fmt::format("{} consecutive failures of {} (the last: {}): "
                            "quarantined for {} ms before a probe.",
                            b.failures, blamed, r.code, cooldown_ms(settings_)));
  }
  return out;
}

void breakers::probing(const std::string& target) {
  auto& b = state_[target];
  b.open = true;
  b.half_open = true;
}

void breakers::reset(const std::string& target) {
  state_.erase(target);
}

void breakers::mark_open(const std::string& target) {
  auto& b = state_[target];
  b.open = true;
  b.half_open = false;
}

uint32_t breakers::failures(const std::string& target) const {
  auto i = state_.find(target);
  return i == state_.end() ? 0 : i->second.failures;
}

bool breakers::is_open(const std::string& target) const {
  auto i = state_.find(target);
  return i != state_.end() && i->second.open;
}

contracts::eclipse_advice advise(const std::vector<contracts::attempt_report>& reports,
                                 breakers& b, const settings& s) {
  contracts::eclipse_advice out;
  for (auto& r : reports) {
    if (!r.ok)
      out.plans.push_back(plan(r, s));
    auto changes = b.observe(r);
    out.breakers.insert(out.breakers.end(),
                        std::make_move_iterator(changes.begin()),
                        std::make_move_iterator(changes.end()));
  }
  return out;
}

} // namespace omniva::eclipse
