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
#include "runtime/mock_adapter.hpp"

#include <atomic>
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
