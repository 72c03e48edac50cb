// Fault plans: reading and checking their JSON form, the seeded draws, and
// the decision for one order (contracts/faults.hpp).

#include "contracts/faults.hpp"

#include "contracts/registry_store.hpp"

#include <algorithm>
#include <array>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <utility>

namespace omniva::contracts {

namespace {

/// The longest `delay_ms` a slow rule may have: one day.
constexpr int64_t max_delay_ms = 24 * 60 * 60 * 1000;

/// The members a plan document may have.
constexpr std::array<std::string_view, 2> plan_members{"seed", "rules"};

/// The members a rule may have.
constexpr std::array<std::string_view, 8> rule_members{
  "module", "pool", "attempts", "rate", "fault", "code", "message", "delay_ms"};

template <size_t N>
bool known(const std::array<std::string_view, N>& names, std::string_view key) {
  return std::find(names.begin(), names.end(), key) != names.end();
}

/// The name of `x`'s JSON type with an article, for messages.
std::string a_type(const json::value& x) {
  auto name = std::string{json::to_string(x.type())};
  auto vowel = name.front() == 'a' || name.front() == 'i' || name.front() == 'o'
               || name.front() == 'u';
  return (vowel ? "an " : "a ") + name;
}

/// The default error code of a failing fault.
ec default_code(fault_kind k) noexcept {
  return k == fault_kind::fail ? ec::exit_code : ec::io_error;
}

/// Checks one rule at `at` (its pointer), adding problems to `problems`.
fault_rule check_rule(const json::value& x, const std::string& at,
                      std::vector<problem>& problems) {
  fault_rule r;
  if (!x.is_object()) {
    problems.push_back({ec::type_mismatch, at,
                        "a rule is an object, not " + a_type(x)});
    return r;
  }
  auto report = [&](ec code, std::string_view member, std::string message) {
    problems.push_back({code, json::append_pointer(at, member), std::move(message)});
  };
  for (auto& [key, value] : x.as_object())
    if (!known(rule_members, key))
      report(ec::unknown_field, key,
             "a rule has no member '" + key
               + "' (it knows module, pool, attempts, rate, fault, code, "
                 "message and delay_ms)");
  if (auto* v = x.find("module")) {
    if (!v->is_string())
      report(ec::type_mismatch, "module",
             "module is a module ref or \"*\", not " + a_type(*v));
    else if (v->as_string() != "*" && !is_registry_ref(v->as_string()))
      report(ec::invalid_ref, "module",
             "module must be \"*\" or a module ref name@version, not '"
               + v->as_string() + "'");
    else
      r.module = v->as_string();
  }
  if (auto* v = x.find("pool")) {
    if (!v->is_string())
      report(ec::type_mismatch, "pool",
             "pool is a pool name or \"*\", not " + a_type(*v));
    else if (v->as_string().empty())
      report(ec::invalid_argument, "pool",
             "pool must name a pool, or be \"*\" for any");
    else
      r.pool = v->as_string();
  }
  if (auto* v = x.find("attempts")) {
    if (!v->is_array()) {
      report(ec::type_mismatch, "attempts",
             "attempts is an array of attempt numbers, not " + a_type(*v));
    } else if (v->as_array().empty()) {
      report(ec::invalid_range, "attempts",
             "attempts must list at least one attempt (leave it out for "
             "every attempt)");
    } else {
      auto& items = v->as_array();
      auto base = json::append_pointer(at, "attempts");
      for (size_t i = 0; i < items.size(); ++i) {
        auto n = items[i].is_number() ? items[i].as_int64() : std::nullopt;
        if (!items[i].is_number())
          problems.push_back({ec::type_mismatch, json::append_pointer(base, i),
                              "an attempt is a number, not " + a_type(items[i])});
        else if (!n || *n < 1 || *n > UINT32_MAX)
          problems.push_back({ec::out_of_range, json::append_pointer(base, i),
                              "an attempt is a whole number from 1, not "
                                + json::serialize(items[i])});
        else
          r.attempts.push_back(static_cast<uint32_t>(*n));
      }
    }
  }
  if (auto* v = x.find("rate")) {
    if (!v->is_number())
      report(ec::type_mismatch, "rate",
             "rate is a number from 0 to 1, not " + a_type(*v));
    else if (auto d = v->as_double(); !(d >= 0 && d <= 1))
      report(ec::out_of_range, "rate",
             "rate must be from 0 to 1, not " + json::serialize(*v));
    else
      r.rate = d;
  }
  bool kind_known = false;
  if (auto* v = x.find("fault")) {
    if (!v->is_string()) {
      report(ec::type_mismatch, "fault",
             "fault is one of silent, transient, fail and slow, not "
               + a_type(*v));
    } else if (auto k = fault_kind_from_string(v->as_string()); !k) {
      report(ec::not_in_enum, "fault",
             "fault must be one of silent, transient, fail and slow, not '"
               + v->as_string() + "'");
    } else {
      r.fault = *k;
      kind_known = true;
    }
  } else {
    report(ec::missing_field, "fault",
           "a rule needs a fault: silent, transient, fail or slow");
  }
  auto fails = r.fault == fault_kind::transient || r.fault == fault_kind::fail;
  if (kind_known && fails)
    r.code = default_code(r.fault);
  if (auto* v = x.find("code")) {
    if (!v->is_string()) {
      report(ec::type_mismatch, "code",
             "code is the name of an error code, not " + a_type(*v));
    } else if (auto c = ec_from_string(v->as_string()); !c || *c == ec::none) {
      report(ec::not_in_enum, "code",
             "code must name an error code (io_error, timeout, exit_code, "
             "...), not '"
               + v->as_string() + "'");
    } else if (kind_known && !fails) {
      report(ec::invalid_argument, "code",
             "code applies to transient and fail faults only, not to "
               + std::string{to_string(r.fault)});
    } else {
      r.code = *c;
    }
  }
  if (auto* v = x.find("message")) {
    if (!v->is_string())
      report(ec::type_mismatch, "message", "message is a string, not " + a_type(*v));
    else if (kind_known && !fails)
      report(ec::invalid_argument, "message",
             "message applies to transient and fail faults only, not to "
               + std::string{to_string(r.fault)});
    else
      r.message = v->as_string();
  }
  if (auto* v = x.find("delay_ms")) {
    auto n = v->is_number() ? v->as_int64() : std::nullopt;
    if (!v->is_number())
      report(ec::type_mismatch, "delay_ms",
             "delay_ms is a number of milliseconds, not " + a_type(*v));
    else if (!n || *n < 0 || *n > max_delay_ms)
      report(ec::out_of_range, "delay_ms",
             "delay_ms must be a whole number of milliseconds from 0 to "
             "86400000 (one day), not "
               + json::serialize(*v));
    else if (kind_known && r.fault != fault_kind::slow)
      report(ec::invalid_argument, "delay_ms",
             "delay_ms applies to slow faults only, not to "
               + std::string{to_string(r.fault)});
    else
      r.delay = std::chrono::milliseconds{*n};
  } else if (kind_known && r.fault == fault_kind::slow) {
    report(ec::invalid_argument, "delay_ms",
           "a slow fault needs delay_ms, the milliseconds before the "
           "attempt runs");
  }
  return r;
}

/// FNV-1a, 64 bits: a stable hash of `s` (std::hash is not stable across
/// builds, and the draws must be).
uint64_t fnv1a(std::string_view s) noexcept {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : s) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h;
}

/// splitmix64's finaliser: spreads every input bit over the output.
uint64_t mix(uint64_t z) noexcept {
  z += 0x9E3779B97F4A7C15ULL;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

/// "any module" or "module flaky@1", and so on, for `describe`.
std::string describe_rule(const fault_rule& r) {
  std::ostringstream out;
  out << to_string(r.fault);
  if (r.fault == fault_kind::slow)
    out << ' ' << r.delay.count() << " ms";
  if (r.fault == fault_kind::transient || r.fault == fault_kind::fail)
    out << " (" << to_string(r.code) << ')';
  out << " for " << (r.module == "*" ? "any module" : "module " + r.module);
  if (r.pool != "*")
    out << " in pool " << r.pool;
  if (!r.attempts.empty()) {
    out << " attempts ";
    for (size_t i = 0; i < r.attempts.size(); ++i)
      out << (i ? "," : "") << r.attempts[i];
  }
  if (r.rate < 1)
    out << " at rate " << r.rate;
  return out.str();
}

} // namespace

std::string_view to_string(fault_kind k) noexcept {
  switch (k) {
    case fault_kind::silent:
      return "silent";
    case fault_kind::transient:
      return "transient";
    case fault_kind::fail:
      return "fail";
    case fault_kind::slow:
      return "slow";
  }
  return "unknown";
}

std::optional<fault_kind> fault_kind_from_string(std::string_view name) noexcept {
  for (auto k : {fault_kind::silent, fault_kind::transient, fault_kind::fail,
                 fault_kind::slow})
    if (to_string(k) == name)
      return k;
  return std::nullopt;
}

fault_plan_check check_fault_plan(const json::value& doc) {
  fault_plan_check out;
  fault_plan plan;
  auto& problems = out.problems;
  if (!doc.is_object()) {
    problems.push_back({ec::type_mismatch, "",
                        "a fault plan is an object with seed and rules, not "
                          + a_type(doc)});
    return out;
  }
  for (auto& [key, value] : doc.as_object())
    if (!known(plan_members, key))
      problems.push_back({ec::unknown_field, json::append_pointer("", key),
                          "a fault plan has no member '" + key
                            + "' (it knows seed and rules)"});
  if (auto* v = doc.find("seed")) {
    if (auto* u = std::get_if<uint64_t>(&v->data()))
      plan.seed = *u;
    else if (!v->is_number())
      problems.push_back({ec::type_mismatch, "/seed",
                          "seed is a whole number, not " + a_type(*v)});
    else if (auto n = v->as_int64(); !n || *n < 0)
      problems.push_back({ec::out_of_range, "/seed",
                          "seed must be a whole number from 0 to 2^64-1, not "
                            + json::serialize(*v)});
    else
      plan.seed = static_cast<uint64_t>(*n);
  }
  if (auto* v = doc.find("rules")) {
    if (!v->is_array()) {
      problems.push_back({ec::type_mismatch, "/rules",
                          "rules is an array of rules, not " + a_type(*v)});
    } else {
      auto& items = v->as_array();
      for (size_t i = 0; i < items.size(); ++i)
        plan.rules.push_back(
          check_rule(items[i], json::append_pointer("/rules", i), problems));
    }
  } else {
    problems.push_back({ec::missing_field, "/rules",
                        "a fault plan needs rules (an array, tried in order)"});
  }
  if (problems.empty())
    out.plan = std::move(plan);
  return out;
}

fault_plan_check check_fault_plan_text(std::string_view text) {
  auto doc = json::parse(text, json::default_max_depth, json::duplicates::refuse);
  if (!doc) {
    fault_plan_check out;
    if (doc.error.duplicate_key)
      out.problems.push_back({ec::duplicate_key, doc.error.pointer,
                              doc.error.message});
    else
      out.problems.push_back({ec::invalid_json, "", doc.error.message});
    return out;
  }
  return check_fault_plan(*doc.doc);
}

fault_plan_check load_fault_plan(const std::string& path) {
  auto refuse = [&](const std::string& why) {
    fault_plan_check out;
    out.problems.push_back({ec::io_error, "",
                            "cannot read the fault plan " + path + ": " + why});
    return out;
  };
  std::error_code err;
  if (!std::filesystem::exists(path, err))
    return refuse("no such file");
  if (!std::filesystem::is_regular_file(path, err))
    return refuse("not a file");
  std::ifstream in{path, std::ios::binary};
  if (!in)
    return refuse("it does not open");
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad())
    return refuse("reading it failed");
  return check_fault_plan_text(text.str());
}

