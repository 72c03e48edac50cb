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

#include "runtime/api_paging.hpp"

#include "runtime/stream_threads.hpp"
#include "storage/relocation.hpp"

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
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
    if (auto sha = member(doc, "sha256"); !sha.empty())
      resp.headers.emplace_back("ETag", "\"" + sha + "\"");
    r.send(std::move(resp));
  });
}

} // namespace omniva::runtime::api
