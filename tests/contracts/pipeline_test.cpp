#define BOOST_TEST_MODULE pipeline
#include <boost/test/unit_test.hpp>

#include "contracts/module_contract.hpp"
#include "contracts/pipeline.hpp"

#include <caf/binary_deserializer.hpp>
#include <caf/binary_serializer.hpp>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

namespace omniva::contracts {

// Lets Boost.Test print enums in failure messages.
inline std::ostream& boost_test_print_type(std::ostream& os, source_kind x) {
  return os << to_string(x);
}

inline std::ostream& boost_test_print_type(std::ostream& os, value_dtype x) {
  return os << to_string(x);
}

inline std::ostream& boost_test_print_type(std::ostream& os, step_kind x) {
  return os << to_string(x);
}

} // namespace omniva::contracts

using namespace omniva::contracts;
namespace json = omniva::json;

namespace {

using strings = std::vector<std::string>;

// -- modules, built in memory -------------------------------------------------------

input_spec asset_in(std::string key, strings media_types,
                    std::string schema = "") {
  input_spec x;
  x.key = std::move(key);
  x.contract_type = input_kind::asset;
  x.media_types = std::move(media_types);
  x.schema_ref = std::move(schema);
  return x;
}

input_spec value_in(std::string key, value_dtype dtype,
                    std::string schema = "", std::string default_json = "") {
  input_spec x;
  x.key = std::move(key);
  x.contract_type = input_kind::value;
  x.dtype = dtype;
  x.schema_ref = std::move(schema);
  x.default_json = std::move(default_json);
  return x;
}

output_spec out(std::string key, std::string media_type,
                std::string schema = "", bool many = false) {
  output_spec x;
  x.key = std::move(key);
  x.media_type = std::move(media_type);
  x.schema_ref = std::move(schema);
  x.many = many;
  return x;
}

module_contract mod(std::string name, std::vector<input_spec> inputs,
                    std::vector<output_spec> outputs) {
  module_contract m;
  m.name = std::move(name);
  m.version = 1;
  m.description = "a test module";
  m.inputs = std::move(inputs);
  m.outputs = std::move(outputs);
  m.run.command = {"true"};
  m.schema_version = "1.0.0";
  return m;
}

const std::string list_type{asset_list_media_type};

/// The registered modules every test pipeline uses.
const std::map<std::string, module_contract, std::less<>>& modules() {
  static const auto xs = [] {
    std::map<std::string, module_contract, std::less<>> m;
    auto add = [&](module_contract c) {
      auto ref = c.ref();
      m.emplace(ref, std::move(c));
    };
    add(mod("scraper", {value_in("job", value_dtype::json, "ScraperJob")},
            {out("videos", "video/mp4", "", true)}));
    auto keywords = value_in("keywords", value_dtype::json);
    keywords.required = false;
    add(mod("analyzer", {asset_in("video", {"video/*"}), keywords},
            {out("result", "application/json", "AnalysisResult")}));
    add(mod("editor",
            {value_in("candidate", value_dtype::json, "ClipCandidate"),
             asset_in("video", {"video/mp4"})},
            {out("clip", "video/mp4")}));
    add(mod("clip-report", {asset_in("clips", {list_type})},
            {out("report", "application/json")}));
    auto height = value_in("height", value_dtype::integer, "", "720");
    height.min = 1;
    add(mod("transcoder", {asset_in("source", {"video/*"}), height},
            {out("video", "video/mp4")}));
    add(mod("thumbnailer",
            {asset_in("video", {"video/mp4"}),
             value_in("at", value_dtype::floating)},
            {out("image", "image/png")}));
    add(mod("publisher",
            {asset_in("image", {"image/*"}),
             value_in("title", value_dtype::text)},
            {out("receipt", "application/json")}));
    add(mod("scorer", {value_in("score", value_dtype::floating)},
            {out("verdict", "application/json")}));
    add(mod("jobber", {value_in("job", value_dtype::json, "ScraperJob")},
            {out("done", "application/json")}));
    add(mod("joiner",
            {asset_in("left", {"application/json"}),
             asset_in("right", {"application/json"})},
            {out("joined", "application/json")}));
    add(mod("lister", {value_in("job", value_dtype::json, "ScraperJob")},
            {out("candidates", "application/json", "ClipCandidate", true)}));
    add(mod("bundler",
            {asset_in("items", {list_type}), asset_in("video", {"video/*"})},
            {out("bundle", "application/zip")}));
    return m;
  }();
  return xs;
}

pipeline_check_options options() {
  pipeline_check_options opts;
  opts.find_module = [](std::string_view ref) -> const module_contract* {
    auto i = modules().find(ref);
    return i == modules().end() ? nullptr : &i->second;
  };
  return opts;
}

// -- documents ----------------------------------------------------------------------

/// The example of docs/pipelines.md: a fan-out over a many output, a nested
/// fan-out over an array inside each element's JSON output (carrying the
/// parent's video along), select top 3, and a collect.
constexpr const char* clips_text = R"({
  "name": "clips", "version": 1, "schema_version": "1.0.0",
  "description": "Long videos in, short clips out",
  "inputs": [ {"key": "job", "label": "Scrape job", "contract_type": "VALUE",
               "dtype": "json", "constraints": {"schema": "ScraperJob"}} ],
  "steps": [
    {"id": "scrape", "module": "scraper@1", "inputs": {"job": {"from": "inputs.job"}}},
    {"id": "analyze", "module": "analyzer@1", "for_each": {"from": "scrape.videos"},
     "inputs": {"video": {"from": "item"}, "keywords": {"value": ["launch"]}}},
    {"id": "edit", "module": "editor@1",
     "for_each": {"from": "analyze.result", "pointer": "/clip_candidates",
                  "select": {"by": "score", "pointer": "/confidence", "top": 3}},
     "inputs": {"candidate": {"from": "item"}, "video": {"from": "analyze.video"}}},
    {"id": "report", "module": "clip-report@1", "collect": {"from": "edit.clip"},
     "inputs": {"clips": {"from": "collected"}}} ],
  "outputs": {"clips": {"from": "edit.clip"}} })";

