// The commit benchmark: Stardust's committer against the raw limit of the
// disk (plain RocksDB WriteBatches of exactly the keys and bytes it wrote),
// lineage queries, verify. Figures go to stdout (one JSON document with
// --json), progress to stderr; nothing here is a test and nothing asserts on
// time (benchmarks/commit.sh runs it for `make bench`).
//
// A program of its own, not a verb of `omniva`: it holds the one write path
// that skips the committer (raw_replay.cpp), which no binary that runs a node
// should carry, and it opens scratch databases for writing the way the node
// bootstrap does (`bench::scratch_database`, a friend of
// `storage::committer_key`).

#include "benchmarks/raw_replay.hpp"
#include "contracts/ids.hpp"
#include "contracts/json.hpp"
#include "contracts/packet.hpp"
#include "runtime/cli.hpp"
#include "storage/commit.hpp"
#include "storage/database.hpp"
#include "storage/verify.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <random>

namespace omniva::bench {

/// Opens a benchmark's scratch databases for writing, through the same door
/// as the node bootstrap: `storage::open_database` with a `committer_key`
/// (this struct is the key's friend; it is defined here alone, so no other
/// file can use it).
struct scratch_database {
  /// Opens (or creates) the database in folder `path` for writing.
  static caf::expected<storage::writable_database>
  open(const std::string& path, const storage::database_options& options = {}) {
    return storage::open_database(storage::committer_key{}, path, options);
  }
};

namespace {

namespace po = boost::program_options;
namespace fs = std::filesystem;

using cli::arguments;
using cli::exit_failure;
using cli::exit_ok;
using cli::exit_usage;
using cli::parse_options;
using cli::print_error;

using contracts::packet;
using storage::commit_batch;

using steady = std::chrono::steady_clock;

double seconds_since(steady::time_point start) {
  return std::chrono::duration<double>(steady::now() - start).count();
}

/// `x` rounded to `digits` decimals, for figures people read.
double rounded(double x, int digits) {
  auto scale = std::pow(10.0, digits);
  return std::round(x * scale) / scale;
}

/// Peak resident set of this process so far, in MiB.
double peak_rss_mb() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0; // ru_maxrss is KiB
}

std::string error_text(const caf::error& err) {
  return contracts::render_error(err.code(), err.category(), err.context());
}

/// The folder the benchmark writes to: DIR (kept) or a fresh temporary
/// folder (removed on destruction).
struct work_folder {
  fs::path path;
  bool keep = false;

  /// The database of data folder `name` inside (created if missing).
  std::string database(std::string_view name) const {
    std::error_code ignored;
    fs::create_directories(path / name, ignored);
    return storage::database_path((path / name).string());
  }

