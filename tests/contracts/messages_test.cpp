#define BOOST_TEST_MODULE messages
#include <boost/test/unit_test.hpp>

#include "contracts/messages.hpp"
#include "contracts/type_ids.hpp"
#include "tests/test_print.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/binary_deserializer.hpp>
#include <caf/binary_serializer.hpp>
#include <caf/make_message.hpp>
#include <caf/message.hpp>

#include <algorithm>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

using namespace omniva::contracts;
namespace json = omniva::json;

namespace {

constexpr const char* asset_a = "3f1c2a9e-8b7d-4c6e-9a1b-2d3e4f5a6b7c";
constexpr const char* asset_b = "9b8a7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d";
constexpr const char* task_a = "0a1b2c3d-4e5f-4a6b-9c7d-8e9f0a1b2c3d";
constexpr const char* task_b = "1b2c3d4e-5f6a-4b7c-8d9e-0f1a2b3c4d5e";
constexpr const char* trace = "7c6b5a49-3827-4615-8f4e-3d2c1b0a9f8e";
const std::string digest_a(64, 'a');
const std::string digest_b = std::string(63, '0') + "1";

asset_record file_asset() {
  asset_record x;
  x.asset_id = asset_a;
  x.kind = asset_kind::file;
  x.media_type = "video/mp4";
  x.status = asset_status::available;
  x.uri = "/var/omniva/uploads/clip.mp4";
  x.sha256 = digest_a;
  x.size = 1048576;
  x.holds = {task_a, task_b};
  x.created_at = "2026-11-21T05:30:27.077Z";
  x.label = "source clip";
  return x;
}

asset_record value_asset() {
  asset_record x;
  x.asset_id = asset_b;
  x.kind = asset_kind::value;
  x.dtype = "json";
  x.status = asset_status::available;
  x.value_json = R"({"threshold":0.7,"tags":["a","b"]})";
  x.produced_by = task_a;
  x.created_at = "2026-11-21T05:30:28.000Z";
  return x;
}

asset_record promised_asset() {
  asset_record x;
  x.asset_id = asset_b;
  x.kind = asset_kind::file;
  x.media_type = "application/json";
  x.status = asset_status::pending;
  x.produced_by = task_a;
  x.created_at = "2026-11-21T05:30:28.000Z";
  return x;
}

task_record failed_task() {
  task_record x;
  x.task_id = task_a;
  x.module_ref = "face-detect@1";
  x.input_mapping = {{"source_video", asset_a}};
  x.values = {{"confidence_threshold", "0.7"}, {"mode", R"("fast")"}};
  x.outputs = {{"faces", asset_b}};
  x.status = task_status::error;
  x.attempt = 3;
  x.priority = -5;
  x.idempotency_key = "upload-42";
  x.trace_id = trace;
  x.pool = "gpu";
  x.error = task_error{"network_timeout", "the model server did not answer",
                       true};
  x.created_at = "2026-11-21T05:30:27.077Z";
  x.updated_at = "2026-11-21T05:31:00.000Z";
  return x;
}

/// A task whose module wrote an output that breaks its schema at
/// "/duration": the error says where.
task_record contract_broken_task() {
  auto x = failed_task();
  x.error = task_error{"output_contract_violation",
                       "output \"probe\" does not satisfy its schema at "
                       "/duration: must be a number",
                       false, "/duration"};
  return x;
}

task_record fresh_task() {
  task_record x;
  x.task_id = task_b;
  x.module_ref = "thumbnail@12";
  x.outputs = {{"thumb", asset_b}};
  x.trace_id = trace;
  x.created_at = "2026-11-21T05:30:27.077Z";
  x.updated_at = "2026-11-21T05:30:27.077Z";
  return x;
}

/// Blocked by Paradox as a duplicate of task_a (`duplicates: block`).
task_record skipped_task() {
  auto x = fresh_task();
  x.status = task_status::skipped;
  x.cleared = true;
  x.duplicate_of = task_a;
  x.updated_at = "2026-11-21T05:30:27.500Z";
  return x;
}

/// DONE without running: task_a's outputs reused (`duplicates: reuse`).
task_record reused_task() {
  auto x = fresh_task();
  x.status = task_status::done;
  x.cleared = true;
  x.reused_from = task_a;
  return x;
}

/// Requeued by Eclipse after its worker went silent: it waits out a
/// backoff before it may be READY again.
task_record requeued_task() {
  auto x = failed_task();
  x.status = task_status::pending;
  x.error.reset();
  x.cleared = true;
  x.lost_attempts = 2;
  x.not_before = "2026-11-21T05:31:05.000Z";
  return x;
}

/// A task as JSON text with `extra` members added after `updated_at`.
std::string task_text_with(std::string_view extra) {
  return std::string{R"({"task_id":")"} + task_a
         + R"(","module_ref":"a@1","input_mapping":{},"outputs":{},)"
           R"("status":"PENDING","attempt":1,"priority":0,"trace_id":")"
         + trace
         + R"(","created_at":"2026-11-21T05:30:27Z",)"
           R"("updated_at":"2026-11-21T05:30:27Z")"
         + std::string{extra} + "}";
}

