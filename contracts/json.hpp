#pragma once

// An owning JSON document model, the JSON reader (simdjson underneath) and the
// one JSON writer of the project.
//
// Hot validation paths never build a `json::value`: they validate simdjson's
// DOM directly (see json_schema.hpp). `json::value` is for documents the
// runtime builds, edits and prints: contracts, task requests, reports.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace omniva::json {

class value;

/// A JSON array.
using array = std::vector<value>;

/// A JSON object: members in the order they were read or inserted. Keys are
/// unique when the object came from `parse`: a later duplicate wins
/// (`duplicates::last_wins`, as in every mainstream parser) or the text is
/// refused (`duplicates::refuse`, what request bodies get).
using object = std::vector<std::pair<std::string, value>>;

/// The type of a JSON value. A number literal whose exact value is an
/// integer that fits 64 bits reads as `integer` (int64) or
/// `unsigned_integer` (uint64 above INT64_MAX), whatever its spelling: `7`,
/// `7.0` and `0.7e1` alike. Every other number is a `number` (a double):
/// integers beyond 64 bits, and every literal with a fraction.
enum class kind : uint8_t {
  null,
  boolean,
  integer,
  unsigned_integer,
  number,
  string,
  array,
  object,
};

/// Returns the lowercase name of `k` ("null", "boolean", "integer", ...).
std::string_view to_string(kind k) noexcept;

/// An owning JSON value.
class value {
public:
  using variant_type = std::variant<std::nullptr_t, bool, int64_t, uint64_t,
                                    double, std::string, array, object>;

  /// Constructs `null`.
  value() noexcept : data_(nullptr) {
  }
  value(std::nullptr_t) noexcept : data_(nullptr) {
  }
  value(bool x) noexcept : data_(x) {
  }
  value(int x) noexcept : data_(int64_t{x}) {
  }
  value(int64_t x) noexcept : data_(x) {
  }
  value(uint64_t x) noexcept;
  value(double x) noexcept : data_(x) {
  }
  value(std::string x) noexcept : data_(std::move(x)) {
  }
  value(std::string_view x) : data_(std::string{x}) {
  }
  value(const char* x) : data_(std::string{x}) {
  }
  value(array x) noexcept : data_(std::move(x)) {
  }
  value(object x) noexcept : data_(std::move(x)) {
  }

  /// Returns the type of this value.
  kind type() const noexcept;

  bool is_null() const noexcept {
    return std::holds_alternative<std::nullptr_t>(data_);
  }
  bool is_bool() const noexcept {
    return std::holds_alternative<bool>(data_);
  }
  /// True for `integer`, `unsigned_integer` and `number`.
  bool is_number() const noexcept;
  /// True when the value is a number with no fractional part (JSON Schema's
  /// notion of "integer": 1.0 is an integer). A literal whose exact value
  /// has a fraction is never integral, even where the nearest double has
  /// none: `parse` reads 1e-400 as the smallest double above zero, not as 0.
  /// A `number` of magnitude in [2^52, 2^63) is not integral: there no
  /// double has a fraction, and an integer literal there reads as `integer`,
  /// so such a `number` is a literal whose fraction a double cannot hold.
  /// Beyond 2^63 a double is always integral (and `as_int64` is nullopt).
  /// `serialize` writes such a `number` with a fraction that reads back as
  /// the same double (9007199254740994.25), so it stays non-integral.
  bool is_integral() const noexcept;
  bool is_string() const noexcept {
    return std::holds_alternative<std::string>(data_);
  }
  bool is_array() const noexcept {
    return std::holds_alternative<array>(data_);
  }
  bool is_object() const noexcept {
    return std::holds_alternative<object>(data_);
  }

  /// Accessors; calling one for the wrong type is a programming error
  /// (std::bad_variant_access).
  bool as_bool() const {
    return std::get<bool>(data_);
  }
  const std::string& as_string() const {
    return std::get<std::string>(data_);
  }
  std::string& as_string() {
    return std::get<std::string>(data_);
  }
  const array& as_array() const {
    return std::get<array>(data_);
  }
  array& as_array() {
    return std::get<array>(data_);
  }
  const object& as_object() const {
    return std::get<object>(data_);
  }
  object& as_object() {
    return std::get<object>(data_);
  }
  /// Returns any number as a double (possibly rounded).
  double as_double() const;
  /// Returns the value as int64 when it is integral (`is_integral`) and in
  /// the range of int64; nullopt otherwise (1.5, 1e-400, 2^200, "7").
  std::optional<int64_t> as_int64() const noexcept;

  /// Returns the member `key` of an object, or nullptr when this is not an
  /// object or has no such member.
  const value* find(std::string_view key) const noexcept;
  value* find(std::string_view key) noexcept;

