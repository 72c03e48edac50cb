#include "storage/commit.hpp"

#include "storage/db_handle.hpp"
#include "storage/witness.hpp"

#include <rocksdb/transaction_log.h>
#include <rocksdb/write_batch.h>

#include <pthread.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <optional>
#include <memory>
#include <unordered_map>
#include <unordered_set>

namespace omniva::storage {

using contracts::ec;
using contracts::make_error;

namespace {

/// How many packet ids the committer remembers for parent checks.
constexpr size_t recent_capacity = 1 << 16;

/// When the live write-ahead log holds more than this, the committer
/// flushes the memtables as it closes (less is replayed at the next open in
/// a few milliseconds).
constexpr uint64_t flush_on_close_bytes = 4 << 20;

/// The bytes of the live write-ahead log files (0 when they cannot be
/// listed). The memtables' own size says little: each family's memtable
/// takes an arena block however little it holds.
uint64_t live_log_bytes(rocksdb::DB& db) {
  rocksdb::VectorLogPtr files;
  if (!db.GetSortedWalFiles(files).ok())
    return 0;
  uint64_t bytes = 0;
  for (auto& f : files)
    if (f->Type() == rocksdb::kAliveLogFile)
      bytes += f->SizeFileBytes();
  return bytes;
}

/// `payload` with the member `evidence` set to `ids`; nullopt when the
/// payload is not a JSON object or has an `evidence` member already.
std::optional<std::string> with_evidence(std::string_view payload,
                                         const std::vector<std::string>& ids) {
  auto parsed = json::parse(payload);
  if (!parsed || !parsed.doc->is_object()
      || parsed.doc->find("evidence") != nullptr)
    return std::nullopt;
  json::array cited;
  cited.reserve(ids.size());
  for (auto& id : ids)
    cited.emplace_back(id);
  parsed.doc->set("evidence", json::value{std::move(cited)});
  return json::serialize(*parsed.doc);
}

/// Whether the payload `text` has a top-level member `_rows` (which only the
/// committer writes). Parses only a payload that could: one that holds the
/// name, or an escape that could spell it.
bool carries_rows(std::string_view text) {
  if (text.find(rows_member) == std::string_view::npos
      && text.find('\\') == std::string_view::npos)
    return false;
  auto doc = json::parse(text);
  return doc && doc.doc->find(rows_member) != nullptr;
}

/// `payload` with the member `_rows` set to `rows` (JSON text); nullopt when
/// the payload does not end like a JSON object (the canonical form refuses
/// it then). The new member goes last, so it wins over any duplicate.
std::optional<std::string> with_rows(std::string_view payload,
                                     std::string_view rows) {
  constexpr std::string_view space = " \t\r\n";
  auto close = payload.find_last_not_of(space);
  if (close == std::string_view::npos || close == 0 || payload[close] != '}')
    return std::nullopt;
  // In a valid object, `{` right before the closing brace means it is empty.
  auto before = payload.find_last_not_of(space, close - 1);
  bool empty = before != std::string_view::npos && payload[before] == '{';
  std::string out;
  out.reserve(close + rows.size() + rows_member.size() + 5);
  out += payload.substr(0, close);
  if (!empty)
    out += ',';
  out += '"';
  out += rows_member;
  out += "\":";
  out += rows;
  out += '}';
  return out;
}

/// Which changes of a batch are superseded by a later change of the same
/// row: a row changed twice in one commit is written once, with its last
/// value (what it would read after the batch anyway).
std::vector<bool> superseded_changes(const std::vector<commit_batch::state_op>& ops) {
  std::vector<bool> out(ops.size(), false);
  std::unordered_set<std::string> seen;
  for (size_t i = ops.size(); i-- > 0;) {
    auto& op = ops[i];
    std::string id;
    id.reserve(op.key.size() + 1);
    id += static_cast<char>(op.where);
    id += op.key;
    if (!seen.insert(std::move(id)).second)
      out[i] = true;
  }
  return out;
}

/// The `_rows` record of each packet of a batch: for packet i, null (it
/// justifies no row that is written) or `{"<table>": {"<key>": "<digest>" |
/// null}}`. Only the changes written are recorded, each in the packet that
/// justifies it: a superseded change never reached the table, and a row's
/// last record in the log must be the one it holds.
std::vector<json::value>
row_records(size_t packets, const std::vector<commit_batch::state_op>& ops,
            const std::vector<bool>& superseded) {
  std::vector<json::value> out(packets);
  for (size_t i = 0; i < ops.size(); ++i) {
    if (superseded[i])
      continue;
    auto& op = ops[i];
    auto& record = out[op.justified_by];
    auto name = to_string(op.where);
    auto* per_table = record.find(name);
    if (per_table == nullptr)
      per_table = &record.set(std::string{name}, json::object{});
    // Appended, not `set`: a row's changes that are written are unique (the
    // superseded ones are skipped), and `set` would look for the key among
    // every row the packet justifies (a fan-out's packet justifies
    // thousands).
    per_table->as_object().emplace_back(
      op.key, op.value ? json::value{row_digest(*op.value)}
                       : json::value{nullptr});
  }
  return out;
}

} // namespace

// -- commit_batch ----------------------------------------------------------------

size_t commit_batch::add(contracts::packet p, std::vector<size_t> parents,
                         bool evidence) {
  packets_.push_back(std::move(p));
  batch_parents_.push_back(std::move(parents));
  evidence_.push_back(evidence);
  return packets_.size() - 1;
}

void commit_batch::put(table t, std::string key, std::string value,
                       size_t justified_by) {
  ops_.push_back({t, std::move(key), std::move(value), justified_by});
}

void commit_batch::erase(table t, std::string key, size_t justified_by) {
  ops_.push_back({t, std::move(key), std::nullopt, justified_by});
}

void commit_batch::append(commit_batch&& other) {
  auto offset = packets_.size();
  for (size_t i = 0; i < other.packets_.size(); ++i) {
    packets_.push_back(std::move(other.packets_[i]));
    auto parents = std::move(other.batch_parents_[i]);
    for (auto& p : parents)
      p += offset;
    batch_parents_.push_back(std::move(parents));
    evidence_.push_back(other.evidence_[i]);
  }
  for (auto& op : other.ops_) {
    op.justified_by += offset;
    ops_.push_back(std::move(op));
  }
  other.clear();
}

void commit_batch::clear() noexcept {
  packets_.clear();
  batch_parents_.clear();
  evidence_.clear();
  ops_.clear();
}

// -- sealed_commit ---------------------------------------------------------------

struct sealed_commit::impl {
  rocksdb::WriteBatch wb;
  commit_receipt receipt;
};

sealed_commit::sealed_commit() : impl_(std::make_unique<impl>()) {
}

sealed_commit::sealed_commit(sealed_commit&&) noexcept = default;
sealed_commit& sealed_commit::operator=(sealed_commit&&) noexcept = default;
sealed_commit::~sealed_commit() = default;

const commit_receipt& sealed_commit::receipt() const noexcept {
  return impl_->receipt;
}

bool sealed_commit::empty() const noexcept {
  return impl_->wb.Count() == 0;
}

// -- committer -------------------------------------------------------------------

committer::committer(std::shared_ptr<db_handle> db, witness_writer witness,
                     std::chrono::milliseconds witness_interval)
  : db_(std::move(db)),
    witness_(std::make_unique<witness_keeper>(std::move(witness),
                                              witness_interval)) {
}

committer::committer(committer&&) noexcept = default;

committer& committer::operator=(committer&& other) noexcept {
  if (this != &other) {
    close_witness();
    db_ = std::move(other.db_);
    witness_ = std::move(other.witness_);
    written_head_ = std::move(other.written_head_);
    next_seq_ = other.next_seq_;
    head_ = std::move(other.head_);
    recent_order_ = std::move(other.recent_order_);
    recent_ = std::move(other.recent_);
    written_seq_ = std::move(other.written_seq_);
    failure_ = std::move(other.failure_);
  }
  return *this;
}

committer::~committer() {
  close_witness();
}

void committer::close_witness() noexcept {
  if (!db_ || !witness_)
    return; // moved from
  // What the memtables hold would otherwise be replayed from the log by the
  // next open, key by key (24 MB of log took 0.8 s of a restart): flush it
  // now, unless it is little. A failed flush leaves the log, which holds
  // everything anyway; on a disk without room for the tables it would
  // write, it is not tried (RocksDB treats the failed write as a background
  // error, and Debian's build asserts on the close that follows).
  auto log_bytes = live_log_bytes(*db_->db);
  std::error_code no_space;
  auto space = std::filesystem::space(db_->db->GetName(), no_space);
  bool room = !no_space && space.available > 4 * log_bytes + (64u << 20);
  // Nor after a background error (a flush or compaction that met a full
  // disk): RocksDB would write again through a file that failed.
  uint64_t background_errors = 0;
  if (db_->db->GetIntProperty("rocksdb.background-errors", &background_errors)
      && background_errors > 0)
    room = false;
  if (!failure_->failed.load() && log_bytes > flush_on_close_bytes && room) {
    rocksdb::FlushOptions wait;
    wait.allow_write_stall = true;
    std::vector<rocksdb::ColumnFamilyHandle*> all;
    for (auto* h : db_->families)
      if (h != nullptr)
        all.push_back(h);
    auto ignored = db_->db->Flush(wait, all);
    (void) ignored;
  }
  auto written = written_seq_->load();
  auto recorded = witness_->recorded();
  if (!failure_->failed.load() && !db_->write_options.sync && written > 0
      && (!recorded || recorded->packets < written)
      && db_->db->SyncWAL().ok())
    witness_->post({written, written_head_});
  auto ignored = witness_->flush();
  (void) ignored;
  witness_.reset(); // joins its thread while the database is open
}

uint64_t committer::next_seq() const noexcept {
  return next_seq_;
}

const std::string& committer::head() const noexcept {
  return head_;
}

caf::expected<commit_receipt> committer::commit(commit_batch& batch) {
  auto sealed = seal(batch);
  if (!sealed)
    return sealed.error();
  // A failed write may have reached the log: the committer cannot go back
  // to where it was (a restart may find the commit), so it stays failed.
  if (auto err = write(*sealed))
    return err;
  return sealed->impl_->receipt;
}

void committer::fail(std::string why) {
  std::lock_guard<std::mutex> guard{failure_->mtx};
  if (failure_->failed.load())
    return;
  failure_->reason = std::move(why);
  failure_->failed = true;
}

bool committer::check_failed() {
  if (failure_->failed.load())
    return true;
  if (!witness_->failed())
    return false;
  auto err = witness_->error();
  fail("the chain witness could not be written: "
       + contracts::render_error(err.code(), err.category(), err.context()));
  return true;
}

std::string committer::failed_reason() const {
  if (!failure_)
    return {};
  {
    std::lock_guard<std::mutex> guard{failure_->mtx};
    if (failure_->failed.load())
      return failure_->reason;
  }
  if (witness_ && witness_->failed()) {
    auto err = witness_->error();
    return "the chain witness could not be written: "
           + contracts::render_error(err.code(), err.category(), err.context());
  }
  return {};
}

caf::error committer::flush_witness() {
  return witness_->flush();
}

caf::expected<sealed_commit> committer::seal(commit_batch& batch) {
  if (check_failed())
    return make_error(ec::storage_error,
                      "the committer failed earlier (" + failed_reason()
                        + "): nothing more is written; reopen the database");
  auto& packets = batch.packets_;
  // -- refuse what must never be written, before touching anything
  auto has_duplicate = [](const std::vector<std::string>& xs) {
    if (xs.size() < 2)
      return false;
    std::vector<std::string_view> sorted(xs.begin(), xs.end());
    std::sort(sorted.begin(), sorted.end());
    return std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end();
  };
  auto has_zero = [](std::string_view x) {
    return x.find('\0') != std::string_view::npos;
  };
  for (size_t i = 0; i < packets.size(); ++i) {
    auto& p = packets[i];
    auto where = [&] {
      return "packet " + std::to_string(i) + " (" + p.kind + ")";
    };
    if (p.kind.empty())
      return make_error(ec::invalid_argument,
                        "packet " + std::to_string(i) + " has no kind");
    // Index keys are `name \0 seq`: a name holding a zero byte would be
    // ambiguous, and a repeated subject or parent would be one index entry
    // standing for two.
    if (has_zero(p.trace_id)
        || std::any_of(p.subjects.begin(), p.subjects.end(), has_zero))
      return make_error(ec::invalid_argument,
                        where() + ": a trace id or subject holds a zero byte");
    if (has_duplicate(p.subjects))
      return make_error(ec::invalid_argument,
                        where() + " names a subject twice");
    if (has_duplicate(p.meta_parents))
      return make_error(ec::invalid_argument,
                        where() + " names a parent twice");
    if (carries_rows(p.payload))
      return make_error(ec::invalid_argument,
                        where() + ": the payload member " + std::string{rows_member}
                          + " is the committer's (it records the rows a "
                            "packet justifies)");
    if (auto parents = batch.batch_parents_[i]; parents.size() > 1) {
      std::sort(parents.begin(), parents.end());
      if (std::adjacent_find(parents.begin(), parents.end()) != parents.end())
        return make_error(ec::invalid_argument,
                          where() + " names a batch parent twice");
    }
    for (auto parent : batch.batch_parents_[i])
      if (parent >= i)
        return make_error(ec::unknown_parent,
                          "packet " + std::to_string(i)
                            + " names a batch parent that does not come "
                              "before it");
  }
  std::unordered_map<size_t,
                     std::unique_ptr<std::unordered_set<std::string_view>>>
    subject_sets;
  for (auto& op : batch.ops_) {
    // A hold is justified by its task (which takes it when created and
    // releases it when it ends); any other row by its own key.
    auto subject = justifying_subject(op.where, op.key);
    if (subject.empty())
      return make_error(ec::invalid_argument,
                        "'" + describe_row(op.where, op.key)
                          + "' is not a hold key (an asset id, a zero byte, "
                            "a task id)");
    if (op.justified_by >= packets.size())
      return make_error(ec::unjustified_state,
                        "the change of the " + describe_row(op.where, op.key)
                          + " is not justified by a packet of the commit");
    auto& subjects = packets[op.justified_by].subjects;
    bool named = false;
    if (subjects.size() <= 16) {
      named = std::find(subjects.begin(), subjects.end(), subject)
              != subjects.end();
    } else {
      // A packet naming many subjects (a fan-out's) is looked up through a
      // set made once, not scanned for each row it justifies.
      auto& index = subject_sets[op.justified_by];
      if (!index) {
        index = std::make_unique<std::unordered_set<std::string_view>>();
        index->reserve(subjects.size());
        for (auto& s : subjects)
          index->insert(s);
      }
      named = index->count(subject) > 0;
    }
    if (!named)
      return make_error(ec::unjustified_state,
                        "the change of the " + describe_row(op.where, op.key)
                          + " is justified by a "
                          + packets[op.justified_by].kind
                          + " packet that does not name '"
                          + std::string{subject} + "' as a subject");
  }
  // Parents outside the batch must exist in the log.
  std::unordered_set<std::string> known_here;
  for (size_t i = 0; i < packets.size(); ++i) {
    for (auto& parent : packets[i].meta_parents) {
      if (known_here.count(parent) > 0)
        continue;
      auto raw = id_bytes(parent);
      if (!raw)
        return make_error(ec::unknown_parent,
                          "packet " + std::to_string(i) + " names '" + parent
                            + "' as a parent, which is not a packet id");
      if (recent_.count(*raw) > 0) {
        known_here.insert(parent);
        continue;
      }
      std::string ignored;
      auto s = db_->db->Get({}, (*db_)[cf::stardust_id], slice(*raw), &ignored);
      if (s.IsNotFound())
        return make_error(ec::unknown_parent,
                          "packet " + std::to_string(i) + " names parent "
                            + parent + ", which is not in the log");
      if (!s.ok())
        return to_error(s, "looking up a parent packet");
      known_here.insert(parent);
    }
  }
  // -- build the write batch: packets first, then indices, state, head
  sealed_commit sealed;
  auto& wb = sealed.impl_->wb;
  auto& receipt = sealed.impl_->receipt;
  auto seq = next_seq_;
  auto head = head_;
  std::string head_raw;
  std::vector<std::string> ids;
  ids.reserve(packets.size());
  std::vector<std::string> raws;
  raws.reserve(packets.size());
  auto superseded = superseded_changes(batch.ops_);
  auto rows = row_records(packets.size(), batch.ops_, superseded);
  for (size_t i = 0; i < packets.size(); ++i) {
    auto p = packets[i];
    for (auto parent : batch.batch_parents_[i])
      p.meta_parents.push_back(ids[parent]);
    if (batch.evidence_[i]) {
      auto cited = with_evidence(p.payload, p.meta_parents);
      if (!cited)
        return make_error(ec::invalid_argument,
                          "packet " + std::to_string(i) + " (" + p.kind
                            + "): a decision's payload must be a JSON object "
                              "without an evidence member of its own");
      p.payload = std::move(*cited);
    }
    p.seq = seq;
    p.prev = head;
    if (!rows[i].is_null()) {
      auto recorded = with_rows(p.payload, json::serialize(rows[i]));
      if (!recorded)
        return make_error(ec::invalid_argument,
                          "packet " + std::to_string(i) + " (" + p.kind
                            + "): the payload is not a JSON object");
      p.payload = std::move(*recorded);
    }
    auto canonical = contracts::canonical_form(p);
    if (!canonical)
      return make_error(ec::invalid_argument,
                        "packet " + std::to_string(i) + " (" + p.kind
                          + "): the payload is not a JSON object");
    auto d = contracts::sha256(*canonical);
    std::string raw{reinterpret_cast<const char*>(d.data()), d.size()};
    auto key = encode_seq(seq);
    std::string value;
    value.reserve(raw.size() + canonical->size());
    value += raw;
    value += *canonical;
    wb.Put((*db_)[cf::stardust], slice(key), slice(value));
    wb.Put((*db_)[cf::stardust_id], slice(raw), slice(key));
    for (auto& parent : p.meta_parents) {
      auto parent_raw = id_bytes(parent);
      wb.Put((*db_)[cf::stardust_child], slice(*parent_raw + raw), {});
    }
    wb.Put((*db_)[cf::stardust_trace], slice(name_seq_key(p.trace_id, seq)), {});
    for (auto& subject : p.subjects)
      wb.Put((*db_)[cf::stardust_subject], slice(name_seq_key(subject, seq)),
             {});
    head = contracts::to_hex(d);
    raws.push_back(raw);
    head_raw = std::move(raw);
    ids.push_back(head);
    if (i == 0)
      receipt.first_seq = seq;
    receipt.last_seq = seq;
    ++seq;
  }
  // A row changed twice in one commit (a task created and dispatched at
  // once) is written once: its last value. Every change stays justified by
  // its packet; the written one is recorded in its packet's `_rows`.
  for (size_t i = 0; i < batch.ops_.size(); ++i) {
    if (superseded[i])
      continue;
    auto& op = batch.ops_[i];
    auto family = (*db_)[family_of(op.where)];
    if (op.value)
      wb.Put(family, slice(op.key), slice(*op.value));
    else
      wb.Delete(family, slice(op.key));
  }
  if (!packets.empty()) {
    wb.Put((*db_)[cf::meta], slice(meta_head), slice(head_raw));
    wb.Put((*db_)[cf::meta], slice(meta_next_seq), slice(encode_seq(seq)));
  }
  next_seq_ = seq;
  head_ = std::move(head);
  receipt.ids = std::move(ids);
  auto raw_seq = receipt.first_seq;
  for (auto& raw : raws) {
    recent_.insert(raw);
    recent_order_.emplace_back(raw_seq++, std::move(raw));
  }
  // Bound the set of recent ids (parents are almost always among the
  // packets of the last few commits), keeping every id not yet written.
  auto written = written_seq_->load();
  while (recent_order_.size() > recent_capacity
         && recent_order_.front().first <= written) {
    recent_.erase(recent_order_.front().second);
    recent_order_.pop_front();
  }
  batch.clear();
  return sealed;
}

caf::error committer::write(sealed_commit& c, bool sync) {
  if (check_failed())
    return make_error(ec::storage_error,
                      "not written: the committer failed earlier ("
                        + failed_reason() + "); reopen the database");
  if (c.empty())
    return caf::none;
  auto options = db_->write_options;
  options.sync = options.sync && sync;
  auto s = db_->db->Write(options, &c.impl_->wb);
  if (!s.ok()) {
    fail("a write failed (" + s.ToString() + ")");
    return make_error(ec::outcome_unknown,
                      "writing a commit failed after it was handed to the "
                      "log (" + s.ToString()
                        + "): it may or may not be durable; check before "
                          "retrying");
  }
  auto& receipt = c.impl_->receipt;
  if (receipt.last_seq == 0)
    return caf::none;
  written_seq_->store(receipt.last_seq);
  written_head_ = receipt.ids.back();
  // The log is synced up to here: the witness may say so. Its thread
  // records it; the commit is durable whatever happens to the witness.
  if (options.sync)
    witness_->post({receipt.last_seq, written_head_});
  return caf::none;
}

bool committer::failed() const noexcept {
  return failure_->failed.load() || (witness_ && witness_->failed());
}

// -- write_queue -------------------------------------------------------------------

write_queue::write_queue(committer& c, done_fn done)
  : committer_(c), done_(std::move(done)) {
  thread_ = std::thread{[this] { run(); }};
}

write_queue::~write_queue() {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    stopping_ = true;
  }
  cv_.notify_one();
  thread_.join();
}

