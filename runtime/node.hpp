#pragma once

// A node: the actor system, the database, Zenith, the worker pools, the
// asset ledger, the registry's module folders and the HTTP API, wired
// together. `omniva serve` runs one; `omniva bench tasks` embeds one.

#include "contracts/eclipse.hpp"
#include "contracts/lattice.hpp"
#include "contracts/defaults.hpp"
#include "contracts/faults.hpp"
#include "contracts/node_messages.hpp"
#include "contracts/retention.hpp"

#include <caf/expected.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace omniva::runtime {

/// The dashboard folder the build knows of (the source tree's `web/`).
std::string default_web_dir();

/// Everything a node is started with. Defaults are those of
/// contracts/defaults.hpp (documented in config/omniva.conf).
struct node_options {
  /// The data folder: database, blobs, outputs, token. Default:
  /// `defaults::node::data_dir` (var/omniva).
  std::string data_dir{defaults::node::data_dir};
  /// Where the HTTP API listens; port 0 picks a free port. Default:
  /// `defaults::node::http_host`:`http_port` (127.0.0.1:8080).
  std::string http_host{defaults::node::http_host};
  /// The HTTP API's port (see `http_host`).
  uint16_t http_port = defaults::node::http_port;
  /// Whether to serve HTTP at all (an embedded node for benchmarks does not).
  bool serve_http = true;
  /// Folders with modules (each module a sub-folder holding module.json),
  /// schemas (`schemas/<name>@<N>.json`) and policies
  /// (`policies/<name>@<N>.json`), loaded by the registry at start and on
  /// `POST /api/modules/rescan`.
  std::vector<std::string> module_dirs;
  /// Worker pools; empty: one pool "default" sized to this machine.
  std::vector<contracts::pool_spec> pools;
  /// Run every task through the mock adapter. Default: false.
  bool force_mock = defaults::node::force_mock;
  /// Folders whose files may be registered by path; empty: the working
  /// directory and the data folder.
  std::vector<std::string> allowed_roots;
  /// Zenith's control cycle. Default: 30 s.
  std::chrono::milliseconds control_cycle
    = defaults::scheduling::control_cycle;
  /// How long an event stream (`GET /api/events`) may stay quiet before it
  /// gets an SSE comment (a keep-alive). Default: 15 s.
  std::chrono::milliseconds sse_keep_alive = defaults::http::sse_keep_alive;
  /// How often a worker running a module sends Zenith a heartbeat.
  /// Default: 5 s.
  std::chrono::milliseconds heartbeat_interval
    = defaults::scheduling::heartbeat_interval;
  /// How long a RUNNING attempt may go without one before the control
  /// cycle runs it again as a new attempt. Default: 60 s.
  std::chrono::milliseconds heartbeat_timeout
    = defaults::scheduling::heartbeat_timeout;
  /// Eclipse's judgement: breaker threshold and cool-down, poison after
  /// how many lost attempts, the jitter's seed (docs/engines.md).
  omniva::eclipse::settings eclipse;
  /// Lattice's routing: one priority level per `ageing` of waiting.
  omniva::lattice::settings lattice;
  /// Whether commits wait for the disk (fsync). Default: true.
  bool sync = defaults::node::sync;
  /// How long Zenith remembers an idempotency key after its task was
  /// created. Default: 24 h.
  std::chrono::milliseconds idempotency_window
    = defaults::scheduling::idempotency_window;
  /// How often Zenith has Paradox audit the state and the lineage (0: only
  /// on demand). Default: 1 h.
  std::chrono::milliseconds audit_interval
    = defaults::scheduling::audit_interval;
  /// Worker threads of CAF's scheduler (0: one per core). Default: 0.
  size_t scheduler_threads = defaults::node::scheduler_threads;
  /// What the retention passes keep and how often they run (the janitor,
  /// actors/janitor.hpp): losing attempts 7 days, task folders 365 days,
  /// unreferenced blobs 1 h, a pass every hour. Defaults:
  /// `defaults::retention`.
  contracts::retention_policy retention;
  /// The pause after a webhook delivery's first failure, doubled after each
  /// further one (runtime/webhooks.hpp). Default: 1 s.
  std::chrono::milliseconds webhook_retry_initial
    = defaults::webhooks::retry_initial;
  /// The longest pause between two tries of a webhook delivery. Default:
  /// 5 min.
  std::chrono::milliseconds webhook_retry_max = defaults::webhooks::retry_max;
  /// How long a webhook delivery may go without progress. Default: 10 s.
  std::chrono::milliseconds webhook_timeout = defaults::webhooks::timeout;
  /// The free space the data folder's file system keeps: below it the HTTP
  /// API refuses new work with 507 `insufficient_storage`
  /// (runtime/disk_guard.hpp); 0: no reserve. Default: 1 GiB.
  uint64_t disk_reserve = defaults::node::disk_reserve;
  /// How often the free space is read (also before each admission).
  /// Default: 2 s.
  std::chrono::milliseconds disk_check_interval
    = defaults::node::disk_check_interval;
  /// Faults the worker pools inject (contracts/faults.hpp, `omniva serve
  /// --faults FILE`): for tests and simulations only; the node warns at
  /// start that it injects them. Default: none.
  std::shared_ptr<const contracts::fault_plan> faults;
  /// The dashboard's folder (index.html, app.js, ... and node_modules/ with
  /// its libraries), served at `/`; empty: no dashboard. Default: the
  /// source tree's `web/` (`OMNIVA_WEB_DIR`, set by the build).
  std::string web_dir{default_web_dir()};
  /// How often the node samples its counters for `GET /api/stats`
  /// (runtime/stats_history.hpp); only a node serving HTTP samples.
  /// Default: 1 s.
  std::chrono::milliseconds stats_interval = defaults::node::stats_interval;
  /// How many of the latest samples it keeps. Default: 3600.
  size_t stats_points = defaults::node::stats_points;
};

