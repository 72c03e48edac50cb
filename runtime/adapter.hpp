#pragma once

// Adapters (DESIGN.md §7): run one attempt of a task and answer with the same
// result envelope whatever the placement.
//
// - `local_adapter` starts the module's `run.command` plus
//   `--manifest <output_dir>/input_manifest.json` as a child process, without
//   a shell, in its own process group, in the module's folder, with a minimal
//   environment and only the named secrets, under the contract's timeout; it
//   captures stdout/stderr to log files and checks what the module wrote.
// - `mock_adapter` starts nothing: it writes deterministic outputs derived
//   from the module ref and the inputs (schema-valid for JSON outputs).
//
// Plain C++: no actors. `invoke` blocks, so a worker calls it off any actor
// thread that must stay responsive (DESIGN.md §6). Bad modules never make
// `invoke` throw: every failure is an `execution_result` with a stable code.
//
// ## The files of one execution
//
// Everything lives in `output_dir` (`<data>/outputs/<task_id>/<attempt>/`),
// which the adapter creates:
//
//   input_manifest.json   written by the adapter before the module starts
//   output_manifest.json  written by the module before it exits 0
//   stdout.log            the module's stdout (local adapter)
//   stderr.log            the module's stderr (local adapter)
//   inputs/<key>.json     VALUE inputs the caller gave no file for
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
//     "mode": "real",                       // "mock" from the mock adapter
//     "inputs": {
//       "source":      {"kind": "ASSET", "path": "/abs/file.wav",
//                       "media_type": "audio/wav"},
//       "sample_rate": {"kind": "VALUE", "path": "/abs/inputs/sample_rate.json",
//                       "value": 16000}
//     },
//     "output_dir": "/abs/outputs/<task_id>/<attempt>",
//     "outputs": {
//       "metadata": {"media_type": "application/json",
//                    "path": "/abs/outputs/<task_id>/<attempt>/metadata.json"}
//     },
//     "output_manifest": "/abs/outputs/<task_id>/<attempt>/output_manifest.json"
//   }
//
// Every path is absolute. `outputs.<key>.path` is a suggestion: a module may
// write elsewhere inside `output_dir` as long as its output manifest says so.
// A VALUE input carries its value inline and as a file holding the same
// compact JSON text.
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
//   detects it from the content (libmagic). A text file detected as
//   `text/plain` is accepted as the contract's `text/...` type, and as a JSON
//   type when it parses as JSON: libmagic cannot tell those apart.
// - Members for keys the contract does not declare are ignored (they do not
//   become assets). Other members of the document are ignored too.
//
// Every output the contract declares must be listed and exist
// (`missing_output`), have a media type the contract accepts
// (`output_contract_violation`) and, for JSON types, parse as JSON and satisfy
// the output's schema when it has one (`output_contract_violation`, pointer =
// where in the output document).

#include "contracts/error_code.hpp"
#include "contracts/json.hpp"
#include "contracts/module_contract.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace omniva::runtime {

/// One input of an execution, resolved by the asset ledger to a file (ASSET)
/// or a value (VALUE).
struct resolved_input {
  /// The contract's input key.
  std::string key;
  /// Whether this is a VALUE input (else an ASSET file).
  bool is_value = false;
  /// ASSET: absolute path of the file. VALUE: the file holding `value_json`;
  /// when empty (or the file does not exist) the adapter writes one
  /// (`<output_dir>/inputs/<key>.json` when empty).
  std::string path;
  /// ASSET: the asset's media type; VALUE: may be empty.
  std::string media_type;
  /// VALUE: the value as compact JSON text. Unused for ASSET inputs.
  std::string value_json;
  /// ASSET: the file's SHA-256 (hex) as the ledger recorded it; when empty
  /// the mock adapter hashes the file itself.
  std::string sha256;
};

/// Looks up the JSON document of a registry schema id ("media.metadata@1"):
/// the mock adapter needs the schema itself, not only its compiled form, to
/// fabricate a valid instance. nullopt when unknown.
using schema_document_resolver
  = std::function<std::optional<json::value>(std::string_view id)>;

