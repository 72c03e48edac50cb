#include "contracts/json_format.hpp"

#include "contracts/calendar.hpp"
#include "contracts/ecma_regex.hpp"

#include <algorithm>
#include <array>
#include <cstddef>
#include <string>
#include <vector>

namespace omniva::contracts {

namespace {

// ---------------------------------------------------------------------------
// Character classes. One table lookup per byte keeps the scanners branch-light;
// every byte >= 0x80 has no class, which is how non-ASCII input is rejected.

enum char_class : uint16_t {
  alpha = 1U << 0,
  digit = 1U << 1,
  hex_digit = 1U << 2,
  // RFC 3986 `unreserved`: ALPHA / DIGIT / "-" / "." / "_" / "~".
  unreserved = 1U << 3,
  // RFC 3986 `sub-delims`.
  sub_delim = 1U << 4,
  // RFC 5321 `atext` (the characters of an unquoted local part, dots aside).
  atext = 1U << 5,
  // RFC 3986 `pchar` without percent-encodings: unreserved / sub-delims / ":" / "@".
  path_char = 1U << 6,
  // `pchar` plus "/": a whole path.
  path_or_slash = 1U << 7,
  // RFC 3986 query and fragment: pchar / "/" / "?".
  query_char = 1U << 8,
  // RFC 3986 `userinfo`: unreserved / sub-delims / ":".
  userinfo_char = 1U << 9,
  // RFC 3986 `reg-name`: unreserved / sub-delims.
  reg_name_char = 1U << 10,
  // RFC 3986 scheme characters after the first letter.
  scheme_char = 1U << 11,
};

constexpr std::array<uint16_t, 256> make_char_table() {
  std::array<uint16_t, 256> table{};
  auto add = [&table](std::string_view chars, uint16_t cls) {
    for (char c : chars)
      table[static_cast<unsigned char>(c)] |= cls;
  };
  constexpr std::string_view letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  constexpr std::string_view digits = "0123456789";
  constexpr std::string_view sub_delims = "!$&'()*+,;=";
  add(letters, alpha);
  add(digits, digit);
  add(digits, hex_digit);
  add("ABCDEFabcdef", hex_digit);
  const uint16_t uri_base = unreserved | path_char | path_or_slash | query_char | userinfo_char
                            | reg_name_char;
  add(letters, uri_base);
  add(digits, uri_base);
  add("-._~", uri_base);
  add(sub_delims, sub_delim | path_char | path_or_slash | query_char | userinfo_char
                      | reg_name_char);
  add(":", path_char | path_or_slash | query_char | userinfo_char);
  add("@", path_char | path_or_slash | query_char);
  add("/", path_or_slash | query_char);
  add("?", query_char);
  add(letters, atext);
  add(digits, atext);
  add("!#$%&'*+-/=?^_`{|}~", atext);
  add(letters, scheme_char);
  add(digits, scheme_char);
  add("+-.", scheme_char);
  return table;
}

constexpr std::array<uint16_t, 256> char_table = make_char_table();

constexpr bool is(char c, uint16_t cls) noexcept {
  return (char_table[static_cast<unsigned char>(c)] & cls) != 0;
}

constexpr bool is_digit(char c) noexcept {
  return c >= '0' && c <= '9';
}

// Reads exactly `count` ASCII digits at `pos`; -1 when the text is shorter or any
// byte is not an ASCII digit (so Bengali or fullwidth digits fail here).
constexpr int read_fixed_digits(std::string_view s, size_t pos, size_t count) noexcept {
  if (pos + count > s.size())
    return -1;
  int value = 0;
  for (size_t i = 0; i < count; ++i) {
    char c = s[pos + i];
    if (!is_digit(c))
      return -1;
    value = value * 10 + (c - '0');
  }
  return value;
}

// ---------------------------------------------------------------------------
// RFC 3339 date and time.

// full-date = date-fullyear "-" date-month "-" date-mday, exactly ten bytes,
// naming a calendar day (contracts/calendar.hpp, shared with parse_timestamp).
bool check_full_date(std::string_view s) noexcept {
  return s.size() == 10 && read_full_date(s).has_value();
}

// full-time = partial-time time-offset. A leap second (60) is only real at
// 23:59 UTC, so the local time is shifted by the offset before that test; the
// date is not consulted because RFC 3339 leaves the leap-second table out of the
// grammar.
bool check_full_time(std::string_view s) noexcept {
  if (s.size() < 9 || s[2] != ':' || s[5] != ':')
    return false;
  int hour = read_fixed_digits(s, 0, 2);
  int minute = read_fixed_digits(s, 3, 2);
  int second = read_fixed_digits(s, 6, 2);
  if (hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 60)
    return false;
  size_t pos = 8;
  if (s[pos] == '.') {
    size_t first = ++pos;
    while (pos < s.size() && is_digit(s[pos]))
      ++pos;
    if (pos == first)
      return false;
  }
  if (pos >= s.size())
    return false;
  int offset_minutes = 0;
  char sign = s[pos];
  if (sign == 'Z' || sign == 'z') {
    ++pos;
  } else if (sign == '+' || sign == '-') {
    if (s.size() - pos != 6 || s[pos + 3] != ':')
      return false;
    int offset_hour = read_fixed_digits(s, pos + 1, 2);
    int offset_minute = read_fixed_digits(s, pos + 4, 2);
    if (offset_hour < 0 || offset_hour > 23 || offset_minute < 0 || offset_minute > 59)
      return false;
    offset_minutes = (offset_hour * 60 + offset_minute) * (sign == '+' ? 1 : -1);
    pos += 6;
  } else {
    return false;
  }
  if (pos != s.size())
    return false;
  if (second == 60) {
    constexpr int minutes_per_day = 24 * 60;
    int utc = ((hour * 60 + minute - offset_minutes) % minutes_per_day + minutes_per_day)
              % minutes_per_day;
    return utc == 23 * 60 + 59;
  }
  return true;
}

bool check_date_time(std::string_view s) noexcept {
  if (s.size() < 11 || (s[10] != 'T' && s[10] != 't'))
    return false;
  return check_full_date(s.substr(0, 10)) && check_full_time(s.substr(11));
}

// duration = "P" (dur-date / dur-time / dur-week), RFC 3339 Appendix A. Units
// must appear in order without gaps (Y M D, then H M S), so "P1Y2D" is invalid
// while "P1M2D" is valid; weeks stand alone.
bool check_duration(std::string_view s) noexcept {
  if (s.size() < 2 || s[0] != 'P')
    return false;
  // Reads `1*DIGIT unit` elements from `pos` until the end (or a 'T' when
  // `stop_at_t`); returns the index of the last unit read, -1 when none was,
  // -2 when the text breaks the grammar.
  auto read_elements = [&s](size_t& pos, std::string_view units, bool stop_at_t) -> int {
    int last = -1;
    while (pos < s.size() && !(stop_at_t && s[pos] == 'T')) {
      size_t first = pos;
      while (pos < s.size() && is_digit(s[pos]))
        ++pos;
      if (pos == first || pos == s.size())
        return -2;
      size_t unit = units.find(s[pos]);
      if (unit == std::string_view::npos || (last != -1 && static_cast<int>(unit) != last + 1))
        return -2;
      last = static_cast<int>(unit);
      ++pos;
    }
    return last;
  };
  size_t pos = 1;
  // Weeks cannot be combined with anything, so they get their own exact shape.
  if (s.back() == 'W') {
    for (size_t i = 1; i + 1 < s.size(); ++i)
      if (!is_digit(s[i]))
        return false;
    return s.size() > 2;
  }
  int date_last = read_elements(pos, "YMD", true);
  if (date_last == -2)
    return false;
  if (pos == s.size())
    return date_last >= 0;
  ++pos;  // the 'T'
  int time_last = read_elements(pos, "HMS", false);
  return time_last >= 0;
}

// ---------------------------------------------------------------------------
// Host names and IP addresses.

// RFC 1123 host name. The test suite rejects a trailing dot, so the root label
// is not accepted either.
bool check_hostname(std::string_view s) noexcept {
  if (s.empty() || s.size() > 253)
    return false;
  size_t label_length = 0;
  char previous = '.';
  for (char c : s) {
    if (c == '.') {
      if (label_length == 0 || previous == '-')
        return false;
      label_length = 0;
    } else if (is(c, alpha | digit) || (c == '-' && label_length > 0)) {
      if (++label_length > 63)
        return false;
    } else {
      return false;
    }
    previous = c;
  }
  return label_length > 0 && previous != '-';
}

// Dotted quad, each part 0-255 without leading zeros (which some parsers read
// as octal, so "087" is ambiguous and rejected).
bool check_ipv4(std::string_view s) noexcept {
  int parts = 0;
  size_t pos = 0;
  for (;;) {
    size_t first = pos;
    int value = 0;
    while (pos < s.size() && is_digit(s[pos])) {
      if (pos - first == 3)
        return false;
      value = value * 10 + (s[pos] - '0');
      ++pos;
    }
    size_t length = pos - first;
    if (length == 0 || (length > 1 && s[first] == '0') || value > 255)
      return false;
    ++parts;
    if (pos == s.size())
      return parts == 4;
    if (s[pos] != '.' || parts == 4)
      return false;
    ++pos;
  }
}

// RFC 4291 §2.2 text forms: eight groups of 1-4 hex digits, one "::" standing
// for one or more zero groups, and optionally a dotted quad as the last 32 bits.
bool check_ipv6(std::string_view s) noexcept {
  if (s.empty())
    return false;
  int groups = 0;
  bool compressed = false;
  size_t pos = 0;
  if (s.starts_with("::")) {
    compressed = true;
    pos = 2;
    if (pos == s.size())
      return true;
  }
  while (pos < s.size()) {
    size_t first = pos;
    while (pos < s.size() && is(s[pos], hex_digit))
      ++pos;
    if (pos < s.size() && s[pos] == '.') {
      // The IPv4 tail must run to the end and takes two groups.
      if (!check_ipv4(s.substr(first)))
        return false;
      groups += 2;
      break;
    }
    size_t length = pos - first;
    if (length == 0 || length > 4)
      return false;
    ++groups;
    if (pos == s.size())
      break;
    if (s[pos] != ':')
      return false;
    ++pos;
    if (pos == s.size())
      return false;  // a single trailing colon
    if (s[pos] == ':') {
      if (compressed)
        return false;
      compressed = true;
      ++pos;
    }
  }
  return compressed ? groups <= 7 : groups == 8;
}

// ---------------------------------------------------------------------------
// RFC 5321 mailbox.

bool check_email(std::string_view s) noexcept {
  size_t pos = 0;
  if (s.empty())
    return false;
  if (s[0] == '"') {
    // Quoted-string: qtextSMTP or a backslash pair, all printable ASCII.
    pos = 1;
    for (;;) {
      if (pos >= s.size())
        return false;
      char c = s[pos++];
      if (c == '"')
        break;
      if (c == '\\') {
        if (pos >= s.size())
          return false;
        c = s[pos++];
      }
      if (c < 32 || c > 126)
        return false;
    }
  } else {
    // Dot-string: atoms separated by single dots.
    bool after_dot = true;
    while (pos < s.size() && s[pos] != '@') {
      char c = s[pos++];
      if (c == '.') {
        if (after_dot)
          return false;
        after_dot = true;
      } else if (is(c, atext)) {
        after_dot = false;
      } else {
        return false;
      }
    }
    if (after_dot)
      return false;
  }
  if (pos >= s.size() || s[pos] != '@')
    return false;
  std::string_view domain = s.substr(pos + 1);
  if (domain.size() >= 2 && domain.front() == '[' && domain.back() == ']') {
    std::string_view literal = domain.substr(1, domain.size() - 2);
    // ABNF strings are case-insensitive, so "ipv6:" is the same tag.
    constexpr std::string_view ipv6_tag = "ipv6:";
    bool tagged = literal.size() >= ipv6_tag.size();
    for (size_t i = 0; tagged && i < ipv6_tag.size(); ++i)
      tagged = (is(literal[i], alpha) ? static_cast<char>(literal[i] | 0x20) : literal[i])
               == ipv6_tag[i];
    return tagged ? check_ipv6(literal.substr(ipv6_tag.size())) : check_ipv4(literal);
  }
  return check_hostname(domain);
}

// ---------------------------------------------------------------------------
// RFC 3986 URI and URI-reference.

// Every byte is in `allowed` or starts a `%` HEXDIG HEXDIG triplet.
bool check_uri_component(std::string_view s, uint16_t allowed) noexcept {
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '%') {
      if (i + 2 >= s.size() || !is(s[i + 1], hex_digit) || !is(s[i + 2], hex_digit))
        return false;
      i += 2;
    } else if (!is(c, allowed)) {
      return false;
    }
  }
  return true;
}

