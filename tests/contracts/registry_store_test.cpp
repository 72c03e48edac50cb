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
