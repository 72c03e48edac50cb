#include "storage/verify.hpp"

#include "storage/db_handle.hpp"

#include <rocksdb/iterator.h>
#include <simdjson.h>

#include <array>
#include <functional>

namespace omniva::storage {

using contracts::ec;

namespace {

/// An order-independent fingerprint of a multiset of index entries: the
/// packet pass adds every entry its packets imply, the index pass every entry
/// found; equal fingerprints mean (with overwhelming probability) equal
/// indexes, without holding either in memory.
struct fingerprint {
  uint64_t sum = 0;
  uint64_t count = 0;

  void add(std::string_view key, std::string_view value) noexcept {
    auto h = std::hash<std::string_view>{}(key) * 0x9e3779b97f4a7c15ULL
             ^ std::hash<std::string_view>{}(value);
    sum += h | 1; // never 0, so a missing entry always shows
    ++count;
  }

  friend bool operator==(const fingerprint&, const fingerprint&) = default;
};

constexpr std::array<cf, 4> index_families = {
  cf::stardust_id, cf::stardust_child, cf::stardust_trace, cf::stardust_subject};

size_t slot(cf f) {
  for (size_t i = 0; i < index_families.size(); ++i)
    if (index_families[i] == f)
      return i;
  return 0;
}

/// The members of a stored packet that verify needs, read without building
/// a JSON tree (views into the parser's document: valid until the next read).
struct packet_fields {
  uint64_t seq = 0;
  std::string_view prev;
  std::string_view trace_id;
  std::vector<std::string_view> parents;
  std::vector<std::string_view> subjects;
};

/// Reads `packet_fields` from canonical packets, reusing one parser.
class field_reader {
public:
  /// False when `canonical` is not a packet.
  bool read(std::string_view canonical, packet_fields& out) {
    simdjson::dom::element doc;
    if (parser_.parse(canonical.data(), canonical.size()).get(doc)
        != simdjson::SUCCESS)
      return false;
    uint64_t seq = 0;
    if (doc["seq"].get(seq) != simdjson::SUCCESS
        || doc["prev"].get(out.prev) != simdjson::SUCCESS
        || doc["trace_id"].get(out.trace_id) != simdjson::SUCCESS
        || !strings(doc["_meta_parents"], out.parents)
        || !strings(doc["subjects"], out.subjects))
      return false;
    out.seq = seq;
    return true;
  }

private:
  static bool strings(simdjson::simdjson_result<simdjson::dom::element> x,
                      std::vector<std::string_view>& out) {
    out.clear();
    simdjson::dom::array xs;
    if (x.get(xs) != simdjson::SUCCESS)
      return false;
    for (auto item : xs) {
      std::string_view s;
      if (item.get(s) != simdjson::SUCCESS)
        return false;
      out.push_back(s);
    }
    return true;
  }

