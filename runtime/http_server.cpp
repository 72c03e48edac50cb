#include "runtime/http_server.hpp"

#include "contracts/uri.hpp"

// Beast 1.74 trips GCC 12's -Wmaybe-uninitialized (a boost::optional in
// basic_parser) when optimising with sanitizers: a false positive in Boost.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#pragma GCC diagnostic pop

#include <openssl/crypto.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <condition_variable>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <deque>
#include <filesystem>
#include <limits>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <stdexcept>
#include <string_view>
#include <thread>
#include <unistd.h>
#include <unordered_map>

namespace omniva::runtime {

namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using contracts::ec;

namespace {

/// How long a connection that is closed after an error keeps reading (and
/// discarding) what the client still sends, so that the client reads our
/// answer instead of a connection reset.
constexpr auto linger_time = std::chrono::seconds{5};

/// How many bytes of events may wait for a slow event-stream client before
/// the server gives up on it and closes the stream.
constexpr size_t max_stream_backlog = size_t{16} << 20;

/// How long `stop()` waits for the threads to run out of work before it
/// abandons whatever is still queued.
constexpr auto stop_grace = std::chrono::seconds{2};

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

/// Splits "/a/b/c" into "a", "b", "c" ("/" gives one empty segment).
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

/// Parses a query string; false for a malformed escape.
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

/// Compares in time that depends on the lengths only, not on where the
/// inputs differ (OpenSSL's CRYPTO_memcmp, which compilers cannot shortcut).
bool constant_time_equal(std::string_view x, std::string_view y) {
  return x.size() == y.size() && CRYPTO_memcmp(x.data(), y.data(), x.size()) == 0;
}

/// Returns the token of an `Authorization: Bearer <token>` value; "" when the
/// scheme is not Bearer.
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

bool has_line_break(std::string_view x) {
  return x.find_first_of("\r\n") != std::string_view::npos;
}

/// Formats one Server-Sent Event.
std::string sse_frame(std::string_view event, std::string_view data) {
  std::string frame;
  frame.reserve(event.size() + data.size() + 16);
  if (!event.empty()) {
    frame += "event: ";
    for (auto c : event)
      frame.push_back(c == '\r' || c == '\n' ? ' ' : c);
    frame += '\n';
  }
  for (;;) {
    auto nl = data.find('\n');
    auto line = data.substr(0, nl);
    if (!line.empty() && line.back() == '\r')
      line.remove_suffix(1);
    frame += "data: ";
    frame.append(line);
    frame += '\n';
    if (nl == std::string_view::npos)
      break;
    data.remove_prefix(nl + 1);
  }
  frame += '\n';
  return frame;
}

std::string format_endpoint(const tcp::endpoint& ep) {
  auto address = ep.address().to_string();
  if (ep.address().is_v6())
    address = "[" + address + "]";
  return address + ":" + std::to_string(ep.port());
}

/// Errors after which the peer is gone or the connection is being torn
/// down: nothing to answer.
bool is_disconnect(const beast::error_code& err) {
  return err == http::error::end_of_stream || err == http::error::partial_message
         || err == net::error::eof || err == net::error::operation_aborted
         || err == net::error::connection_reset
         || err == net::error::connection_aborted
         || err == net::error::broken_pipe || err == net::error::not_connected
         || err == net::error::bad_descriptor || err == beast::error::timeout;
}

bool is_http_error(const beast::error_code& err) {
  return err.category() == http::make_error_code(http::error::bad_target)
                             .category();
}

/// Creates an empty temporary file for an upload; "" on failure.
std::string make_upload_file(const std::string& dir, std::string& why) {
  std::error_code err;
  std::filesystem::path folder = dir;
  if (folder.empty())
    folder = std::filesystem::temp_directory_path(err);
  if (err) {
    why = err.message();
    return {};
  }
  auto pattern = (folder / "omniva-upload-XXXXXX").string();
  auto fd = ::mkstemp(pattern.data());
  if (fd < 0) {
    why = std::strerror(errno);
    return {};
  }
  ::close(fd);
  return pattern;
}

void remove_file(const std::string& path) {
  if (!path.empty()) {
    std::error_code ignored;
    std::filesystem::remove(path, ignored);
  }
}

} // namespace

// -- responses -----------------------------------------------------------------

http_response json_response(unsigned status, const json::value& body) {
  http_response result;
  result.status = status;
  result.body = json::serialize(body);
  return result;
}

http_response error_response(unsigned status, ec code, std::string message,
                             std::string pointer) {
  json::object error;
  error.emplace_back("code", json::value{std::string{to_string(code)}});
  error.emplace_back("message", json::value{std::move(message)});
  error.emplace_back("pointer", json::value{std::move(pointer)});
  json::object doc;
  doc.emplace_back("error", json::value{std::move(error)});
  return json_response(status, json::value{std::move(doc)});
}

namespace detail {

class http_session;

/// One segment of a route pattern.
struct route_segment {
  enum class kind : uint8_t { literal, param, rest };
  kind type = kind::literal;
  /// The literal text, or the parameter's name.
  std::string text;
};

/// A route, ready for matching.
struct compiled_route {
  std::string method;
  std::vector<route_segment> segments;
  http_handler handler;
  route_options options;
};

/// The state shared by the server, its connections and every responder and
/// event stream it handed out; outlives the I/O threads.
struct http_server_state {
  explicit http_server_state(http_server_config cfg) : config(std::move(cfg)) {
  }

