#include "actors/paradox.hpp"

#include "contracts/error_code.hpp"
#include "contracts/hex.hpp"
#include "contracts/json.hpp"
#include "contracts/messages.hpp"
#include "storage/table.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <span>

namespace omniva::actors {

using contracts::ec;
using contracts::make_error;

namespace {

std::string error_text(const caf::error& err) {
  return contracts::render_error(err.code(), err.category(), err.context());
}

bool is_not_found(const caf::error& err) {
  return err.category() == contracts::error_category
         && err.code() == static_cast<uint8_t>(ec::not_found);
}

/// Reads every row of `t` with `from_json`; `corruption` naming the first
/// row that does not parse.
template <class Record, class FromJson>
caf::error read_rows(const storage::reader& r, storage::table t,
                     FromJson from_json, std::vector<Record>& out) {
  auto rows = r.scan(t, "");
  if (!rows)
    return rows.error();
  out.clear();
  out.reserve(rows->size());
  for (auto& [key, text] : *rows) {
    auto doc = json::parse(text);
    std::vector<contracts::problem> problems;
    std::optional<Record> rec;
    if (doc)
      rec = from_json(*doc.doc, problems, "");
    if (!rec)
      return make_error(ec::corruption,
                        storage::describe_row(t, key) + " does not parse"
                          + (problems.empty() ? std::string{}
                                              : ": " + problems.front().message));
    out.push_back(std::move(*rec));
  }
  return caf::none;
}

} // namespace

// -- clearance ---------------------------------------------------------------------------

std::optional<std::string> paradox_state::durable_first(std::string_view key) const {
  auto subject = paradox::duplicate_subject(key);
  auto first = reader->history(subject, 1);
  if (!first) {
    spdlog::warn("paradox: cannot read the history of {}: {}", subject,
                 error_text(first.error()));
    return std::nullopt;
  }
  if (first->empty())
    return std::nullopt;
  auto payload = json::parse(first->front().payload);
  auto* id = payload ? payload.doc->find("task_id") : nullptr;
  if (id == nullptr || !id->is_string() || id->as_string().empty()) {
    spdlog::warn("paradox: packet {} names {} but no task_id",
                 first->front().id, subject);
    return std::nullopt;
  }
  return id->as_string();
}

contracts::paradox_advice
paradox_state::clear(const std::vector<contracts::clearance_item>& items) {
  return index.advise(items, [this](std::string_view key) {
    return durable_first(key);
  });
}

// -- audits -------------------------------------------------------------------------------

caf::expected<std::pair<audit::state_snapshot, uint64_t>>
paradox_state::read_state() const {
  audit::state_snapshot snap;
  uint64_t count = 0;
  for (uint32_t round = 0; round < std::max<uint32_t>(max_state_reads, 1);
       ++round) {
    auto before = reader->packet_count();
    if (!before)
      return before.error();
    // Holds first, their tasks after: a commit between the two reads is
    // seen by the count below and the tables are read again.
    auto holds = reader->scan(storage::table::holds, "");
    if (!holds && !is_not_found(holds.error()))
      return holds.error();
    snap.holds.clear();
    if (holds)
      for (auto& [key, value] : *holds) {
        auto parts = storage::split_hold_key(key);
        if (!parts)
          return make_error(ec::corruption, "a hold key is malformed");
        snap.holds.push_back(
          {std::string{parts->first}, std::string{parts->second}});
      }
    if (auto err = read_rows(*reader, storage::table::tasks,
                             contracts::task_record_from_json, snap.tasks))
      return err;
    if (auto err = read_rows(*reader, storage::table::assets,
                             contracts::asset_record_from_json, snap.assets))
      return err;
    auto after = reader->packet_count();
    if (!after)
      return after.error();
    count = *after;
    if (*before == *after)
      return std::make_pair(std::move(snap), count);
  }
  spdlog::warn("paradox: the state changed while the audit read it {} "
               "times; auditing the last reading",
               max_state_reads);
  return std::make_pair(std::move(snap), count);
}

caf::expected<contracts::audit_report>
paradox_state::audit(const std::string& requested_by) {
  contracts::audit_report report;
  report.audit_id = ids->next_uuid();
  report.requested_by = requested_by;
  report.started_at = contracts::format_timestamp(clock->now());
  auto state = read_state();
  if (!state)
    return state.error();
  auto& [snap, last] = *state;
  // The log up to the packet the state had: every row's packet is in it.
  audit::lineage_digest digest;
  caf::error failure;
  auto err = reader->for_each(1, [&](uint64_t seq, std::string_view id,
                                     std::string_view canonical) {
    if (seq > last)
      return false;
    auto p = contracts::packet_from_canonical(canonical);
    if (!p) {
      failure = make_error(ec::corruption, "packet " + std::to_string(seq)
                                             + " does not parse");
      return false;
    }
    p->id = contracts::to_hex(std::span<const uint8_t>{
      reinterpret_cast<const uint8_t*>(id.data()), id.size()});
    p->seq = seq;
    digest.add(*p);
    return true;
  });
  if (err)
    return err;
  if (failure)
    return failure;
  report.findings = audit::run_checks(snap, digest);
  report.tasks_checked = snap.tasks.size();
  report.assets_checked = snap.assets.size();
  report.packets_checked = digest.packets();
  report.finished_at = contracts::format_timestamp(clock->now());
  spdlog::info("paradox: audit {} (by {}) checked {} task(s), {} asset(s), "
               "{} packet(s): {} finding(s)",
               report.audit_id, requested_by, report.tasks_checked,
               report.assets_checked, report.packets_checked,
               report.findings.size());
  return report;
}

// -- the behavior ------------------------------------------------------------------------

paradox_actor::behavior_type
paradox(paradox_actor::stateful_pointer<paradox_state> self,
        std::shared_ptr<const storage::reader> reader) {
  auto& st = self->state;
  st.reader = std::move(reader);
  if (!st.ids)
    st.ids = std::make_unique<contracts::random_id_source>();
  if (!st.clock)
    st.clock = std::make_unique<contracts::system_clock>();
  return {
    [self](atom::clear, const std::vector<contracts::clearance_item>& items) {
      return self->state.clear(items);
    },
    [self](atom::audit,
           const std::string& by) -> caf::result<contracts::audit_report> {
      auto report = self->state.audit(by);
      if (!report) {
        spdlog::warn("paradox: the audit failed: {}",
                     error_text(report.error()));
        return report.error();
      }
      return std::move(*report);
    },
  };
}

} // namespace omniva::actors
