#include "contracts/error_code.hpp"

#include <caf/make_message.hpp>
#include <caf/message.hpp>

#include <array>

namespace omniva::contracts {

namespace {

/// Names by numeric value; the index is the code's value.
constexpr std::array<std::string_view, ec_count> code_names = {
  "none",
  "invalid_json",
  "invalid_schema",
  "schema_violation",
  "io_error",
  "invalid_argument",
  "unsupported_schema_version",
  "illegal_transition",
  "invalid_contract",
  "duplicate_key",
  "invalid_range",
  "invalid_default",
  "invalid_media_type",
  "empty_command",
  "invalid_ref",
  "module_not_found",
  "missing_input",
  "unknown_input",
  "asset_not_found",
  "asset_failed",
  "kind_mismatch",
  "media_type_mismatch",
  "dtype_mismatch",
  "out_of_range",
  "not_in_enum",
  "pattern_mismatch",
  "too_long",
  "invalid_pattern",
  "semantic_violation",
  "missing_field",
  "unknown_field",
  "type_mismatch",
  "invalid_uuid",
  "invalid_timestamp",
  "invalid_digest",
  "storage_error",
  "corruption",
  "database_locked",
  "unknown_parent",
  "unjustified_state",
  "not_found",
  "immutable_ref",
  "asset_in_use",
  "no_capable_pool",
  "path_not_allowed",
  "unauthorized",
  "exit_code",
  "signal",
  "timeout",
  "missing_manifest",
  "missing_output",
  "output_contract_violation",
  "upstream_failed",
  "cancelled",
  "spawn_failed",
  "too_large",
  "idempotency_conflict",
  "output_too_large",
  "outcome_unknown",
  "schema_too_complex",
  "upstream_cancelled",
  "invalid_filter",
  "forbidden",
  "insufficient_storage",
  "asset_purged",
  "duplicate_blocked",
  "poison_task",
  "lost_worker",
  "quarantined",
  "unresolved_reference",
  "unreachable_step",
  "invalid_pointer",
  "schema_mismatch",
  "scope_mismatch",
  "run_not_active",
  "success_predicate_failed",
  "quota_exceeded",
  "lease_lost",
  "admission_failed",
  "budget_exhausted",
  "quota_exhausted",
  "lease_held",
  "already_exists",
};

static_assert(static_cast<size_t>(ec::already_exists) + 1 == ec_count,
              "ec_count and code_names must grow with the enum");

constexpr std::array<ec, ec_count> make_all_codes() {
  std::array<ec, ec_count> result{};
  for (size_t i = 0; i < ec_count; ++i)
    result[i] = static_cast<ec>(i);
  return result;
}

constexpr std::array<ec, ec_count> all_codes = make_all_codes();

} // namespace

std::span<const ec> all_error_codes() noexcept {
  return all_codes;
}

std::string_view to_string(ec code) noexcept {
  auto index = static_cast<size_t>(code);
  return index < code_names.size() ? code_names[index] : "unknown";
}

std::optional<ec> ec_from_string(std::string_view name) noexcept {
  for (size_t i = 0; i < code_names.size(); ++i)
    if (code_names[i] == name)
      return static_cast<ec>(i);
  return std::nullopt;
}

caf::error make_error(ec code) {
  return caf::error{static_cast<uint8_t>(code), error_category};
}

caf::error make_error(ec code, std::string context) {
  return caf::error{static_cast<uint8_t>(code), error_category,
                    caf::make_message(std::move(context))};
}

caf::error make_error(ec code, std::string message, std::string pointer) {
  return caf::error{static_cast<uint8_t>(code), error_category,
                    caf::make_message(std::move(message), std::move(pointer))};
}

std::string render_error(uint8_t code, caf::atom_value category,
                         const caf::message& context) {
  std::string result{to_string(static_cast<ec>(code))};
  if (category != error_category) {
    // Not ours: say so rather than print a misleading name.
    result = caf::to_string(category);
    result += " error ";
    result += std::to_string(code);
  } else if (context.match_elements<std::string, std::string>()) {
    // make_error(code, message, pointer)
    result += ": ";
    result += context.get_as<std::string>(0);
    if (auto& pointer = context.get_as<std::string>(1); !pointer.empty())
      result += " (at " + pointer + ")";
    return result;
  }
  for (size_t i = 0; i < context.size(); ++i) {
    result += i == 0 ? ": " : " ";
    if (context.match_element<std::string>(i))
      result += context.get_as<std::string>(i);
    else
      result += context.stringify(i);
  }
  return result;
}

std::string to_string(const problem& x) {
  std::string result{to_string(x.code)};
  if (x.pointer.empty()) {
    result += " at the root";
  } else {
    result += " at ";
    result += x.pointer;
  }
  result += ": ";
  result += x.message;
  return result;
}

caf::error make_error(const problem& x) {
  if (x.pointer.empty())
    return make_error(x.code, x.message);
  return make_error(x.code, x.pointer + ": " + x.message);
}

caf::error make_error(const std::vector<problem>& problems, ec if_none) {
  if (problems.empty())
    return make_error(if_none);
  if (problems.size() == 1)
    return make_error(problems.front().code, problems.front().message,
                      problems.front().pointer);
  std::string why;
  for (auto& p : problems) {
    if (!why.empty())
      why += "; ";
    why += std::string{to_string(p.code)} + " "
           + (p.pointer.empty() ? std::string{"(root)"} : p.pointer) + ": " + p.message;
  }
  return make_error(problems.front().code, std::move(why), problems.front().pointer);
}

std::optional<problem> problem_from_error(const caf::error& x) {
  if (x.category() != error_category)
    return std::nullopt;
  problem out;
  out.code = static_cast<ec>(x.code());
  auto& context = x.context();
  if (context.match_elements<std::string, std::string>()) {
    out.message = context.get_as<std::string>(0);
    out.pointer = context.get_as<std::string>(1);
  } else if (context.match_elements<std::string>()) {
    out.message = context.get_as<std::string>(0);
  } else if (!context.empty()) {
    out.message = render_error(x.code(), x.category(), context);
  }
  return out;
}

json::value to_json(const problem& x) {
  json::object result;
  result.emplace_back("code", json::value{to_string(x.code)});
  result.emplace_back("pointer", json::value{x.pointer});
  result.emplace_back("message", json::value{x.message});
  return json::value{std::move(result)};
}

json::value to_json(const std::vector<problem>& xs) {
  json::array result;
  result.reserve(xs.size());
  for (const auto& x : xs)
    result.push_back(to_json(x));
  return json::value{std::move(result)};
}

std::optional<problem> problem_from_json(const json::value& x) {
  if (!x.is_object())
    return std::nullopt;
  auto* code = x.find("code");
  auto* pointer = x.find("pointer");
  auto* message = x.find("message");
  if (code == nullptr || !code->is_string() || pointer == nullptr
      || !pointer->is_string() || message == nullptr || !message->is_string())
    return std::nullopt;
  auto parsed = ec_from_string(code->as_string());
  if (!parsed)
    return std::nullopt;
  return problem{*parsed, pointer->as_string(), message->as_string()};
}

} // namespace omniva::contracts
