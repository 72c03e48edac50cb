#define BOOST_TEST_MODULE runtime_mock_adapter
#include <boost/test/unit_test.hpp>

// The mock adapter: deterministic outputs derived from the module and the
// inputs, JSON outputs valid against their schemas, no process and no
// manifest; nothing at all once the attempt was stopped.

#include "tests/runtime/adapter_fixture.hpp"

#include "contracts/json_schema.hpp"
#include "contracts/media_type.hpp"
#include "contracts/packet.hpp"
#include "contracts/schema_catalog.hpp"
#include "runtime/execution_files.hpp"
#include "runtime/mock_adapter.hpp"

#include <atomic>
#include <cstdlib>
#include <optional>
#include <filesystem>
#include <string>

using namespace omniva;
using namespace omniva::runtime;
using namespace omniva::adapter_testing;
using contracts::ec;
namespace fs = std::filesystem;

BOOST_FIXTURE_TEST_SUITE(mock, fixture)

BOOST_AUTO_TEST_CASE(the_same_request_gives_byte_identical_outputs) {
  auto source = wav();
  auto a = request("media_probe", 1);
  auto b = request("media_probe", 2);
  for (auto* req : {&a, &b}) {
    req->order.inputs.push_back(asset_input("source", source, "audio/wav"));
    req->order.inputs.push_back(value_input("sample_rate", "16000"));
  }
  mock_adapter mock;
  auto ra = mock.invoke(a.order, a.context);
  auto rb = mock.invoke(b.order, b.context);
  BOOST_REQUIRE_MESSAGE(ra.ok, describe(ra));
  BOOST_REQUIRE_MESSAGE(rb.ok, describe(rb));
  BOOST_REQUIRE_EQUAL(ra.outputs.size(), 1u);
  BOOST_CHECK_NE(ra.outputs.front().path, rb.outputs.front().path);
  BOOST_CHECK_EQUAL(read_text(ra.outputs.front().path),
                    read_text(rb.outputs.front().path));
  BOOST_CHECK_EQUAL(ra.outputs.front().sha256, rb.outputs.front().sha256);
  BOOST_CHECK_EQUAL(ra.outputs.front().sha256,
                    contracts::to_hex(contracts::sha256(read_text(ra.outputs.front().path))));
  BOOST_CHECK_EQUAL(metrics_of(ra).find("mode")->as_string(), "mock");
  // No process runs, so nothing needs a manifest or VALUE files.
  BOOST_CHECK(!fs::exists(fs::path{a.order.output_dir} / "input_manifest.json"));
  BOOST_CHECK(!fs::exists(fs::path{a.order.output_dir} / "inputs"));
}

BOOST_AUTO_TEST_CASE(a_recorded_sha256_stands_for_the_file) {
  // The ledger's hash is the input's identity: the mock does not re-read
  // the file (a large media file would cost a full read per attempt).
  auto source = wav();
  auto a = request("media_probe", 1);
  auto b = request("media_probe", 2);
  for (auto* req : {&a, &b}) {
    req->order.inputs.push_back(asset_input("source", source, "audio/wav"));
    req->order.inputs.push_back(value_input("sample_rate", "16000"));
  }
  a.order.inputs.front().sha256 = std::string(64, 'a');
  b.order.inputs.front().sha256 = std::string(64, 'b');
  mock_adapter mock;
  auto ra = mock.invoke(a.order, a.context);
  auto rb = mock.invoke(b.order, b.context);
  BOOST_REQUIRE(ra.ok && rb.ok);
  BOOST_CHECK_NE(ra.outputs.front().sha256, rb.outputs.front().sha256);
}

BOOST_AUTO_TEST_CASE(different_inputs_give_different_outputs) {
  auto a = request("media_probe", 1);
  auto b = request("media_probe", 2);
  a.order.inputs.push_back(asset_input("source", wav(500), "audio/wav"));
  a.order.inputs.push_back(value_input("sample_rate", "16000"));
  b.order.inputs.push_back(asset_input("source", wav(500), "audio/wav"));
  b.order.inputs.push_back(value_input("sample_rate", "44100"));
  mock_adapter mock;
  auto ra = mock.invoke(a.order, a.context);
  auto rb = mock.invoke(b.order, b.context);
  BOOST_REQUIRE(ra.ok && rb.ok);
  BOOST_CHECK_NE(ra.outputs.front().sha256, rb.outputs.front().sha256);
}