task_request sample_request() {
  task_request x;
  x.module_ref = "face-detect@1";
  x.input_mapping = {{"source_video", asset_a}};
  x.values = {{"confidence_threshold", "0.7"}};
  x.priority = 3;
  x.idempotency_key = "client-7";
  x.trace_id = trace;
  x.mode = execution_mode::mock;
  x.schema_version = "1.2.0";
  return x;
}

envelope sample_envelope() {
  envelope x;
  x.trace_id = trace;
  x.meta_parents = {digest_a, digest_b};
  x.schema_version = "1.0.0";
  x.topic = "task.created";
  x.payload_json = R"({"task_id":")" + std::string{task_a} + R"("})";
  return x;
}

// Serializes `x` with CAF's binary serializer and reads it back.
template <class T>
T binary_round_trip(T x) {
  std::vector<char> buf;
  caf::binary_serializer sink{nullptr, buf};
  auto err = sink(x);
  BOOST_REQUIRE_MESSAGE(!err, "serializing failed");
  BOOST_REQUIRE(!buf.empty());
  T result;
  caf::binary_deserializer source{nullptr, buf};
  err = source(result);
  BOOST_REQUIRE_MESSAGE(!err, "deserializing failed");
  BOOST_TEST(source.remaining() == 0u);
  return result;
}

// Writes `x` as JSON text, parses the text and reads it back with `read`.
template <class T, class Read>
T json_round_trip(const T& x, Read read) {
  auto text = json::serialize(to_json(x));
  auto doc = json::parse(text);
  BOOST_REQUIRE_MESSAGE(doc, "not JSON: " << text);
  std::vector<problem> problems;
  auto back = read(*doc.doc, problems, "");
  for (const auto& p : problems)
    BOOST_ERROR("unexpected problem: " << to_string(p));
  BOOST_REQUIRE_MESSAGE(back.has_value(), text);
  return *back;
}

json::value parse(std::string_view text) {
  auto doc = json::parse(text);
  BOOST_REQUIRE_MESSAGE(doc, "test input is not JSON: " << text);
  return std::move(*doc.doc);
}

using found = std::set<std::pair<std::string, std::string>>;

// The (code, pointer) pairs of `problems`.
found codes_and_pointers(const std::vector<problem>& problems) {
  found result;
  for (const auto& p : problems) {
    BOOST_CHECK_MESSAGE(!p.message.empty(), "problem without message");
    result.emplace(std::string{to_string(p.code)}, p.pointer);
  }
  return result;
}

void print(std::ostream& os, const found& xs) {
  for (const auto& [code, pointer] : xs)
    os << " (" << code << ", \"" << pointer << "\")";
}

// Reads `text` with `read` and requires that it fails with exactly
// `expected` (code, pointer) pairs.
template <class Read>
void require_problems(Read read, std::string_view text, const found& expected) {
  std::vector<problem> problems;
  auto result = read(parse(text), problems, "");
  BOOST_TEST(!result.has_value());
  auto got = codes_and_pointers(problems);
  std::ostringstream os;
  os << "got";
  print(os, got);
  os << "; expected";
  print(os, expected);
  BOOST_CHECK_MESSAGE(got == expected, os.str());
  BOOST_TEST(problems.size() == expected.size());
}

/// Reads a task request whose module ref is readable: it comes back with
/// the problems `expected` both in `problems` and in its own `problems`.
task_request require_request_problems(std::string_view text,
                                      const found& expected,
                                      std::string_view base = "") {
  std::vector<problem> problems;
  auto result = task_request_from_json(parse(text), problems, base);
  BOOST_REQUIRE(result.has_value());
  auto got = codes_and_pointers(problems);
  std::ostringstream os;
  os << "got";
  print(os, got);
  os << "; expected";
  print(os, expected);
  BOOST_CHECK_MESSAGE(got == expected, os.str());
  BOOST_TEST(problems.size() == expected.size());
  BOOST_REQUIRE(result->problems.size() == problems.size());
  for (size_t i = 0; i < problems.size(); ++i) {
    BOOST_TEST((result->problems[i].code == problems[i].code));
    BOOST_TEST(std::string{base} + result->problems[i].pointer == problems[i].pointer);
  }
  return *result;
}

} // namespace

// -- CAF binary serialization -----------------------------------------------------

BOOST_AUTO_TEST_SUITE(binary)

BOOST_AUTO_TEST_CASE(a_file_asset_round_trips) {
  auto x = file_asset();
  BOOST_TEST((binary_round_trip(x) == x));
}

BOOST_AUTO_TEST_CASE(a_value_asset_without_size_round_trips) {
  auto x = value_asset();
  auto y = binary_round_trip(x);
  BOOST_TEST((y == x));
  BOOST_TEST(!y.size.has_value());
}

BOOST_AUTO_TEST_CASE(a_size_of_zero_is_not_lost) {
  auto x = file_asset();
  x.size = 0;
  auto y = binary_round_trip(x);
  BOOST_REQUIRE(y.size.has_value());
  BOOST_TEST(*y.size == 0u);
}