/// Three single steps chained through their outputs.
constexpr const char* thumbs_text = R"({
  "name": "thumbs", "version": 2, "schema_version": "1.0.0",
  "inputs": [
    {"key": "video", "contract_type": "ASSET",
     "constraints": {"media_types": ["video/mp4"]}},
    {"key": "title", "contract_type": "VALUE", "dtype": "text"},
    {"key": "name", "contract_type": "VALUE", "dtype": "string",
     "required": false, "default": "x"}
  ],
  "steps": [
    {"id": "transcode", "module": "transcoder@1",
     "inputs": {"source": {"from": "inputs.video"}, "height": {"value": 480}}},
    {"id": "thumb", "module": "thumbnailer@1",
     "inputs": {"video": {"from": "transcode.video"}, "at": {"value": 1.5}}},
    {"id": "publish", "module": "publisher@1",
     "inputs": {"image": {"from": "thumb.image"}, "title": {"from": "inputs.title"}}}
  ],
  "outputs": {"receipt": {"from": "publish.receipt"}}
})";

json::value doc_of(const char* text) {
  auto parsed = json::parse(text);
  BOOST_REQUIRE_MESSAGE(parsed, "test JSON does not parse: " << parsed.error.message);
  return std::move(*parsed.doc);
}

json::value clips() {
  return doc_of(clips_text);
}

json::value thumbs() {
  return doc_of(thumbs_text);
}

/// The value at `pointer` inside `doc`, for editing.
json::value& at(json::value& doc, std::string_view pointer) {
  auto* x = json::resolve_pointer(doc, pointer);
  BOOST_REQUIRE_MESSAGE(x != nullptr, "no " << pointer << " in the test doc");
  return const_cast<json::value&>(*x);
}

json::value parse_value(const char* text) {
  return doc_of(text);
}

std::string describe(const std::vector<problem>& xs) {
  std::string out;
  for (auto& p : xs)
    out += "\n  " + to_string(p);
  return out;
}

std::vector<problem> problems_of(const json::value& doc) {
  auto result = check_pipeline_document(doc, options());
  BOOST_CHECK_EQUAL(result.pipeline.has_value(), result.problems.empty());
  return result.problems;
}

pipeline_spec accepted(const json::value& doc) {
  auto result = check_pipeline_document(doc, options());
  BOOST_REQUIRE_MESSAGE(result, "refused:" << describe(result.problems));
  return *result.pipeline;
}

/// Requires exactly one problem, with `code` at `pointer`.
void require_single(const std::vector<problem>& xs, std::string_view code,
                    std::string_view pointer) {
  BOOST_REQUIRE_MESSAGE(xs.size() == 1,
                        "expected exactly one problem, got " << xs.size()
                                                             << describe(xs));
  BOOST_TEST(to_string(xs[0].code) == code, describe(xs));
  BOOST_TEST(xs[0].pointer == pointer, describe(xs));
  BOOST_TEST(!xs[0].message.empty());
}

bool has(const std::vector<problem>& xs, std::string_view code,
         std::string_view pointer) {
  return std::any_of(xs.begin(), xs.end(), [&](const problem& p) {
    return to_string(p.code) == code && p.pointer == pointer;
  });
}

const pipeline_step& step_of(const pipeline_spec& p, std::string_view id) {
  auto* s = p.find_step(id);
  BOOST_REQUIRE_MESSAGE(s != nullptr, "no step " << id);
  return *s;
}

} // namespace

// -- accepted pipelines -------------------------------------------------------------

BOOST_AUTO_TEST_CASE(three_static_steps_are_accepted_in_the_root_branch) {
  auto p = accepted(thumbs());
  BOOST_TEST(p.ref() == "thumbs@2");
  BOOST_TEST(p.schema_version == "1.0.0");
  BOOST_REQUIRE_EQUAL(p.inputs.size(), 3u);
  BOOST_TEST(p.inputs[1].dtype == value_dtype::text);
  BOOST_TEST(p.inputs[2].default_json == "\"x\"");
  BOOST_REQUIRE_EQUAL(p.steps.size(), 3u);
  for (auto& s : p.steps) {
    BOOST_TEST(s.kind == step_kind::single);
    BOOST_TEST(s.scope.empty());
  }
  BOOST_TEST(step_of(p, "transcode").depends_on.empty());
  BOOST_TEST((step_of(p, "thumb").depends_on == strings{"transcode"}));
  BOOST_TEST((step_of(p, "publish").depends_on == strings{"thumb"}));
  auto& source = step_of(p, "transcode").inputs.at("source");
  BOOST_TEST(source.kind == source_kind::pipeline_input);
  BOOST_TEST(source.key == "video");
  auto& height = step_of(p, "transcode").inputs.at("height");
  BOOST_TEST(height.kind == source_kind::value);
  BOOST_TEST(height.value_json == "480");
  auto& video = step_of(p, "thumb").inputs.at("video");
  BOOST_TEST(video.kind == source_kind::step);
  BOOST_TEST(video.step == "transcode");
  BOOST_TEST(video.key == "video");
  BOOST_TEST(!video.step_input);
  BOOST_REQUIRE_EQUAL(p.outputs.size(), 1u);
  BOOST_TEST(p.outputs.at("receipt").step == "publish");
  BOOST_TEST(p.outputs.at("receipt").key == "receipt");
  BOOST_TEST(p.find_step("nope") == nullptr);
  BOOST_TEST((json::parse(p.document_json).doc == thumbs()));
}