  ~work_folder() {
    if (!keep && !path.empty()) {
      std::error_code ignored;
      fs::remove_all(path, ignored);
    }
  }
};

// -- the commit workload -------------------------------------------------------
//
// Transitions as Zenith commits them: one packet (kind, actor, trace, one
// lineage parent: the previous packet of the same task, or for a new task the
// last packet of the task before it in its pipeline) justifying one state row
// (the task's row in `tasks`). 1024 tasks are in flight; each goes
// created -> ready -> running -> succeeded, then a new task takes its place.

/// One prepared transition: everything but the parent's id, which exists only
/// once the parent is committed.
struct transition {
  packet p;
  /// Index of the transition whose packet is the parent; -1 for none.
  int64_t parent = -1;
  std::string row_key;
  std::string row_value;
};

std::vector<transition> make_transitions(size_t n, uint64_t seed) {
  constexpr size_t in_flight = 1024;
  constexpr std::string_view lifecycle[]
    = {"task.created", "task.ready", "task.running", "task.succeeded"};
  constexpr std::string_view statuses[] = {"PENDING", "READY", "RUNNING", "DONE"};
  contracts::seeded_id_source ids{seed};
  contracts::manual_clock clock{contracts::timestamp{
    std::chrono::milliseconds{1'790'000'000'000}}};
  std::mt19937_64 rng{seed};
  struct task {
    std::string id, trace, module_ref;
    int step = 0;
    int64_t last = -1; // transition of its latest packet
  };
  std::vector<std::string> traces;
  for (int i = 0; i < 64; ++i)
    traces.push_back(ids.next_uuid());
  auto fresh = [&](int64_t after) {
    task t;
    t.id = ids.next_uuid();
    t.trace = traces[rng() % traces.size()];
    t.module_ref = "module_" + std::to_string(rng() % 40) + "@"
                   + std::to_string(1 + rng() % 5);
    t.last = after;
    return t;
  };
  std::vector<task> tasks;
  for (size_t i = 0; i < in_flight; ++i)
    tasks.push_back(fresh(-1));
  std::vector<transition> out;
  out.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    auto& t = tasks[rng() % tasks.size()];
    auto at = contracts::format_timestamp(
      clock.advance(std::chrono::milliseconds{1 + rng() % 20}));
    transition x;
    x.p.kind = lifecycle[t.step];
    x.p.actor = "zenith";
    x.p.trace_id = t.trace;
    x.p.subjects = {t.id};
    x.p.at = at;
    auto status = std::string{statuses[t.step]};
    x.p.payload = R"({"attempt":1,"module_ref":")" + t.module_ref
                  + R"(","status":")" + status + R"(","task_id":")" + t.id
                  + R"("})";
    x.parent = t.last;
    x.row_key = t.id;
    x.row_value = R"({"attempt":1,"created_at":")" + at
                  + R"(","idempotency_key":")" + t.id + R"(","module_ref":")"
                  + t.module_ref + R"(","pool":"cpu","priority":5,"status":")"
                  + status + R"(","task_id":")" + t.id + R"(","trace_id":")"
                  + t.trace + R"(","updated_at":")" + at
                  + R"(","input_mapping":{"video":"asset-)" + t.id.substr(0, 8)
                  + R"("},"outputs":{"transcript":"asset-)" + t.id.substr(9, 4)
                  + R"("}})";
    t.last = static_cast<int64_t>(i);
    if (++t.step == 4)
      t = fresh(static_cast<int64_t>(i));
    out.push_back(std::move(x));
  }
  return out;
}

/// One group size, both sides.
struct commit_figures {
  size_t group_size = 0;
  uint64_t transitions = 0;
  uint64_t keys = 0;
  uint64_t bytes = 0;
  double stardust_seconds = 0;
  double raw_seconds = 0;
};

/// How long one side runs before the other takes over. Both sides run in
/// alternating rounds of this length (Stardust commits for a round, then
/// the raw side writes what it committed), so drift in the disk's fsync
/// latency (it varies severalfold from one minute to the next on virtual
/// disks) hits both alike.
constexpr double round_seconds = 0.25;

