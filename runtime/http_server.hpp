#pragma once

// The node's HTTP/1.1 server (DESIGN.md §8): routing, bearer-token auth, body
// limits, uploads streamed to temporary files and Server-Sent Events.
//
// It knows nothing of tasks or actors: a route is a method, a path pattern and
// a callback. The callback receives the request and a `responder` and may
// answer at once or later, from any thread (an actor's callback, typically).
//
// Boost.Beast stays inside the server's source files; this header only needs
// the standard library, our JSON and our error codes. The rooms behind it,
// all internal to runtime/: http_server.cpp (responses, event streams,
// responders, the server's threads), http_session.* (one connection),
// http_server_state.hpp (what connections, responders and streams share),
// http_routes.* (route patterns), http_parsing.* (request text),
// http_beast.hpp (the Beast names shared with the client).

#include "contracts/access.hpp"
#include "contracts/defaults.hpp"
#include "contracts/error_code.hpp"
#include "contracts/json.hpp"

#include <caf/error.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace omniva::runtime {

namespace detail {

struct http_exchange;
struct stream_channel;
struct http_server_state;

} // namespace detail

/// Who sent a request: the name and role of the token it carried.
struct principal {
  /// The token's name ("admin", "ci-bot"); what the packets a request causes
  /// name as their `operator`. "" for a public route, or when the server
  /// checks no tokens.
  std::string name;
  /// The token's role. `admin` when the server checks no tokens.
  contracts::role role = contracts::role::admin;
};

/// One request, as a route handler sees it.
struct http_request {
  /// The method as sent, e.g. "GET".
  std::string method;
  /// The target's path without the query string, as sent (percent-encoded).
  std::string path;
  /// The query parameters, percent-decoded ("+" is a space); a repeated key
  /// keeps its last value, a key without "=" has the value "".
  std::map<std::string, std::string> query;
  /// The values of the route pattern's `{name}` segments, percent-decoded.
  std::map<std::string, std::string> params;
  /// The header fields with lowercase names; repeated fields are joined with
  /// ", ".
  std::map<std::string, std::string> headers;
  /// The body, for routes that keep it in memory (empty for upload routes).
  std::string body;
  /// For upload routes: the temporary file holding the body. The server
  /// removes it once the response has been sent and every copy of the
  /// `responder` is gone; a handler that keeps the bytes renames the file
  /// away first. Empty for other routes.
  std::string body_file;
  /// The peer's address and port, "127.0.0.1:53122", for logs.
  std::string remote;
  /// Who sent it (set once its token was accepted).
  principal who;
  /// The browser session the request was accepted by (the value of its
  /// `omniva_session` cookie, see `http_server::set_session_authenticator`);
  /// empty for a request with a bearer token, or to a public route.
  std::string session;
};

/// The name of the cookie that carries a browser session's id.
inline constexpr std::string_view session_cookie_name = "omniva_session";

/// The value of cookie `name` in a `Cookie` header field ("a=1; b=2"; pairs
/// separated by ';' or, for joined fields, ','); "" when it has none.
std::string cookie_value(std::string_view cookie_header, std::string_view name);

/// One response. The server adds `Content-Length`, `Connection` and
/// `Server`.
struct http_response {
  /// The status code, 100..999. Default: 200.
  unsigned status = 200;
  /// The media type of `body`. Default: "application/json".
  std::string content_type = "application/json";
  /// The body.
  std::string body;
  /// Further header fields, in order.
  std::vector<std::pair<std::string, std::string>> headers;
};

/// Returns a response with `body` serialized as compact JSON.
http_response json_response(unsigned status, const json::value& body);

/// Returns the error response of the HTTP API:
/// `{"error":{"code":"<to_string(code)>","message":...,"pointer":...}}`.
/// `message` is one sentence a person understands; `pointer` is the RFC 6901
/// JSON pointer of the field at fault in the request body ("" for none).
http_response error_response(unsigned status, contracts::ec code,
                             std::string message, std::string pointer = "");

/// A Server-Sent Events stream to one client (`text/event-stream`), started
/// by `responder::start_stream`. All member functions are thread-safe; what
/// concurrent callers queue is written in the order their calls took effect.
///
/// Resuming a stream (a client reconnecting with `Last-Event-ID`) without a
/// gap or a duplicate: `hold()` first (live events from then on are kept
/// back), `replay` what the client missed, then `release` with the last id
/// replayed (the kept-back events that are newer follow, the older are
/// dropped).
class event_stream {
public:
  /// Used by the server; handlers get streams from `responder`.
  explicit event_stream(std::shared_ptr<detail::stream_channel> channel);

  ~event_stream();

