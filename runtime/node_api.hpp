#pragma once

// The node's HTTP API (docs/http-api.md): routes that read the database
// directly and ask Zenith (through the asset ledger for file work) for every
// change. Also the event hub behind `GET /api/events`.

#include "actors/interfaces.hpp"
#include "runtime/http_server.hpp"
#include "storage/reader.hpp"

#include <caf/fwd.hpp>

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace omniva::runtime {

/// Fans committed events out to Server-Sent-Event streams and wakes waiters.
/// Thread-safe.
class event_hub {
public:
  /// Sends `{"kind","id"}` to every open stream; wakes `wait_for_change`.
  void publish(const std::string& kind, const std::string& packet_id);

  /// Adds a stream; closed streams are dropped on the next publish.
  void add(std::shared_ptr<event_stream> stream);

  /// Closes every stream (node stop).
  void close_all();

  /// Blocks until the next publish or the timeout.
  void wait_for_change(std::chrono::milliseconds timeout);

private:
  std::mutex mtx_;
  std::condition_variable cv_;
  uint64_t generation_ = 0;
  std::vector<std::shared_ptr<event_stream>> streams_;
};

/// What the routes need.
struct api_context {
  caf::actor_system& system;
  actors::zenith_actor zenith;
  actors::ledger_actor ledger;
  std::shared_ptr<const storage::reader> reader;
  std::shared_ptr<event_hub> events;
  std::string data_dir;
  std::vector<std::string> allowed_roots;
};

/// Installs every route of the API on `server`.
void install_routes(http_server& server, const api_context& ctx);

/// Reads and checks `<dir>/module.json` (the registry's part of
/// registration); the entry remembers `dir` as the module's working folder.
caf::expected<contracts::module_entry> load_module_entry(const std::string& dir);

/// Checks a module contract given as text (HTTP registration): no folder.
caf::expected<contracts::module_entry> parse_module_entry(const std::string& text,
                                                          const std::string& dir);

/// The HTTP status for an error code (404 not_found, 409 asset_in_use, ...).
unsigned http_status(contracts::ec code) noexcept;

} // namespace omniva::runtime
