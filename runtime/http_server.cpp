#include "runtime/http_server.hpp"

#include "runtime/http_beast.hpp"
#include "runtime/http_parsing.hpp"
#include "runtime/http_routes.hpp"
#include "runtime/http_server_state.hpp"
#include "runtime/http_session.hpp"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <string_view>
#include <thread>
#include <vector>

namespace omniva::runtime {

using contracts::ec;

namespace {

/// How long `stop()` waits for the threads to run out of work before it
/// abandons whatever is still queued.
constexpr auto stop_grace = std::chrono::seconds{2};

/// At most this many bytes of events are kept back by a holding stream.
constexpr size_t max_held_bytes = size_t{4} << 20;

/// Formats one Server-Sent Event.
std::string sse_frame(std::string_view event, std::string_view data,
                      std::optional<uint64_t> id) {
  std::string frame;
  frame.reserve(event.size() + data.size() + 32);
  if (id) {
    frame += "id: ";
    frame += std::to_string(*id);
    frame += '\n';
  }
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

std::string cookie_value(std::string_view header, std::string_view name) {
  auto trim = [](std::string_view x) {
    while (!x.empty() && (x.front() == ' ' || x.front() == '\t'))
      x.remove_prefix(1);
    while (!x.empty() && (x.back() == ' ' || x.back() == '\t'))
      x.remove_suffix(1);
    return x;
  };
  while (!header.empty()) {
    auto end = header.find_first_of(";,");
    auto pair = header.substr(0, end);
    header = end == std::string_view::npos ? std::string_view{}
                                           : header.substr(end + 1);
    auto eq = pair.find('=');
    if (eq == std::string_view::npos || trim(pair.substr(0, eq)) != name)
      continue;
    auto value = trim(pair.substr(eq + 1));
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"')
      value = value.substr(1, value.size() - 2);
    return std::string{value};
  }
  return {};
}

bool same_origin(const http_request& req) {
  auto o = req.headers.find("origin");
  if (o == req.headers.end())
    return true;
  auto h = req.headers.find("host");
  if (h == req.headers.end() || h->second.empty())
    return false;
  return detail::iequals(o->second, "http://" + h->second)
         || detail::iequals(o->second, "https://" + h->second);
}

// -- streams -------------------------------------------------------------------

namespace detail {

namespace {

/// Hands `bytes` of a stream to its connection; marks the stream closed when
/// the connection or the server is gone. Under `c.mutex` for the streams
/// whose writers must stay in order.
void post_bytes(stream_channel& c, std::string bytes) {
  if (c.closed || bytes.empty())
    return;
  c.unwritten += bytes.size();
  auto size = bytes.size();
  if (!post_to_session(*c.server, c.session,
                       [bytes = std::move(bytes)](http_session& s) mutable {
                         s.stream_enqueue(std::move(bytes));
                       })) {
    c.unwritten -= size;
    c.closed = true;
  }
}

/// Ends a stream once what was queued is written.
void post_finish(stream_channel& c) {
  if (c.closed)
    return;
  if (!post_to_session(*c.server, c.session,
                       [](http_session& s) { s.stream_finish(); }))
    c.closed = true;
}

} // namespace

} // namespace detail

event_stream::event_stream(std::shared_ptr<detail::stream_channel> channel)
  : channel_(std::move(channel)) {
}

event_stream::~event_stream() = default;

void event_stream::send(std::string event, std::string data,
                        std::optional<uint64_t> id) {
  auto& c = *channel_;
  if (c.closed)
    return;
  std::lock_guard guard{c.mutex};
  if (id && c.floor && *id <= *c.floor)
    return;
  auto frame = sse_frame(event, data, id);
  if (!c.holding)
    return detail::post_bytes(c, std::move(frame));
  c.held_bytes += frame.size();
  c.held.emplace_back(id, std::move(frame));
  if (c.held_bytes <= max_held_bytes)
    return;
  // A replay that takes long while events pour in: the events kept back
  // are dropped (they are where the replay reads) and the replay is told.
  for (auto& [held_id, ignored] : c.held)
    if (held_id)
      c.discarded_up_to = std::max(c.discarded_up_to, *held_id);
  c.discarded = true;
  c.held.clear();
  c.held_bytes = 0;
}

void event_stream::hold() {
  std::lock_guard guard{channel_->mutex};
  channel_->holding = true;
}

void event_stream::replay(std::string event, std::string data, uint64_t id) {
  auto& c = *channel_;
  if (c.closed)
    return;
  std::lock_guard guard{c.mutex};
  detail::post_bytes(c, sse_frame(event, data, id));
}

bool event_stream::release(uint64_t last_replayed) {
  auto& c = *channel_;
  std::lock_guard guard{c.mutex};
  if (!c.holding)
    return true;
  if (c.discarded && c.discarded_up_to > last_replayed)
    return false;
  c.holding = false;
  c.discarded = false;
  c.floor = std::max(c.floor.value_or(0), last_replayed);
  for (auto& [id, frame] : c.held)
    if (!id || *id > last_replayed)
      detail::post_bytes(c, std::move(frame));
  c.held.clear();
  c.held_bytes = 0;
  return true;
}

void event_stream::comment(std::string text) {
  auto& c = *channel_;
  if (c.closed)
    return;
  std::string frame = ": ";
  for (auto ch : text)
    frame.push_back(ch == '\r' || ch == '\n' ? ' ' : ch);
  frame += "\n\n";
  std::lock_guard guard{c.mutex};
  detail::post_bytes(c, std::move(frame));
}

size_t event_stream::backlog() const noexcept {
  return channel_->unwritten;
}

bool event_stream::closed() const noexcept {
  return channel_->closed;
}

void event_stream::close() {
  std::lock_guard guard{channel_->mutex};
  detail::post_finish(*channel_);
}

text_stream::text_stream(std::shared_ptr<detail::stream_channel> channel)
  : channel_(std::move(channel)) {
}

text_stream::~text_stream() = default;

void text_stream::write(std::string text) {
  if (channel_->closed || text.empty())
    return;
  std::lock_guard guard{channel_->mutex};
  detail::post_bytes(*channel_, std::move(text));
}

size_t text_stream::backlog() const noexcept {
  return channel_->unwritten;
}

bool text_stream::closed() const noexcept {
  return channel_->closed;
}

void text_stream::close() {
  std::lock_guard guard{channel_->mutex};
  detail::post_finish(*channel_);
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

namespace {

/// Turns the exchange into a stream of `type`; a channel already closed
/// when the exchange was answered or its connection is gone.
std::shared_ptr<detail::stream_channel>
begin_streaming(const std::shared_ptr<detail::http_exchange>& exchange,
                detail::stream_channel::kind type, std::string content_type) {
  auto channel = std::make_shared<detail::stream_channel>(
    exchange->session, exchange->server, type, std::move(content_type));
  if (exchange->answered.exchange(true)) {
    channel->closed = true;
    return channel;
  }
  if (!detail::post_to_session(*exchange->server, exchange->session,
                               [seq = exchange->sequence, channel](
                                 detail::http_session& s) mutable {
                                 s.begin_stream(seq, std::move(channel));
                               }))
    channel->closed = true;
  return channel;
}

bool has_line_break(std::string_view x) {
  return x.find_first_of("\r\n") != std::string_view::npos;
}

} // namespace

std::shared_ptr<event_stream> responder::start_stream() {
  return std::make_shared<event_stream>(begin_streaming(
    exchange_, detail::stream_channel::kind::events, "text/event-stream"));
}

std::shared_ptr<text_stream>
responder::start_text_stream(std::string content_type) {
  if (content_type.empty() || has_line_break(content_type))
    content_type = "text/plain; charset=utf-8";
  return std::make_shared<text_stream>(begin_streaming(
    exchange_, detail::stream_channel::kind::text, std::move(content_type)));
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
  auto r = detail::compile_route(std::move(method), pattern,
                                 std::move(handler), options);
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
  if (token.empty())
    return set_authenticator({});
  set_authenticator(
    [token = std::move(token)](std::string_view given) -> std::optional<principal> {
      if (!detail::constant_time_equal(given, token))
        return std::nullopt;
      return principal{"token", contracts::role::admin};
    });
}

void http_server::set_authenticator(http_authenticator auth) {
  std::unique_lock guard{state_->routes_mutex};
  state_->auth = std::move(auth);
}

void http_server::set_session_authenticator(http_session_authenticator auth) {
  std::unique_lock guard{state_->routes_mutex};
  state_->session_auth = std::move(auth);
}

void http_server::set_work_gate(http_work_gate gate) {
  std::unique_lock guard{state_->routes_mutex};
  state_->gate = std::move(gate);
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
