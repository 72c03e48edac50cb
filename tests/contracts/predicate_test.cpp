#define BOOST_TEST_MODULE predicate
#include <boost/test/unit_test.hpp>

// Predicates in contracts (contracts/predicate.hpp, docs/policies.md): the
// kinds and their arguments, what a contract check refuses (every problem
// at once, with its pointer), registry entries of a kind, policies with a
// budget and leases, and the evaluation of the file kinds on real files.

#include "contracts/module_contract.hpp"
#include "contracts/predicate.hpp"
#include "contracts/registry_store.hpp"

#include <caf/binary_deserializer.hpp>
#include <caf/binary_serializer.hpp>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

using namespace omniva::contracts;
namespace json = omniva::json;
namespace fs = std::filesystem;

namespace {

/// A contract with a file input, a JSON value input, a text value input, a
/// JSON output and a `many` output, plus `extra` members.
std::string contract(const std::string& extra) {
  return R"({
    "name": "publish", "version": 1, "description": "x",
    "inputs": [
      {"key": "video", "label": "Video", "contract_type": "ASSET",
       "constraints": {"media_types": ["video/mp4"]}},
      {"key": "job", "label": "Job", "contract_type": "VALUE", "dtype": "json"},
      {"key": "title", "label": "Title", "contract_type": "VALUE", "dtype": "string"}],
    "outputs": [
      {"key": "receipt", "label": "Receipt", "contract_type": "ASSET",
       "media_type": "application/json"},
      {"key": "clips", "label": "Clips", "contract_type": "ASSET",
       "media_type": "video/mp4", "many": true}],
    "resources": {"cpu": 1, "memory_gb": 0.1, "gpu": false, "timeout_s": 60},
    "run": {"command": ["true"]},
    "schema_version": "1.0.0")"
         + (extra.empty() ? std::string{} : ", " + extra) + "}";
}

contract_result parse(const std::string& extra, contract_options options = {}) {
  return parse_module_contract(contract(extra), options);
}

/// The problems as "code pointer" lines, sorted.
std::vector<std::string> codes(const contract_result& r) {
  std::vector<std::string> out;
  for (auto& p : r.problems)
    out.push_back(std::string{to_string(p.code)} + " " + p.pointer);
  std::sort(out.begin(), out.end());
  return out;
}

std::string dump(const contract_result& r) {
  std::string out;
  for (auto& p : r.problems)
    out += std::string{to_string(p.code)} + " " + p.pointer + ": " + p.message + "\n";
  return out;
}

struct temp_dir {
  fs::path path;
  temp_dir() {
    path = fs::temp_directory_path()
           / ("omniva-predicate-" + std::to_string(::getpid()) + "-"
              + std::to_string(reinterpret_cast<uintptr_t>(this)));
    fs::create_directories(path);
  }
  ~temp_dir() {
    std::error_code err;
    fs::remove_all(path, err);
  }
  std::string write(const std::string& name, const std::string& content) {
    auto p = path / name;
    std::ofstream out{p, std::ios::binary};
    out << content;
    return p.string();
  }
};

/// A use of `id` with `args` (merged as the check would).
predicate_use use_of(predicate_kind kind, const std::string& args) {
  predicate_use u;
  u.id = std::string{to_string(kind)} + "@1";
  u.kind = kind;
  u.args_json = args;
  u.merged_args_json = args;
  return u;
}

} // namespace

BOOST_AUTO_TEST_CASE(every_kind_has_a_name_a_shipped_entry_and_an_args_schema) {
  BOOST_CHECK_EQUAL(all_predicate_kinds().size(), 7u);
  for (auto k : all_predicate_kinds()) {
    auto name = to_string(k);
    BOOST_CHECK(predicate_kind_from_string(name) == k);
    auto* e = find_shipped_predicate(std::string{name} + "@1");
    BOOST_REQUIRE(e);
    BOOST_CHECK(e->kind == k);
    auto schema = predicate_args_schema(k);
    BOOST_CHECK(schema.find("properties")->is_object());
    BOOST_CHECK(!schema.find("properties")->as_object().empty());
  }
  BOOST_CHECK(!predicate_kind_from_string("artifact.missing"));
  BOOST_CHECK(allowed_at(predicate_kind::budget_available, predicate_phase::admission));
  BOOST_CHECK(!allowed_at(predicate_kind::quota_available, predicate_phase::success));
  BOOST_CHECK(allowed_at(predicate_kind::value_matches, predicate_phase::success));
}

