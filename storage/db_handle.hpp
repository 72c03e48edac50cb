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
#include <string>
#include <string_view>

namespace omniva::storage {

/// The column families, in the order they are opened (DESIGN.md §5, plus
/// `stardust_subject`: subject id + seq, for the history of a task or asset,
/// and `policies`: the registry's policies). A database made before a family
/// existed gets it when a node next opens it (create_missing_column_families);
/// until then a reader (`open_reader`) has a null handle for it.
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
  meta,
  count,
};

/// The column family names, indexed by `cf`.
inline constexpr std::array<std::string_view, static_cast<size_t>(cf::count)>
  cf_names = {"default",         "stardust",       "stardust_id",
              "stardust_child",  "stardust_trace", "stardust_subject",
              "assets",          "tasks",          "modules",
              "schemas",         "policies",       "meta"};

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
  }
  return cf::assets;
}

/// An open database. Closed (handles released, then the DB) on destruction.
struct db_handle {
  std::unique_ptr<rocksdb::DB> db;
  std::array<rocksdb::ColumnFamilyHandle*, static_cast<size_t>(cf::count)>
    families{};
  rocksdb::WriteOptions write_options;
  /// Set for a secondary (read-only) instance: its scratch folder.
  std::string secondary_path;

  rocksdb::ColumnFamilyHandle* operator[](cf f) const noexcept {
    return families[static_cast<size_t>(f)];
  }

  ~db_handle();
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

/// Meta keys.
inline constexpr std::string_view meta_head = "head";
inline constexpr std::string_view meta_next_seq = "next_seq";

inline rocksdb::Slice slice(std::string_view s) noexcept {
  return {s.data(), s.size()};
}

inline std::string_view view(const rocksdb::Slice& s) noexcept {
  return {s.data(), s.size()};
}

} // namespace omniva::storage
