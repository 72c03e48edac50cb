#pragma once

/// @file
/// RFC 3986 URI references, as needed to resolve `$id` and `$ref` in JSON Schema.
///
/// Nothing here validates: parsing splits any text the way RFC 3986 Appendix B
/// does, and resolution follows §5.2 on whatever it was given. Checking that a
/// string is a well-formed URI is the job of the `uri` format in
/// `contracts/json_format.hpp`.

#include <optional>
#include <string>
#include <string_view>

namespace omniva::contracts {

/// A URI reference split into its five components (RFC 3986 §3); absent components are std::nullopt.
///
/// "Absent" and "empty" differ: `http://a/b?` has an empty query, `http://a/b` none,
/// and recomposition keeps that difference.
struct uri_reference {
  /// Scheme without its ":", such as "https" or "urn".
  std::optional<std::string> scheme;
  /// Authority without its leading "//", such as "user@example.com:8080".
  std::optional<std::string> authority;
  /// Path, possibly empty; never absent.
  std::string path;
  /// Query without its "?".
  std::optional<std::string> query;
  /// Fragment without its "#", still percent-encoded.
  std::optional<std::string> fragment;

  /// Parses with the regex of RFC 3986 Appendix B semantics (hand-written, no std::regex); never fails.
  ///
  /// As in Appendix B, the scheme is whatever precedes the first ":" when no "/",
  /// "?" or "#" comes before it; its characters are not checked.
  [[nodiscard]] static uri_reference parse(std::string_view text);

  /// Recomposes the reference (RFC 3986 §5.3).
  ///
  /// `parse(text).to_string() == text` for every `text`.
  [[nodiscard]] std::string to_string() const;

  /// Returns true when the reference has a scheme, so it needs no base to resolve.
  [[nodiscard]] bool is_absolute() const noexcept;
};

/// Resolves `reference` against absolute `base` (RFC 3986 §5.2, incl. remove_dot_segments). Works for urn: and other non-hierarchical schemes too (a reference that is only a fragment keeps the base's path).
///
/// Uses the strict algorithm of §5.2.2: a reference with the base's scheme (such as
/// "http:g") is taken as absolute. The base's fragment is ignored. An empty `base`
/// means "no base": the reference comes back unchanged, so documents without an
/// `$id` keep their relative references as they were written.
[[nodiscard]] std::string resolve_uri(std::string_view base, std::string_view reference);

/// Returns `uri` without its fragment (and without a trailing empty '#').
///
/// This is the identifier of the resource a `$ref` points into.
[[nodiscard]] std::string strip_fragment(std::string_view uri);

/// Returns the fragment of `uri` (percent-decoded), or empty.
///
/// An empty fragment and no fragment both give the empty string; for a JSON
/// Schema both mean "the whole resource".
[[nodiscard]] std::string uri_fragment(std::string_view uri);

/// How `percent_decode` reads what is not a well-formed `%XX` escape.
struct percent_decoding {
  /// Read "+" as a space, as `application/x-www-form-urlencoded` (HTML forms,
  /// query strings) does. Default: false ("+" stays "+", as RFC 3986 says).
  bool plus_as_space = false;
  /// Refuse text with a "%" not followed by two hex digits. Default: false
  /// (such a "%" is kept as it is).
  bool strict = false;
};

/// Decodes %XX escapes as `options` say; nullopt only when `options.strict`
/// and an escape is malformed.
///
/// Decoding is byte-wise: the result is UTF-8 only if the escapes encoded
/// UTF-8. The HTTP server decodes paths with `{.strict = true}` and query
/// strings with `{.plus_as_space = true, .strict = true}`.
[[nodiscard]] std::optional<std::string> percent_decode(std::string_view text,
                                                        percent_decoding options);

/// Decodes %XX escapes; invalid escapes are kept as they are ("+" stays "+").
///
/// The lenient form `$ref` fragments need: `percent_decode(text, {})`.
[[nodiscard]] std::string percent_decode(std::string_view text);

/// An authority (RFC 3986 §3.2) split into its parts; nothing is decoded.
struct uri_authority {
  /// User information without its "@"; absent when there is no "@".
  std::optional<std::string> userinfo;
  /// The host: a reg-name, an IPv4 address, or an IP literal without its
  /// brackets ("::1" for "[::1]"). May be empty.
  std::string host;
  /// Whether the host was written as an IP literal in brackets.
  bool ip_literal = false;
  /// The port's digits without ":"; absent when there is no ":" after the
  /// host, empty for "host:".
  std::optional<std::string> port;

  /// Splits `authority` (the text between "//" and the path); nullopt when
  /// a "[" has no "]" or something other than ":port" follows the "]".
  ///
  /// The first "@" ends the user information; a host that is not in
  /// brackets ends at its first ":" (a reg-name holds no ":"). The port's
  /// characters are not checked.
  [[nodiscard]] static std::optional<uri_authority> parse(std::string_view authority);
};

}  // namespace omniva::contracts