BOOST_AUTO_TEST_CASE(references_prefixes_and_names) {
  auto r = parse_predicate_ref("${outputs.clip}");
  BOOST_REQUIRE(r);
  BOOST_CHECK(r->output);
  BOOST_CHECK_EQUAL(r->key, "clip");
  BOOST_CHECK(parse_predicate_ref("${inputs.video_2}"));
  for (auto bad : {"", "${}", "${inputs.}", "${input.x}", "$outputs.x", "${outputs.a b}",
                   "${outputs.x}y", "outputs.x"})
    BOOST_CHECK_MESSAGE(!parse_predicate_ref(bad), bad);
  BOOST_CHECK(is_write_prefix("/publish/youtube/"));
  BOOST_CHECK(is_write_prefix("/"));
  for (auto bad : {"", "publish", "/a//b", "/a/../b", "/./a"})
    BOOST_CHECK_MESSAGE(!is_write_prefix(bad), bad);
  BOOST_CHECK(prefixes_overlap("/a", "/a/b"));
  BOOST_CHECK(prefixes_overlap("/a/b/", "/a"));
  BOOST_CHECK(prefixes_overlap("/a/", "/a"));
  BOOST_CHECK(prefixes_overlap("/", "/x"));
  BOOST_CHECK(!prefixes_overlap("/ab", "/a"));
  BOOST_CHECK(!prefixes_overlap("/a/c", "/a/b"));
  BOOST_CHECK(is_policy_name("youtube-data-api"));
  BOOST_CHECK(!is_policy_name("YouTube"));
  BOOST_CHECK(!is_policy_name("9lives"));
}

BOOST_AUTO_TEST_CASE(a_contract_with_cost_writes_and_predicates_round_trips) {
  auto r = parse(R"("cost": {"usd_micro_per_second": 40},
    "writes": [{"prefix": "/publish/youtube/"}, {"prefix": "/publish/tiktok/"}],
    "predicates": {
      "admission": [{"id": "budget.available@1"},
                    {"id": "quota.available@1", "args": {"quota": "yt", "units": 1600}},
                    {"id": "lease.free@1", "args": {"prefix": "/publish/tiktok/"}},
                    {"id": "artifact.size_between@1",
                     "args": {"path": "${inputs.video}", "min_bytes": 1}},
                    {"id": "value.matches@1",
                     "args": {"path": "${inputs.job}", "pointer": "/platform",
                              "in": ["youtube", "tiktok"]}}],
      "success": [{"id": "artifact.exists@1", "args": {"path": "${outputs.clips}"}},
                  {"id": "artifact.schema@1",
                   "args": {"path": "${outputs.receipt}",
                            "schema": {"type": "object", "required": ["status"]}}},
                  {"id": "value.matches@1",
                   "args": {"path": "${outputs.receipt}", "pointer": "/status",
                            "equals": "uploaded", "pattern": "^up"}}]}
  )");
  BOOST_REQUIRE_MESSAGE(r, dump(r));
  auto& c = *r.contract;
  BOOST_CHECK_EQUAL(c.cost.usd_micro_per_second, 40);
  BOOST_CHECK_EQUAL(c.cost.worst_case(c.resources.timeout_s), 2400);
  BOOST_REQUIRE_EQUAL(c.writes.size(), 2u);
  BOOST_REQUIRE_EQUAL(c.predicates.admission.size(), 5u);
  BOOST_REQUIRE_EQUAL(c.predicates.success.size(), 3u);
  BOOST_CHECK(c.predicates.admission[1].kind == predicate_kind::quota_available);
  BOOST_CHECK_EQUAL(c.predicates.admission[1].merged_args_json,
                    R"({"quota":"yt","units":1600})");
  // The normal form parses back to the same contract.
  auto again = parse_module_contract_document(to_json(c));
  BOOST_REQUIRE_MESSAGE(again, dump(again));
  BOOST_CHECK(*again.contract == c);
  // And crosses actors unchanged.
  std::vector<char> buf;
  caf::binary_serializer sink{nullptr, buf};
  BOOST_REQUIRE(!sink(c));
  module_contract back;
  caf::binary_deserializer source{nullptr, buf};
  BOOST_REQUIRE(!source(back));
  BOOST_CHECK(back == c);
}

