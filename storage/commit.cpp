#include "storage/commit.hpp"

#include "storage/db_handle.hpp"

#include <rocksdb/write_batch.h>

#include <pthread.h>

#include <algorithm>
#include <chrono>
#include <unordered_set>

namespace omniva::storage {

using contracts::ec;
using contracts::make_error;

namespace {

/// How many packet ids the committer remembers for parent checks.
constexpr size_t recent_capacity = 1 << 16;

} // namespace

// -- commit_batch ----------------------------------------------------------------

size_t commit_batch::add(contracts::packet p, std::vector<size_t> parents) {
  packets_.push_back(std::move(p));
  batch_parents_.push_back(std::move(parents));
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

committer::committer(std::shared_ptr<db_handle> db) : db_(std::move(db)) {
}

committer::committer(committer&&) noexcept = default;
committer& committer::operator=(committer&&) noexcept = default;
committer::~committer() = default;

uint64_t committer::next_seq() const noexcept {
  return next_seq_;
}

const std::string& committer::head() const noexcept {
  return head_;
}

caf::expected<commit_receipt> committer::commit(commit_batch& batch) {
  auto seq = next_seq_;
  auto head = head_;
  auto sealed = seal(batch);
  if (!sealed)
    return sealed.error();
  if (auto err = write(*sealed)) {
    // Nothing was applied: the committer goes on from where it was.
    *broken_ = false;
    forget_recent(sealed->receipt().ids.size());
    next_seq_ = seq;
    head_ = std::move(head);
    return err;
  }
  return sealed->impl_->receipt;
}

caf::expected<sealed_commit> committer::seal(commit_batch& batch) {
  if (*broken_)
    return make_error(ec::storage_error,
                      "an earlier commit failed to write: reopen the database");
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
  for (auto& op : batch.ops_) {
    if (op.justified_by >= packets.size())
      return make_error(ec::unjustified_state,
                        "the change of " + std::string{to_string(op.where)}
                          + " row '" + op.key
                          + "' is not justified by a packet of the commit");
    auto& subjects = packets[op.justified_by].subjects;
    if (std::find(subjects.begin(), subjects.end(), op.key) == subjects.end())
      return make_error(ec::unjustified_state,
                        "the change of " + std::string{to_string(op.where)}
                          + " row '" + op.key + "' is justified by a "
                          + packets[op.justified_by].kind
                          + " packet that does not name it as a subject");
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
  for (size_t i = 0; i < packets.size(); ++i) {
    auto p = packets[i];
    for (auto parent : batch.batch_parents_[i])
      p.meta_parents.push_back(ids[parent]);
    p.seq = seq;
    p.prev = head;
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
  // once) is written once: its last value, which is what it would read
  // after the batch anyway. Every change stays justified by its packet.
  std::vector<bool> superseded(batch.ops_.size(), false);
  {
    std::unordered_set<std::string> seen;
    for (size_t i = batch.ops_.size(); i-- > 0;) {
      auto& op = batch.ops_[i];
      std::string id;
      id.reserve(op.key.size() + 1);
      id += static_cast<char>(op.where);
      id += op.key;
      if (!seen.insert(std::move(id)).second)
        superseded[i] = true;
    }
  }
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
  if (*broken_)
    return make_error(ec::storage_error,
                      "an earlier commit failed to write: reopen the database");
  if (c.empty())
    return caf::none;
  auto options = db_->write_options;
  options.sync = options.sync && sync;
  auto s = db_->db->Write(options, &c.impl_->wb);
  if (!s.ok()) {
    *broken_ = true;
    return to_error(s, "committing a batch");
  }
  if (c.impl_->receipt.last_seq > 0)
    written_seq_->store(c.impl_->receipt.last_seq);
  return caf::none;
}

void committer::forget_recent(size_t n) {
  for (; n > 0 && !recent_order_.empty(); --n) {
    recent_.erase(recent_order_.back().second);
    recent_order_.pop_back();
  }
}

bool committer::failed() const noexcept {
  return broken_->load();
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
    caf::error failed;
    for (size_t i = 0; i < taken.size() && !failed; ++i)
      failed = committer_.write(taken[i].second, i == last_written);
    write_ns_ += static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(
        std::chrono::steady_clock::now() - start)
        .count());
    // A commit written unsynced before a failure is not durable either.
    for (auto& [token, sealed] : taken)
      done_(token, failed);
    lock.lock();
  }
}

} // namespace omniva::storage
