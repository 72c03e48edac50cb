#include "storage/verify.hpp"

#include "storage/db_handle.hpp"

#include <rocksdb/iterator.h>
#include <simdjson.h>

#include <algorithm>
#include <optional>
#include <unordered_map>
#include <array>
#include <functional>
#include <limits>

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

/// The tables whose rows packets record, in the order verify checks them.
constexpr std::array<table, 15> row_tables = {
  table::assets,   table::tasks,    table::modules,   table::schemas,
  table::policies, table::holds,    table::tokens,    table::webhooks,
  table::quarantines, table::pipelines, table::runs, table::triggers,
  table::personas, table::limits, table::predicates};

/// The table named `name` in a `_rows` record.
std::optional<table> table_named(std::string_view name) {
  for (auto t : row_tables)
    if (to_string(t) == name)
      return t;
  return std::nullopt;
}

/// The members of a stored packet that verify needs, read without building
/// a JSON tree (views into the parser's document: valid until the next read).
struct packet_fields {
  uint64_t seq = 0;
  std::string_view prev;
  std::string_view trace_id;
  std::vector<std::string_view> parents;
  std::vector<std::string_view> subjects;
  /// The payload member `_rows`, when the packet has one.
  std::optional<simdjson::dom::object> rows;
};

/// Reads `packet_fields` from canonical packets, reusing one parser.
class field_reader {
public:
  /// False when `canonical` is not a packet (or its `_rows` is not an
  /// object).
  bool read(std::string_view canonical, packet_fields& out) {
    simdjson::dom::element doc;
    if (parser_.parse(canonical.data(), canonical.size()).get(doc)
        != simdjson::SUCCESS)
      return false;
    uint64_t seq = 0;
    simdjson::dom::object payload;
    if (doc["seq"].get(seq) != simdjson::SUCCESS
        || doc["prev"].get(out.prev) != simdjson::SUCCESS
        || doc["trace_id"].get(out.trace_id) != simdjson::SUCCESS
        || doc["payload"].get(payload) != simdjson::SUCCESS
        || !strings(doc["_meta_parents"], out.parents)
        || !strings(doc["subjects"], out.subjects))
      return false;
    out.seq = seq;
    out.rows.reset();
    auto rows = payload[rows_member];
    if (rows.error() == simdjson::NO_SUCH_FIELD)
      return true;
    simdjson::dom::object record;
    if (rows.get(record) != simdjson::SUCCESS)
      return false;
    out.rows = record;
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

verify_report broken(verify_report r, uint64_t seq, const caf::error& err) {
  return broken(std::move(r), seq, code_of(err), error_text(err));
}

/// A row as verify names it: `tasks/<key>` (a hold: `holds/<asset
/// id>/<task id>`); in a sentence, "the row of task '<key>'" (a hold: "the
/// hold of task '<task id>' on asset '<asset id>'").
std::string row_name(table t, std::string_view key) {
  std::string printable{key};
  if (t == table::holds)
    std::replace(printable.begin(), printable.end(), '\0', '/');
  return std::string{to_string(t)} + "/" + printable;
}

std::string row_phrase(table t, std::string_view key) {
  if (t == table::holds)
    return "the " + describe_row(t, key);
  return "the row of " + describe_row(t, key);
}

/// The latest record of a row in its history.
struct row_record {
  enum kind_t {
    /// Packet `seq` recorded the digest `digest`.
    digest,
    /// Packet `seq` erased the row.
    erased,
    /// Packet `seq` predates row digests (meta `rows_recorded_from`) and
    /// no later packet recorded the row: it cannot be checked.
    before_digests,
    /// Packets name the key, none of them recorded this row.
    unrecorded,
    /// No packet names the key at all.
    never_named,
  } kind = never_named;
  uint64_t seq = 0;
  std::string digest_hex;
};

/// Everything verify reads, through one view.
class checker {
public:
  checker(const db_handle& db) : db_(db), view_(db) {
  }

  const rocksdb::ReadOptions& options() const noexcept {
    return view_.options();
  }

  /// The handle of `f`, or the error of a family the database lacks.
  caf::expected<rocksdb::ColumnFamilyHandle*> family(cf f) const {
    if (auto* h = db_[f])
      return h;
    return missing_family(f);
  }

  /// Value of meta `key`; nullopt when absent.
  caf::expected<std::optional<std::string>> meta(std::string_view key) const {
    std::string value;
    auto s = db_.db->Get(options(), db_[cf::meta], slice(key), &value);
    if (s.IsNotFound())
      return std::optional<std::string>{};
    if (!s.ok())
      return to_error(s, "reading meta");
    return std::optional<std::string>{std::move(value)};
  }

  /// Whether row `key` of `t` exists (nullopt for the value when not).
  caf::expected<std::optional<std::string>> row(table t,
                                                std::string_view key) const {
    auto* f = db_[family_of(t)];
    if (f == nullptr)
      return std::optional<std::string>{};
    std::string value;
    auto s = db_.db->Get(options(), f, slice(key), &value);
    if (s.IsNotFound())
      return std::optional<std::string>{};
    if (!s.ok())
      return to_error(s, "reading a state row");
    return std::optional<std::string>{std::move(value)};
  }

  /// The latest record of row `key` of `t`: walks the history of the
  /// subject that justifies it (`justifying_subject`: the key itself, or a
  /// hold's task) back from its end (usually one packet: the last packet
  /// naming a row is mostly the one that wrote it).
  caf::expected<row_record> latest_record(table t, std::string_view key,
                                          uint64_t rows_from) {
    if (!subjects_)
      subjects_.reset(db_.db->NewIterator(options(), db_[cf::stardust_subject]));
    auto& it = *subjects_;
    std::string prefix{justifying_subject(t, key)};
    prefix += '\0';
    it.SeekForPrev(slice(prefix + std::string(8, '\xff')));
    row_record out;
    auto name = to_string(t);
    for (; it.Valid(); it.Prev()) {
      auto k = view(it.key());
      if (k.substr(0, prefix.size()) != prefix)
        break;
      auto seq = decode_seq(k.substr(prefix.size()));
      if (!seq)
        return contracts::make_error(ec::corruption,
                                     "a subject index key is damaged");
      if (*seq < rows_from) {
        out.kind = row_record::before_digests;
        out.seq = *seq;
        return out;
      }
      out.kind = row_record::unrecorded;
      auto rows = rows_of(*seq, name);
      if (!rows)
        return rows.error();
      auto& index = **rows;
      if (index.malformed)
        return contracts::make_error(ec::corruption,
                                     "packet " + std::to_string(*seq)
                                       + ": its record of "
                                       + row_phrase(t, key)
                                       + " is not a digest");
      auto entry = index.rows.find(std::string{key});
      if (entry == index.rows.end())
        continue;
      out.seq = *seq;
      if (!entry->second) {
        out.kind = row_record::erased;
        return out;
      }
      out.kind = row_record::digest;
      out.digest_hex = *entry->second;
      return out;
    }
    if (!it.status().ok())
      return to_error(it.status(), "reading the subject index");
    return out;
  }

private:
  const db_handle& db_;
  read_view view_;
  std::unique_ptr<rocksdb::Iterator> subjects_;
  field_reader fields_;
  packet_fields packet_;
  /// What one packet's `_rows` records of one table: key -> digest, or
  /// nullopt for an erased row.
  struct table_rows {
    uint64_t seq = 0;
    std::string table;
    bool malformed = false;
    std::unordered_map<std::string, std::optional<std::string>> rows;
  };

  /// The rows packet `seq` records in table `name`. A decision over a batch
  /// records thousands of rows, and the rows of one history are checked
  /// one after another: the last few packets read stay indexed, so each
  /// is read and parsed once, not once per row.
  caf::expected<const table_rows*> rows_of(uint64_t seq, std::string_view name) {
    for (auto& c : recent_rows_)
      if (c.seq == seq && c.table == name)
        return &c;
    table_rows made;
    made.seq = seq;
    made.table = std::string{name};
    auto s = db_.db->Get(options(), db_[cf::stardust], slice(encode_seq(seq)),
                         &packet_text_);
    if (!s.ok())
      return to_error(s, "reading packet " + std::to_string(seq));
    if (packet_text_.size() < 32
        || !fields_.read(std::string_view{packet_text_}.substr(32), packet_))
      return contracts::make_error(ec::corruption,
                                   "packet " + std::to_string(seq)
                                     + " does not parse");
    if (packet_.rows) {
      auto t = (*packet_.rows)[name];
      if (t.error() != simdjson::NO_SUCH_FIELD) {
        simdjson::dom::object per_table;
        if (t.get(per_table) != simdjson::SUCCESS) {
          made.malformed = true;
        } else {
          for (auto [k, v] : per_table) {
            std::string_view digest;
            if (v.is_null())
              made.rows.emplace(std::string{k}, std::nullopt);
            else if (v.get(digest) == simdjson::SUCCESS)
              made.rows.emplace(std::string{k}, std::string{digest});
            else
              made.malformed = true;
          }
        }
      }
    }
    constexpr size_t kept = 8;
    if (recent_rows_.size() == kept)
      recent_rows_.erase(recent_rows_.begin());
    recent_rows_.push_back(std::move(made));
    return &recent_rows_.back();
  }
  std::vector<table_rows> recent_rows_;
  /// The text `packet_` was last read from.
  std::string packet_text_;
};

/// Slow path, only after a fingerprint mismatch: finds the first packet whose
/// index entry is missing or wrong, or a stray entry.
verify_report diagnose_index(const db_handle& db, const checker& c,
                             verify_report report, cf family) {
  std::string name{cf_names[static_cast<size_t>(family)]};
  field_reader fields;
  packet_fields p;
  std::unique_ptr<rocksdb::Iterator> it{
    db.db->NewIterator(c.options(), db[cf::stardust])};
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    auto seq = decode_seq(view(it->key()));
    auto value = view(it->value());
    if (!seq || value.size() < 32 || !fields.read(value.substr(32), p))
      continue;
    std::optional<verify_report> found;
    entries_of(p, value.substr(0, 32), [&](cf f, const std::string& key,
                                           const std::string& expected) {
      if (found || f != family)
        return;
      std::string stored;
      auto s = db.db->Get(c.options(), db[f], slice(key), &stored);
      if (!s.ok() || stored != expected)
        found = broken(report, *seq, ec::corruption,
                       "the " + name + " index entry of packet "
                         + std::to_string(*seq)
                         + (s.ok() ? " does not match it" : " is missing"));
    });
    if (found)
      return *found;
  }
  if (!it->status().ok())
    return broken(report, 0, to_error(it->status(), "scanning the log"));
  return broken(report, 0, ec::corruption,
                "the " + name + " index holds an entry that no packet implies");
}

/// The witness checks of the log pass: at the witness's count the packet
/// must be the witness's head; after the pass the log must be as long.
struct witness_check {
  chain_witness w;
  /// "the database's witness" or "the outside witness".
  std::string whose;
};

/// A row fault, as the report names it.
verify_report row_fault(verify_report report, table t, std::string_view key,
                        std::string reason) {
  auto r = broken(std::move(report), 0, ec::corruption, std::move(reason));
  r.row = row_name(t, key);
  return r;
}

/// Checks every row of every table against its latest record.
verify_report check_rows(const db_handle& db, checker& c, verify_report report,
                         uint64_t rows_from) {
  for (auto t : row_tables) {
    auto* f = db[family_of(t)];
    if (f == nullptr)
      continue; // `policies` in a database made before it existed
    std::unique_ptr<rocksdb::Iterator> it{db.db->NewIterator(c.options(), f)};
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      auto key = view(it->key());
      auto what = row_phrase(t, key);
      if (justifying_subject(t, key).empty())
        return row_fault(report, t, key,
                         what + " is not a hold: its key is not an asset "
                                "id, a zero byte and a task id");
      auto record = c.latest_record(t, key, rows_from);
      if (!record)
        return broken(report, 0, record.error());
      // Holds became rows after packets recorded rows: none predates them.
      if (t == table::holds && record->kind == row_record::before_digests)
        record->kind = row_record::unrecorded;
      switch (record->kind) {
        case row_record::digest:
          if (row_digest(view(it->value())) != record->digest_hex)
            return row_fault(report, t, key,
                             what + " is not the one packet "
                               + std::to_string(record->seq)
                               + " recorded: its bytes were changed after "
                                 "that packet wrote them");
          ++report.rows;
          break;
        case row_record::erased:
          return row_fault(report, t, key,
                           what + " exists, but packet "
                             + std::to_string(record->seq)
                             + ", the last to change it, erased it");
        case row_record::before_digests:
          ++report.rows_unchecked;
          break;
        case row_record::unrecorded:
          return row_fault(report, t, key,
                           what + " is justified by no packet: packets name '"
                             + std::string{justifying_subject(t, key)}
                             + "', none of them wrote this row");
        case row_record::never_named:
          return row_fault(report, t, key,
                           what + " is justified by no packet: no packet "
                                  "names '"
                             + std::string{justifying_subject(t, key)} + "'");
      }
    }
    if (!it->status().ok())
      return broken(report, 0, to_error(it->status(), "scanning a state table"));
  }
  return report;
}

