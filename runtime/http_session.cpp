#include "runtime/http_session.hpp"

#include "runtime/http_parsing.hpp"

#include <cerrno>
#include <cstdio>
#include <chrono>
#include <cstring>
#include <exception>
#include <filesystem>
#include <limits>
#include <map>
#include <shared_mutex>
#include <string_view>
#include <system_error>
#include <unistd.h>

namespace omniva::runtime::detail {

using contracts::ec;

namespace {

/// How long a connection that is closed after an error keeps reading (and
/// discarding) what the client still sends, so that the client reads our
/// answer instead of a connection reset.
constexpr auto linger_time = std::chrono::seconds{5};

/// How many bytes of events may wait for a slow event-stream client before
/// the server gives up on it and closes the stream.
constexpr size_t max_stream_backlog = size_t{16} << 20;

bool has_line_break(std::string_view x) {
  return x.find_first_of("\r\n") != std::string_view::npos;
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

/// A route's pattern as it was given ("/api/tasks/{id}").
std::string route_pattern(const compiled_route& r) {
  std::string out;
  for (auto& seg : r.segments) {
    out += '/';
    switch (seg.type) {
      case route_segment::kind::literal:
        out += seg.text;
        break;
      case route_segment::kind::param:
        out += '{' + seg.text + '}';
        break;
      case route_segment::kind::rest:
        out += '{' + seg.text + "*}";
        break;
    }
  }
  return out.empty() ? "/" : out;
}

/// The `error.code` of an error body in the API's format; "" for another
/// body.
std::string error_code_of(std::string_view body) {
  auto doc = json::parse(body);
  if (!doc.doc)
    return {};
  auto* error = doc.doc->find("error");
  auto* code = error != nullptr && error->is_object() ? error->find("code")
                                                      : nullptr;
  return code != nullptr && code->is_string() ? code->as_string()
                                              : std::string{};
}

} // namespace

http_session::http_session(tcp::socket&& socket,
                           std::shared_ptr<http_server_state> server,
                           uint64_t id)
  : stream(std::move(socket)), server_(std::move(server)), id_(id) {
  beast::error_code ignored;
  auto ep = stream.socket().remote_endpoint(ignored);
  if (!ignored)
    remote_ = format_endpoint(ep);
}

http_session::~http_session() {
  discard_upload();
  std::lock_guard guard{server_->mutex};
  server_->sessions.erase(id_);
}

void http_session::run() {
  net::dispatch(stream.get_executor(),
                [self = shared_from_this()] { self->read_header(); });
}

void http_session::close() {
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

void http_session::deliver(uint64_t sequence, http_response response) {
  if (state_ != state::handling || sequence != sequence_)
    return;
  auto keep = std::move(self_);
  write_response(std::move(response), keep_alive_);
}

void http_session::begin_stream(uint64_t sequence,
                                std::shared_ptr<stream_channel> channel) {
  if (state_ != state::handling || sequence != sequence_) {
    channel->closed = true;
    return;
  }
  auto keep = std::move(self_);
  state_ = state::streaming;
  channel_ = std::move(channel);
  stream.expires_never();
  auto text = channel_->type == stream_channel::kind::text;
  std::string head = version_ == 10 ? "HTTP/1.0" : "HTTP/1.1";
  head += " 200 OK\r\n"
          "Server: omniva\r\n"
          "Content-Type: ";
  head += channel_->content_type;
  head += "\r\n"
          "Cache-Control: no-cache\r\n"
          "X-Accel-Buffering: no\r\n";
  if (text) {
    // The end of a text answer is its zero chunk (HTTP/1.1) or the end of
    // the connection (HTTP/1.0): either way the connection closes after it.
    if (version_ != 10)
      head += "Transfer-Encoding: chunked\r\n";
    head += "Connection: close\r\n";
  }
  head += "\r\n";
  note_answer(200, channel_->content_type, {});
  backlog_ += head.size();
  outbox_.emplace_back(std::move(head), 0);
  watch_disconnect();
  write_next();
}

void http_session::stream_enqueue(std::string bytes) {
  auto counted = bytes.size();
  if (state_ != state::streaming || finishing_) {
    if (channel_)
      channel_->unwritten -= counted;
    return;
  }
  if (channel_->type == stream_channel::kind::text && version_ != 10) {
    char size[20];
    auto n = std::snprintf(size, sizeof size, "%zx\r\n", bytes.size());
    bytes.insert(0, size, static_cast<size_t>(n));
    bytes += "\r\n";
  }
  backlog_ += bytes.size();
  if (backlog_ > max_stream_backlog)
    return close();
  outbox_.emplace_back(std::move(bytes), counted);
  if (!writing_)
    write_next();
}

void http_session::stream_finish() {
  if (state_ != state::streaming || finishing_)
    return;
  if (channel_->type == stream_channel::kind::text && version_ != 10) {
    std::string last = "0\r\n\r\n";
    backlog_ += last.size();
    outbox_.emplace_back(std::move(last), 0);
  }
  finishing_ = true;
  if (!writing_)
    write_next();
}

namespace {

/// Accepts a request without an `Authorization` field by its session
/// cookie, when the server has a session authenticator: sets `req.who` and
/// `req.session`.
bool authorized_by_cookie(http_server_state& server, http_request& req) {
  auto c = req.headers.find("cookie");
  if (c == req.headers.end())
    return false;
  auto id = cookie_value(c->second, session_cookie_name);
  if (id.empty())
    return false;
  http_session_authenticator auth;
  {
    std::shared_lock guard{server.routes_mutex};
    auth = server.session_auth;
  }
  if (!auth)
    return false;
  std::optional<principal> who;
  try {
    who = auth(id);
  } catch (...) {
    who.reset();
  }
  if (!who)
    return false;
  req.who = std::move(*who);
  req.session = std::move(id);
  return true;
}

/// An `Origin` field as a message may quote it: printable ASCII, at most
/// 100 characters.
std::string printable_origin(std::string_view origin) {
  std::string out;
  for (auto c : origin.substr(0, 100))
    out += c >= 0x20 && c < 0x7f ? c : '?';
  return out;
}

} // namespace

// -- reading -------------------------------------------------------------------

void http_session::read_header() {
  if (state_ == state::closed)
    return;
  state_ = state::reading;
  // What a refusal of the next request reports must not be this one's.
  request_ = http_request{};
  route_.reset();
  method_.clear();
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

void http_session::on_header(beast::error_code err) {
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
  request_ = http_request{};
  request_.method = std::string{head.method_string()};
  method_ = request_.method;
  if (version_ != 10 && version_ != 11)
    return reject(505, ec::invalid_argument,
                  "Only HTTP/1.0 and HTTP/1.1 are supported.");
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
  request_.headers = lowercase_fields(head);
  if (!match_route())
    return;
  if (!authorized())
    return reject(401, ec::unauthorized,
                  "This request needs a valid 'Authorization: Bearer "
                  "<token>' header or session cookie (the token or session "
                  "given is unknown, revoked, ended or expired, or none was "
                  "given).",
                  {{"WWW-Authenticate", "Bearer"}});
  if (!request_.session.empty() && request_.method != "GET"
      && request_.method != "HEAD" && !same_origin(request_))
    return reject(403, ec::forbidden,
                  "This request came with the session cookie from another "
                  "origin ('"
                    + printable_origin(request_.headers.at("origin"))
                    + "'): a page of another site cannot act for the "
                      "dashboard's session. Send it from the dashboard, or "
                      "with an 'Authorization: Bearer <token>' header.");
  if (!route_->options.is_public) {
    auto need = route_->options.role.value_or(
      request_.method == "GET" || request_.method == "HEAD"
        ? contracts::role::viewer
        : contracts::role::operator_);
    if (!contracts::allows(request_.who.role, need))
      return reject(403, ec::forbidden,
                    "This request needs a token with the role '"
                      + std::string{to_string(need)} + "'; token '"
                      + request_.who.name + "' has the role '"
                      + std::string{to_string(request_.who.role)} + "'.");
  }
  if (route_->options.new_work) {
    http_work_gate gate;
    {
      std::shared_lock guard{server_->routes_mutex};
      gate = server_->gate;
    }
    if (gate) {
      std::optional<http_response> refusal;
      try {
        refusal = gate();
      } catch (...) {
        refusal.reset();
      }
      if (refusal)
        return reject(std::move(*refusal));
    }
  }
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

bool http_session::match_route() {
  auto segments = decode_path(request_.path);
  if (!segments) {
    reject(400, ec::invalid_argument,
           "The path has a malformed percent escape.");
    return false;
  }
  std::vector<std::shared_ptr<const compiled_route>> routes;
  {
    std::shared_lock guard{server_->routes_mutex};
    routes = server_->routes;
  }
  auto choice = choose_route(routes, request_.method, *segments);
  if (choice.route) {
    route_ = std::move(choice.route);
    request_.params = std::move(choice.params);
    return true;
  }
  if (choice.allowed.empty()) {
    reject(404, ec::not_found, "There is no endpoint at " + request_.path
                                 + ".");
    return false;
  }
  std::string list;
  for (auto& method : choice.allowed) {
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

bool http_session::authorized() {
  if (route_->options.is_public) {
    request_.who = principal{"", contracts::role::viewer};
    return true;
  }
  http_authenticator auth;
  {
    std::shared_lock guard{server_->routes_mutex};
    auth = server_->auth;
  }
  if (!auth) {
    request_.who = principal{};
    return true;
  }
  auto i = request_.headers.find("authorization");
  if (i == request_.headers.end())
    return authorized_by_cookie(*server_, request_);
  auto given = bearer_token(i->second);
  if (given.empty())
    return false;
  std::optional<principal> who;
  try {
    who = auth(given);
  } catch (...) {
    who.reset();
  }
  if (!who)
    return false;
  request_.who = std::move(*who);
  return true;
}

template <class Parser>
void http_session::read_body(Parser& parser) {
  stream.expires_after(config().idle_timeout);
  http::async_read_some(stream, buffer_, parser,
                        [self = shared_from_this(),
                         &parser](beast::error_code err, size_t) {
                          self->on_body(parser, err);
                        });
}

template <class Parser>
void http_session::on_body(Parser& parser, beast::error_code err) {
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
    if (err == beast::errc::no_space_on_device)
      return reject(507, ec::insufficient_storage,
                    "Cannot store the request body: the disk of the node's "
                    "upload folder is full. Free space on it, then send the "
                    "request again.");
    return reject(500, ec::io_error,
                  "Cannot store the request body: " + err.message() + ".");
  }
  if (!parser.is_done())
    return read_body(parser);
  dispatch();
}

void http_session::start_body() {
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

// -- handling ------------------------------------------------------------------

void http_session::dispatch() {
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

// -- writing -------------------------------------------------------------------

void http_session::note_answer(unsigned status, std::string_view content_type,
                               std::string_view body) {
  auto& hook = config().on_answer;
  if (!hook)
    return;
  try {
    http_answer a;
    a.method = method_;
    if (route_)
      a.route = route_pattern(*route_);
    a.status = status;
    if (status >= 400 && content_type.starts_with("application/json"))
      a.code = error_code_of(body);
    a.remote = remote_;
    hook(a);
  } catch (...) {
    // The owner's log must not break the answer.
  }
}


void http_session::reject(
  unsigned status, ec code, std::string message,
  std::vector<std::pair<std::string, std::string>> headers) {
  auto response = error_response(status, code, std::move(message));
  response.headers = std::move(headers);
  reject(std::move(response));
}

void http_session::reject(http_response response) {
  // Unless the head was read completely and there is no body, bytes of
  // this request may still be on their way.
  auto body_pending = !header_parser_ || !header_parser_->is_done();
  write_response(std::move(response), keep_alive_ && !body_pending);
}

void http_session::write_response(http_response response, bool keep_alive) {
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
  note_answer(status, response.content_type, response.body);
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

void http_session::on_write(beast::error_code err, bool keep_alive) {
  if (state_ == state::closed)
    return;
  if (err)
    return close();
  if (keep_alive)
    return read_header();
  linger();
}

void http_session::linger() {
  state_ = state::lingering;
  beast::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
  stream.expires_after(linger_time);
  drain();
}

void http_session::drain() {
  stream.async_read_some(net::buffer(scratch_),
                         [self = shared_from_this()](beast::error_code err,
                                                     size_t) {
                           if (err || self->state_ != state::lingering)
                             return self->close();
                           self->drain();
                         });
}

// -- event streams -------------------------------------------------------------

void http_session::watch_disconnect() {
  stream.async_read_some(net::buffer(scratch_),
                         [self = shared_from_this()](beast::error_code err,
                                                     size_t) {
                           if (self->stream_goes_on(err))
                             self->watch_disconnect();
                         });
}

bool http_session::stream_goes_on(beast::error_code err) {
  if (state_ != state::streaming)
    return false;
  if (err) {
    close();
    return false;
  }
  return true;
}

void http_session::write_next() {
  if (state_ != state::streaming)
    return;
  if (outbox_.empty()) {
    writing_ = false;
    if (finishing_)
      close();
    return;
  }
  writing_ = true;
  net::async_write(stream, net::buffer(outbox_.front().first),
                   [self = shared_from_this()](beast::error_code err,
                                               size_t) {
                     if (!self->stream_goes_on(err))
                       return;
                     auto& [frame, counted] = self->outbox_.front();
                     self->backlog_ -= frame.size();
                     self->channel_->unwritten -= counted;
                     self->outbox_.pop_front();
                     self->write_next();
                   });
}

void http_session::discard_upload() {
  if (file_parser_) {
    file_parser_->get().body().close();
    file_parser_.reset();
  }
  remove_file(upload_path_);
  upload_path_.clear();
}

// -- http_exchange -------------------------------------------------------------

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

} // namespace omniva::runtime::detail
