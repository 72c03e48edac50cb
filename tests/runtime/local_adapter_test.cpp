#define BOOST_TEST_MODULE runtime_local_adapter
#include <boost/test/unit_test.hpp>

// The local adapter against real child processes: the example modules under
// modules/ (Python 3, standard library only) run for real, and every way a
// module can fail is checked to end in its own error code. Its limits, stops
// and logs, and what attempts leave behind (runtime/leftovers.hpp: markers,
// records, and the reaper a node runs at start, against real process trees
// and a node killed mid-run) are checked here too.

#include "tests/runtime/adapter_fixture.hpp"

#include "contracts/packet.hpp"
#include "runtime/execution_files.hpp"
#include "runtime/leftovers.hpp"
#include "runtime/local_adapter.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

using namespace omniva;
using namespace omniva::runtime;
using namespace omniva::adapter_testing;
using contracts::ec;
namespace fs = std::filesystem;

BOOST_FIXTURE_TEST_SUITE(local, fixture)

// -- success ------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(a_probe_run_yields_checked_outputs) {
  auto req = request("media_probe");
  req.order.inputs.push_back(asset_input("source", wav(500), "audio/wav"));
  req.order.inputs.push_back(value_input("sample_rate", "16000"));
  auto r = run_local(req);
  BOOST_REQUIRE_MESSAGE(r.ok, describe(r));
  BOOST_CHECK(r.error_code == ec::none);
  BOOST_REQUIRE_EQUAL(r.outputs.size(), 1u);
  auto& out = r.outputs.front();
  BOOST_CHECK_EQUAL(out.key, "metadata");
  BOOST_CHECK_EQUAL(out.media_type, "application/json");
  BOOST_CHECK_EQUAL(fs::path{out.path}.parent_path(),
                    fs::canonical(req.order.output_dir));
  auto bytes = read_text(out.path);
  BOOST_CHECK_EQUAL(out.size, bytes.size());
  BOOST_CHECK_EQUAL(out.sha256, contracts::to_hex(contracts::sha256(bytes)));
  auto meta = parse_json(bytes);
  BOOST_CHECK_EQUAL(meta.find("container")->as_string(), "wav");
  BOOST_CHECK_EQUAL(*meta.find("duration_ms")->as_int64(), 500);
  BOOST_CHECK_EQUAL(*meta.find("sample_rate")->as_int64(), 16000);
  BOOST_CHECK_EQUAL(*meta.find("analysis_frames")->as_int64(), 8000);
  BOOST_CHECK_EQUAL(meta.find("sha256")->as_string(),
                    contracts::to_hex(contracts::sha256(wav_bytes(8000, 500))));
  BOOST_CHECK_EQUAL(*metrics_of(r).find("exit_code")->as_int64(), 0);
  BOOST_CHECK(metrics_of(r).find("duration_ms") != nullptr);
  BOOST_CHECK_NE(read_text(r.stdout_path).find("probed"), std::string::npos);
}

BOOST_AUTO_TEST_CASE(the_input_manifest_carries_paths_values_and_suggestions) {
  auto req = request("media_probe");
  auto source = wav();
  req.order.inputs.push_back(asset_input("source", source, "audio/wav"));
  req.order.inputs.push_back(value_input("sample_rate", "22050"));
  auto r = run_local(req);
  BOOST_REQUIRE_MESSAGE(r.ok, describe(r));
  auto m = parse_json(read_text(fs::path{req.order.output_dir} / "input_manifest.json"));
  BOOST_CHECK_EQUAL(m.find("mode")->as_string(), "real");
  BOOST_CHECK_EQUAL(m.find("execution_id")->as_string(), req.order.execution_id);
  BOOST_CHECK_EQUAL(m.find("module")->as_string(), "media-probe@1");
  auto* src = json::resolve_pointer(m, "/inputs/source");
  BOOST_REQUIRE(src);
  BOOST_CHECK_EQUAL(src->find("kind")->as_string(), "ASSET");
  BOOST_CHECK_EQUAL(src->find("path")->as_string(), source.string());
  auto* rate = json::resolve_pointer(m, "/inputs/sample_rate");
  BOOST_REQUIRE(rate);
  BOOST_CHECK_EQUAL(rate->find("kind")->as_string(), "VALUE");
  BOOST_CHECK_EQUAL(*rate->find("value")->as_int64(), 22050);
  BOOST_CHECK_EQUAL(read_text(rate->find("path")->as_string()), "22050");
  auto* suggestion = json::resolve_pointer(m, "/outputs/metadata/path");
  BOOST_REQUIRE(suggestion);
  BOOST_CHECK_EQUAL(fs::path{suggestion->as_string()}.filename(), "metadata.json");
}

BOOST_AUTO_TEST_CASE(summarize_consumes_the_probe_output_as_a_pipeline) {
  auto probe = request("media_probe");
  probe.order.inputs.push_back(asset_input("source", wav(1500), "audio/wav"));
  auto first = run_local(probe);
  BOOST_REQUIRE_MESSAGE(first.ok, describe(first));
  auto metadata = first.outputs.front();

  job next;
  next.order.task.task_id = "7c2e9a41-6b3d-4e8f-a1c5-3d9b7e2f4a02";
  next.order.task.attempt = 1;
  next.order.execution_id = next.order.task.task_id + "/1";
  next.order.contract = load_contract("summarize");
  next.order.module_dir = module_dir("summarize").string();
  next.order.output_dir = (root / "outputs" / next.order.task.task_id / "1").string();
  next.order.inputs.push_back(asset_input("metadata", metadata.path, metadata.media_type));
  next.order.inputs.push_back(value_input("style", "\"detailed\""));
  auto second = run_local(next);
  BOOST_REQUIRE_MESSAGE(second.ok, describe(second));
  BOOST_REQUIRE_EQUAL(second.outputs.size(), 1u);
  auto& summary = second.outputs.front();
  // The manifest omits the media type: libmagic detected it.
  BOOST_CHECK_EQUAL(summary.media_type, "text/plain");
  auto text = read_text(summary.path);
  BOOST_CHECK_NE(text.find("tone: wav, 1.500 s"), std::string::npos);
  BOOST_CHECK_NE(text.find("sha256: " + contracts::to_hex(contracts::sha256(wav_bytes(8000, 1500)))),
                 std::string::npos);
}

BOOST_AUTO_TEST_CASE(concurrent_invocations_are_independent) {
  auto source = wav();
  std::vector<contracts::execution_outcome> results(4);
  std::vector<std::thread> threads;
  local_adapter shared;
  for (uint32_t i = 0; i < results.size(); ++i) {
    auto req = request("media_probe", i + 1);
    req.order.inputs.push_back(asset_input("source", source, "audio/wav"));
    threads.emplace_back([&, i, req] { results[i] = shared.invoke(req.order, req.context); });
  }
  for (auto& t : threads)
    t.join();
  for (auto& r : results) {
    BOOST_REQUIRE_MESSAGE(r.ok, describe(r));
    BOOST_CHECK_EQUAL(r.outputs.front().sha256, results.front().outputs.front().sha256);
  }
}

