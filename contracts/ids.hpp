#pragma once

// Identifiers and time, behind interfaces: production draws UUIDs from a
// CSPRNG and reads the system clock; a seeded simulation swaps in
// `seeded_id_source` and `manual_clock` and gets the same ids and the same
// timestamps on every run (DESIGN.md §1.6).

#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace omniva::contracts {

// -- identifiers ---------------------------------------------------------------

/// Hands out UUIDv4 strings for long-lived objects (tasks, assets, traces).
class id_source {
public:
  virtual ~id_source();

  /// Returns a new UUIDv4 in canonical lowercase form
  /// ("xxxxxxxx-xxxx-4xxx-[89ab]xxx-xxxxxxxxxxxx").
  virtual std::string next_uuid() = 0;
};

/// UUIDv4 from OpenSSL's CSPRNG (std::random_device should that ever fail).
/// Thread-safe.
class random_id_source final : public id_source {
public:
  std::string next_uuid() override;
};

/// Deterministic UUIDv4-shaped ids from splitmix64: the same seed gives the
/// same sequence on every platform. Not for anything that must be
/// unguessable. Thread-safe (lock-free), but the interleaving of concurrent
/// callers decides who gets which id.
class seeded_id_source final : public id_source {
public:
  explicit seeded_id_source(uint64_t seed) noexcept : state_(seed) {
  }

  std::string next_uuid() override;

private:
  std::atomic<uint64_t> state_;
};

/// Returns whether `text` is a UUID in the RFC 4122 text form: 8-4-4-4-12
/// hexadecimal digits (either case), any version and variant.
bool is_uuid(std::string_view text) noexcept;

/// Returns whether `text` is a UUID whose version is 4 and whose variant is
/// RFC 4122 (10xx).
bool is_uuid_v4(std::string_view text) noexcept;

// -- time ----------------------------------------------------------------------

/// A point in time, UTC, with millisecond resolution: what every timestamp
/// of the project carries.
using timestamp = std::chrono::time_point<std::chrono::system_clock,
                                          std::chrono::milliseconds>;

/// Tells the time.
class clock_source {
public:
  virtual ~clock_source();

  /// Returns the current time.
  virtual timestamp now() = 0;
};

/// The wall clock (std::chrono::system_clock, truncated to milliseconds).
/// Thread-safe.
class system_clock final : public clock_source {
public:
  timestamp now() override;
};

/// A clock for measuring time spans only: steady (never jumps when the wall
/// clock is set), its epoch arbitrary. Thread-safe.
class steady_clock_source final : public clock_source {
public:
  timestamp now() override;
};

/// A clock that moves only when told to. Thread-safe.
class manual_clock final : public clock_source {
public:
  /// Starts at `start` (default: the Unix epoch).
  explicit manual_clock(timestamp start = timestamp{}) noexcept
    : now_(start.time_since_epoch().count()) {
  }

  /// Returns the time last set.
  timestamp now() override;

  /// Moves the clock to `t` (backwards too: a test may need it).
  void set(timestamp t) noexcept;

  /// Moves the clock forward by `d`; returns the new time.
  timestamp advance(std::chrono::milliseconds d) noexcept;

private:
  std::atomic<int64_t> now_;
};

/// Formats `t` as ISO 8601 UTC with exactly three fraction digits:
/// "2026-11-21T05:30:27.077Z". Years outside 0000-9999 are clamped to that
/// range (RFC 3339 has four-digit years only).
std::string format_timestamp(timestamp t);

/// Parses an RFC 3339 date-time: "T" or "t" between date and time, any
/// number of fraction digits (truncated to milliseconds), "Z"/"z" or a
/// numeric offset ("+05:30"). A leap second (":60") counts as the next
/// second. Returns nullopt for anything else, including impossible dates.
std::optional<timestamp> parse_timestamp(std::string_view text) noexcept;

/// Returns whether `text` is accepted by `parse_timestamp`.
inline bool is_timestamp(std::string_view text) noexcept {
  return parse_timestamp(text).has_value();
}

} // namespace omniva::contracts
