#define BOOST_TEST_MODULE schema_catalog
#include <boost/test/unit_test.hpp>

#include "contracts/embedded_schemas.hpp"
#include "contracts/json_schema.hpp"
#include "contracts/schema_catalog.hpp"

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

using namespace omniva::contracts;
namespace json = omniva::json;

namespace {

constexpr const char* uuid_a = "3f1c2a9e-8b7d-4c6e-9a1b-2d3e4f5a6b7c";
constexpr const char* uuid_b = "9b8a7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d";

/// A realistic valid instance of each core schema.
const char* valid_instance(std::string_view name) {
  if (name == "ScraperJob")
    return R"({
      "job_id": "3f1c2a9e-8b7d-4c6e-9a1b-2d3e4f5a6b7c",
      "creator_id": "9b8a7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d",
      "platform": "youtube",
      "target_url": "https://www.youtube.com/@omniva/videos",
      "requested_range": {"since": "2026-11-01T00:00:00Z",
                          "until": "2026-11-20T23:59:59.999Z"},
      "status": "PENDING",
      "created_at": "2026-11-21T05:30:27.077Z",
      "updated_at": "2026-11-21T05:30:27.077Z",
      "schema_version": "1.0.0"})";
  if (name == "AnalysisResult")
    return R"({
      "video_id": "3f1c2a9e-8b7d-4c6e-9a1b-2d3e4f5a6b7c",
      "transcript": "Welcome back to the channel. Today we test the new rig.",
      "keywords_detected": ["rig", "test"],
      "virality_score": 0.81,
      "relevance_score": 0.64,
      "clip_candidates": [
        {"start_time": 12.5, "end_time": 31, "confidence": 0.92,
         "subject_focus": "creator", "faces_detected": 1,
         "semantic_tags": ["intro", "hook"],
         "pantheon_votes": {"risk_mitigation": 0.4, "trend_chaser": 0.9},
         "lattice_priority": 0.7},
        {"start_time": 95, "end_time": 120.25, "confidence": 0.55,
         "subject_focus": "product", "faces_detected": 0,
         "semantic_tags": [], "pantheon_votes": {}, "lattice_priority": 0.3,
         "clip_id": "9b8a7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"}
      ],
      "_meta_parents": ["9b8a7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"],
      "generated_at": "2026-11-21T05:31:00Z"})";
  if (name == "ClipCandidate")
    return R"({
      "start_time": 0, "end_time": 14.2, "confidence": 0.88,
      "subject_focus": "guest", "faces_detected": 2,
      "semantic_tags": ["laugh", "reaction"],
      "pantheon_votes": {"explorer": 0.6},
      "lattice_priority": 0.5,
      "clip_id": "3f1c2a9e-8b7d-4c6e-9a1b-2d3e4f5a6b7c"})";
  if (name == "EditJob")
    return R"({
      "clip_id": "3f1c2a9e-8b7d-4c6e-9a1b-2d3e4f5a6b7c",
      "operations": ["trim", "crop_vertical", "burn_captions"],
      "ffmpeg_commands": ["ffmpeg -ss 12.5 -to 31 -i in.mp4 -c copy cut.mp4"],
      "gpu_required": true,
      "estimated_duration": 42,
      "expected_outputs": ["s3://omniva-clips/3f1c2a9e/final.mp4"]})";
  if (name == "UploadJob")
    return R"({
      "clip_id": "3f1c2a9e-8b7d-4c6e-9a1b-2d3e4f5a6b7c",
      "title": "We tested the new rig",
      "description": "The first minutes with the new camera rig.",
      "keywords": ["camera", "rig"],
      "scheduled_time": "2026-11-22T17:00:00Z",
      "privacy_status": "unlisted",
      "yt_video_id": "dQw4w9WgXcQ",
      "distribution_targets": ["tiktok", "instagram"]})";
  if (name == "ScheduleTask")
    return R"({
      "clip_id": "3f1c2a9e-8b7d-4c6e-9a1b-2d3e4f5a6b7c",
      "recommended_time": "2026-11-22T17:00:00.000Z",
      "priority": 0.9,
      "horizon_adjustment": -0.25,
      "final_decision_source": "zenith",
      "notes": "Evening slot, weekend audience.",
      "_meta_parents": ["9b8a7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"]})";
  return nullptr;
}

