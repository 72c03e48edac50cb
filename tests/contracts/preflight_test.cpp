#define BOOST_TEST_MODULE preflight
#include <boost/test/unit_test.hpp>

#include "contracts/json_schema.hpp"
#include "contracts/preflight.hpp"
#include "contracts/schema_catalog.hpp"

#include <algorithm>
#include <string>
#include <vector>

using namespace omniva::contracts;
namespace json = omniva::json;

namespace {

// Asset ids.
constexpr const char* video = "0b6f3c8e-2d4a-4f7b-9c1e-5a8d2f4b6c01";
constexpr const char* pending_video = "7c2e9a41-6b3d-4e8f-a1c5-3d9b7e2f4a02";
constexpr const char* audio = "3a9d5e7f-1b2c-4d3e-8f4a-6b7c8d9e0f04";
constexpr const char* strict = "5e8f1a2b-3c4d-4e5f-9a6b-7c8d9e0f1a05";
constexpr const char* failed_video = "9b1c2d3e-4f5a-4b6c-8d7e-8f9a0b1c2d06";
constexpr const char* purged_video = "9b1c2d3e-4f5a-4b6c-8d7e-8f9a0b1c2d99";
constexpr const char* clip_json = "1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e07";
constexpr const char* bad_clip_json = "2d3e4f5a-6b7c-4d8e-9f0a-1b2c3d4e5f08";
constexpr const char* url_value = "3e4f5a6b-7c8d-4e9f-8a1b-2c3d4e5f6a09";
constexpr const char* text_value = "4f5a6b7c-8d9e-4f0a-9b2c-3d4e5f6a7b10";
constexpr const char* unknown = "ffffffff-ffff-4fff-bfff-ffffffffffff";
constexpr const char* producer_task = "e4d1b2c3-5a6f-4b7c-8d9e-0f1a2b3c4d03";

/// A contract with one input of every sort. Only `source_video` must be
/// given; `threshold` and `speed` have defaults.
constexpr const char* contract_text = R"({
  "name": "face-detect",
  "version": 1,
  "description": "Finds faces in a video.",
  "inputs": [
    {"key": "source_video", "contract_type": "ASSET",
     "constraints": {"media_types": ["video/mp4", "video/x-matroska"]}},
    {"key": "clip", "contract_type": "ASSET", "required": false,
     "constraints": {"media_types": ["application/json"],
                     "schema": "ClipCandidate"}},
    {"key": "threshold", "contract_type": "VALUE", "dtype": "float",
     "default": 0.5, "constraints": {"min": 0.1, "max": 1.0}},
    {"key": "speed", "contract_type": "VALUE", "dtype": "enum",
     "default": "fast", "constraints": {"enum": ["fast", "accurate"]}},
    {"key": "caption", "contract_type": "VALUE", "dtype": "text",
     "required": false,
     "constraints": {"pattern": "^[A-Z]", "max_length": 10}},
    {"key": "callback", "contract_type": "VALUE", "dtype": "url",
     "required": false},
    {"key": "max_faces", "contract_type": "VALUE", "dtype": "int",
     "required": false, "constraints": {"min": 1, "max": 100}},
    {"key": "options", "contract_type": "VALUE", "dtype": "json",
     "required": false,
     "constraints": {"schema": {"type": "object",
                                "properties": {"k": {"type": "integer"}},
                                "required": ["k"]}}}
  ],
  "outputs": [
    {"key": "faces_archive", "media_type": "application/zip"}
  ],
  "resources": {"cpu": 1, "memory_gb": 2, "gpu": false, "timeout_s": 600},
  "run": {"command": ["python3", "detect.py"]},
  "schema_version": "1.0.0"
})";

constexpr const char* valid_clip = R"({"start_time": 1.5, "end_time": 4,
  "confidence": 0.9, "subject_focus": "guest", "faces_detected": 2,
  "semantic_tags": ["laugh"], "pantheon_votes": {"risk": 0.2},
  "lattice_priority": 0.7})";

