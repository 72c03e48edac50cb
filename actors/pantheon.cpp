#include "actors/pantheon.hpp"

namespace omniva::actors {

pantheon_actor::behavior_type pantheon(pantheon_actor::pointer) {
  return {
    [](atom::vote, const contracts::pantheon_ballot& ballot)
      -> contracts::pantheon_advice { return contracts::advise(ballot); },
  };
}

} // namespace omniva::actors
