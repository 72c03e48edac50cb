#pragma once

/// @file
/// Validators for the JSON Schema draft 2020-12 `format` keyword.
///
/// Each check follows the grammar of the RFC that the specification names for the
/// format, and agrees with the "optional/format" cases of the official
/// JSON-Schema-Test-Suite. The checks run on the hot validation path, so every one
/// except `regex` works on the input view alone and never allocates.

#include <cstdint>
#include <string_view>

namespace omniva::contracts {

/// The formats this validator knows.
///
/// Formats of the specification that are not listed (for example `idn-email`,
/// `iri` or `uri-template`) map to `unknown`, which the specification asks a
/// validator to accept.
enum class string_format : uint8_t {
  /// RFC 3339 `date-time`, such as `1963-06-19T08:30:06.283185Z`.
  date_time,
  /// RFC 3339 `full-date`, such as `1963-06-19`.
  date,
  /// RFC 3339 `full-time` with a required offset, such as `08:30:06+01:00`.
  time,
  /// ISO 8601 duration as restricted by RFC 3339 Appendix A, such as `P4DT12H30M5S`.
  duration,
  /// RFC 5321 `Mailbox`, such as `joe.bloggs@example.com`.
  email,
  /// RFC 1123 host name made of ASCII labels, such as `www.example.com`.
  hostname,
  /// RFC 2673 dotted-quad IPv4 address without leading zeros.
  ipv4,
  /// RFC 4291 IPv6 address text, with `::` compression and an embedded IPv4 tail.
  ipv6,
  /// RFC 3986 `URI`: an absolute URI that may carry a fragment.
  uri,
  /// RFC 3986 `URI-reference`: a URI or a relative reference.
  uri_reference,
  /// RFC 4122 UUID text, `8-4-4-4-12` hexadecimal digits in any case.
  uuid,
  /// RFC 6901 JSON Pointer in its string representation.
  json_pointer,
  /// Relative JSON Pointer (draft-bhutton-relative-json-pointer-00).
  relative_json_pointer,
  /// ECMA-262 regular expression, read with the `u` flag's grammar by the same
  /// reader as every `pattern` (`is_ecma_regex`, contracts/ecma_regex.hpp).
  regex,
  /// A format this validator does not know; every value is accepted.
  unknown,
};

/// Maps a format name ("date-time", ...) to the enum; unknown names give string_format::unknown.
///
/// Names are compared exactly, as the specification spells them (`date-time`,
/// `uri-reference`, `json-pointer`, `relative-json-pointer`, ...).
[[nodiscard]] string_format format_from_name(std::string_view name) noexcept;

/// Returns true when `value` is a valid instance of `format` (unknown always true).
///
/// `value` is the decoded JSON string in UTF-8. Any byte outside ASCII makes every
/// format but `json-pointer`, `relative-json-pointer` (in its pointer part), `regex`
/// and `unknown` invalid, since their grammars are ASCII-only. Thread-safe; does not
/// allocate except for `regex`, which compiles the pattern with RE2.
[[nodiscard]] bool check_format(string_format format, std::string_view value) noexcept;

}  // namespace omniva::contracts
