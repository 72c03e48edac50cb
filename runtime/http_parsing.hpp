#pragma once

// The text rules of HTTP the node's server and client apply (DESIGN.md §8):
// case-insensitive names, a request target's path segments and query string,
// and the bearer token of an `Authorization` field. Pure functions without
// Boost.Beast, so each can be read and tested on its own.
//
// Internal to runtime/: the public API is http_server.hpp and http_client.hpp.

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace omniva::runtime::detail {

/// Returns `x` with the ASCII letters A-Z lowercased; other bytes stay as
/// they are. Field names and URL schemes compare case-insensitively, so both
/// are kept lowercase.
std::string lowercase(std::string_view x);

/// Whether `x` and `y` are equal but for the case of their letters.
bool iequals(std::string_view x, std::string_view y);

/// Splits "/a/b/c" into "a", "b", "c" ("/" gives one empty segment). `path`
/// must start with '/'; the views point into it.
std::vector<std::string_view> split_path(std::string_view path);

/// Splits `path` (which must start with '/') into segments and
/// percent-decodes each strictly; nullopt for a malformed escape.
std::optional<std::vector<std::string>> decode_path(std::string_view path);

/// Parses a query string into `out`: percent-decoded, "+" is a space, a
/// repeated key keeps its last value, a key without "=" has the value "".
/// Returns false for a malformed escape (`out` then holds the pairs before
/// it).
bool parse_query(std::string_view query,
                 std::map<std::string, std::string>& out);

/// Compares in time that depends on the lengths only, not on where the
/// inputs differ (OpenSSL's CRYPTO_memcmp, which compilers cannot shortcut).
bool constant_time_equal(std::string_view x, std::string_view y);

/// Returns the token of an `Authorization: Bearer <token>` value, without
/// the blanks around it; "" when the scheme is not Bearer.
std::string_view bearer_token(std::string_view authorization);

} // namespace omniva::runtime::detail
