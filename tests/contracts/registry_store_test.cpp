#define BOOST_TEST_MODULE registry_store
#include <boost/test/unit_test.hpp>

// The registry's store of schemas and policies, and the checks of what may
// be registered: refs, schema documents, policies.

#include "contracts/json_schema.hpp"
#include "contracts/module_contract.hpp"
#include "contracts/registry_store.hpp"

#include <thread>
#include <vector>

using namespace omniva;
using namespace omniva::contracts;

namespace {

const std::string titled = R"({"type": "object", "required": ["title"]})";

schema_entry entry_of(const std::string& ref, const std::string& text) {
  auto checked = check_schema_text(ref, text);
  BOOST_REQUIRE_MESSAGE(checked, ref << " does not check");
  return *checked.entry;
}

bool is(const caf::error& e, ec code) {
  return e && e.category() == error_category
         && e.code() == static_cast<uint8_t>(code);
}

} // namespace

BOOST_AUTO_TEST_CASE(a_registry_ref_is_a_name_and_a_positive_version) {
  for (auto* ok : {"media.metadata@1", "ClipCandidate@3", "a-b_c.d@12", "x@9"})
    BOOST_CHECK_MESSAGE(is_registry_ref(ok), ok);
  for (auto* bad : {"media.metadata", "@1", "m@0", "m@01", "m@", "m@1.0",
                    "1m@1", ".m@1", "m x@1", "m@1@2", ""})
    BOOST_CHECK_MESSAGE(!is_registry_ref(bad), bad);
  BOOST_CHECK(ref_of_file_name("media.metadata@1.json") == "media.metadata@1");
  BOOST_CHECK(!ref_of_file_name("media.metadata.json"));
  BOOST_CHECK(!ref_of_file_name("media.metadata@1.yaml"));
}

BOOST_AUTO_TEST_CASE(a_new_store_holds_the_default_policy_only) {
  registry_store store;
  BOOST_CHECK(store.schemas().empty());
  auto p = store.policy("default@1");
  BOOST_REQUIRE(p.has_value());
  BOOST_CHECK_EQUAL(p->max_attempts, 3u);
  BOOST_CHECK(p->backoff_ms == (std::vector<uint32_t>{1000, 5000, 15000}));
  BOOST_CHECK_EQUAL(store.policies().size(), 1u);
}

BOOST_AUTO_TEST_CASE(a_schema_is_stored_once_and_never_changed) {
  registry_store store;
  auto e = entry_of("test.doc@1", titled);
  BOOST_CHECK(!store.add_schema(e));
  BOOST_CHECK(!store.add_schema(e)); // the same again
  BOOST_CHECK(is(store.add_schema(entry_of("test.doc@1", R"({"type": "array"})")),
                 ec::immutable_ref));
  BOOST_REQUIRE_EQUAL(store.schemas().size(), 1u);
  BOOST_CHECK(store.schema("test.doc@1")->canonical_json == e.canonical_json);
  auto doc = store.schema_document("test.doc@1");
  BOOST_REQUIRE(doc.has_value());
  BOOST_CHECK(doc->find("required") != nullptr);
  BOOST_CHECK(store.find_schema("other@1") == nullptr);
  BOOST_CHECK(!store.schema_document("other@1"));
}

BOOST_AUTO_TEST_CASE(the_resolver_falls_back_to_the_shipped_schemas) {
  auto store = std::make_shared<registry_store>();
  BOOST_REQUIRE(!store->add_schema(entry_of("test.doc@1", titled)));
  auto resolve = make_schema_resolver(store);
  bool unresolved = false;
  auto mine = resolve_spec_schema("test.doc@1", "", resolve, &unresolved);
  BOOST_REQUIRE(mine);
  BOOST_CHECK(mine->validate_text(R"({"title": 1})").valid);
  BOOST_CHECK(!mine->validate_text(R"({})").valid);
  BOOST_CHECK(resolve_spec_schema("ClipCandidate", "", resolve, &unresolved));
  BOOST_CHECK(!unresolved);
  BOOST_CHECK(!resolve_spec_schema("nowhere@1", "", resolve, &unresolved));
  BOOST_CHECK(unresolved);
}