/// Measures one group size: Stardust commits `work`, `group_size`
/// transitions a commit, until all are done or it has spent `budget`
/// seconds; the raw side writes exactly the same keys and bytes, one
/// WriteBatch per commit, in alternating rounds.
caf::expected<commit_figures>
measure_group(storage::writable_database& stardust,
              storage::writable_database& raw, std::vector<transition>& work,
              size_t group_size, double budget) {
  commit_figures fig;
  fig.group_size = group_size;
  auto& w = stardust.write;
  std::vector<std::string> ids(work.size());
  // The state rows, kept for the raw side (the committer consumes its own).
  std::vector<std::pair<std::string, std::string>> rows;
  rows.reserve(work.size());
  for (auto& x : work)
    rows.emplace_back(x.row_key, x.row_value);
  commit_batch batch;
  size_t done = 0;
  while (done < work.size() && fig.stardust_seconds < budget) {
    // -- Stardust, one round
    auto round_first = done;
    auto first_seq = w.next_seq();
    auto start = steady::now();
    while (done < work.size()) {
      auto end = std::min(work.size(), done + group_size);
      for (auto i = done; i < end; ++i) {
        auto& x = work[i];
        std::vector<size_t> in_batch;
        if (x.parent >= static_cast<int64_t>(done))
          in_batch.push_back(static_cast<size_t>(x.parent) - done);
        else if (x.parent >= 0)
          x.p.meta_parents.push_back(ids[static_cast<size_t>(x.parent)]);
        auto index = batch.add(std::move(x.p), std::move(in_batch));
        batch.put(storage::table::tasks, std::move(x.row_key),
                  std::move(x.row_value), index);
      }
      auto receipt = w.commit(batch);
      if (!receipt)
        return receipt.error();
      for (size_t i = 0; i < receipt->ids.size(); ++i)
        ids[done + i] = std::move(receipt->ids[i]);
      done = end;
      if (seconds_since(start) >= round_seconds)
        break;
    }
    fig.stardust_seconds += seconds_since(start);
    // -- the raw side, the same round
    auto groups = log_writes(
      *stardust.read, first_seq, w.next_seq() - 1, group_size,
      [&](uint64_t seq, raw_group& out) {
        auto& [key, value] = rows[round_first + (seq - first_seq)];
        out.push_back({"tasks", key, value});
      });
    if (!groups)
      return groups.error();
    auto replay = replay_raw(raw, *groups);
    if (!replay)
      return replay.error();
    fig.raw_seconds += replay->seconds;
    fig.keys += replay->keys;
    fig.bytes += replay->bytes;
  }
  fig.transitions = done;
  return fig;
}

// -- the lineage log -------------------------------------------------------------
//
// Pipelines as users build them: a few source assets, then a chain of 1-50
// tasks; each task reads 1-3 assets (one made by the task before it, the
// others any earlier asset of its pipeline) and makes 1-2. A task is one
// `task.succeeded` packet whose parents are the packets of its inputs; each
// asset one `asset.registered` packet whose parent is its task's packet (a
// source has none). 32 pipelines run at once, interleaved in the log.

struct lineage_figures {
  uint64_t packets = 0;
  uint64_t pipelines = 0;
  double build_seconds = 0;
  std::vector<double> latencies_ms;
  double mean_ancestors = 0;
  double verify_seconds = 0;
  bool verify_ok = false;
  std::string verify_reason;
  double peak_rss_mb = 0;
};

/// A packet of a pipeline: its seq, and its id once committed.
struct packet_ref {
  uint64_t seq = 0;
  std::string id;
};

struct pipeline {
  std::string trace;
  int length = 0;
  int next_task = 0;
  /// Every asset packet so far: sources first, then task outputs in order.
  std::vector<packet_ref> assets;
  /// Where the outputs of the latest task start in `assets`; the sources
  /// count as "task -1".
  size_t last_outputs = 0;
};