BOOST_AUTO_TEST_CASE(the_clips_example_fans_out_nests_selects_and_collects) {
  auto p = accepted(clips());
  auto& scrape = step_of(p, "scrape");
  auto& analyze = step_of(p, "analyze");
  auto& edit = step_of(p, "edit");
  auto& report = step_of(p, "report");
  BOOST_TEST(scrape.kind == step_kind::single);
  BOOST_TEST(analyze.kind == step_kind::for_each);
  BOOST_TEST(edit.kind == step_kind::for_each);
  BOOST_TEST(report.kind == step_kind::collect);
  BOOST_TEST(scrape.scope.empty());
  BOOST_TEST((analyze.scope == strings{"analyze"}));
  BOOST_TEST((edit.scope == strings{"analyze", "edit"}));
  BOOST_TEST(report.scope.empty());
  BOOST_TEST(scrape.depends_on.empty());
  BOOST_TEST((analyze.depends_on == strings{"scrape"}));
  BOOST_TEST((edit.depends_on == strings{"analyze"}));
  BOOST_TEST((report.depends_on == strings{"edit"}));
  // The list fan-out over the many output.
  BOOST_REQUIRE(analyze.for_each);
  BOOST_TEST(analyze.for_each->from.kind == source_kind::step);
  BOOST_TEST(analyze.for_each->from.step == "scrape");
  BOOST_TEST(analyze.for_each->from.key == "videos");
  BOOST_TEST(analyze.for_each->pointer.empty());
  BOOST_TEST(!analyze.for_each->select);
  BOOST_TEST(analyze.inputs.at("video").kind == source_kind::item);
  BOOST_TEST(analyze.inputs.at("keywords").value_json == R"(["launch"])");
  // The nested fan-out, its select, and the parent's input carried along.
  BOOST_REQUIRE(edit.for_each);
  BOOST_TEST(edit.for_each->pointer == "/clip_candidates");
  BOOST_REQUIRE(edit.for_each->select);
  BOOST_TEST(edit.for_each->select->by == "score");
  BOOST_TEST(edit.for_each->select->pointer == "/confidence");
  BOOST_TEST(edit.for_each->select->top.value_or(0) == 3);
  BOOST_TEST(!edit.for_each->select->min);
  auto& video = edit.inputs.at("video");
  BOOST_TEST(video.kind == source_kind::step);
  BOOST_TEST(video.step == "analyze");
  BOOST_TEST(video.key == "video");
  BOOST_TEST(video.step_input);
  // The collect.
  BOOST_REQUIRE(report.collect);
  BOOST_TEST(report.collect->step == "edit");
  BOOST_TEST(report.collect->key == "clip");
  BOOST_TEST(report.inputs.at("clips").kind == source_kind::collected);
  BOOST_TEST(p.outputs.at("clips").step == "edit");
}

BOOST_AUTO_TEST_CASE(select_keeps_min_and_engine_options) {
  auto doc = clips();
  auto& sel = at(doc, "/steps/2/for_each/select");
  sel.set("min", 0.5);
  sel.set("top", 1);
  sel.set("options", parse_value(R"({"w": 1})"));
  auto p = accepted(doc);
  auto& s = *step_of(p, "edit").for_each->select;
  BOOST_TEST(s.top.value_or(0) == 1);
  BOOST_TEST(s.min.value_or(-1) == 0.5);
  BOOST_TEST(s.options_json == R"({"w":1})");
}

BOOST_AUTO_TEST_CASE(a_pipeline_input_of_the_list_type_can_be_fanned_out_over) {
  auto doc = parse_value(R"({
    "name": "batch", "version": 1, "schema_version": "1.0.0",
    "inputs": [{"key": "videos", "contract_type": "ASSET",
                "constraints": {"media_types": ["application/vnd.omniva.asset-list+json"]}}],
    "steps": [
      {"id": "analyze", "module": "analyzer@1", "for_each": {"from": "inputs.videos"},
       "inputs": {"video": {"from": "item"}}},
      {"id": "report", "module": "clip-report@1", "collect": {"from": "analyze.result"},
       "inputs": {"clips": {"from": "collected"}}}
    ]})");
  auto p = accepted(doc);
  auto& analyze = step_of(p, "analyze");
  BOOST_TEST(analyze.for_each->from.kind == source_kind::pipeline_input);
  BOOST_TEST(analyze.for_each->from.key == "videos");
  BOOST_TEST((analyze.scope == strings{"analyze"}));
  BOOST_TEST(analyze.depends_on.empty());
  BOOST_TEST(step_of(p, "report").scope.empty());
  BOOST_TEST((step_of(p, "report").depends_on == strings{"analyze"}));
}

BOOST_AUTO_TEST_CASE(a_single_step_after_a_fan_out_runs_in_its_branch) {
  auto doc = clips();
  auto& steps = at(doc, "/steps").as_array();
  // A thumbnail per video, in the analyze branch (not fanned out itself).
  steps.push_back(parse_value(R"({"id": "thumb", "module": "thumbnailer@1",
    "inputs": {"video": {"from": "analyze.video"}, "at": {"value": 2}}})"));
  auto p = accepted(doc);
  auto& thumb = step_of(p, "thumb");
  BOOST_TEST(thumb.kind == step_kind::single);
  BOOST_TEST((thumb.scope == strings{"analyze"}));
  BOOST_TEST((thumb.depends_on == strings{"analyze"}));
}

BOOST_AUTO_TEST_CASE(the_json_form_adds_ref_kind_scope_and_depends_on) {
  auto p = accepted(clips());
  auto x = to_json(p);
  BOOST_TEST(at(x, "/ref").as_string() == "clips@1");
  BOOST_TEST(at(x, "/description").as_string() == "Long videos in, short clips out");
  BOOST_TEST(at(x, "/steps/1/kind").as_string() == "for_each");
  BOOST_TEST(at(x, "/steps/3/kind").as_string() == "collect");
  BOOST_TEST((at(x, "/steps/2/scope") == parse_value(R"(["analyze", "edit"])")));
  BOOST_TEST((at(x, "/steps/2/depends_on") == parse_value(R"(["analyze"])")));
  BOOST_TEST((at(x, "/steps/0/scope") == parse_value("[]")));
  BOOST_TEST(at(x, "/steps/2/for_each/pointer").as_string() == "/clip_candidates");
  // Without those members it is the document as registered.
  x.erase("ref");
  for (auto& s : at(x, "/steps").as_array()) {
    s.erase("kind");
    s.erase("scope");
    s.erase("depends_on");
  }
  BOOST_TEST((x == clips()));
}

BOOST_AUTO_TEST_CASE(a_pipeline_round_trips_through_caf_serialization) {
  auto x = accepted(clips());
  std::vector<char> buf;
  caf::binary_serializer sink{nullptr, buf};
  BOOST_REQUIRE(!sink(x));
  pipeline_spec y;
  caf::binary_deserializer source{nullptr, buf};
  BOOST_REQUIRE(!source(y));
  BOOST_TEST((x == y));
}

BOOST_AUTO_TEST_CASE(the_text_form_checks_the_same) {
  auto result = check_pipeline_text(clips_text, options());
  BOOST_REQUIRE_MESSAGE(result, describe(result.problems));
  BOOST_TEST(result.pipeline->ref() == "clips@1");
}

// -- the document -------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(text_that_is_not_json_is_invalid_json) {
  auto result = check_pipeline_text("{\"name\": ", options());
  require_single(result.problems, "invalid_json", "");
}

BOOST_AUTO_TEST_CASE(a_member_named_twice_is_a_duplicate_key) {
  auto result = check_pipeline_text(
    R"({"name": "a", "version": 1, "name": "b", "schema_version": "1.0.0", "steps": []})",
    options());
  require_single(result.problems, "duplicate_key", "/name");
}

