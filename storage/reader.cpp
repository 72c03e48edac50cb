#include "storage/reader.hpp"

#include "contracts/json.hpp"
#include "storage/db_handle.hpp"

#include <rocksdb/iterator.h>

#include <algorithm>
#include <deque>
#include <mutex>
#include <shared_mutex>
#include <unordered_set>

namespace omniva::storage {

using contracts::ec;
using contracts::make_error;
using contracts::packet;

namespace {

/// Decodes a stored packet: 32 id bytes, then the canonical form.
caf::expected<packet> decode(uint64_t seq, std::string_view value) {
  if (value.size() < 32)
    return make_error(ec::corruption,
                      "packet " + std::to_string(seq) + " is truncated");
  auto p = contracts::packet_from_canonical(value.substr(32));
  if (!p)
    return make_error(ec::corruption,
                      "packet " + std::to_string(seq) + " does not parse");
  p->id = id_hex(value.substr(0, 32));
  return std::move(*p);
}

/// The handle of family `f`; an error when the database lacks it (open
/// refuses a database lacking a family it must have, so only a table added
/// later, `policies`, can be missing here).
caf::expected<rocksdb::ColumnFamilyHandle*> family(const db_handle& db, cf f) {
  if (auto* h = db[f])
    return h;
  return missing_family(f);
}

} // namespace

reader::reader(std::shared_ptr<db_handle> db) : db_(std::move(db)) {
}

reader::~reader() = default;

caf::expected<packet> reader::packet_by_seq(uint64_t seq) const {
  auto f = family(*db_, cf::stardust);
  if (!f)
    return f.error();
  std::string value;
  auto key = encode_seq(seq);
  auto s = db_->db->Get({}, *f, slice(key), &value);
  if (s.IsNotFound())
    return make_error(ec::not_found, "no packet at seq " + std::to_string(seq));
  if (!s.ok())
    return to_error(s, "reading a packet");
  return decode(seq, value);
}

caf::expected<packet> reader::packet_by_id(std::string_view id) const {
  auto raw = id_bytes(id);
  if (!raw)
    return make_error(ec::invalid_digest,
                      "'" + std::string{id} + "' is not a packet id (64 hex digits)");
  auto f = family(*db_, cf::stardust_id);
  if (!f)
    return f.error();
  std::string seq_bytes;
  auto s = db_->db->Get({}, *f, slice(*raw), &seq_bytes);
  if (s.IsNotFound())
    return make_error(ec::not_found, "no packet " + std::string{id});
  if (!s.ok())
    return to_error(s, "looking up a packet id");
  auto seq = decode_seq(seq_bytes);
  if (!seq)
    return make_error(ec::corruption, "the id index entry of "
                                        + std::string{id} + " is damaged");
  return packet_by_seq(*seq);
}

caf::error reader::for_each(
  uint64_t first,
  const std::function<bool(uint64_t, std::string_view, std::string_view)>& f)
  const {
  auto family_handle = family(*db_, cf::stardust);
  if (!family_handle)
    return family_handle.error();
  rocksdb::ReadOptions ro;
  ro.fill_cache = false; // a scan must not evict what point reads need
  std::unique_ptr<rocksdb::Iterator> it{
    db_->db->NewIterator(ro, *family_handle)};
  auto start = encode_seq(first);
  for (it->Seek(slice(start)); it->Valid(); it->Next()) {
    auto seq = decode_seq(view(it->key()));
    if (!seq)
      return make_error(ec::corruption, "a packet key is not a sequence number");
    auto value = view(it->value());
    if (value.size() < 32)
      return make_error(ec::corruption,
                        "packet " + std::to_string(*seq) + " is truncated");
    if (!f(*seq, value.substr(0, 32), value.substr(32)))
      return caf::none;
  }
  if (!it->status().ok())
    return to_error(it->status(), "scanning the log");
  return caf::none;
}

caf::expected<std::vector<packet>>
reader::packets(uint64_t first, uint64_t last, size_t limit) const {
  std::vector<packet> out;
  caf::error failure;
  auto err = for_each(first, [&](uint64_t seq, std::string_view id,
                                 std::string_view canonical) {
    if (seq > last || out.size() >= limit)
      return false;
    std::string value{id};
    value += canonical;
    auto p = decode(seq, value);
    if (!p) {
      failure = p.error();
      return false;
    }
    out.push_back(std::move(*p));
    return true;
  });
  if (err)
    return err;
  if (failure)
    return failure;
  return out;
}

namespace {

/// Reads the packets listed by a name index (trace, subject) in seq order,
/// those with `first <= seq <= last`.
caf::expected<std::vector<packet>> by_name(const reader& r, const db_handle& db,
                                           cf family, std::string_view name,
                                           size_t limit, uint64_t first = 0,
                                           uint64_t last = UINT64_MAX) {
  auto handle = storage::family(db, family);
  if (!handle)
    return handle.error();
  std::vector<packet> out;
  std::string prefix{name};
  prefix += '\0';
  std::unique_ptr<rocksdb::Iterator> it{db.db->NewIterator({}, *handle)};
  auto start = first == 0 ? prefix : name_seq_key(name, first);
  for (it->Seek(slice(start)); it->Valid() && out.size() < limit; it->Next()) {
    auto key = view(it->key());
    if (key.substr(0, prefix.size()) != prefix)
      break;
    auto seq = decode_seq(key.substr(prefix.size()));
    if (!seq)
      return make_error(ec::corruption, "a lineage index key is damaged");
    if (*seq > last)
      break;
    auto p = r.packet_by_seq(*seq);
    if (!p)
      return p.error();
    out.push_back(std::move(*p));
  }
  if (!it->status().ok())
    return to_error(it->status(), "reading a lineage index");
  return out;
}

} // namespace

caf::expected<std::vector<packet>> reader::by_trace(std::string_view trace_id,
                                                    size_t limit) const {
  return by_name(*this, *db_, cf::stardust_trace, trace_id, limit);
}

caf::expected<std::vector<packet>> reader::history(std::string_view subject,
                                                   size_t limit) const {
  return by_name(*this, *db_, cf::stardust_subject, subject, limit);
}

caf::expected<std::vector<packet>>
reader::by_trace(std::string_view trace_id, uint64_t first, uint64_t last,
                 size_t limit) const {
  return by_name(*this, *db_, cf::stardust_trace, trace_id, limit, first, last);
}

caf::expected<std::vector<packet>>
reader::history(std::string_view subject, uint64_t first, uint64_t last,
                size_t limit) const {
  return by_name(*this, *db_, cf::stardust_subject, subject, limit, first,
                 last);
}

namespace {

/// The seq of the last entry under `name` in name index `family` with
/// `seq <= at_most`; 0 when none. One backward seek.
caf::expected<uint64_t> last_seq_in(const db_handle& db, cf family,
                                    std::string_view name, uint64_t at_most) {
  auto handle = storage::family(db, family);
  if (!handle)
    return handle.error();
  if (at_most == 0)
    return uint64_t{0};
  std::string prefix{name};
  prefix += '\0';
  auto bound = name_seq_key(name, at_most);
  std::unique_ptr<rocksdb::Iterator> it{db.db->NewIterator({}, *handle)};
  it->SeekForPrev(slice(bound));
  if (!it->status().ok())
    return to_error(it->status(), "reading a lineage index");
  if (!it->Valid())
    return uint64_t{0};
  auto key = view(it->key());
  if (key.substr(0, prefix.size()) != prefix)
    return uint64_t{0};
  auto seq = decode_seq(key.substr(prefix.size()));
  if (!seq)
    return make_error(ec::corruption, "a lineage index key is damaged");
  return *seq;
}

} // namespace

caf::expected<uint64_t> reader::last_seq_of(std::string_view subject,
                                            uint64_t at_most) const {
  return last_seq_in(*db_, cf::stardust_subject, subject, at_most);
}

caf::expected<uint64_t>
reader::last_seq_of_trace(std::string_view trace_id) const {
  return last_seq_in(*db_, cf::stardust_trace, trace_id, UINT64_MAX);
}

caf::expected<std::string> reader::last_of(std::string_view subject) const {
  auto f = family(*db_, cf::stardust_subject);
  if (!f)
    return f.error();
  std::string prefix{subject};
  prefix += '\0';
  auto bound = prefix + std::string(8, '\xff');
  std::unique_ptr<rocksdb::Iterator> it{db_->db->NewIterator({}, *f)};
  it->SeekForPrev(slice(bound));
  // An iterator that is not valid has either ended or failed: only its
  // status tells which.
  if (!it->status().ok())
    return to_error(it->status(), "reading the subject index");
  if (!it->Valid())
    return std::string{};
  auto key = view(it->key());
  if (key.substr(0, prefix.size()) != prefix)
    return std::string{};
  auto seq = decode_seq(key.substr(prefix.size()));
  if (!seq)
    return make_error(ec::corruption, "a lineage index key is damaged");
  auto p = packet_by_seq(*seq);
  if (!p) {
    // The index names a packet the log lacks: damage, not "no history".
    if (p.error().category() == contracts::error_category
        && p.error().code() == static_cast<uint8_t>(ec::not_found))
      return make_error(ec::corruption,
                        "the subject index names packet " + std::to_string(*seq)
                          + " for '" + std::string{subject}
                          + "', which is not in the log");
    return p.error();
  }
  return p->id;
}

caf::expected<std::vector<std::string>>
reader::children(std::string_view id) const {
  auto raw = id_bytes(id);
  if (!raw)
    return make_error(ec::invalid_digest,
                      "'" + std::string{id} + "' is not a packet id (64 hex digits)");
  auto f = family(*db_, cf::stardust_child);
  if (!f)
    return f.error();
  std::vector<std::string> out;
  std::unique_ptr<rocksdb::Iterator> it{db_->db->NewIterator({}, *f)};
  for (it->Seek(slice(*raw)); it->Valid(); it->Next()) {
    auto key = view(it->key());
    if (key.size() != 64 || key.substr(0, 32) != *raw)
      break;
    out.push_back(id_hex(key.substr(32)));
  }
  if (!it->status().ok())
    return to_error(it->status(), "reading the children index");
  return out;
}

caf::expected<std::vector<lineage_entry>>
reader::walk(std::string_view id, uint32_t max_depth, bool up) const {
  auto start = packet_by_id(id);
  if (!start)
    return start.error();
  std::vector<lineage_entry> out;
  std::unordered_set<std::string> seen{start->id};
  std::deque<std::pair<std::string, uint32_t>> queue;
  auto enqueue_next = [&](const packet& p, uint32_t depth) -> caf::error {
    if (depth >= max_depth)
      return caf::none;
    if (up) {
      for (auto& parent : p.meta_parents)
        if (seen.insert(parent).second)
          queue.emplace_back(parent, depth + 1);
      return caf::none;
    }
    auto kids = children(p.id);
    if (!kids)
      return kids.error();
    for (auto& kid : *kids)
      if (seen.insert(kid).second)
        queue.emplace_back(std::move(kid), depth + 1);
    return caf::none;
  };
  if (auto err = enqueue_next(*start, 0))
    return err;
  while (!queue.empty()) {
    auto [next, depth] = std::move(queue.front());
    queue.pop_front();
    auto p = packet_by_id(next);
    if (!p)
      return p.error();
    if (auto err = enqueue_next(*p, depth))
      return err;
    out.push_back({std::move(*p), depth});
  }
  return out;
}

caf::expected<std::vector<lineage_entry>>
reader::ancestors(std::string_view id, uint32_t max_depth) const {
  return walk(id, max_depth, true);
}

caf::expected<std::vector<lineage_entry>>
reader::descendants(std::string_view id, uint32_t max_depth) const {
  return walk(id, max_depth, false);
}

caf::expected<std::string> reader::get(table t, std::string_view key) const {
  auto* f = (*db_)[family_of(t)];
  std::string value;
  auto s = f == nullptr ? rocksdb::Status::NotFound()
                        : db_->db->Get({}, f, slice(key), &value);
  if (s.IsNotFound())
    return make_error(ec::not_found, "no " + describe_row(t, key));
  if (!s.ok())
    return to_error(s, "reading a state row");
  return value;
}

caf::expected<std::vector<std::string>>
reader::holders(std::string_view asset_id) const {
  std::vector<std::string> out;
  auto* f = (*db_)[cf::holds];
  if (f == nullptr) {
    // A database no node has opened since holds became rows of their own:
    // its asset rows still list their holders.
    auto row = get(table::assets, asset_id);
    if (!row) {
      if (row.error().category() == contracts::error_category
          && row.error().code() == static_cast<uint8_t>(ec::not_found))
        return out;
      return row.error();
    }
    auto doc = json::parse(*row);
    if (!doc)
      return make_error(ec::corruption,
                        "the row of asset '" + std::string{asset_id}
                          + "' does not parse");
    if (auto* holds = doc.doc->find("holds"); holds && holds->is_array())
      for (auto& h : holds->as_array())
        if (h.is_string())
          out.push_back(h.as_string());
    return out;
  }
  auto prefix = hold_key(asset_id, "");
  std::unique_ptr<rocksdb::Iterator> it{db_->db->NewIterator({}, f)};
  for (it->Seek(slice(prefix)); it->Valid(); it->Next()) {
    auto key = view(it->key());
    if (key.substr(0, prefix.size()) != prefix)
      break;
    out.emplace_back(key.substr(prefix.size()));
  }
  if (!it->status().ok())
    return to_error(it->status(), "reading the holds of an asset");
  return out;
}

caf::expected<std::vector<std::pair<std::string, std::string>>>
reader::scan(table t, std::string_view prefix, size_t limit) const {
  std::vector<std::pair<std::string, std::string>> out;
  auto* f = (*db_)[family_of(t)];
  if (f == nullptr)
    return out; // a table added after the database was made: still empty
  std::unique_ptr<rocksdb::Iterator> it{db_->db->NewIterator({}, f)};
  for (it->Seek(slice(prefix)); it->Valid() && out.size() < limit; it->Next()) {
    auto key = view(it->key());
    if (key.substr(0, prefix.size()) != prefix)
      break;
    out.emplace_back(std::string{key}, std::string{view(it->value())});
  }
  if (!it->status().ok())
    return to_error(it->status(), "scanning a state table");
  return out;
}

caf::expected<std::string> reader::head() const {
  auto f = family(*db_, cf::meta);
  if (!f)
    return f.error();
  std::string value;
  auto s = db_->db->Get({}, *f, slice(meta_head), &value);
  if (s.IsNotFound())
    return std::string{};
  if (!s.ok())
    return to_error(s, "reading meta");
  if (value.size() != 32)
    return make_error(ec::corruption, "meta: head is not a packet id");
  return id_hex(value);
}

caf::expected<uint64_t> reader::packet_count() const {
  auto f = family(*db_, cf::meta);
  if (!f)
    return f.error();
  std::string value;
  auto s = db_->db->Get({}, *f, slice(meta_next_seq), &value);
  if (s.IsNotFound())
    return uint64_t{0};
  if (!s.ok())
    return to_error(s, "reading meta");
  auto next = decode_seq(value);
  if (!next || *next == 0)
    return make_error(ec::corruption, "meta: next_seq is damaged");
  return *next - 1;
}

caf::expected<std::optional<chain_witness>> reader::witness() const {
  return read_witness(db_->path);
}

caf::error reader::refresh() const {
  if (db_->secondary_path.empty())
    return caf::none;
  std::unique_lock<std::shared_mutex> guard{db_->catch_up};
  auto s = db_->db->TryCatchUpWithPrimary();
  if (!s.ok())
    return to_error(s, "catching up with the writer");
  return caf::none;
}

std::string event_subject(const contracts::packet& p, const reader& r) {
  if (p.subjects.empty())
    return {};
  if (p.subjects.size() == 1 || !p.kind.starts_with("task."))
    return p.subjects.front();
  if (auto payload = json::parse(p.payload); payload.doc) {
    auto* rows = json::resolve_pointer(*payload.doc, "/_rows/tasks");
    if (rows != nullptr && rows->is_object()) {
      const std::string* found = nullptr;
      size_t n = 0;
      for (auto& [id, digest] : rows->as_object())
        if (std::find(p.subjects.begin(), p.subjects.end(), id)
            != p.subjects.end()) {
          found = &id;
          ++n;
        }
      if (n == 1)
        return *found;
    }
  }
  for (auto& s : p.subjects)
    if (r.get(table::tasks, s))
      return s;
  return p.subjects.front();
}

} // namespace omniva::storage
