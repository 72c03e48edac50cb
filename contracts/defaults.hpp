#pragma once

// Every default of the engine, in one place (Tenzir's `vast/defaults.hpp`).
//
// An option's default is written here once and read by everything that has
// the option: the configuration reader and flags of `omniva serve`, the
// option structs of the node, Zenith, the worker pools, the adapters and the
// HTTP server and client, and the CLI's client commands. config/omniva.conf
// and docs/operations.md quote the same numbers; change them together.
//
// Durations are `std::chrono::milliseconds` (the unit of every `*-ms`
// option), sizes are bytes. Constants that tune one file's internals and
// that no option exposes (the HTTP server's linger time, RocksDB's buffer
// sizes) stay beside their only user.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace omniva::defaults {

// -- the node ------------------------------------------------------------------

/// Where a node keeps its state, and where it listens.
namespace node {

/// The data folder: database, blobs, outputs, uploads in flight, the API
/// token. Relative to the working directory, so that a checkout runs a node
/// without setup. Option `omniva.data`, flag `--data`.
inline constexpr std::string_view data_dir = "var/omniva";

/// The folder of modules loaded at start when no `--modules` is given and it
/// exists (the repository's example modules).
inline constexpr std::string_view modules_dir = "modules";

/// The address the HTTP API listens on: loopback only, because the API
/// grants everything the token does and a node is not hardened for the open
/// network. Part of option `omniva.http`, flag `--http`.
inline constexpr std::string_view http_host = "127.0.0.1";

/// The port the HTTP API listens on (0 picks a free one). Part of option
/// `omniva.http`, flag `--http`.
inline constexpr uint16_t http_port = 8080;

/// The node a client command talks to when neither `--node` nor
/// `OMNIVA_NODE` names one: `http_host`:`http_port`.
inline constexpr std::string_view url = "http://127.0.0.1:8080";

/// Whether every commit waits for the disk (fsync): on, because an
/// acknowledged task must survive a machine crash. Option `omniva.sync`.
inline constexpr bool sync = true;

/// Whether every task runs through the mock adapter: off, modules run for
/// real. Option `omniva.mock`, flag `--mock`.
inline constexpr bool force_mock = false;

/// The worker threads of CAF's scheduler; 0 lets CAF take one per core.
inline constexpr size_t scheduler_threads = 0;

/// The free space the data folder's file system keeps, in bytes (1 GiB):
/// below it the node takes no new work (507 `insufficient_storage`), so
/// that what runs can finish and commit. 0 turns the reserve off. Option
/// `omniva.disk-reserve`, flag `--disk-reserve`.
inline constexpr uint64_t disk_reserve = uint64_t{1} << 30;

/// How often the node reads the free space of its data folder, in ms (it
/// also reads it before admitting each piece of new work): two seconds
/// notices space coming back soon, at the cost of one statvfs call. Option
/// `omniva.disk-check-interval-ms`, flag `--disk-check-interval`.
inline constexpr std::chrono::milliseconds disk_check_interval
  = std::chrono::seconds{2};

/// How often the node samples its counters for `GET /api/stats` (the
/// dashboard's charts of throughput and queues), in ms: one point a second.
/// Option `omniva.stats-interval-ms`, flag `--stats-interval-ms`.
inline constexpr std::chrono::milliseconds stats_interval
  = std::chrono::seconds{1};

/// How many of the latest points the node keeps for `GET /api/stats`: an
/// hour at one a second (a few MB at most). Option `omniva.stats-points`.
inline constexpr size_t stats_points = 3600;

} // namespace node

// -- scheduling: Zenith, the worker pools, heartbeats ---------------------------