module_contract contract() {
  auto result = parse_module_contract(contract_text);
  BOOST_REQUIRE_MESSAGE(result, "the test contract is invalid");
  return *result.contract;
}

asset_record file(const char* id, const char* media_type,
                  asset_status status = asset_status::available) {
  asset_record x;
  x.asset_id = id;
  x.kind = asset_kind::file;
  x.media_type = media_type;
  x.status = status;
  if (status == asset_status::available)
    x.uri = "uploads/file";
  else
    x.produced_by = producer_task;
  x.created_at = "2026-11-21T05:30:27.077Z";
  return x;
}

asset_record value(const char* id, const char* dtype, std::string value_json) {
  asset_record x;
  x.asset_id = id;
  x.kind = asset_kind::value;
  x.dtype = dtype;
  x.status = asset_status::available;
  x.value_json = std::move(value_json);
  x.created_at = "2026-11-21T05:30:27.077Z";
  return x;
}

/// The ledger every test sees.
struct ledger_fixture {
  ledger_fixture() {
    table.add(file(video, "video/mp4"));
    table.add(file(pending_video, "video/x-matroska", asset_status::pending));
    table.add(file(audio, "audio/mpeg"));
    table.add(file(failed_video, "video/mp4", asset_status::failed));
    table.add(file(purged_video, "video/mp4", asset_status::purged));
    table.add(value(strict, "float", "0.8"));
    table.add(value(url_value, "url", R"("https://example.com/hook")"));
    table.add(value(text_value, "text", R"("Hello")"));
    auto clip = file(clip_json, "application/json");
    clip.value_json = valid_clip;
    table.add(clip);
    auto bad = file(bad_clip_json, "application/json");
    bad.value_json = R"({"start_time": 1, "end_time": 4, "confidence": 7})";
    table.add(bad);
  }

  /// A request mapping only the source video.
  task_request request() const {
    task_request r;
    r.module_ref = "face-detect@1";
    r.input_mapping["source_video"] = video;
    return r;
  }

  preflight_result check(const task_request& r) const {
    return preflight(c, r, table.view());
  }

  module_contract c = contract();
  asset_table table;
};

std::string describe(const std::vector<problem>& xs) {
  std::string out;
  for (auto& p : xs)
    out += "\n  " + to_string(p);
  return out;
}

/// Requires the request to be refused with exactly one problem.
void require_single(const preflight_result& r, std::string_view code,
                    std::string_view pointer) {
  BOOST_REQUIRE_MESSAGE(!r, "the request was accepted");
  BOOST_REQUIRE_MESSAGE(r.problems.size() == 1,
                        "expected one problem, got " << r.problems.size()
                                                     << describe(r.problems));
  BOOST_TEST(to_string(r.problems[0].code) == code);
  BOOST_TEST(r.problems[0].pointer == pointer);
  BOOST_TEST(!r.problems[0].message.empty());
}

bool has(const std::vector<problem>& xs, std::string_view code,
         std::string_view pointer) {
  return std::any_of(xs.begin(), xs.end(), [&](const problem& p) {
    return to_string(p.code) == code && p.pointer == pointer;
  });
}

} // namespace

BOOST_FIXTURE_TEST_SUITE(preflight_rules, ledger_fixture)

// -- accepted requests -------------------------------------------------------------

BOOST_AUTO_TEST_CASE(a_minimal_request_is_accepted_with_defaults_applied) {
  auto r = check(request());
  BOOST_REQUIRE_MESSAGE(r, describe(r.problems));
  auto& task = *r.task;
  BOOST_TEST(task.request.module_ref == "face-detect@1");
  BOOST_TEST(task.request.input_mapping.at("source_video") == video);
  BOOST_TEST(task.request.values.at("threshold") == "0.5");
  BOOST_TEST(task.request.values.at("speed") == "\"fast\"");
  BOOST_TEST((task.defaults_applied
              == std::vector<std::string>{"speed", "threshold"}));
  BOOST_TEST(task.pending_assets.empty());
  // Optional inputs without a default stay absent.
  BOOST_TEST(!task.request.values.contains("caption"));
}

BOOST_AUTO_TEST_CASE(given_values_win_over_defaults) {
  auto req = request();
  req.values["threshold"] = "0.9";
  req.values["caption"] = R"("Faces")";
  req.values["callback"] = R"("https://example.com/done")";
  req.values["max_faces"] = "12";
  req.values["options"] = R"({"k": 3})";
  auto r = check(req);
  BOOST_REQUIRE_MESSAGE(r, describe(r.problems));
  BOOST_TEST(r.task->request.values.at("threshold") == "0.9");
  BOOST_TEST(r.task->request.values.at("options") == R"({"k":3})");
  BOOST_TEST((r.task->defaults_applied == std::vector<std::string>{"speed"}));
}

BOOST_AUTO_TEST_CASE(a_value_input_may_be_given_as_a_value_asset) {
  auto req = request();
  req.input_mapping["threshold"] = strict;
  req.input_mapping["callback"] = url_value;
  auto r = check(req);
  BOOST_REQUIRE_MESSAGE(r, describe(r.problems));
  BOOST_TEST(r.task->request.input_mapping.at("threshold") == strict);
  BOOST_TEST(!r.task->request.values.contains("threshold"));
}

BOOST_AUTO_TEST_CASE(a_pending_asset_is_accepted_and_the_task_waits_for_it) {
  auto req = request();
  req.input_mapping["source_video"] = pending_video;
  auto r = check(req);
  BOOST_REQUIRE_MESSAGE(r, describe(r.problems));
  BOOST_TEST((r.task->pending_assets == std::vector<std::string>{pending_video}));
}

BOOST_AUTO_TEST_CASE(a_pending_asset_is_checked_against_its_promised_media_type) {
  // The record says what was promised ...
  table.add(file(pending_video, "audio/wav", asset_status::pending));
  auto req = request();
  req.input_mapping["source_video"] = pending_video;
  require_single(check(req), "media_type_mismatch", "/input_mapping/source_video");
  // ... unless the producer's contract is known: its output spec wins.
  output_spec promised;
  promised.key = "trimmed";
  promised.media_type = "video/mp4";
  table.promise(pending_video, promised);
  BOOST_TEST(static_cast<bool>(check(req)));
  promised.media_type = "image/png";
  table.promise(pending_video, promised);
  require_single(check(req), "media_type_mismatch", "/input_mapping/source_video");
}

BOOST_AUTO_TEST_CASE(a_pending_asset_promised_with_another_schema_is_refused) {
  table.add(file(pending_video, "application/json", asset_status::pending));
  output_spec promised;
  promised.key = "clips";
  promised.media_type = "application/json";
  promised.schema_ref = "EditJob";
  table.promise(pending_video, promised);
  auto req = request();
  req.input_mapping["clip"] = pending_video;
  require_single(check(req), "schema_violation", "/input_mapping/clip");
  promised.schema_ref = "ClipCandidate";
  table.promise(pending_video, promised);
  BOOST_TEST(static_cast<bool>(check(req)));
}

BOOST_AUTO_TEST_CASE(a_json_asset_satisfying_its_schema_is_accepted) {
  auto req = request();
  req.input_mapping["clip"] = clip_json;
  auto r = check(req);
  BOOST_REQUIRE_MESSAGE(r, describe(r.problems));
}

BOOST_AUTO_TEST_CASE(the_resolved_task_has_a_json_form) {
  auto r = check(request());
  BOOST_REQUIRE(r);
  auto doc = to_json(*r.task);
  BOOST_TEST(doc.find("module_ref")->as_string() == "face-detect@1");
  BOOST_TEST(json::resolve_pointer(doc, "/values/threshold")->as_double() == 0.5);
  BOOST_TEST(doc.find("defaults_applied")->as_array().size() == 2u);
  BOOST_TEST(doc.find("pending_assets")->as_array().empty());
}

// -- one test per error code -------------------------------------------------------

BOOST_AUTO_TEST_CASE(missing_input) {
  auto req = request();
  req.input_mapping.clear();
  require_single(check(req), "missing_input", "/input_mapping/source_video");
}

BOOST_AUTO_TEST_CASE(missing_input_of_a_value_without_default) {
  auto c2 = c;
  c2.inputs[6].required = true; // max_faces
  auto r = preflight(c2, request(), table.view());
  require_single(r, "missing_input", "/values/max_faces");
}

BOOST_AUTO_TEST_CASE(unknown_input) {
  auto req = request();
  req.values["min_face_size"] = "32";
  require_single(check(req), "unknown_input", "/values/min_face_size");
  req = request();
  req.input_mapping["subtitles"] = video;
  require_single(check(req), "unknown_input", "/input_mapping/subtitles");
}

BOOST_AUTO_TEST_CASE(asset_not_found) {
  auto req = request();
  req.input_mapping["source_video"] = unknown;
  require_single(check(req), "asset_not_found", "/input_mapping/source_video");
}

BOOST_AUTO_TEST_CASE(asset_failed) {
  auto req = request();
  req.input_mapping["source_video"] = failed_video;
  require_single(check(req), "asset_failed", "/input_mapping/source_video");
}

BOOST_AUTO_TEST_CASE(asset_purged) {
  auto req = request();
  req.input_mapping["source_video"] = purged_video;
  require_single(check(req), "asset_purged", "/input_mapping/source_video");
}

BOOST_AUTO_TEST_CASE(kind_mismatch_asset_input_given_a_value_asset) {
  auto req = request();
  req.input_mapping["source_video"] = strict;
  require_single(check(req), "kind_mismatch", "/input_mapping/source_video");
}

BOOST_AUTO_TEST_CASE(kind_mismatch_asset_input_given_an_inline_value) {
  auto req = request();
  req.input_mapping.clear();
  req.values["source_video"] = R"("uploads/interview.mp4")";
  require_single(check(req), "kind_mismatch", "/values/source_video");
}

BOOST_AUTO_TEST_CASE(kind_mismatch_value_input_given_a_file) {
  auto req = request();
  req.input_mapping["threshold"] = video;
  require_single(check(req), "kind_mismatch", "/input_mapping/threshold");
}

BOOST_AUTO_TEST_CASE(kind_mismatch_url_input_refuses_text) {
  auto req = request();
  req.values["callback"] = R"("call me back")";
  require_single(check(req), "kind_mismatch", "/values/callback");
  req = request();
  req.input_mapping["callback"] = text_value;
  require_single(check(req), "kind_mismatch", "/input_mapping/callback");
}

BOOST_AUTO_TEST_CASE(kind_mismatch_text_input_refuses_a_url) {
  auto req = request();
  req.values["caption"] = R"("https://example.com/x")";
  require_single(check(req), "kind_mismatch", "/values/caption");
  req = request();
  req.input_mapping["caption"] = url_value;
  require_single(check(req), "kind_mismatch", "/input_mapping/caption");
}

BOOST_AUTO_TEST_CASE(media_type_mismatch) {
  auto req = request();
  req.input_mapping["source_video"] = audio;
  require_single(check(req), "media_type_mismatch", "/input_mapping/source_video");
}

BOOST_AUTO_TEST_CASE(dtype_mismatch) {
  auto req = request();
  req.values["threshold"] = R"("high")";
  require_single(check(req), "dtype_mismatch", "/values/threshold");
  req = request();
  req.values["max_faces"] = "2.5";
  require_single(check(req), "dtype_mismatch", "/values/max_faces");
  req = request();
  req.input_mapping["max_faces"] = strict; // a float asset for an int
  require_single(check(req), "dtype_mismatch", "/input_mapping/max_faces");
}

BOOST_AUTO_TEST_CASE(out_of_range) {
  auto req = request();
  req.values["threshold"] = "0.05";
  require_single(check(req), "out_of_range", "/values/threshold");
  req = request();
  req.values["max_faces"] = "101";
  require_single(check(req), "out_of_range", "/values/max_faces");
}

BOOST_AUTO_TEST_CASE(an_integer_too_large_for_an_int_is_out_of_range) {
  // 2^200 and 2^64: integers, but too large; not "expected an integer, got
  // an integer".
  for (auto text : {"1606938044258990275541962092341162602522202993782792835301376",
                    "18446744073709551616", "-1e30"}) {
    auto req = request();
    req.values["max_faces"] = text;
    auto r = check(req);
    require_single(r, "out_of_range", "/values/max_faces");
    BOOST_TEST(r.problems[0].message.find("64-bit") != std::string::npos,
               r.problems[0].message);
  }
}

BOOST_AUTO_TEST_CASE(a_value_with_a_lost_fraction_is_no_integer) {
  // 1e-400 reads as the smallest double above zero: one integer rule.
  for (auto text : {"1e-400", "12.0000000000000000001"}) {
    auto req = request();
    req.values["max_faces"] = text;
    auto r = check(req);
    BOOST_REQUIRE(!r);
    BOOST_TEST(has(r.problems, "dtype_mismatch", "/values/max_faces"), text);
  }
  auto req = request();
  req.values["max_faces"] = "1.2e1"; // exactly 12
  BOOST_TEST(static_cast<bool>(check(req)));
}

BOOST_AUTO_TEST_CASE(out_of_range_in_a_value_asset) {
  table.add(value(strict, "float", "1.5"));
  auto req = request();
  req.input_mapping["threshold"] = strict;
  require_single(check(req), "out_of_range", "/input_mapping/threshold");
}

BOOST_AUTO_TEST_CASE(not_in_enum) {
  auto req = request();
  req.values["speed"] = R"("slow")";
  require_single(check(req), "not_in_enum", "/values/speed");
}

BOOST_AUTO_TEST_CASE(pattern_mismatch) {
  auto req = request();
  req.values["caption"] = R"("faces")";
  require_single(check(req), "pattern_mismatch", "/values/caption");
}

BOOST_AUTO_TEST_CASE(too_long) {
  auto req = request();
  req.values["caption"] = R"("Faces of the night")";
  require_single(check(req), "too_long", "/values/caption");
  // Length counts characters, not bytes.
  req.values["caption"] = R"("Aéééééééé")"; // 9 characters, 17 bytes
  BOOST_TEST(static_cast<bool>(check(req)));
}

BOOST_AUTO_TEST_CASE(schema_violation_of_a_json_value) {
  auto req = request();
  req.values["options"] = R"({"k": "three"})";
  require_single(check(req), "schema_violation", "/values/options/k");
}

BOOST_AUTO_TEST_CASE(schema_violation_of_a_json_asset) {
  auto req = request();
  req.input_mapping["clip"] = bad_clip_json;
  auto r = check(req);
  BOOST_REQUIRE(!r);
  BOOST_TEST_MESSAGE(describe(r.problems));
  BOOST_TEST(has(r.problems, "schema_violation", "/input_mapping/clip/confidence"));
  BOOST_TEST(has(r.problems, "schema_violation",
                 "/input_mapping/clip/faces_detected"));
  BOOST_TEST(std::all_of(r.problems.begin(), r.problems.end(),
                         [](const problem& p) {
                           return p.code == ec::schema_violation;
                         }));
}

BOOST_AUTO_TEST_CASE(a_json_suffix_in_any_case_makes_an_asset_json) {
  // Media types compare case-insensitively: "+JSON" is a JSON suffix, so
  // the asset's content is checked against the input's schema.
  for (auto& in : c.inputs)
    if (in.key == "clip")
      in.media_types = {"application/*"};
  auto clip = file("9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a", "application/Clip+JSON");
  clip.value_json = R"({"start_time": 1, "end_time": 4, "confidence": 7})";
  table.add(clip);
  auto req = request();
  req.input_mapping["clip"] = clip.asset_id;
  auto r = check(req);
  BOOST_REQUIRE(!r);
  BOOST_TEST(has(r.problems, "schema_violation", "/input_mapping/clip/confidence"));
}

BOOST_AUTO_TEST_CASE(semantic_violation_of_a_json_asset_under_a_shipped_schema) {
  auto clip = file(clip_json, "application/json");
  clip.value_json = R"({"start_time": 5, "end_time": 4,
    "confidence": 0.9, "subject_focus": "guest", "faces_detected": 2,
    "semantic_tags": [], "pantheon_votes": {}, "lattice_priority": 0.7})";
  table.add(clip);
  auto req = request();
  req.input_mapping["clip"] = clip_json;
  require_single(check(req), "semantic_violation",
                 "/input_mapping/clip/end_time");
}

