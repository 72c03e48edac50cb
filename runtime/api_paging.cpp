// What the list routes share: the limit and cursor of a page, refusing
// query parameters a route does not know, and reading a page of a table in
// creation order while parsing only the rows of the page.

#include "runtime/api_paging.hpp"

#include "contracts/hex.hpp"
#include "contracts/packet.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <deque>
#include <tuple>

namespace omniva::runtime::api {

using contracts::ec;

// -- echoing input ------------------------------------------------------------------

namespace {

/// The length of the valid UTF-8 sequence at the start of `s`, 0 when it
/// does not start with one (overlong forms, surrogates and code points past
/// U+10FFFF are invalid).
size_t utf8_sequence(std::string_view s) {
  auto b = [&](size_t i) { return static_cast<unsigned char>(s[i]); };
  auto cont = [&](size_t i) { return i < s.size() && (b(i) & 0xC0) == 0x80; };
  unsigned char c = b(0);
  if (c < 0x80)
    return 1;
  if (c >= 0xC2 && c <= 0xDF)
    return cont(1) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    if (!cont(1) || !cont(2))
      return 0;
    if ((c == 0xE0 && b(1) < 0xA0) || (c == 0xED && b(1) > 0x9F))
      return 0;
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (!cont(1) || !cont(2) || !cont(3))
      return 0;
    if ((c == 0xF0 && b(1) < 0x90) || (c == 0xF4 && b(1) > 0x8F))
      return 0;
    return 4;
  }
  return 0;
}

} // namespace

std::string printable(std::string_view text) {
  constexpr size_t max_bytes = 200;
  std::string out;
  out.reserve(std::min(text.size(), max_bytes) + 3);
  size_t i = 0;
  while (i < text.size()) {
    if (out.size() >= max_bytes) {
      out += "\xE2\x80\xA6"; // …
      break;
    }
    auto n = utf8_sequence(text.substr(i));
    if (n == 0) {
      out += "\xEF\xBF\xBD"; // U+FFFD
      ++i;
    } else {
      out.append(text.substr(i, n));
      i += n;
    }
  }
  return out;
}

http_response filter_error(std::string_view parameter, std::string message) {
  return error_response(400, ec::invalid_filter, std::move(message),
                        json::append_pointer("", printable(parameter)));
}

std::optional<http_response>
unknown_parameter(const http_request& req, std::string_view route,
                  std::initializer_list<std::string_view> allowed) {
  for (auto& [key, value] : req.query) {
    if (std::find(allowed.begin(), allowed.end(), key) != allowed.end())
      continue;
    std::string names;
    for (auto name : allowed) {
      if (!names.empty())
        names += ", ";
      names += name;
    }
    return filter_error(key, "unknown query parameter '" + printable(key)
                               + "': " + std::string{route}
                               + (allowed.size() == 0
                                    ? " takes none"
                                    : " takes " + names));
  }
  return std::nullopt;
}

std::optional<http_response> not_one_of(std::string_view parameter,
                                        std::string_view given,
                                        std::span<const std::string> allowed) {
  if (std::find(allowed.begin(), allowed.end(), given) != allowed.end())
    return std::nullopt;
  auto lower = [](std::string_view s) {
    std::string out{s};
    for (auto& c : out)
      if (c >= 'A' && c <= 'Z')
        c = static_cast<char>(c - 'A' + 'a');
    return out;
  };
  std::string names;
  std::string meant;
  for (auto& name : allowed) {
    if (!names.empty())
      names += ", ";
    names += name;
    if (lower(name) == lower(given))
      meant = name;
  }
  std::string message = std::string{parameter} + " '" + printable(given)
                        + "' is not one of " + names + " (matched exactly)";
  if (!meant.empty())
    message += ": did you mean " + meant + "?";
  return filter_error(parameter, std::move(message));
}

// -- limit and cursor ----------------------------------------------------------------

namespace {

/// What a cursor's check sum covers besides its fields, so that a cursor
/// is one this code made.
constexpr std::string_view cursor_salt = "omniva.cursor.v1\n";

/// The check sum's length in bytes (8 hex digits).
constexpr size_t cursor_check_bytes = 4;

std::string cursor_payload(std::string_view kind,
                           std::span<const std::string> fields) {
  std::string payload{kind};
  for (auto& f : fields) {
    payload += '\n';
    payload += f;
  }
  return payload;
}

std::string cursor_check(std::string_view payload) {
  std::string salted{cursor_salt};
  salted += payload;
  auto d = contracts::sha256(salted);
  return contracts::to_hex(std::span<const uint8_t>{d.data(), cursor_check_bytes});
}

} // namespace

