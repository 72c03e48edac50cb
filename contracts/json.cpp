#include "contracts/json.hpp"

#include <simdjson.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <fstream>
#include <limits>
#include <sstream>
#include <unordered_map>

namespace omniva::json {

namespace {

bool is_digit(char c) noexcept {
  return c >= '0' && c <= '9';
}

/// 2^52: from here up every double is an integer.
constexpr double two_to_52 = 4503599627370496.0;

/// 2^63: from here up no double fits int64.
constexpr double two_to_63 = 9223372036854775808.0;

/// What the exact decimal value of a number literal is, worked out from its
/// digits (a double may have rounded it: 1e-400 to 0, 1.0000000000000000001
/// to 1).
struct literal_value {
  /// The literal starts with '-'.
  bool negative = false;
  /// The exact value is an integer (1.0, 1e2, 0.5e1 are).
  bool integral = false;
  /// An integral value that fits int64, or else uint64.
  std::optional<int64_t> i64;
  std::optional<uint64_t> u64;
  /// A value with a fraction: the integer part of its magnitude, saturated
  /// at UINT64_MAX.
  uint64_t whole = 0;
};

/// Reads the exact value of a JSON number literal (already validated by
/// simdjson: `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`).
literal_value exact_value(std::string_view lit) {
  literal_value out;
  size_t i = 0;
  out.negative = !lit.empty() && lit[0] == '-';
  if (out.negative)
    ++i;
  auto begin = i;
  while (i < lit.size() && is_digit(lit[i]))
    ++i;
  auto int_digits = lit.substr(begin, i - begin);
  std::string_view frac_digits;
  if (i < lit.size() && lit[i] == '.') {
    begin = ++i;
    while (i < lit.size() && is_digit(lit[i]))
      ++i;
    frac_digits = lit.substr(begin, i - begin);
  }
  int64_t exponent = 0;
  if (i < lit.size() && (lit[i] == 'e' || lit[i] == 'E')) {
    ++i;
    bool minus = false;
    if (i < lit.size() && (lit[i] == '+' || lit[i] == '-'))
      minus = lit[i++] == '-';
    // Saturated: an exponent beyond a billion decides nothing more.
    for (; i < lit.size() && is_digit(lit[i]); ++i)
      if (exponent < 1'000'000'000)
        exponent = exponent * 10 + (lit[i] - '0');
    if (minus)
      exponent = -exponent;
  }
  // The digits, integer and fraction part as one string S, value S *
  // 10^(exponent - |fraction|); drop S's leading and trailing zeros.
  auto n = int_digits.size() + frac_digits.size();
  auto digit = [&](size_t k) {
    return k < int_digits.size() ? int_digits[k]
                                 : frac_digits[k - int_digits.size()];
  };
  size_t lead = 0;
  while (lead < n && digit(lead) == '0')
    ++lead;
  if (lead == n) { // zero
    out.integral = true;
    out.i64 = 0;
    return out;
  }
  size_t trail = 0;
  while (digit(n - 1 - trail) == '0')
    ++trail;
  auto core = static_cast<int64_t>(n - lead - trail); // significant digits
  auto scale = static_cast<int64_t>(trail) - static_cast<int64_t>(frac_digits.size())
               + exponent;
  // The integer part: the core's first `core + scale` digits, then `scale`
  // zeros when the scale is positive; beyond 20 digits it exceeds 64 bits.
  auto int_len = core + scale;
  out.integral = scale >= 0;
  uint64_t whole = 0;
  bool fits = int_len <= 20;
  for (int64_t k = 0; fits && k < int_len; ++k) {
    auto d = k < core ? digit(lead + static_cast<size_t>(k)) - '0' : 0;
    fits = !__builtin_mul_overflow(whole, uint64_t{10}, &whole)
           && !__builtin_add_overflow(whole, static_cast<uint64_t>(d), &whole);
  }
  if (!out.integral) {
    out.whole = fits ? whole : UINT64_MAX;
    return out;
  }
  if (!fits)
    return out;
  constexpr auto int64_max = static_cast<uint64_t>(INT64_MAX);
  if (out.negative) {
    if (whole <= int64_max)
      out.i64 = -static_cast<int64_t>(whole);
    else if (whole == int64_max + 1)
      out.i64 = INT64_MIN;
  } else if (whole <= int64_max) {
    out.i64 = static_cast<int64_t>(whole);
  } else {
    out.u64 = whole;
  }
  return out;
}

/// Finds the number literals of a parsed JSON text in document order, which
/// is the order a depth-first walk of simdjson's DOM meets number elements.
/// It reads simdjson's structural index (stage 1 found where every token
/// starts, strings skipped): the tokens starting with '-' or a digit are the
/// number literals. (`dom::parser::implementation` is public "for
/// benchmarking access"; walking the index costs a fraction of scanning the
/// text, and json_test's literal tests would catch a change of its meaning.)
class literal_scanner {
public:
  literal_scanner(std::string_view text, const simdjson::dom::parser& parser)
    : text_(text),
      index_(parser.implementation->structural_indexes.get()),
      tokens_(parser.implementation->n_structural_indexes) {
  }

  /// Returns the `n`-th number literal (from 0); `n` grows from call to
  /// call, so the index is walked at most once.
  std::string_view nth(size_t n) {
    while (count_ <= n) {
      last_ = next();
      ++count_;
    }
    return last_;
  }

private:
  std::string_view next() {
    auto* data = reinterpret_cast<const unsigned char*>(text_.data());
    auto size = text_.size();
    for (; token_ < tokens_; ++token_) {
      size_t pos = index_[token_];
      if (pos < size && starts_number[data[pos]]) {
        ++token_;
        auto end = pos + 1;
        while (end < size && in_number[data[end]])
          ++end;
        return text_.substr(pos, end - pos);
      }
    }
    return {};
  }

  /// Which bytes start a number token, and which may continue one.
  static constexpr auto starts_number = [] {
    std::array<bool, 256> out{};
    out['-'] = true;
    for (int c = '0'; c <= '9'; ++c)
      out[c] = true;
    return out;
  }();
  static constexpr auto in_number = [] {
    auto out = starts_number;
    for (unsigned char c : {'.', 'e', 'E', '+'})
      out[c] = true;
    return out;
  }();

  std::string_view text_;
  const uint32_t* index_;
  size_t tokens_;
  size_t token_ = 0;
  size_t count_ = 0;
  std::string_view last_;
};

/// Objects with more members than this find duplicates through a hash map;
/// smaller ones by a linear scan, which is faster at their size.
constexpr size_t linear_key_scan_limit = 16;

/// Turns simdjson's DOM into a `value`: numbers by their exact literal
/// value, duplicate members as `duplicates` says.
class tree_builder {
public:
  tree_builder(std::string_view text, const simdjson::dom::parser& parser,
               duplicates dup)
    : literals_(text, parser), dup_(dup) {
  }

  value build(simdjson::dom::element e) {
    using simdjson::dom::element_type;
    switch (e.type()) {
      case element_type::ARRAY: {
        array xs;
        auto arr = simdjson::dom::array(e);
        xs.reserve(arr.size());
        size_t index = 0;
        for (auto child : arr) {
          xs.emplace_back(build(child));
          if (failed_) {
            tokens_.push_back(std::to_string(index));
            return {};
          }
          ++index;
        }
        return value{std::move(xs)};
      }
      case element_type::OBJECT:
        return build_object(simdjson::dom::object(e));
      case element_type::INT64:
        ++numbers_;
        return value{int64_t{e.get_int64().value_unsafe()}};
      case element_type::UINT64:
        ++numbers_;
        return value{uint64_t{e.get_uint64().value_unsafe()}};
      case element_type::DOUBLE:
        return number(e.get_double().value_unsafe());
      case element_type::STRING:
        return value{std::string{e.get_string().value_unsafe()}};
      case element_type::BOOL:
        return value{e.get_bool().value_unsafe()};
      case element_type::NULL_VALUE:
        return value{};
    }
    return value{};
  }

  /// Whether an object named a member twice (with `duplicates::refuse`).
  bool failed() const noexcept {
    return failed_;
  }

  /// The pointer of the duplicate member.
  std::string pointer() const {
    std::string out;
    for (auto i = tokens_.rbegin(); i != tokens_.rend(); ++i) {
      out += '/';
      out += *i;
    }
    return out;
  }

  /// The duplicate member's name.
  const std::string& duplicate() const noexcept {
    return duplicate_;
  }

private:
  value build_object(simdjson::dom::object obj) {
    object xs;
    auto size = obj.size();
    xs.reserve(size);
    // Keys point into simdjson's string buffer, alive for the whole walk.
    std::unordered_map<std::string_view, size_t> index;
    bool hashed = size > linear_key_scan_limit;
    if (hashed)
      index.reserve(size);
    for (auto field : obj) {
      std::string_view key = field.key;
      auto found = xs.size();
      if (hashed) {
        auto [i, fresh] = index.try_emplace(key, xs.size());
        if (!fresh)
          found = i->second;
      } else {
        for (size_t i = 0; i < xs.size(); ++i)
          if (xs[i].first == key) {
            found = i;
            break;
          }
      }
      bool again = found != xs.size();
      if (again && dup_ == duplicates::refuse) {
        failed_ = true;
        duplicate_ = std::string{key};
        tokens_.push_back(escape_pointer_token(key));
        return {};
      }
      auto child = build(field.value);
      if (failed_) {
        tokens_.push_back(escape_pointer_token(key));
        return {};
      }
      if (again) // the last one wins
        xs[found].second = std::move(child);
      else
        xs.emplace_back(std::string{key}, std::move(child));
    }
    return value{std::move(xs)};
  }

  /// A double as simdjson read it. When it has no fraction, the literal
  /// decides: an exact integer within 64 bits becomes one (7.0 -> 7); a
  /// literal with a fraction that the double lost (1e-400 -> 0) becomes the
  /// nearest double that keeps one, toward the exact value, so the number
  /// never passes for an integer (and serializes as one that does not).
  value number(double d) {
    auto ordinal = numbers_++;
    if (!std::isfinite(d) || std::trunc(d) != d)
      return value{d};
    auto exact = exact_value(literals_.nth(ordinal));
    if (exact.integral) {
      if (exact.i64)
        return value{*exact.i64};
      if (exact.u64)
        return value{*exact.u64};
      return value{d}; // beyond 64 bits
    }
    auto magnitude = std::fabs(d);
    if (magnitude >= two_to_52)
      return value{d}; // no double here has a fraction: see is_integral
    bool above = exact.whole >= static_cast<uint64_t>(magnitude);
    auto nudged = std::nextafter(magnitude, above ? HUGE_VAL : 0.0);
    return value{exact.negative ? -nudged : nudged};
  }

  literal_scanner literals_;
  duplicates dup_;
  size_t numbers_ = 0;
  bool failed_ = false;
  std::string duplicate_;
  /// The pointer of a duplicate, innermost token first.
  std::vector<std::string> tokens_;
};

std::string describe(simdjson::error_code ec) {
  switch (ec) {
    case simdjson::DEPTH_ERROR:
      return "the document is nested too deeply";
    case simdjson::NUMBER_ERROR:
      return "a number is malformed or out of range";
    case simdjson::STRING_ERROR:
    case simdjson::UNCLOSED_STRING:
      return "a string is malformed or not closed";
    case simdjson::UTF8_ERROR:
      return "the text is not valid UTF-8";
    case simdjson::EMPTY:
      return "the text is empty";
    case simdjson::UNESCAPED_CHARS:
      return "a string holds an unescaped control character";
    case simdjson::CAPACITY:
      return "the document is too large";
    default:
      return simdjson::error_message(ec);
  }
}

} // namespace

std::string_view to_string(kind k) noexcept {
  switch (k) {
    case kind::null:
      return "null";
    case kind::boolean:
      return "boolean";
    case kind::integer:
    case kind::unsigned_integer:
      return "integer";
    case kind::number:
      return "number";
    case kind::string:
      return "string";
    case kind::array:
      return "array";
    case kind::object:
      return "object";
  }
  return "unknown";
}

value::value(uint64_t x) noexcept {
  if (x <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
    data_ = static_cast<int64_t>(x);
  else
    data_ = x;
}

kind value::type() const noexcept {
  return static_cast<kind>(data_.index());
}

bool value::is_number() const noexcept {
  auto k = type();
  return k == kind::integer || k == kind::unsigned_integer
         || k == kind::number;
}

bool value::is_integral() const noexcept {
  switch (type()) {
    case kind::integer:
    case kind::unsigned_integer:
      return true;
    case kind::number: {
      // See the header: a `number` in [2^52, 2^63) is a literal whose
      // fraction a double cannot hold (an integer there reads as int64).
      auto d = std::get<double>(data_);
      auto magnitude = std::fabs(d);
      return std::isfinite(d) && std::trunc(d) == d
             && (magnitude < two_to_52 || magnitude >= two_to_63);
    }
    default:
      return false;
  }
}

double value::as_double() const {
  switch (type()) {
    case kind::integer:
      return static_cast<double>(std::get<int64_t>(data_));
    case kind::unsigned_integer:
      return static_cast<double>(std::get<uint64_t>(data_));
    default:
      return std::get<double>(data_);
  }
}

std::optional<int64_t> value::as_int64() const noexcept {
  switch (type()) {
    case kind::integer:
      return std::get<int64_t>(data_);
    case kind::number: {
      // Integral numbers in int64's range are below 2^52 (is_integral).
      auto d = std::get<double>(data_);
      if (std::trunc(d) == d && std::fabs(d) < two_to_52)
        return static_cast<int64_t>(d);
      return std::nullopt;
    }
    default:
      return std::nullopt;
  }
}

const value* value::find(std::string_view key) const noexcept {
  if (auto* xs = std::get_if<object>(&data_))
    for (auto& [k, v] : *xs)
      if (k == key)
        return &v;
  return nullptr;
}

value* value::find(std::string_view key) noexcept {
  return const_cast<value*>(std::as_const(*this).find(key));
}

value& value::set(std::string key, value x) {
  if (is_null())
    data_ = object{};
  auto& xs = std::get<object>(data_);
  for (auto& [k, v] : xs)
    if (k == key) {
      v = std::move(x);
      return v;
    }
  xs.emplace_back(std::move(key), std::move(x));
  return xs.back().second;
}

bool value::erase(std::string_view key) {
  auto* xs = std::get_if<object>(&data_);
  if (xs == nullptr)
    return false;
  auto i = std::find_if(xs->begin(), xs->end(),
                        [&](auto& kv) { return kv.first == key; });
  if (i == xs->end())
    return false;
  xs->erase(i);
  return true;
}

value& value::push_back(value x) {
  if (is_null())
    data_ = array{};
  auto& xs = std::get<array>(data_);
  xs.emplace_back(std::move(x));
  return xs.back();
}

bool operator==(const value& x, const value& y) noexcept {
  if (x.is_number() && y.is_number()) {
    auto kx = x.type();
    auto ky = y.type();
    if (kx == kind::number || ky == kind::number)
      return x.as_double() == y.as_double();
    if (kx != ky)
      return false; // int64 vs uint64 > INT64_MAX never overlap
    return x.data_ == y.data_;
  }
  if (x.type() != y.type())
    return false;
  if (x.is_object()) {
    auto& xs = x.as_object();
    auto& ys = y.as_object();
    if (xs.size() != ys.size())
      return false;
    for (auto& [k, v] : xs) {
      auto* other = y.find(k);
      if (other == nullptr || !(v == *other))
        return false;
    }
    return true;
  }
  if (x.is_array()) {
    auto& xs = x.as_array();
    auto& ys = y.as_array();
    return std::equal(xs.begin(), xs.end(), ys.begin(), ys.end());
  }
  return x.data_ == y.data_;
}

std::optional<std::string> widen_big_integers(std::string_view text) {
  std::string out;
  bool changed = false;
  size_t i = 0;
  size_t copied = 0;
  auto n = text.size();
  while (i < n) {
    auto c = text[i];
    if (c == '"') {
      // Skip the string, honouring escapes.
      ++i;
      while (i < n && text[i] != '"')
        i += text[i] == '\\' ? 2 : 1;
      ++i;
      continue;
    }
    if (is_digit(c) && (i == 0 || !is_digit(text[i - 1]))) {
      auto start = i;
      while (i < n && is_digit(text[i]))
        ++i;
      auto digits = i - start;
      bool integer_literal = i >= n || (text[i] != '.' && text[i] != 'e'
                                        && text[i] != 'E');
      // 19 digits fit in 64 bits up to 9223372036854775807 (or 18 446...
      // unsigned), but a negative one only down to -9223372036854775808.
      bool negative = start > 0 && text[start - 1] == '-';
      bool below_int64 = negative && digits == 19
                         && text.substr(start, 19) > "9223372036854775808";
      if (integer_literal && (digits > 19 || below_int64) && text[start] != '0') {
        out.append(text.substr(copied, start - copied));
        out += text[start];
        out += '.';
        out.append(text.substr(start + 1, digits - 1));
        out += 'e';
        out += std::to_string(digits - 1);
        copied = i;
        changed = true;
      }
      continue;
    }
    ++i;
  }
  if (!changed)
    return std::nullopt;
  out.append(text.substr(copied));
  return out;
}

namespace {

/// Documents up to this size are parsed by a parser kept per thread, so the
/// many small documents of the hot paths (rows, payloads, manifests) do not
/// each allocate and free simdjson's buffers.
constexpr size_t reused_parser_capacity = 64 * 1024;

} // namespace

parse_result parse(std::string_view text, size_t max_depth, duplicates dup) {
  // (Its maximum stays simdjson's, so a document widened by
  // widen_big_integers past the capacity still parses.)
  thread_local simdjson::dom::parser reused{simdjson::SIMDJSON_MAXSIZE_BYTES};
  thread_local size_t reused_depth = 0;
  std::optional<simdjson::dom::parser> own;
  simdjson::dom::parser* chosen = &reused;
  if (text.size() <= reused_parser_capacity) {
    if (reused_depth != max_depth) {
      if (auto err = reused.allocate(reused_parser_capacity, max_depth);
          err != simdjson::SUCCESS) {
        reused_depth = 0;
        return {std::nullopt, {describe(err)}};
      }
      reused_depth = max_depth;
    }
  } else {
    chosen = &own.emplace(simdjson::SIMDJSON_MAXSIZE_BYTES);
    if (auto err = own->allocate(text.size(), max_depth);
        err != simdjson::SUCCESS)
      return {std::nullopt, {describe(err)}};
  }
  auto& parser = *chosen;
  simdjson::dom::element root;
  auto err = parser.parse(text.data(), text.size(), true).get(root);
  std::optional<std::string> widened;
  if (err == simdjson::NUMBER_ERROR) {
    widened = widen_big_integers(text);
    if (widened)
      err = parser.parse(widened->data(), widened->size(), true).get(root);
  }
  if (err != simdjson::SUCCESS)
    return {std::nullopt, {"invalid JSON: " + describe(err)}};
  // The literals are read from the text parsed (the structural index points
  // into it); a widened big integer keeps its exact value.
  tree_builder builder{widened ? std::string_view{*widened} : text, parser, dup};
  auto doc = builder.build(root);
  if (builder.failed()) {
    parse_error error;
    error.duplicate_key = true;
    error.pointer = builder.pointer();
    error.message = "the member \"" + builder.duplicate()
                    + "\" appears twice in one object (the second at "
                    + error.pointer + "); give each member once";
    return {std::nullopt, std::move(error)};
  }
  return {std::move(doc), {}};
}

parse_result parse_file(const std::string& path, size_t max_depth) {
  std::ifstream in{path, std::ios::binary};
  if (!in)
    return {std::nullopt, {"cannot read " + path}};
  std::ostringstream buf;
  buf << in.rdbuf();
  auto result = parse(buf.str(), max_depth);
  if (!result)
    result.error.message = path + ": " + result.error.message;
  return result;
}

// -- writing ------------------------------------------------------------------

namespace {

/// The UTF-8 sequence starting at `s[i]` (whose first byte is >= 0x80):
/// returns its length and sets `valid` when it is well formed (Unicode
/// Table 3-7), else the length of its maximal subpart (at least 1, what one
/// U+FFFD replaces) with `valid` false.
size_t utf8_sequence(std::string_view s, size_t i, bool& valid) noexcept {
  auto c = static_cast<unsigned char>(s[i]);
  size_t need = 0;
  unsigned char lo = 0x80;
  unsigned char hi = 0xBF;
  if (c >= 0xC2 && c <= 0xDF) {
    need = 1;
  } else if (c == 0xE0) {
    need = 2;
    lo = 0xA0; // no overlong forms
  } else if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF) {
    need = 2;
  } else if (c == 0xED) {
    need = 2;
    hi = 0x9F; // no surrogates
  } else if (c == 0xF0) {
    need = 3;
    lo = 0x90; // no overlong forms
  } else if (c >= 0xF1 && c <= 0xF3) {
    need = 3;
  } else if (c == 0xF4) {
    need = 3;
    hi = 0x8F; // nothing above U+10FFFF
  } else { // a continuation byte, C0, C1, F5..FF
    valid = false;
    return 1;
  }
  for (size_t k = 1; k <= need; ++k) {
    if (i + k >= s.size()) {
      valid = false;
      return k;
    }
    auto b = static_cast<unsigned char>(s[i + k]);
    if (b < lo || b > hi) {
      valid = false;
      return k;
    }
    lo = 0x80;
    hi = 0xBF;
  }
  valid = true;
  return need + 1;
}

} // namespace

void append_quoted(std::string& out, std::string_view text) {
  static constexpr char hex[] = "0123456789abcdef";
  out += '"';
  size_t run = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\')
      continue;
    if (c >= 0x80) {
      bool valid = false;
      auto len = utf8_sequence(text, i, valid);
      if (!valid) {
        out.append(text.substr(run, i - run));
        out += "\xEF\xBF\xBD"; // U+FFFD REPLACEMENT CHARACTER
        run = i + len;
      }
      i += len - 1;
      continue;
    }
    out.append(text.substr(run, i - run));
    run = i + 1;
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      default:
        out += "\\u00";
        out += hex[c >> 4];
        out += hex[c & 0xF];
    }
  }
  out.append(text.substr(run));
  out += '"';
}

