#include "runtime/node.hpp"

#include "runtime/creation_index.hpp"

#include <caf/blocking_actor.hpp>

#include "actors/asset_ledger.hpp"
#include "actors/halolux.hpp"
#include "actors/janitor.hpp"
#include "actors/registry.hpp"
#include "actors/worker_pool.hpp"
#include "actors/eclipse.hpp"
#include "actors/lattice.hpp"
#include "actors/pantheon.hpp"
#include "actors/paradox.hpp"
#include "actors/zenith.hpp"
#include "contracts/node_log.hpp"
#include "contracts/type_ids.hpp"
#include "runtime/disk_guard.hpp"
#include "runtime/execution_files.hpp"
#include "runtime/leftovers.hpp"
#include "runtime/local_adapter.hpp"
#include "runtime/mock_adapter.hpp"
#include "runtime/http_server.hpp"
#include "runtime/node_api.hpp"
#include "runtime/api_explain.hpp"
#include "runtime/api_retention.hpp"
#include "runtime/node_metrics.hpp"
#include "runtime/stats_history.hpp"
#include "runtime/session_store.hpp"
#include "runtime/token_store.hpp"
#include "runtime/webhooks.hpp"
#include "storage/asset_store.hpp"
#include "storage/commit.hpp"
#include "storage/database.hpp"
#include "storage/relocation.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <random>
#include <thread>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace fs = std::filesystem;

namespace omniva::runtime {

using contracts::ec;
using contracts::make_error;

std::string default_web_dir() {
#ifdef OMNIVA_WEB_DIR
  return OMNIVA_WEB_DIR;
#else
  return {};
#endif
}

bool parse_endpoint(const std::string& text, std::string& host,
                    uint16_t& port) {
  auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0)
    return false;
  auto p = std::string_view{text}.substr(colon + 1);
  unsigned value = 0;
  auto [ptr, err] = std::from_chars(p.data(), p.data() + p.size(), value);
  if (err != std::errc{} || ptr != p.data() + p.size() || value > 65535)
    return false;
  host = text.substr(0, colon);
  port = static_cast<uint16_t>(value);
  return true;
}

contracts::pool_spec default_pool() {
  contracts::pool_spec p;
  p.name = defaults::scheduling::default_pool_name;
  auto cores = std::max(1u, std::thread::hardware_concurrency());
  p.workers = cores;
  p.cpu = cores;
  auto pages = sysconf(_SC_PHYS_PAGES);
  auto page = sysconf(_SC_PAGE_SIZE);
  p.memory_gb = pages > 0 && page > 0
                  ? static_cast<double>(pages) * static_cast<double>(page)
                      / (1024.0 * 1024.0 * 1024.0)
                  : defaults::scheduling::default_pool_memory_gb;
  p.gpu = false;
  return p;
}