// IP-literal contents: IPv6address / IPvFuture. RFC 3986 has no zone id.
bool check_ip_literal(std::string_view s) noexcept {
  if (!s.empty() && (s[0] == 'v' || s[0] == 'V')) {
    size_t pos = 1;
    while (pos < s.size() && is(s[pos], hex_digit))
      ++pos;
    if (pos == 1 || pos + 1 >= s.size() || s[pos] != '.')
      return false;
    for (++pos; pos < s.size(); ++pos)
      if (!is(s[pos], userinfo_char))
        return false;
    return true;
  }
  return check_ipv6(s);
}

// authority = [ userinfo "@" ] host [ ":" port ]
bool check_authority(std::string_view s) noexcept {
  // userinfo cannot contain "@", so the first one ends it and any later one makes
  // the host invalid.
  if (size_t at = s.find('@'); at != std::string_view::npos) {
    if (!check_uri_component(s.substr(0, at), userinfo_char))
      return false;
    s.remove_prefix(at + 1);
  }
  std::string_view port;
  if (!s.empty() && s[0] == '[') {
    size_t close = s.find(']');
    if (close == std::string_view::npos || !check_ip_literal(s.substr(1, close - 1)))
      return false;
    std::string_view rest = s.substr(close + 1);
    if (!rest.empty()) {
      if (rest[0] != ':')
        return false;
      port = rest.substr(1);
    }
  } else {
    // reg-name cannot contain ":", so the first one starts the port. An IPv4
    // address is a special reg-name, which is why "999.999.999.999" passes.
    size_t colon = s.find(':');
    if (!check_uri_component(s.substr(0, colon), reg_name_char))
      return false;
    if (colon != std::string_view::npos)
      port = s.substr(colon + 1);
  }
  for (char c : port)
    if (!is_digit(c))
      return false;
  return true;
}