/// How Zenith paces its housekeeping and how lost workers are noticed.
namespace scheduling {

/// Zenith's control cycle (housekeeping, the heartbeat check), in ms. Half a
/// minute: frequent enough that a lost worker's task runs again within about
/// `heartbeat_timeout` plus one cycle, rare enough to cost nothing. Option
/// `omniva.control-cycle-ms`.
inline constexpr std::chrono::milliseconds control_cycle
  = std::chrono::seconds{30};

/// How often a worker running a module (and a pool, for the orders waiting
/// for a free worker) tells Zenith the attempt is alive, in ms. Twelve beats
/// fit into `heartbeat_timeout`, so a few lost or late ones never requeue a
/// live attempt. Option `omniva.heartbeat-interval-ms`.
inline constexpr std::chrono::milliseconds heartbeat_interval
  = std::chrono::seconds{5};

/// How long a RUNNING attempt may go without a heartbeat before the control
/// cycle takes its worker for lost and runs the task again as a new attempt,
/// in ms. A minute: long enough to ride out a stalled machine or a long GC
/// pause, short enough that a crashed worker's task is not forgotten. Must
/// exceed `heartbeat_interval`. Option `omniva.heartbeat-timeout-ms`.
inline constexpr std::chrono::milliseconds heartbeat_timeout
  = std::chrono::seconds{60};

/// Commits Zenith hands to the write thread and that are not yet written, at
/// most: one being written and one queued behind it, so the thread never
/// waits for Zenith to seal and batches still grow while it writes. More
/// would only delay replies; fewer would stall the writer.
inline constexpr size_t max_commits_in_flight = 2;

/// How long Zenith remembers an idempotency key after the task it made was
/// created: a retry within the window gets that task back, a later one makes
/// a new task. A day covers any client's retries and bounds the memory the
/// keys take. Option `omniva.idempotency-window-s`.
inline constexpr std::chrono::milliseconds idempotency_window
  = std::chrono::hours{24};

/// How often Zenith's control cycle has Paradox audit the state and the
/// lineage (docs/engines.md, "Audits"), in ms; 0: only on demand (`omniva
/// audit run`). Hourly: an audit reads the whole log, and what it finds is
/// never urgent. Option `omniva.audit-interval-ms`.
inline constexpr std::chrono::milliseconds audit_interval
  = std::chrono::hours{1};

/// The name of the pool a node runs when none is configured (one worker per
/// core, all of the machine's cores and memory).
inline constexpr std::string_view default_pool_name = "default";

/// The memory of the default pool, in GB, when the machine's cannot be
/// read: a size every machine the engine targets has.
inline constexpr double default_pool_memory_gb = 4.0;

} // namespace scheduling

// -- adapters ------------------------------------------------------------------

/// How the local adapter runs a module as a child process.
namespace adapter {

/// How long a timed-out module's process group has between SIGTERM and
/// SIGKILL, in ms: two seconds lets a module flush and remove temporary
/// files without holding its slot for long.
inline constexpr std::chrono::milliseconds kill_grace
  = std::chrono::seconds{2};

/// How many trailing lines of a failed module's stderr its error message
/// quotes: enough for the usual last words (a traceback's final frames),
/// few enough for a log line.
inline constexpr size_t stderr_tail_lines = 5;

/// The largest output manifest read, in bytes (1 MiB): a manifest lists
/// files, it does not carry them.
inline constexpr size_t max_manifest_bytes = size_t{1} << 20;

/// The largest JSON output the local adapter reads to parse and check
/// against its schema, in bytes (64 MiB): a JSON output is a document,
/// not media, and the node holds it in memory whole. A larger one fails
/// the attempt with `output_too_large` before a byte of it is read.
inline constexpr size_t max_json_output_bytes = size_t{64} << 20;

/// The largest file a module (and every process it starts) may write, in
/// bytes (16 GiB; RLIMIT_FSIZE, 0: none): room for long videos, and a
/// module that writes without end is killed (SIGXFSZ, `output_too_large`)
/// before it fills the disk. Covers its stdout and stderr logs too.
inline constexpr uint64_t max_file_bytes = uint64_t{16} << 30;

/// How often a running module's worker checks whether its attempt was
/// stopped (a lost attempt's re-run waits for it), in ms: a tenth of a
/// second, so a stop takes effect at once at the cost of ten wake-ups a
/// second per running module.
inline constexpr std::chrono::milliseconds stop_check_interval
  = std::chrono::milliseconds{100};

/// How long a node starting up waits for the processes it killed of an
/// earlier run's attempts to be gone, in ms, before it reports the ones
/// still there and goes on: SIGKILL ends a process at once unless it is
/// stuck in the kernel (a hung disk or network mount).
inline constexpr std::chrono::milliseconds leftover_wait
  = std::chrono::seconds{5};

} // namespace adapter

// -- the registry ----------------------------------------------------------------

/// How the registry reads module folders.
namespace registry {

/// The largest file the registry reads (module.json, a schema, a policy), in
/// bytes: 1 MiB, like the HTTP API's JSON bodies (`http::max_body_bytes`).
inline constexpr size_t max_file_bytes = size_t{1} << 20;

/// How long the registry waits for Zenith to commit one registration, in
/// ms: a minute, far beyond any group commit, so that only a stuck Zenith
/// fails a rescan.
inline constexpr std::chrono::milliseconds zenith_timeout
  = std::chrono::seconds{60};

} // namespace registry

// -- HTTP ----------------------------------------------------------------------