void append_number(std::string& out, double x) {
  if (!std::isfinite(x)) {
    out += "null"; // JSON has no NaN or infinity
    return;
  }
  char buf[32];
  if (std::trunc(x) == x && std::fabs(x) < 9.007199254740992e15) {
    auto r = std::to_chars(buf, buf + sizeof(buf), static_cast<int64_t>(x));
    out.append(buf, r.ptr);
    return;
  }
  auto r = std::to_chars(buf, buf + sizeof(buf), x);
  out.append(buf, r.ptr);
}

namespace {

void indent(std::string& out, int depth) {
  out += '\n';
  out.append(static_cast<size_t>(depth) * 2, ' ');
}

void write(std::string& out, const value& x, style s, int depth) {
  char buf[32];
  switch (x.type()) {
    case kind::null:
      out += "null";
      return;
    case kind::boolean:
      out += x.as_bool() ? "true" : "false";
      return;
    case kind::integer: {
      auto r = std::to_chars(buf, buf + sizeof(buf),
                             std::get<int64_t>(x.data()));
      out.append(buf, r.ptr);
      return;
    }
    case kind::unsigned_integer: {
      auto r = std::to_chars(buf, buf + sizeof(buf),
                             std::get<uint64_t>(x.data()));
      out.append(buf, r.ptr);
      return;
    }
    case kind::number: {
      auto d = std::get<double>(x.data());
      auto magnitude = std::fabs(d);
      if (magnitude >= two_to_52 && magnitude < two_to_63) {
        // A literal whose fraction the double lost (see is_integral): keep
        // a fraction, one that reads back as the same double, so that the
        // text never passes for an integer either.
        auto r = std::to_chars(buf, buf + sizeof(buf), static_cast<int64_t>(d));
        out.append(buf, r.ptr);
        out += ".25";
        return;
      }
      append_number(out, d);
      return;
    }
    case kind::string:
      append_quoted(out, x.as_string());
      return;
    case kind::array: {
      auto& xs = x.as_array();
      out += '[';
      for (size_t i = 0; i < xs.size(); ++i) {
        if (i > 0)
          out += ',';
        if (s == style::pretty)
          indent(out, depth + 1);
        write(out, xs[i], s, depth + 1);
      }
      if (s == style::pretty && !xs.empty())
        indent(out, depth);
      out += ']';
      return;
    }
    case kind::object: {
      auto& xs = x.as_object();
      std::vector<const std::pair<std::string, value>*> members;
      members.reserve(xs.size());
      for (auto& kv : xs)
        members.push_back(&kv);
      if (s == style::canonical)
        std::sort(members.begin(), members.end(),
                  [](auto* a, auto* b) { return a->first < b->first; });
      out += '{';
      for (size_t i = 0; i < members.size(); ++i) {
        if (i > 0)
          out += ',';
        if (s == style::pretty)
          indent(out, depth + 1);
        append_quoted(out, members[i]->first);
        out += s == style::pretty ? ": " : ":";
        write(out, members[i]->second, s, depth + 1);
      }
      if (s == style::pretty && !members.empty())
        indent(out, depth);
      out += '}';
      return;
    }
  }
}

} // namespace