BOOST_AUTO_TEST_CASE(the_meta_schema_reports_missing_unknown_and_wrong_members) {
  auto doc = thumbs();
  doc.erase("steps");
  doc.erase("outputs");
  require_single(problems_of(doc), "missing_field", "/steps");
  doc = thumbs();
  at(doc, "/steps/0").set("foo", 1);
  require_single(problems_of(doc), "unknown_field", "/steps/0/foo");
  doc = thumbs();
  doc.set("version", "1");
  require_single(problems_of(doc), "invalid_contract", "/version");
  doc = thumbs();
  at(doc, "/steps/0").set("for_each", parse_value(R"({"from": 3})"));
  auto xs = problems_of(doc);
  BOOST_TEST(has(xs, "invalid_contract", "/steps/0/for_each/from"), describe(xs));
}

BOOST_AUTO_TEST_CASE(another_major_schema_version_is_unsupported) {
  auto doc = thumbs();
  doc.set("schema_version", "2.0.0");
  require_single(problems_of(doc), "unsupported_schema_version", "/schema_version");
}

BOOST_AUTO_TEST_CASE(inputs_are_checked_by_the_module_contract_rules) {
  auto doc = thumbs();
  at(doc, "/inputs/1").erase("dtype");
  require_single(problems_of(doc), "missing_field", "/inputs/1/dtype");
  doc = thumbs();
  at(doc, "/inputs/2").set("default", 3);
  require_single(problems_of(doc), "invalid_default", "/inputs/2/default");
  doc = thumbs();
  at(doc, "/inputs/0/constraints").set("media_types", parse_value(R"(["video"])"));
  auto xs = problems_of(doc);
  BOOST_TEST(has(xs, "invalid_media_type", "/inputs/0/constraints/media_types/0"),
             describe(xs));
  doc = thumbs();
  at(doc, "/inputs/1").set("colour", "red");
  require_single(problems_of(doc), "unknown_field", "/inputs/1/colour");
}

BOOST_AUTO_TEST_CASE(two_inputs_with_one_key_are_a_duplicate_key) {
  auto doc = thumbs();
  at(doc, "/inputs/2").set("key", "title");
  require_single(problems_of(doc), "duplicate_key", "/inputs/2/key");
}

BOOST_AUTO_TEST_CASE(two_steps_with_one_id_are_a_duplicate_key) {
  auto doc = thumbs();
  at(doc, "/steps/1").set("id", "transcode");
  auto& publish = at(doc, "/steps/2/inputs/image");
  publish.set("from", "transcode.video");
  // publish now takes the first transcode's video/mp4: a media mismatch
  // too, but the duplicate is what this test is about.
  auto xs = problems_of(doc);
  BOOST_TEST(has(xs, "duplicate_key", "/steps/1/id"), describe(xs));
  BOOST_TEST(!has(xs, "duplicate_key", "/steps/0/id"), describe(xs));
}

BOOST_AUTO_TEST_CASE(a_source_needs_from_or_value_but_not_both) {
  auto doc = thumbs();
  at(doc, "/steps/1/inputs").set("at", json::value{json::object{}});
  require_single(problems_of(doc), "missing_field", "/steps/1/inputs/at/from");
  doc = thumbs();
  at(doc, "/steps/1/inputs/at").set("from", "inputs.title");
  require_single(problems_of(doc), "invalid_contract", "/steps/1/inputs/at");
}

// -- step ids -------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(a_bad_step_id_is_an_invalid_argument) {
  for (auto bad : {"Publish", "9lives", "a.b", "item", "inputs", "collected"}) {
    auto doc = thumbs();
    at(doc, "/steps/2").set("id", bad);
    at(doc, "/outputs/receipt").set("from", std::string{bad} + ".receipt");
    auto xs = problems_of(doc);
    BOOST_TEST_CONTEXT(bad) {
      BOOST_TEST(has(xs, "invalid_argument", "/steps/2/id"), describe(xs));
    }
  }
  auto doc = thumbs();
  at(doc, "/steps/2").set("id", std::string(65, 'a'));
  at(doc, "/outputs/receipt").set("from", std::string(65, 'a') + ".receipt");
  require_single(problems_of(doc), "invalid_argument", "/steps/2/id");
}

// -- modules and their inputs ----------------------------------------------------------

BOOST_AUTO_TEST_CASE(an_unregistered_module_is_module_not_found) {
  auto doc = thumbs();
  at(doc, "/steps/1").set("module", "nope@1");
  // publish still takes thumb.image: resolved as well as can be, no more.
  auto xs = problems_of(doc);
  require_single(xs, "module_not_found", "/steps/1/module");
}

BOOST_AUTO_TEST_CASE(a_key_the_module_does_not_take_is_an_unknown_input) {
  auto doc = thumbs();
  at(doc, "/steps/0/inputs").set("width", parse_value(R"({"value": 3})"));
  require_single(problems_of(doc), "unknown_input", "/steps/0/inputs/width");
}

BOOST_AUTO_TEST_CASE(a_required_module_input_not_mapped_is_missing) {
  auto doc = thumbs();
  at(doc, "/steps/1/inputs").erase("at");
  require_single(problems_of(doc), "missing_input", "/steps/1/inputs/at");
  // An input with a default need not be mapped.
  doc = thumbs();
  at(doc, "/steps/0/inputs").erase("height");
  BOOST_TEST(problems_of(doc).empty());
}

// -- references -------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(references_that_name_nothing_are_unresolved) {
  struct bad {
    const char* pointer;
    const char* from;
  };
  for (auto [pointer, from] : {
         bad{"/steps/0/inputs/source", "inputs.nope"},
         bad{"/steps/0/inputs/source", "nope.video"},
         bad{"/steps/1/inputs/video", "transcode.nope"},
         bad{"/steps/1/inputs/video", "transcode"},
         bad{"/steps/1/inputs/video", "item"},
         bad{"/steps/1/inputs/video", "collected"},
       }) {
    auto doc = thumbs();
    at(doc, pointer).set("from", from);
    BOOST_TEST_CONTEXT(from) {
      require_single(problems_of(doc), "unresolved_reference",
                     std::string{pointer} + "/from");
    }
  }
}

BOOST_AUTO_TEST_CASE(a_run_output_must_be_a_step_output) {
  auto doc = thumbs();
  at(doc, "/outputs/receipt").set("from", "publish.title");
  require_single(problems_of(doc), "unresolved_reference", "/outputs/receipt/from");
  doc = thumbs();
  at(doc, "/outputs/receipt").set("from", "inputs.video");
  require_single(problems_of(doc), "unresolved_reference", "/outputs/receipt/from");
}

