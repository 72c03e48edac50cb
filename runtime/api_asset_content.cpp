// An asset's content over HTTP: `GET /api/assets/{id}/content` answers the
// bytes of an AVAILABLE FILE asset (with its media type and its SHA-256 as
// the ETag), or the JSON of a VALUE. The file is found through the data
// folder's relocation (storage/relocation.hpp): an asset made before the
// folder moved (a restored backup, an `mv`) names its old path, which
// resolves to the same relative path in the folder as it is now. Only paths
// of asset rows are opened, never a path from the request.
//
// A small file is one answer; a larger one is streamed in chunks by a
// thread of its own (at most `max_content_streams` at once; more are 503),
// so the node never holds a large file in memory.
//
// Range requests (RFC 9110 §14), so that media elements can seek: a file's
// answers say `Accept-Ranges: bytes`; `Range: bytes=a-b`, `a-` or `-n` gets
// 206 with `Content-Range` (of several ranges, the first is answered), at
// most `max_whole_content_bytes` of it at a time (a client asks again for
// the rest, as media elements do); a range that starts past the end gets
// 416 with `Content-Range: bytes */<size>`. `If-Range` with an ETag other
// than the file's turns the request back into one for the whole file; a
// malformed `Range` is ignored. `If-None-Match` with the file's ETag is a
// 304.

#include "runtime/api_paging.hpp"

#include "runtime/stream_threads.hpp"
#include "storage/relocation.hpp"

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string_view>
#include <thread>

namespace fs = std::filesystem;

namespace omniva::runtime::api {

using contracts::ec;

namespace {

/// The largest file sent as one answer.
constexpr uintmax_t max_whole_content_bytes = uintmax_t{8} << 20;

/// How many large files may stream at once: each is a thread.
constexpr size_t max_content_streams = 16;

/// The bytes read at a time, one chunk of the answer.
constexpr size_t content_chunk_bytes = size_t{256} << 10;

/// How far a client may fall behind before the stream waits for it.
constexpr size_t content_max_backlog = size_t{4} << 20;

/// Sends the file at `path` to `out` in chunks, waiting while the client is
/// far behind.
void send_file(const std::string& path, text_stream& out,
               const std::atomic<bool>& stopping) {
  std::ifstream in{path, std::ios::binary};
  std::string buf(content_chunk_bytes, '\0');
  while (in && !out.closed() && !stopping.load()) {
    if (out.backlog() >= content_max_backlog) {
      std::this_thread::sleep_for(std::chrono::milliseconds{5});
      continue;
    }
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    auto n = static_cast<size_t>(in.gcount());
    if (n > 0)
      out.write(buf.substr(0, n));
  }
}

/// A byte range of a file, first to last inclusive.
struct byte_range {
  uintmax_t first = 0;
  uintmax_t last = 0;
};

/// What a `Range` field asks of a file of `size` bytes.
struct range_ask {
  /// Whether the field is a byte range request at all (else it is ignored).
  bool ranged = false;
  /// Whether its first range lies outside the file (416).
  bool unsatisfiable = false;
  /// Its first range, clamped to the file.
  byte_range range;
};

/// Parses a decimal number of at most 18 digits (no sign, no space).
std::optional<uintmax_t> decimal(std::string_view s) {
  if (s.empty() || s.size() > 18)
    return std::nullopt;
  uintmax_t n = 0;
  for (char c : s) {
    if (c < '0' || c > '9')
      return std::nullopt;
    n = n * 10 + static_cast<uintmax_t>(c - '0');
  }
  return n;
}

/// Trims spaces and tabs.
std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
    s.remove_suffix(1);
  return s;
}

/// Reads a `Range` field (`bytes=a-b`, `bytes=a-`, `bytes=-n`, several
/// separated by commas: the first counts) against a file of `size` bytes.
/// A malformed field asks nothing (`ranged` false).
range_ask parse_range(std::string_view field, uintmax_t size) {
  range_ask ask;
  field = trim(field);
  constexpr std::string_view unit = "bytes=";
  if (field.size() < unit.size())
    return ask;
  for (size_t i = 0; i < unit.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(field[i])) != unit[i])
      return ask;
  field.remove_prefix(unit.size());
  auto spec = trim(field.substr(0, field.find(',')));
  auto dash = spec.find('-');
  if (dash == std::string_view::npos)
    return ask;
  auto from = trim(spec.substr(0, dash));
  auto to = trim(spec.substr(dash + 1));
  if (from.empty()) {
    auto n = decimal(to);
    if (!n)
      return ask;
    ask.ranged = true;
    if (*n == 0 || size == 0) {
      ask.unsatisfiable = true;
      return ask;
    }
    ask.range = {size - std::min(*n, size), size - 1};
    return ask;
  }
  auto first = decimal(from);
  if (!first)
    return ask;
  uintmax_t last = size == 0 ? 0 : size - 1;
  if (!to.empty()) {
    auto l = decimal(to);
    if (!l || *l < *first)
      return ask;
    last = std::min(*l, last);
  }
  ask.ranged = true;
  if (*first >= size) {
    ask.unsatisfiable = true;
    return ask;
  }
  ask.range = {*first, last};
  return ask;
}

/// Whether the comma-separated entity tags of an `If-None-Match` field
/// name `etag` (weak comparison) or are "*".
bool etag_listed(std::string_view field, std::string_view etag) {
  while (!field.empty()) {
    auto comma = field.find(',');
    auto item = trim(field.substr(0, comma));
    field = comma == std::string_view::npos ? std::string_view{}
                                            : field.substr(comma + 1);
    if (item.starts_with("W/"))
      item.remove_prefix(2);
    if (item == "*" || item == etag)
      return true;
  }
  return false;
}

