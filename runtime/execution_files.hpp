#pragma once

// The files of one execution: what an adapter writes before a module runs
// (the output folder, VALUE input files, the input manifest) and what it
// reads and checks after (the output manifest and every declared output).
//
// Everything lives in `output_dir` (`<data>/outputs/<task_id>/<attempt>/`),
// which the adapter creates:
//
//   input_manifest.json   written by the adapter before the module starts
//   output_manifest.json  written by the module before it exits 0
//   stdout.log            the module's stdout (local adapter)
//   stderr.log            the module's stderr (local adapter)
//   inputs/<key>.json     each VALUE input, as a file (local adapter)
//   ...                   the outputs, where the module put them
//
// ## input_manifest.json (what a module reads)
//
//   {
//     "schema_version": "1.0.0",
//     "execution_id": "<task_id>/<attempt>",
//     "task_id": "<uuid>",
//     "attempt": 1,
//     "module": "media-probe@1",
//     "mode": "real",
//     "inputs": {
//       "source":      {"kind": "ASSET", "path": "/abs/file.wav",
//                       "media_type": "audio/wav"},
//       "sample_rate": {"kind": "VALUE", "path": "/abs/inputs/sample_rate.json",
//                       "value": 16000}
//     },
//     "output_dir": "/abs/outputs/<task_id>/<attempt>",
//     "outputs": {
//       "metadata": {"media_type": "application/json",
//                    "path": "/abs/outputs/<task_id>/<attempt>/metadata.json"},
//       "clips":    {"media_type": "video/mp4", "many": true,
//                    "prefix": "/abs/outputs/<task_id>/<attempt>/clips-",
//                    "extension": ".mp4"}
//     },
//     "output_manifest": "/abs/outputs/<task_id>/<attempt>/output_manifest.json"
//   }
//
// Every path is absolute. `outputs.<key>.path` is a suggestion: a module may
// write elsewhere inside `output_dir` as long as its output manifest says so.
// A `many` output (docs/pipelines.md) has no `path` but `"many": true` and
// a suggested `prefix` and `extension`: its files named
// `<prefix><i><extension>`, i = 0, 1, ... (`clips-0.mp4`, `clips-1.mp4`).
// A VALUE input carries its value inline and as a file holding the same
// compact JSON text (`<output_dir>/inputs/<key>.json`).
//
// ## output_manifest.json (what a module writes)
//
//   {
//     "outputs": {
//       "metadata": {"path": "metadata.json", "media_type": "application/json"}
//     }
//   }
//
// - `outputs` is an object with one member per output the module produced.
// - `path` (required): relative to `output_dir`, or absolute. After resolving
//   `..` and symbolic links it must name a regular file inside `output_dir`
//   (not one of the files the runtime owns listed above).
// - `media_type` (optional): the file's media type; when omitted the adapter
//   detects it from the content (libmagic, storage/media_detect.hpp). A text
//   file detected as `text/plain` is accepted as the contract's `text/...`
//   type, and as a JSON type when it parses as JSON: libmagic cannot tell
//   those apart.
// - Members for keys the contract does not declare are ignored (they do not
//   become assets). Other members of the document are ignored too.
// - A `many` output lists its files, in order, under `paths` instead:
//   `{"paths": ["clips-0.mp4", "clips-1.mp4"]}` or `{"paths": [{"path":
//   "clips-0.mp4", "media_type": "video/mp4"}, ...]}` (the two forms may be
//   mixed). Zero files is a valid list; `path` alone stands for a list of
//   one file; both `path` and `paths` is `missing_manifest`, as is a
//   malformed entry. Each file is checked as a single output is (below),
//   and becomes one produced output with the output's key, in the listed
//   order. A file listed twice, or more than `max_files_per_output` files
//   (100,000), is `output_contract_violation`. `<key>.asset-list.json` of a
//   `many` output is a file of the runtime too (where the node writes the
//   list once the task succeeds).
//
// Every output the contract declares must be listed and exist
// (`missing_output`), have a media type the contract accepts
// (`output_contract_violation`) and, for JSON types, parse as JSON and satisfy
// the output's schema when it has one (`output_contract_violation`, pointer =
// where in the output document). A JSON output is read whole and parsed, so
// one larger than `max_json_output_bytes` is refused before it is read
// (`output_too_large`, pointer = `/outputs/<key>`, or `/outputs/<key>/paths/<i>`
// for a file of a `many` output); other outputs are only hashed, streaming.

#include "contracts/defaults.hpp"
#include "contracts/node_messages.hpp"
#include "runtime/adapter.hpp"

#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