bool is_scheme(std::string_view s) noexcept {
  if (s.empty() || !is(s[0], alpha))
    return false;
  for (char c : s)
    if (!is(c, scheme_char))
      return false;
  return true;
}

// URI = scheme ":" hier-part [ "?" query ] [ "#" fragment ]
// relative-ref = relative-part [ "?" query ] [ "#" fragment ]
bool check_uri_reference(std::string_view s, bool require_scheme) noexcept {
  bool has_scheme = false;
  size_t delimiter = s.find_first_of(":/?#");
  if (delimiter != std::string_view::npos && s[delimiter] == ':'
      && is_scheme(s.substr(0, delimiter))) {
    has_scheme = true;
    s.remove_prefix(delimiter + 1);
  }
  if (require_scheme && !has_scheme)
    return false;
  size_t hier_end = s.find_first_of("?#");
  std::string_view hier = s.substr(0, hier_end);
  std::string_view tail = hier_end == std::string_view::npos ? std::string_view{}
                                                             : s.substr(hier_end);
  std::string_view path = hier;
  if (hier.starts_with("//")) {
    size_t authority_end = hier.find('/', 2);
    if (!check_authority(hier.substr(2, authority_end == std::string_view::npos
                                            ? std::string_view::npos
                                            : authority_end - 2)))
      return false;
    path = authority_end == std::string_view::npos ? std::string_view{}
                                                   : hier.substr(authority_end);
  } else if (!has_scheme) {
    // path-noscheme: a colon in the first segment would read as a scheme.
    std::string_view first_segment = path.substr(0, path.find('/'));
    if (first_segment.find(':') != std::string_view::npos)
      return false;
  }
  if (!check_uri_component(path, path_or_slash))
    return false;
  if (!tail.empty() && tail[0] == '?') {
    size_t query_end = tail.find('#');
    if (!check_uri_component(tail.substr(1, query_end == std::string_view::npos
                                                 ? std::string_view::npos
                                                 : query_end - 1),
                             query_char))
      return false;
    tail = query_end == std::string_view::npos ? std::string_view{} : tail.substr(query_end);
  }
  // A second "#" is not a fragment character, so it fails here.
  return tail.empty() || check_uri_component(tail.substr(1), query_char);
}