BOOST_AUTO_TEST_CASE(a_task_with_an_error_round_trips) {
  auto x = failed_task();
  auto y = binary_round_trip(x);
  BOOST_TEST((y == x));
  BOOST_REQUIRE(y.error.has_value());
  BOOST_TEST(y.error->transient);
}

BOOST_AUTO_TEST_CASE(a_task_error_keeps_its_pointer) {
  auto x = contract_broken_task();
  auto y = binary_round_trip(x);
  BOOST_TEST((y == x));
  BOOST_REQUIRE(y.error.has_value());
  BOOST_TEST(y.error->pointer == "/duration");
}

BOOST_AUTO_TEST_CASE(a_task_without_an_error_round_trips) {
  auto x = fresh_task();
  auto y = binary_round_trip(x);
  BOOST_TEST((y == x));
  BOOST_TEST(!y.error.has_value());
}

BOOST_AUTO_TEST_CASE(the_engines_members_of_a_task_round_trip) {
  for (const auto& x : {skipped_task(), reused_task(), requeued_task()}) {
    auto y = binary_round_trip(x);
    BOOST_TEST((y == x));
  }
  auto y = binary_round_trip(requeued_task());
  BOOST_TEST(y.cleared);
  BOOST_TEST(y.lost_attempts == 2u);
  BOOST_TEST(y.not_before == "2026-11-21T05:31:05.000Z");
  BOOST_TEST(binary_round_trip(skipped_task()).duplicate_of == task_a);
  BOOST_TEST(binary_round_trip(reused_task()).reused_from == task_a);
}

BOOST_AUTO_TEST_CASE(loading_a_task_without_error_clears_a_previous_error) {
  std::vector<char> buf;
  caf::binary_serializer sink{nullptr, buf};
  auto x = fresh_task();
  BOOST_REQUIRE(!sink(x));
  auto y = failed_task();
  caf::binary_deserializer source{nullptr, buf};
  BOOST_REQUIRE(!source(y));
  BOOST_TEST((y == x));
}

BOOST_AUTO_TEST_CASE(a_task_request_round_trips) {
  auto x = sample_request();
  BOOST_TEST((binary_round_trip(x) == x));
}

BOOST_AUTO_TEST_CASE(an_envelope_round_trips) {
  auto x = sample_envelope();
  BOOST_TEST((binary_round_trip(x) == x));
}

BOOST_AUTO_TEST_CASE(a_problem_round_trips) {
  problem x{ec::missing_input, "/input_mapping/x", "required"};
  BOOST_TEST((binary_round_trip(x) == x));
}

BOOST_AUTO_TEST_CASE(a_vector_of_records_round_trips) {
  std::vector<asset_record> xs{file_asset(), value_asset(), promised_asset()};
  BOOST_TEST((binary_round_trip(xs) == xs));
}

BOOST_AUTO_TEST_CASE(a_truncated_buffer_is_an_error_not_a_crash) {
  std::vector<char> buf;
  caf::binary_serializer sink{nullptr, buf};
  auto x = failed_task();
  BOOST_REQUIRE(!sink(x));
  buf.resize(buf.size() / 2);
  task_record y;
  caf::binary_deserializer source{nullptr, buf};
  BOOST_TEST(static_cast<bool>(source(y)));
}

BOOST_AUTO_TEST_CASE(a_message_of_registered_types_round_trips_through_an_actor_system) {
  caf::actor_system_config cfg;
  register_types(cfg);
  caf::actor_system sys{cfg};
  auto msg = caf::make_message(failed_task(), sample_envelope(),
                               std::vector<problem>{{ec::too_long, "/a", "b"}});
  std::vector<char> buf;
  caf::binary_serializer sink{sys, buf};
  BOOST_REQUIRE(!sink(msg));
  caf::message back;
  caf::binary_deserializer source{sys, buf};
  BOOST_REQUIRE(!source(back));
  BOOST_REQUIRE((back.match_elements<task_record, envelope, std::vector<problem>>()));
  BOOST_TEST((back.get_as<task_record>(0) == failed_task()));
  BOOST_TEST((back.get_as<envelope>(1) == sample_envelope()));
  BOOST_TEST(back.get_as<std::vector<problem>>(2).size() == 1u);
}

BOOST_AUTO_TEST_CASE(an_atom_tagged_request_matches_its_handler_signature) {
  auto msg = caf::make_message(omniva::atom::submit_v, sample_request());
  BOOST_TEST((msg.match_elements<omniva::atom::submit, task_request>()));
  BOOST_TEST((msg.get_as<task_request>(1) == sample_request()));
  BOOST_TEST(!(msg.match_elements<omniva::atom::cancel, task_request>()));
}

BOOST_AUTO_TEST_CASE(type_ids_start_at_the_first_custom_id) {
  BOOST_TEST(caf::type_id<ec>::value == caf::first_custom_type_id);
  BOOST_TEST(caf::id_block::omniva::begin == caf::first_custom_type_id);
  BOOST_TEST(caf::id_block::omniva::end > caf::type_id<envelope>::value);
  BOOST_TEST(std::string{caf::type_name<task_record>::value}
             == "omniva::contracts::task_record");
  BOOST_TEST(caf::id_block::omniva::end
             > caf::type_id<omniva::contracts::module_contract>::value);
}