BOOST_AUTO_TEST_CASE(the_envelope_has_the_shape_of_design_section_7) {
  auto req = fail_request("ok");
  auto r = run_local(req);
  BOOST_REQUIRE_MESSAGE(r.ok, describe(r));
  auto env = to_json(r);
  BOOST_CHECK_EQUAL(env.find("status")->as_string(), "DONE");
  auto* out = json::resolve_pointer(env, "/outputs/0");
  BOOST_REQUIRE(out);
  for (auto* k : {"key", "path", "media_type", "sha256", "size"})
    BOOST_CHECK_MESSAGE(out->find(k), "missing " << k);
  BOOST_CHECK(json::resolve_pointer(env, "/logs/stdout"));
  BOOST_CHECK(json::resolve_pointer(env, "/logs/stderr"));
  BOOST_CHECK(env.find("error") == nullptr);

  auto failed = to_json(run_local(fail_request("exit", 2)));
  BOOST_CHECK_EQUAL(failed.find("status")->as_string(), "ERROR");
  BOOST_CHECK_EQUAL(json::resolve_pointer(failed, "/error/code")->as_string(), "exit_code");
  BOOST_CHECK(json::resolve_pointer(failed, "/error/message")->is_string());
  BOOST_CHECK_EQUAL(json::resolve_pointer(failed, "/error/transient")->as_bool(), false);
  BOOST_CHECK(json::resolve_pointer(failed, "/outputs")->as_array().empty());
}

BOOST_AUTO_TEST_CASE(the_outcome_names_the_order_it_answers) {
  auto req = fail_request("ok", 3);
  auto r = run_local(req);
  BOOST_REQUIRE_MESSAGE(r.ok, describe(r));
  BOOST_CHECK_EQUAL(r.execution_id, req.order.execution_id);
  BOOST_CHECK_EQUAL(r.task_id, task_id);
  BOOST_CHECK_EQUAL(r.attempt, 3u);
  BOOST_CHECK_EQUAL(metrics_of(r).find("mode")->as_string(), "real");
}

BOOST_AUTO_TEST_CASE(a_value_input_reaches_the_module_as_its_own_copy) {
  // The order names the value's file in the store; the module still reads
  // a copy in its execution folder, never the store.
  auto stored = root / "store-value.json";
  write_text(stored, "\"stored\"");
  auto req = fail_request("ok");
  req.order.inputs.back().path = stored.string();
  auto r = run_local(req);
  BOOST_REQUIRE_MESSAGE(r.ok, describe(r));
  auto m = parse_json(read_text(fs::path{req.order.output_dir} / "input_manifest.json"));
  auto path = json::resolve_pointer(m, "/inputs/mode/path")->as_string();
  BOOST_CHECK_EQUAL(path, (fs::path{req.order.output_dir} / "inputs" / "mode.json").string());
  BOOST_CHECK_EQUAL(read_text(path), "\"ok\"");
  BOOST_CHECK_EQUAL(read_text(stored), "\"stored\"");
}

// -- process failures -----------------------------------------------------------------

