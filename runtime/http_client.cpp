#include "runtime/http_client.hpp"

#include "contracts/uri.hpp"

#include "runtime/http_beast.hpp"
#include "runtime/http_parsing.hpp"

#include <cstdint>
#include <limits>
#include <optional>
#include <utility>

namespace omniva::runtime {

namespace {

/// The largest response head the client reads.
constexpr uint32_t max_response_head = 64 * 1024;

std::string describe_timeout(std::chrono::milliseconds timeout) {
  if (timeout.count() % 1000 == 0)
    return std::to_string(timeout.count() / 1000) + " s";
  return std::to_string(timeout.count()) + " ms";
}

/// The parts of a base URL.
struct parsed_url {
  std::string host;
  std::string port;
};

/// Parses "http://host[:port][/]" with the RFC 3986 parser of
/// contracts/uri.hpp; returns why not in `why`.
std::optional<parsed_url> parse_base_url(std::string_view url,
                                         std::string& why) {
  auto fail = [&](std::string_view problem) {
    why = std::string{problem} + std::string{url};
    return std::nullopt;
  };
  auto ref = contracts::uri_reference::parse(url);
  auto scheme = detail::lowercase(ref.scheme.value_or(""));
  if (scheme == "https")
    return fail("HTTPS is not supported, use http://: ");
  if (scheme != "http" || !ref.authority)
    return fail("not an http:// URL: ");
  if ((!ref.path.empty() && ref.path != "/") || ref.query || ref.fragment)
    return fail("a base URL has no path: ");
  auto authority = contracts::uri_authority::parse(*ref.authority);
  if (!authority)
    return fail(ref.authority->starts_with('[') ? "malformed IPv6 address in URL: "
                                                : "malformed URL: ");
  if (authority->userinfo)
    return fail("a base URL has no user name: ");
  if (authority->host.empty())
    return fail("the URL has no host: ");
  parsed_url result;
  result.host = std::move(authority->host);
  if (!authority->port || authority->port->empty()) {
    result.port = "80";
    return result;
  }
  unsigned value = 0;
  for (auto c : *authority->port) {
    if (c < '0' || c > '9' || value > 65535)
      return fail("malformed port in URL: ");
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  if (value == 0 || value > 65535)
    return fail("malformed port in URL: ");
  result.port = std::to_string(value);
  return result;
}

http_result failure(std::string message) {
  http_result result;
  result.error = std::move(message);
  return result;
}

} // namespace

// -- http_result ---------------------------------------------------------------

std::optional<json::value> http_result::json() const {
  auto parsed = json::parse(body);
  if (!parsed)
    return std::nullopt;
  return std::move(parsed.doc);
}

std::string http_result::reason() const {
  if (!error.empty())
    return error;
  if (ok())
    return {};
  if (auto doc = json()) {
    auto* err = doc->find("error");
    auto* code = err != nullptr ? err->find("code") : nullptr;
    auto* message = err != nullptr ? err->find("message") : nullptr;
    if (code != nullptr && code->is_string() && message != nullptr
        && message->is_string()) {
      auto result = code->as_string() + ": " + message->as_string();
      auto* pointer = err->find("pointer");
      if (pointer != nullptr && pointer->is_string()
          && !pointer->as_string().empty())
        result += " (at " + pointer->as_string() + ")";
      return result;
    }
  }
  auto result = "HTTP " + std::to_string(status);
  if (!body.empty()) {
    auto line = std::string_view{body}.substr(0, body.find('\n'));
    if (line.size() > 200)
      line = line.substr(0, 200);
    result += ": ";
    result.append(line);
  }
  return result;
}

std::string url_encode(std::string_view text) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string result;
  result.reserve(text.size());
  for (auto ch : text) {
    auto c = static_cast<unsigned char>(ch);
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')
        || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_'
        || c == '~') {
      result.push_back(ch);
    } else {
      result.push_back('%');
      result.push_back(hex[c >> 4]);
      result.push_back(hex[c & 15]);
    }
  }
  return result;
}