  /// Queues one event: an `id:` line when `id` is given, an `event:` line
  /// (omitted when `event` is empty; line breaks become spaces) and one
  /// `data:` line per line of `data`. Events are written in the order of the
  /// calls. A no-op once `closed()`. While the stream holds (`hold`) the
  /// event is kept back instead; after `release(n)` an event whose id is n
  /// or less is dropped. A client that falls more than 16 MiB behind is
  /// disconnected.
  void send(std::string event, std::string data,
            std::optional<uint64_t> id = std::nullopt);

  /// Keeps the events of later `send` calls back until `release`, in order.
  /// At most 4 MiB are kept: beyond that the kept events are discarded
  /// (`release` then says whether the replay covered them).
  void hold();

  /// Queues one event like `send`, also while the stream holds: an event the
  /// client missed, read from where the events are kept.
  void replay(std::string event, std::string data, uint64_t id);

  /// Ends a `hold` after a replay up to id `last_replayed`: writes the
  /// kept-back events with a greater id (and those without one) in order,
  /// and drops every later `send` of an id up to `last_replayed`. Returns
  /// false, and goes on holding, when kept-back events were discarded of
  /// which one had a greater id: the caller replays further and calls
  /// `release` again. True when the stream does not hold.
  bool release(uint64_t last_replayed);

  /// Queues an SSE comment line (": <text>"), which clients ignore: a
  /// heartbeat that keeps proxies from dropping a quiet stream and lets the
  /// server notice a client that went away. Written also while holding.
  void comment(std::string text);

  /// The bytes queued for the client and not written yet: a producer that
  /// can wait (a replay) waits while this is large.
  size_t backlog() const noexcept;

  /// Whether the stream has ended: the client disconnected, a write failed,
  /// `close()` was called or the server stopped. Final once true.
  bool closed() const noexcept;

  /// Ends the stream: queued events are written, then the connection is
  /// closed.
  void close();

private:
  std::shared_ptr<detail::stream_channel> channel_;
};

/// A streamed text answer to one client (`200` with the `content_type` given
/// to `responder::start_text_stream`, no Content-Length): to an HTTP/1.1
/// client each `write` is one chunk of `Transfer-Encoding: chunked`, and
/// `close` sends the terminating zero-size chunk; to an HTTP/1.0 client the
/// bytes go as they are and the end of the connection ends the body. The
/// connection closes after the answer and is exempt from the idle timeout
/// meanwhile. All member functions are thread-safe; writes go out in the
/// order of the calls. A client that falls more than 16 MiB behind is
/// disconnected (then `closed()` turns true and the body ends without its
/// zero chunk, so the client sees the answer is incomplete).
class text_stream {
public:
  /// Used by the server; handlers get streams from `responder`.
  explicit text_stream(std::shared_ptr<detail::stream_channel> channel);

  ~text_stream();

  /// Queues `text` (any bytes) as the next chunk; an empty `text` writes
  /// nothing (a zero-size chunk would end the body). A no-op once
  /// `closed()`.
  void write(std::string text);

  /// The bytes queued for the client and not written yet (see
  /// `event_stream::backlog`).
  size_t backlog() const noexcept;

  /// Whether the stream has ended: the client disconnected, a write failed,
  /// `close()` was called or the server stopped. Final once true.
  bool closed() const noexcept;

  /// Ends the answer: queued text is written, then the zero chunk, then the
  /// connection is closed.
  void close();

private:
  std::shared_ptr<detail::stream_channel> channel_;
};

/// The way a handler answers one request. Copyable; every copy refers to the
/// same exchange. Thread-safe: `send` and `start_stream` may be called from
/// any thread, at any time, also after the client went away or the server
/// stopped (then they do nothing).
///
/// Exactly one of `send`, `start_stream` and `start_text_stream` takes
/// effect, once; later calls are ignored. When the last copy is destroyed without either, the client
/// receives a 500 error, so a forgotten request never hangs a connection.
class responder {
public:
  /// Used by the server; handlers receive responders.
  explicit responder(std::shared_ptr<detail::http_exchange> exchange);

  /// Sends `response`. The connection stays open for the next request when
  /// the client asked for keep-alive.
  void send(http_response response);

  /// Answers with `200 text/event-stream` (no Content-Length, the connection
  /// stays open and is exempt from the idle timeout) and returns the stream.
  /// When the exchange was already answered the stream is returned closed.
  std::shared_ptr<event_stream> start_stream();

  /// Answers with `200 <content_type>` as a streamed body (see
  /// `text_stream`; "" is `text/plain; charset=utf-8`) and returns the
  /// stream. When the exchange was already answered the stream is returned
  /// closed.
  std::shared_ptr<text_stream> start_text_stream(std::string content_type);

