#pragma once

// The state an `http_server` shares with its connections and with every
// `responder` and `event_stream` it hands out: the `detail::` types that
// http_server.hpp only names. They outlive the server's I/O threads, so a
// handler that answers late (from an actor, after `stop()`) finds a state
// that says "stopped" instead of freed memory.
//
// Internal to runtime/: the public API is http_server.hpp.

#include "runtime/http_routes.hpp"
#include "runtime/http_server.hpp"

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace omniva::runtime::detail {

class http_session;

/// The state shared by the server, its connections and every responder and
/// event stream it handed out; outlives the I/O threads.
struct http_server_state {
  /// Creates the state of a server that does not run yet.
  explicit http_server_state(http_server_config cfg) : config(std::move(cfg)) {
  }

  /// The configuration the server was created with.
  const http_server_config config;

  /// Guards `routes`, `auth`, `session_auth` and `gate`.
  std::shared_mutex routes_mutex;
  /// The routes in the order they were added.
  std::vector<std::shared_ptr<const compiled_route>> routes;
  /// Who a bearer token belongs to; empty: tokens are not checked.
  http_authenticator auth;
  /// Who a session cookie belongs to (used only while `auth` is set);
  /// empty: cookies open nothing.
  http_session_authenticator session_auth;
  /// The gate of the routes that take new work; empty: none.
  http_work_gate gate;

  /// Guards `sessions`; also held while posting work from foreign threads so
  /// that nothing is posted once `running` is false.
  std::mutex mutex;
  /// Whether the server accepts connections and work; false before start()
  /// and after stop().
  std::atomic<bool> running = false;
  /// The bound port.
  std::atomic<uint16_t> port = 0;
  /// The next session id.
  uint64_t next_session_id = 0;
  /// The open connections.
  std::unordered_map<uint64_t, std::weak_ptr<http_session>> sessions;
};

/// The shared state of one request and its responder copies.
struct http_exchange {
  /// Creates the exchange of request number `seq` on connection `s`, owning
  /// the upload's temporary file `upload` ("" for none).
  http_exchange(std::weak_ptr<http_session> s,
                std::shared_ptr<http_server_state> srv, uint64_t seq,
                std::string upload)
    : session(std::move(s)),
      server(std::move(srv)),
      sequence(seq),
      upload_file(std::move(upload)) {
  }

  /// Runs when the last responder copy is gone: answers 500 when nobody
  /// answered (so a forgotten request never hangs a connection) and removes
  /// the upload's temporary file.
  ~http_exchange();

  /// The connection; expired once it closed.
  std::weak_ptr<http_session> session;
  /// The server, to learn whether it still runs before posting.
  std::shared_ptr<http_server_state> server;
  /// The number of the request on its connection.
  uint64_t sequence;
  /// The upload's temporary file; removed with the exchange.
  std::string upload_file;
  /// Whether send() or start_stream() took effect.
  std::atomic<bool> answered = false;
};

/// The link between a streamed answer (`event_stream`, `text_stream`) and its
/// connection.
struct stream_channel {
  /// What the stream carries.
  enum class kind : uint8_t {
    /// Server-Sent Events (`text/event-stream`), written as they are.
    events,
    /// Text of `content_type`, written as HTTP/1.1 chunks (raw bytes to an
    /// HTTP/1.0 client), ended by the zero chunk.
    text,
  };

  /// Links a stream of `type` to connection `s` of server `srv`.
  stream_channel(std::weak_ptr<http_session> s,
                 std::shared_ptr<http_server_state> srv, kind type,
                 std::string content_type)
    : session(std::move(s)),
      server(std::move(srv)),
      type(type),
      content_type(std::move(content_type)) {
  }

  /// The connection; expired once it closed.
  std::weak_ptr<http_session> session;
  /// The server, to learn whether it still runs before posting.
  std::shared_ptr<http_server_state> server;
  /// What the stream carries.
  const kind type;
  /// The media type of the answer.
  const std::string content_type;
  /// Whether the stream has ended (`closed()`); final once true.
  std::atomic<bool> closed = false;
  /// The bytes handed to the connection and not written yet (`backlog()`).
  std::atomic<size_t> unwritten = 0;

  /// Serializes the writers of one stream, so that what they queue reaches
  /// the connection in the order of their calls; guards the members below.
  std::mutex mutex;
  /// Whether `event_stream::send` keeps events back (`event_stream::hold`).
  bool holding = false;
  /// The events kept back, in order: each event's id (if any) and frame.
  std::deque<std::pair<std::optional<uint64_t>, std::string>> held;
  /// The bytes in `held`.
  size_t held_bytes = 0;
  /// Whether events kept back were discarded (too many bytes held).
  bool discarded = false;
  /// The largest id among the discarded events.
  uint64_t discarded_up_to = 0;
  /// After `release`: events with an id up to this one are dropped.
  std::optional<uint64_t> floor;
};

} // namespace omniva::runtime::detail
