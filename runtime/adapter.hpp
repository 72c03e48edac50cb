#pragma once

// Adapters (DESIGN.md §7): run one attempt of a task and answer with the same
// outcome envelope whatever the placement.
//
// An adapter takes Zenith's `dispatch_order` and answers an
// `execution_outcome` (contracts/node_messages.hpp): the very messages that
// cross the network when a worker runs on another machine, so nothing is
// copied into another shape on the way. What only makes sense on the
// worker's own machine — schema lookups, the heartbeat callback, secret
// values — comes beside the order in an `execution_context`.
//
// - `local_adapter` (local_adapter.hpp) runs the module's `run.command` as a
//   child process and checks what it wrote;
// - `mock_adapter` (mock_adapter.hpp) starts nothing and fabricates
//   deterministic outputs.
//
// The files of one execution (input and output manifests, logs) are
// described in execution_files.hpp.
//
// Plain C++: no actors. `invoke` blocks, so a worker calls it off any actor
// thread that must stay responsive (DESIGN.md §6). Bad modules never make
// `invoke` throw: every failure is an outcome with a stable code.

#include "contracts/defaults.hpp"
#include "contracts/error_code.hpp"
#include "contracts/json.hpp"
#include "contracts/module_contract.hpp"
#include "contracts/node_messages.hpp"

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace omniva::runtime {

/// Looks up the JSON document of a registry schema id ("media.metadata@1"):
/// the mock adapter needs the schema itself, not only its compiled form, to
/// fabricate a valid instance. nullopt when unknown.
using schema_document_resolver
  = std::function<std::optional<json::value>(std::string_view id)>;

/// What an adapter needs beside the order, local to the worker's machine
/// and never sent anywhere.
struct execution_context {
  /// Secret name -> value, taken from the worker's environment. The local
  /// adapter passes on only the names the contract lists
  /// (`secrets.required` and `.optional`); values never appear in
  /// outcomes, and are scrubbed from the logs. Default: none.
  std::map<std::string, std::string> secrets;
  /// Resolves an output's schema id (`schema_ref`) to a compiled schema;
  /// may be empty (then only shipped schemas and inline schemas resolve).
  contracts::schema_resolver schema_lookup;
  /// Resolves a schema id to its document, for the mock adapter; may be
  /// empty (then only shipped schemas and inline schemas are known).
  schema_document_resolver schema_document_lookup;
  /// Called from the adapter's thread at least every `heartbeat_interval`
  /// while a module process runs, and while large outputs are hashed (the
  /// worker's sign of life); may be empty.
  std::function<void()> heartbeat;
  /// See `heartbeat`. Default: `defaults::scheduling::heartbeat_interval`
  /// (5 s).
  std::chrono::milliseconds heartbeat_interval
    = defaults::scheduling::heartbeat_interval;
  /// The attempt's stop request, set by the worker when the attempt is to
  /// end early (Zenith took it for lost): the local adapter then kills the
  /// module's process group as after a timeout, and an adapter that sees it
  /// answers `cancelled`. Must outlive `invoke`. Default: none.
  const std::atomic<bool>* stop = nullptr;

  /// Returns whether a stop was requested.
  bool stop_requested() const noexcept {
    return stop && stop->load();
  }
};

/// Runs one attempt of a task somewhere.
class adapter {
public:
  /// Adapters are used through this interface and owned by the node.
  virtual ~adapter();

  /// Runs `order` to completion and returns its outcome, with the order's
  /// execution id, task id and attempt. Blocking. Thread-safe: concurrent
  /// calls with different output directories are independent. Never throws
  /// for anything a module does; every failure is an outcome with a code.
  virtual contracts::execution_outcome
  invoke(const contracts::dispatch_order& order,
         const execution_context& context)
    = 0;
};

/// Returns the envelope of an outcome: `{"status": "DONE" | "ERROR",
/// "outputs": [{key, path, media_type, sha256, size}], "metrics": {...},
/// "logs": {"stdout", "stderr"}, "error": {code, message, transient[,
/// pointer]}}`; `logs` members and `error` are omitted when there are none.
json::value to_json(const contracts::execution_outcome& x);

// -- for adapters ---------------------------------------------------------------

/// Marks `x` failed with `code` and `message` (one sentence a person
/// understands), transient or not.
void fail(contracts::execution_outcome& x, contracts::ec code,
          std::string message, bool transient = false);

/// Returns `text` quoted for a message: 'text'.
std::string in_quotes(std::string_view text);

/// Completes an adapter's outcome before it leaves: the order's ids set,
/// `metrics` (an object) rendered into `metrics_json`, the message scrubbed
/// of the context's secret values and made printable, and either the error
/// cleared (ok) or the outputs dropped (failed).
contracts::execution_outcome finish(contracts::execution_outcome x,
                                    const json::value& metrics,
                                    const contracts::dispatch_order& order,
                                    const execution_context& context);

} // namespace omniva::runtime