std::string encode_query(const std::map<std::string, std::string>& query) {
  std::string result;
  for (auto& [key, value] : query) {
    result += result.empty() ? '?' : '&';
    result += url_encode(key);
    result += '=';
    result += url_encode(value);
  }
  return result;
}

// -- http_client ---------------------------------------------------------------

struct http_client::impl {
  impl(std::string url, std::string bearer, std::chrono::milliseconds limit)
    : base_url(std::move(url)), token(std::move(bearer)), timeout(limit) {
    if (auto parsed = parse_base_url(base_url, url_error)) {
      host = std::move(parsed->host);
      port = std::move(parsed->port);
      host_field = host.find(':') == std::string::npos ? host
                                                       : "[" + host + "]";
      if (port != "80")
        host_field += ":" + port;
    }
  }

  std::string base_url;
  std::string token;
  std::chrono::milliseconds timeout;
  /// Set when `base_url` is malformed: every request fails with it.
  std::string url_error;
  std::string host;
  std::string port;
  /// The value of the Host field.
  std::string host_field;
  net::io_context ioc;
  /// The connection; empty when closed.
  std::optional<beast::tcp_stream> stream;
  beast::flat_buffer buffer;
  size_t opened = 0;

  /// Runs one asynchronous operation to its end; the stream's timeout
  /// bounds it.
  template <class Initiate>
  beast::error_code run(Initiate&& initiate) {
    beast::error_code result = net::error::operation_aborted;
    initiate([&result](beast::error_code err, auto&&...) { result = err; });
    ioc.restart();
    ioc.run();
    return result;
  }

  void close() {
    if (stream) {
      beast::error_code ignored;
      stream->socket().shutdown(tcp::socket::shutdown_both, ignored);
      stream->close();
      stream.reset();
    }
    buffer.clear();
    // Drops what the closed socket left queued.
    ioc.restart();
    ioc.run();
  }

  /// Opens the connection; returns why not.
  std::string connect() {
    tcp::resolver resolver{ioc};
    tcp::resolver::results_type endpoints;
    beast::error_code err = net::error::operation_aborted;
    resolver.async_resolve(host, port,
                           [&](beast::error_code e,
                               tcp::resolver::results_type r) {
                             err = e;
                             endpoints = std::move(r);
                           });
    ioc.restart();
    ioc.run();
    if (err)
      return "cannot resolve the host of " + base_url + ": " + err.message();
    stream.emplace(ioc);
    stream->expires_after(timeout);
    err = run([&](auto handler) {
      stream->async_connect(endpoints, std::move(handler));
    });
    if (err) {
      stream.reset();
      if (err == beast::error::timeout)
        return "cannot connect to " + base_url + ": no answer within "
               + describe_timeout(timeout);
      return "cannot connect to " + base_url + ": " + err.message();
    }
    beast::error_code ignored;
    stream->socket().set_option(tcp::no_delay{true}, ignored);
    ++opened;
    return {};
  }

  std::string transfer_error(const beast::error_code& err) const {
    if (err == beast::error::timeout)
      return "no answer from " + base_url + " within "
             + describe_timeout(timeout);
    return "the connection to " + base_url + " failed: " + err.message();
  }

  /// Arms the stream's timer for one network step: `idle` from now, at the
  /// latest `until`.
  void arm(std::chrono::milliseconds idle,
           std::chrono::steady_clock::time_point until) {
    auto now = std::chrono::steady_clock::now();
    // `until` may be time_point::max(): compare before adding.
    stream->expires_at(until - now <= idle ? until : now + idle);
  }

  /// Reads a whole response into `result`; returns the error that kept it
  /// from arriving (`got_some`: whether any byte of it did).
  beast::error_code read_whole(http_result& result, bool& got_some) {
    http::response_parser<http::string_body> parser;
    parser.header_limit(max_response_head);
    parser.body_limit(std::numeric_limits<uint64_t>::max());
    beast::error_code err;
    while (!parser.is_done()) {
      stream->expires_after(timeout);
      err = run([&](auto handler) {
        http::async_read_some(*stream, buffer, parser, std::move(handler));
      });
      if (err)
        break;
    }
    got_some = parser.got_some();
    if (err)
      return err;
    auto& res = parser.get();
    result.status = res.result_int();
    result.headers = detail::lowercase_fields(res);
    if (auto i = result.headers.find("content-type"); i != result.headers.end())
      result.content_type = i->second;
    auto keep = res.keep_alive();
    result.body = std::move(res.body());
    if (!keep)
      close();
    return {};
  }

