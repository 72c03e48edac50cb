#pragma once

/// @file
/// The calendar rule of RFC 3339 dates, in one place.
///
/// The timestamp parser (`parse_timestamp`, contracts/ids.hpp) and the
/// `date-time` and `date` format checks (contracts/json_format.hpp) read a
/// `full-date` here, so both accept the same days: the proleptic Gregorian
/// calendar of `std::chrono`, February 29 in leap years only. Header-only and
/// allocation-free: the format checks run while validating documents.

#include <chrono>
#include <optional>
#include <string_view>

namespace omniva::contracts {

/// Returns whether `year`-`month`-`day` names a day of the proleptic
/// Gregorian calendar (`std::chrono::year_month_day::ok()`).
///
/// Years run from -32767 to 32767, months from 1 to 12, days from 1 to the
/// month's length: 28 or 29 for February (a leap year is divisible by 4, and
/// by 400 when divisible by 100), 30 for April, June, September and
/// November, 31 otherwise.
constexpr bool is_valid_date(int year, int month, int day) noexcept {
  // year_month_day stores month and day in a byte: range-check first, so a
  // large number cannot wrap around into a valid one.
  if (month < 1 || month > 12 || day < 1 || day > 31)
    return false;
  return std::chrono::year_month_day{std::chrono::year{year},
                                     std::chrono::month{static_cast<unsigned>(month)},
                                     std::chrono::day{static_cast<unsigned>(day)}}
    .ok();
}

/// Reads an RFC 3339 `full-date` ("2024-02-29") from the first ten bytes of
/// `text`; nullopt when they are not four digits, "-", two digits, "-", two
/// digits naming a calendar day.
///
/// Only ASCII digits count (a fullwidth or Bengali digit is not one). What
/// follows the ten bytes is the caller's business.
constexpr std::optional<std::chrono::year_month_day>
read_full_date(std::string_view text) noexcept {
  if (text.size() < 10 || text[4] != '-' || text[7] != '-')
    return std::nullopt;
  auto number = [text](size_t first, size_t count) {
    int value = 0;
    for (size_t i = first; i < first + count; ++i) {
      if (text[i] < '0' || text[i] > '9')
        return -1;
      value = value * 10 + (text[i] - '0');
    }
    return value;
  };
  int year = number(0, 4);
  int month = number(5, 2);
  int day = number(8, 2);
  if (year < 0 || !is_valid_date(year, month, day))
    return std::nullopt;
  return std::chrono::year_month_day{std::chrono::year{year},
                                     std::chrono::month{static_cast<unsigned>(month)},
                                     std::chrono::day{static_cast<unsigned>(day)}};
}

} // namespace omniva::contracts
