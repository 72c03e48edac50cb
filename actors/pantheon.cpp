#include "actors/pantheon.hpp"

#include <string>

namespace omniva::actors {

pantheon_actor::behavior_type pantheon(pantheon_actor::pointer,
                                       pantheon_settings settings) {
  return {
    [settings](atom::vote, const contracts::pantheon_ballot& ballot)
      -> contracts::pantheon_advice {
      auto size = ballot.candidates_json.size() + ballot.context_json.size();
      if (size > settings.max_ballot_bytes) {
        contracts::pantheon_advice refused;
        refused.key = ballot.key;
        refused.problem = "the ballot holds " + std::to_string(size)
                          + " bytes of candidates and analysis, more than "
                            "Pantheon votes on at once ("
                          + std::to_string(settings.max_ballot_bytes) + ")";
        return refused;
      }
      return contracts::advise(ballot);
    },
  };
}

} // namespace omniva::actors