BOOST_AUTO_TEST_CASE(every_problem_of_the_predicates_is_reported_at_once) {
  auto r = parse(R"("writes": [{"prefix": "/publish/"}],
    "predicates": {
      "admission": [{"id": "budget.available@1"},
                    {"id": "quota.available@1", "args": {"units": 0, "colour": 1}},
                    {"id": "artifact.exists@1", "args": {"path": "${outputs.receipt}"}},
                    {"id": "lease.free@1", "args": {"prefix": "/elsewhere/"}},
                    {"id": "no.such@1"},
                    {"id": "bad id"}],
      "success": [{"id": "quota.available@1", "args": {"quota": "q", "units": 1}},
                  {"id": "artifact.exists@1", "args": {"path": "${outputs.nope}"}},
                  {"id": "artifact.exists@1", "args": {"path": "${inputs.title}"}},
                  {"id": "artifact.exists@1", "args": {"path": "receipt.json"}},
                  {"id": "artifact.size_between@1",
                   "args": {"path": "${outputs.clips}", "min_bytes": 10, "max_bytes": 5}},
                  {"id": "artifact.size_between@1", "args": {"path": "${outputs.clips}"}},
                  {"id": "value.matches@1", "args": {"path": "${outputs.receipt}",
                                                     "pointer": "status"}},
                  {"id": "value.matches@1", "args": {"path": "${outputs.receipt}",
                                                     "pointer": "", "pattern": "(?<=a)b"}},
                  {"id": "artifact.schema@1", "args": {"path": "${outputs.receipt}",
                                                       "schema": "nothing.here@1"}}]}
  )");
  BOOST_REQUIRE(!r);
  std::vector<std::string> want{
    "invalid_contract /predicates/admission/0/args",
    "schema_violation /predicates/admission/1/args/units",
    "unknown_field /predicates/admission/1/args/colour",
    "missing_field /predicates/admission/1/args/quota",
    "invalid_contract /predicates/admission/2/args/path",
    "invalid_contract /predicates/admission/3/args/prefix",
    "invalid_ref /predicates/admission/4/id",
    "invalid_ref /predicates/admission/5/id",
    "invalid_contract /predicates/success/0/id",
    "invalid_ref /predicates/success/1/args/path",
    "invalid_contract /predicates/success/2/args/path",
    "invalid_ref /predicates/success/3/args/path",
    "invalid_contract /predicates/success/4/args/min_bytes",
    "invalid_contract /predicates/success/5/args",
    "invalid_pointer /predicates/success/6/args/pointer",
    "invalid_contract /predicates/success/6/args",
    "invalid_pattern /predicates/success/7/args/pattern",
    "invalid_ref /predicates/success/8/args/schema",
  };
  std::sort(want.begin(), want.end());
  BOOST_CHECK_MESSAGE(codes(r) == want, dump(r));
}

BOOST_AUTO_TEST_CASE(cost_and_writes_are_checked) {
  auto both = parse(R"("cost": {"usd_micro_per_run": 1, "usd_micro_per_second": 1})");
  BOOST_CHECK(codes(both) == std::vector<std::string>{"invalid_contract /cost"});
  auto none = parse(R"("cost": {})");
  BOOST_CHECK(codes(none)
              == std::vector<std::string>{"missing_field /cost/usd_micro_per_run"});
  auto zero = parse(R"("cost": {"usd_micro_per_run": 0})");
  BOOST_CHECK(!zero);
  auto prefixes = parse(R"("writes": [{"prefix": "/a/"}, {"prefix": "/a/b"},
                                      {"prefix": "relative"}])");
  BOOST_CHECK_MESSAGE(codes(prefixes)
                        == (std::vector<std::string>{"invalid_contract /writes/1/prefix",
                                                     "invalid_contract /writes/2/prefix"}),
                      dump(prefixes));
  auto lease_without_writes = parse(R"("predicates": {"admission": [{"id": "lease.free@1"}]})");
  BOOST_CHECK(codes(lease_without_writes)
              == std::vector<std::string>{"invalid_contract /predicates/admission/0/id"});
  // A per-run cost is what a reservation takes, whatever the timeout.
  BOOST_CHECK_EQUAL((cost_spec{2500, 0}.worst_case(60)), 2500);
  BOOST_CHECK_EQUAL((cost_spec{0, max_usd_micro}.worst_case(60)), max_usd_micro);
}

