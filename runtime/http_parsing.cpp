#include "runtime/http_parsing.hpp"

#include "contracts/uri.hpp"

#include <openssl/crypto.h>

#include <algorithm>
#include <cctype>
#include <utility>

namespace omniva::runtime::detail {

std::string lowercase(std::string_view x) {
  std::string result{x};
  for (auto& c : result)
    if (c >= 'A' && c <= 'Z')
      c = static_cast<char>(c - 'A' + 'a');
  return result;
}

bool iequals(std::string_view x, std::string_view y) {
  return x.size() == y.size()
         && std::equal(x.begin(), x.end(), y.begin(), [](char a, char b) {
              return std::tolower(static_cast<unsigned char>(a))
                     == std::tolower(static_cast<unsigned char>(b));
            });
}

std::vector<std::string_view> split_path(std::string_view path) {
  std::vector<std::string_view> result;
  path.remove_prefix(1);
  for (;;) {
    auto slash = path.find('/');
    result.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos)
      break;
    path.remove_prefix(slash + 1);
  }
  return result;
}

std::optional<std::vector<std::string>> decode_path(std::string_view path) {
  auto raw = split_path(path);
  std::vector<std::string> segments;
  segments.reserve(raw.size());
  for (auto part : raw) {
    auto decoded = contracts::percent_decode(part, {.strict = true});
    if (!decoded)
      return std::nullopt;
    segments.push_back(std::move(*decoded));
  }
  return segments;
}

bool parse_query(std::string_view query,
                 std::map<std::string, std::string>& out) {
  while (!query.empty()) {
    auto amp = query.find('&');
    auto piece = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{}
                                          : query.substr(amp + 1);
    if (piece.empty())
      continue;
    auto eq = piece.find('=');
    constexpr contracts::percent_decoding form{.plus_as_space = true, .strict = true};
    auto key = contracts::percent_decode(piece.substr(0, eq), form);
    auto value = eq == std::string_view::npos
                   ? std::optional<std::string>{std::string{}}
                   : contracts::percent_decode(piece.substr(eq + 1), form);
    if (!key || !value)
      return false;
    out[std::move(*key)] = std::move(*value);
  }
  return true;
}

bool constant_time_equal(std::string_view x, std::string_view y) {
  return x.size() == y.size() && CRYPTO_memcmp(x.data(), y.data(), x.size()) == 0;
}

std::string_view bearer_token(std::string_view authorization) {
  constexpr std::string_view scheme = "bearer";
  if (authorization.size() <= scheme.size()
      || !iequals(authorization.substr(0, scheme.size()), scheme)
      || (authorization[scheme.size()] != ' '
          && authorization[scheme.size()] != '\t'))
    return {};
  auto token = authorization.substr(scheme.size());
  while (!token.empty() && (token.front() == ' ' || token.front() == '\t'))
    token.remove_prefix(1);
  while (!token.empty() && (token.back() == ' ' || token.back() == '\t'))
    token.remove_suffix(1);
  return token;
}

} // namespace omniva::runtime::detail