caf::error build_lineage(storage::writable_database& db, uint64_t target,
                         uint64_t seed, lineage_figures& fig,
                         std::vector<uint64_t>& deep_samples) {
  constexpr size_t in_flight = 32;
  constexpr size_t per_commit = 8192;
  constexpr size_t wanted_samples = 1000;
  contracts::seeded_id_source ids{seed};
  contracts::manual_clock clock{contracts::timestamp{
    std::chrono::milliseconds{1'790'000'000'000}}};
  std::mt19937_64 rng{seed};
  auto& w = db.write;
  commit_batch batch;
  uint64_t batch_first = w.next_seq();
  uint64_t deep_seen = 0;
  auto next_seq = [&] { return batch_first + batch.packets(); };
  auto at = [&] {
    return contracts::format_timestamp(
      clock.advance(std::chrono::milliseconds{1 + rng() % 50}));
  };
  auto asset_packet = [&](const std::string& trace) {
    packet p;
    p.kind = "asset.registered";
    p.actor = "zenith";
    p.trace_id = trace;
    auto asset = ids.next_uuid();
    p.subjects = {asset};
    p.at = at();
    auto digest = contracts::to_hex(contracts::sha256(asset));
    p.payload = R"({"asset_id":")" + asset
                + R"(","media_type":"application/json","sha256":")" + digest
                + R"(","size":)" + std::to_string(1000 + rng() % 1'000'000)
                + "}";
    return p;
  };
  auto start_pipeline = [&] {
    pipeline pl;
    pl.trace = ids.next_uuid();
    pl.length = 1 + static_cast<int>(rng() % 50);
    auto sources = 1 + rng() % 3;
    for (uint64_t i = 0; i < sources; ++i) {
      pl.assets.push_back({next_seq(), {}});
      batch.add(asset_packet(pl.trace));
    }
    ++fig.pipelines;
    return pl;
  };
  // The parent reference to `ref` from the batch being built.
  auto link = [&](const packet_ref& ref, packet& p,
                  std::vector<size_t>& in_batch) {
    if (ref.seq >= batch_first)
      in_batch.push_back(ref.seq - batch_first);
    else
      p.meta_parents.push_back(ref.id);
  };
  std::vector<pipeline> running;
  auto commit = [&]() -> caf::error {
    auto receipt = w.commit(batch);
    if (!receipt)
      return receipt.error();
    for (auto& pl : running)
      for (auto& a : pl.assets)
        if (a.id.empty() && a.seq >= receipt->first_seq)
          a.id = receipt->ids[a.seq - receipt->first_seq];
    auto before = batch_first - 1;
    batch_first = w.next_seq();
    auto tenth = std::max<uint64_t>(target / 10, 1);
    if ((batch_first - 1) / tenth != before / tenth)
      std::cerr << "commit_bench: lineage log " << (batch_first - 1) << '/'
                << target << " packets\n";
    return caf::none;
  };
  auto start = steady::now();
  for (size_t i = 0; i < in_flight; ++i)
    running.push_back(start_pipeline());
  while (next_seq() - 1 < target) {
    auto& pl = running[rng() % running.size()];
    // The task: 1-3 inputs, the first made by the task before.
    packet task;
    task.kind = "task.succeeded";
    task.actor = "zenith";
    task.trace_id = pl.trace;
    auto task_id = ids.next_uuid();
    task.subjects = {task_id};
    task.at = at();
    std::vector<size_t> in_batch;
    auto latest = pl.assets.size() - pl.last_outputs;
    std::vector<size_t> inputs{pl.last_outputs + rng() % latest};
    auto extra = rng() % 3;
    for (uint64_t k = 0; k < extra; ++k) {
      auto pick = static_cast<size_t>(rng() % pl.assets.size());
      if (std::find(inputs.begin(), inputs.end(), pick) == inputs.end())
        inputs.push_back(pick);
    }
    for (auto input : inputs)
      link(pl.assets[input], task, in_batch);
    task.payload = R"({"attempt":1,"inputs":)" + std::to_string(inputs.size())
                   + R"(,"module_ref":"module_)" + std::to_string(rng() % 40)
                   + R"(@1","task_id":")" + task_id + R"("})";
    auto task_index = batch.add(std::move(task), std::move(in_batch));
    // Its 1-2 outputs.
    pl.last_outputs = pl.assets.size();
    auto outputs = 1 + rng() % 2;
    for (uint64_t k = 0; k < outputs; ++k) {
      auto seq = next_seq();
      pl.assets.push_back({seq, {}});
      batch.add(asset_packet(pl.trace), {task_index});
      // An output of task 10 or later has at least 20 levels of ancestors
      // (output, task, output, ...): a query at depth 20 walks them all.
      if (pl.next_task >= 10) {
        ++deep_seen;
        if (deep_samples.size() < wanted_samples)
          deep_samples.push_back(seq);
        else if (auto slot = rng() % deep_seen; slot < wanted_samples)
          deep_samples[slot] = seq;
      }
    }
    if (++pl.next_task == pl.length)
      pl = start_pipeline();
    if (batch.packets() >= per_commit)
      if (auto err = commit())
        return err;
  }
  if (!batch.empty())
    if (auto err = commit())
      return err;
  fig.build_seconds = seconds_since(start);
  fig.packets = w.next_seq() - 1;
  return caf::none;
}

