#include "contracts/status.hpp"

#include <string>

namespace omniva::contracts {

namespace {

constexpr std::array<std::string_view, all_task_statuses.size()> task_names = {
  "PENDING", "READY", "RUNNING", "DONE", "ERROR", "CANCELLED", "SKIPPED",
};

constexpr std::array<std::string_view, all_asset_statuses.size()> asset_names
  = {"PENDING", "AVAILABLE", "FAILED", "PURGED"};

template <class Status, size_t N>
std::string_view name_of(Status x,
                         const std::array<std::string_view, N>& names) {
  auto index = static_cast<size_t>(x);
  return index < N ? names[index] : std::string_view{"UNKNOWN"};
}

template <class Status, size_t N>
std::optional<Status> parse(std::string_view name,
                            const std::array<std::string_view, N>& names) {
  for (size_t i = 0; i < N; ++i)
    if (names[i] == name)
      return static_cast<Status>(i);
  return std::nullopt;
}

template <class Status>
problem illegal(std::string_view what, Status from, Status to) {
  std::string message{what};
  message += " status cannot change from ";
  message += to_string(from);
  message += " to ";
  message += to_string(to);
  return problem{ec::illegal_transition, "/status", std::move(message)};
}

} // namespace

std::string_view to_string(task_status x) noexcept {
  return name_of(x, task_names);
}

std::optional<task_status>
task_status_from_string(std::string_view name) noexcept {
  return parse<task_status>(name, task_names);
}

std::optional<problem> check_transition(task_status from, task_status to) {
  if (can_transition(from, to))
    return std::nullopt;
  return illegal("task", from, to);
}

std::string_view to_string(asset_status x) noexcept {
  return name_of(x, asset_names);
}

std::optional<asset_status>
asset_status_from_string(std::string_view name) noexcept {
  return parse<asset_status>(name, asset_names);
}

std::optional<problem> check_transition(asset_status from, asset_status to) {
  if (can_transition(from, to))
    return std::nullopt;
  return illegal("asset", from, to);
}

} // namespace omniva::contracts