BOOST_AUTO_TEST_CASE(unsupported_schema_version) {
  auto req = request();
  req.schema_version = "2.0.0";
  require_single(check(req), "unsupported_schema_version", "/schema_version");
}

BOOST_AUTO_TEST_CASE(invalid_ref_when_the_request_names_another_module) {
  auto req = request();
  req.module_ref = "face-detect@2";
  require_single(check(req), "invalid_ref", "/module_ref");
}

BOOST_AUTO_TEST_CASE(invalid_ref_when_a_required_schema_is_not_registered) {
  auto c2 = c;
  c2.inputs[1].schema_ref = "media.metadata@1";
  auto req = request();
  req.input_mapping["clip"] = clip_json;
  require_single(preflight(c2, req, table.view()), "invalid_ref",
                 "/input_mapping/clip");
  // Through a resolver it is found.
  preflight_options options;
  options.resolve_schema = [](std::string_view id) {
    return id == "media.metadata@1"
             ? schema_catalog::shipped().find("ClipCandidate")
             : nullptr;
  };
  auto r = preflight(c2, req, table.view(), options);
  BOOST_TEST(static_cast<bool>(r), describe(r.problems));
}

BOOST_AUTO_TEST_CASE(duplicate_key_when_an_input_is_given_both_ways) {
  auto req = request();
  req.input_mapping["threshold"] = strict;
  req.values["threshold"] = "0.7";
  require_single(check(req), "duplicate_key", "/values/threshold");
}

