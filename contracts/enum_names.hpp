#pragma once

// The spelling of an enumeration in JSON, as one table per enumeration that
// both printing and parsing read, so that a printed value always parses back.

#include <cstddef>
#include <optional>
#include <string_view>
#include <utility>

namespace omniva::contracts {

/// One value of an enumeration and how JSON spells it.
template <class Enum>
using enum_spelling = std::pair<Enum, std::string_view>;

/// Returns how `names` spells `x`, or `unknown` when `names` does not list
/// it (a value cast from a number out of range).
template <class Enum, size_t N>
constexpr std::string_view enum_name(Enum x,
                                     const enum_spelling<Enum> (&names)[N],
                                     std::string_view unknown) noexcept {
  for (const auto& [value, name] : names)
    if (value == x)
      return name;
  return unknown;
}

/// Returns the value `names` spells `text` (case-sensitive), or nullopt.
template <class Enum, size_t N>
constexpr std::optional<Enum>
enum_from_name(std::string_view text,
               const enum_spelling<Enum> (&names)[N]) noexcept {
  for (const auto& [value, name] : names)
    if (name == text)
      return value;
  return std::nullopt;
}

} // namespace omniva::contracts