  /// Sets member `key` of an object (replacing an existing one); turns `null`
  /// into an empty object first. Returns the stored value.
  value& set(std::string key, value x);

  /// Removes member `key` from an object; returns whether it was present.
  bool erase(std::string_view key);

  /// Appends to an array; turns `null` into an empty array first.
  value& push_back(value x);

  /// Gives access to the underlying variant.
  const variant_type& data() const noexcept {
    return data_;
  }

  /// Deep equality with JSON semantics: numbers compare by value (1 == 1.0),
  /// object member order does not matter.
  friend bool operator==(const value& x, const value& y) noexcept;

private:
  variant_type data_;
};

/// Why a text is not JSON, or not JSON `parse` accepts.
struct parse_error {
  /// One sentence a person understands.
  std::string message;
  /// Whether the text is JSON but an object names one member twice (only
  /// with `duplicates::refuse`).
  bool duplicate_key = false;
  /// For a duplicate key: the RFC 6901 pointer of the second member of that
  /// name ("/input_mapping/clip"); "" otherwise.
  std::string pointer;
};

/// Either a parsed document or why the text is not JSON.
struct parse_result {
  std::optional<value> doc;
  parse_error error;
  explicit operator bool() const noexcept {
    return doc.has_value();
  }
};

/// What `parse` does with an object that names one member twice (RFC 8259
/// leaves it open).
enum class duplicates : uint8_t {
  /// The last one wins, as in every mainstream parser: for documents the
  /// runtime wrote itself.
  last_wins,
  /// The text is refused (`parse_error::duplicate_key`, with the pointer of
  /// the second member): for what clients send, where "last one wins" would
  /// silently drop what they meant.
  refuse,
};

/// The nesting depth `parse` accepts unless told otherwise.
inline constexpr size_t default_max_depth = 1024;

/// Parses a complete JSON text (RFC 8259). Number literals read as `kind`
/// says (exact integers as integers, integers beyond 64 bits as `number`s);
/// numbers beyond the range of a double are an error. Nesting deeper than
/// `max_depth` is an error, never a stack overflow. Duplicate members are
/// handled as `dup` says.
parse_result parse(std::string_view text, size_t max_depth = default_max_depth,
                   duplicates dup = duplicates::last_wins);

/// Returns `text` with every integer literal too large for 64 bits (outside
/// strings) rewritten in exponent notation, so a reader that only knows 64-bit
/// integers reads it as a double; nullopt when the text has none.
std::optional<std::string> widen_big_integers(std::string_view text);

/// Reads a whole file and parses it. The error names the file.
parse_result parse_file(const std::string& path,
                        size_t max_depth = default_max_depth);

/// Output styles of `serialize`.
enum class style : uint8_t {
  /// No insignificant whitespace, members in their stored order.
  compact,
  /// Two-space indentation, for people.
  pretty,
  /// Compact with members sorted by key (byte order), numbers in their
  /// shortest round-trip form: the same document always gives the same bytes.
  canonical,
};

/// Writes `x` as JSON text. The text is always valid UTF-8: strings (and
/// keys) holding bytes that are not are written with each maximal invalid
/// subpart replaced by U+FFFD (see `append_quoted`).
std::string serialize(const value& x, style s = style::compact);

/// Appends `x` as JSON text to `out`.
void serialize_to(std::string& out, const value& x, style s = style::compact);

/// Appends `text` as a quoted JSON string (with escapes) to `out`. Bytes
/// that are not well-formed UTF-8 (a stray continuation byte, a truncated
/// sequence, an overlong form, a surrogate, a code point above U+10FFFF) are
/// replaced by U+FFFD, one per maximal subpart (Unicode 15, §3.9, U+FFFD
/// substitution): whatever a message echoes (a URL path, a file name), the
/// answer is valid UTF-8 and valid JSON.
void append_quoted(std::string& out, std::string_view text);

/// Appends `x` in its shortest round-trip form to `out`; integral values in
/// the exact integer range print without fraction ("3", not "3.0").
void append_number(std::string& out, double x);

/// Escapes one JSON pointer reference token (RFC 6901: "~" -> "~0", "/" -> "~1").
std::string escape_pointer_token(std::string_view token);

/// Appends "/" + escaped `token` to pointer `base`.
std::string append_pointer(std::string_view base, std::string_view token);

/// Appends "/" + `index` to pointer `base`.
std::string append_pointer(std::string_view base, size_t index);

/// Whether `s` is a JSON pointer (RFC 6901): empty (the whole value), or
/// reference tokens each after a '/', in which '~' only starts "~0" or "~1".
bool is_json_pointer(std::string_view s) noexcept;

/// Resolves a JSON pointer (RFC 6901) inside `root`; nullptr when it does
/// not resolve (or is malformed).
const value* resolve_pointer(const value& root, std::string_view pointer);

} // namespace omniva::json