BOOST_AUTO_TEST_SUITE_END()

// -- JSON round trips --------------------------------------------------------------

BOOST_AUTO_TEST_SUITE(json_round_trips)

BOOST_AUTO_TEST_CASE(assets_round_trip) {
  for (const auto& x : {file_asset(), value_asset(), promised_asset()})
    BOOST_TEST((json_round_trip(x, asset_record_from_json) == x));
}

BOOST_AUTO_TEST_CASE(tasks_round_trip) {
  for (const auto& x : {failed_task(), contract_broken_task(), fresh_task(),
                        skipped_task(), reused_task(), requeued_task()})
    BOOST_TEST((json_round_trip(x, task_record_from_json) == x));
}

BOOST_AUTO_TEST_CASE(a_task_error_round_trips_with_and_without_its_pointer) {
  auto with = json_round_trip(contract_broken_task(), task_record_from_json);
  BOOST_REQUIRE(with.error.has_value());
  BOOST_TEST(with.error->pointer == "/duration");
  auto without = json_round_trip(failed_task(), task_record_from_json);
  BOOST_REQUIRE(without.error.has_value());
  BOOST_TEST(without.error->pointer.empty());
}

BOOST_AUTO_TEST_CASE(a_task_request_round_trips) {
  auto x = sample_request();
  BOOST_TEST((json_round_trip(x, task_request_from_json) == x));
}

BOOST_AUTO_TEST_CASE(an_envelope_round_trips) {
  auto x = sample_envelope();
  BOOST_TEST((json_round_trip(x, envelope_from_json) == x));
}

BOOST_AUTO_TEST_SUITE_END()

// -- JSON forms ---------------------------------------------------------------------

BOOST_AUTO_TEST_SUITE(json_form)

BOOST_AUTO_TEST_CASE(an_asset_value_is_emitted_as_json_not_as_text) {
  auto j = to_json(value_asset());
  auto* value = j.find("value");
  BOOST_REQUIRE(value != nullptr);
  BOOST_REQUIRE(value->is_object());
  BOOST_TEST(value->find("threshold")->as_double() == 0.7);
}

BOOST_AUTO_TEST_CASE(empty_optional_asset_members_are_omitted) {
  auto j = to_json(promised_asset());
  for (auto key : {"uri", "value", "sha256", "size", "holds", "label", "dtype"})
    BOOST_CHECK_MESSAGE(j.find(key) == nullptr, key << " should be omitted");
  BOOST_TEST(j.find("produced_by")->as_string() == task_a);
  BOOST_TEST(j.find("status")->as_string() == "PENDING");
  BOOST_TEST(j.find("kind")->as_string() == "FILE");
}

BOOST_AUTO_TEST_CASE(a_task_is_written_with_the_design_member_names) {
  auto text = json::serialize(to_json(failed_task()));
  BOOST_TEST(text
             == std::string{R"({"task_id":")"} + task_a
                  + R"(","module_ref":"face-detect@1","input_mapping":)"
                    R"({"source_video":")"
                  + asset_a
                  + R"("},"values":{"confidence_threshold":0.7,"mode":"fast"},)"
                    R"("outputs":{"faces":")"
                  + asset_b
                  + R"("},"status":"ERROR","attempt":3,"priority":-5,)"
                    R"("idempotency_key":"upload-42","trace_id":")"
                  + trace
                  + R"(","pool":"gpu","error":{"code":"network_timeout",)"
                    R"("message":"the model server did not answer",)"
                    R"("transient":true},"mode":"real","created_at":"2026-11-21T05:30:27.077Z",)"
                    R"("updated_at":"2026-11-21T05:31:00.000Z"})");
}

BOOST_AUTO_TEST_CASE(a_task_error_without_a_pointer_is_written_without_one) {
  auto j = to_json(failed_task());
  auto* error = j.find("error");
  BOOST_REQUIRE(error != nullptr);
  BOOST_TEST(json::serialize(*error)
             == R"({"code":"network_timeout","message":"the model server did )"
                R"(not answer","transient":true})");
}

BOOST_AUTO_TEST_CASE(a_task_error_writes_its_pointer_after_transient) {
  auto j = to_json(contract_broken_task());
  auto* error = j.find("error");
  BOOST_REQUIRE(error != nullptr);
  BOOST_TEST(json::serialize(*error)
             == R"({"code":"output_contract_violation","message":"output )"
                R"(\"probe\" does not satisfy its schema at /duration: must )"
                R"(be a number","transient":false,"pointer":"/duration"})");
}

BOOST_AUTO_TEST_CASE(a_task_without_error_or_pool_omits_them) {
  auto j = to_json(fresh_task());
  BOOST_TEST(j.find("error") == nullptr);
  BOOST_TEST(j.find("pool") == nullptr);
  BOOST_TEST(j.find("values") == nullptr);
  BOOST_TEST(j.find("idempotency_key") == nullptr);
  BOOST_TEST(j.find("input_mapping")->as_object().empty());
}

