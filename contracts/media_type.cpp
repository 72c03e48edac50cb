#include "contracts/media_type.hpp"

#include <algorithm>

namespace omniva::contracts {

namespace {

bool is_alnum(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
         || (c >= '0' && c <= '9');
}

char to_lower(char c) noexcept {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

std::string lowercase(std::string_view s) {
  std::string out{s};
  for (auto& c : out)
    c = to_lower(c);
  return out;
}

bool is_space(char c) noexcept {
  return c == ' ' || c == '\t';
}

std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && is_space(s.front()))
    s.remove_prefix(1);
  while (!s.empty() && is_space(s.back()))
    s.remove_suffix(1);
  return s;
}

/// `text` without parameters and surrounding whitespace, case kept.
std::string_view essence_view(std::string_view text) noexcept {
  return trim(text.substr(0, text.find(';')));
}

bool equals_ignoring_case(std::string_view x, std::string_view y) noexcept {
  return x.size() == y.size()
         && std::equal(x.begin(), x.end(), y.begin(), [](char a, char b) {
              return to_lower(a) == to_lower(b);
            });
}

bool ends_with_ignoring_case(std::string_view x, std::string_view suffix) noexcept {
  return x.size() >= suffix.size()
         && equals_ignoring_case(x.substr(x.size() - suffix.size()), suffix);
}

/// RFC 6838 restricted-name.
bool is_restricted_name(std::string_view s) noexcept {
  if (s.empty() || s.size() > 127 || !is_alnum(s.front()))
    return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return is_alnum(c) || c == '!' || c == '#' || c == '$' || c == '&'
           || c == '-' || c == '^' || c == '_' || c == '.' || c == '+';
  });
}

/// RFC 9110 tchar.
bool is_token_char(char c) noexcept {
  return is_alnum(c) || c == '!' || c == '#' || c == '$' || c == '%'
         || c == '&' || c == '\'' || c == '*' || c == '+' || c == '-'
         || c == '.' || c == '^' || c == '_' || c == '`' || c == '|'
         || c == '~';
}

/// Reads a token from the front of `s`; empty when there is none.
std::string_view take_token(std::string_view& s) noexcept {
  size_t n = 0;
  while (n < s.size() && is_token_char(s[n]))
    ++n;
  auto token = s.substr(0, n);
  s.remove_prefix(n);
  return token;
}

/// Reads a quoted-string from the front of `s` (which starts with '"')
/// into `out`, escapes resolved; false when it is not closed.
bool take_quoted(std::string_view& s, std::string& out) {
  size_t i = 1;
  while (i < s.size()) {
    char c = s[i];
    if (c == '"') {
      s.remove_prefix(i + 1);
      return true;
    }
    if (c == '\\') {
      if (i + 1 >= s.size())
        return false;
      c = s[++i];
    }
    out += c;
    ++i;
  }
  return false;
}

} // namespace

std::string parsed_media_type::essence() const {
  return type + "/" + subtype;
}

std::optional<parsed_media_type> parse_media_type(std::string_view text,
                                           bool allow_wildcard) {
  auto s = trim(text);
  auto end_of_essence = s.find(';');
  auto essence = trim(s.substr(0, end_of_essence));
  auto slash = essence.find('/');
  if (slash == std::string_view::npos)
    return std::nullopt;
  auto type = essence.substr(0, slash);
  auto subtype = essence.substr(slash + 1);
  if (!is_restricted_name(type)
      || !(is_restricted_name(subtype) || (allow_wildcard && subtype == "*")))
    return std::nullopt;
  parsed_media_type out{lowercase(type), lowercase(subtype), {}};
  if (end_of_essence == std::string_view::npos)
    return out;
  s.remove_prefix(end_of_essence);
  while (!s.empty()) {
    // s starts with ';'.
    s = trim(s.substr(1));
    if (s.empty())
      break; // a trailing ';' carries no parameter
    auto name = take_token(s);
    if (name.empty() || s.empty() || s.front() != '=')
      return std::nullopt;
    s.remove_prefix(1);
    std::string value;
    if (!s.empty() && s.front() == '"') {
      if (!take_quoted(s, value))
        return std::nullopt;
    } else {
      auto token = take_token(s);
      if (token.empty())
        return std::nullopt;
      value = std::string{token};
    }
    out.parameters.emplace_back(lowercase(name), std::move(value));
    s = trim(s);
    if (!s.empty() && s.front() != ';')
      return std::nullopt;
  }
  return out;
}

std::string media_type_essence(std::string_view text) {
  return lowercase(essence_view(text));
}

bool is_valid_media_type(std::string_view text, bool allow_wildcard) noexcept {
  auto slash = text.find('/');
  if (slash == std::string_view::npos)
    return false;
  auto type = text.substr(0, slash);
  auto subtype = text.substr(slash + 1);
  return is_restricted_name(type)
         && (is_restricted_name(subtype) || (allow_wildcard && subtype == "*"));
}

bool media_type_matches(std::string_view accepted,
                        std::string_view actual) noexcept {
  auto essence = essence_view(actual);
  auto want = trim(accepted);
  if (want.ends_with("/*")) {
    auto type = want.substr(0, want.size() - 1); // "video/"
    return essence.size() > type.size()
           && equals_ignoring_case(essence.substr(0, type.size()), type);
  }
  return equals_ignoring_case(essence, want);
}

bool media_type_accepted(const std::vector<std::string>& accepted,
                         std::string_view actual) noexcept {
  return accepted.empty()
         || std::any_of(accepted.begin(), accepted.end(),
                        [&](const std::string& t) {
                          return media_type_matches(t, actual);
                        });
}

bool is_json_media_type(std::string_view text) noexcept {
  auto essence = essence_view(text);
  return equals_ignoring_case(essence, "application/json")
         || ends_with_ignoring_case(essence, "+json");
}

bool is_text_media_type(std::string_view text) noexcept {
  auto essence = essence_view(text);
  return essence.size() >= 5 && equals_ignoring_case(essence.substr(0, 5), "text/");
}

} // namespace omniva::contracts
