#pragma once

// storage/ internals: the open RocksDB instance, its column families, the key
// encodings, and the one place where a rocksdb::Status becomes our error.
// Never included outside storage/, except by the one program that writes
// RocksDB past the committer on purpose: the raw replay of
// benchmarks/commit_bench (benchmarks/raw_replay.cpp).

#include "contracts/error_code.hpp"
#include "storage/table.hpp"

#include <rocksdb/db.h>
#include <rocksdb/slice.h>

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>

namespace omniva::storage {

/// The column families, in the order they are opened (DESIGN.md §5, plus
/// `stardust_subject`: subject id + seq, for the history of a task or asset,
/// `policies`: the registry's policies, `holds`: which unfinished task
/// holds which asset, `tokens`, `webhooks` and `quarantines`). A database made before a
/// family existed gets it when
/// a node next opens it (create_missing_column_families); until then a
/// reader (`open_reader`) has a null handle for it.
enum class cf : uint8_t {
  default_family,
  stardust,
  stardust_id,
  stardust_child,
  stardust_trace,
  stardust_subject,
  assets,
  tasks,
  modules,
  schemas,
  policies,
  holds,
  tokens,
  webhooks,
  quarantines,
  pipelines,
  runs,
  triggers,
  personas,
  limits,
  predicates,
  meta,
  count,
};

/// The column family names, indexed by `cf`.
inline constexpr std::array<std::string_view, static_cast<size_t>(cf::count)>
  cf_names = {"default",         "stardust",       "stardust_id",
              "stardust_child",  "stardust_trace", "stardust_subject",
              "assets",          "tasks",          "modules",
              "schemas",         "policies",       "holds",
              "tokens",          "webhooks",       "quarantines",
              "pipelines",       "runs",           "triggers",
              "personas",        "limits",         "predicates",
              "meta"};

/// Whether every database has family `f` from its first open on. Only
/// `policies`, `holds`, `tokens` and `webhooks` came later: a database made
/// before one lacks it
/// until a node opens it. Any other family missing means a damaged database
/// (its MANIFEST lost the record that creates the family).
constexpr bool always_present(cf f) noexcept {
  return f != cf::policies && f != cf::holds && f != cf::tokens
         && f != cf::webhooks && f != cf::quarantines && f != cf::pipelines
         && f != cf::runs && f != cf::triggers && f != cf::personas
         && f != cf::limits && f != cf::predicates;
}

/// Returns the family holding the rows of `t`.
constexpr cf family_of(table t) noexcept {
  switch (t) {
    case table::assets:
      return cf::assets;
    case table::tasks:
      return cf::tasks;
    case table::modules:
      return cf::modules;
    case table::schemas:
      return cf::schemas;
    case table::policies:
      return cf::policies;
    case table::holds:
      return cf::holds;
    case table::tokens:
      return cf::tokens;
    case table::webhooks:
      return cf::webhooks;
    case table::quarantines:
      return cf::quarantines;
    case table::pipelines:
      return cf::pipelines;
    case table::runs:
      return cf::runs;
    case table::triggers:
      return cf::triggers;
    case table::personas:
      return cf::personas;
    case table::limits:
      return cf::limits;
    case table::predicates:
      return cf::predicates;
  }
  return cf::assets;
}

/// An open database. Closed (handles released, then the DB) on destruction.
struct db_handle {
  std::unique_ptr<rocksdb::DB> db;
  /// Null only for a family that may be missing (`always_present`).
  std::array<rocksdb::ColumnFamilyHandle*, static_cast<size_t>(cf::count)>
    families{};
  rocksdb::WriteOptions write_options;
  /// The database folder (where its witness lives, storage/witness.hpp).
  std::string path;
  /// Set for a secondary (read-only) instance: its scratch folder.
  std::string secondary_path;
  /// A secondary changes its view only when it catches up with the writer
  /// (`reader::refresh`, exclusive); a `read_view` holds it shared, since a
  /// secondary has no snapshots.
  mutable std::shared_mutex catch_up;

  rocksdb::ColumnFamilyHandle* operator[](cf f) const noexcept {
    return families[static_cast<size_t>(f)];
  }

  ~db_handle();
};

/// One consistent view of a database for a sequence of reads: every read
/// made with `options()` sees the same commits, whatever the committer
/// writes meanwhile. On a primary instance it is a RocksDB snapshot; on a
/// secondary (which has none) it holds off catching up with the writer
/// until the view ends. Cheap to make; release it soon (a snapshot keeps
/// old versions alive, a secondary's view holds back `refresh`).
class read_view {
public:
  explicit read_view(const db_handle& db);
  ~read_view();
  read_view(const read_view&) = delete;
  read_view& operator=(const read_view&) = delete;

  /// Read options for every Get and iterator of the view (`fill_cache` off:
  /// the reads of a view are scans that must not evict what point reads
  /// need).
  const rocksdb::ReadOptions& options() const noexcept {
    return options_;
  }

private:
  const db_handle& db_;
  std::shared_lock<std::shared_mutex> held_;
  const rocksdb::Snapshot* snapshot_ = nullptr;
  rocksdb::ReadOptions options_;
};

/// Turns a RocksDB status into our error (the one place that does):
/// `corruption`, `database_locked`, `not_found` or `storage_error`, with
/// `what` (the operation) and RocksDB's own message as context.
caf::error to_error(const rocksdb::Status& s, std::string_view what);

// -- keys ----------------------------------------------------------------------

/// `seq` as 8 big-endian bytes: keys sort in sequence order.
std::string encode_seq(uint64_t seq);

/// The inverse of `encode_seq`; nullopt unless exactly 8 bytes.
std::optional<uint64_t> decode_seq(std::string_view bytes) noexcept;

/// The raw 32 bytes of a packet id given in hex; nullopt when not an id.
std::optional<std::string> id_bytes(std::string_view hex);

/// Hex of raw id bytes.
std::string id_hex(std::string_view bytes);

/// Key of a secondary index on a name (trace id, subject id): the name, a
/// zero byte, the sequence number.
std::string name_seq_key(std::string_view name, uint64_t seq);

/// Meta keys: the chain head, the next sequence number, and the first
/// sequence number from which every packet records the digests of the rows
/// its commit wrote (`rows_recorded_from`; absent in a database no
/// committer of this format has opened).
inline constexpr std::string_view meta_head = "head";
inline constexpr std::string_view meta_next_seq = "next_seq";
inline constexpr std::string_view meta_rows_from = "rows_recorded_from";

/// Meta key set once the asset rows no longer carry their holders: every
/// hold is a row of `holds` (written by the migration on open for a
/// database made before; at the first open of a new one). Its value is
/// empty.
inline constexpr std::string_view meta_holds_in_table = "holds_in_table";

/// The error for a family that a database lacks (`families` holds null).
caf::error missing_family(cf f);

// -- the rows a packet records ---------------------------------------------------

/// The payload member in which a packet records the rows its commit wrote:
/// `"_rows": {"<table>": {"<key>": "<row digest>" or null (erased)}}`. The
/// committer writes it; a payload may not carry it otherwise.
inline constexpr std::string_view rows_member = "_rows";

/// The digest a packet records for a row: SHA-256 (lowercase hex) of the
/// row's bytes as stored.
std::string row_digest(std::string_view row);

inline rocksdb::Slice slice(std::string_view s) noexcept {
  return {s.data(), s.size()};
}

inline std::string_view view(const rocksdb::Slice& s) noexcept {
  return {s.data(), s.size()};
}

} // namespace omniva::storage