  /// Reads a response whose 2xx body goes to `sink` as it arrives (see
  /// `http_client::stream`). Returns the error that kept its head from
  /// arriving; a failure after the head is `result.error`.
  beast::error_code read_streamed(http_result& result, bool& got_some,
                                  const body_sink& sink,
                                  const head_sink& on_head,
                                  std::chrono::milliseconds idle,
                                  std::chrono::steady_clock::time_point until) {
    http::response_parser<http::buffer_body> parser;
    parser.header_limit(max_response_head);
    parser.body_limit(std::numeric_limits<uint64_t>::max());
    beast::error_code err;
    arm(idle, until);
    err = run([&](auto handler) {
      http::async_read_header(*stream, buffer, parser, std::move(handler));
    });
    got_some = parser.got_some();
    if (err)
      return err;
    auto& head = parser.get();
    result.status = head.result_int();
    result.headers = detail::lowercase_fields(head);
    if (auto i = result.headers.find("content-type"); i != result.headers.end())
      result.content_type = i->second;
    auto failed = [&](const beast::error_code& e) {
      result.error = transfer_error(e);
      close();
      return beast::error_code{};
    };
    if (result.status < 200 || result.status >= 300) {
      // An error answer is short: collected whole, for `reason()`.
      http::response_parser<http::string_body> whole{std::move(parser)};
      while (!whole.is_done()) {
        arm(timeout, until);
        err = run([&](auto handler) {
          http::async_read_some(*stream, buffer, whole, std::move(handler));
        });
        if (err)
          return failed(err);
      }
      result.body = std::move(whole.get().body());
      if (!whole.get().keep_alive())
        close();
      return {};
    }
    if (on_head && !on_head(result)) {
      close();
      return {};
    }
    char piece[16 * 1024];
    while (!parser.is_done()) {
      parser.get().body().data = piece;
      parser.get().body().size = sizeof piece;
      arm(idle, until);
      err = run([&](auto handler) {
        http::async_read_some(*stream, buffer, parser, std::move(handler));
      });
      if (err == http::error::need_buffer)
        err = {};
      auto n = sizeof piece - parser.get().body().size;
      if (n > 0 && !sink(std::string_view{piece, n})) {
        close();
        return {};
      }
      if (err)
        return failed(err);
    }
    if (!parser.get().keep_alive())
      close();
    return {};
  }

  /// Sends the request `make` builds and reads the response with `read`
  /// (`read_whole` or `read_streamed`). `make` returns false (with the
  /// error in its result) when it cannot build one; `sent` is called after
  /// each piece of the request went out.
  template <class Body, class Make, class Read, class Sent>
  http_result round_trip(Make&& make, Read&& read, Sent&& sent) {
    if (!url_error.empty())
      return failure(url_error);
    for (int attempt = 0;; ++attempt) {
      http::request<Body> req;
      http_result bad;
      if (!make(req, bad))
        return bad;
      req.version(11);
      req.set(http::field::host, host_field);
      req.set(http::field::user_agent, "omniva");
      if (!token.empty())
        req.set(http::field::authorization, "Bearer " + token);
      req.keep_alive(true);
      req.prepare_payload();
      auto reused = stream.has_value();
      if (!stream)
        if (auto why = connect(); !why.empty())
          return failure(std::move(why));
      // Send, a piece at a time so that the timeout means "no progress".
      http::request_serializer<Body> serializer{req};
      beast::error_code write_err;
      while (!serializer.is_done()) {
        stream->expires_after(timeout);
        write_err = run([&](auto handler) {
          http::async_write_some(*stream, serializer, std::move(handler));
        });
        if (write_err)
          break;
        sent(req);
      }
      // Read the answer, also after a failed send: a server may answer (413,
      // 401) before it has read the whole body.
      http_result result;
      bool got_some = false;
      beast::error_code read_err = write_err;
      if (stream->socket().is_open())
        read_err = read(result, got_some);
      if (!read_err)
        return result;
      close();
      // A kept-alive connection the server closed meanwhile: once more, on
      // a new connection.
      if (reused && attempt == 0 && !got_some
          && read_err != beast::error::timeout
          && write_err != beast::error::timeout)
        continue;
      return failure(transfer_error(write_err ? write_err : read_err));
    }
  }

