#pragma once

// The asset ledger: where file work happens, off Zenith's thread. Adding a
// FILE copies it into the content-addressed store (later edits of the user's
// file change nothing), hashes it and detects its media type; a path on the
// node's machine is accepted only under the allowed roots. VALUE assets are
// checked against their dtype (`contracts::check_value_asset`). Zenith then
// commits the asset. Reads (lists, show) go to the database directly.

#include "actors/interfaces.hpp"
#include "storage/asset_store.hpp"

#include <caf/expected.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <memory>
#include <string>
#include <vector>

namespace omniva::actors {

/// The ledger's state; every method is testable without an actor system.
/// The methods prepare the record Zenith adds (it assigns id, status and
/// time); the behavior only delegates to Zenith.
struct asset_ledger_state {
  static constexpr const char* name = "asset_ledger";
  /// The content-addressed store under the data folder.
  std::shared_ptr<storage::asset_store> store;
  /// Folders whose files may be registered by path.
  std::vector<std::string> allowed_roots;
  /// Where committed assets are recorded.
  zenith_actor zenith;

  /// Copies the file at `path` into the store, once the path resolves under
  /// `allowed_roots`; `media_type` "" means detect it, `label` "" means the
  /// file name. Errors carry the pointer of the request member at fault:
  /// `path_not_allowed`, `not_found`, `invalid_argument` at "/path";
  /// `invalid_media_type` at "/media_type"; `io_error`.
  caf::expected<contracts::asset_record>
  add_file(const std::string& path, const std::string& media_type,
           const std::string& label) const;

  /// Moves an upload (a file under the store's temp folder) into the store.
  /// On error the upload is deleted: nothing an upload left is ever kept.
  /// Errors: `invalid_media_type`, `invalid_argument`, `not_found`,
  /// `io_error`.
  caf::expected<contracts::asset_record>
  add_upload(const std::string& temp, const std::string& media_type,
             const std::string& label) const;

  /// Checks a VALUE (JSON text) against `dtype` and returns its record (the
  /// value compact, its SHA-256 and size). Every problem is one error: the
  /// first problem's code and pointer ("/value", "/dtype"), every problem
  /// in the message.
  caf::expected<contracts::asset_record>
  make_value(const std::string& value_json, const std::string& dtype,
             const std::string& label) const;
};

/// The ledger's behavior. Spawn it detached: it blocks on file I/O.
ledger_actor::behavior_type
asset_ledger(ledger_actor::stateful_pointer<asset_ledger_state> self,
             std::shared_ptr<storage::asset_store> store,
             std::vector<std::string> allowed_roots, zenith_actor zenith);

} // namespace omniva::actors