json::value to_json(const fault_plan& x) {
  json::array rules;
  for (auto& r : x.rules) {
    json::value rule{json::object{}};
    rule.set("module", r.module);
    rule.set("pool", r.pool);
    if (!r.attempts.empty()) {
      json::array attempts;
      for (auto n : r.attempts)
        attempts.emplace_back(int64_t{n});
      rule.set("attempts", std::move(attempts));
    }
    rule.set("rate", r.rate);
    rule.set("fault", std::string{to_string(r.fault)});
    if (r.fault == fault_kind::transient || r.fault == fault_kind::fail) {
      rule.set("code", std::string{to_string(r.code)});
      if (!r.message.empty())
        rule.set("message", r.message);
    }
    if (r.fault == fault_kind::slow)
      rule.set("delay_ms", static_cast<int64_t>(r.delay.count()));
    rules.push_back(std::move(rule));
  }
  json::value out{json::object{}};
  out.set("seed", x.seed);
  out.set("rules", std::move(rules));
  return out;
}

double fault_draw(uint64_t seed, size_t rule,
                  std::string_view execution_id) noexcept {
  auto z = mix(mix(seed ^ fnv1a(execution_id)) + rule);
  // The top 53 bits: every double in [0, 1) a multiple of 2^-53.
  return static_cast<double>(z >> 11) * 0x1.0p-53;
}

