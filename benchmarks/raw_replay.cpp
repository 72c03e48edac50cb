#include "benchmarks/raw_replay.hpp"

#include "storage/db_handle.hpp"

#include <rocksdb/write_batch.h>

#include <chrono>

namespace omniva::bench {

using contracts::ec;
using contracts::make_error;
// The key encodings and column families of storage/db_handle.hpp.
using storage::cf_names;
using storage::encode_seq;
using storage::id_bytes;
using storage::meta_head;
using storage::meta_next_seq;
using storage::name_seq_key;
using storage::slice;
using storage::to_error;

caf::expected<std::vector<raw_group>>
log_writes(const storage::reader& r, uint64_t first, uint64_t last,
           size_t per_commit,
           const std::function<void(uint64_t, raw_group&)>& state_rows) {
  if (first == 0 || last < first || per_commit == 0)
    return make_error(ec::invalid_argument,
                      "log_writes needs a non-empty range of packets and a "
                      "group size of at least 1");
  std::vector<raw_group> groups;
  groups.reserve((last - first) / per_commit + 1);
  raw_group group;
  std::string head_raw;
  uint64_t expected = first;
  caf::error failure;
  // The same order as committer::commit: per packet its row, then its index
  // entries; then the group's state rows; then the head and the next
  // sequence number. RocksDB applies a batch as a whole, so the order
  // matters for nothing but faithfulness.
  uint64_t group_first = first;
  auto close_group = [&](uint64_t next_seq) {
    if (state_rows)
      for (auto seq = group_first; seq < next_seq; ++seq)
        state_rows(seq, group);
    group_first = next_seq;
    group.push_back({"meta", std::string{meta_head}, head_raw});
    group.push_back({"meta", std::string{meta_next_seq}, encode_seq(next_seq)});
    groups.push_back(std::move(group));
    group.clear();
  };
  auto err = r.for_each(first, [&](uint64_t seq, std::string_view raw_id,
                                   std::string_view canonical) {
    if (seq > last)
      return false;
    if (seq != expected) {
      failure = make_error(ec::not_found,
                           "packet " + std::to_string(expected) + " is missing");
      return false;
    }
    auto p = contracts::packet_from_canonical(canonical);
    if (!p) {
      failure = make_error(ec::corruption,
                           "packet " + std::to_string(seq) + " does not parse");
      return false;
    }
    auto key = encode_seq(seq);
    std::string value{raw_id};
    value += canonical;
    group.push_back({"stardust", key, std::move(value)});
    group.push_back({"stardust_id", std::string{raw_id}, key});
    for (auto& parent : p->meta_parents) {
      auto parent_raw = id_bytes(parent);
      if (!parent_raw) {
        failure = make_error(ec::corruption,
                             "packet " + std::to_string(seq)
                               + " names a parent that is not a packet id");
        return false;
      }
      group.push_back({"stardust_child", *parent_raw + std::string{raw_id}, {}});
    }
    group.push_back({"stardust_trace", name_seq_key(p->trace_id, seq), {}});
    for (auto& subject : p->subjects)
      group.push_back({"stardust_subject", name_seq_key(subject, seq), {}});
    head_raw = std::string{raw_id};
    ++expected;
    if ((seq - first + 1) % per_commit == 0)
      close_group(seq + 1);
    return true;
  });
  if (err)
    return err;
  if (failure)
    return failure;
  if (expected != last + 1)
    return make_error(ec::not_found,
                      "packet " + std::to_string(expected) + " is missing");
  if (!group.empty())
    close_group(last + 1);
  return groups;
}

caf::expected<raw_replay_report>
replay_raw(storage::writable_database& target,
           const std::vector<raw_group>& groups) {
  auto& db = *target.read->handle();
  // Resolve the family names before the clock starts: the committer knows
  // its handles statically.
  struct resolved {
    rocksdb::ColumnFamilyHandle* family;
    const raw_write* write;
  };
  std::vector<std::vector<resolved>> plan;
  plan.reserve(groups.size());
  raw_replay_report report;
  for (auto& g : groups) {
    auto& out = plan.emplace_back();
    out.reserve(g.size());
    for (auto& w : g) {
      rocksdb::ColumnFamilyHandle* family = nullptr;
      for (size_t i = 0; i < cf_names.size(); ++i)
        if (cf_names[i] == w.family)
          family = db.families[i];
      if (family == nullptr)
        return make_error(ec::invalid_argument,
                          "no column family '" + w.family + "'");
      out.push_back({family, &w});
      ++report.keys;
      report.bytes += w.key.size() + w.value.size();
    }
  }
  auto start = std::chrono::steady_clock::now();
  for (auto& g : plan) {
    rocksdb::WriteBatch wb;
    for (auto& [family, w] : g)
      wb.Put(family, slice(w->key), slice(w->value));
    auto s = db.db->Write(db.write_options, &wb);
    if (!s.ok())
      return to_error(s, "writing a raw batch");
  }
  report.seconds = std::chrono::duration<double>(
                     std::chrono::steady_clock::now() - start)
                     .count();
  return report;
}

} // namespace omniva::bench