  const http_server_config config;

  /// Guards `routes` and `token`.
  std::shared_mutex routes_mutex;
  /// The routes in the order they were added.
  std::vector<std::shared_ptr<const compiled_route>> routes;
  /// The bearer token; "" for none.
  std::string token;

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
  http_exchange(std::weak_ptr<http_session> s,
                std::shared_ptr<http_server_state> srv, uint64_t seq,
                std::string upload)
    : session(std::move(s)),
      server(std::move(srv)),
      sequence(seq),
      upload_file(std::move(upload)) {
  }

  ~http_exchange();

  std::weak_ptr<http_session> session;
  std::shared_ptr<http_server_state> server;
  /// The number of the request on its connection.
  uint64_t sequence;
  /// The upload's temporary file; removed with the exchange.
  std::string upload_file;
  /// Whether send() or start_stream() took effect.
  std::atomic<bool> answered = false;
};

/// The link between an event_stream and its connection.
struct sse_channel {
  sse_channel(std::weak_ptr<http_session> s,
              std::shared_ptr<http_server_state> srv)
    : session(std::move(s)), server(std::move(srv)) {
  }

  std::weak_ptr<http_session> session;
  std::shared_ptr<http_server_state> server;
  std::atomic<bool> closed = false;
};

/// Posts `fn(session)` to the connection's strand unless the server stopped
/// or the connection is gone; returns whether it was posted.
template <class F>
bool post_to_session(http_server_state& server,
                     const std::weak_ptr<http_session>& weak, F fn);

/// One connection. Every member function runs on the connection's strand.
class http_session : public std::enable_shared_from_this<http_session> {
public:
  http_session(tcp::socket&& socket, std::shared_ptr<http_server_state> server,
               uint64_t id)
    : stream(std::move(socket)), server_(std::move(server)), id_(id) {
    beast::error_code ignored;
    auto ep = stream.socket().remote_endpoint(ignored);
    if (!ignored)
      remote_ = format_endpoint(ep);
  }

  ~http_session() {
    discard_upload();
    std::lock_guard guard{server_->mutex};
    server_->sessions.erase(id_);
  }

  /// Starts reading requests.
  void run() {
    net::dispatch(stream.get_executor(),
                  [self = shared_from_this()] { self->read_header(); });
  }

  /// Closes the connection at once.
  void close() {
    if (state_ == state::closed)
      return;
    auto keep = std::move(self_);
    state_ = state::closed;
    if (channel_)
      channel_->closed = true;
    discard_upload();
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream.close();
  }

  /// Sends the answer of request `sequence`.
  void deliver(uint64_t sequence, http_response response) {
    if (state_ != state::handling || sequence != sequence_)
      return;
    auto keep = std::move(self_);
    write_response(std::move(response), keep_alive_);
  }

  /// Turns the answer of request `sequence` into an event stream.
  void begin_stream(uint64_t sequence, std::shared_ptr<sse_channel> channel) {
    if (state_ != state::handling || sequence != sequence_) {
      channel->closed = true;
      return;
    }
    auto keep = std::move(self_);
    state_ = state::streaming;
    channel_ = std::move(channel);
    stream.expires_never();
    std::string head = version_ == 10 ? "HTTP/1.0" : "HTTP/1.1";
    head += " 200 OK\r\n"
            "Server: omniva\r\n"
            "Content-Type: text/event-stream\r\n"
            "Cache-Control: no-cache\r\n"
            "X-Accel-Buffering: no\r\n"
            "\r\n";
    backlog_ += head.size();
    outbox_.push_back(std::move(head));
    watch_disconnect();
    write_next();
  }