BOOST_AUTO_TEST_CASE(a_step_taking_a_later_step_or_itself_is_unreachable) {
  auto doc = thumbs();
  at(doc, "/steps/0/inputs/source").set("from", "thumb.video");
  require_single(problems_of(doc), "unreachable_step", "/steps/0");
  doc = thumbs();
  at(doc, "/steps/1/inputs/video").set("from", "thumb.video");
  require_single(problems_of(doc), "unreachable_step", "/steps/1");
}

BOOST_AUTO_TEST_CASE(an_input_another_step_took_is_referenced_by_step_and_key) {
  auto doc = thumbs();
  // publish's title from the pipeline input, then a second publish that
  // takes the title the first took.
  at(doc, "/steps").as_array().push_back(parse_value(R"({"id": "again",
    "module": "publisher@1", "inputs": {"image": {"from": "thumb.image"},
    "title": {"from": "publish.title"}}})"));
  auto p = accepted(doc);
  auto& title = step_of(p, "again").inputs.at("title");
  BOOST_TEST(title.step_input);
  BOOST_TEST((step_of(p, "again").depends_on == strings{"publish", "thumb"}));
}

// -- mismatches ---------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(an_asset_input_fed_a_literal_is_a_kind_mismatch) {
  auto doc = thumbs();
  at(doc, "/steps/1/inputs/video") = parse_value(R"({"value": "a.mp4"})");
  require_single(problems_of(doc), "kind_mismatch", "/steps/1/inputs/video");
}

BOOST_AUTO_TEST_CASE(a_value_input_fed_a_file_that_is_not_json_is_a_kind_mismatch) {
  auto doc = thumbs();
  at(doc, "/steps/1/inputs/at") = parse_value(R"({"from": "transcode.video"})");
  require_single(problems_of(doc), "kind_mismatch", "/steps/1/inputs/at");
  // A pipeline ASSET input given to a VALUE input: the kinds differ.
  doc = thumbs();
  at(doc, "/steps/1/inputs/at") = parse_value(R"({"from": "inputs.video"})");
  require_single(problems_of(doc), "kind_mismatch", "/steps/1/inputs/at");
  // A pipeline VALUE input given to an ASSET input.
  doc = thumbs();
  at(doc, "/steps/0/inputs/source") = parse_value(R"({"from": "inputs.title"})");
  require_single(problems_of(doc), "kind_mismatch", "/steps/0/inputs/source");
}

BOOST_AUTO_TEST_CASE(an_output_of_a_media_type_the_input_refuses_is_a_mismatch) {
  auto doc = thumbs();
  at(doc, "/steps/2/inputs/image").set("from", "transcode.video");
  require_single(problems_of(doc), "media_type_mismatch", "/steps/2/inputs/image");
  // A pipeline ASSET input whose types do not overlap the module's.
  doc = thumbs();
  at(doc, "/inputs/0/constraints").set("media_types", parse_value(R"(["image/png"])"));
  require_single(problems_of(doc), "media_type_mismatch", "/steps/0/inputs/source");
}

BOOST_AUTO_TEST_CASE(a_many_output_given_to_an_input_that_takes_one_file_is_a_mismatch) {
  auto doc = clips();
  auto& steps = at(doc, "/steps").as_array();
  steps.resize(1);
  doc.erase("outputs");
  steps.push_back(parse_value(R"({"id": "transcode", "module": "transcoder@1",
    "inputs": {"source": {"from": "scrape.videos"}}})"));
  require_single(problems_of(doc), "media_type_mismatch", "/steps/1/inputs/source");
}

BOOST_AUTO_TEST_CASE(a_literal_the_input_does_not_take_is_refused_like_a_request_value) {
  auto doc = thumbs();
  at(doc, "/steps/0/inputs/height").set("value", "tall");
  require_single(problems_of(doc), "dtype_mismatch", "/steps/0/inputs/height/value");
  doc = thumbs();
  at(doc, "/steps/0/inputs/height").set("value", 0);
  require_single(problems_of(doc), "out_of_range", "/steps/0/inputs/height/value");
  doc = thumbs();
  at(doc, "/steps/2/inputs/title") = parse_value(R"({"value": "https://x.example/a"})");
  require_single(problems_of(doc), "kind_mismatch", "/steps/2/inputs/title/value");
}

BOOST_AUTO_TEST_CASE(a_pipeline_value_input_of_another_dtype_is_a_dtype_mismatch) {
  auto doc = thumbs();
  at(doc, "/steps/2/inputs/title").set("from", "inputs.name");
  require_single(problems_of(doc), "dtype_mismatch", "/steps/2/inputs/title");
}

BOOST_AUTO_TEST_CASE(an_array_element_given_to_a_non_json_value_input_is_a_dtype_mismatch) {
  auto doc = clips();
  at(doc, "/steps/2") = parse_value(R"({"id": "edit", "module": "scorer@1",
    "for_each": {"from": "analyze.result", "pointer": "/clip_candidates"},
    "inputs": {"score": {"from": "item"}}})");
  at(doc, "/steps").as_array().resize(3);
  doc.erase("outputs");
  require_single(problems_of(doc), "dtype_mismatch", "/steps/2/inputs/score");
}

BOOST_AUTO_TEST_CASE(an_output_following_another_schema_is_a_schema_mismatch) {
  auto doc = clips();
  // The whole AnalysisResult given where a ClipCandidate is expected.
  at(doc, "/steps/2") = parse_value(R"({"id": "edit", "module": "editor@1",
    "inputs": {"candidate": {"from": "analyze.result"},
               "video": {"from": "analyze.video"}}})");
  at(doc, "/steps").as_array().resize(3);
  doc.erase("outputs");
  require_single(problems_of(doc), "schema_mismatch", "/steps/2/inputs/candidate");
}

BOOST_AUTO_TEST_CASE(an_array_element_of_another_schema_is_a_schema_mismatch) {
  auto doc = clips();
  at(doc, "/steps/2") = parse_value(R"({"id": "edit", "module": "jobber@1",
    "for_each": {"from": "analyze.result", "pointer": "/clip_candidates"},
    "inputs": {"job": {"from": "item"}}})");
  at(doc, "/steps").as_array().resize(3);
  doc.erase("outputs");
  require_single(problems_of(doc), "schema_mismatch", "/steps/2/inputs/job");
}

