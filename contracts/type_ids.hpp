#pragma once

// The one CAF type-ID block of Omniva Engine and the one function that
// registers it. `main` and every test fixture that builds an actor system
// call `register_types(cfg)` before constructing `caf::actor_system`.
//
// IDs are assigned in order from `caf::first_custom_type_id`: append new
// types at the end of the block so that the IDs of existing ones stay put.
// Atoms live in `atoms.hpp` (CAF 0.17.6 gives them no ID).

#include "contracts/access.hpp"
#include "contracts/atoms.hpp"
#include "contracts/engines.hpp"
#include "contracts/error_code.hpp"
#include "contracts/limits.hpp"
#include "contracts/messages.hpp"
#include "contracts/module_contract.hpp"
#include "contracts/node_messages.hpp"
#include "contracts/pantheon.hpp"
#include "contracts/pipeline.hpp"
#include "contracts/run.hpp"
#include "contracts/registry_messages.hpp"
#include "contracts/retention.hpp"
#include "contracts/status.hpp"
#include "contracts/webhook.hpp"

#include <caf/fwd.hpp>
#include <caf/type_id.hpp>

#include <vector>

CAF_BEGIN_TYPE_ID_BLOCK(omniva, caf::first_custom_type_id)

  // -- errors and status
  CAF_ADD_TYPE_ID(omniva, (omniva::contracts::ec))
  CAF_ADD_TYPE_ID(omniva, (omniva::contracts::problem))
  CAF_ADD_TYPE_ID(omniva, (std::vector<omniva::contracts::problem>))
  CAF_ADD_TYPE_ID(omniva, (omniva::contracts::task_status))
  CAF_ADD_TYPE_ID(omniva, (omniva::contracts::asset_status))

  // -- records and messages
  CAF_ADD_TYPE_ID(omniva, (omniva::contracts::asset_kind))
  CAF_ADD_TYPE_ID(omniva, (omniva::contracts::execution_mode))
  CAF_ADD_TYPE_ID(omniva, (omniva::contracts::asset_record))
  CAF_ADD_TYPE_ID(omniva, (std::vector<omniva::contracts::asset_record>))
  CAF_ADD_TYPE_ID(omniva, (omniva::contracts::task_error))
  CAF_ADD_TYPE_ID(omniva, (omniva::contracts::task_record))
  CAF_ADD_TYPE_ID(omniva, (std::vector<omniva::contracts::task_record>))
  CAF_ADD_TYPE_ID(omniva, (omniva::contracts::task_request))
  CAF_ADD_TYPE_ID(omniva, (omniva::contracts::envelope))
  CAF_ADD_TYPE_ID(omniva, (std::vector<omniva::contracts::envelope>))

  // -- module contracts (contracts/module_contract.hpp)
  CAF_ADD_TYPE_ID(omniva, (omniva::contracts::module_contract))
  CAF_ADD_TYPE_ID(omniva, (std::vector<omniva::contracts::module_contract>))

  // -- the node's actors (contracts/node_messages.hpp)
  CAF_ADD_TYPE_ID(omniva, (omniva::contracts::pool_spec))
  CAF_ADD_TYPE_ID(omniva, (omniva::contracts::dispatched_input))
  CAF_ADD_TYPE_ID(omniva, (std::vector<omniva::contracts::dispatched_input>))
  CAF_ADD_TYPE_ID(omniva, (omniva::contracts::dispatch_order))
  CAF_ADD_TYPE_ID(omniva, (omniva::contracts::produced_output))
  CAF_ADD_TYPE_ID(omniva, (std::vector<omniva::contracts::produced_output>))
  CAF_ADD_TYPE_ID(omniva, (omniva::contracts::execution_outcome))
  CAF_ADD_TYPE_ID(omniva, (omniva::contracts::submit_result))
  CAF_ADD_TYPE_ID(omniva, (omniva::contracts::module_entry))

  // -- the registry (contracts/registry_messages.hpp)
  CAF_ADD_TYPE_ID(omniva, (omniva::contracts::schema_entry))
  CAF_ADD_TYPE_ID(omniva, (omniva::contracts::policy_entry))
  CAF_ADD_TYPE_ID(omniva, (omniva::contracts::registry_report))

  // -- tokens and roles (contracts/access.hpp)
  CAF_ADD_TYPE_ID(omniva, (omniva::contracts::role))
  CAF_ADD_TYPE_ID(omniva, (omniva::contracts::token_action))
  CAF_ADD_TYPE_ID(omniva, (omniva::contracts::token_record))
  CAF_ADD_TYPE_ID(omniva, (omniva::contracts::token_change))

  // -- webhooks (contracts/webhook.hpp)
  CAF_ADD_TYPE_ID(omniva, (omniva::contracts::webhook_op))
  CAF_ADD_TYPE_ID(omniva, (omniva::contracts::webhook_record))
  CAF_ADD_TYPE_ID(omniva, (omniva::contracts::webhook_change))

  // -- retention (contracts/retention.hpp)
  CAF_ADD_TYPE_ID(omniva, (omniva::contracts::purge_task))
  CAF_ADD_TYPE_ID(omniva, (omniva::contracts::purge_blob))
  CAF_ADD_TYPE_ID(omniva, (omniva::contracts::purge_plan))

  // -- the engines (contracts/engines.hpp)
  CAF_ADD_TYPE_ID(omniva, (omniva::contracts::duplicate_mode))
  CAF_ADD_TYPE_ID(omniva, (omniva::contracts::duplicate_rule))
  CAF_ADD_TYPE_ID(omniva, (omniva::contracts::clearance_item))
  CAF_ADD_TYPE_ID(omniva, (std::vector<omniva::contracts::clearance_item>))
  CAF_ADD_TYPE_ID(omniva, (omniva::contracts::clearance_advice))
  CAF_ADD_TYPE_ID(omniva, (omniva::contracts::paradox_advice))
  CAF_ADD_TYPE_ID(omniva, (omniva::contracts::conflict_resolution))
  CAF_ADD_TYPE_ID(omniva, (omniva::contracts::audit_report))
  CAF_ADD_TYPE_ID(omniva, (omniva::contracts::attempt_report))
  CAF_ADD_TYPE_ID(omniva, (std::vector<omniva::contracts::attempt_report>))
  CAF_ADD_TYPE_ID(omniva, (omniva::contracts::retry_plan))
  CAF_ADD_TYPE_ID(omniva, (omniva::contracts::breaker_advice))
  CAF_ADD_TYPE_ID(omniva, (omniva::contracts::eclipse_advice))
  CAF_ADD_TYPE_ID(omniva, (omniva::contracts::quarantine_record))
  CAF_ADD_TYPE_ID(omniva, (omniva::contracts::quarantine_change))
  CAF_ADD_TYPE_ID(omniva, (omniva::contracts::route_request))
  CAF_ADD_TYPE_ID(omniva, (omniva::contracts::pool_view))
  CAF_ADD_TYPE_ID(omniva, (omniva::contracts::route_batch))
  CAF_ADD_TYPE_ID(omniva, (omniva::contracts::discarded_route))
  CAF_ADD_TYPE_ID(omniva, (omniva::contracts::route_directive))
  CAF_ADD_TYPE_ID(omniva, (omniva::contracts::lattice_advice))
  CAF_ADD_TYPE_ID(omniva, (omniva::contracts::explain_query))
  CAF_ADD_TYPE_ID(omniva, (omniva::contracts::reasoning_step))
  CAF_ADD_TYPE_ID(omniva, (omniva::contracts::explanation))

  // -- pipelines, runs and triggers (contracts/pipeline.hpp, run.hpp)
  CAF_ADD_TYPE_ID(omniva, (omniva::contracts::source_kind))
  CAF_ADD_TYPE_ID(omniva, (omniva::contracts::step_source))
  CAF_ADD_TYPE_ID(omniva, (omniva::contracts::select_spec))
  CAF_ADD_TYPE_ID(omniva, (omniva::contracts::for_each_spec))
  CAF_ADD_TYPE_ID(omniva, (omniva::contracts::step_kind))
  CAF_ADD_TYPE_ID(omniva, (omniva::contracts::pipeline_step))
  CAF_ADD_TYPE_ID(omniva, (omniva::contracts::pipeline_spec))
  CAF_ADD_TYPE_ID(omniva, (omniva::contracts::pipeline_registration))
  CAF_ADD_TYPE_ID(omniva, (omniva::contracts::run_status))
  CAF_ADD_TYPE_ID(omniva, (omniva::contracts::run_request))
  CAF_ADD_TYPE_ID(omniva, (omniva::contracts::run_record))
  CAF_ADD_TYPE_ID(omniva, (omniva::contracts::run_action))
  CAF_ADD_TYPE_ID(omniva, (omniva::contracts::run_change))
  CAF_ADD_TYPE_ID(omniva, (omniva::contracts::run_result))
  CAF_ADD_TYPE_ID(omniva, (omniva::contracts::run_query))
  CAF_ADD_TYPE_ID(omniva, (omniva::contracts::schedule_spec))
  CAF_ADD_TYPE_ID(omniva, (omniva::contracts::trigger_record))
  CAF_ADD_TYPE_ID(omniva, (std::vector<omniva::contracts::trigger_record>))
  CAF_ADD_TYPE_ID(omniva, (omniva::contracts::trigger_op))
  CAF_ADD_TYPE_ID(omniva, (omniva::contracts::trigger_change))
  CAF_ADD_TYPE_ID(omniva, (omniva::contracts::pantheon_ballot))
  CAF_ADD_TYPE_ID(omniva, (omniva::contracts::pantheon_advice))
  CAF_ADD_TYPE_ID(omniva, (omniva::contracts::personas_registration))
  CAF_ADD_TYPE_ID(omniva, (omniva::contracts::limits_request))
  CAF_ADD_TYPE_ID(omniva, (omniva::contracts::predicate_entry))

CAF_END_TYPE_ID_BLOCK(omniva)

namespace omniva::contracts {

/// Registers every type of the `omniva` block and the `omniva` error
/// category (rendered by `render_error`) with `cfg`. Call once per config,
/// before the actor system is constructed.
void register_types(caf::actor_system_config& cfg);

} // namespace omniva::contracts