/// The limits of the HTTP API's server and of the CLI's client.
namespace http {

/// The threads running the server's I/O and handlers: handlers never block
/// (they hand their answer to actors), so two keep up with a node's load.
inline constexpr size_t server_threads = 2;

/// The largest request body a route accepts, in bytes (1 MiB), unless the
/// route says otherwise: every JSON body of the API is far smaller.
inline constexpr uint64_t max_body_bytes = uint64_t{1} << 20;

/// The largest body of `POST /api/assets/upload`, in bytes (4 GiB): media
/// files are large, and the body streams to a temporary file, not memory.
inline constexpr uint64_t max_upload_bytes = uint64_t{4} << 30;

/// The largest request head (request line and fields), in bytes (16 KiB):
/// what common servers accept; larger heads get 431.
inline constexpr uint32_t max_header_bytes = 16 * 1024;

/// How long a connection may be silent before the server closes it, in ms:
/// between requests, and between two reads or writes of one. Event streams
/// are exempt (they get `sse_keep_alive` comments instead).
inline constexpr std::chrono::milliseconds idle_timeout
  = std::chrono::seconds{60};

/// How long an event stream (`GET /api/events`) may stay quiet before it
/// gets an SSE comment line, in ms: under the 30-60 s after which proxies
/// drop quiet connections, and a client that went away is noticed within
/// it. Option `omniva.sse-keep-alive-ms`.
inline constexpr std::chrono::milliseconds sse_keep_alive
  = std::chrono::seconds{15};

/// How long an HTTP handler waits for the actor it asks (Zenith, the asset
/// ledger, the registry) before it answers 500, in ms. Two minutes: longer
/// than any commit, rescan or file hash of a sane node takes.
inline constexpr std::chrono::milliseconds actor_timeout
  = std::chrono::seconds{120};

/// How long the CLI's client waits for one network step (connect, send,
/// receive) without progress, in ms.
inline constexpr std::chrono::milliseconds client_timeout
  = std::chrono::seconds{60};

} // namespace http

// -- the CLI and the lineage API ------------------------------------------------

/// What client commands and lineage queries do when not told otherwise.
namespace client {

/// How long `omniva task wait` waits for a task to finish, in seconds
/// (flag `--timeout`): five minutes covers the example modules many times.
inline constexpr double task_wait_seconds = 300;

/// How many levels a lineage walk (`--up`/`--down`, `GET /api/lineage`'s
/// `depth`) follows: deep enough for any pipeline the examples build, and
/// bounded so that one query cannot walk the whole graph.
inline constexpr uint32_t lineage_depth = 10;

} // namespace client

// -- retention ------------------------------------------------------------------

/// What the retention policy keeps, and how often it runs
/// (contracts/retention.hpp; docs/operations.md, "Retention and garbage
/// collection"). The defaults keep a year of outputs and logs.
namespace retention {

/// How long after its task finished the folder of an attempt that did not
/// win (`<data>/outputs/<task>/<n>/`) is kept, in ms: a week, time to read
/// the logs of a failed attempt. Option `omniva.retention-attempts-days`,
/// flag `--retention-attempts-days`.
inline constexpr std::chrono::milliseconds attempts_after
  = std::chrono::hours{24 * 7};

/// How long after its task finished a task's whole folder (outputs and
/// logs) is kept, in ms, as long as no unfinished task holds one of its
/// outputs: a year. Its FILE outputs become PURGED. Option
/// `omniva.retention-outputs-days`, flag `--retention-outputs-days`.
inline constexpr std::chrono::milliseconds outputs_after
  = std::chrono::hours{24 * 365};

/// How old a blob no asset references must be before it is removed, in ms:
/// an hour, far beyond the moment between an upload's blob and its asset
/// row. Option `omniva.retention-blob-grace`, flag `--retention-blob-grace`.
inline constexpr std::chrono::milliseconds blob_grace
  = std::chrono::hours{1};

/// How often the node runs a retention pass on its own, in ms (0: never;
/// `omniva gc` runs one on demand): hourly. Option
/// `omniva.retention-interval`, flag `--retention-interval`.
inline constexpr std::chrono::milliseconds interval = std::chrono::hours{1};

} // namespace retention

// -- webhooks ------------------------------------------------------------------

/// How the node delivers events to webhooks (runtime/webhooks.hpp).
namespace webhooks {

/// The pause after an event's first failed delivery, in ms: doubled after
/// each further failure up to `retry_max`. Option
/// `omniva.webhook-retry-initial-ms`, flag `--webhook-retry-initial-ms`.
inline constexpr std::chrono::milliseconds retry_initial
  = std::chrono::seconds{1};

/// The longest pause between two tries of one event, in ms: five minutes,
/// so a receiver that comes back is served within minutes. Option
/// `omniva.webhook-retry-max-ms`, flag `--webhook-retry-max-ms`.
inline constexpr std::chrono::milliseconds retry_max
  = std::chrono::minutes{5};

/// How long one delivery may go without progress (connect, send, receive),
/// in ms, before it counts as failed. Option `omniva.webhook-timeout-ms`,
/// flag `--webhook-timeout-ms`.
inline constexpr std::chrono::milliseconds timeout
  = std::chrono::seconds{10};

} // namespace webhooks

} // namespace omniva::defaults