BOOST_AUTO_TEST_CASE(a_pipeline_input_of_another_schema_is_a_schema_mismatch) {
  auto doc = clips();
  at(doc, "/inputs/0/constraints").set("schema", "ClipCandidate");
  require_single(problems_of(doc), "schema_mismatch", "/steps/0/inputs/job");
}

// -- for_each and select ------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(bad_for_each_pointers_are_invalid_pointers) {
  for (auto pointer : {"clip_candidates", "/nope", "/transcript", "/a~2", ""}) {
    auto doc = clips();
    at(doc, "/steps/2/for_each").set("pointer", pointer);
    BOOST_TEST_CONTEXT(pointer) {
      require_single(problems_of(doc), "invalid_pointer",
                     "/steps/2/for_each/pointer");
    }
  }
  // Another array of the schema is a valid pointer; its elements are
  // strings, not ClipCandidates: their schema (an inline {"type":
  // "string"}) differs from the input's.
  auto doc = clips();
  at(doc, "/steps/2/for_each").set("pointer", "/keywords_detected");
  auto xs = problems_of(doc);
  BOOST_TEST(!has(xs, "invalid_pointer", "/steps/2/for_each/pointer"), describe(xs));
  BOOST_TEST(has(xs, "schema_mismatch", "/steps/2/inputs/candidate"), describe(xs));
}

BOOST_AUTO_TEST_CASE(a_for_each_over_a_file_that_is_neither_a_list_nor_json_is_refused) {
  auto doc = thumbs();
  at(doc, "/steps/1").set("for_each", parse_value(R"({"from": "transcode.video"})"));
  at(doc, "/steps/1/inputs/video").set("from", "item");
  require_single(problems_of(doc), "invalid_pointer", "/steps/1/for_each/pointer");
  // A JSON output needs a pointer to an array inside it.
  doc = clips();
  at(doc, "/steps/2/for_each").erase("pointer");
  at(doc, "/steps/2/for_each").erase("select");
  require_single(problems_of(doc), "invalid_pointer", "/steps/2/for_each/pointer");
  // A pointer into a list (not one JSON file).
  doc = clips();
  at(doc, "/steps/1/for_each").set("pointer", "/0");
  require_single(problems_of(doc), "invalid_pointer", "/steps/1/for_each/pointer");
  // A pipeline input that is not of the list type.
  doc = thumbs();
  at(doc, "/steps/0").set("for_each", parse_value(R"({"from": "inputs.video"})"));
  at(doc, "/steps/0/inputs/source").set("from", "item");
  require_single(problems_of(doc), "invalid_pointer", "/steps/0/for_each/pointer");
}

BOOST_AUTO_TEST_CASE(for_each_takes_an_output_not_an_input_another_step_took) {
  auto doc = clips();
  at(doc, "/steps/2/for_each").set("from", "analyze.keywords");
  require_single(problems_of(doc), "unresolved_reference", "/steps/2/for_each/from");
}

BOOST_AUTO_TEST_CASE(select_by_score_needs_a_pointer_to_a_number) {
  auto doc = clips();
  at(doc, "/steps/2/for_each/select").erase("pointer");
  require_single(problems_of(doc), "invalid_argument",
                 "/steps/2/for_each/select/pointer");
  doc = clips();
  at(doc, "/steps/2/for_each/select").set("pointer", "/nope");
  require_single(problems_of(doc), "invalid_pointer",
                 "/steps/2/for_each/select/pointer");
  doc = clips();
  at(doc, "/steps/2/for_each/select").set("pointer", "/semantic_tags");
  require_single(problems_of(doc), "invalid_pointer",
                 "/steps/2/for_each/select/pointer");
  doc = clips();
  at(doc, "/steps/2/for_each/select").set("pointer", "confidence");
  require_single(problems_of(doc), "invalid_pointer",
                 "/steps/2/for_each/select/pointer");
}

BOOST_AUTO_TEST_CASE(select_top_below_one_is_an_invalid_argument) {
  auto doc = clips();
  at(doc, "/steps/2/for_each/select").set("top", 0);
  require_single(problems_of(doc), "invalid_argument", "/steps/2/for_each/select/top");
}

