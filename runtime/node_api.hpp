#pragma once

// The node's HTTP API (docs/http-api.md): routes that read the database
// directly and ask Zenith (through the asset ledger for file work, through
// the registry for modules, schemas and policies) for every change; each
// noun's routes live in a file of their own (runtime/api_*.cpp, sharing
// runtime/api_routes.hpp). Also the event hub behind `GET /api/events`.

#include "actors/interfaces.hpp"
#include "contracts/registry_store.hpp"
#include "runtime/http_server.hpp"
#include "storage/reader.hpp"

#include <caf/fwd.hpp>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace omniva::runtime {

class disk_guard;
class stats_history;
class creation_index;
class session_store;
class token_store;

/// Fans committed events out to Server-Sent-Event streams and wakes waiters.
/// Thread-safe.
class event_hub {
public:
  /// Called with the events of each commit, on Zenith's thread, under the
  /// hub's lock: must be cheap, must not throw, and must not call into the
  /// hub or the node (unlisten, wait, submit, metrics), which would deadlock.
  using listener = std::function<void(const std::vector<contracts::committed_event>&)>;

  /// Sends `{"kind","id","subject"}` for each event to every open stream,
  /// hands the events to every listener and wakes `wait_for_change`.
  void publish(const std::vector<contracts::committed_event>& events);

  /// Adds a stream; closed streams are dropped on the next publish.
  void add(std::shared_ptr<event_stream> stream);

  /// Adds a listener; returns its handle for `unlisten`.
  uint64_t listen(listener f);

  /// Removes a listener; once this returns it is no longer called.
  void unlisten(uint64_t handle);

  /// Starts sending every open stream an SSE comment each `period` while no
  /// event went out, so that proxies keep a quiet stream open and a client
  /// that went away is noticed; stops with `close_all`.
  void keep_alive(std::chrono::milliseconds period);

  /// Closes every stream (node stop).
  void close_all();

  ~event_hub();

  /// Blocks until the next publish or the timeout.
  void wait_for_change(std::chrono::milliseconds timeout);

private:
  /// Drops the streams that have ended; under `mtx_`.
  void prune();

  std::mutex mtx_;
  std::condition_variable cv_;
  uint64_t generation_ = 0;
  std::vector<std::shared_ptr<event_stream>> streams_;
  uint64_t next_listener_ = 0;
  std::vector<std::pair<uint64_t, listener>> listeners_;
  bool closing_ = false;
  std::thread keep_alive_;
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
  /// Module, schema and folder registrations go through the registry.
  actors::registry_actor registry;
  /// The registered schemas and policies (what Zenith committed).
  std::shared_ptr<const contracts::registry_store> registry_store;
  /// The free space of the data folder against its reserve (health,
  /// metrics); null: not watched.
  std::shared_ptr<disk_guard> disk;
  /// The tokens the server accepts (runtime/token_store.hpp): the token
  /// routes refresh it once Zenith answered; null: tokens are not checked.
  std::shared_ptr<token_store> tokens;
  /// The dashboard's browser sessions (runtime/session_store.hpp), standing
  /// for tokens of `tokens`; null: none kept.
  std::shared_ptr<session_store> sessions;
  /// The dashboard's folder (node_options::web_dir); empty: none served.
  std::string web_dir;
  /// The node's worker pools as configured (`GET /api/pools`).
  std::vector<contracts::pool_spec> pools;
  /// The node's sampled statistics (`GET /api/stats`); null: not sampled.
  std::shared_ptr<const stats_history> stats;
  /// The tasks' creation order in memory (`GET /api/tasks` without
  /// filters); null: pages scan the table.
  std::shared_ptr<creation_index> task_order;
};

/// Installs every route of the API on `server`.
void install_routes(http_server& server, const api_context& ctx);

/// Checks a module contract given as text, schema ids for syntax only (the
/// registry checks them against the registered schemas); the entry
/// remembers `dir` as the module's working folder.
caf::expected<contracts::module_entry> parse_module_entry(const std::string& text,
                                                          const std::string& dir);

/// The HTTP status for an error code (404 not_found, 409 asset_in_use, ...).
unsigned http_status(contracts::ec code) noexcept;

} // namespace omniva::runtime