const std::vector<std::string> core_names{"ScraperJob",   "AnalysisResult",
                                          "ClipCandidate", "EditJob",
                                          "UploadJob",     "ScheduleTask"};

json::value instance(std::string_view name) {
  auto parsed = json::parse(valid_instance(name));
  BOOST_REQUIRE_MESSAGE(parsed, "test instance of " << name << " is not JSON");
  return std::move(*parsed.doc);
}

json::value& at(json::value& doc, std::string_view pointer) {
  auto* x = json::resolve_pointer(doc, pointer);
  BOOST_REQUIRE_MESSAGE(x != nullptr, "no " << pointer << " in the test doc");
  return const_cast<json::value&>(*x);
}

std::string describe(const std::vector<problem>& xs) {
  std::string out;
  for (auto& p : xs)
    out += "\n  " + to_string(p);
  return out;
}

bool has(const std::vector<problem>& xs, std::string_view code,
         std::string_view pointer) {
  return std::any_of(xs.begin(), xs.end(), [&](const problem& p) {
    return to_string(p.code) == code && p.pointer == pointer;
  });
}

/// Requires `doc` to be refused by `name` with `code` at `pointer`.
void require_refused(std::string_view name, const json::value& doc,
                     std::string_view code, std::string_view pointer) {
  auto xs = validate_core_document(name, doc);
  BOOST_TEST(has(xs, code, pointer), name << ": expected " << code << " at "
                                          << pointer << ", got"
                                          << describe(xs));
}

std::string read_text(const std::string& path) {
  std::ifstream in{path, std::ios::binary};
  std::ostringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

} // namespace

// -- the catalog --------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(every_shipped_schema_is_embedded_and_compiles) {
  auto& catalog = schema_catalog::shipped();
  BOOST_TEST(catalog.load_errors().empty());
  auto names = catalog.names();
  std::set<std::string> have{names.begin(), names.end()};
  for (auto& n : core_names)
    BOOST_TEST(have.count(n) == 1u, n << " is not shipped");
  for (auto n : {"module_contract", "task_request", "envelope"})
    BOOST_TEST(have.count(n) == 1u, n << " is not shipped");
  for (auto& n : names) {
    auto compiled = catalog.compile(n);
    BOOST_TEST(static_cast<bool>(compiled), n << " does not compile");
  }
}

BOOST_AUTO_TEST_CASE(embedded_schemas_are_the_files_of_contracts_schemas) {
  for (auto& f : embedded_schema_files()) {
    auto path = std::string{OMNIVA_SOURCE_DIR} + "/contracts/schemas/"
                + std::string{f.name};
    BOOST_TEST(read_text(path) == f.text, f.name << " differs from " << path);
  }
}

BOOST_AUTO_TEST_CASE(schemas_are_found_with_or_without_the_extension) {
  auto& catalog = schema_catalog::shipped();
  BOOST_TEST(catalog.uri("ClipCandidate").value_or("")
             == "omniva:///schemas/ClipCandidate.json");
  BOOST_TEST(catalog.uri("ClipCandidate.json").value_or("")
             == "omniva:///schemas/ClipCandidate.json");
  BOOST_TEST(catalog.document("ClipCandidate") == catalog.document("ClipCandidate.json"));
  BOOST_TEST(catalog.find("ClipCandidate") == catalog.find("ClipCandidate.json"));
  BOOST_TEST(!catalog.uri("clipcandidate"));
  BOOST_TEST(catalog.find("NoSuchSchema") == nullptr);
  auto unknown = catalog.compile("NoSuchSchema");
  BOOST_TEST(!unknown);
  BOOST_TEST(unknown.errors.empty());
}