std::string encode_cursor(std::string_view kind,
                          std::span<const std::string> fields) {
  auto payload = cursor_payload(kind, fields);
  auto bytes = std::span<const uint8_t>{
    reinterpret_cast<const uint8_t*>(payload.data()), payload.size()};
  return contracts::to_hex(bytes) + cursor_check(payload);
}

std::optional<std::vector<std::string>>
decode_cursor(std::string_view kind, std::string_view cursor, size_t fields) {
  constexpr size_t check_digits = 2 * cursor_check_bytes;
  if (cursor.size() <= check_digits || cursor.size() % 2 != 0)
    return std::nullopt;
  auto body = cursor.substr(0, cursor.size() - check_digits);
  std::string payload(body.size() / 2, '\0');
  if (!contracts::from_hex(body, std::span<uint8_t>{
                                   reinterpret_cast<uint8_t*>(payload.data()),
                                   payload.size()}))
    return std::nullopt;
  if (cursor_check(payload) != cursor.substr(body.size()))
    return std::nullopt;
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    auto nl = payload.find('\n', start);
    parts.emplace_back(payload.substr(start, nl - start));
    if (nl == std::string::npos)
      break;
    start = nl + 1;
  }
  if (parts.size() != fields + 1 || parts.front() != kind)
    return std::nullopt;
  parts.erase(parts.begin());
  return parts;
}

std::optional<page_request> read_page_request(const http_request& req,
                                              std::string_view kind,
                                              size_t fields, responder& r) {
  page_request page;
  if (auto i = req.query.find("limit"); i != req.query.end()) {
    auto& text = i->second;
    size_t n = 0;
    auto [ptr, err] = std::from_chars(text.data(), text.data() + text.size(), n);
    bool digits = !text.empty()
                  && std::all_of(text.begin(), text.end(),
                                 [](char c) { return c >= '0' && c <= '9'; });
    if (!digits || err != std::errc{} || ptr != text.data() + text.size()
        || n < 1 || n > max_page_limit) {
      r.send(filter_error("limit", "limit '" + printable(text)
                                     + "' is not a page size: an integer "
                                       "from 1 to "
                                     + std::to_string(max_page_limit)
                                     + " (default "
                                     + std::to_string(default_page_limit)
                                     + ")"));
      return std::nullopt;
    }
    page.limit = n;
  }
  if (auto i = req.query.find("cursor"); i != req.query.end()) {
    auto after = decode_cursor(kind, i->second, fields);
    if (!after) {
      r.send(filter_error("cursor",
                          "this cursor was not given by this node's list of "
                            + std::string{kind}
                            + ": pass the next_cursor of the page before "
                              "unchanged, or none for the first page"));
      return std::nullopt;
    }
    page.after = std::move(*after);
  }
  return page;
}

http_response page_response(json::array items, const std::string& next) {
  json::value out{json::object{}};
  out.set("items", json::value{std::move(items)});
  out.set("next_cursor", next.empty() ? json::value{} : json::value{next});
  return json_response(200, out);
}

// -- reading rows quickly ---------------------------------------------------------------

namespace {

/// Reads JSON text from `pos` on, skipping what it is not asked to build.
struct skimmer {
  std::string_view text;
  size_t pos = 0;

  void space() {
    while (pos < text.size()
           && (text[pos] == ' ' || text[pos] == '\n' || text[pos] == '\r'
               || text[pos] == '\t'))
      ++pos;
  }

  /// Skips a string starting at `pos` (a quote); false when it does not end.
  /// `escaped` tells whether it held a backslash.
  bool string(bool& escaped) {
    escaped = false;
    for (++pos; pos < text.size(); ++pos) {
      if (text[pos] == '\\') {
        escaped = true;
        ++pos;
      } else if (text[pos] == '"') {
        ++pos;
        return true;
      }
    }
    return false;
  }

