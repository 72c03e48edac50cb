#pragma once

// Media types (RFC 6838; syntax of RFC 9110 §8.3.1): the one home of every
// rule about them, used by contracts, pre-flight, the asset store, the
// adapters and the HTTP API.
//
// The rules:
// - Type, subtype and parameter names compare case-insensitively
//   ("Application/JSON" is "application/json"); parameters never take part
//   in matching ("text/plain; charset=utf-8" is "text/plain").
// - A contract accepts "type/subtype" or "type/*"; an empty list of
//   accepted types accepts every type.
// - A type is JSON when its essence is `application/json` or ends in
//   `+json` (RFC 6839 structured syntax suffix: `application/ld+json`,
//   `application/vnd.omniva.result+JSON`).
//
// Pure functions; thread-safe.

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace omniva::contracts {

/// A media type taken apart: lowercase type and subtype, and parameters.
struct parsed_media_type {
  /// The top-level type, lowercase ("text").
  std::string type;
  /// The subtype, lowercase ("plain"; "*" in an accepted wildcard).
  std::string subtype;
  /// The parameters in order of appearance: name lowercase, value as
  /// written with the quotes of a quoted-string removed.
  std::vector<std::pair<std::string, std::string>> parameters;

  /// Returns "type/subtype".
  std::string essence() const;

  friend bool operator==(const parsed_media_type&, const parsed_media_type&) = default;
};

/// Parses `type "/" subtype *( OWS ";" OWS name "=" value )` with RFC 6838
/// restricted names, a value being a token or a quoted-string; surrounding
/// whitespace is ignored. The subtype may be "*" when `allow_wildcard`.
/// nullopt when `text` is not of that form.
std::optional<parsed_media_type> parse_media_type(std::string_view text,
                                           bool allow_wildcard = false);

/// Returns the essence of `text`: parameters dropped, spaces and tabs
/// around it trimmed, lowercase ("Text/Plain; charset=UTF-8" ->
/// "text/plain"). Checks no syntax: an empty or malformed text stays
/// malformed.
std::string media_type_essence(std::string_view text);

/// Returns whether `text` is exactly `type/subtype` (RFC 6838 restricted
/// names; `subtype` may be "*" when `allow_wildcard`), without parameters
/// or whitespace: the form a contract or an asset record holds.
bool is_valid_media_type(std::string_view text, bool allow_wildcard) noexcept;

/// Returns whether media type `actual` (parameters ignored, case-
/// insensitive) is accepted by `accepted` ("video/mp4" or "video/*").
bool media_type_matches(std::string_view accepted,
                        std::string_view actual) noexcept;

/// Returns whether one of `accepted` (a contract's list) accepts `actual`;
/// an empty list accepts every type.
bool media_type_accepted(const std::vector<std::string>& accepted,
                         std::string_view actual) noexcept;

/// Returns whether `text` is a JSON media type: `application/json` or any
/// `+json` suffix, case-insensitive, parameters ignored.
bool is_json_media_type(std::string_view text) noexcept;

/// Returns whether `text` is a `text/...` media type (`text/*` included),
/// case-insensitive.
bool is_text_media_type(std::string_view text) noexcept;

} // namespace omniva::contracts
