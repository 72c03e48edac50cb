#include "actors/halolux.hpp"

#include "contracts/error_code.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>

namespace omniva::actors {

namespace {

std::string error_text(const caf::error& err) {
  return contracts::render_error(err.code(), err.category(), err.context());
}

/// The cache key of a query.
std::string key_of(const contracts::explain_query& q) {
  return q.id + '\n' + std::to_string(q.limit) + '\n' + q.cursor;
}

/// A lineage source over `reader` that reads no packet after `horizon` and
/// records the subjects and traces it read.
struct recording_source {
  std::set<std::string> subjects;
  std::set<std::string> traces;

  halolux::lineage_source bind(const storage::reader& r, uint64_t horizon) {
    halolux::lineage_source src;
    src.history = [this, &r, horizon](std::string_view subject, uint64_t first,
                                      uint64_t last, size_t limit) {
      subjects.emplace(subject);
      return r.history(subject, first, std::min(last, horizon), limit);
    };
    src.last_seq = [this, &r, horizon](std::string_view subject,
                                       uint64_t at_most) {
      subjects.emplace(subject);
      return r.last_seq_of(subject, std::min(at_most, horizon));
    };
    src.at = [&r, horizon](uint64_t seq) -> caf::expected<contracts::packet> {
      if (seq > horizon)
        return contracts::make_error(contracts::ec::not_found,
                                     "no packet at seq " + std::to_string(seq));
      return r.packet_by_seq(seq);
    };
    src.trace = [this, &r, horizon](std::string_view trace, uint64_t first,
                                    uint64_t last, size_t limit) {
      traces.emplace(trace);
      return r.by_trace(trace, first, std::min(last, horizon), limit);
    };
    return src;
  }
};

} // namespace

bool halolux_state::still_holds(const cached& c) const {
  for (auto& [subject, seq] : c.subjects) {
    auto now = reader->last_seq_of(subject);
    if (!now || *now != seq)
      return false;
  }
  for (auto& [trace, seq] : c.traces) {
    auto now = reader->last_seq_of_trace(trace);
    if (!now || *now != seq)
      return false;
  }
  return true;
}

void halolux_state::make_room() {
  while (!cache.empty() && cache.size() >= config.cache_entries) {
    auto oldest = std::min_element(cache.begin(), cache.end(),
                                   [](auto& x, auto& y) {
                                     return x.second.used < y.second.used;
                                   });
    cache.erase(oldest);
  }
}

caf::expected<contracts::explanation>
halolux_state::explain(const contracts::explain_query& q) {
  ++uses;
  auto key = key_of(q);
  if (auto i = cache.find(key); i != cache.end()) {
    if (still_holds(i->second)) {
      ++hits;
      i->second.used = uses;
      return i->second.answer;
    }
    cache.erase(i);
  }
  ++misses;
  auto horizon = reader->packet_count();
  if (!horizon)
    return horizon.error();
  recording_source recorder;
  auto x = halolux::explain(q, recorder.bind(*reader, *horizon));
  if (!x || config.cache_entries == 0)
    return x;
  // What it read, as it is now; if anything it read changed while it was
  // built (a packet after the horizon), it is not kept.
  cached c;
  c.answer = *x;
  c.used = uses;
  for (auto& subject : recorder.subjects) {
    auto seq = reader->last_seq_of(subject);
    if (!seq || *seq > *horizon)
      return x;
    c.subjects.emplace_back(subject, *seq);
  }
  for (auto& trace : recorder.traces) {
    auto seq = reader->last_seq_of_trace(trace);
    if (!seq || *seq > *horizon)
      return x;
    c.traces.emplace_back(trace, *seq);
  }
  make_room();
  cache.emplace(std::move(key), std::move(c));
  return x;
}

halolux_actor::behavior_type
halolux(halolux_actor::stateful_pointer<halolux_state> self,
        std::shared_ptr<const storage::reader> reader, halolux_config config) {
  self->state.reader = std::move(reader);
  self->state.config = config;
  return {
    [self](atom::explain,
           const contracts::explain_query& q) -> caf::result<contracts::explanation> {
      auto x = self->state.explain(q);
      if (!x) {
        auto& e = x.error();
        // A query naming nothing, or a bad page, is the client's: only
        // failures to read are worth the node's log.
        if (e.category() != contracts::error_category
            || (e.code() != static_cast<uint8_t>(contracts::ec::not_found)
                && e.code() != static_cast<uint8_t>(contracts::ec::invalid_filter)))
          spdlog::warn("halolux: cannot explain {}: {}", q.id, error_text(e));
        return std::move(e);
      }
      return std::move(*x);
    },
  };
}

} // namespace omniva::actors