BOOST_AUTO_TEST_CASE(a_contract_checked_with_the_store_needs_its_schemas) {
  auto contract = R"({"name": "m", "version": 1, "description": "d",
    "inputs": [{"key": "doc", "label": "Doc", "contract_type": "VALUE",
                "dtype": "json", "constraints": {"schema": "test.doc@1"}}],
    "outputs": [], "resources": {"cpu": 1, "memory_gb": 1, "gpu": false, "timeout_s": 5},
    "run": {"command": ["true"]}, "schema_version": "1.0.0"})";
  auto store = std::make_shared<registry_store>();
  contract_options options{make_schema_resolver(store)};
  auto before = parse_module_contract(contract, options);
  BOOST_REQUIRE(!before);
  BOOST_CHECK(before.problems.front().code == ec::invalid_ref);
  BOOST_CHECK_EQUAL(before.problems.front().pointer, "/inputs/0/constraints/schema");
  BOOST_REQUIRE(!store->add_schema(entry_of("test.doc@1", titled)));
  BOOST_CHECK(parse_module_contract(contract, options));
}

BOOST_AUTO_TEST_CASE(a_schema_document_must_compile) {
  auto not_schema = check_schema_text("x@1", "[1, 2]");
  BOOST_REQUIRE(!not_schema);
  BOOST_CHECK(not_schema.problems.front().code == ec::invalid_schema);
  auto bad = check_schema_text("x@1", R"({"properties": {"a": {"minimum": "3"}},
                                         "$ref": "#/nowhere"})");
  BOOST_REQUIRE(!bad);
  std::vector<std::string> pointers;
  for (auto& p : bad.problems) {
    BOOST_CHECK(p.code == ec::invalid_schema);
    pointers.push_back(p.pointer);
  }
  BOOST_CHECK(std::find(pointers.begin(), pointers.end(), "/$ref") != pointers.end());
  BOOST_CHECK(std::find(pointers.begin(), pointers.end(), "/properties/a/minimum")
              != pointers.end());
  // A registered schema may refer to the shipped ones by file name.
  BOOST_CHECK(check_schema_text("clips@1", R"({"type": "array",
                                             "items": {"$ref": "ClipCandidate.json"}})"));
  // The entry is canonical: the same document written otherwise is equal.
  BOOST_CHECK(entry_of("x@1", R"({"type":"object","required":["title"]})")
              == entry_of("x@1", "{ \"required\": [\"title\"],\n \"type\": \"object\" }"));
}

BOOST_AUTO_TEST_CASE(a_policy_round_trips_through_its_json_form) {
  auto p = default_policy();
  auto back = check_policy_document(p.ref, to_json(p));
  BOOST_REQUIRE(back);
  BOOST_CHECK(*back.entry == p);
  BOOST_CHECK(check_policy_entry(p).empty());
  p.backoff_ms.push_back(86'400'001);
  auto problems = check_policy_entry(p);
  BOOST_REQUIRE_EQUAL(problems.size(), 1u);
  BOOST_CHECK_EQUAL(problems.front().pointer, "/retry/backoff_ms/3");
}

namespace {

/// A policy using every member: extra codes to retry, no jitter.
policy_entry eager_policy() {
  policy_entry p;
  p.ref = "eager@2";
  p.description = "Retries rate limits too, without jitter.";
  p.max_attempts = 5;
  p.backoff_ms = {100, 200};
  p.retry_on = {"exit_code", "rate_limited"};
  p.jitter_pct = 0;
  return p;
}

/// The (code, pointer) of every problem.
std::vector<std::pair<ec, std::string>> codes_of(const std::vector<problem>& xs) {
  std::vector<std::pair<ec, std::string>> out;
  for (auto& p : xs)
    out.emplace_back(p.code, p.pointer);
  return out;
}

/// Requires exactly one problem: `code` at `pointer`.
void require_single(const std::vector<problem>& xs, ec code,
                    const std::string& pointer) {
  BOOST_REQUIRE_EQUAL(xs.size(), 1u);
  BOOST_CHECK_EQUAL(to_string(xs.front().code), to_string(code));
  BOOST_CHECK_EQUAL(xs.front().pointer, pointer);
  BOOST_CHECK(!xs.front().message.empty());
}

} // namespace

