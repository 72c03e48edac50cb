#include "storage/database.hpp"

#include "storage/commit.hpp"
#include "storage/db_handle.hpp"

#include <rocksdb/cache.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/options.h>
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

std::string name_seq_key(std::string_view name, uint64_t seq) {
  std::string key{name};
  key += '\0';
  key += encode_seq(seq);
  return key;
}

std::string_view to_string(table t) noexcept {
  return cf_names[static_cast<size_t>(family_of(t))];
}

std::string database_path(const std::string& data_dir) {
  return (std::filesystem::path{data_dir} / "db").string();
}

// -- opening -----------------------------------------------------------------------

namespace {

rocksdb::Options base_options() {
  rocksdb::Options options;
  options.create_missing_column_families = true;
  options.IncreaseParallelism(2);
  options.max_background_jobs = 2;
  // Twelve column families at RocksDB's default 64 MiB x 2 write buffers
  // each could hold well over a gigabyte: cap all memtables together.
  options.db_write_buffer_size = 128 << 20;
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

} // namespace

caf::expected<writable_database> open_database(committer_key,
                                               const std::string& path,
                                               const database_options& opts) {
  auto options = base_options();
  options.create_if_missing = opts.create_if_missing;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* db = nullptr;
  auto s = rocksdb::DB::Open(options, path, descriptors(), &handles, &db);
  if (!s.ok())
    return to_error(s, "opening " + path);
  auto h = std::make_shared<db_handle>();
  if (auto err = adopt(*h, db, handles))
    return err;
  h->write_options.sync = opts.sync;
  // The committer goes on from the chain head and the next sequence number
  // in `meta`.
  committer c{h};
  std::string value;
  s = h->db->Get({}, (*h)[cf::meta], slice(meta_next_seq), &value);
  if (s.ok()) {
    auto seq = decode_seq(value);
    if (!seq)
      return make_error(ec::corruption, "meta: next_seq is not 8 bytes");
    c.next_seq_ = *seq;
  } else if (!s.IsNotFound()) {
    return to_error(s, "reading meta");
  }
  s = h->db->Get({}, (*h)[cf::meta], slice(meta_head), &value);
  if (s.ok()) {
    if (value.size() != 32)
      return make_error(ec::corruption, "meta: head is not a packet id");
    c.head_ = id_hex(value);
  } else if (!s.IsNotFound()) {
    return to_error(s, "reading meta");
  }
  return writable_database{std::make_shared<const reader>(h), std::move(c)};
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
  h->secondary_path = pattern;
  // A reader cannot create families: a database no node has opened since a
  // family was added lacks it, and that handle stays null (only a node reads
  // the newer tables, `policies`; lineage and verify use the others).
  std::vector<std::string> present;
  auto listed = rocksdb::DB::ListColumnFamilies(options, path, &present);
  if (!listed.ok())
    return to_error(listed, "listing the column families of " + path);
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