BOOST_AUTO_TEST_CASE(a_task_without_engine_members_omits_them) {
  for (const auto& x : {fresh_task(), failed_task()}) {
    auto j = to_json(x);
    for (auto key : {"cleared", "duplicate_of", "reused_from", "lost_attempts",
                     "not_before"})
      BOOST_CHECK_MESSAGE(j.find(key) == nullptr, key << " should be omitted");
  }
}

BOOST_AUTO_TEST_CASE(a_task_writes_its_engine_members_after_updated_at) {
  auto skipped = json::serialize(to_json(skipped_task()));
  BOOST_TEST(skipped.ends_with(
    std::string{R"("updated_at":"2026-11-21T05:30:27.500Z","cleared":true,)"
                R"("duplicate_of":")"}
    + task_a + R"("})"));
  BOOST_TEST(skipped.find(R"("status":"SKIPPED")") != std::string::npos);
  auto reused = json::serialize(to_json(reused_task()));
  BOOST_TEST(reused.ends_with(std::string{R"("cleared":true,"reused_from":")"}
                              + task_a + R"("})"));
  auto requeued = json::serialize(to_json(requeued_task()));
  BOOST_TEST(requeued.ends_with(
    R"("updated_at":"2026-11-21T05:31:00.000Z","cleared":true,)"
    R"("lost_attempts":2,"not_before":"2026-11-21T05:31:05.000Z"})"));
}

BOOST_AUTO_TEST_CASE(a_task_without_engine_members_reads_with_their_defaults) {
  // Tasks stored before the engines existed have none of these members.
  std::vector<problem> problems;
  auto t = task_record_from_json(parse(task_text_with("")), problems, "");
  BOOST_REQUIRE_MESSAGE(t.has_value(), problems.size() << " problems");
  BOOST_TEST(!t->cleared);
  BOOST_TEST(t->duplicate_of.empty());
  BOOST_TEST(t->reused_from.empty());
  BOOST_TEST(t->lost_attempts == 0u);
  BOOST_TEST(t->not_before.empty());
}

BOOST_AUTO_TEST_CASE(reads_the_task_request_of_the_seed_document) {
  auto text = std::string{R"({"module_ref":"face-detect@1","input_mapping":)"
                          R"({"source_video":")"}
              + asset_a
              + R"("},"values":{"confidence_threshold":0.7},"priority":0,)"
                R"("schema_version":"1.0.0"})";
  std::vector<problem> problems;
  auto x = task_request_from_json(parse(text), problems);
  BOOST_REQUIRE(x.has_value());
  BOOST_TEST(problems.empty());
  BOOST_TEST(x->module_ref == "face-detect@1");
  BOOST_TEST(x->input_mapping.at("source_video") == asset_a);
  BOOST_TEST(x->values.at("confidence_threshold") == "0.7");
  BOOST_TEST(x->priority == 0);
  BOOST_TEST((x->mode == execution_mode::real));
  BOOST_TEST(x->schema_version == "1.0.0");
}

BOOST_AUTO_TEST_CASE(a_task_request_is_written_with_module_ref) {
  task_request x;
  x.module_ref = "face-detect@1";
  x.input_mapping = {{"source_video", asset_a}};
  x.values = {{"confidence_threshold", "0.7"}};
  BOOST_TEST(json::serialize(to_json(x))
             == std::string{R"({"module_ref":"face-detect@1","input_mapping":)"
                            R"({"source_video":")"}
                  + asset_a
                  + R"("},"values":{"confidence_threshold":0.7},"priority":0,)"
                    R"("mode":"real","schema_version":"1.0.0"})");
}

BOOST_AUTO_TEST_CASE(module_id_is_an_alias_of_module_ref) {
  std::vector<problem> problems;
  auto x = task_request_from_json(parse(R"({"module_id":"clipper@2"})"),
                                  problems);
  BOOST_REQUIRE(x.has_value());
  BOOST_TEST(x->module_ref == "clipper@2");
  auto same = task_request_from_json(
    parse(R"({"module_id":"clipper@2","module_ref":"clipper@2"})"), problems);
  BOOST_TEST(same.has_value());
  BOOST_TEST(problems.empty());
}

BOOST_AUTO_TEST_CASE(module_id_and_module_ref_naming_different_modules_conflict) {
  auto x = require_request_problems(
    R"({"module_id":"clipper@2","module_ref":"clipper@3"})",
    {{"invalid_argument", "/module_id"}});
  BOOST_TEST(x.module_ref == "clipper@3");
}

BOOST_AUTO_TEST_CASE(an_envelope_writes_meta_parents_with_a_leading_underscore) {
  auto j = to_json(sample_envelope());
  BOOST_REQUIRE(j.find("_meta_parents") != nullptr);
  BOOST_TEST(j.find("_meta_parents")->as_array().size() == 2u);
  BOOST_TEST(j.find("meta_parents") == nullptr);
  BOOST_TEST(j.find("payload")->find("task_id")->as_string() == task_a);
}

BOOST_AUTO_TEST_CASE(a_root_envelope_may_omit_meta_parents) {
  std::vector<problem> problems;
  auto x = envelope_from_json(
    parse(std::string{R"({"trace_id":")"} + trace
          + R"(","schema_version":"1.0.0","topic":"node.started","payload":{}})"),
    problems);
  BOOST_REQUIRE(x.has_value());
  BOOST_TEST(x->meta_parents.empty());
  BOOST_TEST(x->payload_json == "{}");
}

