#pragma once

// The order in which a table's rows were created, kept in memory, so that a
// page of a list in creation order reads only the page's rows instead of
// the whole table (the rows are keyed by random ids: `GET /api/tasks`
// without filters, the dashboard's board).
//
// Built by one scan at the first page asked for, then kept current from the
// node's committed events: the listener only notes the ids of created rows
// (it runs on Zenith's thread, under the event hub's lock, so it must be
// cheap); the next page reads their `created_at` and places them. A row
// found gone when a page reads it leaves the index. Should the noted ids
// pile up (no page asked for a long time), they are dropped and the next
// page builds the index again by a scan, so the memory stays bounded.

#include "contracts/node_messages.hpp"
#include "storage/reader.hpp"
#include "storage/table.hpp"

#include <caf/expected.hpp>

#include <atomic>
#include <cstddef>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace omniva::runtime {

class creation_index {
public:
  /// One row of a page: its place in the order and its text.
  struct row {
    std::string created_at;
    std::string key;
    std::string text;
  };

  /// An index of table `t` read through `reader`; rows are created by the
  /// events of kind `created_kind` (their subject is the row's key). At
  /// most `max_pending` created ids wait to be placed.
  creation_index(std::shared_ptr<const storage::reader> reader,
                 storage::table t, std::string created_kind,
                 size_t max_pending = 100'000);

  /// The event hub's listener: notes the created rows among `events`.
  void on_events(const std::vector<contracts::committed_event>& events);

  /// At most `count` rows after the place `after` (`{created_at, key}`;
  /// none: from the first), in creation order, with their text as stored.
  /// Errors: the reader's.
  caf::expected<std::vector<row>>
  page(const std::optional<std::pair<std::string, std::string>>& after,
       size_t count);

  /// Rows in the index (for tests and metrics).
  size_t size() const;

private:
  caf::error build_locked();
  caf::error place_pending_locked();

  std::shared_ptr<const storage::reader> reader_;
  storage::table table_;
  std::string created_kind_;
  size_t max_pending_;

  /// Guards `order_` and `built_`; held while a page reads.
  mutable std::mutex mtx_;
  bool built_ = false;
  std::set<std::pair<std::string, std::string>> order_;

  /// Guards what the listener writes; never held while reading the table.
  std::mutex pending_mtx_;
  std::vector<std::string> pending_;
  bool overflowed_ = false;
  /// Set before the first scan: from then on created ids are noted.
  std::atomic<bool> collecting_{false};
};

} // namespace omniva::runtime
