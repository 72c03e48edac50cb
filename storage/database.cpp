#include "storage/database.hpp"

#include "contracts/ids.hpp"
#include "contracts/json.hpp"
#include "contracts/status.hpp"
#include "storage/commit.hpp"
#include "storage/db_handle.hpp"
#include "storage/witness.hpp"

#include <rocksdb/cache.h>
#include <rocksdb/env.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/options.h>

#include <cstdarg>
#include <cstdio>
#include <string_view>
#include <rocksdb/slice_transform.h>
#include <rocksdb/table.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <system_error>

namespace omniva::storage {

using contracts::ec;
using contracts::make_error;

// -- the one place where a rocksdb::Status becomes our error --------------------

caf::error to_error(const rocksdb::Status& s, std::string_view what) {
  std::string context{what};
  context += ": ";
  context += s.ToString();
  if (s.IsCorruption())
    return make_error(ec::corruption, std::move(context));
  if (s.IsNotFound() || s.IsPathNotFound())
    return make_error(ec::not_found, std::move(context));
  if (s.IsIOError() && s.ToString().find("lock") != std::string::npos)
    return make_error(ec::database_locked,
                      std::string{what}
                        + ": the database is open for writing elsewhere ("
                        + s.ToString() + ")");
  return make_error(ec::storage_error, std::move(context));
}

db_handle::~db_handle() {
  if (db) {
    for (auto* h : families)
      if (h != nullptr)
        db->DestroyColumnFamilyHandle(h);
    db->Close();
    db.reset();
  }
  if (!secondary_path.empty()) {
    std::error_code ignored;
    std::filesystem::remove_all(secondary_path, ignored);
  }
}

caf::error missing_family(cf f) {
  return make_error(ec::corruption,
                    "the database has no column family '"
                      + std::string{cf_names[static_cast<size_t>(f)]}
                      + "': its MANIFEST lost the record that creates it "
                        "(the database is damaged)");
}

// -- read views ----------------------------------------------------------------

read_view::read_view(const db_handle& db) : db_(db) {
  options_.fill_cache = false;
  if (db.secondary_path.empty()) {
    snapshot_ = db.db->GetSnapshot();
    options_.snapshot = snapshot_;
  } else {
    // A secondary has no snapshots (its iterators refuse one); its view
    // changes only when it catches up, which waits for this view to end.
    held_ = std::shared_lock<std::shared_mutex>{db.catch_up};
  }
}

read_view::~read_view() {
  if (snapshot_ != nullptr)
    db_.db->ReleaseSnapshot(snapshot_);
}

// -- keys ----------------------------------------------------------------------

std::string encode_seq(uint64_t seq) {
  std::string out(8, '\0');
  for (int i = 7; i >= 0; --i) {
    out[static_cast<size_t>(i)] = static_cast<char>(seq & 0xFF);
    seq >>= 8;
  }
  return out;
}

std::optional<uint64_t> decode_seq(std::string_view bytes) noexcept {
  if (bytes.size() != 8)
    return std::nullopt;
  uint64_t seq = 0;
  for (auto c : bytes)
    seq = seq << 8 | static_cast<uint8_t>(c);
  return seq;
}

std::optional<std::string> id_bytes(std::string_view hex) {
  auto d = contracts::digest_from_hex(hex);
  if (!d)
    return std::nullopt;
  return std::string{reinterpret_cast<const char*>(d->data()), d->size()};
}

std::string id_hex(std::string_view bytes) {
  contracts::digest d{};
  for (size_t i = 0; i < d.size() && i < bytes.size(); ++i)
    d[i] = static_cast<uint8_t>(bytes[i]);
  return contracts::to_hex(d);
}

std::string row_digest(std::string_view row) {
  return contracts::to_hex(contracts::sha256(row));
}

std::string name_seq_key(std::string_view name, uint64_t seq) {
  std::string key{name};
  key += '\0';
  key += encode_seq(seq);
  return key;
}

std::string_view to_string(table t) noexcept {
  return cf_names[static_cast<size_t>(family_of(t))];
}

std::string_view row_noun(table t) noexcept {
  switch (t) {
    case table::assets:
      return "asset";
    case table::tasks:
      return "task";
    case table::modules:
      return "module";
    case table::schemas:
      return "schema";
    case table::policies:
      return "policy";
    case table::holds:
      return "hold";
    case table::tokens:
      return "token";
    case table::webhooks:
      return "webhook";
    case table::quarantines:
      return "quarantine";
    case table::pipelines:
      return "pipeline";
    case table::runs:
      return "run";
    case table::triggers:
      return "trigger";
    case table::personas:
      return "personas";
    case table::limits:
      return "limit";
    case table::predicates:
      return "predicate";
  }
  return "row";
}

std::string hold_key(std::string_view asset_id, std::string_view task_id) {
  std::string key;
  key.reserve(asset_id.size() + 1 + task_id.size());
  key += asset_id;
  key += '\0';
  key += task_id;
  return key;
}

std::optional<std::pair<std::string_view, std::string_view>>
split_hold_key(std::string_view key) noexcept {
  auto zero = key.find('\0');
  if (zero == std::string_view::npos || zero == 0 || zero + 1 == key.size()
      || key.find('\0', zero + 1) != std::string_view::npos)
    return std::nullopt;
  return std::pair{key.substr(0, zero), key.substr(zero + 1)};
}

std::string_view justifying_subject(table t, std::string_view key) noexcept {
  if (t != table::holds)
    return key;
  auto parts = split_hold_key(key);
  return parts ? parts->second : std::string_view{};
}

std::string describe_row(table t, std::string_view key) {
  if (t == table::holds) {
    if (auto parts = split_hold_key(key))
      return "hold of task '" + std::string{parts->second} + "' on asset '"
             + std::string{parts->first} + "'";
    std::string printable{key};
    std::replace(printable.begin(), printable.end(), '\0', '/');
    return "hold '" + printable + "'";
  }
  return std::string{row_noun(t)} + " '" + std::string{key} + "'";
}

std::string database_path(const std::string& data_dir) {
  return (std::filesystem::path{data_dir} / "db").string();
}

// -- opening -----------------------------------------------------------------------

namespace {

/// The bound on the live write-ahead log (`max_total_wal_size`). Replaying
/// it at open costs about what writing it cost the write thread (memtable
/// inserts, key by key): at 32 MiB, about 6,000 tasks of log, well under a
/// second here.
constexpr uint64_t max_live_log_bytes = 32 << 20;

/// RocksDB's own log (its LOG file by default) goes to stderr, warnings
/// and worse only (a missing file or folder RocksDB then creates
/// is no warning). RocksDB's file logger writes through a file
/// writer that, once a write failed (a full disk), aborts the process on
/// the next message in Debian's build (an assertion), and every close
/// writes messages: a node that met a full disk must still stop cleanly.
class node_log_for_rocksdb : public rocksdb::Logger {
public:
  node_log_for_rocksdb() : rocksdb::Logger(rocksdb::InfoLogLevel::WARN_LEVEL) {
  }
  using rocksdb::Logger::Logv;
  void Logv(const char* format, va_list ap) override {
    Logv(rocksdb::InfoLogLevel::WARN_LEVEL, format, ap);
  }
  void Logv(const rocksdb::InfoLogLevel level, const char* format,
            va_list ap) override {
    if (level < GetInfoLogLevel())
      return;
    char line[1024];
    std::vsnprintf(line, sizeof line, format, ap);
    // A database being created: RocksDB reports the folder it then makes.
    if (std::string_view{line}.find("NotFound") != std::string_view::npos)
      return;
    // On stderr, whoever opened the database: a command's stdout may be
    // its JSON answer (omniva restore --json opens one).
    std::fprintf(stderr, "rocksdb %s: %s\n",
                 level >= rocksdb::InfoLogLevel::ERROR_LEVEL ? "error" : "warning",
                 line);
  }
};

rocksdb::Options base_options() {
  rocksdb::Options options;
  options.create_missing_column_families = true;
  options.info_log = std::make_shared<node_log_for_rocksdb>();
  options.IncreaseParallelism(2);
  options.max_background_jobs = 2;
  // Thirteen column families at RocksDB's default 64 MiB x 2 write buffers
  // each could hold well over a gigabyte: cap all memtables together.
  options.db_write_buffer_size = 128 << 20;
  // Bound the write-ahead log. A log file can go only once every family
  // with data in it has flushed that data, and families written little
  // (`meta`'s few keys, the registry's tables) may never fill a memtable:
  // left to RocksDB's default bound (four times all write buffers, 6.5 GB
  // here) their data kept every log alive, 2.8 GB after 12,800 tasks, and a
  // restart replayed all of it (8.1 s). Past this size RocksDB flushes the
  // families that pin the oldest log, so a restart (after a crash too)
  // replays at most about this much.
  options.max_total_wal_size = max_live_log_bytes;
  return options;
}

/// The name part of an index key `name \0 seq`: a name's entries arrive in
/// seq order, each just after the last, so RocksDB keeps one insert hint per
/// name and places the next entry without searching the whole memtable.
class name_of_index_key : public rocksdb::SliceTransform {
public:
  const char* Name() const override {
    return "omniva.name_of_index_key";
  }
  rocksdb::Slice Transform(const rocksdb::Slice& key) const override {
    return {key.data(), key.size() - 9};
  }
  bool InDomain(const rocksdb::Slice& key) const override {
    return key.size() > 9;
  }
};

/// The whole key of a state row: a task's row is rewritten at each step of
/// its life, so the hint is where it was written last.
class whole_row_key : public rocksdb::SliceTransform {
public:
  const char* Name() const override {
    return "omniva.whole_row_key";
  }
  rocksdb::Slice Transform(const rocksdb::Slice& key) const override {
    return key;
  }
  bool InDomain(const rocksdb::Slice&) const override {
    return true;
  }
};

std::vector<rocksdb::ColumnFamilyDescriptor> descriptors() {
  // Point lookups (packet by id, parent checks) use bloom filters.
  rocksdb::BlockBasedTableOptions table;
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  // One cache shared by every family (RocksDB's default is 8 MiB each).
  static auto cache = rocksdb::NewLRUCache(64 << 20);
  table.block_cache = cache;
  rocksdb::ColumnFamilyOptions with_filter;
  with_filter.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  // Insert hints (memtable_insert_with_hint_prefix_extractor) for the
  // families whose new keys land next to a key written shortly before: the
  // subject and trace indices and the rows of tasks and assets. Keys of the
  // log itself arrive in order; packet ids and child links are random.
  auto index_hint = std::make_shared<name_of_index_key>();
  auto row_hint = std::make_shared<whole_row_key>();
  std::vector<rocksdb::ColumnFamilyDescriptor> result;
  for (size_t i = 0; i < cf_names.size(); ++i) {
    auto options = with_filter;
    switch (static_cast<cf>(i)) {
      case cf::stardust_trace:
      case cf::stardust_subject:
        options.memtable_insert_with_hint_prefix_extractor = index_hint;
        break;
      case cf::tasks:
      case cf::assets:
        options.memtable_insert_with_hint_prefix_extractor = row_hint;
        break;
      default:
        break;
    }
    result.emplace_back(std::string{cf_names[i]}, options);
  }
  return result;
}

caf::error adopt(db_handle& h, rocksdb::DB* db,
                 std::vector<rocksdb::ColumnFamilyHandle*>& handles) {
  h.db.reset(db);
  if (handles.size() != h.families.size())
    return make_error(ec::storage_error, "unexpected column families");
  for (size_t i = 0; i < handles.size(); ++i)
    h.families[i] = handles[i];
  return caf::none;
}

/// The first family the database must have and `present` lacks.
std::optional<cf> first_missing(const std::vector<std::string>& present) {
  for (size_t i = 0; i < cf_names.size(); ++i)
    if (always_present(static_cast<cf>(i))
        && std::find(present.begin(), present.end(), cf_names[i])
             == present.end())
      return static_cast<cf>(i);
  return std::nullopt;
}

/// The column families the database at `path` has (nullopt: no database
/// there yet). With `required`, an error for the first family it must have
/// and lacks.
caf::expected<std::optional<std::vector<std::string>>>
present_families(const rocksdb::Options& options, const std::string& path,
                 bool required) {
  std::error_code ignored;
  if (!std::filesystem::exists(std::filesystem::path{path} / "CURRENT", ignored))
    return std::optional<std::vector<std::string>>{};
  std::vector<std::string> present;
  auto s = rocksdb::DB::ListColumnFamilies(options, path, &present);
  if (!s.ok())
    return to_error(s, "listing the column families of " + path);
  if (auto missing = first_missing(present); missing && required)
    return missing_family(*missing);
  return std::optional<std::vector<std::string>>{std::move(present)};
}

/// Whether the database at `path`, which has the families `present`, holds
/// nothing: a database whose first open was cut short while it created its
/// families (they are created one after the other). Opens it read-only.
caf::expected<bool> holds_nothing(const rocksdb::Options& options,
                                  const std::string& path,
                                  const std::vector<std::string>& present) {
  std::vector<rocksdb::ColumnFamilyDescriptor> wanted;
  for (auto& name : present)
    wanted.emplace_back(name, rocksdb::ColumnFamilyOptions{});
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  auto s = rocksdb::DB::OpenForReadOnly(options, path, wanted, &handles, &raw);
  if (!s.ok())
    return to_error(s, "opening " + path + " to look at it");
  std::unique_ptr<rocksdb::DB> db{raw};
  bool empty = true;
  for (auto* h : handles) {
    std::unique_ptr<rocksdb::Iterator> it{db->NewIterator({}, h)};
    it->SeekToFirst();
    if (it->Valid() || !it->status().ok())
      empty = false;
  }
  for (auto* h : handles)
    db->DestroyColumnFamilyHandle(h);
  db->Close();
  return empty;
}

/// The end of the log as `meta` states it and as the log holds it.
struct log_end {
  /// From `meta`: packets and the chain head (raw id bytes).
  uint64_t meta_packets = 0;
  std::string meta_head;
  /// From the log itself: its last sequence number and that packet's id.
  uint64_t last_seq = 0;
  std::string last_id;
};

caf::expected<log_end> read_log_end(db_handle& h) {
  log_end out;
  std::string value;
  auto s = h.db->Get({}, h[cf::meta], slice(meta_next_seq), &value);
  if (s.ok()) {
    auto seq = decode_seq(value);
    if (!seq || *seq == 0)
      return make_error(ec::corruption, "meta: next_seq is damaged");
    out.meta_packets = *seq - 1;
  } else if (!s.IsNotFound()) {
    return to_error(s, "reading meta");
  }
  s = h.db->Get({}, h[cf::meta], slice(meta_head), &out.meta_head);
  if (s.ok()) {
    if (out.meta_head.size() != 32)
      return make_error(ec::corruption, "meta: head is not a packet id");
  } else if (!s.IsNotFound()) {
    return to_error(s, "reading meta");
  }
  std::unique_ptr<rocksdb::Iterator> it{h.db->NewIterator({}, h[cf::stardust])};
  it->SeekToLast();
  if (!it->status().ok())
    return to_error(it->status(), "reading the end of the log");
  if (it->Valid()) {
    auto seq = decode_seq(view(it->key()));
    if (!seq || it->value().size() < 32)
      return make_error(ec::corruption, "the last packet of the log is damaged");
    out.last_seq = *seq;
    out.last_id = std::string{view(it->value()).substr(0, 32)};
  }
  return out;
}

/// Refuses a log whose end disagrees with `meta`: a family lost or rolled
/// back on its own. The committer would otherwise overwrite packets.
caf::error check_log_end(const log_end& end) {
  if (end.meta_packets == end.last_seq && end.meta_head == end.last_id)
    return caf::none;
  return make_error(ec::corruption,
                    "meta says the log holds " + std::to_string(end.meta_packets)
                      + " packets, the log ends at packet "
                      + std::to_string(end.last_seq)
                      + (end.meta_packets == end.last_seq
                           ? std::string{" with another head"}
                           : std::string{})
                      + ": the database is damaged; run `omniva lineage "
                        "verify` for details");
}

/// Refuses a log that lost packets its witness knows of.
caf::error check_witness(db_handle& h, const std::optional<chain_witness>& w,
                         uint64_t packets) {
  if (!w)
    return caf::none;
  std::string id;
  if (w->packets > 0 && w->packets <= packets) {
    std::string value;
    auto s = h.db->Get({}, h[cf::stardust], slice(encode_seq(w->packets)),
                       &value);
    if (!s.ok() && !s.IsNotFound())
      return to_error(s, "reading the packet the witness names");
    if (s.ok() && value.size() >= 32)
      id = id_hex(std::string_view{value}.substr(0, 32));
  }
  auto loss = describe_loss(*w, packets, id);
  if (loss.empty())
    return caf::none;
  return make_error(ec::corruption,
                    loss + " (" + witness_path(h.path)
                      + "). Restore the database from a backup; to go on "
                        "with what is left, move the witness file away");
}

/// How many asset rows one commit of the holds migration rewrites.
constexpr size_t holds_migration_chunk = 512;

/// Whether task `task_id` is unfinished, from its row; false for a task
/// without a row (a hold can only be its own if it exists).
caf::expected<bool> unfinished(const reader& r, const std::string& task_id) {
  auto row = r.get(table::tasks, task_id);
  if (!row) {
    if (row.error().category() == contracts::error_category
        && row.error().code() == static_cast<uint8_t>(ec::not_found))
      return false;
    return row.error();
  }
  auto doc = json::parse(*row);
  const json::value* status = doc ? doc.doc->find("status") : nullptr;
  if (status == nullptr || !status->is_string())
    return make_error(ec::corruption, "the row of task '" + task_id
                                        + "' has no status");
  auto st = contracts::task_status_from_string(status->as_string());
  if (!st)
    return make_error(ec::corruption, "the row of task '" + task_id
                                        + "' has an unknown status");
  return !contracts::is_terminal(*st);
}

/// Moves the holders out of the asset rows of a database made before holds
/// were rows of their own (meta `holds_in_table` absent): each asset row
/// that lists holders is rewritten without them, and each holder that is
/// still unfinished gets its hold row, in one commit per chunk of assets,
/// each asset's changes justified by a packet `asset.holds_moved` (actor
/// `storage`) naming the asset and its holders. Holders that finished are
/// dropped (before, releasing a hold did not rewrite the row, so an asset
/// row could list tasks long done). Then records `holds_in_table`. A
/// migration cut short goes on at the next open: a rewritten row no longer
/// lists holders.
caf::error migrate_holds(db_handle& h, const reader& r, committer& c) {
  std::string ignored;
  auto s = h.db->Get({}, h[cf::meta], slice(meta_holds_in_table), &ignored);
  if (s.ok())
    return caf::none;
  if (!s.IsNotFound())
    return to_error(s, "reading meta");
  auto rows = r.scan(table::assets, "");
  if (!rows)
    return rows.error();
  contracts::random_id_source ids;
  commit_batch batch;
  size_t moved = 0;
  auto flush = [&]() -> caf::error {
    if (batch.empty())
      return caf::none;
    auto receipt = c.commit(batch);
    return receipt ? caf::none : receipt.error();
  };
  for (auto& [asset_id, text] : *rows) {
    if (text.find("\"holds\"") == std::string::npos)
      continue;
    auto doc = json::parse(text);
    if (!doc || !doc.doc->is_object())
      return make_error(ec::corruption,
                        "the row of asset '" + asset_id + "' does not parse");
    auto* listed = doc.doc->find("holds");
    if (listed == nullptr)
      continue;
    if (!listed->is_array())
      return make_error(ec::corruption, "the row of asset '" + asset_id
                                          + "': its holds are not a list");
    std::vector<std::string> kept;
    uint64_t released = 0;
    for (auto& holder : listed->as_array()) {
      if (!holder.is_string() || holder.as_string().empty()
          || holder.as_string().find('\0') != std::string::npos)
        return make_error(ec::corruption, "the row of asset '" + asset_id
                                            + "' lists a holder that is not "
                                              "a task id");
      auto& task_id = holder.as_string();
      if (std::find(kept.begin(), kept.end(), task_id) != kept.end())
        continue;
      auto open = unfinished(r, task_id);
      if (!open)
        return open.error();
      if (*open)
        kept.push_back(task_id);
      else
        ++released;
    }
    doc.doc->erase("holds");
    contracts::packet p;
    p.kind = "asset.holds_moved";
    p.actor = "storage";
    p.trace_id = ids.next_uuid();
    p.at = contracts::format_timestamp(
      std::chrono::time_point_cast<std::chrono::milliseconds>(
        std::chrono::system_clock::now()));
    p.subjects.push_back(asset_id);
    p.subjects.insert(p.subjects.end(), kept.begin(), kept.end());
    auto parent = r.last_of(asset_id);
    if (!parent)
      return parent.error();
    if (!parent->empty())
      p.meta_parents.push_back(*parent);
    json::array holders;
    for (auto& k : kept)
      holders.emplace_back(k);
    json::value payload{json::object{}};
    payload.set("holders", json::value{std::move(holders)});
    payload.set("released", released);
    p.payload = json::serialize(payload);
    auto i = batch.add(std::move(p));
    batch.put(table::assets, asset_id, json::serialize(*doc.doc), i);
    for (auto& k : kept)
      batch.put(table::holds, hold_key(asset_id, k), std::string{}, i);
    if (++moved % holds_migration_chunk == 0)
      if (auto err = flush())
        return err;
  }
  if (auto err = flush())
    return err;
  rocksdb::WriteOptions durable;
  durable.sync = true;
  s = h.db->Put(durable, h[cf::meta], slice(meta_holds_in_table), {});
  if (!s.ok())
    return to_error(s, "recording that holds are rows of their own");
  return caf::none;
}

} // namespace

caf::expected<writable_database> open_database(committer_key,
                                               const std::string& path,
                                               const database_options& opts) {
  auto options = base_options();
  options.create_if_missing = opts.create_if_missing;
  auto witness = witness_writer::open(path);
  if (!witness)
    return witness.error();
  // A family the database must have and lacks would be created empty by
  // the open: refuse before anything changes, unless the database holds
  // nothing (its first open was cut short between two families).
  auto present = present_families(options, path, false);
  if (!present)
    return present.error();
  if (*present) {
    if (auto missing = first_missing(**present)) {
      auto empty = holds_nothing(options, path, **present);
      if (!empty)
        return empty.error();
      if (!*empty || (witness->current() && witness->current()->packets > 0))
        return missing_family(*missing);
    }
  }
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* db = nullptr;
  auto s = rocksdb::DB::Open(options, path, descriptors(), &handles, &db);
  if (!s.ok())
    return to_error(s, "opening " + path);
  auto h = std::make_shared<db_handle>();
  h->path = path;
  if (auto err = adopt(*h, db, handles))
    return err;
  h->write_options.sync = opts.sync;
  // The committer goes on from the chain head and the next sequence number
  // in `meta`, once they agree with the log and the log with its witness.
  auto end = read_log_end(*h);
  if (!end)
    return end.error();
  if (auto err = check_log_end(*end))
    return err;
  if (auto err = check_witness(*h, witness->current(), end->last_seq))
    return err;
  // From the next packet on, every packet records the rows it justifies
  // (a database made before keeps its older packets as they are).
  std::string ignored;
  s = h->db->Get({}, (*h)[cf::meta], slice(meta_rows_from), &ignored);
  if (s.IsNotFound()) {
    rocksdb::WriteOptions durable;
    durable.sync = true;
    s = h->db->Put(durable, (*h)[cf::meta], slice(meta_rows_from),
                   slice(encode_seq(end->last_seq + 1)));
  }
  if (!s.ok())
    return to_error(s, "recording where row digests start");
  committer c{h, std::move(*witness),
              std::chrono::milliseconds{opts.witness_interval_ms}};
  c.next_seq_ = end->last_seq + 1;
  if (!end->last_id.empty())
    c.head_ = id_hex(end->last_id);
  c.written_head_ = c.head_;
  c.written_seq_->store(end->last_seq);
  auto read = std::make_shared<const reader>(h);
  if (auto err = migrate_holds(*h, *read, c))
    return err;
  return writable_database{std::move(read), std::move(c)};
}

caf::expected<std::shared_ptr<const reader>>
open_reader(const std::string& path) {
  std::error_code ec_fs;
  if (!std::filesystem::exists(std::filesystem::path{path} / "CURRENT", ec_fs))
    return make_error(ec::not_found, "no database at " + path);
  auto options = base_options();
  options.max_open_files = -1; // required by secondary instances
  auto scratch = std::filesystem::temp_directory_path(ec_fs)
                 / "omniva-secondary-XXXXXX";
  auto pattern = scratch.string();
  if (mkdtemp(pattern.data()) == nullptr)
    return make_error(ec::storage_error,
                      "cannot create a scratch folder for a reader");
  auto h = std::make_shared<db_handle>();
  h->path = path;
  h->secondary_path = pattern;
  // A reader cannot create families: a database no node has opened since
  // `policies` was added lacks it, and that handle stays null (reads of it
  // find nothing). Any other family missing is damage: refused here, before
  // a null handle could reach RocksDB.
  auto listed = present_families(options, path, true);
  if (!listed)
    return listed.error();
  if (!*listed)
    return make_error(ec::not_found, "no database at " + path);
  auto& present = **listed;
  std::vector<rocksdb::ColumnFamilyDescriptor> wanted;
  std::vector<size_t> slots;
  auto all = descriptors();
  for (size_t i = 0; i < all.size(); ++i)
    if (std::find(present.begin(), present.end(), all[i].name) != present.end()) {
      wanted.push_back(all[i]);
      slots.push_back(i);
    }
  std::vector<rocksdb::ColumnFamilyHandle*> opened;
  rocksdb::DB* db = nullptr;
  auto s = rocksdb::DB::OpenAsSecondary(options, path, pattern, wanted,
                                        &opened, &db);
  if (!s.ok())
    return to_error(s, "opening " + path + " for reading");
  std::vector<rocksdb::ColumnFamilyHandle*> handles(all.size(), nullptr);
  for (size_t i = 0; i < opened.size() && i < slots.size(); ++i)
    handles[slots[i]] = opened[i];
  if (auto err = adopt(*h, db, handles))
    return err;
  if (auto st = h->db->TryCatchUpWithPrimary(); !st.ok())
    return to_error(st, "catching up with the writer of " + path);
  return std::make_shared<const reader>(h);
}

} // namespace omniva::storage