  /// `round_trip` reading the whole answer, with nothing to report while
  /// sending.
  template <class Body, class Make>
  http_result round_trip(Make&& make) {
    return round_trip<Body>(
      std::forward<Make>(make),
      [this](http_result& result, bool& got_some) {
        return read_whole(result, got_some);
      },
      [](http::request<Body>&) {});
  }
};

http_client::http_client(std::string base_url, std::string token,
                         std::chrono::milliseconds timeout)
  : impl_(std::make_unique<impl>(std::move(base_url), std::move(token),
                                 timeout)) {
}

http_client::~http_client() {
  if (impl_)
    impl_->close();
}

http_client::http_client(http_client&&) noexcept = default;

http_client& http_client::operator=(http_client&&) noexcept = default;

http_result http_client::request(std::string method, std::string target,
                                 std::string body, std::string content_type,
                                 const std::map<std::string, std::string>& fields) {
  try {
    return impl_->round_trip<http::string_body>(
      [&](http::request<http::string_body>& req, http_result&) {
        req.method_string(method);
        req.target(target);
        for (auto& [name, value] : fields)
          req.set(name, value);
        if (!body.empty()) {
          req.set(http::field::content_type, content_type);
          req.body() = body;
        }
        return true;
      });
  } catch (const std::exception& e) {
    impl_->close();
    return failure("request to " + impl_->base_url + " failed: " + e.what());
  }
}

http_result
http_client::upload_file(std::string target, std::string path,
                         const std::map<std::string, std::string>& query,
                         std::string content_type,
                         const upload_progress& progress) {
  target += encode_query(query);
  try {
    using request_type = http::request<http::file_body>;
    return impl_->round_trip<http::file_body>(
      [&](http::request<http::file_body>& req, http_result& bad) {
        beast::error_code err;
        req.body().open(path.c_str(), beast::file_mode::scan, err);
        if (err) {
          bad = failure("cannot read " + path + ": " + err.message());
          return false;
        }
        req.method(http::verb::post);
        req.target(target);
        req.set(http::field::content_type, content_type);
        return true;
      },
      [this](http_result& result, bool& got_some) {
        return impl_->read_whole(result, got_some);
      },
      [&](request_type& req) {
        if (!progress)
          return;
        // The file body reads ahead by one small buffer: its position is
        // what went out, within a few KiB.
        beast::error_code err;
        auto& file = req.body().file();
        auto total = file.size(err);
        auto at = file.pos(err);
        if (!err)
          progress(at, total);
      });
  } catch (const std::exception& e) {
    impl_->close();
    return failure("upload to " + impl_->base_url + " failed: " + e.what());
  }
}

http_result http_client::stream(std::string method, std::string target,
                                const body_sink& sink,
                                std::chrono::milliseconds idle,
                                std::chrono::steady_clock::time_point until,
                                const head_sink& on_head) {
  try {
    return impl_->round_trip<http::empty_body>(
      [&](http::request<http::empty_body>& req, http_result&) {
        req.method_string(method);
        req.target(target);
        return true;
      },
      [&](http_result& result, bool& got_some) {
        return impl_->read_streamed(result, got_some, sink, on_head, idle,
                                    until);
      },
      [](http::request<http::empty_body>&) {});
  } catch (const std::exception& e) {
    impl_->close();
    return failure("request to " + impl_->base_url + " failed: " + e.what());
  }
}

const std::string& http_client::base_url() const noexcept {
  return impl_->base_url;
}

size_t http_client::connections_opened() const noexcept {
  return impl_->opened;
}

void http_client::close() {
  impl_->close();
}

} // namespace omniva::runtime
