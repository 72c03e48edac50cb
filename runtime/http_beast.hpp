#pragma once

// The Boost.Beast and Boost.Asio side that the node's HTTP server and client
// share: the includes (with the one warning Boost 1.74 needs silenced), the
// short namespace names both use, and the reading of a message's header
// fields into the map both APIs hand out.
//
// Internal to runtime/: public headers never include it, so Beast stays out
// of the API (http_server.hpp, http_client.hpp).

#include "runtime/http_parsing.hpp"

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

#include <map>
#include <string>
#include <string_view>
#include <utility>

namespace omniva::runtime {

/// Boost.Beast: streams, buffers, file modes and its error codes.
namespace beast = boost::beast;

/// Beast's HTTP/1.1 messages, parsers and reads and writes of them.
namespace http = boost::beast::http;

/// Boost.Asio: I/O contexts, strands, timers, buffers and socket errors.
namespace net = boost::asio;

/// TCP endpoints, sockets, acceptors and resolvers.
using tcp = net::ip::tcp;

namespace detail {

/// Returns the header fields of a request or response (`http::request` and
/// `http::response` are `http::fields`) with lowercase names; a repeated
/// field's values are joined with ", " in the order received, as
/// `http_request::headers` and `http_result::headers` promise.
inline std::map<std::string, std::string>
lowercase_fields(const http::fields& fields) {
  std::map<std::string, std::string> result;
  for (auto& field : fields) {
    auto name = lowercase({field.name_string().data(),
                           field.name_string().size()});
    auto value = std::string_view{field.value().data(), field.value().size()};
    auto [i, added] = result.try_emplace(std::move(name), value);
    if (!added) {
      i->second += ", ";
      i->second.append(value);
    }
  }
  return result;
}

} // namespace detail

} // namespace omniva::runtime