BOOST_AUTO_TEST_CASE(select_by_an_unknown_engine_is_refused_naming_both) {
  auto doc = clips();
  at(doc, "/steps/2/for_each/select").set("by", "oracle");
  auto xs = problems_of(doc);
  require_single(xs, "invalid_argument", "/steps/2/for_each/select/by");
  BOOST_TEST(xs[0].message.find("score") != std::string::npos);
  BOOST_TEST(xs[0].message.find("pantheon") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(select_by_pantheon_takes_top_min_consensus_and_personas) {
  auto doc = clips();
  auto& sel = at(doc, "/steps/2/for_each/select");
  sel = parse_value(R"({"by": "pantheon", "top": 2, "min_consensus": 0.25})");
  auto p = accepted(doc);
  auto& s = *step_of(p, "edit").for_each->select;
  BOOST_TEST(s.by == "pantheon");
  BOOST_TEST(s.top.value_or(0) == 2);
  BOOST_TEST(s.min.value_or(-1) == 0.25);
  BOOST_TEST(s.personas == "personas@1");
  BOOST_TEST(s.pointer.empty());
  // The members of select by score are not Pantheon's, and the other way.
  doc = clips();
  at(doc, "/steps/2/for_each/select").set("by", "pantheon");
  require_single(problems_of(doc), "invalid_argument",
                 "/steps/2/for_each/select/pointer");
  doc = clips();
  at(doc, "/steps/2/for_each/select").set("min_consensus", 0.5);
  require_single(problems_of(doc), "invalid_argument",
                 "/steps/2/for_each/select/min_consensus");
  doc = clips();
  at(doc, "/steps/2/for_each/select") =
    parse_value(R"({"by": "pantheon", "min_consensus": 1.5})");
  require_single(problems_of(doc), "invalid_argument",
                 "/steps/2/for_each/select/min_consensus");
  doc = clips();
  at(doc, "/steps/2/for_each/select") =
    parse_value(R"({"by": "pantheon", "personas": "mine@1"})");
  require_single(problems_of(doc), "invalid_ref", "/steps/2/for_each/select/personas");
}

BOOST_AUTO_TEST_CASE(select_by_pantheon_names_builtin_or_registered_personas) {
  auto doc = clips();
  at(doc, "/steps/2/for_each/select") =
    parse_value(R"({"by": "pantheon", "personas": "personas@1"})");
  BOOST_TEST(step_of(accepted(doc), "edit").for_each->select->personas
             == "personas@1");
  // Another ref: refused without a callback, and when the callback does
  // not know it; accepted when it does.
  at(doc, "/steps/2/for_each/select") =
    parse_value(R"({"by": "pantheon", "personas": "bold@2"})");
  require_single(problems_of(doc), "invalid_ref", "/steps/2/for_each/select/personas");
  auto opts = options();
  std::vector<std::string> asked;
  opts.find_personas = [&asked](std::string_view ref) {
    asked.emplace_back(ref);
    return ref == "bold@2";
  };
  auto result = check_pipeline_document(doc, opts);
  BOOST_REQUIRE_MESSAGE(result, "refused:" << describe(result.problems));
  BOOST_TEST(step_of(*result.pipeline, "edit").for_each->select->personas
             == "bold@2");
  BOOST_REQUIRE_EQUAL(asked.size(), 1u);
  BOOST_TEST(asked[0] == "bold@2");
  at(doc, "/steps/2/for_each/select") =
    parse_value(R"({"by": "pantheon", "personas": "other@1"})");
  result = check_pipeline_document(doc, opts);
  require_single(result.problems, "invalid_ref", "/steps/2/for_each/select/personas");
  // Not a string: the document's shape says so.
  at(doc, "/steps/2/for_each/select") =
    parse_value(R"({"by": "pantheon", "personas": 2})");
  BOOST_TEST(!check_pipeline_document(doc, opts));
}

BOOST_AUTO_TEST_CASE(pantheon_votes_only_on_clip_candidates) {
  // The transcript's keywords are strings, not ClipCandidates.
  auto doc = clips();
  at(doc, "/steps/2/for_each").set("pointer", "/keywords_detected");
  at(doc, "/steps/2/for_each/select") = parse_value(R"({"by": "pantheon"})");
  auto xs = problems_of(doc);
  bool named = std::any_of(xs.begin(), xs.end(), [](auto& x) {
    return x.code == omniva::contracts::ec::schema_mismatch
           && x.pointer == "/steps/2/for_each/select/by";
  });
  BOOST_TEST(named);
}

BOOST_AUTO_TEST_CASE(elements_go_to_inputs_by_their_media_type_dtype_and_schema) {
  // The elements of a many output of JSON files: each a ClipCandidate file.
  auto lister = parse_value(R"({
    "name": "each", "version": 1, "schema_version": "1.0.0",
    "inputs": [{"key": "job", "contract_type": "VALUE", "dtype": "json",
                "constraints": {"schema": "ScraperJob"}}],
    "steps": [
      {"id": "list", "module": "lister@1", "inputs": {"job": {"from": "inputs.job"}}},
      {"id": "use", "module": "editor@1",
       "for_each": {"from": "list.candidates",
                    "select": {"by": "score", "pointer": "/confidence", "top": 2}},
       "inputs": {"candidate": {"from": "item"}, "video": {"from": "inputs.job"}}}
    ]})");
  // editor's video is an ASSET input: the pipeline's VALUE job is refused,
  // the JSON element goes to the json candidate input.
  require_single(problems_of(lister), "kind_mismatch", "/steps/1/inputs/video");
  auto doc = lister;
  at(doc, "/steps/1/module") = json::value{"jobber@1"};
  at(doc, "/steps/1/inputs").erase("video");
  at(doc, "/steps/1/inputs").erase("candidate");
  at(doc, "/steps/1/inputs").set("job", parse_value(R"({"from": "item"})"));
  require_single(problems_of(doc), "schema_mismatch", "/steps/1/inputs/job");
  doc = lister;
  at(doc, "/steps/1/module") = json::value{"scorer@1"};
  at(doc, "/steps/1/inputs") = parse_value(R"({"score": {"from": "item"}})");
  require_single(problems_of(doc), "kind_mismatch", "/steps/1/inputs/score");
  doc = lister;
  at(doc, "/steps/1/module") = json::value{"joiner@1"};
  at(doc, "/steps/1/inputs") = parse_value(
    R"({"left": {"from": "item"}, "right": {"from": "item"}})");
  auto p = accepted(doc);
  BOOST_TEST((step_of(p, "use").scope == strings{"use"}));
  // The select pointer is checked against the elements' schema.
  at(doc, "/steps/1/for_each/select").set("pointer", "/subject_focus");
  require_single(problems_of(doc), "invalid_pointer",
                 "/steps/1/for_each/select/pointer");
  // A list of video files has no score inside.
  doc = clips();
  at(doc, "/steps/1/for_each").set("select", parse_value(
    R"({"by": "score", "pointer": "/confidence"})"));
  require_single(problems_of(doc), "invalid_pointer",
                 "/steps/1/for_each/select/pointer");
  // An array element is an application/json asset: an ASSET input taking
  // JSON files takes it.
  doc = clips();
  at(doc, "/steps/2") = parse_value(R"({"id": "edit", "module": "joiner@1",
    "for_each": {"from": "analyze.result", "pointer": "/clip_candidates"},
    "inputs": {"left": {"from": "item"}, "right": {"from": "analyze.result"}}})");
  at(doc, "/steps").as_array().resize(3);
  doc.erase("outputs");
  p = accepted(doc);
  BOOST_TEST((step_of(p, "edit").scope == strings{"analyze", "edit"}));
}

// -- collect and scopes -----------------------------------------------------------------

BOOST_AUTO_TEST_CASE(a_step_with_for_each_and_collect_is_an_invalid_argument) {
  auto doc = clips();
  at(doc, "/steps/3").set("for_each", parse_value(R"({"from": "scrape.videos"})"));
  auto xs = problems_of(doc);
  BOOST_TEST(has(xs, "invalid_argument", "/steps/3/collect"), describe(xs));
}