  simdjson::dom::parser parser_;
};

/// The index entries a packet (stored as `raw_id`) implies.
template <class F>
void entries_of(const packet_fields& p, std::string_view raw_id, F&& f) {
  f(cf::stardust_id, std::string{raw_id}, encode_seq(p.seq));
  for (auto parent : p.parents)
    if (auto raw = id_bytes(parent))
      f(cf::stardust_child, *raw + std::string{raw_id}, std::string{});
  f(cf::stardust_trace, name_seq_key(p.trace_id, p.seq), std::string{});
  for (auto subject : p.subjects)
    f(cf::stardust_subject, name_seq_key(subject, p.seq), std::string{});
}

verify_report broken(verify_report r, uint64_t seq, ec code,
                     std::string reason) {
  r.ok = false;
  r.broken_seq = seq;
  r.code = code;
  r.reason = std::move(reason);
  return r;
}

std::string error_text(const caf::error& err) {
  return contracts::render_error(err.code(), err.category(), err.context());
}

/// The code an error carries (`storage_error` for foreign errors).
ec code_of(const caf::error& err) {
  if (err.category() == contracts::error_category)
    return static_cast<ec>(err.code());
  return ec::storage_error;
}

/// Slow path, only after a fingerprint mismatch: finds the first packet whose
/// index entry is missing or wrong, or a stray entry.
verify_report diagnose_index(const reader& r, verify_report report, cf family) {
  auto& db = *r.handle();
  std::string name{cf_names[static_cast<size_t>(family)]};
  verify_report found = report;
  bool done = false;
  field_reader fields;
  packet_fields p;
  auto err = r.for_each(1, [&](uint64_t seq, std::string_view raw_id,
                               std::string_view canonical) {
    if (!fields.read(canonical, p))
      return true;
    entries_of(p, raw_id, [&](cf f, const std::string& key,
                               const std::string& value) {
      if (done || f != family)
        return;
      std::string stored;
      auto s = db.db->Get({}, db[f], slice(key), &stored);
      if (!s.ok() || stored != value) {
        found = broken(report, seq, ec::corruption,
                       "the " + name + " index entry of packet "
                         + std::to_string(seq)
                         + (s.ok() ? " does not match it" : " is missing"));
        done = true;
      }
    });
    return !done;
  });
  if (err)
    return broken(report, 0, code_of(err), error_text(err));
  if (done)
    return found;
  return broken(report, 0, ec::corruption,
                "the " + name
                  + " index holds an entry that no packet implies");
}


} // namespace

verify_report verify(const reader& r) {
  verify_report report;
  auto& db = *r.handle();
  std::array<fingerprint, index_families.size()> expected{};
  uint64_t next = 1;
  std::string prev;
  std::optional<verify_report> failure;
  field_reader fields;
  packet_fields p;
  auto err = r.for_each(1, [&](uint64_t seq, std::string_view raw_id,
                               std::string_view canonical) {
    if (seq != next) {
      failure = broken(report, next, ec::corruption,
                       "the log has a gap: packet " + std::to_string(next)
                         + " is missing (the next one is "
                         + std::to_string(seq) + ")");
      return false;
    }
    auto d = contracts::sha256(canonical);
    if (std::string_view{reinterpret_cast<const char*>(d.data()), d.size()}
        != raw_id) {
      failure = broken(report, seq, ec::corruption,
                       "packet " + std::to_string(seq)
                         + ": its bytes do not hash to its id "
                         + id_hex(raw_id));
      return false;
    }
    if (!fields.read(canonical, p)) {
      failure = broken(report, seq, ec::corruption,
                       "packet " + std::to_string(seq) + " does not parse");
      return false;
    }
    if (p.seq != seq) {
      failure = broken(report, seq, ec::corruption,
                       "packet " + std::to_string(seq) + " says it is packet "
                         + std::to_string(p.seq));
      return false;
    }
    if (p.prev != prev) {
      failure = broken(report, seq, ec::corruption,
                       "packet " + std::to_string(seq)
                         + ": prev does not name packet "
                         + std::to_string(seq - 1)
                         + " (the hash chain is broken)");
      return false;
    }
    entries_of(p, raw_id, [&](cf f, const std::string& key,
                              const std::string& value) {
      expected[slot(f)].add(key, value);
    });
    prev = id_hex(raw_id);
    report.packets = seq;
    ++next;
    return true;
  });
  if (err)
    return broken(report, next, code_of(err), error_text(err));
  if (failure)
    return *failure;
  report.head = prev;
  // The head and the counter in `meta`.
  auto head = r.head();
  if (!head)
    return broken(report, 0, code_of(head.error()), error_text(head.error()));
  if (*head != prev)
    return broken(report, 0, ec::corruption,
                  "meta: the chain head is " + (head->empty() ? "empty" : *head)
                    + ", the last packet is "
                    + (prev.empty() ? "none" : prev));
  auto count = r.packet_count();
  if (!count)
    return broken(report, 0, code_of(count.error()),
                  error_text(count.error()));
  if (*count != report.packets)
    return broken(report, 0, ec::corruption,
                  "meta counts " + std::to_string(*count)
                    + " packets, the log holds "
                    + std::to_string(report.packets));
  // Every index, entry for entry.
  for (auto family : index_families) {
    fingerprint found;
    rocksdb::ReadOptions ro;
    ro.fill_cache = false;
    std::unique_ptr<rocksdb::Iterator> it{db.db->NewIterator(ro, db[family])};
    for (it->SeekToFirst(); it->Valid(); it->Next())
      found.add(view(it->key()), view(it->value()));
    if (!it->status().ok()) {
      auto e = to_error(it->status(), "scanning an index");
      return broken(report, 0, code_of(e), error_text(e));
    }
    if (!(found == expected[slot(family)]))
      return diagnose_index(r, report, family);
  }
  report.ok = true;
  return report;
}

json::value to_json(const verify_report& x) {
  json::value out{json::object{}};
  out.set("ok", x.ok);
  out.set("packets", x.packets);
  if (x.ok) {
    out.set("head", x.head);
  } else {
    out.set("broken_seq", x.broken_seq);
    out.set("code", std::string{contracts::to_string(x.code)});
    out.set("reason", x.reason);
  }
  return out;
}

} // namespace omniva::storage