// ---------------------------------------------------------------------------
// UUID and JSON pointers.

bool check_uuid(std::string_view s) noexcept {
  if (s.size() != 36)
    return false;
  for (size_t i = 0; i < s.size(); ++i) {
    bool hyphen_position = i == 8 || i == 13 || i == 18 || i == 23;
    if (hyphen_position ? s[i] != '-' : !is(s[i], hex_digit))
      return false;
  }
  return true;
}

bool check_json_pointer(std::string_view s) noexcept {
  if (s.empty())
    return true;
  if (s[0] != '/')
    return false;
  for (size_t i = 0; i < s.size(); ++i)
    if (s[i] == '~' && (i + 1 == s.size() || (s[i + 1] != '0' && s[i + 1] != '1')))
      return false;
  return true;
}

// Reads `non-negative-integer` ("0" or digits without a leading zero) at `pos`.
bool read_non_negative_integer(std::string_view s, size_t& pos) noexcept {
  size_t first = pos;
  while (pos < s.size() && is_digit(s[pos]))
    ++pos;
  return pos > first && (s[first] != '0' || pos - first == 1);
}

// relative-json-pointer = non-negative-integer [index-manipulation]
//                         ( json-pointer / "#" )
// index-manipulation = ( "+" / "-" ) positive-integer
bool check_relative_json_pointer(std::string_view s) noexcept {
  size_t pos = 0;
  if (!read_non_negative_integer(s, pos))
    return false;
  if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    ++pos;
    if (pos >= s.size() || s[pos] == '0' || !read_non_negative_integer(s, pos))
      return false;
  }
  std::string_view rest = s.substr(pos);
  return rest == "#" || check_json_pointer(rest);
}

}  // namespace