  /// Whether `send`, `start_stream` or `start_text_stream` already took
  /// effect.
  bool answered() const noexcept;

private:
  std::shared_ptr<detail::http_exchange> exchange_;
};

/// A route handler. Runs on one of the server's threads and must not block:
/// it either answers at once or hands `responder` to whoever answers later.
/// An exception escaping a handler becomes a 500 response. While a handler
/// owes its answer the connection is not subject to the idle timeout.
using http_handler = std::function<void(http_request, responder)>;

/// The default body limit of a route: 1 MiB (`defaults::http::max_body_bytes`).
inline constexpr uint64_t default_body_limit = defaults::http::max_body_bytes;

/// How a route treats requests.
struct route_options {
  /// Whether the route is reachable without the bearer token. Default: false.
  bool is_public = false;
  /// The role a token needs for the route (403 `forbidden` below it);
  /// nullopt: `viewer` for GET and HEAD, `operator` for other methods.
  /// Default: nullopt.
  std::optional<contracts::role> role;
  /// Whether the route takes new work (a task, an asset, an upload): the
  /// server's work gate (`http_server::set_work_gate`) may refuse it before
  /// its body is read. Default: false.
  bool new_work = false;
  /// The largest body accepted, in bytes; larger ones get 413 `too_large`.
  /// Default: `default_body_limit` (1 MiB).
  uint64_t max_body = default_body_limit;
  /// Whether the body is streamed to a temporary file (`http_request::
  /// body_file`) instead of memory. Default: false.
  bool upload = false;
  /// Whether the route is a fallback: it takes only a path that no other
  /// route's pattern matches, whatever their method (the dashboard's
  /// `GET /{path*}` turns neither a 405 nor another method's 404 into its
  /// answer), and it never adds to a 405's `Allow`. Default: false.
  bool fallback = false;
};

/// What the server tells its owner about each answer it starts to write
/// (`http_server_config::on_answer`), for the owner's log. Holds nothing of
/// the request's body, query or header fields.
struct http_answer {
  /// The request's method; "" when the request head could not be read.
  std::string method;
  /// The pattern of the route that took the request ("/api/tasks/{id}"),
  /// never the path as sent; "" when no route took it (404, 405, a request
  /// that is not HTTP, ...).
  std::string route;
  /// The status code.
  unsigned status = 0;
  /// For an error answer (status 400 or more) in the API's error format:
  /// its `error.code` ("not_found"); else "".
  std::string code;
  /// The peer's address and port.
  std::string remote;
};

/// How an `http_server` listens and what it tolerates.
struct http_server_config {
  /// The address to listen on. Default: "127.0.0.1".
  std::string host{defaults::node::http_host};
  /// The port; 0 picks a free one (see `http_server::port`). Default: 8080.
  uint16_t port = defaults::node::http_port;
  /// The threads running the server's I/O and handlers. Default: 2.
  size_t threads = defaults::http::server_threads;
  /// The largest request head (request line and fields), in bytes; larger
  /// ones get 431 `too_large`. Default: 16 KiB.
  uint32_t max_header_bytes = defaults::http::max_header_bytes;
  /// How long a connection may be silent before it is closed: between
  /// requests, and between two reads of a request or two writes of a
  /// response. Event streams are exempt. Default: 60 s.
  std::chrono::milliseconds idle_timeout = defaults::http::idle_timeout;
  /// The folder of upload temporary files; "" is the system's temporary
  /// folder. Default: "".
  std::string upload_dir;
  /// Called on the connection's thread for every answer the server starts
  /// to write: responses (the refusals of the server itself too: 400 for
  /// what is not HTTP, 401, 404, 405, 413, 431, 505) and the heads of
  /// streams. Must be cheap and must not throw (an exception is ignored);
  /// empty: nothing is called. Default: empty.
  std::function<void(const http_answer&)> on_answer;
};

/// Finds who a bearer token belongs to: nullopt for a token that opens
/// nothing (unknown, revoked, expired). Called on the connection's thread
/// for every request to a non-public route: must be cheap, must not throw.
using http_authenticator
  = std::function<std::optional<principal>(std::string_view token)>;

/// Whether `req` may act on a session cookie: it has no `Origin` field, or
/// one naming the request's own host (`http://` or `https://` and its
/// `Host`). A page of another site that has the browser send a form or a
/// fetch gives its own origin (browsers send `Origin` with every
/// cross-origin request that is not a GET or HEAD).
bool same_origin(const http_request& req);

