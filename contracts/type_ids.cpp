#include "contracts/type_ids.hpp"

#include <caf/actor_system_config.hpp>

namespace omniva::contracts {

void register_types(caf::actor_system_config& cfg) {
  cfg.add_message_types<caf::id_block::omniva>();
  cfg.add_error_category(error_category, render_error);
}

} // namespace omniva::contracts
