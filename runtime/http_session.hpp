#pragma once

// One connection of the HTTP server (DESIGN.md §8): it reads requests (head,
// then the body into memory or an upload file), applies the limits and the
// token, picks the route, hands the request to its handler, and writes the
// answer: one response (keep-alive or a graceful close) or an event stream.
//
// Every member function runs on the connection's strand; other threads reach
// a session only through `post_to_session`.
//
// Internal to runtime/: the public API is http_server.hpp.

#include "runtime/http_beast.hpp"
#include "runtime/http_server.hpp"
#include "runtime/http_server_state.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace omniva::runtime::detail {

/// One connection. Every member function runs on the connection's strand.
class http_session : public std::enable_shared_from_this<http_session> {
public:
  /// Takes over an accepted socket; `id` is its key in `server->sessions`.
  http_session(tcp::socket&& socket, std::shared_ptr<http_server_state> server,
               uint64_t id);

  /// Removes a pending upload's file and the entry in `server->sessions`.
  ~http_session();

  /// Starts reading requests.
  void run();

  /// Closes the connection at once.
  void close();

  /// Sends the answer of request `sequence`.
  void deliver(uint64_t sequence, http_response response);

  /// Turns the answer of request `sequence` into a stream (events or text,
  /// as `channel` says).
  void begin_stream(uint64_t sequence, std::shared_ptr<stream_channel> channel);

  /// Queues bytes of a stream: an event stream's frame as it is, a text
  /// stream's bytes as one chunk (HTTP/1.1) or as they are (HTTP/1.0).
  void stream_enqueue(std::string bytes);

  /// Ends a stream once its queue is written (after a text stream's zero
  /// chunk).
  void stream_finish();

  /// The connection's socket with its timeouts; its executor is the strand.
  beast::tcp_stream stream;

private:
  /// Where the connection is in its life.
  enum class state : uint8_t {
    /// Reading a request's head or body.
    reading,
    /// A handler owes the answer.
    handling,
    /// Writing a response.
    writing,
    /// Writing a stream (events or text).
    streaming,
    /// Closing gracefully, reading and discarding what still arrives.
    lingering,
    /// Closed; nothing more happens.
    closed,
  };

  /// The server's configuration.
  const http_server_config& config() const {
    return server_->config;
  }

  // -- reading -----------------------------------------------------------------

  /// Reads the head of the next request, within `max_header_bytes`.
  void read_header();

  /// Checks a read head: version, target, route, token, body size; then
  /// reads the body (after a `100 Continue` when the client waits for one).
  void on_header(beast::error_code err);

  /// Finds the route of `request_`; answers 400, 404 or 405 and returns
  /// false when there is none.
  bool match_route();

  /// Whether the request may use its route: the route is public, tokens are
  /// not checked, or the request carries a token the authenticator accepts
  /// (then `request_.who` is its principal).
  bool authorized();

  /// Reads the body into memory or, for an upload route, into a new
  /// temporary file; dispatches when there is none.
  void start_body();

  /// Tells the server's owner about an answer (`http_server_config::
  /// on_answer`); `body` is read for an error's code.
  void note_answer(unsigned status, std::string_view content_type,
                   std::string_view body);

  /// Reads the next part of the body with `parser`.
  template <class Parser>
  void read_body(Parser& parser);

  /// Handles a read of the body: answers 413 over the route's limit, 400 for
  /// broken HTTP, 500 when the body cannot be stored; dispatches once
  /// complete.
  template <class Parser>
  void on_body(Parser& parser, beast::error_code err);

  // -- handling ----------------------------------------------------------------

  /// Hands the complete request to its route's handler with a fresh
  /// `responder`; an exception escaping the handler becomes a 500.
  void dispatch();

  // -- writing -----------------------------------------------------------------

  /// Answers with an error before the body was read: when a body is still
  /// unread the connection is closed after the answer.
  void reject(unsigned status, contracts::ec code, std::string message,
              std::vector<std::pair<std::string, std::string>> headers = {});

  /// Answers with `response` before the body was read (see above).
  void reject(http_response response);

  /// Writes `response` with the fields the server adds (`Server`,
  /// `Content-Length`, `Connection`), dropping the ones a handler may not
  /// set; keeps the connection open afterwards when `keep_alive` and the
  /// server still runs.
  void write_response(http_response response, bool keep_alive);

