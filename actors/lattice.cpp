#include "actors/lattice.hpp"

namespace omniva::actors {

contracts::lattice_advice lattice_state::route(const contracts::route_batch& batch) {
  return router.advise(batch);
}

lattice_actor::behavior_type
lattice(lattice_actor::stateful_pointer<lattice_state> self,
        omniva::lattice::settings settings) {
  self->state.router = omniva::lattice::router{settings};
  return {
    [self](atom::route, const contracts::route_batch& batch)
      -> contracts::lattice_advice { return self->state.route(batch); },
  };
}

} // namespace omniva::actors