BOOST_AUTO_TEST_CASE(invalid_json_in_a_stored_value) {
  auto req = request();
  req.values["threshold"] = "0.7.1";
  require_single(check(req), "invalid_json", "/values/threshold");
}

// -- everything at once ------------------------------------------------------------

BOOST_AUTO_TEST_CASE(every_problem_of_a_request_is_reported_at_once) {
  task_request req;
  req.module_ref = "face-detect@1";
  req.schema_version = "3.1.0";
  req.input_mapping["source_video"] = audio;
  req.input_mapping["clip"] = unknown;
  req.values["threshold"] = "1.7";
  req.values["speed"] = R"("slow")";
  req.values["callback"] = R"("not a url")";
  req.values["min_face_size"] = "32";
  auto r = check(req);
  BOOST_REQUIRE(!r);
  BOOST_TEST_MESSAGE(describe(r.problems));
  BOOST_TEST(r.problems.size() == 7u);
  BOOST_TEST(has(r.problems, "unsupported_schema_version", "/schema_version"));
  BOOST_TEST(has(r.problems, "media_type_mismatch", "/input_mapping/source_video"));
  BOOST_TEST(has(r.problems, "asset_not_found", "/input_mapping/clip"));
  BOOST_TEST(has(r.problems, "out_of_range", "/values/threshold"));
  BOOST_TEST(has(r.problems, "not_in_enum", "/values/speed"));
  BOOST_TEST(has(r.problems, "kind_mismatch", "/values/callback"));
  BOOST_TEST(has(r.problems, "unknown_input", "/values/min_face_size"));
  BOOST_TEST(!r.task.has_value());
}