BOOST_AUTO_TEST_CASE(a_schema_is_compiled_once_and_shared_between_threads) {
  auto& catalog = schema_catalog::shipped();
  std::vector<std::shared_ptr<const compiled_schema>> seen(8);
  std::vector<std::thread> threads;
  for (size_t i = 0; i < seen.size(); ++i)
    threads.emplace_back([&, i] { seen[i] = catalog.find("EditJob"); });
  for (auto& t : threads)
    t.join();
  for (auto& s : seen) {
    BOOST_REQUIRE(s != nullptr);
    BOOST_TEST(s == seen[0]);
  }
  BOOST_TEST(catalog.find("EditJob") == seen[0]);
}

BOOST_AUTO_TEST_CASE(inline_schemas_may_refer_to_shipped_ones) {
  auto& catalog = schema_catalog::shipped();
  auto schema = json::parse(
    R"({"type": "array", "items": {"$ref": "ClipCandidate.json"}})");
  BOOST_REQUIRE(schema);
  auto compiled = catalog.compile_inline(*schema.doc);
  BOOST_REQUIRE(compiled);
  auto good = json::parse(std::string{"["} + valid_instance("ClipCandidate") + "]");
  BOOST_TEST(compiled.schema->validate(*good.doc).valid);
  auto bad = json::parse(R"([{"start_time": 1}])");
  BOOST_TEST(!compiled.schema->validate(*bad.doc).valid);
  BOOST_TEST(catalog.compile_inline(*schema.doc).schema == compiled.schema);
}