/// Everything an adapter needs to run one attempt of a task.
struct execution_request {
  /// "<task_id>/<attempt>": a second result for the same id is ignored by
  /// Zenith, so retries never duplicate effects.
  std::string execution_id;
  /// The task (UUID).
  std::string task_id;
  /// The attempt, from 1.
  uint32_t attempt = 1;
  /// The module's contract: what to run and what it promises.
  contracts::module_contract contract;
  /// The folder of the module's module.json: the process's working directory.
  std::string module_dir;
  /// The inputs, resolved (ASSET paths, VALUE values).
  std::vector<resolved_input> inputs;
  /// `<data>/outputs/<task_id>/<attempt>/`; created by the adapter.
  std::string output_dir;
  /// Secret name -> value, taken from the node's environment. Only the names
  /// the contract lists (`secrets.required` and `.optional`) are passed on;
  /// values never appear in messages, and are scrubbed from the logs.
  std::map<std::string, std::string> secrets;
  /// Resolves an output's schema id (`schema_ref`) to a compiled schema;
  /// may be empty (then only shipped schemas and inline schemas resolve).
  contracts::schema_resolver schema_lookup;
  /// Called from the adapter's thread at least every `heartbeat_interval`
  /// while a module process runs (the worker's sign of life); may be empty.
  std::function<void()> heartbeat;
  std::chrono::milliseconds heartbeat_interval = std::chrono::seconds{5};
  /// Resolves a schema id to its document, for the mock adapter; may be
  /// empty (then only shipped schemas and inline schemas are known).
  schema_document_resolver schema_document_lookup;
};

/// One output a module produced: an asset to register as AVAILABLE.
struct output_file {
  /// The contract's output key.
  std::string key;
  /// Absolute path, symbolic links resolved, inside the output directory.
  std::string path;
  /// The file's media type (as the manifest declared it or as detected).
  std::string media_type;
  /// SHA-256 of the content, 64 lowercase hex digits.
  std::string sha256;
  /// Size in bytes.
  uint64_t size = 0;
};

/// The outcome of one execution: the envelope of DESIGN.md §7.
struct execution_result {
  /// Whether the module ran and every declared output checked out.
  bool ok = false;
  /// On success: every declared output, in the contract's order.
  std::vector<output_file> outputs;
  /// An object: `duration_ms`, and for a process `exit_code` or `signal`
  /// (+ `signal_name`), `timed_out`, `max_rss_kb`, `user_cpu_ms`,
  /// `system_cpu_ms`; `mode` ("real" or "mock").
  json::value metrics;
  /// The module's stdout log (empty when there is none).
  std::string stdout_path;
  /// The module's stderr log (empty when there is none).
  std::string stderr_path;
  /// `none` on success, else why it failed: `spawn_failed`, `exit_code`,
  /// `signal`, `timeout`, `missing_manifest`, `missing_output`,
  /// `output_contract_violation`, `invalid_ref` (an output schema that does
  /// not resolve), `io_error` (the output directory or an input file),
  /// `invalid_argument` (a malformed request).
  contracts::ec error_code = contracts::ec::none;
  /// One sentence a person understands; never contains a secret value.
  std::string error_message;
  /// For `output_contract_violation` by a schema: the JSON pointer inside the
  /// output document; else empty.
  std::string error_pointer;
  /// Whether a retry may succeed (a timeout, a process killed by SIGKILL, an
  /// I/O error) as opposed to a deterministic failure.
  bool transient = false;
};

/// Returns the envelope: `{"status": "DONE" | "ERROR", "outputs": [{key,
/// path, media_type, sha256, size}], "metrics": {...}, "logs": {"stdout",
/// "stderr"}, "error": {code, message, transient[, pointer]}}`; `logs`
/// members and `error` are omitted when there are none.
json::value to_json(const execution_result& x);

/// Runs one attempt of a task somewhere.
class adapter {
public:
  virtual ~adapter();

  /// Runs the request to completion and returns its result. Blocking.
  /// Thread-safe: concurrent calls with different output directories are
  /// independent. Never throws for anything a module does; every failure is
  /// a result with a code.
  virtual execution_result invoke(const execution_request& request) = 0;
};

