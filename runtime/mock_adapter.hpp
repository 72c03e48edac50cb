#pragma once

// The mock adapter: fabricates outputs without running anything (`mode:
// "mock"`), for tests, simulations and benchmarks.

#include "runtime/adapter.hpp"

namespace omniva::runtime {

/// Fabricates outputs without running anything.
///
/// It starts no process, so it writes no input manifest and no VALUE files:
/// only the output folder and each declared output, written to
/// `<output_dir>/<key><ext>`, its bytes a pure function of the module ref,
/// the output key and the inputs (ASSET: the recorded SHA-256, else the
/// SHA-256 of the file, or of its path when it cannot be read; VALUE: the
/// value): the same order gives byte-identical files. JSON outputs (media
/// type `application/json` or `*/*+json`) are a document valid against the
/// output's schema (`contracts::example_instance`, then validated: an
/// instance that does not validate fails with `output_contract_violation`),
/// or a small object naming the module when there is no schema; `text/*`
/// outputs one line of text; anything else 64 bytes from a hash. The media
/// type is the declared one (a wildcard subtype becomes `x-omniva-mock`).
/// Secrets and the heartbeat of the context are not used; a stop requested
/// before it starts writing is `cancelled` (it writes nothing). Metrics:
/// `mode` "mock", `duration_ms`.
class mock_adapter : public adapter {
public:
  /// Writes the outputs of `order` as the class comment says; see
  /// `adapter::invoke`.
  contracts::execution_outcome invoke(const contracts::dispatch_order& order,
                                      const execution_context& context) override;
};

} // namespace omniva::runtime