// A validation stopped as too complex is not a schema violation of the
// document: pre-flight and the HTTP API answer `schema_too_complex`.
BOOST_AUTO_TEST_CASE(a_validation_stopped_as_too_complex_is_schema_too_complex) {
  auto schema = json::parse(
    R"({"anyOf": [{"type": "integer", "$ref": "#"}, {"$ref": "#"}]})");
  BOOST_REQUIRE(schema);
  auto compiled = schema_catalog::shipped().compile_inline(*schema.doc);
  BOOST_REQUIRE(compiled);
  auto verdict = compiled.schema->validate(json::value{1});
  BOOST_TEST(verdict.too_complex);
  auto problems = schema_problems(verdict.errors, ec::schema_violation, "/values/x");
  BOOST_REQUIRE_EQUAL(problems.size(), 1u);
  BOOST_TEST(to_string(problems[0].code) == "schema_too_complex");
  BOOST_TEST(problems[0].pointer == "/values/x");
  auto refined = schema_problems(verdict.errors, ec::invalid_contract, "",
                                 schema_problem_codes::refined);
  BOOST_REQUIRE_EQUAL(refined.size(), 1u);
  BOOST_TEST(to_string(refined[0].code) == "schema_too_complex");
}

// -- the six core schemas -------------------------------------------------------------

BOOST_AUTO_TEST_CASE(each_core_schema_accepts_a_realistic_instance) {
  for (auto& name : core_names) {
    auto xs = validate_core(name, valid_instance(name));
    BOOST_TEST(xs.empty(), name << " refused its valid instance:" << describe(xs));
  }
}

BOOST_AUTO_TEST_CASE(each_core_schema_refuses_undeclared_properties) {
  for (auto& name : core_names) {
    auto doc = instance(name);
    doc.set("extra_field", true);
    require_refused(name, doc, "schema_violation", "/extra_field");
  }
}

BOOST_AUTO_TEST_CASE(each_core_schema_refuses_a_missing_required_field) {
  std::vector<std::pair<std::string, std::string>> cases{
    {"ScraperJob", "target_url"},   {"AnalysisResult", "transcript"},
    {"ClipCandidate", "end_time"},  {"EditJob", "operations"},
    {"UploadJob", "privacy_status"}, {"ScheduleTask", "priority"}};
  for (auto& [name, field] : cases) {
    auto doc = instance(name);
    BOOST_REQUIRE(doc.erase(field));
    require_refused(name, doc, "schema_violation", "/" + field);
  }
}

BOOST_AUTO_TEST_CASE(scraper_job_refuses_bad_enum_uuid_date_and_uri) {
  auto doc = instance("ScraperJob");
  at(doc, "/platform") = "vimeo";
  at(doc, "/job_id") = "job-42";
  at(doc, "/requested_range/since") = "last monday";
  at(doc, "/target_url") = "not a url";
  at(doc, "/status") = "done";
  at(doc, "/schema_version") = "v1";
  auto xs = validate_core_document("ScraperJob", doc);
  for (auto p : {"/platform", "/job_id", "/requested_range/since",
                 "/target_url", "/status", "/schema_version"})
    BOOST_TEST(has(xs, "schema_violation", p), "nothing at " << p << describe(xs));
}

BOOST_AUTO_TEST_CASE(analysis_result_refuses_out_of_range_scores_and_bad_candidates) {
  auto doc = instance("AnalysisResult");
  at(doc, "/virality_score") = 1.2;
  at(doc, "/relevance_score") = -0.1;
  at(doc, "/clip_candidates/1").set("speaker", "guest");
  at(doc, "/clip_candidates/0/confidence") = 3;
  at(doc, "/_meta_parents/0") = "parent";
  auto xs = validate_core_document("AnalysisResult", doc);
  for (auto p : {"/virality_score", "/relevance_score",
                 "/clip_candidates/1/speaker", "/clip_candidates/0/confidence",
                 "/_meta_parents/0"})
    BOOST_TEST(has(xs, "schema_violation", p), "nothing at " << p << describe(xs));
}

BOOST_AUTO_TEST_CASE(clip_candidate_refuses_bad_numbers_votes_tags_and_ids) {
  auto doc = instance("ClipCandidate");
  at(doc, "/confidence") = 1.01;
  at(doc, "/start_time") = -1;
  at(doc, "/faces_detected") = 1.5;
  at(doc, "/pantheon_votes").set("explorer", 2);
  at(doc, "/semantic_tags/1") = "laugh";
  at(doc, "/clip_id") = "3f1c2a9e8b7d4c6e9a1b2d3e4f5a6b7c";
  auto xs = validate_core_document("ClipCandidate", doc);
  for (auto p : {"/confidence", "/start_time", "/faces_detected",
                 "/pantheon_votes/explorer", "/semantic_tags", "/clip_id"})
    BOOST_TEST(has(xs, "schema_violation", p), "nothing at " << p << describe(xs));
}

BOOST_AUTO_TEST_CASE(edit_job_refuses_bad_duration_types_and_uris) {
  auto doc = instance("EditJob");
  at(doc, "/estimated_duration") = 0;
  at(doc, "/gpu_required") = "no";
  at(doc, "/expected_outputs/0") = "final.mp4";
  at(doc, "/clip_id") = uuid_a + std::string{"0"};
  auto xs = validate_core_document("EditJob", doc);
  for (auto p : {"/estimated_duration", "/gpu_required", "/expected_outputs/0",
                 "/clip_id"})
    BOOST_TEST(has(xs, "schema_violation", p), "nothing at " << p << describe(xs));
}

BOOST_AUTO_TEST_CASE(upload_job_refuses_bad_enum_lengths_and_video_id) {
  auto doc = instance("UploadJob");
  at(doc, "/privacy_status") = "friends";
  at(doc, "/title") = std::string(121, 'x');
  at(doc, "/yt_video_id") = "dQw4w9WgXc";
  auto& keywords = at(doc, "/keywords");
  for (int i = 0; i < 14; ++i)
    keywords.push_back("k" + std::to_string(i));
  at(doc, "/scheduled_time") = "2026-11-22 17:00";
  auto xs = validate_core_document("UploadJob", doc);
  for (auto p : {"/privacy_status", "/title", "/yt_video_id", "/keywords",
                 "/scheduled_time"})
    BOOST_TEST(has(xs, "schema_violation", p), "nothing at " << p << describe(xs));
}

BOOST_AUTO_TEST_CASE(schedule_task_refuses_bad_adjustment_source_and_time) {
  auto doc = instance("ScheduleTask");
  at(doc, "/horizon_adjustment") = -1.5;
  at(doc, "/priority") = 1.5;
  at(doc, "/final_decision_source") = "paradox";
  at(doc, "/recommended_time") = "2026-13-01T00:00:00Z";
  at(doc, "/notes") = std::string(513, 'n');
  auto xs = validate_core_document("ScheduleTask", doc);
  for (auto p : {"/horizon_adjustment", "/priority", "/final_decision_source",
                 "/recommended_time", "/notes"})
    BOOST_TEST(has(xs, "schema_violation", p), "nothing at " << p << describe(xs));
}

BOOST_AUTO_TEST_CASE(text_that_is_not_json_is_one_invalid_json_problem) {
  auto xs = validate_core("EditJob", "{\"clip_id\": ");
  BOOST_REQUIRE_EQUAL(xs.size(), 1u);
  BOOST_TEST(to_string(xs[0].code) == "invalid_json");
}

BOOST_AUTO_TEST_CASE(an_unknown_schema_name_is_an_invalid_ref) {
  auto xs = validate_core("Nope", "{}");
  BOOST_REQUIRE_EQUAL(xs.size(), 1u);
  BOOST_TEST(to_string(xs[0].code) == "invalid_ref");
}

// -- semantic rules -------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(a_clip_must_end_after_it_starts) {
  auto doc = instance("ClipCandidate");
  at(doc, "/start_time") = 20;
  at(doc, "/end_time") = 14.2;
  auto xs = validate_core_document("ClipCandidate", doc);
  BOOST_REQUIRE_EQUAL(xs.size(), 1u);
  BOOST_TEST(to_string(xs[0].code) == "semantic_violation");
  BOOST_TEST(xs[0].pointer == "/end_time");
  at(doc, "/end_time") = 20;
  BOOST_TEST(has(validate_core_document("ClipCandidate", doc),
                 "semantic_violation", "/end_time"));
  at(doc, "/end_time") = 20.001;
  BOOST_TEST(validate_core_document("ClipCandidate", doc).empty());
}