caf::error query_lineage(const storage::reader& r,
                         const std::vector<uint64_t>& samples,
                         lineage_figures& fig) {
  std::vector<std::string> ids;
  for (auto seq : samples) {
    auto p = r.packet_by_seq(seq);
    if (!p)
      return p.error();
    ids.push_back(p->id);
  }
  uint64_t found = 0;
  for (auto& id : ids) {
    auto start = steady::now();
    auto xs = r.ancestors(id, 20);
    auto ms = seconds_since(start) * 1000.0;
    if (!xs)
      return xs.error();
    found += xs->size();
    fig.latencies_ms.push_back(ms);
  }
  if (!ids.empty())
    fig.mean_ancestors = static_cast<double>(found)
                         / static_cast<double>(ids.size());
  return caf::none;
}

/// The value at quantile `q` of sorted `xs` (nearest rank).
double quantile(const std::vector<double>& xs, double q) {
  if (xs.empty())
    return 0;
  auto rank = static_cast<size_t>(std::ceil(q * static_cast<double>(xs.size())));
  return xs[std::clamp<size_t>(rank, 1, xs.size()) - 1];
}

// -- the command ---------------------------------------------------------------

/// The targets of the issue: Stardust's share of the raw limit per group
/// size (none set for 16).
std::optional<double> ratio_target(size_t group_size) {
  if (group_size == 1)
    return 0.8;
  if (group_size == 256)
    return 0.5;
  return std::nullopt;
}

constexpr double p99_target_ms = 5.0;
constexpr double verify_target = 200'000.0;