/// For a packet that records rows: each row it recorded as written must
/// exist, unless a later packet erased it. nullopt when all is well.
caf::expected<std::optional<verify_report>>
check_recorded_rows(checker& c, const verify_report& report,
                    simdjson::dom::object rows, uint64_t seq,
                    uint64_t rows_from) {
  for (auto [name, per_table_element] : rows) {
    auto t = table_named(name);
    simdjson::dom::object per_table;
    if (!t || per_table_element.get(per_table) != simdjson::SUCCESS)
      return std::optional<verify_report>{
        broken(report, seq, ec::corruption,
               "packet " + std::to_string(seq) + " records rows of '"
                 + std::string{name} + "', which is not a table")};
    for (auto [key, digest] : per_table) {
      if (justifying_subject(*t, key).empty())
        return std::optional<verify_report>{
          broken(report, seq, ec::corruption,
                 "packet " + std::to_string(seq) + " records a hold whose "
                   "key is not an asset id, a zero byte and a task id")};
      if (digest.is_null())
        continue;
      auto present = c.row(*t, key);
      if (!present)
        return present.error();
      if (*present)
        continue; // its bytes are checked against its latest record later
      auto record = c.latest_record(*t, key, rows_from);
      if (!record)
        return record.error();
      if (record->kind == row_record::erased)
        continue;
      return std::optional<verify_report>{row_fault(
        report, *t, key,
        row_phrase(*t, key) + " is missing: packet "
          + std::to_string(record->kind == row_record::digest ? record->seq
                                                               : seq)
          + " wrote it and no later packet erased it")};
    }
  }
  return std::optional<verify_report>{};
}

} // namespace