  /// Queues one frame of an event stream.
  void stream_enqueue(std::string frame) {
    if (state_ != state::streaming || finishing_)
      return;
    backlog_ += frame.size();
    if (backlog_ > max_stream_backlog)
      return close();
    outbox_.push_back(std::move(frame));
    if (!writing_)
      write_next();
  }

  /// Ends an event stream once its queue is written.
  void stream_finish() {
    if (state_ != state::streaming)
      return;
    finishing_ = true;
    if (!writing_)
      close();
  }

  /// The connection's socket with its timeouts; its executor is the strand.
  beast::tcp_stream stream;

private:
  enum class state : uint8_t {
    reading,
    handling,
    writing,
    streaming,
    lingering,
    closed,
  };

  const http_server_config& config() const {
    return server_->config;
  }

  // -- reading -----------------------------------------------------------------

  void read_header() {
    if (state_ == state::closed)
      return;
    state_ = state::reading;
    string_parser_.reset();
    file_parser_.reset();
    header_parser_.emplace();
    header_parser_->header_limit(config().max_header_bytes);
    // The body limit is the route's, applied once the route is known.
    header_parser_->body_limit(std::numeric_limits<uint64_t>::max());
    stream.expires_after(config().idle_timeout);
    http::async_read_header(stream, buffer_, *header_parser_,
                            [self = shared_from_this()](
                              beast::error_code err, size_t) {
                              self->on_header(err);
                            });
  }

  void on_header(beast::error_code err) {
    if (state_ == state::closed)
      return;
    if (err) {
      if (err == http::error::header_limit)
        return reject(431, ec::too_large,
                      "The request head is larger than "
                        + std::to_string(config().max_header_bytes)
                        + " bytes.");
      if (is_disconnect(err) || !is_http_error(err))
        return close();
      return reject(400, ec::invalid_argument,
                    "The request is not valid HTTP/1.1: " + err.message()
                      + ".");
    }
    auto& head = header_parser_->get();
    version_ = head.version();
    keep_alive_ = head.keep_alive();
    ++sequence_;
    if (version_ != 10 && version_ != 11)
      return reject(505, ec::invalid_argument,
                    "Only HTTP/1.0 and HTTP/1.1 are supported.");
    request_ = http_request{};
    request_.method = std::string{head.method_string()};
    request_.remote = remote_;
    auto target = std::string_view{head.target().data(), head.target().size()};
    if (target.empty() || target.front() != '/')
      return reject(400, ec::invalid_argument,
                    "The request target must be a path starting with '/'.");
    auto question = target.find('?');
    request_.path = std::string{target.substr(0, question)};
    if (question != std::string_view::npos
        && !parse_query(target.substr(question + 1), request_.query))
      return reject(400, ec::invalid_argument,
                    "The query string has a malformed percent escape.");
    for (auto& field : head) {
      auto name = lowercase({field.name_string().data(),
                             field.name_string().size()});
      auto value = std::string_view{field.value().data(), field.value().size()};
      auto [i, added] = request_.headers.try_emplace(std::move(name), value);
      if (!added) {
        i->second += ", ";
        i->second.append(value);
      }
    }
    if (!match_route())
      return;
    if (!authorized())
      return reject(401, ec::unauthorized,
                    "This request needs a valid 'Authorization: Bearer "
                    "<token>' header.",
                    {{"WWW-Authenticate", "Bearer"}});
    auto limit = route_->options.max_body;
    auto length = header_parser_->content_length();
    if (length && *length > limit)
      return reject(413, ec::too_large,
                    "The request body has " + std::to_string(*length)
                      + " bytes; this endpoint accepts at most "
                      + std::to_string(limit) + ".");
    if (header_parser_->is_done())
      return start_body();
    auto expect = head[http::field::expect];
    if (iequals({expect.data(), expect.size()}, "100-continue")) {
      auto interim = std::make_shared<http::response<http::empty_body>>(
        http::status::continue_, version_);
      stream.expires_after(config().idle_timeout);
      http::async_write(stream, *interim,
                        [self = shared_from_this(),
                         interim](beast::error_code err, size_t) {
                          if (err)
                            return self->close();
                          self->start_body();
                        });
      return;
    }
    start_body();
  }