namespace {

std::string error_text(const caf::error& err) {
  return contracts::render_error(err.code(), err.category(), err.context());
}

/// Asks `handle` through the blocking actor `self` and waits for the answer.
template <class T, class Handle, class... Ts>
caf::expected<T> ask_blocking(caf::scoped_actor& self, const Handle& handle,
                              Ts&&... xs) {
  caf::expected<T> out{caf::error{}};
  self->request(handle, caf::infinite, std::forward<Ts>(xs)...)
    .receive([&](T& x) { out = std::move(x); },
             [&](caf::error& e) { out = std::move(e); });
  return out;
}

/// Reads `<data>/token`, or creates it (mode 0600) with a new secret
/// (`make_token_secret`): the secret of the first admin token.
caf::expected<std::string> load_token(const std::string& data_dir) {
  auto path = fs::path{data_dir} / "token";
  std::ifstream in{path};
  std::string token;
  if (in && std::getline(in, token) && token.size() >= 32)
    return token;
  auto secret = make_token_secret();
  if (!secret)
    return secret.error();
  if (auto err = write_secret_file(path.string(), *secret))
    return err;
  return std::move(*secret);
}

/// At the first start (the tokens table is empty: a new data folder, or one
/// from before named tokens), has Zenith make the token `admin` (role
/// admin, created by "node") whose secret is `<data>/token`.
caf::error bootstrap_admin(caf::scoped_actor& self,
                           const actors::zenith_actor& zenith,
                           const storage::reader& reader,
                           const std::string& secret) {
  auto rows = reader.scan(storage::table::tokens, "", 1);
  if (!rows)
    return rows.error();
  if (!rows->empty())
    return caf::none;
  contracts::token_change c;
  c.action = contracts::token_action::create;
  c.name = std::string{contracts::bootstrap_token_name};
  c.role = contracts::role::admin;
  c.secret_sha256 = secret_sha256(secret);
  c.by = "node";
  auto made = ask_blocking<contracts::token_record>(self, zenith, atom::token_v, c);
  if (!made)
    return made.error();
  spdlog::info("node: made the first admin token '{}'; its secret is the "
               "data folder's token file",
               made->name);
  return caf::none;
}

/// The local context of one attempt: the registry's schema lookups (the
/// store outlives every run: the node stops the workers first), the
/// secrets the contract names, from the node's environment, and the
/// worker's heartbeat.
execution_context context_for(const contracts::dispatch_order& order,
                              const contracts::registry_store* registry,
                              const actors::attempt_control& control,
                              std::chrono::milliseconds every) {
  execution_context context;
  context.schema_lookup = [registry](std::string_view id) {
    return registry->find_schema(id);
  };
  context.schema_document_lookup = [registry](std::string_view id) {
    return registry->schema_document(id);
  };
  for (auto* names : {&order.contract.secrets.required,
                      &order.contract.secrets.optional})
    for (auto& name : *names)
      if (auto* v = std::getenv(name.c_str()))
        context.secrets[name] = v;
  context.heartbeat = [&control] { control(); };
  context.heartbeat_interval = every;
  context.stop = &control.stop();
  return context;
}

/// Runs one dispatched attempt through the adapter its mode asks for.
contracts::execution_outcome run_order(const contracts::dispatch_order& order,
                                       adapter& local, adapter& mock,
                                       const contracts::registry_store* registry,
                                       const actors::attempt_control& control,
                                       std::chrono::milliseconds every) {
  auto context = context_for(order, registry, control, every);
  for (auto& name : order.contract.secrets.required)
    if (context.secrets.count(name) == 0) {
      contracts::execution_outcome out;
      out.ok = false;
      out.error_code = ec::spawn_failed;
      out.error_message = "the node's environment lacks the secret " + name
                          + " the module requires";
      return out;
    }
  bool mocked = order.task.mode == contracts::execution_mode::mock;
  auto outcome = (mocked ? mock : local).invoke(order, context);
  if (!mocked && !order.output_dir.empty())
    read_reported_cost(order.output_dir, defaults::adapter::max_manifest_bytes,
                       outcome);
  check_success_predicates(order, context, outcome);
  return outcome;
}

} // namespace

/// Why Zenith stopped on its own, set once by the actor that watches it.
struct zenith_failure {
  mutable std::mutex mtx;
  std::optional<caf::error> reason;
};

