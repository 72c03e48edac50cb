#pragma once

// The node's own log: one line per thing an operator wants to know happened
// (a failed attempt, a refused request, an operator action, start and stop).
// Lines go to standard error as text
//
//   2026-12-05T21:58:00.123Z warn task.failed task=4f1c... code=timeout message="..."
//
// or, with `--log-format json` (for log shippers), as JSON lines
//
//   {"at":"2026-12-05T21:58:00.123Z","level":"warn","event":"task.failed",
//    "task":"4f1c...","code":"timeout","message":"..."}
//
// Thread safe: a line is written whole. Never throws.

#include "contracts/json.hpp"

#include <functional>
#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace omniva::node_log {

/// How lines are written.
enum class format { text, json };

/// How much a line matters.
enum class level { info, warn, error };

/// Returns "info", "warn" or "error".
std::string_view to_string(level x) noexcept;

/// Reads "text" or "json".
std::optional<format> format_from_string(std::string_view name) noexcept;

/// Sets how the following lines are written (default: text).
void set_format(format f) noexcept;

/// The current format.
format current_format() noexcept;

/// Where finished lines go (each without its newline); the default writes
/// them to standard error. Pass an empty function to restore the default.
/// For tests and for a node embedded in another program.
void set_sink(std::function<void(std::string_view line)> sink);

/// One field of a line: a name and a JSON value (strings, numbers, bools).
using field = std::pair<std::string_view, json::value>;

/// Writes one line: `event` names what happened ("task.failed",
/// "http.refused", "operator.cancel"), `fields` say the rest, in order.
/// Text values with spaces, quotes or control characters are quoted and
/// escaped as JSON strings, so a line stays one line whatever a module wrote;
/// bytes that are not UTF-8 become U+FFFD, so a JSON line always parses.
void write(level lvl, std::string_view event,
           std::initializer_list<field> fields = {});

/// `write` with a vector of fields (for lines built step by step).
void write(level lvl, std::string_view event, const std::vector<field>& fields);

/// `s` with every byte that does not belong to a well-formed UTF-8 sequence
/// replaced by U+FFFD.
std::string valid_utf8(std::string_view s);

} // namespace omniva::node_log