  /// Skips one value; false on text it cannot skip.
  bool value() {
    space();
    if (pos >= text.size())
      return false;
    bool escaped = false;
    if (text[pos] == '"')
      return string(escaped);
    if (text[pos] != '{' && text[pos] != '[') {
      while (pos < text.size() && text[pos] != ',' && text[pos] != '}'
             && text[pos] != ']')
        ++pos;
      return pos < text.size();
    }
    size_t depth = 0;
    while (pos < text.size()) {
      char c = text[pos];
      if (c == '"') {
        if (!string(escaped))
          return false;
        continue;
      }
      if (c == '{' || c == '[')
        ++depth;
      else if (c == '}' || c == ']') {
        --depth;
        if (depth == 0) {
          ++pos;
          return true;
        }
      }
      ++pos;
    }
    return false;
  }
};

/// The raw values (JSON text) of the top-level members `keys` of `text`;
/// false when the text needs a full parse to be read.
bool top_level_raw(std::string_view text, std::span<const std::string_view> keys,
                   std::span<std::string_view> raw) {
  skimmer s{text};
  s.space();
  if (s.pos >= text.size() || text[s.pos] != '{')
    return false;
  ++s.pos;
  s.space();
  if (s.pos < text.size() && text[s.pos] == '}')
    return true;
  while (true) {
    s.space();
    if (s.pos >= text.size() || text[s.pos] != '"')
      return false;
    auto key_start = s.pos + 1;
    bool escaped = false;
    if (!s.string(escaped) || escaped)
      return false;
    auto key = text.substr(key_start, s.pos - 1 - key_start);
    s.space();
    if (s.pos >= text.size() || text[s.pos] != ':')
      return false;
    ++s.pos;
    s.space();
    auto value_start = s.pos;
    if (!s.value())
      return false;
    for (size_t i = 0; i < keys.size(); ++i)
      if (keys[i] == key && raw[i].empty())
        raw[i] = text.substr(value_start, s.pos - value_start);
    s.space();
    if (s.pos >= text.size())
      return false;
    if (text[s.pos] == '}')
      return true;
    if (text[s.pos] != ',')
      return false;
    ++s.pos;
  }
}

/// The string a raw value holds: a view into it when it has no escapes,
/// else decoded into `spill` (which keeps it alive); nullopt for a value
/// that is not a string.
std::optional<std::string_view> string_of(std::string_view raw,
                                          std::deque<std::string>& spill) {
  if (raw.size() < 2 || raw.front() != '"' || raw.back() != '"')
    return std::nullopt;
  auto inner = raw.substr(1, raw.size() - 2);
  if (inner.find('\\') == std::string_view::npos)
    return inner;
  auto doc = json::parse(raw);
  if (!doc || !doc.doc->is_string())
    return std::nullopt;
  return spill.emplace_back(doc.doc->as_string());
}

/// `top_level_strings` with views: into `text` or into `spill`.
void top_level_views(std::string_view text, std::span<const std::string_view> keys,
                     std::span<std::optional<std::string_view>> out,
                     std::deque<std::string>& spill) {
  // No allocation per row when few members are asked for (a route asks
  // for six at most: a task search): this runs for every row of a table.
  std::array<std::string_view, 8> small{};
  std::vector<std::string_view> large;
  std::span<std::string_view> raw{small.data(), keys.size()};
  if (keys.size() > small.size()) {
    large.resize(keys.size());
    raw = large;
  }
  if (top_level_raw(text, keys, raw)) {
    for (size_t i = 0; i < keys.size(); ++i)
      out[i] = raw[i].empty() ? std::nullopt : string_of(raw[i], spill);
    return;
  }
  auto doc = json::parse(text);
  for (size_t i = 0; i < keys.size(); ++i) {
    out[i] = std::nullopt;
    if (!doc || !doc.doc->is_object())
      continue;
    if (auto* v = doc.doc->find(keys[i]); v && v->is_string())
      out[i] = spill.emplace_back(v->as_string());
  }
}

} // namespace

void top_level_strings(std::string_view text,
                       std::span<const std::string_view> keys,
                       std::span<std::optional<std::string>> out) {
  std::deque<std::string> spill;
  std::vector<std::optional<std::string_view>> views(keys.size());
  top_level_views(text, keys, views, spill);
  for (size_t i = 0; i < keys.size(); ++i)
    out[i] = views[i] ? std::optional<std::string>{std::string{*views[i]}}
                      : std::nullopt;
}

// -- pages ------------------------------------------------------------------------------