namespace {

/// Has `failure` record why Zenith stopped, when it stops for another reason
/// than the node's own stop (runs on Zenith's way out).
void watch_zenith(const actors::zenith_actor& zenith,
                  std::shared_ptr<zenith_failure> failure) {
  caf::actor_cast<caf::abstract_actor*>(zenith)->attach_functor(
    [failure](const caf::error& reason) {
      if (!reason || reason == caf::exit_reason::user_shutdown)
        return;
      spdlog::critical("node: Zenith stopped: {}; the node can no longer "
                       "commit and must be restarted",
                       error_text(reason));
      std::lock_guard<std::mutex> guard{failure->mtx};
      failure->reason = reason;
    });
}

/// The node's log line for an answer of its HTTP API: every refusal
/// (status 400 or more: method, route pattern, status, code, peer; never
/// the path, query, header fields or body, which may hold secrets), and the
/// operator action no packet records (a rescan of the module folders).
void log_answer(const http_answer& a) {
  using node_log::level;
  auto or_null = [](const std::string& x) {
    return x.empty() ? json::value{} : json::value{x};
  };
  if (a.status >= 400) {
    // A 507 (the disk below its reserve) is an expected refusal the disk
    // guard has logged once already; other 5xx are the node's own faults.
    node_log::write(a.status >= 500 && a.status != 507 ? level::error
                                                         : level::warn,
                    "http.refused",
                    {{"method", or_null(a.method)},
                     {"route", or_null(a.route)},
                     {"status", json::value{static_cast<int64_t>(a.status)}},
                     {"code", or_null(a.code)},
                     {"remote", or_null(a.remote)}});
    return;
  }
  if (a.method == "POST" && a.route == "/api/modules/rescan")
    node_log::write(level::info, "operator.rescan",
                    {{"remote", or_null(a.remote)}});
}

} // namespace

struct node::impl {
  node_options options;
  std::shared_ptr<zenith_failure> failure = std::make_shared<zenith_failure>();
  std::string token;
  /// The registry's schemas and policies (outlives the actor system).
  std::shared_ptr<contracts::registry_store> registry_store;
  std::unique_ptr<caf::actor_system_config> cfg;
  std::unique_ptr<caf::actor_system> system;
  std::shared_ptr<storage::writable_database> db;
  std::shared_ptr<storage::asset_store> store;
  std::shared_ptr<const storage::reader> reader;
  actors::zenith_actor zenith;
  /// The advisory engines (stopped with Zenith).
  actors::engine_set engines;
  actors::ledger_actor ledger;
  actors::registry_actor registry;
  /// Runs the retention passes (detached: a pass blocks on the disk).
  actors::janitor_actor janitor;
  /// Explains tasks, assets and traces (detached: it reads the database).
  actors::halolux_actor halolux;
  std::vector<actors::pool_actor> pools;
  std::unique_ptr<http_server> http;
  std::shared_ptr<event_hub> events;
  std::unique_ptr<local_adapter> local;
  std::unique_ptr<mock_adapter> mock;
  /// Delivers committed events to the webhooks; fed by the event hub
  /// (listener `webhook_listener`).
  std::shared_ptr<webhook_dispatcher> webhooks;
  uint64_t webhook_listener = 0;
  /// The free space of the data folder against the reserve: the HTTP API's
  /// work gate, and what `GET /api/health` reports.
  std::shared_ptr<disk_guard> disk;
  /// The named API tokens the HTTP API accepts, kept up to date by the
  /// event hub (listener `token_listener`).
  std::shared_ptr<token_store> tokens;
  uint64_t token_listener = 0;
  /// The dashboard's browser sessions and one-time login codes (in memory).
  std::shared_ptr<session_store> sessions;
  /// Samples Zenith's counters for `GET /api/stats` (stopped first).
  std::unique_ptr<stats_sampler> stats;
  bool stopped = false;
};

node::node(std::unique_ptr<impl> p) : impl_(std::move(p)) {
}

node::~node() {
  stop();
}

caf::expected<std::string> node::login_code() {
  if (!impl_->sessions)
    return make_error(ec::invalid_argument,
                      "the node serves no HTTP API: no login code");
  auto who = impl_->tokens->authenticate(token());
  if (!who)
    return make_error(ec::unauthorized,
                      "the data folder's token file holds no valid token");
  return impl_->sessions->make_login_code(who->name);
}

uint16_t node::port() const noexcept {
  return impl_->http ? impl_->http->port() : 0;
}