BOOST_AUTO_TEST_CASE(references_in_sibling_branches_are_a_scope_mismatch) {
  auto doc = parse_value(R"({
    "name": "siblings", "version": 1, "schema_version": "1.0.0",
    "inputs": [{"key": "job", "contract_type": "VALUE", "dtype": "json",
                "constraints": {"schema": "ScraperJob"}}],
    "steps": [
      {"id": "scrape", "module": "scraper@1", "inputs": {"job": {"from": "inputs.job"}}},
      {"id": "a", "module": "analyzer@1", "for_each": {"from": "scrape.videos"},
       "inputs": {"video": {"from": "item"}}},
      {"id": "b", "module": "analyzer@1", "for_each": {"from": "scrape.videos"},
       "inputs": {"video": {"from": "item"}}},
      {"id": "join", "module": "joiner@1",
       "inputs": {"left": {"from": "a.result"}, "right": {"from": "b.result"}}}
    ]})");
  require_single(problems_of(doc), "scope_mismatch", "/steps/3/inputs/right/from");
  // The same step under one branch is fine: it runs in that branch.
  at(doc, "/steps/3/inputs/right").set("from", "a.result");
  auto p = accepted(doc);
  BOOST_TEST((step_of(p, "join").scope == strings{"a"}));
}

BOOST_AUTO_TEST_CASE(a_fan_out_taking_an_input_from_a_sibling_branch_is_a_scope_mismatch) {
  auto doc = parse_value(R"({
    "name": "cross", "version": 1, "schema_version": "1.0.0",
    "inputs": [{"key": "job", "contract_type": "VALUE", "dtype": "json",
                "constraints": {"schema": "ScraperJob"}}],
    "steps": [
      {"id": "scrape", "module": "scraper@1", "inputs": {"job": {"from": "inputs.job"}}},
      {"id": "a", "module": "analyzer@1", "for_each": {"from": "scrape.videos"},
       "inputs": {"video": {"from": "item"}}},
      {"id": "b", "module": "analyzer@1", "for_each": {"from": "scrape.videos"},
       "inputs": {"video": {"from": "item"}, "keywords": {"from": "a.result"}}}
    ]})");
  require_single(problems_of(doc), "scope_mismatch", "/steps/2/inputs/keywords/from");
}

BOOST_AUTO_TEST_CASE(a_collect_of_a_step_in_its_own_branch_is_a_scope_mismatch) {
  auto doc = clips();
  at(doc, "/steps/3") = parse_value(R"({"id": "report", "module": "bundler@1",
    "collect": {"from": "analyze.result"},
    "inputs": {"items": {"from": "collected"}, "video": {"from": "analyze.video"}}})");
  require_single(problems_of(doc), "scope_mismatch", "/steps/3/collect/from");
  // Gathering the deeper edit step from the analyze branch is fine: once
  // per video, over that video's clips.
  at(doc, "/steps/3/collect").set("from", "edit.clip");
  auto p = accepted(doc);
  auto& report = step_of(p, "report");
  BOOST_TEST((report.scope == strings{"analyze"}));
  BOOST_TEST((report.depends_on == strings{"analyze", "edit"}));
}

BOOST_AUTO_TEST_CASE(collect_takes_a_step_output) {
  auto doc = clips();
  at(doc, "/steps/3/collect").set("from", "edit.video");
  require_single(problems_of(doc), "unresolved_reference", "/steps/3/collect/from");
}

BOOST_AUTO_TEST_CASE(the_collected_list_given_to_an_input_that_takes_one_file_is_a_mismatch) {
  auto doc = clips();
  at(doc, "/steps/3") = parse_value(R"({"id": "report", "module": "transcoder@1",
    "collect": {"from": "edit.clip"}, "inputs": {"source": {"from": "collected"}}})");
  require_single(problems_of(doc), "media_type_mismatch", "/steps/3/inputs/source");
}

// -- every problem at once ------------------------------------------------------------

BOOST_AUTO_TEST_CASE(every_problem_is_reported_at_once) {
  auto doc = clips();
  doc.set("schema_version", "2.0.0");
  at(doc, "/inputs/0").erase("dtype");
  at(doc, "/steps/0").set("module", "nope@1");
  at(doc, "/steps/1/inputs").set("colour", parse_value(R"({"value": 1})"));
  at(doc, "/steps/2/for_each").set("pointer", "/nope");
  at(doc, "/steps/2/for_each/select").set("top", 0);
  at(doc, "/steps/2/inputs/video").set("from", "report.report");
  at(doc, "/steps/3/inputs/clips").set("from", "item");
  at(doc, "/outputs/clips").set("from", "edit.nothing");
  auto xs = problems_of(doc);
  BOOST_TEST_MESSAGE(describe(xs));
  BOOST_TEST(has(xs, "unsupported_schema_version", "/schema_version"), describe(xs));
  BOOST_TEST(has(xs, "missing_field", "/inputs/0/dtype"), describe(xs));
  BOOST_TEST(has(xs, "module_not_found", "/steps/0/module"), describe(xs));
  BOOST_TEST(has(xs, "unknown_input", "/steps/1/inputs/colour"), describe(xs));
  BOOST_TEST(has(xs, "invalid_pointer", "/steps/2/for_each/pointer"), describe(xs));
  BOOST_TEST(has(xs, "invalid_argument", "/steps/2/for_each/select/top"), describe(xs));
  BOOST_TEST(has(xs, "unreachable_step", "/steps/2"), describe(xs));
  BOOST_TEST(has(xs, "unresolved_reference", "/steps/3/inputs/clips/from"), describe(xs));
  BOOST_TEST(has(xs, "unresolved_reference", "/outputs/clips/from"), describe(xs));
  BOOST_TEST(xs.size() == 9u, describe(xs));
}

// -- names ----------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(pipeline_file_names_give_their_ref) {
  BOOST_TEST(pipeline_ref_of_file_name("clips@1.json").value_or("") == "clips@1");
  BOOST_TEST(pipeline_ref_of_file_name("long.clips_v2@12.json").value_or("")
             == "long.clips_v2@12");
  for (auto bad : {"clips@1", "clips.json", "clips@0.json", "clips@01.json",
                   "Clips@1.json", "@1.json", "clips@.json", "clips@x.json",
                   "1clips@1.json"})
    BOOST_TEST(!pipeline_ref_of_file_name(bad), bad);
}

BOOST_AUTO_TEST_CASE(kind_names_are_stable) {
  BOOST_TEST(to_string(source_kind::pipeline_input) == "pipeline_input");
  BOOST_TEST(to_string(source_kind::step) == "step");
  BOOST_TEST(to_string(source_kind::value) == "value");
  BOOST_TEST(to_string(source_kind::item) == "item");
  BOOST_TEST(to_string(source_kind::collected) == "collected");
  BOOST_TEST(to_string(step_kind::single) == "single");
  BOOST_TEST(to_string(step_kind::for_each) == "for_each");
  BOOST_TEST(to_string(step_kind::collect) == "collect");
}