BOOST_AUTO_TEST_SUITE_END()

// -- schema versions --------------------------------------------------------------

BOOST_AUTO_TEST_SUITE(schema_versions)

BOOST_AUTO_TEST_CASE(any_1_x_y_is_supported) {
  BOOST_TEST(supported_schema_version("1.0.0"));
  BOOST_TEST(supported_schema_version("1.4.2"));
  BOOST_TEST(supported_schema_version("1.10.300"));
}

BOOST_AUTO_TEST_CASE(another_major_version_is_unsupported) {
  problem why;
  BOOST_TEST(!supported_schema_version("2.0.0", &why));
  BOOST_TEST(why.code == ec::unsupported_schema_version);
  BOOST_TEST(why.pointer == "/schema_version");
  BOOST_TEST(why.message.find("major version 2") != std::string::npos);
  BOOST_TEST(!supported_schema_version("0.9.0"));
}

BOOST_AUTO_TEST_CASE(text_that_is_not_a_semantic_version_is_unsupported) {
  for (auto text : {"", "1", "1.0", "1.0.0.0", "v1.0.0", "01.0.0", "1.0.0-rc1",
                    "1..0", "1.0.x", " 1.0.0"}) {
    problem why;
    BOOST_CHECK_MESSAGE(!supported_schema_version(text, &why), text);
    BOOST_CHECK(why.code == ec::unsupported_schema_version);
  }
}

BOOST_AUTO_TEST_CASE(an_envelope_of_major_version_2_is_rejected) {
  auto text = std::string{R"({"trace_id":")"} + trace
              + R"(","schema_version":"2.0.0","topic":"task.created","payload":{}})";
  require_problems(envelope_from_json, text,
                   {{"unsupported_schema_version", "/schema_version"}});
}

BOOST_AUTO_TEST_CASE(an_envelope_of_version_1_4_2_is_accepted) {
  auto text = std::string{R"({"trace_id":")"} + trace
              + R"(","schema_version":"1.4.2","topic":"task.created","payload":{}})";
  std::vector<problem> problems;
  auto x = envelope_from_json(parse(text), problems);
  BOOST_REQUIRE(x.has_value());
  BOOST_TEST(problems.empty());
  BOOST_TEST(x->schema_version == "1.4.2");
}

BOOST_AUTO_TEST_CASE(a_task_request_of_major_version_2_is_rejected) {
  require_request_problems(R"({"module_ref":"a@1","schema_version":"2.1.0"})",
                           {{"unsupported_schema_version", "/schema_version"}});
}

BOOST_AUTO_TEST_SUITE_END()

// -- bad input ----------------------------------------------------------------------

BOOST_AUTO_TEST_SUITE(bad_input)

BOOST_AUTO_TEST_CASE(a_task_request_reports_every_problem_at_once) {
  require_problems(task_request_from_json,
                   R"({"input_mapping":{"video":"not-a-uuid","audio":7},)"
                   R"("values":[1],"priority":"high","mode":"fast",)"
                   R"("trace_id":"123","colour":"red"})",
                   {{"missing_field", "/module_ref"},
                    {"invalid_uuid", "/input_mapping/video"},
                    {"type_mismatch", "/input_mapping/audio"},
                    {"type_mismatch", "/values"},
                    {"type_mismatch", "/priority"},
                    {"not_in_enum", "/mode"},
                    {"invalid_uuid", "/trace_id"},
                    {"unknown_field", "/colour"}});
}

BOOST_AUTO_TEST_CASE(a_task_request_with_a_readable_module_keeps_what_it_can_read) {
  auto text = std::string{R"({"module_ref":"clip-scorer@3","input_mapping":)"}
              + R"({"wrong":"abc","odd":7,"good":")" + asset_a
              + R"("},"values":{"threshold":7},"priority":"high","colour":"red",)"
                R"("trace_id":"123","mode":"mock"})";
  auto x = require_request_problems(text, {{"invalid_uuid", "/input_mapping/wrong"},
                                           {"type_mismatch", "/input_mapping/odd"},
                                           {"type_mismatch", "/priority"},
                                           {"invalid_uuid", "/trace_id"},
                                           {"unknown_field", "/colour"}});
  BOOST_TEST(x.module_ref == "clip-scorer@3");
  // Keys with a bad asset id stay (with what was given) for pre-flight.
  BOOST_TEST(x.input_mapping.at("wrong") == "abc");
  BOOST_TEST(x.input_mapping.at("odd") == "7");
  BOOST_TEST(x.input_mapping.at("good") == asset_a);
  BOOST_TEST(x.values.at("threshold") == "7");
  BOOST_TEST(x.priority == 0);
  BOOST_TEST(x.trace_id.empty());
  BOOST_TEST((x.mode == execution_mode::mock));
}

BOOST_AUTO_TEST_CASE(a_clean_task_request_has_no_problems) {
  std::vector<problem> problems;
  auto x = task_request_from_json(parse(R"({"module_ref":"a@1"})"), problems);
  BOOST_REQUIRE(x.has_value());
  BOOST_TEST(x->problems.empty());
}