BOOST_AUTO_TEST_CASE(every_clip_of_an_analysis_result_must_end_after_it_starts) {
  auto doc = instance("AnalysisResult");
  at(doc, "/clip_candidates/1/end_time") = 90;
  auto xs = validate_core_document("AnalysisResult", doc);
  BOOST_REQUIRE_EQUAL(xs.size(), 1u);
  BOOST_TEST(to_string(xs[0].code) == "semantic_violation");
  BOOST_TEST(xs[0].pointer == "/clip_candidates/1/end_time");
}

BOOST_AUTO_TEST_CASE(a_scrape_range_must_not_end_before_it_starts) {
  auto doc = instance("ScraperJob");
  at(doc, "/requested_range/since") = "2026-11-21T00:00:00Z";
  at(doc, "/requested_range/until") = "2026-11-20T23:59:59.999Z";
  auto xs = validate_core_document("ScraperJob", doc);
  BOOST_REQUIRE_EQUAL(xs.size(), 1u);
  BOOST_TEST(to_string(xs[0].code) == "semantic_violation");
  BOOST_TEST(xs[0].pointer == "/requested_range/until");
  // since == until is an empty but valid range.
  at(doc, "/requested_range/until") = "2026-11-21T00:00:00.000Z";
  BOOST_TEST(validate_core_document("ScraperJob", doc).empty());
}