/// Reads "host:port".
bool parse_endpoint(const std::string& text, std::string& host, uint16_t& port);

/// The default pool: all cores, all memory, one worker per core.
contracts::pool_spec default_pool();

class node;

/// One thread's line to a node's Zenith, for many submissions: the blocking
/// actor that waits for answers is made once, not per call. Use it from one
/// thread at a time; destroy it before the node stops (it is an actor of the
/// node's actor system, which waits for it).
class node_session {
public:
  ~node_session();
  node_session(node_session&&) noexcept;
  node_session& operator=(node_session&&) noexcept;

  /// Submits a task request and waits for Zenith's answer.
  contracts::submit_result submit(const contracts::task_request& req);

private:
  friend class node;
  struct impl;
  explicit node_session(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

/// A running node. It writes the node's log (contracts/node_log.hpp) of
/// failed and re-queued attempts and operator actions from its committed
/// events, and of refused HTTP requests from its server's answers.
class node {
public:
  /// Starts a node: opens (or creates) the data folder, recovers the state
  /// and waits until the recovery's commit is durable, loads the module
  /// folders and starts the HTTP API (so no reader sees the state from
  /// before the recovery). Errors: the database is locked by another node,
  /// the state cannot be recovered, the port is taken, ...
  static caf::expected<std::unique_ptr<node>> start(node_options options);

  ~node();

  /// Stops the HTTP API and the actors, then closes the database.
  void stop();

  /// Why Zenith stopped on its own (a commit or its write failed), once it
  /// did; nullopt while it runs. The node can no longer change state: its
  /// owner stops it and exits non-zero, so that a supervisor restarts it
  /// and recovery resumes from the last commit (`omniva serve` does).
  std::optional<caf::error> failure() const;

  /// The port the HTTP API listens on.
  uint16_t port() const noexcept;

  /// The secret of the first admin token (`admin`): the first line of
  /// `<data>/token`, read again at each call (rotating `admin` rewrites
  /// the file).
  std::string token() const;

  /// A one-time login code for the dashboard (`omniva serve` prints it in
  /// a link, `#login=<code>`): it opens one browser session, once, within
  /// 10 minutes, for the token whose secret is `<data>/token`. Errors:
  /// `unauthorized` when that file holds no valid token, `invalid_argument`
  /// without an HTTP API.
  caf::expected<std::string> login_code();

  /// The options the node runs with (pools and roots filled in).
  const node_options& options() const noexcept;

  /// Submits a task request and waits for Zenith's answer (for embedding:
  /// benchmarks, tests). Thread-safe.
  contracts::submit_result submit(const contracts::task_request& req);

  /// A session for many submissions from one thread (see `node_session`).
  node_session session();

  /// Registers a module from a folder holding module.json (after the
  /// schemas and policies of its `schemas/` and `policies/`) through the
  /// registry; returns its ref or why not.
  caf::expected<std::string> register_module_dir(const std::string& dir);

  /// Waits until task `id` is finished (DONE, ERROR or CANCELLED) or the
  /// timeout passes; returns its record.
  caf::expected<contracts::task_record>
  wait(const std::string& task_id, std::chrono::milliseconds timeout);

  /// Calls `f` with the events of each commit from now on, on Zenith's
  /// thread under the event hub's lock: keep it cheap, never throw, and do
  /// not call back into the node from it. Returns a handle for `unlisten`.
  uint64_t listen(std::function<void(const std::vector<contracts::committed_event>&)> f);

  /// Stops calling a listener.
  void unlisten(uint64_t handle);

  /// Zenith's counters in Prometheus text (`GET /metrics` serves them,
  /// followed by the task histograms of runtime/node_metrics.hpp, which the
  /// HTTP API computes from the committed events).
  std::string metrics();

  struct impl;

private:
  explicit node(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

} // namespace omniva::runtime