caf::expected<std::pair<json::array, std::string>>
creation_page(const api_context& ctx, storage::table t, std::string_view kind,
              const page_request& page, std::span<const row_filter> filters) {
  auto rows = ctx.reader->scan(t, "");
  if (!rows)
    return rows.error();
  std::vector<std::string_view> keys{"created_at"};
  // Filter f's members are keys[first_key[f]] on (its `or_else` after it).
  std::vector<size_t> first_key;
  for (auto& f : filters) {
    first_key.push_back(keys.size());
    keys.push_back(f.member);
    for (auto& alt : f.or_else)
      keys.push_back(alt.first);
  }
  // A row's place in the order: (created_at, key), and where it is.
  struct place {
    std::string_view created_at;
    std::string_view key;
    size_t row;
  };
  auto before = [](const place& a, const place& b) {
    return std::tie(a.created_at, a.key) < std::tie(b.created_at, b.key);
  };
  std::optional<place> after;
  if (page.after.size() == 2)
    after = place{page.after[0], page.after[1], 0};
  // The `limit + 1` first rows after the cursor, a max-heap by place: one
  // more than the page tells whether another page follows.
  std::vector<place> heap;
  heap.reserve(page.limit + 1);
  std::deque<std::string> spill;
  std::vector<std::optional<std::string_view>> values(keys.size());
  for (size_t i = 0; i < rows->size(); ++i) {
    auto& [key, text] = (*rows)[i];
    top_level_views(text, keys, values, spill);
    place p{values[0].value_or(std::string_view{}), key, i};
    if (after && !before(*after, p))
      continue;
    if (heap.size() == page.limit + 1 && !before(p, heap.front()))
      continue;
    bool pass = true;
    for (size_t f = 0; f < filters.size() && pass; ++f) {
      auto& filter = filters[f];
      auto test = [&](size_t k, auto* match) {
        auto& have = values[k];
        return have && (match ? match(filter.wanted, *have)
                              : *have == filter.wanted);
      };
      pass = test(first_key[f], filter.match);
      for (size_t a = 0; !pass && a < filter.or_else.size(); ++a)
        pass = test(first_key[f] + 1 + a, filter.or_else[a].second);
    }
    if (!pass)
      continue;
    if (heap.size() == page.limit + 1) {
      std::pop_heap(heap.begin(), heap.end(), before);
      heap.back() = p;
    } else {
      heap.push_back(p);
    }
    std::push_heap(heap.begin(), heap.end(), before);
  }
  std::sort_heap(heap.begin(), heap.end(), before);
  std::string next;
  if (heap.size() > page.limit) {
    auto& last = heap[page.limit - 1];
    std::vector<std::string> fields{std::string{last.created_at},
                                    std::string{last.key}};
    next = encode_cursor(kind, fields);
    heap.resize(page.limit);
  }
  json::array items;
  items.reserve(heap.size());
  for (auto& p : heap)
    items.push_back(parse_row((*rows)[p.row].second));
  return std::make_pair(std::move(items), std::move(next));
}

caf::expected<std::pair<json::array, std::string>>
index_page(creation_index& index, std::string_view kind,
           const page_request& page) {
  std::optional<std::pair<std::string, std::string>> after;
  if (page.after.size() == 2)
    after.emplace(page.after[0], page.after[1]);
  // One more than the page tells whether another page follows.
  auto rows = index.page(after, page.limit + 1);
  if (!rows)
    return rows.error();
  std::string next;
  if (rows->size() > page.limit) {
    auto& last = (*rows)[page.limit - 1];
    std::vector<std::string> fields{last.created_at, last.key};
    next = encode_cursor(kind, fields);
    rows->resize(page.limit);
  }
  json::array items;
  items.reserve(rows->size());
  for (auto& r : *rows)
    items.push_back(parse_row(r.text));
  return std::make_pair(std::move(items), std::move(next));
}

std::pair<std::vector<size_t>, std::string>
ref_page(const std::vector<std::string>& refs, std::string_view kind,
         const page_request& page) {
  auto first = refs.begin();
  if (!page.after.empty())
    first = std::upper_bound(refs.begin(), refs.end(), page.after.front());
  std::vector<size_t> out;
  for (auto i = first; i != refs.end() && out.size() < page.limit; ++i)
    out.push_back(static_cast<size_t>(i - refs.begin()));
  std::string next;
  if (!out.empty() && out.back() + 1 < refs.size()) {
    std::vector<std::string> fields{refs[out.back()]};
    next = encode_cursor(kind, fields);
  }
  return {std::move(out), std::move(next)};
}

} // namespace omniva::runtime::api