BOOST_AUTO_TEST_CASE(retry_on_and_jitter_round_trip_under_retry) {
  auto p = eager_policy();
  auto doc = to_json(p);
  auto* retry = doc.find("retry");
  BOOST_REQUIRE(retry != nullptr);
  BOOST_REQUIRE(retry->find("retry_on") != nullptr);
  BOOST_CHECK_EQUAL(json::serialize(*retry->find("retry_on")),
                    R"(["exit_code","rate_limited"])");
  BOOST_CHECK_EQUAL(*retry->find("jitter_pct")->as_int64(), 0);
  auto back = check_policy_document(p.ref, doc);
  BOOST_REQUIRE(back);
  BOOST_CHECK(*back.entry == p);
  BOOST_CHECK(check_policy_entry(p).empty());
}

BOOST_AUTO_TEST_CASE(a_policy_file_names_retry_on_and_jitter_pct_in_retry) {
  auto checked = check_policy_text("scraper@1", R"({"retry": {
    "max_attempts": 4, "backoff_ms": [500], "retry_on": ["exit_code"],
    "jitter_pct": 25}})");
  BOOST_REQUIRE(checked);
  BOOST_CHECK(checked.entry->retry_on == std::vector<std::string>{"exit_code"});
  BOOST_CHECK_EQUAL(checked.entry->jitter_pct, 25u);
  // Without them: no extra codes, the default jitter.
  auto plain = check_policy_text("plain@1",
                                 R"({"retry": {"max_attempts": 2, "backoff_ms": []}})");
  BOOST_REQUIRE(plain);
  BOOST_CHECK(plain.entry->retry_on.empty());
  BOOST_CHECK_EQUAL(plain.entry->jitter_pct, 10u);
}

BOOST_AUTO_TEST_CASE(defaults_are_left_out_of_the_json_form) {
  auto doc = to_json(default_policy());
  auto* retry = doc.find("retry");
  BOOST_REQUIRE(retry != nullptr);
  BOOST_CHECK(retry->find("retry_on") == nullptr);
  BOOST_CHECK(retry->find("jitter_pct") == nullptr);
  BOOST_CHECK_EQUAL(json::serialize(*retry),
                    R"({"max_attempts":3,"backoff_ms":[1000,5000,15000]})");
  // A jitter other than the default is written, even with no codes.
  auto p = default_policy();
  p.jitter_pct = 50;
  BOOST_CHECK_EQUAL(*to_json(p).find("retry")->find("jitter_pct")->as_int64(), 50);
  BOOST_CHECK(to_json(p).find("retry")->find("retry_on") == nullptr);
}

BOOST_AUTO_TEST_CASE(a_default_policy_stored_before_the_new_members_reads_back_equal) {
  // The row a node wrote for default@1 before retry_on and jitter_pct.
  auto stored = R"({"ref":"default@1","description":"Three attempts; pauses of 1 s, )"
                R"(5 s and 15 s between them.","retry":{"max_attempts":3,)"
                R"("backoff_ms":[1000,5000,15000]}})";
  auto checked = check_policy_text("default@1", stored);
  BOOST_REQUIRE(checked);
  BOOST_CHECK(*checked.entry == default_policy());
  // So the store, holding default@1 already, takes it as the same policy.
  registry_store store;
  BOOST_CHECK(!store.add_policy(*checked.entry));
  // And it is written back exactly as it was stored.
  BOOST_CHECK_EQUAL(json::serialize(to_json(*checked.entry)), stored);
}