BOOST_AUTO_TEST_CASE(a_non_zero_exit_is_exit_code_with_the_stderr_tail) {
  auto r = run_local(fail_request("exit"));
  BOOST_CHECK(!r.ok);
  BOOST_CHECK_EQUAL(contracts::to_string(r.error_code), "exit_code");
  BOOST_CHECK(!r.transient);
  BOOST_CHECK_NE(r.error_message.find("status 3"), std::string::npos);
  BOOST_CHECK_NE(r.error_message.find("failing on request with status 3"),
                 std::string::npos);
  BOOST_CHECK_EQUAL(*metrics_of(r).find("exit_code")->as_int64(), 3);
  BOOST_CHECK(r.outputs.empty());
  BOOST_CHECK_NE(read_text(r.stderr_path).find("failing on request"), std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_crash_is_signal) {
  auto r = run_local(fail_request("crash"));
  BOOST_CHECK(!r.ok);
  BOOST_CHECK_EQUAL(contracts::to_string(r.error_code), "signal");
  BOOST_CHECK_EQUAL(*metrics_of(r).find("signal")->as_int64(), SIGSEGV);
  BOOST_CHECK_NE(r.error_message.find("SIGSEGV"), std::string::npos);
  BOOST_CHECK(!r.transient);
}

BOOST_AUTO_TEST_CASE(a_timeout_kills_the_whole_process_group) {
  auto req = request("slow");
  // Long enough for Python to start and write its pids on a busy machine.
  req.order.contract.resources.timeout_s = 3;
  req.order.inputs.push_back(value_input("seconds", "30"));
  req.order.inputs.push_back(value_input("children", "2"));
  auto r = run_local(req);
  BOOST_CHECK(!r.ok);
  BOOST_CHECK_EQUAL(contracts::to_string(r.error_code), "timeout");
  BOOST_CHECK(r.transient);
  BOOST_CHECK_EQUAL(metrics_of(r).find("timed_out")->as_bool(), true);
  // The module and both of its children are gone.
  std::vector<pid_t> pids;
  std::istringstream in{read_text(fs::path{req.order.output_dir} / "pids.txt")};
  for (pid_t pid; in >> pid;)
    pids.push_back(pid);
  BOOST_REQUIRE_EQUAL(pids.size(), 3u);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{5};
  auto any_alive = [&] {
    return std::any_of(pids.begin(), pids.end(), alive);
  };
  while (any_alive() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds{20});
  for (auto pid : pids)
    BOOST_CHECK_MESSAGE(!alive(pid), "process " << pid << " survived the timeout");
}

BOOST_AUTO_TEST_CASE(a_module_within_its_timeout_succeeds) {
  auto req = request("slow");
  req.order.inputs.push_back(value_input("seconds", "0.1"));
  auto r = run_local(req);
  BOOST_REQUIRE_MESSAGE(r.ok, describe(r));
  BOOST_CHECK_EQUAL(r.outputs.front().key, "result");
}

BOOST_AUTO_TEST_CASE(an_unknown_program_is_spawn_failed) {
  auto req = fail_request("ok");
  req.order.contract.run.command = {"omniva-there-is-no-such-program"};
  auto r = run_local(req);
  BOOST_CHECK_EQUAL(contracts::to_string(r.error_code), "spawn_failed");
  BOOST_CHECK_NE(r.error_message.find("omniva-there-is-no-such-program"),
                 std::string::npos);

  auto rel = fail_request("ok", 2);
  rel.order.contract.run.command = {"./missing-script.py"};
  auto r2 = run_local(rel);
  BOOST_CHECK_EQUAL(contracts::to_string(r2.error_code), "spawn_failed");
  BOOST_CHECK_NE(r2.error_message.find("No such file"), std::string::npos);

  auto not_exec = fail_request("ok", 3);
  not_exec.order.contract.run.command = {"./module.json"}; // exists, not executable
  auto r3 = run_local(not_exec);
  BOOST_CHECK_EQUAL(contracts::to_string(r3.error_code), "spawn_failed");
}

// -- output failures ----------------------------------------------------------------

BOOST_AUTO_TEST_CASE(no_output_manifest_is_missing_manifest) {
  auto r = run_local(fail_request("no_manifest"));
  BOOST_CHECK_EQUAL(contracts::to_string(r.error_code), "missing_manifest");
  BOOST_CHECK(r.outputs.empty());
}

BOOST_AUTO_TEST_CASE(a_stale_manifest_of_an_earlier_run_does_not_count) {
  auto req = fail_request("no_manifest");
  fs::create_directories(req.order.output_dir);
  write_text(fs::path{req.order.output_dir} / "output_manifest.json",
             R"({"outputs":{"report":{"path":"report.json"}}})");
  auto r = run_local(req);
  BOOST_CHECK_EQUAL(contracts::to_string(r.error_code), "missing_manifest");
}

BOOST_AUTO_TEST_CASE(an_unlisted_output_is_missing_output) {
  auto r = run_local(fail_request("missing_output"));
  BOOST_CHECK_EQUAL(contracts::to_string(r.error_code), "missing_output");
  BOOST_CHECK_NE(r.error_message.find("'report'"), std::string::npos);
}

BOOST_AUTO_TEST_CASE(an_output_escaping_through_a_symlink_is_missing_output) {
  auto r = run_local(fail_request("escape"));
  BOOST_CHECK_EQUAL(contracts::to_string(r.error_code), "missing_output");
  BOOST_CHECK_NE(r.error_message.find("outside the output directory"),
                 std::string::npos);
}

BOOST_AUTO_TEST_CASE(an_output_breaking_its_schema_is_a_contract_violation) {
  auto r = run_local(fail_request("bad_output"));
  BOOST_CHECK_EQUAL(contracts::to_string(r.error_code), "output_contract_violation");
  BOOST_CHECK_EQUAL(r.error_pointer, "/mode");
  BOOST_CHECK_NE(r.error_message.find("/mode"), std::string::npos);
  BOOST_CHECK_EQUAL(json::resolve_pointer(to_json(r), "/error/pointer")->as_string(),
                    "/mode");
}

BOOST_AUTO_TEST_CASE(an_output_of_the_wrong_media_type_is_a_contract_violation) {
  auto r = run_local(fail_request("bad_media_type"));
  BOOST_CHECK_EQUAL(contracts::to_string(r.error_code), "output_contract_violation");
  BOOST_CHECK_NE(r.error_message.find("image/png"), std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_detected_media_type_is_checked_too) {
  // The summary (text/plain, type left to detection) under a contract that
  // promises an image.
  auto probe = request("media_probe");
  probe.order.inputs.push_back(asset_input("source", wav(), "audio/wav"));
  auto first = run_local(probe);
  BOOST_REQUIRE_MESSAGE(first.ok, describe(first));
  auto req = request("summarize", 2);
  req.order.contract.outputs.front().media_type = "image/png";
  req.order.inputs.push_back(asset_input("metadata", first.outputs.front().path,
                                   "application/json"));
  auto r = run_local(req);
  BOOST_CHECK_EQUAL(contracts::to_string(r.error_code), "output_contract_violation");
  BOOST_CHECK_NE(r.error_message.find("text/plain"), std::string::npos);
}

// -- secrets and environment ----------------------------------------------------------

BOOST_AUTO_TEST_CASE(only_the_named_secrets_and_a_minimal_environment_reach_the_module) {
  auto req = fail_request("ok");
  req.context.secrets = {{"OMNIVA_DEMO_TOKEN", "tok-3f9a7c1e-value"},
                 {"OTHER_SECRET", "other-secret-value"}};
  // The system's python3 directly: a wrapper on the node's PATH (a pyenv
  // shim, say) would add variables of its own.
  local_adapter_options opts;
  opts.path = "/usr/bin:/bin";
  auto r = local_adapter{opts}.invoke(req.order, req.context);
  BOOST_REQUIRE_MESSAGE(r.ok, describe(r));
  auto report = parse_json(read_text(r.outputs.front().path));
  std::string names;
  for (auto& n : report.find("env_names")->as_array())
    names += n.as_string() + " ";
  BOOST_CHECK_EQUAL(names, "HOME LANG OMNIVA_DEMO_TOKEN PATH ");
  BOOST_CHECK_EQUAL(names.find("OMNIVA_LEAK_CANARY"), std::string::npos);
  BOOST_CHECK_EQUAL(names.find("OTHER_SECRET"), std::string::npos);
  BOOST_CHECK_EQUAL(report.find("token_sha256")->as_string(),
                    contracts::to_hex(contracts::sha256("tok-3f9a7c1e-value")));
  for (auto* file : {"stdout.log", "stderr.log", "input_manifest.json",
                     "output_manifest.json"}) {
    auto text = read_text(fs::path{req.order.output_dir} / file);
    BOOST_CHECK_MESSAGE(text.find("tok-3f9a7c1e-value") == std::string::npos,
                        file << " holds the secret");
    BOOST_CHECK(text.find("other-secret-value") == std::string::npos);
  }
}

BOOST_AUTO_TEST_CASE(a_secret_the_module_prints_is_scrubbed_from_logs_and_messages) {
  auto req = fail_request("leak_secret");
  req.context.secrets = {{"OMNIVA_DEMO_TOKEN", "tok-3f9a7c1e-value"}};
  auto r = run_local(req);
  BOOST_CHECK_EQUAL(contracts::to_string(r.error_code), "exit_code");
  BOOST_CHECK_EQUAL(r.error_message.find("tok-3f9a7c1e-value"), std::string::npos);
  BOOST_CHECK_NE(r.error_message.find("the token is ***"), std::string::npos);
  for (auto& log : {r.stdout_path, r.stderr_path}) {
    auto text = read_text(log);
    BOOST_CHECK_EQUAL(text.find("tok-3f9a7c1e-value"), std::string::npos);
    BOOST_CHECK_NE(text.find("the token is ***"), std::string::npos);
  }
}

BOOST_AUTO_TEST_CASE(a_missing_optional_secret_is_simply_absent) {
  auto r = run_local(fail_request("ok"));
  BOOST_REQUIRE_MESSAGE(r.ok, describe(r));
  auto report = parse_json(read_text(r.outputs.front().path));
  BOOST_CHECK_EQUAL(report.find("token_present")->as_bool(), false);
}

BOOST_AUTO_TEST_CASE(a_missing_required_secret_refuses_to_start) {
  auto req = fail_request("ok");
  req.order.contract.secrets.required = {"OMNIVA_REQUIRED_TOKEN"};
  auto r = run_local(req);
  BOOST_CHECK_EQUAL(contracts::to_string(r.error_code), "spawn_failed");
  BOOST_CHECK_NE(r.error_message.find("OMNIVA_REQUIRED_TOKEN"), std::string::npos);
}

// -- a module written by the test ---------------------------------------------------
//
// A /bin/sh module in the scratch folder exercises one behaviour of the
// adapter at a time. The script runs as `sh module.sh --manifest <path>`;
// `$out` is the output directory.

namespace {

/// Writes a shell module declaring one output `out` of `media_type` (a
/// `many` output when `many`) and returns a request for it.
job shell_request(fixture& f, const std::string& media_type,
                                const std::string& body,
                                const std::string& schema = "",
                                bool many = false) {
  auto dir = f.root / "shell_module";
  fs::create_directories(dir);
  write_text(dir / "module.sh", "out=$(dirname \"$2\")\n" + body + "\n");
  std::string contract = R"({"name": "shell-test", "version": 1,
    "description": "A module written by the adapter test.",
    "inputs": [], "outputs": [{"key": "out", "media_type": ")" + media_type + "\""
    + (schema.empty() ? "" : ", \"schema\": " + schema)
    + (many ? ", \"many\": true" : "") + R"(}],
    "resources": {"timeout_s": 10}, "run": {"command": ["/bin/sh", "module.sh"]},
    "schema_version": "1.0.0"})";
  auto parsed = contracts::parse_module_contract(contract);
  BOOST_REQUIRE_MESSAGE(parsed, "bad test contract");
  job req;
  req.order.task.task_id = task_id;
  req.order.task.attempt = 1;
  req.order.execution_id = std::string{task_id} + "/1";
  req.order.contract = *parsed.contract;
  req.order.module_dir = dir.string();
  req.order.output_dir = (f.root / "outputs" / task_id / "1").string();
  return req;
}

/// The manifest line of a shell module listing output `out` at `path`
/// (with `media_type` unless empty).
std::string manifest_line(const std::string& path, const std::string& media_type = "") {
  std::string entry = "{\"path\": \"" + path + "\"";
  if (!media_type.empty())
    entry += ", \"media_type\": \"" + media_type + "\"";
  entry += "}";
  return "echo '{\"outputs\": {\"out\": " + entry + "}}' > \"$out/output_manifest.json\"";
}

} // namespace

BOOST_AUTO_TEST_CASE(undeclared_json_is_accepted_when_it_parses) {
  for (auto* doc : {R"({"k": 1})", "[1, 2]", "42"}) {
    auto req = shell_request(*this, "application/json",
                             std::string{"echo '"} + doc + "' > \"$out/o.json\"\n"
                               + manifest_line("o.json"));
    auto r = run_local(req);
    BOOST_REQUIRE_MESSAGE(r.ok, doc << ": " << describe(r));
    BOOST_CHECK_EQUAL(r.outputs.front().media_type, "application/json");
  }
}

BOOST_AUTO_TEST_CASE(undeclared_text_that_is_not_json_breaks_a_json_contract) {
  auto req = shell_request(*this, "application/json",
                           "echo 'hello world' > \"$out/o.json\"\n"
                             + manifest_line("o.json"));
  auto r = run_local(req);
  BOOST_CHECK_EQUAL(contracts::to_string(r.error_code), "output_contract_violation");
}

BOOST_AUTO_TEST_CASE(declared_json_that_does_not_parse_breaks_the_contract) {
  auto req = shell_request(*this, "application/json",
                           "echo '{oops' > \"$out/o.json\"\n"
                             + manifest_line("o.json", "application/json"));
  auto r = run_local(req);
  BOOST_CHECK_EQUAL(contracts::to_string(r.error_code), "output_contract_violation");
  BOOST_CHECK_NE(r.error_message.find("not valid JSON"), std::string::npos);
}

BOOST_AUTO_TEST_CASE(detected_plain_text_satisfies_a_text_subtype) {
  auto req = shell_request(*this, "text/markdown",
                           "echo 'some notes' > \"$out/o.md\"\n"
                             + manifest_line("o.md"));
  auto r = run_local(req);
  BOOST_REQUIRE_MESSAGE(r.ok, describe(r));
  BOOST_CHECK_EQUAL(r.outputs.front().media_type, "text/markdown");
}

BOOST_AUTO_TEST_CASE(detected_binary_types_are_checked) {
  // A PNG signature where the contract promises a zip archive.
  auto req = shell_request(*this, "application/zip",
                           R"(printf '\211PNG\r\n\032\n\0\0\0\rIHDR\0\0\0\1\0\0\0\1\10\2\0\0\0' > "$out/o.zip")"
                           "\n" + manifest_line("o.zip"));
  auto r = run_local(req);
  BOOST_CHECK_EQUAL(contracts::to_string(r.error_code), "output_contract_violation");
  BOOST_CHECK_NE(r.error_message.find("image/png"), std::string::npos);
}

BOOST_AUTO_TEST_CASE(paths_may_be_absolute_inside_but_never_dot_dot_outside) {
  auto inside_req = shell_request(*this, "text/plain",
                                  "echo hi > \"$out/o.txt\"\n"
                                  "echo \"{\\\"outputs\\\": {\\\"out\\\": {\\\"path\\\": \\\"$out/o.txt\\\"}}}\" > \"$out/output_manifest.json\"");
  auto r = run_local(inside_req);
  BOOST_REQUIRE_MESSAGE(r.ok, describe(r));

  auto outside_req = shell_request(*this, "text/plain",
                                   "echo hi > \"$out/../o.txt\"\n"
                                     + manifest_line("../o.txt"));
  auto r2 = run_local(outside_req);
  BOOST_CHECK_EQUAL(contracts::to_string(r2.error_code), "missing_output");
  BOOST_CHECK_NE(r2.error_message.find("outside"), std::string::npos);
}

BOOST_AUTO_TEST_CASE(an_output_may_not_be_a_file_of_the_runtime) {
  auto req = shell_request(*this, "text/plain", "echo hi\n" + manifest_line("stdout.log"));
  auto r = run_local(req);
  BOOST_CHECK_EQUAL(contracts::to_string(r.error_code), "output_contract_violation");
}

BOOST_AUTO_TEST_CASE(a_manifest_that_is_not_json_is_missing_manifest) {
  auto req = shell_request(*this, "text/plain",
                           "echo hi > \"$out/o.txt\"\necho 'not json' > \"$out/output_manifest.json\"");
  auto r = run_local(req);
  BOOST_CHECK_EQUAL(contracts::to_string(r.error_code), "missing_manifest");
}

BOOST_AUTO_TEST_CASE(processes_left_behind_by_a_successful_module_are_killed) {
  auto req = shell_request(*this, "text/plain",
                           "sleep 30 &\necho $! > \"$out/bg.pid\"\n"
                           "echo hi > \"$out/o.txt\"\n" + manifest_line("o.txt"));
  auto r = run_local(req);
  BOOST_REQUIRE_MESSAGE(r.ok, describe(r));
  pid_t pid = std::stoi(read_text(fs::path{req.order.output_dir} / "bg.pid"));
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{5};
  while (alive(pid) && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds{20});
  BOOST_CHECK_MESSAGE(!alive(pid), "the background process " << pid << " survived");
}

BOOST_AUTO_TEST_CASE(no_descriptor_of_the_node_leaks_into_the_module) {
  // A descriptor without close-on-exec, as a careless library might leave.
  int fd = ::open("/dev/null", O_RDONLY);
  BOOST_REQUIRE(fd >= 0);
  BOOST_REQUIRE(dup2(fd, 77) == 77);
  ::close(fd);
  auto req = shell_request(*this, "text/plain",
                           "if [ -e /proc/$$/fd/77 ]; then echo leaked; else echo clean; fi > \"$out/o.txt\"\n"
                           "read line || echo stdin-empty >> \"$out/o.txt\"\n"
                             + manifest_line("o.txt"));
  auto r = run_local(req);
  ::close(77);
  BOOST_REQUIRE_MESSAGE(r.ok, describe(r));
  BOOST_CHECK_EQUAL(read_text(r.outputs.front().path), "clean\nstdin-empty\n");
}

BOOST_AUTO_TEST_CASE(an_output_schema_that_does_not_resolve_is_invalid_ref) {
  auto req = shell_request(*this, "application/json",
                           "echo '{}' > \"$out/o.json\"\n" + manifest_line("o.json"),
                           "\"media.metadata@1\"");
  auto r = run_local(req);
  BOOST_CHECK_EQUAL(contracts::to_string(r.error_code), "invalid_ref");
}

// -- outputs that are lists ----------------------------------------------------------

namespace {

/// A shell module with one `many` output `out` of `media_type`: `body`
/// writes the files, then the manifest lists `entry` for it.
job many_request(fixture& f, const std::string& media_type,
                 const std::string& body, const std::string& entry,
                 const std::string& schema = "") {
  return shell_request(f, media_type,
                       body + "\necho '{\"outputs\": {\"out\": " + entry
                         + "}}' > \"$out/output_manifest.json\"",
                       schema, true);
}

/// The file names of `r`'s outputs, in order.
std::vector<std::string> output_names(const contracts::execution_outcome& r) {
  std::vector<std::string> out;
  for (auto& o : r.outputs)
    out.push_back(fs::path{o.path}.filename().string());
  return out;
}

} // namespace

BOOST_AUTO_TEST_CASE(three_files_of_a_many_output_are_three_outputs_in_listed_order) {
  auto req = many_request(*this, "text/plain",
                          "mkdir -p \"$out/sub\"\n"
                          "echo first > \"$out/c.txt\"\n"
                          "echo second > \"$out/a.txt\"\n"
                          "echo third > \"$out/sub/b.txt\"",
                          R"({"paths": ["c.txt", {"path": "a.txt", "media_type": "text/plain"}, "sub/b.txt"]})");
  auto r = run_local(req);
  BOOST_REQUIRE_MESSAGE(r.ok, describe(r));
  BOOST_REQUIRE_EQUAL(r.outputs.size(), 3u);
  BOOST_CHECK((output_names(r) == std::vector<std::string>{"c.txt", "a.txt", "b.txt"}));
  std::vector<std::string> texts{"first\n", "second\n", "third\n"};
  for (size_t i = 0; i < 3; ++i) {
    auto& o = r.outputs[i];
    BOOST_CHECK_EQUAL(o.key, "out");
    BOOST_CHECK_EQUAL(o.media_type, "text/plain");
    BOOST_CHECK_EQUAL(read_text(o.path), texts[i]);
    BOOST_CHECK_EQUAL(o.sha256, contracts::to_hex(contracts::sha256(texts[i])));
    BOOST_CHECK_EQUAL(o.size, texts[i].size());
  }
  BOOST_CHECK_EQUAL(fs::path{r.outputs[2].path}.parent_path().filename(), "sub");
}

BOOST_AUTO_TEST_CASE(the_input_manifest_suggests_a_prefix_for_a_many_output) {
  auto req = many_request(*this, "video/mp4", "", R"({"paths": []})");
  auto r = run_local(req);
  BOOST_REQUIRE_MESSAGE(r.ok, describe(r));
  auto m = parse_json(read_text(fs::path{req.order.output_dir} / "input_manifest.json"));
  auto* entry = json::resolve_pointer(m, "/outputs/out");
  BOOST_REQUIRE(entry);
  BOOST_CHECK(entry->find("path") == nullptr);
  BOOST_REQUIRE(entry->find("many") != nullptr);
  BOOST_CHECK(entry->find("many")->as_bool());
  BOOST_CHECK_EQUAL(entry->find("media_type")->as_string(), "video/mp4");
  BOOST_CHECK_EQUAL(entry->find("prefix")->as_string(),
                    (fs::path{req.order.output_dir} / "out-").string());
  BOOST_CHECK_EQUAL(entry->find("extension")->as_string(), ".mp4");
}

BOOST_AUTO_TEST_CASE(a_many_output_with_no_files_succeeds_with_none) {
  auto req = many_request(*this, "text/plain", "echo nothing to do", R"({"paths": []})");
  auto r = run_local(req);
  BOOST_REQUIRE_MESSAGE(r.ok, describe(r));
  BOOST_CHECK(r.outputs.empty());
}

BOOST_AUTO_TEST_CASE(a_single_path_stands_for_a_list_of_one) {
  auto req = many_request(*this, "text/plain", "echo only > \"$out/o.txt\"",
                          R"({"path": "o.txt"})");
  auto r = run_local(req);
  BOOST_REQUIRE_MESSAGE(r.ok, describe(r));
  BOOST_REQUIRE_EQUAL(r.outputs.size(), 1u);
  BOOST_CHECK_EQUAL(r.outputs.front().key, "out");
  BOOST_CHECK_EQUAL(read_text(r.outputs.front().path), "only\n");
}

BOOST_AUTO_TEST_CASE(one_file_of_a_list_outside_the_folder_refuses_the_whole) {
  auto req = many_request(*this, "text/plain",
                          "echo in > \"$out/a.txt\"\necho out > \"$out/../o.txt\"",
                          R"({"paths": ["a.txt", "../o.txt"]})");
  auto r = run_local(req);
  BOOST_CHECK(!r.ok);
  BOOST_CHECK_EQUAL(contracts::to_string(r.error_code), "missing_output");
  BOOST_CHECK_NE(r.error_message.find("outside"), std::string::npos);
  BOOST_CHECK_NE(r.error_message.find("'out' file 1"), std::string::npos);
  BOOST_CHECK(r.outputs.empty());
}

BOOST_AUTO_TEST_CASE(a_file_listed_twice_is_a_contract_violation) {
  auto req = many_request(*this, "text/plain", "echo a > \"$out/a.txt\"",
                          R"({"paths": ["a.txt", "./a.txt"]})");
  auto r = run_local(req);
  BOOST_CHECK_EQUAL(contracts::to_string(r.error_code), "output_contract_violation");
  BOOST_CHECK_NE(r.error_message.find("twice"), std::string::npos);
  BOOST_CHECK(r.outputs.empty());
}

BOOST_AUTO_TEST_CASE(each_file_of_a_json_list_is_checked_against_the_schema) {
  auto schema = R"({"type": "object", "required": ["n"], "properties": {"n": {"type": "integer"}}})";
  auto good = many_request(*this, "application/json",
                           "echo '{\"n\": 1}' > \"$out/0.json\"\necho '{\"n\": 2}' > \"$out/1.json\"",
                           R"({"paths": ["0.json", "1.json"]})", schema);
  auto ok = run_local(good);
  BOOST_REQUIRE_MESSAGE(ok.ok, describe(ok));
  BOOST_CHECK_EQUAL(ok.outputs.size(), 2u);
  BOOST_CHECK_EQUAL(ok.outputs[1].media_type, "application/json");

  auto bad = many_request(*this, "application/json",
                          "echo '{\"n\": 1}' > \"$out/0.json\"\necho '{\"n\": \"two\"}' > \"$out/1.json\"",
                          R"({"paths": ["0.json", "1.json"]})", schema);
  auto r = run_local(bad);
  BOOST_CHECK_EQUAL(contracts::to_string(r.error_code), "output_contract_violation");
  BOOST_CHECK_EQUAL(r.error_pointer, "/n");
  BOOST_CHECK_NE(r.error_message.find("'out' file 1"), std::string::npos);
}

BOOST_AUTO_TEST_CASE(each_file_of_a_list_has_the_promised_media_type) {
  auto req = many_request(*this, "text/plain", "echo a > \"$out/a.txt\"",
                          R"({"paths": [{"path": "a.txt", "media_type": "image/png"}]})");
  auto r = run_local(req);
  BOOST_CHECK_EQUAL(contracts::to_string(r.error_code), "output_contract_violation");
  BOOST_CHECK_NE(r.error_message.find("image/png"), std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_malformed_list_is_missing_manifest) {
  for (auto* entry : {R"({"paths": "a.txt"})", R"({"paths": [3]})",
                      R"({"paths": [""]})", R"({"paths": [{"media_type": "text/plain"}]})",
                      R"({"path": "a.txt", "paths": ["a.txt"]})", R"({})"}) {
    auto req = many_request(*this, "text/plain", "echo a > \"$out/a.txt\"", entry);
    auto r = run_local(req);
    BOOST_CHECK_MESSAGE(r.error_code == ec::missing_manifest, entry << ": " << describe(r));
  }
}

BOOST_AUTO_TEST_CASE(a_list_may_not_name_where_the_node_writes_the_list) {
  auto req = many_request(*this, "application/json",
                          "echo '{}' > \"$out/out.asset-list.json\"",
                          R"({"paths": ["out.asset-list.json"]})");
  auto r = run_local(req);
  BOOST_CHECK_EQUAL(contracts::to_string(r.error_code), "output_contract_violation");
  BOOST_CHECK_NE(r.error_message.find("a file of the runtime"), std::string::npos);
}

BOOST_AUTO_TEST_CASE(paths_are_for_many_outputs_only) {
  auto req = shell_request(*this, "text/plain",
                           "echo a > \"$out/a.txt\"\n"
                           "echo '{\"outputs\": {\"out\": {\"paths\": [\"a.txt\"]}}}' > \"$out/output_manifest.json\"");
  auto r = run_local(req);
  BOOST_CHECK_EQUAL(contracts::to_string(r.error_code), "missing_manifest");
  BOOST_CHECK_NE(r.error_message.find("\"many\""), std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_list_beyond_the_file_bound_is_refused) {
  // collect_outputs alone, with a bound of 2: the files and the manifest as
  // a module would leave them.
  auto req = many_request(*this, "text/plain", "", "{}");
  auto dir = fs::path{req.order.output_dir};
  fs::create_directories(dir);
  for (auto* name : {"a.txt", "b.txt", "c.txt"})
    write_text(dir / name, "x\n");
  write_text(dir / "output_manifest.json",
             R"({"outputs": {"out": {"paths": ["a.txt", "b.txt", "c.txt"]}}})");
  output_limits limits;
  BOOST_CHECK_EQUAL(limits.max_files_per_output, 100000u);
  limits.max_files_per_output = 2;
  contracts::execution_outcome r;
  collect_outputs(req.order, req.context, dir, limits, r);
  BOOST_CHECK_EQUAL(contracts::to_string(r.error_code), "output_contract_violation");
  BOOST_CHECK_NE(r.error_message.find("3 files"), std::string::npos);
  limits.max_files_per_output = 3;
  contracts::execution_outcome fits;
  collect_outputs(req.order, req.context, dir, limits, fits);
  BOOST_CHECK_MESSAGE(fits.ok, describe(fits));
  BOOST_CHECK_EQUAL(fits.outputs.size(), 3u);
}

BOOST_AUTO_TEST_CASE(a_json_file_of_a_list_beyond_its_bound_is_refused_at_its_entry) {
  auto req = many_request(*this, "application/json",
                          "echo '[1]' > \"$out/a.json\"\necho '[1, 2, 3, 4, 5, 6, 7, 8]' > \"$out/b.json\"",
                          R"({"paths": ["a.json", "b.json"]})");
  local_adapter_options opts;
  opts.max_json_output_bytes = 10;
  auto r = run_local(req, opts);
  BOOST_CHECK_EQUAL(contracts::to_string(r.error_code), "output_too_large");
  BOOST_CHECK_EQUAL(r.error_pointer, "/outputs/out/paths/1");
}

// -- limits, stops and logs ---------------------------------------------------------

BOOST_AUTO_TEST_CASE(a_file_beyond_the_size_limit_is_output_too_large) {
  auto req = shell_request(*this, "application/octet-stream",
                           "exec head -c 10000 /dev/zero > \"$out/o.bin\"");
  local_adapter_options opts;
  opts.max_file_bytes = 4096;
  auto r = run_local(req, opts);
  BOOST_CHECK_EQUAL(contracts::to_string(r.error_code), "output_too_large");
  BOOST_CHECK_NE(r.error_message.find("4096 bytes"), std::string::npos);
  BOOST_CHECK_NE(r.error_message.find("SIGXFSZ"), std::string::npos);
  BOOST_CHECK_EQUAL(fs::file_size(fs::path{req.order.output_dir} / "o.bin"), 4096u);
}

BOOST_AUTO_TEST_CASE(a_json_output_beyond_its_bound_is_refused_unread) {
  // 1,003 bytes of JSON: [0,0,...,0].
  auto req = shell_request(*this, "application/json",
                           "printf '[0' > \"$out/o.json\"\ni=0\n"
                           "while [ $i -lt 500 ]; do printf ',0' >> \"$out/o.json\"; i=$((i+1)); done\n"
                           "printf ']' >> \"$out/o.json\"\n"
                             + manifest_line("o.json", "application/json"));
  local_adapter_options opts;
  opts.max_json_output_bytes = 1000;
  auto r = run_local(req, opts);
  BOOST_CHECK_EQUAL(contracts::to_string(r.error_code), "output_too_large");
  BOOST_CHECK_EQUAL(r.error_pointer, "/outputs/out");
  BOOST_CHECK_NE(r.error_message.find("1003 bytes"), std::string::npos);
  // Within the bound, the same output passes.
  opts.max_json_output_bytes = 1003;
  auto fits = run_local(req, opts);
  BOOST_CHECK_MESSAGE(fits.ok, describe(fits));
}

BOOST_AUTO_TEST_CASE(a_stopped_attempt_is_cancelled_and_its_group_killed) {
  auto req = shell_request(*this, "text/plain",
                           "sleep 30 &\necho $! > \"$out/child.pid\"\nwait");
  std::atomic<bool> stop{false};
  auto child_file = fs::path{req.order.output_dir} / "child.pid";
  req.context.stop = &stop;
  req.context.heartbeat_interval = std::chrono::milliseconds{20};
  req.context.heartbeat = [&] {
    if (fs::exists(child_file))
      stop = true;
  };
  auto r = run_local(req);
  BOOST_CHECK_EQUAL(contracts::to_string(r.error_code), "cancelled");
  BOOST_CHECK_EQUAL(metrics_of(r).find("stopped")->as_bool(), true);
  pid_t child = std::stoi(read_text(child_file));
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{5};
  while (alive(child) && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds{20});
  BOOST_CHECK_MESSAGE(!alive(child), "the module's child " << child << " survived");
}

BOOST_AUTO_TEST_CASE(a_redacted_log_is_readable_by_the_owner_only) {
  auto req = fail_request("leak_secret");
  req.context.secrets = {{"OMNIVA_DEMO_TOKEN", "tok-3f9a7c1e-value"}};
  auto r = run_local(req);
  BOOST_REQUIRE(!r.stdout_path.empty());
  for (auto& log : {r.stdout_path, r.stderr_path}) {
    BOOST_CHECK_NE(read_text(log).find("the token is ***"), std::string::npos);
    struct stat st{};
    BOOST_REQUIRE(::stat(log.c_str(), &st) == 0);
    BOOST_CHECK_MESSAGE((st.st_mode & 07777) == 0600,
                        log << " has mode " << std::oct << (st.st_mode & 07777));
  }
}

BOOST_AUTO_TEST_CASE(a_log_that_cannot_be_redacted_is_withheld) {
  auto req = fail_request("leak_secret");
  req.context.secrets = {{"OMNIVA_DEMO_TOKEN", "tok-3f9a7c1e-value"}};
  // The redacted copies cannot be created: a folder holds their place.
  auto dir = fs::path{req.order.output_dir};
  fs::create_directories(dir / "stdout.log.redacting");
  fs::create_directories(dir / "stderr.log.redacting");
  auto r = run_local(req);
  BOOST_CHECK_EQUAL(contracts::to_string(r.error_code), "exit_code");
  BOOST_CHECK(r.stdout_path.empty());
  BOOST_CHECK(r.stderr_path.empty());
  auto metrics = metrics_of(r);
  for (auto* log : {"stdout_log", "stderr_log"}) {
    auto* said = metrics.find(log);
    BOOST_REQUIRE_MESSAGE(said, "the metrics do not say what became of " << log);
    BOOST_CHECK_EQUAL(said->as_string(), "withheld");
  }
  BOOST_CHECK_EQUAL(r.error_message.find("tok-3f9a7c1e-value"), std::string::npos);
  for (auto& entry : fs::recursive_directory_iterator{dir})
    if (entry.is_regular_file())
      BOOST_CHECK_MESSAGE(read_text(entry.path()).find("tok-3f9a7c1e-value")
                            == std::string::npos,
                          entry.path() << " holds the secret");
}

// -- what attempts leave behind -----------------------------------------------------

namespace {

/// Waits up to 10 s for the file at `path` to hold a pid; 0 when it does not.
pid_t wait_for_pid(const fs::path& path) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{10};
  while (std::chrono::steady_clock::now() < deadline) {
    auto text = read_text(path);
    if (!text.empty() && text.back() == '\n')
      return std::stoi(text);
    std::this_thread::sleep_for(std::chrono::milliseconds{20});
  }
  return 0;
}

/// Waits up to 5 s for `pid` to be gone; returns whether it is.
bool gone_soon(pid_t pid) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{5};
  while (alive(pid) && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds{20});
  return !alive(pid);
}

/// Starts `args` (args[0] a path) in a session of its own with exactly
/// `env`: processes that were not started by the node under test.
pid_t start_detached(std::vector<std::string> args, std::vector<std::string> env) {
  std::vector<char*> argv, envp;
  for (auto& a : args)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  for (auto& e : env)
    envp.push_back(e.data());
  envp.push_back(nullptr);
  pid_t pid = ::fork();
  if (pid == 0) {
    ::setsid();
    ::execve(argv[0], argv.data(), envp.data());
    ::_exit(127);
  }
  return pid;
}

/// Starts `sleep 300` in a session of its own with exactly `env`.
pid_t start_sleeper(std::vector<std::string> env) {
  return start_detached({"/bin/sleep", "300"}, std::move(env));
}

/// Kills and reaps a child of the test.
void end_child(pid_t pid) {
  ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
}

/// The record files in `dir`.
size_t record_count(const std::string& dir) {
  size_t n = 0;
  std::error_code err;
  for (auto& e : fs::directory_iterator{dir, err})
    n += e.path().extension() == ".json" ? 1 : 0;
  return n;
}

/// The shell line that starts a process in a session of its own (setsid),
/// which writes its pid into `$out/<file>` and sleeps.
std::string setsid_sleeper(const std::string& file) {
  return "setsid -f sh -c 'echo $$ > \"$0/" + file + "\"; exec sleep 300' \"$out\"\n";
}

} // namespace

BOOST_AUTO_TEST_CASE(an_attempt_is_marked_and_recorded_before_its_program_starts) {
  auto records = attempt_records_for((root / "data").string());
  auto req = shell_request(*this, "text/plain",
                           "env > \"$out/env.txt\"\n"
                           "cat '" + records.dir + "'/*.json > \"$out/record.txt\"\n"
                           "echo $$ > \"$out/self.pid\"\n"
                           "echo hi > \"$out/o.txt\"\n" + manifest_line("o.txt"));
  local_adapter_options opts;
  opts.attempts = records;
  auto r = run_local(req, opts);
  BOOST_REQUIRE_MESSAGE(r.ok, describe(r));
  auto dir = fs::path{req.order.output_dir};
  auto marker = attempt_marker(records, task_id, 1);
  BOOST_CHECK_EQUAL(marker.substr(0, records.node_key.size() + 1), records.node_key + "/");
  BOOST_CHECK_NE(read_text(dir / "env.txt").find("OMNIVA_ATTEMPT=" + marker + "\n"),
                 std::string::npos);
  // The record was there while the module ran, naming its group.
  auto record = parse_json(read_text(dir / "record.txt"));
  BOOST_CHECK_EQUAL(*record.find("group")->as_int64(), std::stoi(read_text(dir / "self.pid")));
  BOOST_CHECK_EQUAL(record.find("marker")->as_string(), marker);
  BOOST_CHECK_GT(*record.find("start_time")->as_int64(), 0);
  // And is gone once the attempt ended.
  BOOST_CHECK_EQUAL(record_count(records.dir), 0u);
}

BOOST_AUTO_TEST_CASE(a_process_that_left_the_group_goes_when_its_attempt_ends) {
  auto req = shell_request(*this, "text/plain",
                           setsid_sleeper("setsid.pid")
                             + "while [ ! -s \"$out/setsid.pid\" ]; do sleep 0.02; done\n"
                               "echo hi > \"$out/o.txt\"\n"
                             + manifest_line("o.txt"));
  local_adapter_options opts;
  opts.attempts = attempt_records_for((root / "data").string());
  auto r = run_local(req, opts);
  BOOST_REQUIRE_MESSAGE(r.ok, describe(r));
  pid_t escaped = std::stoi(read_text(fs::path{req.order.output_dir} / "setsid.pid"));
  BOOST_CHECK_MESSAGE(gone_soon(escaped),
                      "process " << escaped << " left the group and survived its attempt");
  if (alive(escaped))
    ::kill(escaped, SIGKILL);
}

BOOST_AUTO_TEST_CASE(a_recorded_group_whose_leader_still_runs_is_killed_whole) {
  // A group without markers (a cleared environment): only its record
  // finds it, and only because its leader is still the recorded process.
  auto records = attempt_records_for((root / "data").string());
  auto child_file = root / "child.pid";
  pid_t leader = start_detached(
    {"/bin/sh", "-c", "sleep 300 & echo $! > '" + child_file.string() + "'; exec sleep 300"},
    {"PATH=/usr/bin:/bin"});
  pid_t child = wait_for_pid(child_file);
  BOOST_REQUIRE(child > 0);
  auto info = read_process_info(leader);
  BOOST_REQUIRE(info);
  BOOST_CHECK_EQUAL(info->group, leader);
  BOOST_REQUIRE(!write_attempt_record(
                   records, attempt_record{leader, info->start_time,
                                           attempt_marker(records, "old-task", 1)})
                   .empty());
  auto report = reap_leftovers(records);
  BOOST_CHECK(gone_soon(child));
  BOOST_CHECK(!alive(leader));
  BOOST_CHECK_EQUAL(report.killed.size(), 2u);
  for (auto& p : report.killed) {
    BOOST_CHECK_EQUAL(p.group, leader);
    BOOST_CHECK(p.marker.empty());
  }
  BOOST_CHECK_EQUAL(record_count(records.dir), 0u);
  end_child(leader);
}

BOOST_AUTO_TEST_CASE(what_a_killed_node_left_is_killed_at_its_next_start) {
  auto records = attempt_records_for((root / "data").string());
  auto req = shell_request(*this, "text/plain",
                           setsid_sleeper("setsid.pid")
                             + "sleep 300 &\necho $! > \"$out/child.pid\"\n"
                               "echo $$ > \"$out/leader.pid\"\nwait\n");
  // The node: a process of its own running the attempt, killed mid-run.
  pid_t node = ::fork();
  BOOST_REQUIRE(node >= 0);
  if (node == 0) {
    local_adapter_options opts;
    opts.attempts = records;
    local_adapter{opts}.invoke(req.order, req.context);
    ::_exit(0);
  }
  auto dir = fs::path{req.order.output_dir};
  pid_t escaped = wait_for_pid(dir / "setsid.pid");
  pid_t child = wait_for_pid(dir / "child.pid");
  pid_t leader = wait_for_pid(dir / "leader.pid");
  BOOST_REQUIRE(escaped > 0 && child > 0 && leader > 0);
  end_child(node); // SIGKILL: no clean-up of any kind
  // The module's own process dies with the node; what it started does not.
  BOOST_CHECK(gone_soon(leader));
  BOOST_REQUIRE(alive(escaped));
  BOOST_REQUIRE(alive(child));
  BOOST_REQUIRE_EQUAL(record_count(records.dir), 1u);

  // Processes the reaper must leave alone: one without a marker (whose pid
  // a stale record names, with another start time, as if it reused the pid
  // of an old attempt's leader), one marked by another node.
  pid_t plain = start_sleeper({"PATH=/usr/bin:/bin"});
  auto other_node = attempt_records_for((root / "other-data").string());
  pid_t foreign = start_sleeper(
    {"OMNIVA_ATTEMPT=" + attempt_marker(other_node, task_id, 1)});
  std::optional<process_info> plain_info;
  for (int i = 0; i < 250 && (!plain_info || plain_info->name != "sleep"); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds{20});
    plain_info = read_process_info(plain);
  }
  BOOST_REQUIRE(plain_info && plain_info->name == "sleep");
  BOOST_REQUIRE(!write_attempt_record(
                   records, attempt_record{plain, plain_info->start_time + 1,
                                           attempt_marker(records, "old-task", 1)})
                   .empty());

  auto report = reap_leftovers(records);
  BOOST_CHECK(gone_soon(escaped));
  BOOST_CHECK(gone_soon(child));
  BOOST_CHECK_MESSAGE(alive(plain), "a process reusing a recorded pid was killed");
  BOOST_CHECK_MESSAGE(alive(foreign), "another node's process was killed");
  std::vector<pid_t> killed;
  for (auto& p : report.killed)
    killed.push_back(p.pid);
  BOOST_CHECK(std::find(killed.begin(), killed.end(), escaped) != killed.end());
  BOOST_CHECK(std::find(killed.begin(), killed.end(), child) != killed.end());
  BOOST_CHECK_EQUAL(killed.size(), 2u);
  BOOST_CHECK(report.survivors.empty());
  BOOST_CHECK_EQUAL(report.records, 2u);
  BOOST_CHECK_EQUAL(record_count(records.dir), 0u);
  end_child(plain);
  end_child(foreign);
}

// -- bad requests -------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(a_missing_input_file_fails_before_starting) {
  auto req = request("media_probe");
  req.order.inputs.push_back(asset_input("source", root / "nope.wav", "audio/wav"));
  auto r = run_local(req);
  BOOST_CHECK_EQUAL(contracts::to_string(r.error_code), "io_error");
  BOOST_CHECK(r.stdout_path.empty());
}

BOOST_AUTO_TEST_SUITE_END()