  /// Finds the route of `request_`; answers 400, 404 or 405 and returns
  /// false when there is none.
  bool match_route() {
    auto raw = split_path(request_.path);
    std::vector<std::string> segments;
    segments.reserve(raw.size());
    for (auto part : raw) {
      auto decoded = contracts::percent_decode(part, {.strict = true});
      if (!decoded) {
        reject(400, ec::invalid_argument,
               "The path has a malformed percent escape.");
        return false;
      }
      segments.push_back(std::move(*decoded));
    }
    std::vector<std::shared_ptr<const compiled_route>> routes;
    {
      std::shared_lock guard{server_->routes_mutex};
      routes = server_->routes;
    }
    std::shared_ptr<const compiled_route> best;
    std::vector<uint8_t> best_rank;
    std::map<std::string, std::string> best_params;
    std::vector<std::string> allowed;
    for (auto& candidate : routes) {
      std::map<std::string, std::string> params;
      std::vector<uint8_t> rank;
      if (!match(*candidate, segments, params, rank))
        continue;
      if (candidate->method != request_.method) {
        if (std::find(allowed.begin(), allowed.end(), candidate->method)
            == allowed.end())
          allowed.push_back(candidate->method);
        continue;
      }
      if (!best || rank < best_rank) {
        best = candidate;
        best_rank = std::move(rank);
        best_params = std::move(params);
      }
    }
    if (best) {
      route_ = std::move(best);
      request_.params = std::move(best_params);
      return true;
    }
    if (allowed.empty()) {
      reject(404, ec::not_found, "There is no endpoint at " + request_.path
                                   + ".");
      return false;
    }
    std::string list;
    for (auto& method : allowed) {
      if (!list.empty())
        list += ", ";
      list += method;
    }
    reject(405, ec::invalid_argument,
           "Method " + request_.method + " is not allowed on " + request_.path
             + "; allowed: " + list + ".",
           {{"Allow", list}});
    return false;
  }

  /// Matches decoded path `segments` against `r`, collecting the parameters
  /// and a rank (lower is more specific).
  static bool match(const compiled_route& r,
                    const std::vector<std::string>& segments,
                    std::map<std::string, std::string>& params,
                    std::vector<uint8_t>& rank) {
    size_t i = 0;
    for (auto& seg : r.segments) {
      rank.push_back(static_cast<uint8_t>(seg.type));
      if (seg.type == route_segment::kind::rest) {
        if (i >= segments.size())
          return false;
        std::string rest = segments[i];
        for (++i; i < segments.size(); ++i) {
          rest += '/';
          rest += segments[i];
        }
        params[seg.text] = std::move(rest);
        return true;
      }
      if (i >= segments.size())
        return false;
      if (seg.type == route_segment::kind::literal) {
        if (seg.text != segments[i])
          return false;
      } else {
        params[seg.text] = segments[i];
      }
      ++i;
    }
    return i == segments.size();
  }

  bool authorized() {
    if (route_->options.is_public)
      return true;
    std::string token;
    {
      std::shared_lock guard{server_->routes_mutex};
      token = server_->token;
    }
    if (token.empty())
      return true;
    auto i = request_.headers.find("authorization");
    if (i == request_.headers.end())
      return false;
    auto given = bearer_token(i->second);
    return !given.empty() && constant_time_equal(given, token);
  }

  void start_body() {
    if (route_->options.upload) {
      std::string why;
      upload_path_ = make_upload_file(config().upload_dir, why);
      if (upload_path_.empty())
        return reject(500, ec::io_error,
                      "Cannot create a temporary file for the upload: " + why
                        + ".");
      if (header_parser_->is_done())
        return dispatch();
      file_parser_.emplace(std::move(*header_parser_));
      header_parser_.reset();
      file_parser_->body_limit(route_->options.max_body);
      beast::error_code err;
      file_parser_->get().body().open(upload_path_.c_str(),
                                      beast::file_mode::write, err);
      if (err)
        return reject(500, ec::io_error,
                      "Cannot open the upload's temporary file: "
                        + err.message() + ".");
      return read_body(*file_parser_);
    }
    if (header_parser_->is_done())
      return dispatch();
    string_parser_.emplace(std::move(*header_parser_));
    header_parser_.reset();
    string_parser_->body_limit(route_->options.max_body);
    read_body(*string_parser_);
  }

