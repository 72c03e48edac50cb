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

/// Decodes %XX escapes; invalid escapes are kept as they are.
///
/// Decoding is byte-wise: the result is UTF-8 only if the escapes encoded UTF-8.
[[nodiscard]] std::string percent_decode(std::string_view text);

}  // namespace omniva::contracts