int run_commit(const arguments& args) {
  po::options_description opts{"options"};
  std::string data;
  uint64_t transitions = 64'000;
  uint64_t lineage_packets = 1'000'000;
  double budget = 5.0;
  uint64_t seed = 42;
  std::vector<size_t> group_sizes;
  opts.add_options()
    ("data", po::value(&data),
     "write the databases into DIR (created if missing) and keep them, "
     "each a data folder for 'omniva lineage verify --data': DIR/commit "
     "(the Stardust log of the commit part), DIR/raw (its raw replay: the "
     "same bytes, so it verifies too), DIR/lineage (the lineage log); "
     "default: a temporary folder, removed afterwards")
    ("json", "print one JSON document")
    ("transitions", po::value(&transitions),
     "transitions per group size, at most (default: 64000)")
    ("seconds", po::value(&budget),
     "Stardust's time per group size, at most (default: 5); the raw side "
     "writes exactly what Stardust committed, in alternating rounds")
    ("lineage-packets", po::value(&lineage_packets),
     "packets of the lineage log (default: 1000000; 0 skips the lineage "
     "part)")
    ("group-size", po::value(&group_sizes)->multitoken(),
     "the group sizes to measure (default: 1 16 256)")
    ("seed", po::value(&seed), "workload seed (default: 42)");
  po::variables_map vm;
  if (auto rc = parse_options(
        "commit_bench [--data DIR] [--json] [--transitions N] "
        "[--seconds S] [--lineage-packets N] [--group-size N...]",
        "Builds a lineage log shaped like real pipelines (written without "
        "sync: setup) and measures ancestor queries at depth 20, verify "
        "throughput and peak memory. Then measures the committer against "
        "the raw limit of the disk: transitions (one packet with its index "
        "entries and one state row each) committed by Stardust, and the very "
        "keys and bytes it wrote written again as plain RocksDB WriteBatches "
        "into a database with the same options, sync on, one batch per "
        "commit, at group sizes 1, 16 and 256; the two sides alternate every "
        "quarter second so both meet the same disk.",
        opts, {}, args, vm))
    return *rc;
  if (group_sizes.empty())
    group_sizes = {1, 16, 256};
  if (transitions == 0 || budget <= 0
      || std::find(group_sizes.begin(), group_sizes.end(), size_t{0})
           != group_sizes.end()) {
    print_error("--transitions, --seconds and --group-size must be positive");
    return exit_usage;
  }
  bool json_out = vm.count("json") > 0;
  // -- where the databases go
  work_folder folder;
  std::error_code ec;
  if (!data.empty()) {
    folder.path = data;
    folder.keep = true;
    fs::create_directories(folder.path, ec);
    for (auto sub : {"commit", "raw", "lineage"})
      if (fs::exists(folder.path / sub, ec)) {
        print_error(data + "/" + sub
                    + " exists already: give --data an empty folder");
        return exit_failure;
      }
  } else {
    auto pattern = (fs::temp_directory_path(ec) / "omniva-bench-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) {
      print_error("cannot create a temporary folder");
      return exit_failure;
    }
    folder.path = pattern;
  }
  auto fail = [](const std::string& what, const caf::error& err) {
    print_error(what + ": " + error_text(err));
    return exit_failure;
  };
  // -- lineage, first: its peak RSS is then its own, not the commit part's
  // memtables (ru_maxrss only ever grows)
  lineage_figures lineage;
  if (lineage_packets > 0) {
    storage::database_options setup;
    setup.sync = false; // setup, not the measured part
    auto db = scratch_database::open(folder.database("lineage"), setup);
    if (!db)
      return fail("opening the lineage database", db.error());
    std::vector<uint64_t> samples;
    if (auto err = build_lineage(*db, lineage_packets, seed, lineage, samples))
      return fail("building the lineage log", err);
    std::cerr << "commit_bench: " << samples.size()
              << " ancestor queries at depth 20" << std::endl;
    if (auto err = query_lineage(*db->read, samples, lineage))
      return fail("querying ancestors", err);
    std::sort(lineage.latencies_ms.begin(), lineage.latencies_ms.end());
    std::cerr << "commit_bench: verify" << std::endl;
    auto start = steady::now();
    auto report = storage::verify(*db->read);
    lineage.verify_seconds = seconds_since(start);
    lineage.verify_ok = report.ok;
    lineage.verify_reason = report.reason;
    lineage.peak_rss_mb = peak_rss_mb();
  }
  if (lineage_packets > 0)
    ::sync(); // the log was written without sync: have the kernel write it
              // back now, not during the fsyncs measured next
  // -- commit: Stardust and the raw replay of exactly its writes
  std::vector<commit_figures> commits;
  {
    auto stardust = scratch_database::open(folder.database("commit"));
    if (!stardust)
      return fail("opening the Stardust database", stardust.error());
    auto raw = scratch_database::open(folder.database("raw"));
    if (!raw)
      return fail("opening the raw database", raw.error());
    for (auto group_size : group_sizes) {
      auto work = make_transitions(transitions, seed + group_size);
      std::cerr << "commit_bench: group size " << group_size << "..."
                << std::flush;
      auto fig = measure_group(*stardust, *raw, work, group_size, budget);
      if (!fig)
        return fail("group size " + std::to_string(group_size), fig.error());
      std::cerr << ' ' << fig->transitions << " transitions\n";
      commits.push_back(*fig);
    }
  }
  // -- report
  auto peak = peak_rss_mb();
  json::array commit_rows;
  for (auto& c : commits) {
    auto n = static_cast<double>(c.transitions);
    auto stardust_tps = n / c.stardust_seconds;
    auto raw_tps = n / c.raw_seconds;
    auto ratio = stardust_tps / raw_tps;
    json::value row{json::object{}};
    row.set("group_size", static_cast<uint64_t>(c.group_size));
    row.set("transitions", c.transitions);
    row.set("keys", c.keys);
    row.set("bytes", c.bytes);
    row.set("stardust_seconds", rounded(c.stardust_seconds, 3));
    row.set("raw_seconds", rounded(c.raw_seconds, 3));
    row.set("raw_tps", rounded(raw_tps, 1));
    row.set("stardust_tps", rounded(stardust_tps, 1));
    row.set("ratio", rounded(ratio, 3));
    if (auto target = ratio_target(c.group_size)) {
      row.set("target", *target);
      row.set("meets_target", ratio >= *target);
    }
    commit_rows.push_back(std::move(row));
  }
  json::value out{json::object{}};
  out.set("benchmark", "commit");
  out.set("what",
          "transitions/s (one packet + its index entries + one state row), "
          "Stardust's committer vs plain RocksDB WriteBatches of exactly the "
          "same keys and bytes, sync on, same database options");
  out.set("sync", true);
  out.set("stardust_seconds_per_group_at_most", budget);
  out.set("commit", std::move(commit_rows));
  if (lineage_packets > 0) {
    auto verify_rate = static_cast<double>(lineage.packets)
                       / lineage.verify_seconds;
    auto p99 = quantile(lineage.latencies_ms, 0.99);
    json::value l{json::object{}};
    l.set("packets", lineage.packets);
    l.set("pipelines", lineage.pipelines);
    l.set("build_seconds", rounded(lineage.build_seconds, 2));
    l.set("ancestor_queries",
          static_cast<uint64_t>(lineage.latencies_ms.size()));
    l.set("ancestors_depth20_mean_found", rounded(lineage.mean_ancestors, 1));
    l.set("ancestors_depth20_p50_ms",
          rounded(quantile(lineage.latencies_ms, 0.5), 3));
    l.set("ancestors_depth20_p99_ms", rounded(p99, 3));
    l.set("ancestors_depth20_p99_target_ms", p99_target_ms);
    l.set("ancestors_meets_target", p99 < p99_target_ms);
    l.set("verify_ok", lineage.verify_ok);
    if (!lineage.verify_ok)
      l.set("verify_reason", lineage.verify_reason);
    l.set("verify_seconds", rounded(lineage.verify_seconds, 2));
    l.set("verify_packets_per_second", rounded(verify_rate, 0));
    l.set("verify_target", verify_target);
    l.set("verify_meets_target", verify_rate >= verify_target);
    l.set("peak_rss_mb", rounded(lineage.peak_rss_mb, 1));
    out.set("lineage", std::move(l));
  }
  out.set("process_peak_rss_mb", rounded(peak, 1));
  if (folder.keep)
    out.set("data", fs::absolute(folder.path).string());
  if (json_out) {
    std::cout << json::serialize(out, json::style::pretty) << '\n';
  } else {
    for (auto& row : out.find("commit")->as_array()) {
      std::cout << "group " << json::serialize(*row.find("group_size")) << ": "
                << json::serialize(*row.find("transitions"))
                << " transitions, raw "
                << json::serialize(*row.find("raw_tps")) << "/s, Stardust "
                << json::serialize(*row.find("stardust_tps")) << "/s, ratio "
                << json::serialize(*row.find("ratio"));
      if (auto* t = row.find("target"))
        std::cout << " (target " << json::serialize(*t) << ": "
                  << (row.find("meets_target")->as_bool() ? "met" : "MISSED")
                  << ")";
      std::cout << '\n';
    }
    if (auto* l = out.find("lineage")) {
      auto field = [&](std::string_view key) {
        return json::serialize(*l->find(key));
      };
      std::cout << "lineage: " << field("packets") << " packets built in "
                << field("build_seconds") << " s; ancestors at depth 20: p50 "
                << field("ancestors_depth20_p50_ms") << " ms, p99 "
                << field("ancestors_depth20_p99_ms") << " ms ("
                << field("ancestors_depth20_mean_found")
                << " packets on average); verify "
                << (lineage.verify_ok ? "ok" : "FAILED: " + lineage.verify_reason)
                << ", " << field("verify_packets_per_second")
                << " packets/s; peak RSS " << field("peak_rss_mb") << " MiB\n";
    }
    std::cout << "peak RSS: "
              << json::serialize(*out.find("process_peak_rss_mb"))
              << " MiB (the whole run)\n";
    if (folder.keep)
      std::cout << "databases kept in " << folder.path.string() << '\n';
  }
  if (lineage_packets > 0 && !lineage.verify_ok) {
    print_error("the lineage log does not verify: " + lineage.verify_reason);
    return exit_failure;
  }
  return exit_ok;
}

} // namespace

} // namespace omniva::bench

int main(int argc, char** argv) {
  return omniva::bench::run_commit({argv + 1, argv + argc});
}
