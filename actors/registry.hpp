#pragma once

// The registry: loads the module folders at start and on request (rescan),
// checks what it finds — JSON Schemas, policies, module contracts — and has
// Zenith commit it (`schema.registered`, `policy.registered`,
// `module.registered`), then has Zenith check and register the pipelines the
// folders hold (`pipeline.registered`, docs/pipelines.md). A ref `name@version` is immutable: the same ref with
// other content is refused (`immutable_ref`, Zenith's call); the same content
// again is `unchanged`.
//
// The folders (docs/architecture.md, "The registry's folders"):
//
//   <folder>/                     a folder given with --modules
//     module.json                 optional: the folder is a module itself
//     <module>/module.json        each sub-folder holding a module.json
//     schemas/<name>@<N>.json     JSON Schemas (also in any module folder)
//     policies/<name>@<N>.json    policies (also in any module folder)
//     personas/<name>@<N>.json    Pantheon's personas (also in any module folder)
//     pipelines/<name>@<N>.json   pipelines (also in any module folder)
//
// The file name is the ref. Every schema is registered first, then every
// policy, every personas file (`personas.registered`), every module, then
// every pipeline, so a contract may name a schema any folder brings and a
// pipeline a module and personas any folder brings. Module contracts are checked against the registered schemas: a
// schema id that resolves neither there nor among the shipped schemas is
// `invalid_ref`. File work happens here, off Zenith's thread; the registry
// writes nothing itself.

#include "actors/interfaces.hpp"
#include "contracts/defaults.hpp"
#include "contracts/registry_store.hpp"
#include "storage/reader.hpp"

#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <memory>
#include <string>
#include <variant>
#include <vector>

namespace omniva::actors {

/// How the registry runs.
struct registry_config {
  /// The folders loaded at start and on `rescan` (`--modules`). Default:
  /// none.
  std::vector<std::string> module_dirs;
};

/// The largest file the registry reads (module.json, a schema, a policy):
/// 1 MiB, like the HTTP API's JSON bodies (`defaults::registry`).
inline constexpr size_t max_registry_file = defaults::registry::max_file_bytes;

/// One thing a scan found, not yet read.
struct registry_candidate {
  /// A schema file, a policy file, a module folder or a pipeline file.
  contracts::registry_kind kind = contracts::registry_kind::module;
  /// Schemas, policies and pipelines: the ref their file name gives;
  /// modules: "".
  std::string ref;
  /// The file (schemas, policies, pipelines) or the module folder;
  /// absolute.
  std::string path;
};

/// What a scan found, in registration order (schemas, policies, personas,
/// modules, pipelines; by path within each), and what it could not use:
/// folders that are missing, files in `schemas/`, `policies/`, `personas/`
/// or `pipelines/` not named `<name>@<N>.json`.
struct registry_scan {
  std::vector<registry_candidate> candidates;
  /// Refused items, ready for the report.
  std::vector<contracts::registry_item> problems;
};

/// Scans the configured folders `dirs` (see the file comment). Never
/// throws; unreadable folders are problems.
registry_scan scan_module_dirs(const std::vector<std::string>& dirs);

/// Scans one module folder: its `schemas/`, its `policies/`, itself when it
/// holds a module.json, and its `pipelines/`.
registry_scan scan_module_folder(const std::string& dir);

/// Reads a file for the registry: `not_found` when it does not exist,
/// `too_large` beyond `max_registry_file`, `io_error` when it cannot be read.
caf::expected<std::string> read_registry_file(const std::string& path);

/// A pipeline file read for registration: Zenith checks the document
/// against the modules it holds (`atom::pipeline`), so the registry only
/// reads it.
struct pipeline_file {
  /// The ref its file name gives.
  std::string ref;
  /// The document as the file holds it.
  std::string text;
};

/// A personas file read for registration: Zenith checks the document
/// (`atom::personas`), so the registry only reads it.
struct personas_file {
  /// The ref its file name gives.
  std::string ref;
  /// The document as the file holds it.
  std::string text;
};

/// What registering one candidate takes next: an entry for Zenith, or the
/// item that ends it (refused, or unchanged).
using registry_step = std::variant<contracts::schema_entry,
                                   contracts::policy_entry,
                                   contracts::predicate_entry,
                                   contracts::module_entry,
                                   pipeline_file,
                                   personas_file,
                                   contracts::registry_item>;

/// The registry's state; every method is testable without an actor system.
struct registry_state {
  static constexpr const char* name = "registry";

  /// The folders to load.
  registry_config config;
  /// What Zenith committed: schemas resolve through it, and a schema or
  /// policy it holds with the same content is `unchanged`.
  std::shared_ptr<const contracts::registry_store> store;
  /// Reads the modules table, so that a module registered with the same
  /// content (and folder) is `unchanged`; may be null (then every module
  /// goes to Zenith, which accepts the same content again).
  std::shared_ptr<const storage::reader> reader;
  /// Where registrations go.
  zenith_actor zenith;

  /// Reads and checks `c` against what is registered now: the entry to send
  /// Zenith, or the item that ends it.
  registry_step prepare(const registry_candidate& c) const;

  /// Checks a schema document for registration as `ref`.
  caf::expected<contracts::schema_entry> check_schema(const std::string& ref,
                                                      const std::string& text) const;

  /// Checks a policy document for registration as `ref`.
  caf::expected<contracts::policy_entry> check_policy(const std::string& ref,
                                                      const std::string& text) const;

  /// Checks a predicate document (`{"kind", "description"?, "args"?}`)
  /// for registration as `ref` (docs/policies.md).
  caf::expected<contracts::predicate_entry>
  check_predicate(const std::string& ref, const std::string& text) const;

  /// Checks that a pipeline file's document names the ref of its file name
  /// (`name` and `version`; `invalid_ref` at "/name" or "/version" when
  /// not). A document that cannot be read that far is left to Zenith's
  /// check, which reports every problem of it.
  caf::expected<pipeline_file> check_pipeline(const std::string& ref,
                                              std::string text) const;

  /// Checks a module.json text against the registered schemas
  /// (`contracts::check_module_text`) and policies (a `policy` the store
  /// does not hold: `invalid_ref` at "/policy").
  caf::expected<contracts::module_entry> check_module(const std::string& text,
                                                      const std::string& dir) const;
};

/// The registry's behavior. Spawn it detached: it reads files. It loads
/// nothing by itself; the node sends `rescan` at start.
registry_actor::behavior_type
registry(registry_actor::stateful_pointer<registry_state> self,
         registry_config config,
         std::shared_ptr<const contracts::registry_store> store,
         std::shared_ptr<const storage::reader> reader, zenith_actor zenith);

} // namespace omniva::actors