BOOST_AUTO_TEST_CASE(json_outputs_satisfy_their_schemas) {
  mock_adapter mock;
  uint32_t attempt = 1;
  for (auto* name : {"media_probe", "summarize", "fail_on_request", "slow"}) {
    auto req = request(name, attempt++);
    auto r = mock.invoke(req.order, req.context);
    BOOST_REQUIRE_MESSAGE(r.ok, name << ": " << describe(r));
    BOOST_REQUIRE_EQUAL(r.outputs.size(), req.order.contract.outputs.size());
    for (size_t i = 0; i < r.outputs.size(); ++i) {
      auto& spec = req.order.contract.outputs[i];
      auto& out = r.outputs[i];
      BOOST_CHECK_EQUAL(out.key, spec.key);
      BOOST_CHECK(contracts::media_type_matches(spec.media_type, out.media_type));
      auto bytes = read_text(out.path);
      BOOST_CHECK_EQUAL(out.size, bytes.size());
      if (spec.schema_json.empty() && spec.schema_ref.empty())
        continue;
      bool unresolved = false;
      auto schema = contracts::resolve_spec_schema(spec.schema_ref, spec.schema_json,
                                                   req.context.schema_lookup, &unresolved);
      BOOST_REQUIRE(schema);
      BOOST_CHECK_MESSAGE(schema->validate_text(bytes).valid,
                          name << ": " << bytes);
    }
  }
}

BOOST_AUTO_TEST_CASE(a_non_json_output_is_64_bytes_from_a_hash) {
  auto req = request("fail_on_request");
  req.order.contract.outputs.front().media_type = "application/zip";
  req.order.contract.outputs.front().schema_json.clear();
  auto r = mock_adapter{}.invoke(req.order, req.context);
  BOOST_REQUIRE_MESSAGE(r.ok, describe(r));
  BOOST_CHECK_EQUAL(r.outputs.front().size, 64u);
  BOOST_CHECK_EQUAL(r.outputs.front().media_type, "application/zip");
}

BOOST_AUTO_TEST_CASE(a_schema_no_instance_can_satisfy_fails_the_mock) {
  auto req = request("fail_on_request");
  req.order.contract.outputs.front().schema_json
    = R"({"type":"object","required":["x"],"properties":{"x":{"type":"integer","minimum":5,"maximum":1}}})";
  auto r = mock_adapter{}.invoke(req.order, req.context);
  BOOST_CHECK_EQUAL(contracts::to_string(r.error_code), "output_contract_violation");
  BOOST_CHECK(r.outputs.empty());
}

BOOST_AUTO_TEST_CASE(a_registry_schema_comes_from_the_document_lookup) {
  auto schema_doc = parse_json(R"({
    "type": "object", "required": ["title", "duration_ms"],
    "properties": {"title": {"type": "string"},
                   "duration_ms": {"type": "integer", "minimum": 0}}})");
  auto compiled = contracts::schema_catalog::shipped().compile_inline(schema_doc);
  BOOST_REQUIRE(compiled);
  auto req = request("fail_on_request");
  req.order.contract.outputs.front().schema_json.clear();
  req.order.contract.outputs.front().schema_ref = "media.metadata@1";
  req.context.schema_lookup = [&](std::string_view id) {
    return id == "media.metadata@1" ? compiled.schema : nullptr;
  };
  req.context.schema_document_lookup = [&](std::string_view id) -> std::optional<json::value> {
    if (id == "media.metadata@1")
      return schema_doc;
    return std::nullopt;
  };
  auto r = mock_adapter{}.invoke(req.order, req.context);
  BOOST_REQUIRE_MESSAGE(r.ok, describe(r));
  BOOST_CHECK(compiled.schema->validate_text(read_text(r.outputs.front().path)).valid);
}

// -- outputs that are lists ----------------------------------------------------------

namespace {

/// media_probe's order with its JSON output (schema media.metadata@1) made
/// a `many` output.
job many_probe(fixture& f, uint32_t attempt = 1) {
  auto req = f.request("media_probe", attempt);
  req.order.inputs.push_back(asset_input("source", f.wav(), "audio/wav"));
  BOOST_REQUIRE_EQUAL(req.order.contract.outputs.size(), 1u);
  req.order.contract.outputs.front().many = true;
  return req;
}

/// Sets (or, for nullptr, unsets) OMNIVA_MOCK_MANY for one scope.
struct mock_many_env {
  explicit mock_many_env(const char* value) {
    if (value)
      setenv("OMNIVA_MOCK_MANY", value, 1);
    else
      unsetenv("OMNIVA_MOCK_MANY");
  }
  ~mock_many_env() {
    unsetenv("OMNIVA_MOCK_MANY");
  }
};

} // namespace