BOOST_AUTO_TEST_CASE(a_registered_entry_gives_defaults_the_contract_completes) {
  auto check = check_predicate_document(
    "clip.size@1", *json::parse(R"({"kind": "artifact.size_between",
                                    "description": "A clip worth publishing.",
                                    "args": {"min_bytes": 100, "max_bytes": 1000}})")
                      .doc);
  BOOST_REQUIRE(check);
  auto entry = *check.entry;
  BOOST_CHECK(entry.kind == predicate_kind::artifact_size_between);
  auto again = check_predicate_document(entry.ref, to_json(entry));
  BOOST_REQUIRE(again);
  BOOST_CHECK(*again.entry == entry);
  contract_options options;
  options.resolve_predicate = [&](std::string_view ref) -> std::optional<predicate_entry> {
    if (ref == entry.ref)
      return entry;
    return std::nullopt;
  };
  auto r = parse(R"("predicates": {"success": [
                      {"id": "clip.size@1", "args": {"path": "${outputs.clips}",
                                                     "max_bytes": 5000}}]})",
                 options);
  BOOST_REQUIRE_MESSAGE(r, dump(r));
  auto& u = r.contract->predicates.success.at(0);
  BOOST_CHECK_EQUAL(u.merged_args_json,
                    R"({"max_bytes":5000,"min_bytes":100,"path":"${outputs.clips}"})");
  // Without the registry the entry is unknown.
  auto offline = parse(R"("predicates": {"success": [
                            {"id": "clip.size@1", "args": {"path": "${outputs.clips}"}}]})");
  BOOST_CHECK(codes(offline)
              == std::vector<std::string>{"invalid_ref /predicates/success/0/id"});
}

BOOST_AUTO_TEST_CASE(a_bad_entry_is_refused_with_every_problem) {
  auto bad = check_predicate_document(
    "artifact.exists@1",
    *json::parse(R"({"kind": "artifact.gone", "colour": 1, "args": {"x": 1}})").doc);
  BOOST_REQUIRE(!bad);
  std::vector<std::string> got;
  for (auto& p : bad.problems)
    got.push_back(std::string{to_string(p.code)} + " " + p.pointer);
  std::sort(got.begin(), got.end());
  BOOST_CHECK((got == std::vector<std::string>{"invalid_contract /kind", "invalid_ref ",
                                               "unknown_field /colour"}));
  auto args = check_predicate_document(
    "q@1", *json::parse(R"({"kind": "quota.available", "args": {"units": -1}})").doc);
  BOOST_REQUIRE(!args);
  BOOST_REQUIRE_EQUAL(args.problems.size(), 1u);
  BOOST_CHECK_EQUAL(args.problems[0].pointer, "/args/units");
  BOOST_CHECK(args.problems[0].code == ec::schema_violation);
  auto missing = check_predicate_document("q@1", *json::parse("{}").doc);
  BOOST_REQUIRE(!missing);
  BOOST_CHECK_EQUAL(missing.problems.at(0).pointer, "/kind");
}

BOOST_AUTO_TEST_CASE(a_policy_carries_a_budget_and_leases) {
  auto r = check_policy_text("paid@1", R"({"budget": {"max_usd_micro": 1000000},
                                           "leases": {"default_ttl_s": 30,
                                                      "enable_path_leases": true}})");
  BOOST_REQUIRE(r);
  auto& p = *r.entry;
  BOOST_CHECK_EQUAL(p.budget_max_usd_micro, 1000000);
  BOOST_CHECK_EQUAL(p.lease_ttl_s, 30u);
  BOOST_CHECK(p.path_leases);
  BOOST_CHECK_EQUAL(p.max_attempts, 1u); // no retry member: one attempt
  auto again = check_policy_document(p.ref, to_json(p));
  BOOST_REQUIRE(again);
  BOOST_CHECK(*again.entry == p);
  BOOST_CHECK(check_policy_entry(p).empty());
  // default@1 keeps its stored form: no budget, no leases.
  auto d = to_json(default_policy());
  BOOST_CHECK(!d.find("budget"));
  BOOST_CHECK(!d.find("leases"));
  auto bad = check_policy_text("x@1", R"({"budget": {"max_usd_micro": -5},
                                         "leases": {"default_ttl_s": 0}})");
  BOOST_REQUIRE(!bad);
  std::vector<std::string> pointers;
  for (auto& pr : bad.problems)
    pointers.push_back(pr.pointer);
  std::sort(pointers.begin(), pointers.end());
  BOOST_CHECK((pointers
               == std::vector<std::string>{"/budget/max_usd_micro", "/leases/default_ttl_s"}));
}

