#pragma once

// Inside the node's HTTP API: what the list routes share (docs/http-api.md,
// "Lists"). Every list takes `limit` (1..1000, default 100) and `cursor` (the
// `next_cursor` of the page before) and answers `{"items": [...],
// "next_cursor": "..." | null}`; a query parameter the route does not know,
// a malformed limit, a cursor this node did not give and an unknown filter
// value are 400 `invalid_filter`, pointer `/<parameter>`, naming what is
// allowed. Only the route files include this header.

#include "runtime/api_routes.hpp"
#include "runtime/creation_index.hpp"

#include <cstddef>
#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace omniva::runtime::api {

/// A page's size when the request gives none.
inline constexpr size_t default_page_limit = 100;

/// The largest page a request may ask for.
inline constexpr size_t max_page_limit = 1000;

/// `text` fit for a message that echoes a client's input: invalid UTF-8
/// bytes become U+FFFD and text over 200 bytes is cut (ending in "…"), so
/// that a JSON answer stays valid UTF-8 and short whatever was sent.
std::string printable(std::string_view text);

/// The 400 `invalid_filter` answer at pointer `/<parameter>`.
http_response filter_error(std::string_view parameter, std::string message);

/// Refuses a query parameter outside `allowed`: the 400 answer naming the
/// first unknown one and every allowed one (`route` names the route in the
/// message: "GET /api/tasks"); nullopt when all are known.
std::optional<http_response>
unknown_parameter(const http_request& req, std::string_view route,
                  std::initializer_list<std::string_view> allowed);

/// Refuses `given` as the value of `parameter` unless it is one of
/// `allowed`, matched exactly: the 400 names every allowed value (and the
/// one meant when only the case differs: "done" names DONE); nullopt when
/// it is allowed.
std::optional<http_response> not_one_of(std::string_view parameter,
                                        std::string_view given,
                                        std::span<const std::string> allowed);

/// What a list request asks for besides its filters.
struct page_request {
  /// Items per page, 1..`max_page_limit`.
  size_t limit = default_page_limit;
  /// The cursor's fields (see `encode_cursor`); empty for the first page.
  std::vector<std::string> after;
};

/// Reads `limit` and `cursor`. A cursor is accepted only when it was made by
/// `encode_cursor(kind, ...)` with `fields` fields: a cursor of another list
/// is refused too. On error answers the 400 through `r` and returns nullopt.
std::optional<page_request> read_page_request(const http_request& req,
                                              std::string_view kind,
                                              size_t fields, responder& r);

/// An opaque cursor holding `fields` (none may contain a line break) for the
/// list `kind` ("tasks", "assets", ...), with a check sum so that a cursor
/// this node did not make (typed, cut, or another list's) is refused.
std::string encode_cursor(std::string_view kind,
                          std::span<const std::string> fields);

/// The fields of `cursor`, or nullopt when it is not a cursor of list
/// `kind` with `fields` fields.
std::optional<std::vector<std::string>>
decode_cursor(std::string_view kind, std::string_view cursor, size_t fields);

/// The answer of a list: 200 `{"items": items, "next_cursor": next}`
/// (`next` null when empty).
http_response page_response(json::array items, const std::string& next);

/// Reads the string members `keys` at the top level of the JSON object
/// `text` (a stored row) without building the document: `out[i]` is the
/// value of member `keys[i]` (the first one when repeated), or nullopt when
/// it is missing or not a string. Falls back to a full parse for a row it
/// cannot read quickly (escapes in a key); a row that is not a JSON object
/// leaves every `out[i]` nullopt.
void top_level_strings(std::string_view text,
                       std::span<const std::string_view> keys,
                       std::span<std::optional<std::string>> out);

/// A filter of an ordered list on a top-level string member of the rows.
struct row_filter {
  /// The member, e.g. "status".
  std::string_view member;
  /// The value asked for; the rows must have the member and `match` it.
  std::string wanted;
  /// Whether a row's value passes (wanted, have); default: equal.
  bool (*match)(std::string_view wanted, std::string_view have) = nullptr;
  /// A search across members: more members, each with its own test
  /// (default: equal), tried when `member` does not pass; the row passes
  /// the filter when any of them does.
  using alternative
    = std::pair<std::string_view,
                bool (*)(std::string_view wanted, std::string_view have)>;
  std::vector<alternative> or_else = {};
};

/// One page of the rows of `t` in creation order (`created_at`, then the
/// key), the rows after the position `after` (`{created_at, key}`, empty for
/// the first page) that pass every filter: at most `limit` rows, parsed, and
/// the cursor of the next page ("" when this page is the last), made with
/// `kind`.
///
/// Today a scan of the whole table (the rows are keyed by random ids);
/// only the rows of the page are parsed. Errors: the reader's.
caf::expected<std::pair<json::array, std::string>>
creation_page(const api_context& ctx, storage::table t, std::string_view kind,
              const page_request& page, std::span<const row_filter> filters);

/// `creation_page` without filters, read through `index` (the table's
/// creation order kept in memory): only the page's rows are read.
caf::expected<std::pair<json::array, std::string>>
index_page(creation_index& index, std::string_view kind,
           const page_request& page);

/// One page of `refs` (sorted ascending, no duplicates): the indexes of the
/// items after the cursor's ref, at most `limit`, and the next cursor ("" at
/// the end), made with `kind`.
std::pair<std::vector<size_t>, std::string>
ref_page(const std::vector<std::string>& refs, std::string_view kind,
         const page_request& page);

} // namespace omniva::runtime::api