string_format format_from_name(std::string_view name) noexcept {
  struct entry {
    std::string_view name;
    string_format format;
  };
  constexpr std::array<entry, 14> names = {{
      {"date-time", string_format::date_time},
      {"date", string_format::date},
      {"time", string_format::time},
      {"duration", string_format::duration},
      {"email", string_format::email},
      {"hostname", string_format::hostname},
      {"ipv4", string_format::ipv4},
      {"ipv6", string_format::ipv6},
      {"uri", string_format::uri},
      {"uri-reference", string_format::uri_reference},
      {"uuid", string_format::uuid},
      {"json-pointer", string_format::json_pointer},
      {"relative-json-pointer", string_format::relative_json_pointer},
      {"regex", string_format::regex},
  }};
  for (const entry& candidate : names)
    if (candidate.name == name)
      return candidate.format;
  return string_format::unknown;
}

bool check_format(string_format format, std::string_view value) noexcept {
  switch (format) {
    case string_format::date_time:
      return check_date_time(value);
    case string_format::date:
      return check_full_date(value);
    case string_format::time:
      return check_full_time(value);
    case string_format::duration:
      return check_duration(value);
    case string_format::email:
      return check_email(value);
    case string_format::hostname:
      return check_hostname(value);
    case string_format::ipv4:
      return check_ipv4(value);
    case string_format::ipv6:
      return check_ipv6(value);
    case string_format::uri:
      return check_uri_reference(value, true);
    case string_format::uri_reference:
      return check_uri_reference(value, false);
    case string_format::uuid:
      return check_uuid(value);
    case string_format::json_pointer:
      return check_json_pointer(value);
    case string_format::relative_json_pointer:
      return check_relative_json_pointer(value);
    case string_format::regex:
      // The one ECMA-262 reader of every pattern (contracts/ecma_regex.hpp).
      return is_ecma_regex(value);
    case string_format::unknown:
      return true;
  }
  return true;
}

}  // namespace omniva::contracts