/// Settings of the local adapter. Defaults suit a node.
struct local_adapter_options {
  /// How long the process group has between SIGTERM and SIGKILL after a
  /// timeout. Default: 2 s.
  std::chrono::milliseconds kill_grace{2000};
  /// `PATH` of the child; empty: the node's own `PATH`, or
  /// "/usr/local/bin:/usr/bin:/bin" when it has none. Default: empty.
  std::string path;
  /// How many trailing lines of stderr an `exit_code`/`signal` message
  /// quotes. Default: 5.
  size_t stderr_tail_lines = 5;
  /// Whether `resources.memory_gb` becomes the child's address-space limit
  /// (RLIMIT_AS). Off by default: runtimes that reserve large virtual
  /// ranges (JVMs, some ML libraries) fail under it. Default: false.
  bool limit_memory = false;
  /// The largest output manifest read, in bytes. Default: 1 MiB.
  size_t max_manifest_bytes = 1 << 20;
};

/// Runs modules as local child processes (see the file comment).
///
/// The child: argv = `run.command` + `--manifest <path>` (argv[0] found on
/// the child's PATH unless it contains a '/', then relative to `module_dir`);
/// no shell; working directory `module_dir`; a new process group; stdin
/// /dev/null; stdout/stderr to `stdout.log`/`stderr.log`; no other inherited
/// descriptors; default signal dispositions and an empty signal mask; no core
/// dumps; environment `PATH`, `HOME`, `LANG` and the contract's secrets that
/// the request carries, nothing else. When the main process exits, whatever
/// is left of its process group is killed. A process that leaves its group
/// (setsid) escapes this; containing it needs cgroups.
class local_adapter : public adapter {
public:
  explicit local_adapter(local_adapter_options options = {});

  execution_result invoke(const execution_request& request) override;

  /// The settings.
  const local_adapter_options& options() const noexcept {
    return options_;
  }

private:
  local_adapter_options options_;
};

/// Fabricates outputs without running anything (`mode: "mock"`): for tests,
/// simulations and benchmarks.
///
/// It starts no process, so it writes no input manifest and no VALUE files:
/// only the output folder and each declared output, written to
/// `<output_dir>/<key><ext>`, its bytes a
/// pure function of the module ref, the output key and the inputs (ASSET:
/// the SHA-256 of the file, or of its path when it cannot be read; VALUE: the
/// value): the same request gives byte-identical files. JSON outputs (media
/// type `application/json` or `*/*+json`) are a document valid against the
/// output's schema (`example_instance`, then validated: an instance that does
/// not validate fails with `output_contract_violation`), or a small object
/// naming the module when there is no schema; `text/*` outputs one line of
/// text; anything else 64 bytes from a hash. The media type is the declared
/// one (a wildcard type becomes `application/octet-stream`).
class mock_adapter : public adapter {
public:
  execution_result invoke(const execution_request& request) override;
};

/// Returns a document meant to satisfy `schema` (JSON Schema 2020-12), for
/// the common keywords: `type`, `properties`, `required`, `items`,
/// `prefixItems`, `minItems`, `enum`, `const`, `minimum`, `maximum`,
/// `exclusiveMinimum`, `exclusiveMaximum`, `multipleOf`, `minLength`,
/// `maxLength`, `pattern` (by trying candidates), `format` (uuid, date-time,
/// date, time, email, uri, hostname, ipv4, ipv6, duration), `allOf` (all
/// merged), `anyOf`/`oneOf` (the first alternative), `if`/`then` (`then`
/// applied as if `if` held), `$ref` within the
/// schema ("#/$defs/x") and to shipped schemas by file name
/// ("ClipCandidate.json"). Free strings derive from `seed` when it is not
/// empty. Not a solver: validate the result before trusting it.
json::value example_instance(const json::value& schema,
                             std::string_view seed = {});

/// Returns the media type libmagic detects for the file at `path`
/// (`MAGIC_MIME_TYPE`, e.g. "image/png", "text/plain"); empty when the file
/// cannot be read or libmagic is not usable. Thread-safe.
std::string detect_media_type(const std::string& path);

} // namespace omniva::runtime
