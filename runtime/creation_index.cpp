#include "runtime/creation_index.hpp"

#include "contracts/error_code.hpp"
#include "runtime/api_paging.hpp"

#include <array>

namespace omniva::runtime {

namespace {

/// The `created_at` of a stored row ("" when it has none).
std::string created_at_of(const std::string& text) {
  constexpr std::array<std::string_view, 1> keys{"created_at"};
  std::array<std::optional<std::string>, 1> values;
  api::top_level_strings(text, keys, values);
  return values[0].value_or("");
}

bool is_not_found(const caf::error& e) {
  return e.category() == contracts::error_category
         && static_cast<contracts::ec>(e.code()) == contracts::ec::not_found;
}

} // namespace

creation_index::creation_index(std::shared_ptr<const storage::reader> reader,
                               storage::table t, std::string created_kind,
                               size_t max_pending)
  : reader_(std::move(reader)),
    table_(t),
    created_kind_(std::move(created_kind)),
    max_pending_(max_pending) {
}

void creation_index::on_events(
  const std::vector<contracts::committed_event>& events) {
  if (!collecting_.load())
    return;
  std::lock_guard guard{pending_mtx_};
  for (auto& e : events) {
    if (e.kind != created_kind_ || overflowed_)
      continue;
    if (pending_.size() >= max_pending_) {
      overflowed_ = true;
      pending_.clear();
      pending_.shrink_to_fit();
      continue;
    }
    pending_.push_back(e.subject);
  }
}

caf::error creation_index::build_locked() {
  // Noting starts before the scan: a row committed after the scan's
  // snapshot is published after it too, so it is noted; one the scan saw
  // and that is noted as well is placed once (a set).
  collecting_.store(true);
  {
    std::lock_guard guard{pending_mtx_};
    overflowed_ = false;
    pending_.clear();
  }
  order_.clear();
  auto rows = reader_->scan(table_, "");
  if (!rows)
    return rows.error();
  for (auto& [key, text] : *rows)
    order_.emplace(created_at_of(text), key);
  built_ = true;
  return caf::none;
}

caf::error creation_index::place_pending_locked() {
  std::vector<std::string> ids;
  bool rebuild = false;
  {
    std::lock_guard guard{pending_mtx_};
    ids.swap(pending_);
    rebuild = overflowed_;
  }
  if (rebuild)
    return build_locked();
  for (auto& id : ids) {
    auto text = reader_->get(table_, id);
    if (!text) {
      if (is_not_found(text.error()))
        continue;
      // Keep the unplaced ids for the next page.
      std::lock_guard guard{pending_mtx_};
      pending_.insert(pending_.end(), ids.begin(), ids.end());
      return text.error();
    }
    order_.emplace(created_at_of(*text), id);
  }
  return caf::none;
}

caf::expected<std::vector<creation_index::row>>
creation_index::page(const std::optional<std::pair<std::string, std::string>>& after,
                     size_t count) {
  std::lock_guard guard{mtx_};
  if (!built_) {
    if (auto err = build_locked())
      return err;
  } else if (auto err = place_pending_locked()) {
    return err;
  }
  std::vector<row> out;
  auto i = after ? order_.upper_bound(*after) : order_.begin();
  while (i != order_.end() && out.size() < count) {
    auto text = reader_->get(table_, i->second);
    if (!text) {
      if (!is_not_found(text.error()))
        return text.error();
      i = order_.erase(i);
      continue;
    }
    out.push_back(row{i->first, i->second, std::move(*text)});
    ++i;
  }
  return out;
}

size_t creation_index::size() const {
  std::lock_guard guard{mtx_};
  return order_.size();
}

} // namespace omniva::runtime
