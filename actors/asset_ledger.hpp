#pragma once

// The asset ledger: where file work happens, off Zenith's thread. Adding a
// FILE copies it into the content-addressed store (later edits of the user's
// file change nothing), hashes it and detects its media type; a path on the
// node's machine is accepted only under the allowed roots. VALUE assets are
// checked against their dtype. Zenith then commits the asset. Reads (lists,
// show) go to the database directly.

#include "actors/interfaces.hpp"
#include "storage/asset_store.hpp"

#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <memory>
#include <string>
#include <vector>

namespace omniva::actors {

/// The ledger's state.
struct asset_ledger_state {
  static constexpr const char* name = "asset_ledger";
  /// The content-addressed store under the data folder.
  std::shared_ptr<storage::asset_store> store;
  /// Folders whose files may be registered by path.
  std::vector<std::string> allowed_roots;
  /// Where committed assets are recorded.
  zenith_actor zenith;
};

/// Checks a VALUE against `dtype` ("int", "url", ...); every problem, with
/// pointers under "/value".
std::vector<contracts::problem> check_value_asset(const std::string& value_json,
                                                  const std::string& dtype);

/// The ledger's behavior. Spawn it detached: it blocks on file I/O.
ledger_actor::behavior_type
asset_ledger(ledger_actor::stateful_pointer<asset_ledger_state> self,
             std::shared_ptr<storage::asset_store> store,
             std::vector<std::string> allowed_roots, zenith_actor zenith);

} // namespace omniva::actors
