#pragma once

// The mock adapter: fabricates outputs without running anything (`mode:
// "mock"`), for tests, simulations and benchmarks.

#include "runtime/adapter.hpp"

#include <cstddef>

namespace omniva::runtime {

/// The number of files the mock adapter writes for a `many` output unless
/// told otherwise: 2.
inline constexpr size_t default_mock_many_count = 2;

/// Returns the number of files a `many` output gets from the mock adapter
/// by the node's environment: `OMNIVA_MOCK_MANY` when it is a decimal
/// integer from 0 to `max_many_output_files` (execution_files.hpp; a
/// larger one counts as that maximum), else `default_mock_many_count`.
size_t mock_many_count_from_environment();

/// How the mock adapter fabricates outputs.
struct mock_adapter_options {
  /// How many files it writes for each `many` output (zero: an empty list).
  /// Default: `mock_many_count_from_environment()`, read when the options
  /// are made.
  size_t many_count = mock_many_count_from_environment();
};

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
/// A `many` output gets `many_count` files (`mock_adapter_options`),
/// `<key>-<i><ext>` for i = 0, 1, ..., each fabricated as a single output
/// of its media type and schema is, from its own seed, and reported in
/// that order.
/// Secrets and the heartbeat of the context are not used; a stop requested
/// before it starts writing is `cancelled` (it writes nothing). Metrics:
/// `mode` "mock", `duration_ms`.
class mock_adapter : public adapter {
public:
  /// A mock adapter with the default options: the number of files of a
  /// `many` output read from the environment now, once.
  mock_adapter() = default;

  /// A mock adapter with `options`.
  explicit mock_adapter(mock_adapter_options options) : options_(options) {
  }

  /// Writes the outputs of `order` as the class comment says; see
  /// `adapter::invoke`.
  contracts::execution_outcome invoke(const contracts::dispatch_order& order,
                                      const execution_context& context) override;

  /// Returns the options it fabricates by.
  const mock_adapter_options& options() const noexcept {
    return options_;
  }

private:
  mock_adapter_options options_;
};

} // namespace omniva::runtime
