#include "actors/eclipse.hpp"

#include <spdlog/spdlog.h>

namespace omniva::actors {

contracts::eclipse_advice
eclipse_state::report(const std::vector<contracts::attempt_report>& reports) {
  return omniva::eclipse::advise(reports, breakers, settings);
}

void eclipse_state::quarantine(const std::string& target,
                               const std::string& state) {
  if (state == "half_open")
    breakers.probing(target);
  else if (state == "closed")
    breakers.reset(target);
  else if (state == "open")
    breakers.mark_open(target);
  else
    spdlog::warn("eclipse: ignoring quarantine state '{}' of {}", state, target);
}

eclipse_actor::behavior_type
eclipse(eclipse_actor::stateful_pointer<eclipse_state> self,
        omniva::eclipse::settings settings) {
  self->state.settings = settings;
  self->state.breakers = omniva::eclipse::breakers{settings};
  return {
    [self](atom::report, const std::vector<contracts::attempt_report>& reports)
      -> contracts::eclipse_advice { return self->state.report(reports); },
    [self](atom::quarantine, const std::string& target,
           const std::string& state) { self->state.quarantine(target, state); },
  };
}

} // namespace omniva::actors
