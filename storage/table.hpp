#pragma once

// The state tables of a database, by name: what a reader asks for and what a
// commit writes to. Readers include this header, never storage/commit.hpp
// (the write capability).

#include <cstdint>
#include <string_view>

namespace omniva::storage {

/// The tables of state (one column family each, DESIGN.md §5).
enum class table : uint8_t {
  /// Asset records, by asset id.
  assets,
  /// Task records, by task id.
  tasks,
  /// Registered module contracts, by `name@version`.
  modules,
  /// Registered JSON Schemas, by `name@N`.
  schemas,
  /// Registered policies, by `name@N`.
  policies,
};

/// Returns the column family name of `t` ("assets", ...).
std::string_view to_string(table t) noexcept;

} // namespace omniva::storage