BOOST_AUTO_TEST_CASE(a_task_request_s_problems_cross_actors_with_it) {
  auto x = require_request_problems(R"({"module_ref":"a@1","priority":"x"})",
                                    {{"type_mismatch", "/priority"}});
  BOOST_TEST((binary_round_trip(x) == x));
}

BOOST_AUTO_TEST_CASE(a_malformed_module_ref_is_an_invalid_ref) {
  for (auto ref : {"face-detect", "face-detect@", "@1", "face-detect@v1",
                   "face-detect@0", "face detect@1", "face-detect@1.5"})
    require_problems(task_request_from_json,
                     std::string{R"({"module_ref":")"} + ref + "\"}",
                     {{"invalid_ref", "/module_ref"}});
}

BOOST_AUTO_TEST_CASE(priorities_beyond_32_bits_are_out_of_range) {
  require_request_problems(R"({"module_ref":"a@1","priority":2147483648})",
                           {{"out_of_range", "/priority"}});
  require_request_problems(R"({"module_ref":"a@1","priority":1.5})",
                           {{"type_mismatch", "/priority"}});
  // One integer rule: a literal whose exact value has a fraction is no
  // integer however close to one; 1.0 and 1e2 are.
  require_request_problems(R"({"module_ref":"a@1","priority":1e-400})",
                           {{"type_mismatch", "/priority"}});
  require_request_problems(R"({"module_ref":"a@1","priority":7.0000000000000000001})",
                           {{"type_mismatch", "/priority"}});
  BOOST_TEST(require_request_problems(R"({"module_ref":"a@1","priority":1e2})", {})
               .priority
             == 100);
  BOOST_TEST(require_request_problems(R"({"module_ref":"a@1","priority":-3.0})", {})
               .priority
             == -3);
}

BOOST_AUTO_TEST_CASE(a_document_that_is_not_an_object_is_a_type_mismatch_at_the_root) {
  require_problems(task_request_from_json, R"(["face-detect@1"])",
                   {{"type_mismatch", ""}});
  require_problems(envelope_from_json, "42", {{"type_mismatch", ""}});
}

BOOST_AUTO_TEST_CASE(problems_carry_the_base_pointer_of_a_nested_document) {
  auto x = require_request_problems(R"({"module_ref":"a@1","priority":"x"})",
                                    {{"type_mismatch", "/requests/3/priority"}},
                                    "/requests/3");
  // The request's own problems point into the request itself.
  BOOST_TEST(x.problems[0].pointer == "/priority");
}

BOOST_AUTO_TEST_CASE(problems_are_appended_to_those_already_found) {
  std::vector<problem> problems{{ec::io_error, "", "earlier"}};
  task_request_from_json(parse("{}"), problems);
  BOOST_REQUIRE(problems.size() == 2u);
  BOOST_TEST(problems[0].message == "earlier");
  BOOST_TEST(problems[1].pointer == "/module_ref");
}

BOOST_AUTO_TEST_CASE(an_asset_reports_missing_fields_and_bad_formats) {
  require_problems(asset_record_from_json,
                   R"({"kind":"FILE","status":"DONE","sha256":"ABC",)"
                   R"("size":-1,"holds":["x"],"created_at":"yesterday"})",
                   {{"missing_field", "/asset_id"},
                    {"missing_field", "/media_type"},
                    {"not_in_enum", "/status"},
                    {"invalid_digest", "/sha256"},
                    {"out_of_range", "/size"},
                    {"invalid_uuid", "/holds/0"},
                    {"invalid_timestamp", "/created_at"}});
}

BOOST_AUTO_TEST_CASE(members_of_the_other_kind_are_a_kind_mismatch) {
  auto text = std::string{R"({"asset_id":")"} + asset_a
              + R"(","kind":"VALUE","dtype":"int","value":3,"status":"AVAILABLE",)"
                R"("media_type":"video/mp4","uri":"/x","created_at":"2026-11-21T05:30:27Z"})";
  require_problems(asset_record_from_json, text,
                   {{"kind_mismatch", "/media_type"}, {"kind_mismatch", "/uri"}});
}

BOOST_AUTO_TEST_CASE(an_available_file_asset_must_have_a_uri) {
  auto text = std::string{R"({"asset_id":")"} + asset_a
              + R"(","kind":"FILE","media_type":"video/mp4","status":"AVAILABLE",)"
                R"("created_at":"2026-11-21T05:30:27Z"})";
  require_problems(asset_record_from_json, text, {{"missing_field", "/uri"}});
}

BOOST_AUTO_TEST_CASE(a_bad_media_type_and_dtype_are_reported) {
  auto file = std::string{R"({"asset_id":")"} + asset_a
              + R"(","kind":"FILE","media_type":"mp4","status":"PENDING",)"
                R"("created_at":"2026-11-21T05:30:27Z"})";
  require_problems(asset_record_from_json, file,
                   {{"invalid_media_type", "/media_type"}});
  auto value = std::string{R"({"asset_id":")"} + asset_a
               + R"(","kind":"VALUE","dtype":"integer","status":"PENDING",)"
                 R"("created_at":"2026-11-21T05:30:27Z"})";
  require_problems(asset_record_from_json, value, {{"not_in_enum", "/dtype"}});
}