void write_queue::push(uint64_t token, sealed_commit c) {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    queue_.emplace_back(token, std::move(c));
  }
  cv_.notify_one();
}

double write_queue::write_seconds() const noexcept {
  return static_cast<double>(write_ns_.load()) / 1e9;
}

void write_queue::run() {
  pthread_setname_np(pthread_self(), "omniva.writer");
  std::unique_lock<std::mutex> lock{mtx_};
  while (true) {
    cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
    if (queue_.empty())
      return; // stopping, and everything queued is written
    auto taken = std::move(queue_);
    queue_.clear();
    lock.unlock();
    auto start = std::chrono::steady_clock::now();
    // Only the last of the commits taken together syncs the log; the
    // earlier ones become durable with it. After a failure nothing more is
    // written (the committer refuses).
    size_t last_written = taken.size();
    for (size_t i = 0; i < taken.size(); ++i)
      if (!taken[i].second.empty())
        last_written = i;
    // After a failed write the committer refuses the rest of the group
    // (`storage_error`: not written); the commits written before it, without
    // the sync that was to come, may be durable as much as the failed one.
    std::vector<caf::error> errors(taken.size());
    std::optional<size_t> failed_at;
    for (size_t i = 0; i < taken.size(); ++i) {
      errors[i] = committer_.write(taken[i].second, i == last_written);
      if (errors[i] && !failed_at)
        failed_at = i;
    }
    write_ns_ += static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(
        std::chrono::steady_clock::now() - start)
        .count());
    auto unknown = [](const caf::error& e) {
      return e.category() == contracts::error_category
             && e.code() == static_cast<uint8_t>(ec::outcome_unknown);
    };
    if (failed_at && unknown(errors[*failed_at]))
      for (size_t i = 0; i < *failed_at; ++i)
        if (!taken[i].second.empty())
          errors[i] = make_error(
            ec::outcome_unknown,
            "written without sync before a later write of its group failed "
            "(" + committer_.failed_reason()
              + "): it may or may not be durable; check before retrying");
    for (size_t i = 0; i < taken.size(); ++i)
      done_(taken[i].first, std::move(errors[i]));
    lock.lock();
  }
}

} // namespace omniva::storage