BOOST_AUTO_TEST_CASE(the_file_kinds_look_at_real_files) {
  temp_dir dir;
  auto receipt = dir.write("receipt.json", R"({"status": "uploaded", "views": 12})");
  auto empty = dir.write("empty.mp4", "");
  auto clip = dir.write("clip.mp4", std::string(2048, 'x'));
  auto broken = dir.write("broken.json", "{");
  std::map<std::string, predicate_subject> files{
    {"receipt", {{receipt}, std::nullopt}},
    {"clips", {{clip, empty}, std::nullopt}},
    {"broken", {{broken}, std::nullopt}},
    {"missing", {{(dir.path / "nothing.json").string()}, std::nullopt}},
    {"job", {{}, std::string{R"({"platform": "youtube"})"}}},
  };
  predicate_subjects subjects = [&](const predicate_ref& r) -> std::optional<predicate_subject> {
    auto i = files.find(r.key);
    if (i == files.end())
      return std::nullopt;
    return i->second;
  };
  auto eval = [&](predicate_kind k, const std::string& args) {
    return evaluate_file_predicate(use_of(k, args), subjects, {});
  };
  using K = predicate_kind;
  auto ok = eval(K::artifact_exists, R"({"path": "${outputs.receipt}"})");
  BOOST_CHECK_MESSAGE(ok.passed, ok.saw);
  auto gone = eval(K::artifact_exists, R"({"path": "${outputs.missing}"})");
  BOOST_CHECK(!gone.passed);
  BOOST_CHECK_MESSAGE(gone.saw.find("nothing.json does not exist") != std::string::npos,
                      gone.saw);
  // Every file of a many output: the empty one fails.
  auto small = eval(K::artifact_size_between, R"({"path": "${outputs.clips}",
                                                  "min_bytes": 1000})");
  BOOST_CHECK(!small.passed);
  BOOST_CHECK_EQUAL(small.saw, "empty.mp4 is 0 bytes, below min_bytes 1000");
  auto big = eval(K::artifact_size_between, R"({"path": "${outputs.receipt}",
                                                "max_bytes": 10})");
  BOOST_CHECK(!big.passed);
  BOOST_CHECK(eval(K::artifact_size_between,
                   R"({"path": "${outputs.receipt}", "min_bytes": 10, "max_bytes": 100})")
                .passed);
  auto valid = eval(K::artifact_schema, R"({"path": "${outputs.receipt}",
    "schema": {"type": "object", "required": ["status"]}})");
  BOOST_CHECK_MESSAGE(valid.passed, valid.saw);
  auto invalid = eval(K::artifact_schema, R"({"path": "${outputs.receipt}",
    "schema": {"type": "object", "required": ["url"]}})");
  BOOST_CHECK(!invalid.passed);
  BOOST_CHECK_MESSAGE(invalid.saw.find("does not satisfy") != std::string::npos, invalid.saw);
  auto not_json = eval(K::artifact_schema, R"({"path": "${outputs.broken}", "schema": true})");
  BOOST_CHECK(!not_json.passed);
  BOOST_CHECK_MESSAGE(not_json.saw.find("is not JSON") != std::string::npos, not_json.saw);
  auto matches = eval(K::value_matches, R"({"path": "${outputs.receipt}",
    "pointer": "/status", "in": ["uploaded", "scheduled"], "pattern": "^up"})");
  BOOST_CHECK_MESSAGE(matches.passed, matches.saw);
  auto no = eval(K::value_matches, R"({"path": "${outputs.receipt}",
    "pointer": "/views", "min": 100})");
  BOOST_CHECK(!no.passed);
  BOOST_CHECK_EQUAL(no.saw, "receipt.json has 12 at '/views', below min 100");
  auto absent = eval(K::value_matches, R"({"path": "${outputs.receipt}",
    "pointer": "/url", "equals": "x"})");
  BOOST_CHECK(!absent.passed);
  auto value = eval(K::value_matches, R"({"path": "${inputs.job}",
    "pointer": "/platform", "equals": "youtube"})");
  BOOST_CHECK_MESSAGE(value.passed, value.saw);
  // The kinds of Zenith's state are not decided here.
  BOOST_CHECK(!eval(K::quota_available, R"({"quota": "q", "units": 1})").passed);
}