  template <class Parser>
  void read_body(Parser& parser) {
    stream.expires_after(config().idle_timeout);
    http::async_read_some(stream, buffer_, parser,
                          [self = shared_from_this(),
                           &parser](beast::error_code err, size_t) {
                            self->on_body(parser, err);
                          });
  }

  template <class Parser>
  void on_body(Parser& parser, beast::error_code err) {
    if (state_ == state::closed)
      return;
    if (err == http::error::body_limit) {
      discard_upload();
      return reject(413, ec::too_large,
                    "The request body is larger than this endpoint's limit "
                    "of "
                      + std::to_string(route_->options.max_body) + " bytes.");
    }
    if (err) {
      discard_upload();
      if (is_http_error(err))
        return reject(400, ec::invalid_argument,
                      "The request body is not valid HTTP/1.1: "
                        + err.message() + ".");
      if (is_disconnect(err))
        return close();
      return reject(500, ec::io_error,
                    "Cannot store the request body: " + err.message() + ".");
    }
    if (!parser.is_done())
      return read_body(parser);
    dispatch();
  }

  // -- handling ----------------------------------------------------------------

  void dispatch() {
    if (string_parser_) {
      request_.body = std::move(string_parser_->get().body());
      string_parser_.reset();
    }
    if (file_parser_) {
      file_parser_->get().body().close();
      file_parser_.reset();
    }
    header_parser_.reset();
    request_.body_file = upload_path_;
    state_ = state::handling;
    // Until the handler answers, no I/O is pending: the session keeps itself
    // alive (close() and the answer break the cycle).
    self_ = shared_from_this();
    auto exchange = std::make_shared<http_exchange>(
      weak_from_this(), server_, sequence_, std::move(upload_path_));
    upload_path_.clear();
    auto route = route_;
    responder answer{std::move(exchange)};
    try {
      route->handler(std::move(request_), answer);
    } catch (const std::exception& e) {
      answer.send(error_response(500, ec::io_error,
                                 std::string{"The request handler failed: "}
                                   + e.what()));
    } catch (...) {
      answer.send(
        error_response(500, ec::io_error, "The request handler failed."));
    }
  }

  // -- writing -----------------------------------------------------------------

  /// Answers with an error before the body was read: when a body is still
  /// unread the connection is closed after the answer.
  void reject(unsigned status, ec code, std::string message,
              std::vector<std::pair<std::string, std::string>> headers = {}) {
    // Unless the head was read completely and there is no body, bytes of
    // this request may still be on their way.
    auto body_pending = !header_parser_ || !header_parser_->is_done();
    auto response = error_response(status, code, std::move(message));
    response.headers = std::move(headers);
    write_response(std::move(response), keep_alive_ && !body_pending);
  }

  void write_response(http_response response, bool keep_alive) {
    if (state_ == state::closed)
      return;
    state_ = state::writing;
    auto status = response.status;
    if (status < 100 || status > 999)
      status = 500;
    auto msg = std::make_shared<http::response<http::string_body>>();
    msg->version(version_ == 10 ? 10 : 11);
    msg->result(status);
    msg->set(http::field::server, "omniva");
    for (auto& [name, value] : response.headers) {
      if (name.empty() || has_line_break(name) || has_line_break(value))
        continue;
      auto lower = lowercase(name);
      if (lower == "content-length" || lower == "connection"
          || lower == "transfer-encoding")
        continue;
      msg->insert(name, value);
    }
    if (status < 200 || status == 204 || status == 304) {
      response.body.clear();
    } else if (!has_line_break(response.content_type)
               && !response.content_type.empty()) {
      msg->set(http::field::content_type, response.content_type);
    }
    msg->body() = std::move(response.body);
    msg->keep_alive(keep_alive && server_->running);
    msg->prepare_payload();
    stream.expires_after(config().idle_timeout);
    http::async_write(stream, *msg,
                      [self = shared_from_this(), msg](beast::error_code err,
                                                       size_t) {
                        self->on_write(err, msg->keep_alive());
                      });
  }

  void on_write(beast::error_code err, bool keep_alive) {
    if (state_ == state::closed)
      return;
    if (err)
      return close();
    if (keep_alive)
      return read_header();
    linger();
  }