BOOST_AUTO_TEST_CASE(preflight_does_not_need_the_promise_lookup) {
  asset_view view;
  view.find = table.view().find;
  auto req = request();
  req.input_mapping["source_video"] = pending_video;
  auto r = preflight(c, req, view);
  BOOST_TEST(static_cast<bool>(r), describe(r.problems));
}

// -- problems found while reading the request come first ---------------------------

BOOST_AUTO_TEST_CASE(reading_and_preflight_problems_are_reported_together) {
  // The issue's example: a bad asset id under a key the module lacks, a
  // required input missing, a value out of range, all at once.
  std::vector<problem> read;
  auto req = task_request_from_json(
    *json::parse(R"({"module_ref":"face-detect@1","input_mapping":{"wrong":"abc"},)"
                 R"("values":{"max_faces":700}})")
       .doc,
    read);
  BOOST_REQUIRE(req.has_value());
  auto r = check(*req);
  BOOST_REQUIRE(!r);
  BOOST_TEST(r.problems.size() == 4u, describe(r.problems));
  // The reader's problems first.
  BOOST_TEST(to_string(r.problems[0].code) == "invalid_uuid");
  BOOST_TEST(r.problems[0].pointer == "/input_mapping/wrong");
  BOOST_TEST(has(r.problems, "unknown_input", "/input_mapping/wrong"));
  BOOST_TEST(has(r.problems, "missing_input", "/input_mapping/source_video"));
  BOOST_TEST(has(r.problems, "out_of_range", "/values/max_faces"));
}

