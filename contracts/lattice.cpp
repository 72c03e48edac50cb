#include "contracts/lattice.hpp"

#include <algorithm>
#include <cmath>

namespace omniva::lattice {

int32_t priority_delta_of(double lattice_priority) noexcept {
  return static_cast<int32_t>(std::lround(std::clamp(lattice_priority, 0.0, 1.0) * 10));
}

double clip_priority(double consensus, double dissent) noexcept {
  double x = std::clamp(consensus, 0.0, 1.0) * (1 - std::clamp(dissent, 0.0, 1.0) / 2);
  return std::round(x * 1e6) / 1e6;
}


namespace {

/// What a half-open pool loses in score: it ranks below every pool that is
/// not half-open (a score is at most a pool's free slots per worker, 1,
/// and at least minus its queue).
constexpr double half_open_penalty = 1e9;

/// Whether a task needing `r` fits a worker slot of `pool`.
bool fits(const contracts::resource_spec& r, const contracts::pool_spec& pool) noexcept {
  return r.cpu <= pool.cpu && r.memory_gb <= pool.memory_gb
         && (!r.gpu || pool.gpu);
}

/// Free capacity against queue depth, relative to the pool's size.
double score_of(const contracts::pool_view& p) noexcept {
  double workers = std::max<uint32_t>(1, p.spec.workers);
  double score = (double(p.free) - double(p.queued)) / workers;
  if (p.quarantine == "half_open")
    score -= half_open_penalty;
  return score;
}

} // namespace

int64_t rank(int32_t priority, int32_t delta, int64_t ready_at_ms,
             std::chrono::milliseconds ageing) noexcept {
  int64_t levels = int64_t{priority} + int64_t{delta};
  return ready_at_ms - levels * static_cast<int64_t>(ageing.count());
}

contracts::route_directive route(const contracts::route_request& task,
                                 const std::vector<contracts::pool_view>& pools,
                                 const settings& s, uint64_t routing_sequence) {
  contracts::route_directive d;
  d.task_id = task.task_id;
  d.rank = rank(task.priority, task.priority_delta, task.ready_at_ms, s.ageing);
  d.routing_sequence = routing_sequence;
  // First pass: what cannot take the task at all.
  std::vector<const contracts::pool_view*> candidates;
  for (auto& p : pools) {
    if (!fits(task.resources, p.spec))
      d.discarded.push_back({p.spec.name, "does_not_fit", 0});
    else if (p.quarantine == "open")
      d.discarded.push_back({p.spec.name, "quarantined", score_of(p)});
    else
      candidates.push_back(&p);
  }
  // The pool a retry avoids, as long as another one is left.
  if (!task.avoid_pool.empty() && candidates.size() > 1) {
    auto i = std::find_if(candidates.begin(), candidates.end(), [&](auto* p) {
      return p->spec.name == task.avoid_pool;
    });
    if (i != candidates.end()) {
      d.discarded.push_back({(*i)->spec.name, "avoided", score_of(**i)});
      candidates.erase(i);
    }
  }
  // The best score wins, ties to the smaller name.
  const contracts::pool_view* best = nullptr;
  for (auto* p : candidates) {
    if (best == nullptr)
      best = p;
    else if (auto a = score_of(*p), b = score_of(*best);
             a > b || (a == b && p->spec.name < best->spec.name))
      best = p;
  }
  for (auto* p : candidates)
    if (p != best)
      d.discarded.push_back({p->spec.name, "lower_score", score_of(*p)});
  if (best != nullptr) {
    d.pool = best->spec.name;
    d.score = score_of(*best);
  }
  return d;
}

contracts::lattice_advice router::advise(const contracts::route_batch& batch) {
  contracts::lattice_advice out;
  out.routes.reserve(batch.tasks.size());
  auto pools = batch.pools; // queue depths grow as the batch is routed
  for (auto& task : batch.tasks) {
    auto d = route(task, pools, settings_, next_++);
    if (!d.pool.empty())
      for (auto& p : pools)
        if (p.spec.name == d.pool)
          ++p.queued;
    out.routes.push_back(std::move(d));
  }
  return out;
}

} // namespace omniva::lattice