  /// Closes gracefully: stops sending, then reads and discards what the
  /// client still sends for a while, so that it sees our answer rather than
  /// a reset.
  void linger() {
    state_ = state::lingering;
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream.expires_after(linger_time);
    drain();
  }

  void drain() {
    stream.async_read_some(net::buffer(scratch_),
                           [self = shared_from_this()](beast::error_code err,
                                                       size_t) {
                             if (err || self->state_ != state::lingering)
                               return self->close();
                             self->drain();
                           });
  }

  // -- event streams -----------------------------------------------------------

  /// Keeps a read pending on an event stream: it completes when the client
  /// disconnects (what the client sends is ignored).
  void watch_disconnect() {
    stream.async_read_some(net::buffer(scratch_),
                           [self = shared_from_this()](beast::error_code err,
                                                       size_t) {
                             if (self->state_ != state::streaming)
                               return;
                             if (err)
                               return self->close();
                             self->watch_disconnect();
                           });
  }

  void write_next() {
    if (state_ != state::streaming)
      return;
    if (outbox_.empty()) {
      writing_ = false;
      if (finishing_)
        close();
      return;
    }
    writing_ = true;
    net::async_write(stream, net::buffer(outbox_.front()),
                     [self = shared_from_this()](beast::error_code err,
                                                 size_t) {
                       if (self->state_ != state::streaming)
                         return;
                       if (err)
                         return self->close();
                       self->backlog_ -= self->outbox_.front().size();
                       self->outbox_.pop_front();
                       self->write_next();
                     });
  }

  void discard_upload() {
    if (file_parser_) {
      file_parser_->get().body().close();
      file_parser_.reset();
    }
    remove_file(upload_path_);
    upload_path_.clear();
  }

  std::shared_ptr<http_server_state> server_;
  uint64_t id_;
  std::string remote_;
  state state_ = state::reading;
  /// Set while a handler owes the answer (no I/O keeps the session alive).
  std::shared_ptr<http_session> self_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::empty_body>> header_parser_;
  std::optional<http::request_parser<http::string_body>> string_parser_;
  std::optional<http::request_parser<http::file_body>> file_parser_;
  /// The temporary file of the upload being read.
  std::string upload_path_;
  /// The request being read or handled, its route and number.
  http_request request_;
  std::shared_ptr<const compiled_route> route_;
  uint64_t sequence_ = 0;
  unsigned version_ = 11;
  bool keep_alive_ = false;
  /// Event streams: the stream, the frames not yet written, whether a write
  /// is pending and whether close() was asked for.
  std::shared_ptr<sse_channel> channel_;
  std::deque<std::string> outbox_;
  size_t backlog_ = 0;
  bool writing_ = false;
  bool finishing_ = false;
  /// Where discarded bytes go.
  std::array<char, 4096> scratch_;
};

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

http_exchange::~http_exchange() {
  if (!answered.exchange(true)) {
    auto response = error_response(500, ec::io_error,
                                   "The request handler did not answer.");
    post_to_session(*server, session,
                    [seq = sequence, response = std::move(response)](
                      http_session& s) mutable {
                      s.deliver(seq, std::move(response));
                    });
  }
  remove_file(upload_file);
}

} // namespace detail

// -- event_stream --------------------------------------------------------------

event_stream::event_stream(std::shared_ptr<detail::sse_channel> channel)
  : channel_(std::move(channel)) {
}

event_stream::~event_stream() = default;

void event_stream::send(std::string event, std::string data) {
  if (channel_->closed)
    return;
  auto frame = sse_frame(event, data);
  if (!detail::post_to_session(*channel_->server, channel_->session,
                               [frame = std::move(frame)](
                                 detail::http_session& s) mutable {
                                 s.stream_enqueue(std::move(frame));
                               }))
    channel_->closed = true;
}

void event_stream::comment(std::string text) {
  if (channel_->closed)
    return;
  std::string frame = ": ";
  for (auto c : text)
    frame.push_back(c == '\r' || c == '\n' ? ' ' : c);
  frame += "\n\n";
  if (!detail::post_to_session(*channel_->server, channel_->session,
                               [frame = std::move(frame)](
                                 detail::http_session& s) mutable {
                                 s.stream_enqueue(std::move(frame));
                               }))
    channel_->closed = true;
}

bool event_stream::closed() const noexcept {
  return channel_->closed;
}

void event_stream::close() {
  if (channel_->closed)
    return;
  if (!detail::post_to_session(
        *channel_->server, channel_->session,
        [](detail::http_session& s) { s.stream_finish(); }))
    channel_->closed = true;
}

// -- responder -----------------------------------------------------------------

responder::responder(std::shared_ptr<detail::http_exchange> exchange)
  : exchange_(std::move(exchange)) {
}

void responder::send(http_response response) {
  if (exchange_->answered.exchange(true))
    return;
  detail::post_to_session(*exchange_->server, exchange_->session,
                          [seq = exchange_->sequence,
                           response = std::move(response)](
                            detail::http_session& s) mutable {
                            s.deliver(seq, std::move(response));
                          });
}

std::shared_ptr<event_stream> responder::start_stream() {
  auto channel = std::make_shared<detail::sse_channel>(exchange_->session,
                                                       exchange_->server);
  if (exchange_->answered.exchange(true)) {
    channel->closed = true;
    return std::make_shared<event_stream>(std::move(channel));
  }
  if (!detail::post_to_session(*exchange_->server, exchange_->session,
                               [seq = exchange_->sequence, channel](
                                 detail::http_session& s) mutable {
                                 s.begin_stream(seq, std::move(channel));
                               }))
    channel->closed = true;
  return std::make_shared<event_stream>(std::move(channel));
}

bool responder::answered() const noexcept {
  return exchange_->answered;
}

// -- http_server ---------------------------------------------------------------

/// The I/O machinery, alive from start() to stop().
struct http_server::runner {
  runner() : acceptor(net::make_strand(ioc)), retry(acceptor.get_executor()) {
  }