BOOST_AUTO_TEST_CASE(a_bad_asset_id_is_not_looked_up) {
  // "abc" under a declared key: invalid_uuid, and no asset_not_found (the
  // same thing said twice), nor missing_input (the key is there).
  auto req = request();
  req.input_mapping["source_video"] = "abc";
  req.problems.push_back({ec::invalid_uuid, "/input_mapping/source_video",
                          "not a UUID"});
  require_single(check(req), "invalid_uuid", "/input_mapping/source_video");
}

BOOST_AUTO_TEST_CASE(nothing_is_said_below_a_member_that_could_not_be_read) {
  // "input_mapping" and "values" of the wrong type: no missing inputs.
  std::vector<problem> read;
  auto req = task_request_from_json(
    *json::parse(R"({"module_ref":"face-detect@1","input_mapping":[1],"values":"x",)"
                 R"("priority":"high"})")
       .doc,
    read);
  BOOST_REQUIRE(req.has_value());
  auto r = check(*req);
  BOOST_REQUIRE(!r);
  BOOST_TEST(r.problems.size() == 3u, describe(r.problems));
  BOOST_TEST(has(r.problems, "type_mismatch", "/input_mapping"));
  BOOST_TEST(has(r.problems, "type_mismatch", "/values"));
  BOOST_TEST(has(r.problems, "type_mismatch", "/priority"));
}

BOOST_AUTO_TEST_CASE(the_same_problem_is_not_reported_twice) {
  auto req = request();
  req.schema_version = "2.0.0";
  req.problems.push_back({ec::unsupported_schema_version, "/schema_version",
                          "major version 2"});
  require_single(check(req), "unsupported_schema_version", "/schema_version");
}

BOOST_AUTO_TEST_CASE(a_request_with_reading_problems_only_is_refused) {
  // Everything pre-flight checks is fine; what the reader found is not.
  auto req = request();
  req.problems.push_back({ec::unknown_field, "/colour", "unknown member"});
  require_single(check(req), "unknown_field", "/colour");
}

BOOST_AUTO_TEST_SUITE_END()
