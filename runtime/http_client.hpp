#pragma once

// A small synchronous HTTP/1.1 client for the command line: the CLI talks to
// a node through it (DESIGN.md §8). Plain HTTP only (no TLS); one connection,
// kept alive across calls.
//
// Boost.Beast stays inside http_client.cpp.

#include "contracts/defaults.hpp"
#include "contracts/json.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace omniva::runtime {

/// The outcome of one request: a response, or why there is none.
struct http_result {
  /// The status code; 0 when no response arrived (see `error`).
  unsigned status = 0;
  /// The response's media type ("" when it has none).
  std::string content_type;
  /// The response body.
  std::string body;
  /// The response's header fields with lowercase names; repeated fields are
  /// joined with ", ".
  std::map<std::string, std::string> headers;
  /// Why no response arrived, one sentence naming the URL ("cannot connect
  /// to http://127.0.0.1:8080: Connection refused"); "" when one did.
  std::string error;

  /// Whether a response arrived with a 2xx status.
  bool ok() const noexcept {
    return error.empty() && status >= 200 && status < 300;
  }

  /// Returns the body parsed as JSON; nullopt when it is not JSON.
  std::optional<json::value> json() const;

  /// Returns one line for a person: "" for a 2xx response, `error` when no
  /// response arrived, "<code>: <message>" for an HTTP API error body, and
  /// "HTTP <status>" (plus the start of the body) otherwise.
  std::string reason() const;
};

/// Percent-encodes `text` for a path segment or a query value (everything
/// but unreserved characters, RFC 3986).
std::string url_encode(std::string_view text);

/// Returns "?k1=v1&k2=v2" (keys and values encoded), "" for no parameters.
std::string encode_query(const std::map<std::string, std::string>& query);

/// Receives a streamed response body piece by piece, as it arrives; returns
/// false to stop reading (the connection is then closed).
using body_sink = std::function<bool(std::string_view piece)>;

/// Told the status and header fields of a streamed response before its body
/// (the result's `body` is empty); returns false to stop there.
using head_sink = std::function<bool(const http_result& head)>;

/// Told how far an upload is: the file's bytes sent so far, and its size.
using upload_progress = std::function<void(uint64_t sent, uint64_t total)>;

/// A synchronous client of one node. Not thread-safe: one per thread.
/// No member function throws; failures come back in `http_result::error`.
class http_client {
public:
  /// Default: 60 s (`defaults::http::client_timeout`).
  static constexpr std::chrono::milliseconds default_timeout =
    defaults::http::client_timeout;

  /// A client of `base_url` ("http://127.0.0.1:8080"; a missing port is 80)
  /// that sends `Authorization: Bearer <token>` unless `token` is "". Each
  /// network step (connect, send, receive) fails after `timeout` without
  /// progress. A malformed URL makes every request fail with a message
  /// saying so. Connects lazily, on the first request.
  http_client(std::string base_url, std::string token,
              std::chrono::milliseconds timeout = default_timeout);

  ~http_client();

  http_client(http_client&&) noexcept;
  http_client& operator=(http_client&&) noexcept;

  /// Sends one request; `target` is the path and query ("/api/tasks?x=1"),
  /// `fields` header fields to add (name -> value; a webhook's signature).
  /// On a kept-alive connection that the server closed meanwhile, the
  /// request is sent once more on a new connection.
  http_result request(std::string method, std::string target,
                      std::string body = "",
                      std::string content_type = "application/json",
                      const std::map<std::string, std::string>& fields = {});

  /// POSTs the file at `path` as the body, streamed from the disk, to
  /// `target` plus `query`. An unreadable file gives an error result naming
  /// it.
  http_result upload_file(std::string target, std::string path,
                          const std::map<std::string, std::string>& query = {},
                          std::string content_type = "application/octet-stream",
                          const upload_progress& progress = {});

  /// Sends a bodiless request and hands a 2xx response's body to `sink` as
  /// it arrives, instead of collecting it: for answers that last (Server-
  /// Sent Events, a followed log). `on_head`, when given, is told the status
  /// and header fields first. The result holds the status and header fields
  /// and an empty body; a response that is not 2xx is collected whole, as
  /// `request` does (its `reason()` says why). Reading ends when the body
  /// ends, when `sink` or `on_head` returns false (not an error), or with
  /// an error: `idle` passed without a byte, `until` passed, or the
  /// connection failed.
  http_result stream(std::string method, std::string target,
                     const body_sink& sink, std::chrono::milliseconds idle,
                     std::chrono::steady_clock::time_point until
                     = std::chrono::steady_clock::time_point::max(),
                     const head_sink& on_head = {});

  /// The URL the client talks to, as given.
  const std::string& base_url() const noexcept;

  /// The number of TCP connections opened so far (keep-alive reuses one).
  size_t connections_opened() const noexcept;

  /// Closes the connection; the next request opens a new one.
  void close();

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace omniva::runtime