  /// Declared first: destroyed last, after everything that uses it.
  net::io_context ioc;
  tcp::acceptor acceptor;
  /// Delays accepting again after a failed accept (out of descriptors).
  net::steady_timer retry;
  std::optional<net::executor_work_guard<net::io_context::executor_type>>
    work;
  std::vector<std::thread> threads;
  /// The number of threads still inside ioc.run().
  std::mutex threads_mutex;
  std::condition_variable threads_done;
  size_t active_threads = 0;

  void accept(std::shared_ptr<detail::http_server_state> state) {
    acceptor.async_accept(
      net::make_strand(ioc),
      [this, state](beast::error_code err, tcp::socket socket) {
        if (err == net::error::operation_aborted || !acceptor.is_open())
          return;
        if (err) {
          retry.expires_after(std::chrono::milliseconds{100});
          retry.async_wait([this, state](beast::error_code wait_err) {
            if (!wait_err && acceptor.is_open())
              accept(state);
          });
          return;
        }
        std::shared_ptr<detail::http_session> session;
        {
          std::lock_guard guard{state->mutex};
          if (state->running) {
            auto id = state->next_session_id++;
            session = std::make_shared<detail::http_session>(std::move(socket),
                                                             state, id);
            state->sessions.emplace(id, session);
          }
        }
        if (!session)
          return;
        session->run();
        accept(std::move(state));
      });
  }
};

http_server::http_server(http_server_config config)
  : state_(std::make_shared<detail::http_server_state>(std::move(config))) {
}

http_server::~http_server() {
  stop();
}

void http_server::route(std::string method, std::string pattern,
                        http_handler handler, route_options options) {
  if (pattern.empty() || pattern.front() != '/')
    throw std::invalid_argument("route pattern must start with '/': "
                                + pattern);
  auto r = std::make_shared<detail::compiled_route>();
  r->method = std::move(method);
  r->handler = std::move(handler);
  r->options = options;
  auto parts = split_path(pattern);
  for (size_t i = 0; i < parts.size(); ++i) {
    auto part = parts[i];
    detail::route_segment seg;
    if (part.size() >= 2 && part.front() == '{' && part.back() == '}') {
      part = part.substr(1, part.size() - 2);
      seg.type = detail::route_segment::kind::param;
      if (!part.empty() && part.back() == '*') {
        if (i + 1 != parts.size())
          throw std::invalid_argument(
            "a {name*} segment must be the last of a pattern: " + pattern);
        part.remove_suffix(1);
        seg.type = detail::route_segment::kind::rest;
      }
      if (part.empty())
        throw std::invalid_argument("route parameter without a name: "
                                    + pattern);
    } else if (part.find_first_of("{}") != std::string_view::npos) {
      throw std::invalid_argument("malformed route pattern: " + pattern);
    }
    seg.text = std::string{part};
    r->segments.push_back(std::move(seg));
  }
  std::unique_lock guard{state_->routes_mutex};
  state_->routes.push_back(std::move(r));
}

void http_server::route_public(std::string method, std::string pattern,
                               http_handler handler) {
  route_options options;
  options.is_public = true;
  route(std::move(method), std::move(pattern), std::move(handler), options);
}

void http_server::route_upload(std::string method, std::string pattern,
                               http_handler handler, uint64_t max_bytes) {
  route_options options;
  options.upload = true;
  options.max_body = max_bytes;
  route(std::move(method), std::move(pattern), std::move(handler), options);
}

void http_server::set_token(std::string token) {
  std::unique_lock guard{state_->routes_mutex};
  state_->token = std::move(token);
}

caf::error http_server::start() {
  if (runner_ || state_->port != 0)
    return contracts::make_error(ec::invalid_argument,
                                 "the HTTP server was already started");
  auto& cfg = state_->config;
  auto where = cfg.host + ":" + std::to_string(cfg.port);
  auto r = std::make_unique<runner>();
  beast::error_code err;
  tcp::endpoint endpoint;
  auto address = net::ip::make_address(cfg.host, err);
  if (!err) {
    endpoint = tcp::endpoint{address, cfg.port};
  } else {
    tcp::resolver resolver{r->ioc};
    auto results = resolver.resolve(cfg.host, std::to_string(cfg.port),
                                    tcp::resolver::passive, err);
    if (err || results.empty())
      return contracts::make_error(ec::io_error, "cannot resolve host "
                                                   + cfg.host + ": "
                                                   + err.message());
    endpoint = results.begin()->endpoint();
  }
  r->acceptor.open(endpoint.protocol(), err);
  if (!err)
    r->acceptor.set_option(net::socket_base::reuse_address(true), err);
  if (!err)
    r->acceptor.bind(endpoint, err);
  if (!err)
    r->acceptor.listen(net::socket_base::max_listen_connections, err);
  if (err)
    return contracts::make_error(ec::io_error, "cannot listen on " + where
                                                 + ": " + err.message());
  state_->port = r->acceptor.local_endpoint().port();
  state_->running = true;
  r->work.emplace(r->ioc.get_executor());
  r->accept(state_);
  auto threads = std::max<size_t>(1, cfg.threads);
  r->active_threads = threads;
  for (size_t i = 0; i < threads; ++i)
    r->threads.emplace_back([raw = r.get()] {
      for (;;) {
        try {
          raw->ioc.run();
          break;
        } catch (...) {
          // A handler's exception is answered with a 500 where it happens;
          // anything else must not end the thread.
        }
      }
      std::lock_guard guard{raw->threads_mutex};
      --raw->active_threads;
      raw->threads_done.notify_all();
    });
  runner_ = std::move(r);
  return {};
}

void http_server::stop() {
  if (!runner_)
    return;
  std::vector<std::shared_ptr<detail::http_session>> sessions;
  {
    std::lock_guard guard{state_->mutex};
    state_->running = false;
    for (auto& [id, weak] : state_->sessions)
      if (auto s = weak.lock())
        sessions.push_back(std::move(s));
  }
  auto* r = runner_.get();
  net::post(r->acceptor.get_executor(), [r] {
    beast::error_code ignored;
    r->acceptor.close(ignored);
    r->retry.cancel();
  });
  for (auto& s : sessions)
    net::post(s->stream.get_executor(), [s] { s->close(); });
  sessions.clear();
  r->work.reset();
  {
    std::unique_lock guard{r->threads_mutex};
    if (!r->threads_done.wait_for(guard, stop_grace,
                                  [r] { return r->active_threads == 0; }))
      r->ioc.stop();
  }
  for (auto& t : r->threads)
    if (t.joinable())
      t.join();
  // The threads are gone: close what the queue did not reach, here.
  {
    std::lock_guard guard{state_->mutex};
    for (auto& [id, weak] : state_->sessions)
      if (auto s = weak.lock())
        sessions.push_back(std::move(s));
  }
  for (auto& s : sessions)
    s->close();
  sessions.clear();
  runner_.reset();
}

uint16_t http_server::port() const noexcept {
  return state_->port;
}

const http_server_config& http_server::config() const noexcept {
  return state_->config;
}

} // namespace omniva::runtime