/// Finds who a browser session belongs to, by the id its cookie carries
/// (`session_cookie_name`): nullopt for a session that opens nothing
/// (unknown, ended, expired, or its token revoked). Called on the
/// connection's thread for a request to a non-public route that has no
/// `Authorization` field: must be cheap, must not throw.
using http_session_authenticator
  = std::function<std::optional<principal>(std::string_view session_id)>;

/// Decides whether a route that takes new work may take it now: nullopt
/// lets the request through, a response refuses it (sent before the body is
/// read). Called on the connection's thread: must be cheap, must not throw.
using http_work_gate = std::function<std::optional<http_response>()>;

/// An HTTP/1.1 server on Boost.Beast with its own I/O threads.
///
/// Routes, the authenticator and the work gate may be set before or after
/// `start()`, from any thread. Requests are answered:
/// - 404 `not_found` when no route's pattern matches the path;
/// - 405 `invalid_argument` (with `Allow`) when patterns match but none for
///   the method;
/// - 401 `unauthorized` when tokens are checked, the route is not public, and
///   the request lacks `Authorization: Bearer <token>` with a token the
///   authenticator accepts;
/// - 403 `forbidden` when the token's role is below the route's, or when a
///   request accepted by its session cookie whose method is neither GET nor
///   HEAD has an `Origin` that is not the request's own (`http://` or
///   `https://` and its `Host`): a cross-site request forgery;
/// - the work gate's answer for a route that takes new work, when it refuses;
/// - 413 `too_large` for a body over the route's limit, 431 `too_large` for
///   a request head over `max_header_bytes`;
/// - 400 `invalid_argument` for anything that is not HTTP/1.1 (the
///   connection is then closed; the server goes on serving others).
class http_server {
public:
  /// Creates a server that does not listen yet.
  explicit http_server(http_server_config config = {});

  /// Stops the server (see `stop`).
  ~http_server();

  http_server(const http_server&) = delete;
  http_server& operator=(const http_server&) = delete;

  /// Adds a route. `pattern` is a path whose segments are literals or
  /// `{name}` (one segment, available in `http_request::params`); a last
  /// segment `{name*}` matches the rest of the path, one segment or more.
  /// When several patterns match, the one with a literal at the first
  /// differing segment wins, then the earliest added. `method` is compared
  /// exactly ("GET"; HEAD and OPTIONS are not implied). Parameter values are
  /// decoded and untrusted: `{name*}` may hold "..", so a handler that maps
  /// it to files must confine it. Throws std::invalid_argument for a
  /// malformed pattern (a wiring bug).
  void route(std::string method, std::string pattern, http_handler handler,
             route_options options = {});

  /// Adds a route that needs no token.
  void route_public(std::string method, std::string pattern,
                    http_handler handler);

  /// Adds a route whose body (up to `max_bytes`) is streamed to a temporary
  /// file, `http_request::body_file`.
  void route_upload(std::string method, std::string pattern,
                    http_handler handler, uint64_t max_bytes);

  /// Requires `Authorization: Bearer <token>` on every non-public route; ""
  /// (the default) requires nothing. Compared in constant time; the token
  /// is an `admin` named "token". Replaces any authenticator.
  void set_token(std::string token);

  /// Requires, on every non-public route, a bearer token that `auth`
  /// accepts; an empty `auth` requires nothing (every request is an
  /// `admin` with no name).
  void set_authenticator(http_authenticator auth);

  /// Accepts, on every non-public route, a request without an
  /// `Authorization` field whose `Cookie` field carries a session
  /// (`session_cookie_name`) that `auth` accepts (`http_request::session`
  /// then holds its id); empty (the default): cookies open nothing. Only
  /// consulted while an authenticator (`set_authenticator`, `set_token`)
  /// is set; a bearer token, when given, is what decides.
  void set_session_authenticator(http_session_authenticator auth);

  /// Sets the gate of the routes that take new work; empty: none.
  void set_work_gate(http_work_gate gate);

  /// Binds, listens and starts the threads. Errors: `io_error` when the
  /// address cannot be bound (port in use, bad host), `invalid_argument` when
  /// called twice.
  caf::error start();

  /// Stops gracefully: stops accepting, closes every connection and event
  /// stream, and joins the threads. Responses sent afterwards are dropped.
  /// Idempotent; a stopped server cannot be started again. Must not be
  /// called from a handler (it joins the handlers' threads).
  void stop();

  /// The port the server listens on (the picked one for port 0); 0 before
  /// `start()`.
  uint16_t port() const noexcept;

  /// The configuration the server was created with.
  const http_server_config& config() const noexcept;

private:
  std::shared_ptr<detail::http_server_state> state_;
  struct runner;
  std::unique_ptr<runner> runner_;
};

} // namespace omniva::runtime