namespace omniva::runtime {

/// The file the adapter writes for the module: `input_manifest.json`.
inline constexpr std::string_view input_manifest_name = "input_manifest.json";

/// The file the module writes for the adapter: `output_manifest.json`.
inline constexpr std::string_view output_manifest_name = "output_manifest.json";

/// The module's stdout: `stdout.log`.
inline constexpr std::string_view stdout_log_name = "stdout.log";

/// The module's stderr: `stderr.log`.
inline constexpr std::string_view stderr_log_name = "stderr.log";

/// The format version of input_manifest.json.
inline constexpr std::string_view input_manifest_version = "1.0.0";

/// The most files a `many` output may list (100,000): a list asset names
/// each of them, and the node records one asset per file.
inline constexpr size_t max_many_output_files = 100'000;

/// Returns the file in an execution's folder where the list asset of
/// `many` output `key` is written once the task succeeds:
/// `<key>.asset-list.json` (docs/pipelines.md); a module may not name it as
/// an output.
std::string asset_list_file_name(std::string_view key);

/// Returns the absolute form of `p` with "." and ".." removed (symbolic
/// links are not resolved).
std::filesystem::path absolute_normal(const std::filesystem::path& p);

/// Creates the directory `dir` (absolute) and its missing parents; one
/// mkdir when only the leaf is missing, as for an execution's output
/// folder. Returns false with `err` set on failure.
bool make_directories(const std::filesystem::path& dir, std::error_code& err);

/// Writes `content` to `path`, replacing it; returns false (and leaves no
/// half-written file) on failure.
bool write_file(const std::string& path, std::string_view content);

/// Returns the content of the file at `path` when it holds at most `limit`
/// bytes; nullopt when it cannot be read or is larger (`*too_large` set
/// then). The size is checked before anything is read, and again while
/// reading (a file may grow).
std::optional<std::string> read_small_file(const std::string& path,
                                           size_t limit,
                                           bool* too_large = nullptr);

/// Returns the file name suggested for output `key` of `media_type`:
/// `key` plus an extension (".json" for JSON types, ".txt", ".csv", ".png",
/// ..., ".bin" for anything unknown).
std::string suggested_file_name(std::string_view key, std::string_view media_type);

/// Returns the file name suggested for file `index` of `many` output `key`
/// of `media_type`: `<key>-<index>` plus the extension `suggested_file_name`
/// gives ("clips-0.mp4").
std::string suggested_file_name(std::string_view key, std::string_view media_type,
                                size_t index);

/// The output folder of an execution, prepared for a module to run in.
struct prepared_execution {
  /// Absolute, normalised output directory (created).
  std::filesystem::path output_dir;
  /// The absolute path of input_manifest.json (written).
  std::filesystem::path input_manifest;
};

/// Creates the output directory of `order` and removes an output manifest
/// an earlier run of the same execution left there, writes each VALUE input
/// to `inputs/<key>.json` and the input manifest (with `mode`). On failure
/// fills `outcome` (`invalid_argument`: no output directory or a VALUE that
/// is not JSON; `io_error`: a file that cannot be written) and returns
/// nullopt.
std::optional<prepared_execution>
prepare_execution(const contracts::dispatch_order& order, std::string_view mode,
                  contracts::execution_outcome& outcome);

/// How much of a module's files the adapter reads into memory.
struct output_limits {
  /// The largest output manifest, in bytes. Default:
  /// `defaults::adapter::max_manifest_bytes` (1 MiB).
  size_t max_manifest_bytes = defaults::adapter::max_manifest_bytes;
  /// The largest JSON output, in bytes. Default:
  /// `defaults::adapter::max_json_output_bytes` (64 MiB).
  size_t max_json_output_bytes = defaults::adapter::max_json_output_bytes;
  /// The most files one `many` output may list. Default:
  /// `max_many_output_files` (100,000).
  size_t max_files_per_output = max_many_output_files;
};

/// Reads a failure the module reported in its output manifest in
/// `output_dir` (`{"error": {"code", "message", "transient"}}`, code
/// snake_case, at most 64 characters) into `r`: `module_error_code`, the
/// message and `transient`, `error_code` `exit_code` (how a module that
/// reports its own error ends). Returns whether there was one; a manifest
/// that is missing, unreadable or has no well-formed `error` changes
/// nothing.
bool read_reported_error(const std::filesystem::path& output_dir,
                         size_t max_manifest_bytes,
                         contracts::execution_outcome& r);

/// Reads the output manifest in `output_dir` and checks every output the
/// contract declares, as the file comment says, within `limits`; on
/// success fills `outcome.outputs` (hashed, in the contract's order; a
/// `many` output's files one each, in the listed order) and
/// sets `outcome.ok`, else fails `outcome` (`error_pointer` set for a
/// schema violation and for `output_too_large`). Calls the context's
/// heartbeat while hashing large outputs; fails with `cancelled` when the
/// context's stop flag is set before an output (or a file of a `many`
/// output) is checked.
void collect_outputs(const contracts::dispatch_order& order,
                     const execution_context& context,
                     const std::filesystem::path& output_dir,
                     const output_limits& limits,
                     contracts::execution_outcome& outcome);

/// Reads the cost the module reported in the output manifest in
/// `output_dir` (`"cost": {"usd_micro": N}`, 0 .. 10^15) into
/// `outcome.cost_usd_micro`; a manifest without one (or a malformed one)
/// changes nothing.
void read_reported_cost(const std::filesystem::path& output_dir,
                        size_t max_manifest_bytes,
                        contracts::execution_outcome& outcome);

/// Checks the contract's success predicates (docs/policies.md) against a
/// successful attempt's files, in order, stopping at the first that does
/// not hold: fills `outcome.predicates_json` with the verdicts and, when
/// one fails, fails `outcome` with `success_predicate_failed` (not
/// transient, `error_pointer` "/predicates/success/<i>", the message naming
/// the predicate and what it saw) so that its outputs are never promoted.
/// Does nothing for a failed outcome or a contract without any.
void check_success_predicates(const contracts::dispatch_order& order,
                              const execution_context& context,
                              contracts::execution_outcome& outcome);

} // namespace omniva::runtime