  /// After a response: reads the next request or closes gracefully.
  void on_write(beast::error_code err, bool keep_alive);

  /// Closes gracefully: stops sending, then reads and discards what the
  /// client still sends for a while, so that it sees our answer rather than
  /// a reset.
  void linger();

  /// Reads and discards until the client closes or the linger time ends.
  void drain();

  // -- event streams -----------------------------------------------------------

  /// Keeps a read pending on a stream: it completes when the client
  /// disconnects (what the client sends is ignored).
  void watch_disconnect();

  /// Whether a stream goes on after a read or write that completed
  /// with `err`: false once the stream ended, or after closing the
  /// connection on an error.
  bool stream_goes_on(beast::error_code err);

  /// Writes the next queued frame of a stream; closes once the queue is
  /// empty and `stream_finish` was called.
  void write_next();

  /// Closes and removes the temporary file of the upload being read.
  void discard_upload();

  /// The server this connection belongs to.
  std::shared_ptr<http_server_state> server_;
  /// The key of this session in `server_->sessions`.
  uint64_t id_;
  /// The peer's address and port, for `http_request::remote`.
  std::string remote_;
  /// Where the connection is in its life.
  state state_ = state::reading;
  /// Set while a handler owes the answer (no I/O keeps the session alive).
  std::shared_ptr<http_session> self_;
  /// The bytes read but not parsed yet.
  beast::flat_buffer buffer_;
  /// The parser of the head; moved into one of the body parsers once the
  /// route is known.
  std::optional<http::request_parser<http::empty_body>> header_parser_;
  /// The parser of a body kept in memory.
  std::optional<http::request_parser<http::string_body>> string_parser_;
  /// The parser of an upload's body, written to `upload_path_`.
  std::optional<http::request_parser<http::file_body>> file_parser_;
  /// The temporary file of the upload being read.
  std::string upload_path_;
  /// The request being read or handled, its route and number.
  http_request request_;
  /// The route of `request_`.
  std::shared_ptr<const compiled_route> route_;
  /// The method of `request_`, kept for `note_answer` (the handler gets
  /// `request_` itself).
  std::string method_;
  /// The number of `request_` on this connection.
  uint64_t sequence_ = 0;
  /// The HTTP version of `request_`, 10 or 11; responses use it.
  unsigned version_ = 11;
  /// Whether the client asked to keep the connection open.
  bool keep_alive_ = false;
  /// Streams: the stream, the frames not yet written, whether a write is
  /// pending and whether close() was asked for.
  std::shared_ptr<stream_channel> channel_;
  /// The frames not yet written, each with the bytes of the stream's
  /// `unwritten` count it settles once written (a chunk's framing and the
  /// response head count for nothing).
  std::deque<std::pair<std::string, size_t>> outbox_;
  /// The bytes in `outbox_` (with the one being written).
  size_t backlog_ = 0;
  /// Whether a write of the event stream is pending.
  bool writing_ = false;
  /// Whether close() was asked for: close once `outbox_` is written.
  bool finishing_ = false;
  /// Where discarded bytes go.
  std::array<char, 4096> scratch_;
};

/// Posts `fn(session)` to the connection's strand unless the server stopped
/// or the connection is gone; returns whether it was posted. The way every
/// other thread (a handler's responder, an event stream) reaches a session.
template <class F>
bool post_to_session(http_server_state& server,
                     const std::weak_ptr<http_session>& weak, F fn) {
  // Nothing of the session may outlive the lock on this (foreign) thread:
  // once `running` is false, stop() may destroy the I/O context, and a
  // session (its socket) or an executor released here afterwards would
  // touch freed memory. The strong reference moves into the handler, which
  // the I/O context owns (and destroys, if it never runs, with itself).
  std::lock_guard guard{server.mutex};
  if (!server.running)
    return false;
  auto session = weak.lock();
  if (!session)
    return false;
  {
    auto executor = session->stream.get_executor();
    net::post(executor, [session = std::move(session),
                         fn = std::move(fn)]() mutable { fn(*session); });
  }
  return true;
}

} // namespace omniva::runtime::detail