BOOST_AUTO_TEST_CASE(scrape_ranges_compare_instants_not_text) {
  auto doc = instance("ScraperJob");
  // 10:00+02:00 is 08:00Z: before 09:00Z although it sorts after as text.
  at(doc, "/requested_range/since") = "2026-11-20T10:00:00+02:00";
  at(doc, "/requested_range/until") = "2026-11-20T09:00:00Z";
  BOOST_TEST(validate_core_document("ScraperJob", doc).empty());
  at(doc, "/requested_range/since") = "2026-11-20T09:00:00Z";
  at(doc, "/requested_range/until") = "2026-11-20T10:00:00+02:00";
  BOOST_TEST(has(validate_core_document("ScraperJob", doc),
                 "semantic_violation", "/requested_range/until"));
}

BOOST_AUTO_TEST_CASE(semantic_rules_prefix_their_pointers) {
  auto doc = instance("ClipCandidate");
  at(doc, "/start_time") = 30;
  auto xs = check_semantic_rules("ClipCandidate", doc, "/values/clip");
  BOOST_REQUIRE_EQUAL(xs.size(), 1u);
  BOOST_TEST(xs[0].pointer == "/values/clip/end_time");
}

// -- envelope, task request, module contract ----------------------------------------------

BOOST_AUTO_TEST_CASE(the_envelope_schema_checks_the_lineage_fields) {
  auto text = std::string{R"({"trace_id": ")"} + uuid_a
              + R"(", "_meta_parents": [")" + std::string(64, 'a')
              + R"("], "schema_version": "1.3.0", "topic": "task.created",
                 "payload": {"task_id": ")" + uuid_b + R"("}})";
  BOOST_TEST(validate_core("envelope", text).empty(),
             describe(validate_core("envelope", text)));
  auto doc = *json::parse(text).doc;
  doc.erase("_meta_parents");
  require_refused("envelope", doc, "schema_violation", "/_meta_parents");
  doc = *json::parse(text).doc;
  at(doc, "/trace_id") = "trace-1";
  require_refused("envelope", doc, "schema_violation", "/trace_id");
}

BOOST_AUTO_TEST_CASE(an_unknown_major_version_is_refused) {
  auto text = std::string{R"({"trace_id": ")"} + uuid_a
              + R"(", "_meta_parents": [], "schema_version": "2.0.0",
                 "topic": "task.created", "payload": {}})";
  auto xs = validate_core("envelope", text);
  BOOST_REQUIRE_EQUAL(xs.size(), 1u);
  BOOST_TEST(to_string(xs[0].code) == "unsupported_schema_version");
  BOOST_TEST(xs[0].pointer == "/schema_version");
  auto job = instance("ScraperJob");
  at(job, "/schema_version") = "7.0.1";
  require_refused("ScraperJob", job, "unsupported_schema_version",
                  "/schema_version");
}

BOOST_AUTO_TEST_CASE(the_task_request_schema_accepts_the_sample_request) {
  auto text = read_text(std::string{OMNIVA_SOURCE_DIR}
                        + "/modules/face_detect/sample_request.json");
  auto xs = validate_core("task_request", text);
  BOOST_TEST(xs.empty(), describe(xs));
  auto doc = *json::parse(text).doc;
  doc.erase("module_ref");
  require_refused("task_request", doc, "schema_violation", "/module_ref");
  doc = *json::parse(text).doc;
  at(doc, "/mode") = "dry";
  require_refused("task_request", doc, "schema_violation", "/mode");
  doc = *json::parse(text).doc;
  at(doc, "/schema_version") = "2.0.0";
  require_refused("task_request", doc, "unsupported_schema_version",
                  "/schema_version");
}

BOOST_AUTO_TEST_CASE(the_contract_meta_schema_accepts_both_dtype_spellings) {
  auto text = read_text(std::string{OMNIVA_SOURCE_DIR}
                        + "/modules/face_detect/module.json");
  BOOST_TEST(validate_core("module_contract", text).empty());
  auto doc = *json::parse(text).doc;
  at(doc, "/inputs/1/constraints").erase("dtype");
  at(doc, "/inputs/1").set("dtype", "float");
  BOOST_TEST(validate_core_document("module_contract", doc).empty());
}