BOOST_AUTO_TEST_CASE(a_task_reports_wrong_types_and_bad_ids) {
  auto text = std::string{R"({"task_id":"nope","module_ref":"a@1",)"
                          R"("input_mapping":{"x":")"}
              + asset_a
              + R"("},"outputs":{"y":"zzz"},"status":"RUNNING","attempt":0,)"
                R"("priority":1,"trace_id":")"
              + trace
              + R"(","error":{"code":"","transient":"yes"},)"
                R"("created_at":"2026-11-21T05:30:27Z"})";
  require_problems(task_record_from_json, text,
                   {{"invalid_uuid", "/task_id"},
                    {"invalid_uuid", "/outputs/y"},
                    {"out_of_range", "/attempt"},
                    {"invalid_argument", "/error/code"},
                    {"missing_field", "/error/message"},
                    {"type_mismatch", "/error/transient"},
                    {"missing_field", "/updated_at"}});
}

BOOST_AUTO_TEST_CASE(a_task_reports_bad_engine_members) {
  require_problems(task_record_from_json,
                   task_text_with(R"(,"cleared":"yes","duplicate_of":"t-1",)"
                                  R"("reused_from":7,"lost_attempts":-1,)"
                                  R"("not_before":"soon")"),
                   {{"type_mismatch", "/cleared"},
                    {"invalid_uuid", "/duplicate_of"},
                    {"type_mismatch", "/reused_from"},
                    {"out_of_range", "/lost_attempts"},
                    {"invalid_timestamp", "/not_before"}});
}

BOOST_AUTO_TEST_CASE(a_skipped_task_reads_back_with_its_status) {
  std::vector<problem> problems;
  auto text = task_text_with(std::string{R"(,"cleared":true,"duplicate_of":")"}
                             + task_b + R"(")");
  auto at = text.find(R"("PENDING")");
  text.replace(at, 9, R"("SKIPPED")");
  auto t = task_record_from_json(parse(text), problems, "");
  BOOST_REQUIRE_MESSAGE(t.has_value(), problems.size() << " problems");
  BOOST_TEST((t->status == task_status::skipped));
  BOOST_TEST(t->duplicate_of == task_b);
}

BOOST_AUTO_TEST_CASE(a_task_error_pointer_must_be_a_non_empty_json_pointer) {
  auto task_with_pointer = [](std::string_view pointer_json) {
    return std::string{R"({"task_id":")"} + task_a
           + R"(","module_ref":"a@1","input_mapping":{},"outputs":{},)"
             R"("status":"ERROR","attempt":1,"priority":0,"trace_id":")"
           + trace
           + R"(","error":{"code":"output_contract_violation","message":"m",)"
             R"("transient":false,"pointer":)"
           + std::string{pointer_json}
           + R"(},"created_at":"2026-11-21T05:30:27Z",)"
             R"("updated_at":"2026-11-21T05:30:27Z"})";
  };
  // Without the leading "/", empty (absence says "none"), a "~" that
  // escapes nothing, not a string.
  for (auto bad : {R"("duration")", R"("")", R"("/a~2")"})
    require_problems(task_record_from_json, task_with_pointer(bad),
                     {{"invalid_argument", "/error/pointer"}});
  require_problems(task_record_from_json, task_with_pointer("3"),
                   {{"type_mismatch", "/error/pointer"}});
  // Escaped tokens and array indices are pointers like any other.
  std::vector<problem> problems;
  auto t = task_record_from_json(parse(task_with_pointer(R"("/a~1b/0/~0c")")),
                                 problems, "");
  BOOST_REQUIRE_MESSAGE(t.has_value(), problems.size() << " problems");
  BOOST_REQUIRE(t->error.has_value());
  BOOST_TEST(t->error->pointer == "/a~1b/0/~0c");
}

BOOST_AUTO_TEST_CASE(an_envelope_reports_bad_parents_topic_and_payload) {
  auto text = std::string{R"({"trace_id":")"} + trace
              + R"(","_meta_parents":[")" + digest_a
              + R"(","not-a-digest"],"schema_version":"1.0.0",)"
                R"("topic":"Task..Created","payload":"{}"})";
  require_problems(envelope_from_json, text,
                   {{"invalid_digest", "/_meta_parents/1"},
                    {"invalid_argument", "/topic"},
                    {"type_mismatch", "/payload"}});
}

BOOST_AUTO_TEST_CASE(an_envelope_without_anything_reports_every_required_member) {
  require_problems(envelope_from_json, "{}",
                   {{"missing_field", "/trace_id"},
                    {"missing_field", "/schema_version"},
                    {"missing_field", "/topic"},
                    {"missing_field", "/payload"}});
}

BOOST_AUTO_TEST_CASE(member_names_with_slashes_are_escaped_in_pointers) {
  require_request_problems(R"({"module_ref":"a@1","input_mapping":{"a/b~c":"x"}})",
                           {{"invalid_uuid", "/input_mapping/a~1b~0c"}});
}

BOOST_AUTO_TEST_SUITE_END()