/// The member `key` of `row` as a string; "" when it is none.
std::string member(const json::value& row, std::string_view key) {
  auto* v = row.find(key);
  return v && v->is_string() ? v->as_string() : std::string{};
}

} // namespace

void install_asset_content_routes(http_server& server, const context_ptr& ctx) {
  // The node recorded where its folder is before the API opened.
  auto relocation = storage::relocation_of(ctx->data_dir);
  auto moved = std::make_shared<const storage::data_relocation>(
    relocation ? std::move(*relocation)
               : storage::data_relocation{ctx->data_dir, {}});
  auto streams = std::make_shared<stream_threads>(max_content_streams);
  server.route("GET", "/api/assets/{id}/content",
               [ctx, moved, streams](http_request req, responder r) {
    auto& id = req.params["id"];
    auto row = ctx->reader->get(storage::table::assets, id);
    if (!row)
      return r.send(code_of(row.error()) == ec::not_found
                      ? error_response(404, ec::not_found,
                                       "no asset '" + printable(id) + "'")
                      : error_from(row.error()));
    auto doc = parse_row(*row);
    auto status = member(doc, "status");
    if (status == "PURGED")
      return r.send(error_response(410, ec::asset_purged,
                                   "the content of asset " + id
                                     + " was removed by the retention policy"));
    if (status != "AVAILABLE")
      return r.send(error_response(404, ec::not_found,
                                   "asset " + id + " has no content: it is "
                                     + (status.empty() ? "unreadable" : status)));
    if (member(doc, "kind") == "VALUE") {
      auto* v = doc.find("value");
      return r.send(json_response(200, v ? *v : json::value{}));
    }
    auto path = moved->resolve(member(doc, "uri"));
    std::error_code err;
    auto size = fs::file_size(path, err);
    if (err || !fs::is_regular_file(path, err))
      return r.send(error_response(404, ec::not_found,
                                   "the file of asset " + id
                                     + " is missing from the node"));
    auto media_type = member(doc, "media_type");
    if (media_type.empty())
      media_type = "application/octet-stream";
    std::string etag;
    if (auto sha = member(doc, "sha256"); !sha.empty())
      etag = "\"" + sha + "\"";
    auto header = [&req](const char* name) -> const std::string* {
      auto it = req.headers.find(name);
      return it == req.headers.end() ? nullptr : &it->second;
    };
    if (auto* inm = header("if-none-match");
        inm && !etag.empty() && etag_listed(*inm, etag)) {
      http_response resp;
      resp.status = 304;
      resp.headers.emplace_back("ETag", etag);
      resp.headers.emplace_back("Accept-Ranges", "bytes");
      return r.send(std::move(resp));
    }
    range_ask ask;
    if (auto* range = header("range")) {
      // If-Range: the range holds only for the file its ETag names (a
      // strong comparison; a date never matches).
      auto* if_range = header("if-range");
      if (!if_range || (!etag.empty() && trim(*if_range) == etag))
        ask = parse_range(*range, size);
    }
    if (ask.ranged && ask.unsatisfiable) {
      auto resp = error_response(416, ec::invalid_argument,
                                 "the range asked lies outside the "
                                   + std::to_string(size)
                                   + " bytes of asset " + id);
      resp.headers.emplace_back("Content-Range",
                                "bytes */" + std::to_string(size));
      resp.headers.emplace_back("Accept-Ranges", "bytes");
      return r.send(std::move(resp));
    }
    if (ask.ranged) {
      auto first = ask.range.first;
      auto last = std::min(ask.range.last,
                           first + max_whole_content_bytes - 1);
      std::ifstream in{path, std::ios::binary};
      in.seekg(static_cast<std::streamoff>(first));
      std::string body(static_cast<size_t>(last - first + 1), '\0');
      in.read(body.data(), static_cast<std::streamsize>(body.size()));
      if (!in || static_cast<size_t>(in.gcount()) != body.size())
        return r.send(error_response(500, ec::io_error,
                                     "the file of asset " + id
                                       + " cannot be read"));
      http_response resp;
      resp.status = 206;
      resp.content_type = std::move(media_type);
      resp.body = std::move(body);
      resp.headers.emplace_back("Content-Range",
                                "bytes " + std::to_string(first) + "-"
                                  + std::to_string(last) + "/"
                                  + std::to_string(size));
      resp.headers.emplace_back("Accept-Ranges", "bytes");
      if (!etag.empty())
        resp.headers.emplace_back("ETag", etag);
      return r.send(std::move(resp));
    }
    if (size > max_whole_content_bytes) {
      if (!streams->start(r, media_type,
                          [path](text_stream& out, const std::atomic<bool>& stop) {
                            send_file(path, out, stop);
                          }))
        r.send(error_response(503, ec::io_error,
                              "too many large downloads at once: try again "
                              "shortly"));
      return;
    }
    std::ifstream in{path, std::ios::binary};
    std::string body(static_cast<size_t>(size), '\0');
    in.read(body.data(), static_cast<std::streamsize>(body.size()));
    if (!in || static_cast<uintmax_t>(in.gcount()) != size)
      return r.send(error_response(500, ec::io_error,
                                   "the file of asset " + id
                                     + " cannot be read"));
    http_response resp;
    resp.content_type = std::move(media_type);
    resp.body = std::move(body);
    if (!etag.empty())
      resp.headers.emplace_back("ETag", etag);
    resp.headers.emplace_back("Accept-Ranges", "bytes");
    r.send(std::move(resp));
  });
}

} // namespace omniva::runtime::api