std::string node::token() const {
  // Rotating the token `admin` rewrites the file: read it again.
  std::ifstream in{fs::path{impl_->options.data_dir} / "token"};
  std::string token;
  if (in && std::getline(in, token) && !token.empty())
    return token;
  return impl_->token;
}

const node_options& node::options() const noexcept {
  return impl_->options;
}

caf::expected<std::unique_ptr<node>> node::start(node_options options) {
  auto p = std::make_unique<impl>();
  std::error_code err;
  fs::create_directories(options.data_dir, err);
  if (err)
    return make_error(ec::io_error,
                      "cannot create the data folder " + options.data_dir);
  options.data_dir = fs::absolute(options.data_dir).lexically_normal().string();
  // Where the data folder is and where it was (storage/relocation.hpp): the
  // files of assets made elsewhere resolve here. A restored folder brings
  // its modules in <data>/modules: loaded with the other module folders (a
  // module registered from another folder is recorded as moved).
  auto relocation = storage::record_origin(options.data_dir);
  if (!relocation)
    return relocation.error();
  for (auto& earlier : relocation->earlier)
    spdlog::info("node: the data folder was at {} before; its files are "
                 "found under {}",
                 earlier, options.data_dir);
  if (auto own = (fs::path{options.data_dir} / "modules").string();
      fs::is_directory(own, err)
      && std::find(options.module_dirs.begin(), options.module_dirs.end(), own)
           == options.module_dirs.end())
    options.module_dirs.push_back(own);
  if (options.pools.empty())
    options.pools.push_back(default_pool());
  if (options.allowed_roots.empty())
    options.allowed_roots = storage::default_allowed_roots(options.data_dir);
  p->options = options;
  auto token = load_token(options.data_dir);
  if (!token)
    return token.error();
  p->token = *token;
  storage::database_options db_opts;
  db_opts.sync = options.sync;
  // The one place in runtime/ that opens a database for writing (`node` is a
  // friend of storage::committer_key): the committer goes to Zenith, spawned
  // below.
  auto db = storage::open_database(storage::committer_key{},
                                   storage::database_path(options.data_dir),
                                   db_opts);
  if (!db)
    return db.error();
  p->reader = db->read;
  p->db = std::make_shared<storage::writable_database>(std::move(*db));
  p->store = std::make_shared<storage::asset_store>(options.data_dir);
  if (auto n = p->store->sweep_temp_dir(); n > 0)
    spdlog::info("asset store: removed {} leftover temporary file(s) of an "
                 "earlier run from {}",
                 n, p->store->temp_dir());
  p->cfg = std::make_unique<caf::actor_system_config>();
  contracts::register_types(*p->cfg);
  // One scheduler thread per core (CAF's default is at least four): a
  // thread more than the cores only adds idle wake-ups.
  p->cfg->set("scheduler.max-threads",
              options.scheduler_threads > 0
                ? options.scheduler_threads
                : size_t{std::max(2u, std::thread::hardware_concurrency())});
  p->cfg->set("logger.verbosity", caf::atom("quiet"));
  // An idle scheduler thread spins briefly, then sleeps on its condition
  // variable until work is enqueued. CAF's middle phase (500 polls, 50 us
  // apart) woke each idle thread 20,000 times a second; on a small machine
  // those wake-ups took a tenth of the CPU Zenith and the writer need.
  p->cfg->set("work-stealing.moderate-poll-attempts", size_t{0});
  // A sleeping thread wakes at once for work enqueued from outside the
  // scheduler (HTTP, pools' threads); the timeout only bounds how long work
  // another scheduler thread queued waits to be stolen. CAF's 10 ms woke
  // every idle thread 100 times a second: 1.5% of a clips@1 run's CPU
  // (docs/benchmarks.md, "clips").
  p->cfg->set("work-stealing.relaxed-sleep-duration",
              caf::timespan{std::chrono::milliseconds{50}});
  p->system = std::make_unique<caf::actor_system>(*p->cfg);
  // What an earlier run's attempts left (a module's children outlive a
  // SIGKILL of the node) is killed before anything runs again; every
  // attempt from now on is marked and recorded before its program starts.
  auto attempts = attempt_records_for(options.data_dir);
  auto leftovers = reap_leftovers(attempts);
  if (!leftovers.killed.empty() || !leftovers.survivors.empty())
    spdlog::warn("node: killed {} process(es) left by attempts of an earlier "
                 "run{}",
                 leftovers.killed.size(),
                 leftovers.survivors.empty()
                   ? std::string{}
                   : "; " + std::to_string(leftovers.survivors.size())
                       + " did not go away");
  local_adapter_options local_options;
  local_options.attempts = attempts;
  p->local = std::make_unique<local_adapter>(std::move(local_options));
  p->mock = std::make_unique<mock_adapter>();
  auto* local = p->local.get();
  auto* mock = p->mock.get();
  p->registry_store = std::make_shared<contracts::registry_store>();
  auto* schemas = p->registry_store.get();
  auto every = options.heartbeat_interval;
  actors::executor run = [local, mock, schemas,
                          every](const contracts::dispatch_order& o,
                                 const actors::attempt_control& control) {
    return run_order(o, *local, *mock, schemas, control, every);
  };
  std::map<std::string, actors::pool_actor> pools;
  if (options.faults)
    spdlog::warn("node: fault injection is on, for tests and simulations "
                 "only: attempts will go silent, fail or run late on "
                 "purpose ({})",
                 contracts::describe(*options.faults));
  for (auto& spec : options.pools) {
    actors::worker_pool_config wc;
    wc.spec = spec;
    wc.run = run;
    wc.heartbeat_interval = options.heartbeat_interval;
    wc.faults = options.faults;
    auto pool = p->system->spawn(actors::worker_pool, std::move(wc));
    pools.emplace(spec.name, pool);
    p->pools.push_back(pool);
  }
  p->events = std::make_shared<event_hub>();
  p->events->keep_alive(options.sse_keep_alive);
  // The node's log: failed attempts and operator actions, from what each
  // commit made durable.
  p->events->listen(log_committed_events);
  // The tokens follow their committed changes (each reads its row again).
  p->tokens = std::make_shared<token_store>(p->reader);
  p->token_listener = p->events->listen(
    [tokens = p->tokens](const std::vector<contracts::committed_event>& events) {
      tokens->on_events(events);
    });
  actors::zenith_config zc;
  zc.data_dir = options.data_dir;
  zc.pools = options.pools;
  zc.control_cycle = options.control_cycle;
  zc.force_mock = options.force_mock;
  zc.write_thread = true;
  zc.heartbeat_timeout = options.heartbeat_timeout;
  zc.idempotency_window = options.idempotency_window;
  zc.audit_interval = options.audit_interval;
  zc.registry = p->registry_store;
  zc.relocation = *relocation;
  auto hub = p->events;
  zc.on_commit = [hub](const std::vector<contracts::committed_event>& events) {
    hub->publish(events);
  };
  // The engines Zenith asks for advice (docs/engines.md); Paradox reads
  // the database, the others only compute.
  actors::engine_set engines;
  auto judgement = options.eclipse;
  if (judgement.seed == 0)
    judgement.seed = std::random_device{}(); // a node's jitter: any seed
  engines.eclipse = p->system->spawn(actors::eclipse, judgement);
  engines.lattice = p->system->spawn(actors::lattice, options.lattice);
  engines.pantheon = p->system->spawn(actors::pantheon, actors::pantheon_settings{});
  // Paradox reads the whole log for an audit: detached, off the scheduler.
  engines.paradox = p->system->spawn<caf::detached>(
    actors::paradox, std::shared_ptr<const storage::reader>{p->reader});
  p->engines = engines;
  p->zenith = p->system->spawn(actors::zenith, std::move(zc), p->db, pools,
                               engines);
  watch_zenith(p->zenith, p->failure);
  {
    // Nothing reads the state before the recovery's commit (re-queued
    // attempts) is durable; a Zenith that cannot recover answers with why.
    caf::scoped_actor self{*p->system};
    auto recovered = ask_blocking<uint64_t>(self, p->zenith, atom::sync_v);
    if (!recovered) {
      auto why = recovered.error();
      std::unique_ptr<node> failed{new node(std::move(p))};
      failed->stop();
      return make_error(ec::storage_error,
                        "the node's state cannot be recovered: "
                          + error_text(why));
    }
  }
  // The first admin token, then every token, before the API opens.
  caf::error tokens_err;
  {
    caf::scoped_actor self{*p->system};
    tokens_err = bootstrap_admin(self, p->zenith, *p->reader, p->token);
  }
  if (!tokens_err)
    tokens_err = p->tokens->load();
  if (tokens_err) {
    std::unique_ptr<node> failed{new node(std::move(p))};
    failed->stop();
    return make_error(ec::storage_error, "the node's tokens cannot be loaded: "
                                           + error_text(tokens_err));
  }
  p->ledger = p->system->spawn<caf::detached>(actors::asset_ledger, p->store,
                                               options.allowed_roots, p->zenith);
  p->registry = p->system->spawn<caf::detached>(
    actors::registry, actors::registry_config{options.module_dirs},
    p->registry_store, p->reader, p->zenith);
  p->janitor = p->system->spawn<caf::detached>(
    actors::janitor,
    actors::janitor_config{options.data_dir, options.retention},
    std::shared_ptr<const storage::reader>{p->reader}, p->zenith);
  p->halolux = p->system->spawn<caf::detached>(
    actors::halolux, std::shared_ptr<const storage::reader>{p->reader},
    actors::halolux_config{});
  std::unique_ptr<node> n{new node(std::move(p))};
  {
    // The module folders, before the API opens (the registry logs each
    // file; problems do not stop the node).
    caf::scoped_actor self{*n->impl_->system};
    auto report = ask_blocking<contracts::registry_report>(
      self, n->impl_->registry, atom::rescan_v, std::string{"node"});
    if (!report)
      spdlog::warn("registry: the module folders were not loaded: {}",
                   error_text(report.error()));
  }
  {
    // Webhooks: a delivery thread each, from its cursor, woken by commits;
    // started before the API can create or remove one.
    webhook_options wo;
    wo.data_dir = options.data_dir;
    wo.retry_initial = options.webhook_retry_initial;
    wo.retry_max = options.webhook_retry_max;
    wo.timeout = options.webhook_timeout;
    auto hooks = std::make_shared<webhook_dispatcher>(std::move(wo),
                                                      n->impl_->reader);
    n->impl_->webhook_listener = n->impl_->events->listen(
      [hooks](const std::vector<contracts::committed_event>& events) {
        hooks->on_commit(events);
      });
    n->impl_->webhooks = hooks;
    if (auto err = hooks->start())
      return err;
  }
  if (options.serve_http) {
    disk_guard_options dg;
    dg.folder = options.data_dir;
    dg.reserve = options.disk_reserve;
    dg.check_interval = options.disk_check_interval;
    n->impl_->disk = std::make_shared<disk_guard>(std::move(dg));
    n->impl_->disk->start();
    http_server_config hc;
    hc.host = options.http_host;
    hc.port = options.http_port;
    hc.upload_dir = n->impl_->store->temp_dir();
    hc.on_answer = log_answer;
    n->impl_->http = std::make_unique<http_server>(hc);
    api_context ctx{*n->impl_->system, n->impl_->zenith, n->impl_->ledger,
                    n->impl_->reader, n->impl_->events,
                    options.data_dir,   options.allowed_roots,
                    n->impl_->registry, n->impl_->registry_store};
    ctx.disk = n->impl_->disk;
    ctx.tokens = n->impl_->tokens;
    n->impl_->sessions = std::make_shared<session_store>(n->impl_->tokens);
    ctx.sessions = n->impl_->sessions;
    ctx.web_dir = options.web_dir;
    ctx.pools = options.pools;
    ctx.task_order = std::make_shared<creation_index>(
      n->impl_->reader, storage::table::tasks, "task.created");
    n->impl_->events->listen(
      [order = ctx.task_order](const std::vector<contracts::committed_event>& events) {
        order->on_events(events);
      });
    // Built now, on a thread of its own, so that the board's first page
    // after a start does not wait for the scan (the system waits for it at
    // stop, before the database closes). (The unused argument: see ask_or.)
    n->impl_->system->spawn(
      [order = ctx.task_order](caf::blocking_actor*, int) {
        if (auto rows = order->page(std::nullopt, 1); !rows)
          spdlog::warn("node: the tasks' creation order was not built: {}",
                       contracts::render_error(rows.error().code(),
                                               rows.error().category(),
                                               rows.error().context()));
      },
      0);
    if (options.stats_interval.count() > 0) {
      // Zenith's counters every interval (a blocking ask from the
      // sampler's thread, bounded by the HTTP API's actor timeout).
      auto history = std::make_shared<stats_history>(options.stats_points,
                                                     options.stats_interval);
      auto* sys = n->impl_->system.get();
      auto zenith = n->impl_->zenith;
      n->impl_->stats = std::make_unique<stats_sampler>(
        history, [sys, zenith]() -> std::optional<std::string> {
          caf::scoped_actor self{*sys};
          std::optional<std::string> out;
          self->request(zenith, defaults::http::actor_timeout, atom::metrics_v)
            .receive([&](std::string& text) { out = std::move(text); },
                     [](caf::error&) {});
          return out;
        });
      n->impl_->stats->start();
      ctx.stats = history;
    }
    install_routes(*n->impl_->http, ctx);
    install_retention_routes(*n->impl_->http, ctx, n->impl_->janitor);
    install_explain_routes(*n->impl_->http, ctx, n->impl_->halolux);
    // Below the disk reserve, routes that take new work answer 507 before
    // their body is read; reads, cancels and running tasks go on.
    n->impl_->http->set_work_gate(
      [disk = n->impl_->disk] { return disk->refusal(); });
    n->impl_->http->set_authenticator(
      token_store::authenticator(n->impl_->tokens));
    n->impl_->http->set_session_authenticator(
      session_store::authenticator(n->impl_->sessions));
    if (auto e = n->impl_->http->start())
      return e;
  }
  return n;
}