bool matches(const fault_rule& rule, const dispatch_order& order,
             std::string_view pool_name) {
  if (rule.module != "*" && rule.module != order.task.module_ref)
    return false;
  if (rule.pool != "*" && rule.pool != pool_name)
    return false;
  if (!rule.attempts.empty()
      && std::find(rule.attempts.begin(), rule.attempts.end(),
                   order.task.attempt)
           == rule.attempts.end())
    return false;
  return true;
}

std::optional<injected_fault> decide(const fault_plan& plan,
                                     const dispatch_order& order,
                                     std::string_view pool_name) {
  for (size_t i = 0; i < plan.rules.size(); ++i) {
    auto& r = plan.rules[i];
    if (!matches(r, order, pool_name))
      continue;
    // A rate of 1 always applies, 0 never, whatever the draw.
    if (r.rate < 1 && !(fault_draw(plan.seed, i, order.execution_id) < r.rate))
      continue;
    injected_fault f;
    f.kind = r.fault;
    f.rule = i;
    f.delay = r.delay;
    auto rule_name = "fault plan rule " + std::to_string(i + 1);
    switch (r.fault) {
      case fault_kind::silent:
        f.transient = true;
        f.message = "injected fault: the worker goes silent (" + rule_name + ")";
        break;
      case fault_kind::transient:
        f.code = r.code == ec::none ? default_code(r.fault) : r.code;
        f.transient = true;
        f.message = "injected fault: "
                    + (r.message.empty() ? "a transient failure" : r.message)
                    + " (" + rule_name + ")";
        break;
      case fault_kind::fail:
        f.code = r.code == ec::none ? default_code(r.fault) : r.code;
        f.transient = false;
        f.message = "injected fault: "
                    + (r.message.empty() ? "a deterministic failure" : r.message)
                    + " (" + rule_name + ")";
        break;
      case fault_kind::slow:
        f.message = "injected fault: the attempt waits "
                    + std::to_string(r.delay.count()) + " ms before it runs ("
                    + rule_name + ")";
        break;
    }
    return f;
  }
  return std::nullopt;
}

std::string describe(const fault_plan& x) {
  std::string out = "seed " + std::to_string(x.seed) + ", "
                    + std::to_string(x.rules.size())
                    + (x.rules.size() == 1 ? " rule" : " rules");
  for (size_t i = 0; i < x.rules.size(); ++i)
    out += (i == 0 ? ": " : "; ") + describe_rule(x.rules[i]);
  return out;
}

} // namespace omniva::contracts