void serialize_to(std::string& out, const value& x, style s) {
  write(out, x, s, 0);
}

std::string serialize(const value& x, style s) {
  std::string out;
  serialize_to(out, x, s);
  return out;
}

// -- JSON pointers ------------------------------------------------------------

std::string escape_pointer_token(std::string_view token) {
  std::string out;
  out.reserve(token.size());
  for (auto c : token) {
    if (c == '~')
      out += "~0";
    else if (c == '/')
      out += "~1";
    else
      out += c;
  }
  return out;
}

std::string append_pointer(std::string_view base, std::string_view token) {
  std::string out{base};
  out += '/';
  out += escape_pointer_token(token);
  return out;
}

std::string append_pointer(std::string_view base, size_t index) {
  std::string out{base};
  out += '/';
  out += std::to_string(index);
  return out;
}

bool is_json_pointer(std::string_view s) noexcept {
  if (s.empty())
    return true;
  if (s.front() != '/')
    return false;
  for (size_t i = 0; i < s.size(); ++i)
    if (s[i] == '~' && (i + 1 == s.size() || (s[i + 1] != '0' && s[i + 1] != '1')))
      return false;
  return true;
}

const value* resolve_pointer(const value& root, std::string_view pointer) {
  const value* cur = &root;
  if (pointer.empty())
    return cur;
  if (pointer.front() != '/')
    return nullptr;
  size_t pos = 1;
  while (true) {
    auto end = pointer.find('/', pos);
    auto raw = pointer.substr(pos, end == std::string_view::npos
                                     ? std::string_view::npos
                                     : end - pos);
    std::string token;
    for (size_t i = 0; i < raw.size(); ++i) {
      if (raw[i] == '~') {
        if (i + 1 >= raw.size() || (raw[i + 1] != '0' && raw[i + 1] != '1'))
          return nullptr;
        token += raw[i + 1] == '0' ? '~' : '/';
        ++i;
      } else {
        token += raw[i];
      }
    }
    if (cur->is_object()) {
      cur = cur->find(token);
    } else if (cur->is_array()) {
      auto& xs = cur->as_array();
      size_t idx = 0;
      auto [p, ec] = std::from_chars(token.data(), token.data() + token.size(),
                                     idx);
      if (ec != std::errc{} || p != token.data() + token.size()
          || token.empty() || (token.size() > 1 && token[0] == '0')
          || idx >= xs.size())
        return nullptr;
      cur = &xs[idx];
    } else {
      return nullptr;
    }
    if (cur == nullptr)
      return nullptr;
    if (end == std::string_view::npos)
      return cur;
    pos = end + 1;
  }
}

} // namespace omniva::json