verify_report verify(const reader& r, const verify_options& opts) {
  verify_report report;
  auto& db = *r.handle();
  // The witness first, then the view: the witness is written after the
  // writes it covers, so a view taken after reading it holds them all.
  std::vector<witness_check> witnesses;
  auto own = r.witness();
  if (!own)
    return broken(report, 0, own.error());
  if (*own) {
    report.witness = **own;
    witnesses.push_back({**own, "its witness"});
  }
  if (opts.outside_witness) {
    if (!report.witness)
      report.witness = opts.outside_witness;
    witnesses.push_back({*opts.outside_witness, "the outside witness"});
  }
  if (auto err = r.refresh())
    return broken(report, 0, err);
  for (size_t i = 0; i < cf_names.size(); ++i)
    if (always_present(static_cast<cf>(i)) && db.families[i] == nullptr)
      return broken(report, 0, missing_family(static_cast<cf>(i)));
  checker c{db};
  uint64_t rows_from = std::numeric_limits<uint64_t>::max();
  auto marker = c.meta(meta_rows_from);
  if (!marker)
    return broken(report, 0, marker.error());
  if (*marker) {
    auto seq = decode_seq(**marker);
    if (!seq)
      return broken(report, 0, ec::corruption,
                    "meta: rows_recorded_from is damaged");
    rows_from = *seq;
  }
  // -- the log, packet by packet
  std::array<fingerprint, index_families.size()> expected{};
  uint64_t next = 1;
  std::string prev;
  std::optional<verify_report> failure;
  // A missing row found during the pass is reported only once the indexes
  // it was looked up in are known good.
  std::optional<verify_report> row_failure;
  field_reader fields;
  packet_fields p;
  std::unique_ptr<rocksdb::Iterator> log{
    db.db->NewIterator(c.options(), db[cf::stardust])};
  for (log->SeekToFirst(); log->Valid() && !failure; log->Next()) {
    auto key_seq = decode_seq(view(log->key()));
    auto value = view(log->value());
    if (!key_seq) {
      failure = broken(report, next, ec::corruption,
                       "a packet key is not a sequence number");
      break;
    }
    auto seq = *key_seq;
    if (value.size() < 32) {
      failure = broken(report, seq, ec::corruption,
                       "packet " + std::to_string(seq) + " is truncated");
      break;
    }
    auto raw_id = value.substr(0, 32);
    auto canonical = value.substr(32);
    if (seq != next) {
      failure = broken(report, next, ec::corruption,
                       "the log has a gap: packet " + std::to_string(next)
                         + " is missing (the next one is "
                         + std::to_string(seq) + ")");
      break;
    }
    auto d = contracts::sha256(canonical);
    if (std::string_view{reinterpret_cast<const char*>(d.data()), d.size()}
        != raw_id) {
      failure = broken(report, seq, ec::corruption,
                       "packet " + std::to_string(seq)
                         + ": its bytes do not hash to its id "
                         + id_hex(raw_id));
      break;
    }
    if (!fields.read(canonical, p)) {
      failure = broken(report, seq, ec::corruption,
                       "packet " + std::to_string(seq) + " does not parse");
      break;
    }
    if (p.seq != seq) {
      failure = broken(report, seq, ec::corruption,
                       "packet " + std::to_string(seq) + " says it is packet "
                         + std::to_string(p.seq));
      break;
    }
    if (p.prev != prev) {
      failure = broken(report, seq, ec::corruption,
                       "packet " + std::to_string(seq)
                         + ": prev does not name packet "
                         + std::to_string(seq - 1)
                         + " (the hash chain is broken)");
      break;
    }
    auto id = id_hex(raw_id);
    for (auto& w : witnesses)
      if (w.w.packets == seq && w.w.head != id) {
        failure = broken(report, seq, ec::corruption,
                         describe_loss(w.w, seq, id) + " (" + w.whose + ")");
        break;
      }
    if (failure)
      break;
    if (p.rows) {
      if (seq < rows_from) {
        failure = broken(report, seq, ec::corruption,
                         "packet " + std::to_string(seq)
                           + " records rows, but meta says packets record "
                             "them only from "
                           + (rows_from == std::numeric_limits<uint64_t>::max()
                                ? std::string{"none on"}
                                : "packet " + std::to_string(rows_from))
                           + ": meta is damaged");
        break;
      }
      if (!row_failure) {
        auto missing = check_recorded_rows(c, report, *p.rows, seq, rows_from);
        if (!missing) {
          failure = broken(report, seq, missing.error());
          break;
        }
        row_failure = std::move(*missing);
      }
    }
    entries_of(p, raw_id, [&](cf f, const std::string& key,
                              const std::string& value) {
      expected[slot(f)].add(key, value);
    });
    prev = std::move(id);
    report.packets = seq;
    ++next;
  }
  if (!failure && !log->status().ok())
    failure = broken(report, next, to_error(log->status(), "scanning the log"));
  log.reset();
  if (failure)
    return *failure;
  report.head = prev;
  // -- the log against its witnesses: shorter is loss
  for (auto& w : witnesses)
    if (report.packets < w.w.packets) {
      auto r2 = broken(report, report.packets + 1, ec::corruption,
                       describe_loss(w.w, report.packets, {}) + " (" + w.whose
                         + ")");
      r2.missing = w.w.packets - report.packets;
      return r2;
    }
  // -- the head and the counter in `meta`
  auto head = c.meta(meta_head);
  if (!head)
    return broken(report, 0, head.error());
  std::string meta_head_hex;
  if (*head) {
    if ((*head)->size() != 32)
      return broken(report, 0, ec::corruption, "meta: head is not a packet id");
    meta_head_hex = id_hex(**head);
  }
  if (meta_head_hex != prev)
    return broken(report, 0, ec::corruption,
                  "meta: the chain head is "
                    + (meta_head_hex.empty() ? std::string{"empty"}
                                             : meta_head_hex)
                    + ", the last packet is "
                    + (prev.empty() ? std::string{"none"} : prev));
  auto next_seq = c.meta(meta_next_seq);
  if (!next_seq)
    return broken(report, 0, next_seq.error());
  uint64_t count = 0;
  if (*next_seq) {
    auto n = decode_seq(**next_seq);
    if (!n || *n == 0)
      return broken(report, 0, ec::corruption, "meta: next_seq is damaged");
    count = *n - 1;
  }
  if (count != report.packets)
    return broken(report, 0, ec::corruption,
                  "meta counts " + std::to_string(count)
                    + " packets, the log holds "
                    + std::to_string(report.packets));
  // -- every index, entry for entry
  for (auto family : index_families) {
    fingerprint found;
    std::unique_ptr<rocksdb::Iterator> it{
      db.db->NewIterator(c.options(), db[family])};
    for (it->SeekToFirst(); it->Valid(); it->Next())
      found.add(view(it->key()), view(it->value()));
    if (!it->status().ok())
      return broken(report, 0, to_error(it->status(), "scanning an index"));
    if (!(found == expected[slot(family)]))
      return diagnose_index(db, c, report, family);
  }
  // -- every state row against the digest its last packet recorded
  if (row_failure) {
    row_failure->packets = report.packets;
    return *row_failure;
  }
  report = check_rows(db, c, std::move(report), rows_from);
  if (report.code != ec::none)
    return report;
  report.ok = true;
  return report;
}

json::value to_json(const verify_report& x) {
  json::value out{json::object{}};
  out.set("ok", x.ok);
  out.set("packets", x.packets);
  if (x.ok) {
    out.set("head", x.head);
    out.set("rows", x.rows);
    if (x.rows_unchecked > 0)
      out.set("rows_unchecked", x.rows_unchecked);
    out.set("witness", x.witness ? to_json(*x.witness) : json::value{});
  } else {
    out.set("broken_seq", x.broken_seq);
    out.set("code", std::string{contracts::to_string(x.code)});
    out.set("reason", x.reason);
    if (!x.row.empty())
      out.set("row", x.row);
    if (x.missing > 0)
      out.set("missing", x.missing);
  }
  return out;
}

} // namespace omniva::storage