BOOST_AUTO_TEST_CASE(a_many_output_gets_two_files_by_default) {
  mock_many_env env{nullptr};
  auto req = many_probe(*this);
  auto r = mock_adapter{}.invoke(req.order, req.context);
  BOOST_REQUIRE_MESSAGE(r.ok, describe(r));
  BOOST_REQUIRE_EQUAL(r.outputs.size(), 2u);
  auto& spec = req.order.contract.outputs.front();
  bool unresolved = false;
  auto schema = contracts::resolve_spec_schema(spec.schema_ref, spec.schema_json,
                                               req.context.schema_lookup, &unresolved);
  BOOST_REQUIRE(schema);
  for (size_t i = 0; i < 2; ++i) {
    auto& out = r.outputs[i];
    BOOST_CHECK_EQUAL(out.key, "metadata");
    BOOST_CHECK_EQUAL(fs::path{out.path}.filename(), "metadata-" + std::to_string(i) + ".json");
    BOOST_CHECK_EQUAL(out.media_type, "application/json");
    auto bytes = read_text(out.path);
    BOOST_CHECK_EQUAL(out.size, bytes.size());
    BOOST_CHECK_EQUAL(out.sha256, contracts::to_hex(contracts::sha256(bytes)));
    BOOST_CHECK_MESSAGE(schema->validate_text(bytes).valid, bytes);
  }
  // Each file its own element: not one file written twice.
  BOOST_CHECK_NE(r.outputs[0].sha256, r.outputs[1].sha256);
  // The same order gives the same files.
  auto again = many_probe(*this, 2);
  auto r2 = mock_adapter{}.invoke(again.order, again.context);
  BOOST_REQUIRE_MESSAGE(r2.ok, describe(r2));
  BOOST_REQUIRE_EQUAL(r2.outputs.size(), 2u);
  BOOST_CHECK_EQUAL(r2.outputs[1].sha256, r.outputs[1].sha256);
}

BOOST_AUTO_TEST_CASE(the_number_of_files_comes_from_the_options) {
  auto req = many_probe(*this);
  req.order.contract.outputs.front().media_type = "video/mp4";
  req.order.contract.outputs.front().schema_ref.clear();
  auto r = mock_adapter{mock_adapter_options{5}}.invoke(req.order, req.context);
  BOOST_REQUIRE_MESSAGE(r.ok, describe(r));
  BOOST_REQUIRE_EQUAL(r.outputs.size(), 5u);
  for (size_t i = 0; i < 5; ++i) {
    BOOST_CHECK_EQUAL(fs::path{r.outputs[i].path}.filename(), "metadata-" + std::to_string(i) + ".mp4");
    BOOST_CHECK_EQUAL(r.outputs[i].media_type, "video/mp4");
    BOOST_CHECK_EQUAL(r.outputs[i].size, 64u);
  }
  auto none = many_probe(*this, 2);
  auto r0 = mock_adapter{mock_adapter_options{0}}.invoke(none.order, none.context);
  BOOST_REQUIRE_MESSAGE(r0.ok, describe(r0));
  BOOST_CHECK(r0.outputs.empty());
}

BOOST_AUTO_TEST_CASE(omniva_mock_many_is_read_once_when_the_adapter_is_made) {
  std::optional<mock_adapter> mock;
  {
    mock_many_env env{"3"};
    mock.emplace();
    BOOST_CHECK_EQUAL(mock->options().many_count, 3u);
  }
  mock_many_env later{"7"}; // changed after: the adapter keeps its count
  auto req = many_probe(*this);
  auto r = mock->invoke(req.order, req.context);
  BOOST_REQUIRE_MESSAGE(r.ok, describe(r));
  BOOST_CHECK_EQUAL(r.outputs.size(), 3u);
  BOOST_CHECK_EQUAL(mock_adapter{}.options().many_count, 7u);
}

BOOST_AUTO_TEST_CASE(a_bad_omniva_mock_many_means_the_default) {
  for (auto* bad : {"", "two", "-1", "3x", " 3"}) {
    mock_many_env env{bad};
    BOOST_CHECK_MESSAGE(mock_many_count_from_environment() == default_mock_many_count,
                        "'" << bad << "'");
  }
  mock_many_env zero{"0"};
  BOOST_CHECK_EQUAL(mock_many_count_from_environment(), 0u);
  mock_many_env huge{"99999999999999999999999"};
  BOOST_CHECK_EQUAL(mock_many_count_from_environment(), max_many_output_files);
}

BOOST_AUTO_TEST_CASE(single_outputs_are_unchanged_by_a_many_count) {
  auto a = request("media_probe", 1);
  auto b = request("media_probe", 2);
  auto ra = mock_adapter{mock_adapter_options{0}}.invoke(a.order, a.context);
  auto rb = mock_adapter{mock_adapter_options{4}}.invoke(b.order, b.context);
  BOOST_REQUIRE(ra.ok && rb.ok);
  BOOST_REQUIRE_EQUAL(ra.outputs.size(), 1u);
  BOOST_CHECK_EQUAL(fs::path{ra.outputs.front().path}.filename(), "metadata.json");
  BOOST_CHECK_EQUAL(ra.outputs.front().sha256, rb.outputs.front().sha256);
}

BOOST_AUTO_TEST_CASE(a_stopped_attempt_writes_nothing_and_is_cancelled) {
  auto req = request("fail_on_request");
  std::atomic<bool> stop{true};
  req.context.stop = &stop;
  auto r = mock_adapter{}.invoke(req.order, req.context);
  BOOST_CHECK_EQUAL(contracts::to_string(r.error_code), "cancelled");
  BOOST_CHECK(r.outputs.empty());
  BOOST_CHECK(!fs::exists(req.order.output_dir));
}

BOOST_AUTO_TEST_SUITE_END()