std::optional<caf::error> node::failure() const {
  std::lock_guard<std::mutex> guard{impl_->failure->mtx};
  return impl_->failure->reason;
}

void node::stop() {
  if (!impl_ || impl_->stopped)
    return;
  impl_->stopped = true;
  if (impl_->stats)
    impl_->stats->stop(); // it asks Zenith: before the actors go
  if (impl_->http) {
    impl_->http->stop();
    impl_->http.reset(); // its routes hold actor handles (the detached ledger)
  }
  if (impl_->webhooks) {
    // What is not delivered stays after each cursor for the next start.
    impl_->events->unlisten(impl_->webhook_listener);
    impl_->webhooks->stop();
  }
  if (impl_->tokens)
    impl_->events->unlisten(impl_->token_listener);
  if (impl_->events)
    impl_->events->close_all();
  if (impl_->system) {
    caf::anon_send_exit(impl_->ledger, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(impl_->registry, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(impl_->janitor, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(impl_->halolux, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(impl_->zenith, caf::exit_reason::user_shutdown);
    if (impl_->engines.eclipse)
      caf::anon_send_exit(impl_->engines.eclipse, caf::exit_reason::user_shutdown);
    if (impl_->engines.lattice)
      caf::anon_send_exit(impl_->engines.lattice, caf::exit_reason::user_shutdown);
    if (impl_->engines.paradox)
      caf::anon_send_exit(impl_->engines.paradox, caf::exit_reason::user_shutdown);
    if (impl_->engines.pantheon)
      caf::anon_send_exit(impl_->engines.pantheon, caf::exit_reason::user_shutdown);
    impl_->engines = {};
    for (auto& p : impl_->pools)
      caf::anon_send_exit(p, caf::exit_reason::user_shutdown);
    impl_->ledger = nullptr;
    impl_->registry = nullptr;
    impl_->janitor = nullptr;
    impl_->halolux = nullptr;
    impl_->zenith = nullptr;
    impl_->pools.clear();
    impl_->system.reset();
  }
  if (impl_->disk)
    impl_->disk->stop();
  impl_->reader.reset();
  impl_->db.reset();
}

struct node_session::impl {
  caf::scoped_actor self;
  actors::zenith_actor zenith;
};

node_session::node_session(std::unique_ptr<impl> p) : impl_(std::move(p)) {
}

node_session::~node_session() = default;
node_session::node_session(node_session&&) noexcept = default;
node_session& node_session::operator=(node_session&&) noexcept = default;

contracts::submit_result node_session::submit(const contracts::task_request& req) {
  auto r = ask_blocking<contracts::submit_result>(impl_->self, impl_->zenith,
                                                 atom::submit_v, req);
  if (r)
    return std::move(*r);
  contracts::submit_result out;
  out.ok = false;
  auto& e = r.error();
  // Zenith's own codes (outcome_unknown above all) go through as they are.
  auto code = e.category() == contracts::error_category ? static_cast<ec>(e.code())
                                                       : ec::storage_error;
  auto p = contracts::problem_from_error(e);
  out.problems.push_back({code, "", p && !p->message.empty() ? p->message
                                                             : error_text(e)});
  return out;
}

node_session node::session() {
  return node_session{std::unique_ptr<node_session::impl>{
    new node_session::impl{caf::scoped_actor{*impl_->system}, impl_->zenith}}};
}

contracts::submit_result node::submit(const contracts::task_request& req) {
  return session().submit(req);
}

caf::expected<std::string> node::register_module_dir(const std::string& dir) {
  caf::scoped_actor self{*impl_->system};
  return ask_blocking<std::string>(self, impl_->registry, atom::load_v, dir,
                                  std::string{"node"});
}

uint64_t node::listen(std::function<void(const std::vector<contracts::committed_event>&)> f) {
  return impl_->events->listen(std::move(f));
}

void node::unlisten(uint64_t handle) {
  impl_->events->unlisten(handle);
}

std::string node::metrics() {
  caf::scoped_actor self{*impl_->system};
  auto text = ask_blocking<std::string>(self, impl_->zenith, atom::metrics_v);
  return text ? std::move(*text) : std::string{};
}

caf::expected<contracts::task_record>
node::wait(const std::string& task_id, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    auto row = impl_->reader->get(storage::table::tasks, task_id);
    if (!row)
      return row.error();
    std::vector<contracts::problem> problems;
    auto doc = json::parse(*row);
    auto t = contracts::task_record_from_json(*doc.doc, problems);
    if (!t)
      return make_error(ec::corruption, "task row " + task_id);
    if (t->status == contracts::task_status::done
        || t->status == contracts::task_status::error
        || t->status == contracts::task_status::cancelled)
      return *t;
    if (std::chrono::steady_clock::now() >= deadline)
      return make_error(ec::timeout, "task " + task_id + " is still "
                                       + std::string{contracts::to_string(t->status)});
    impl_->events->wait_for_change(std::chrono::milliseconds{100});
  }
}

} // namespace omniva::runtime