BOOST_AUTO_TEST_CASE(a_policy_document_with_bad_retry_on_or_jitter_is_refused) {
  auto check = [](const std::string& retry_members) {
    return check_policy_text("x@1", R"({"retry": {"max_attempts": 2, "backoff_ms": [])"
                                      + retry_members + "}}")
      .problems;
  };
  require_single(check(R"(, "retry_on": "exit_code")"), ec::schema_violation,
                 "/retry/retry_on");
  require_single(check(R"(, "retry_on": ["exit_code", "Exit Code"])"),
                 ec::schema_violation, "/retry/retry_on/1");
  require_single(check(R"(, "retry_on": ["9lives"])"), ec::schema_violation,
                 "/retry/retry_on/0");
  require_single(check(R"(, "retry_on": [""])"), ec::schema_violation,
                 "/retry/retry_on/0");
  require_single(check(R"(, "retry_on": ["exit_code", "timeout", "exit_code"])"),
                 ec::schema_violation, "/retry/retry_on");
  std::string many = R"(, "retry_on": [)";
  for (int i = 0; i < 101; ++i)
    many += (i ? ",\"c" : "\"c") + std::to_string(i) + "\"";
  require_single(check(many + "]"), ec::schema_violation, "/retry/retry_on");
  for (auto* bad : {"101", "-1", "1.5", "\"10\""})
    require_single(check(std::string{R"(, "jitter_pct": )"} + bad),
                   ec::schema_violation, "/retry/jitter_pct");
  BOOST_CHECK(check(R"(, "jitter_pct": 100)").empty());
  BOOST_CHECK(check(R"(, "jitter_pct": 0)").empty());
  // They belong in `retry`, not beside it.
  auto top = check_policy_text("x@1", R"({"jitter_pct": 5, "retry": {)"
                                       R"("max_attempts": 2, "backoff_ms": []}})");
  require_single(top.problems, ec::unknown_field, "/jitter_pct");
}

BOOST_AUTO_TEST_CASE(an_entry_is_held_to_the_rules_of_the_document) {
  // What crosses actors is checked as the file was: the same pointers.
  auto p = eager_policy();
  p.retry_on = {"exit_code", "Exit Code", "exit_code"};
  p.jitter_pct = 101;
  auto got = codes_of(check_policy_entry(p));
  std::vector<std::pair<ec, std::string>> expected{
    {ec::schema_violation, "/retry/retry_on/1"},
    {ec::schema_violation, "/retry/retry_on/2"},
    {ec::schema_violation, "/retry/jitter_pct"}};
  BOOST_CHECK(got == expected);
  p = eager_policy();
  for (int i = 0; i < 101; ++i)
    p.retry_on.push_back("code_" + std::to_string(i));
  require_single(check_policy_entry(p), ec::schema_violation, "/retry/retry_on");
  p.retry_on = {std::string(65, 'a')};
  require_single(check_policy_entry(p), ec::schema_violation, "/retry/retry_on/0");
  BOOST_CHECK(check_policy_text("x@1", R"({"retry": {"max_attempts": 2, "backoff_ms": [],)"
                                       R"( "retry_on": [")" + std::string(65, 'a') + R"("]}})")
                .problems.size() == 1);
  p.retry_on = {std::string(64, 'a')};
  BOOST_CHECK(check_policy_entry(p).empty());
}

BOOST_AUTO_TEST_CASE(the_store_refuses_a_bad_entry_and_keeps_refs_immutable) {
  registry_store store;
  auto p = eager_policy();
  p.jitter_pct = 150;
  BOOST_CHECK(is(store.add_policy(p), ec::schema_violation));
  BOOST_CHECK(!store.policy("eager@2"));
  BOOST_CHECK(!store.add_policy(eager_policy()));
  BOOST_CHECK(!store.add_policy(eager_policy())); // the same again
  auto other = eager_policy();
  other.jitter_pct = 20;
  BOOST_CHECK(is(store.add_policy(other), ec::immutable_ref));
  other = eager_policy();
  other.retry_on = {"exit_code"};
  BOOST_CHECK(is(store.add_policy(other), ec::immutable_ref));
  BOOST_CHECK(*store.policy("eager@2") == eager_policy());
}

BOOST_AUTO_TEST_CASE(readers_and_a_writer_may_share_the_store) {
  auto store = std::make_shared<registry_store>();
  auto resolve = make_schema_resolver(store);
  std::vector<std::thread> readers;
  for (int t = 0; t < 4; ++t)
    readers.emplace_back([&] {
      for (int i = 0; i < 2000; ++i) {
        resolve("s" + std::to_string(i % 50) + "@1");
        store->policies();
      }
    });
  for (int i = 0; i < 50; ++i)
    BOOST_CHECK(!store->add_schema(
      entry_of("s" + std::to_string(i) + "@1",
               R"({"type": "object", "maxProperties": )" + std::to_string(i) + "}")));
  for (auto& t : readers)
    t.join();
  BOOST_CHECK_EQUAL(store->schemas().size(), 50u);
}
