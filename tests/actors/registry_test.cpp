#define BOOST_TEST_MODULE registry
#include <boost/test/unit_test.hpp>

// The registry and Zenith's registration of schemas and policies: first the
// folder scan and the registry's checks as plain functions, then Zenith's
// state methods (each commit read back, the log verified), then both actors
// on CAF's deterministic scheduler.

#include "actors/registry.hpp"
#include "actors/zenith.hpp"
#include "contracts/error_code.hpp"
#include "contracts/json.hpp"
#include "contracts/json_schema.hpp"
#include "contracts/registry_store.hpp"
#include "storage/verify.hpp"
#include "tests/actors/test_support.hpp"

#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

#include <filesystem>
#include <fstream>
#include <set>

using namespace omniva;
using namespace omniva::test_support;
using actors::registry_candidate;
using actors::registry_state;
using actors::zenith_state;
using contracts::ec;
using contracts::registry_item;
using contracts::registry_kind;
using contracts::registry_outcome;

namespace fs = std::filesystem;

namespace {

// -- helpers ------------------------------------------------------------------------

void write(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream out{path, std::ios::binary | std::ios::trunc};
  out << text;
}

/// A schema: an object with a required string `title`.
const std::string title_schema = R"({
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "title": "Titled", "type": "object", "required": ["title"],
  "properties": {"title": {"type": "string"}}
})";

/// Another content for the same ref.
const std::string other_schema = R"({"type": "object", "required": ["name"]})";

/// A policy of two attempts.
const std::string twice_policy
  = R"({"description": "Once more after 2 s.", "retry": {"max_attempts": 2, "backoff_ms": [2000]}})";

/// A module whose VALUE input `doc` must satisfy schema `schema_ref` and
/// whose JSON output promises it.
std::string module_naming(const std::string& name, const std::string& schema_ref) {
  return module_json(name, "Names a schema.",
                     R"([{"key": "doc", "label": "Doc", "contract_type": "VALUE",
                          "dtype": "json", "constraints": {"schema": ")"
                       + schema_ref + R"("}}])",
                     json_result_output(schema_ref));
}

contracts::schema_entry schema_entry_of(const std::string& ref,
                                        const std::string& text) {
  auto checked = contracts::check_schema_text(ref, text);
  BOOST_REQUIRE_MESSAGE(checked, ref << " does not check");
  return *checked.entry;
}

std::vector<std::string> kinds_of(const std::vector<contracts::packet>& xs) {
  std::vector<std::string> out;
  for (auto& p : xs)
    out.push_back(p.kind);
  return out;
}

// -- the state fixture ------------------------------------------------------------------

/// Zenith's state on a fresh database (its first start committed), and a
/// registry state sharing Zenith's store and reading the database.
struct state_fixture : zenith_state_fixture {
  temp_dir modules{"omniva-registry-"};
  registry_state reg;

  state_fixture() : zenith_state_fixture("omniva-registry-", 7) {
    start();
    commit();
  }

  void start() {
    open();
    reg.store = st->config.registry;
    reg.reader = db->read;
  }

  void restart() {
    close();
    reg.store.reset();
    reg.reader.reset();
    start();
  }

  /// Commits and runs what follows a commit (the store's updates, then the
  /// replies), as Zenith's flush does; requires a log that verifies.
  void commit() {
    for (auto& f : zenith_state_fixture::commit().replies)
      f();
  }

  /// The kinds of the packets naming `subject`, oldest first.
  std::vector<std::string> history(const std::string& subject) {
    auto h = db->read->history(subject);
    BOOST_REQUIRE(h);
    return kinds_of(*h);
  }

  /// Registers schema `ref` with `text` and commits.
  void register_schema(const std::string& ref, const std::string& text) {
    auto r = st->register_schema(schema_entry_of(ref, text));
    BOOST_REQUIRE_MESSAGE(r, "register_schema failed: " << why(r));
    commit();
  }
};

} // namespace

// -- scanning the folders ---------------------------------------------------------------

BOOST_AUTO_TEST_SUITE(scanning)

BOOST_AUTO_TEST_CASE(a_scan_finds_schemas_then_policies_then_modules) {
  temp_dir d;
  write(d.path / "zeta" / "module.json", "{}");
  write(d.path / "alpha" / "module.json", "{}");
  write(d.path / "alpha" / "schemas" / "alpha.out@2.json", title_schema);
  write(d.path / "schemas" / "shared.doc@1.json", title_schema);
  write(d.path / "schemas" / "README.md", "not a schema");
  write(d.path / "policies" / "twice@1.json", twice_policy);
  write(d.path / "not_a_module" / "notes.txt", "no module.json here");
  auto found = actors::scan_module_dirs({d.path.string()});
  BOOST_CHECK(found.problems.empty());
  std::vector<std::pair<registry_kind, std::string>> got;
  for (auto& c : found.candidates)
    got.emplace_back(c.kind, c.kind == registry_kind::module
                               ? fs::path{c.path}.filename().string()
                               : c.ref);
  std::vector<std::pair<registry_kind, std::string>> want{
    {registry_kind::schema, "shared.doc@1"}, {registry_kind::schema, "alpha.out@2"},
    {registry_kind::policy, "twice@1"},      {registry_kind::module, "alpha"},
    {registry_kind::module, "zeta"}};
  BOOST_CHECK(got == want);
  for (auto& c : found.candidates)
    BOOST_CHECK(fs::path{c.path}.is_absolute());
}

BOOST_AUTO_TEST_CASE(a_folder_that_is_a_module_itself_is_one_module) {
  temp_dir d;
  write(d.path / "module.json", "{}");
  write(d.path / "schemas" / "own.doc@1.json", title_schema);
  auto found = actors::scan_module_dirs({d.path.string()});
  BOOST_REQUIRE_EQUAL(found.candidates.size(), 2u);
  BOOST_CHECK(found.candidates[0].kind == registry_kind::schema);
  BOOST_CHECK(found.candidates[1].kind == registry_kind::module);
  BOOST_CHECK_EQUAL(found.candidates[1].path, d.path.lexically_normal().string());
}

BOOST_AUTO_TEST_CASE(a_json_file_not_named_after_a_ref_is_refused) {
  temp_dir d;
  write(d.path / "schemas" / "metadata.json", title_schema);
  write(d.path / "policies" / "fast@0.json", twice_policy);
  auto found = actors::scan_module_dirs({d.path.string()});
  BOOST_CHECK(found.candidates.empty());
  BOOST_REQUIRE_EQUAL(found.problems.size(), 2u);
  for (auto& p : found.problems) {
    BOOST_CHECK(p.outcome == registry_outcome::refused);
    BOOST_CHECK(p.error.code == ec::invalid_ref);
  }
}

BOOST_AUTO_TEST_CASE(a_missing_folder_is_a_refused_folder_item) {
  auto found = actors::scan_module_dirs({"/nonexistent/omniva/modules"});
  BOOST_CHECK(found.candidates.empty());
  BOOST_REQUIRE_EQUAL(found.problems.size(), 1u);
  BOOST_CHECK(found.problems[0].kind == registry_kind::folder);
  BOOST_CHECK(found.problems[0].error.code == ec::not_found);
}

BOOST_AUTO_TEST_CASE(a_module_folder_brings_its_own_schemas_first) {
  temp_dir d;
  write(d.path / "module.json", "{}");
  write(d.path / "schemas" / "own.doc@1.json", title_schema);
  write(d.path / "policies" / "twice@1.json", twice_policy);
  auto found = actors::scan_module_folder(d.path.string());
  BOOST_REQUIRE_EQUAL(found.candidates.size(), 3u);
  BOOST_CHECK(found.candidates[0].kind == registry_kind::schema);
  BOOST_CHECK(found.candidates[1].kind == registry_kind::policy);
  BOOST_CHECK(found.candidates[2].kind == registry_kind::module);
}

BOOST_AUTO_TEST_CASE(a_file_over_one_mebibyte_is_too_large) {
  temp_dir d;
  write(d.path / "big.json", std::string(actors::max_registry_file + 1, ' '));
  auto text = actors::read_registry_file((d.path / "big.json").string());
  BOOST_CHECK(!text && is(text.error(), ec::too_large));
  auto none = actors::read_registry_file((d.path / "none.json").string());
  BOOST_CHECK(!none && is(none.error(), ec::not_found));
}

BOOST_AUTO_TEST_SUITE_END()

// -- the registry's checks ----------------------------------------------------------------

BOOST_FIXTURE_TEST_SUITE(registry_checks, state_fixture)

BOOST_AUTO_TEST_CASE(a_contract_naming_an_unknown_schema_is_invalid_ref) {
  write(modules.path / "m" / "module.json", module_naming("namer", "test.doc@1"));
  auto step = reg.prepare({registry_kind::module, "", (modules.path / "m").string()});
  auto* item = std::get_if<registry_item>(&step);
  BOOST_REQUIRE(item != nullptr);
  BOOST_CHECK(item->outcome == registry_outcome::refused);
  BOOST_CHECK(item->error.code == ec::invalid_ref);
  BOOST_CHECK_EQUAL(item->error.pointer, "/inputs/0/constraints/schema");
  BOOST_CHECK_EQUAL(item->ref, "namer@1");
  BOOST_CHECK_NE(item->error.message.find("test.doc@1"), std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_contract_naming_a_registered_schema_checks) {
  register_schema("test.doc@1", title_schema);
  write(modules.path / "m" / "module.json", module_naming("namer", "test.doc@1"));
  auto step = reg.prepare({registry_kind::module, "", (modules.path / "m").string()});
  auto* entry = std::get_if<contracts::module_entry>(&step);
  BOOST_REQUIRE(entry != nullptr);
  BOOST_CHECK_EQUAL(entry->contract.ref(), "namer@1");
  BOOST_CHECK_EQUAL(entry->contract.inputs.at(0).schema_ref, "test.doc@1");
  BOOST_CHECK_EQUAL(entry->dir, (modules.path / "m").string());
}

BOOST_AUTO_TEST_CASE(a_contract_naming_a_shipped_schema_needs_no_registration) {
  write(modules.path / "m" / "module.json", module_naming("clips", "ClipCandidate"));
  auto step = reg.prepare({registry_kind::module, "", (modules.path / "m").string()});
  BOOST_CHECK(std::holds_alternative<contracts::module_entry>(step));
}

BOOST_AUTO_TEST_CASE(a_module_registered_with_the_same_content_is_unchanged) {
  auto path = modules.path / "m";
  write(path / "module.json", module_naming("clips", "ClipCandidate"));
  auto step = reg.prepare({registry_kind::module, "", path.string()});
  auto* entry = std::get_if<contracts::module_entry>(&step);
  BOOST_REQUIRE(entry != nullptr);
  BOOST_REQUIRE(st->enroll(*entry));
  commit();
  auto again = reg.prepare({registry_kind::module, "", path.string()});
  auto* item = std::get_if<registry_item>(&again);
  BOOST_REQUIRE(item != nullptr);
  BOOST_CHECK(item->outcome == registry_outcome::unchanged);
  BOOST_CHECK_EQUAL(item->ref, "clips@1");
}

BOOST_AUTO_TEST_CASE(a_schema_file_with_registered_content_is_unchanged) {
  register_schema("test.doc@1", title_schema);
  auto file = modules.path / "schemas" / "test.doc@1.json";
  // Other spacing and member order: the same canonical document.
  write(file, R"({"required":["title"],"type":"object","title":"Titled",
    "properties":{"title":{"type":"string"}},
    "$schema":"https://json-schema.org/draft/2020-12/schema"})");
  auto step = reg.prepare({registry_kind::schema, "test.doc@1", file.string()});
  auto* item = std::get_if<registry_item>(&step);
  BOOST_REQUIRE(item != nullptr);
  BOOST_CHECK(item->outcome == registry_outcome::unchanged);
  // Other content goes to Zenith, which refuses it (below).
  write(file, other_schema);
  auto changed = reg.prepare({registry_kind::schema, "test.doc@1", file.string()});
  BOOST_CHECK(std::holds_alternative<contracts::schema_entry>(changed));
}

BOOST_AUTO_TEST_CASE(a_schema_that_does_not_compile_is_invalid_schema_at_its_keyword) {
  auto file = modules.path / "schemas" / "broken@1.json";
  write(file, R"({"type": "object", "properties": {"n": {"type": "integr"}}})");
  auto step = reg.prepare({registry_kind::schema, "broken@1", file.string()});
  auto* item = std::get_if<registry_item>(&step);
  BOOST_REQUIRE(item != nullptr);
  BOOST_CHECK(item->error.code == ec::invalid_schema);
  BOOST_CHECK_EQUAL(item->error.pointer, "/properties/n/type");
  auto not_json = reg.check_schema("broken@1", "{");
  BOOST_CHECK(!not_json && is(not_json.error(), ec::invalid_json));
  auto bad_ref = reg.check_schema("no-version", title_schema);
  BOOST_CHECK(!bad_ref && is(bad_ref.error(), ec::invalid_ref));
}

BOOST_AUTO_TEST_CASE(a_policy_file_is_checked_field_by_field) {
  auto ok = reg.check_policy("twice@1", twice_policy);
  BOOST_REQUIRE_MESSAGE(ok, why(ok));
  BOOST_CHECK_EQUAL(ok->max_attempts, 2u);
  BOOST_CHECK(ok->backoff_ms == std::vector<uint32_t>{2000});
  BOOST_CHECK_EQUAL(ok->description, "Once more after 2 s.");
  struct bad_case {
    std::string text;
    ec code;
    std::string pointer;
  };
  std::vector<bad_case> cases{
    {R"({"retry": {"max_attempts": 0, "backoff_ms": []}})", ec::schema_violation,
     "/retry/max_attempts"},
    {R"({"retry": {"max_attempts": 2, "backoff_ms": [-1]}})", ec::schema_violation,
     "/retry/backoff_ms/0"},
    {R"({"retry": {"max_attempts": 2}})", ec::missing_field, "/retry/backoff_ms"},
    {R"({"retry": {"max_attempts": 2, "backoff_ms": []}, "jitter": true})",
     ec::unknown_field, "/jitter"},
    {R"({"ref": "other@1", "retry": {"max_attempts": 2, "backoff_ms": []}})",
     ec::invalid_ref, "/ref"},
  };
  for (auto& c : cases) {
    auto checked = contracts::check_policy_text("twice@1", c.text);
    BOOST_REQUIRE_MESSAGE(!checked, c.text);
    BOOST_CHECK_MESSAGE(checked.problems.front().code == c.code, c.text);
    BOOST_CHECK_EQUAL(checked.problems.front().pointer, c.pointer);
  }
}

BOOST_AUTO_TEST_SUITE_END()

// -- Zenith's registration ------------------------------------------------------------------

BOOST_FIXTURE_TEST_SUITE(zenith_registration, state_fixture)

BOOST_AUTO_TEST_CASE(a_first_start_registers_the_default_policy_once) {
  BOOST_CHECK(st->policies.at("default@1") == contracts::default_policy());
  auto row = db->read->get(storage::table::policies, "default@1");
  BOOST_REQUIRE_MESSAGE(row, why(row));
  auto doc = json::parse(*row);
  BOOST_REQUIRE(doc);
  BOOST_CHECK_EQUAL(*json::resolve_pointer(*doc.doc, "/retry/max_attempts")->as_int64(), 3);
  BOOST_CHECK(*json::resolve_pointer(*doc.doc, "/retry/backoff_ms")
              == json::value(json::array{1000, 5000, 15000}));
  BOOST_CHECK(history("default@1") == std::vector<std::string>{"policy.registered"});
  restart();
  BOOST_CHECK(st->batch.empty());
  BOOST_CHECK(st->policies.count("default@1") == 1);
  BOOST_CHECK(history("default@1") == std::vector<std::string>{"policy.registered"});
}

BOOST_AUTO_TEST_CASE(readers_see_a_schema_only_after_its_commit) {
  auto r = st->register_schema(schema_entry_of("test.doc@1", title_schema));
  BOOST_REQUIRE_MESSAGE(r, why(r));
  BOOST_CHECK_EQUAL(*r, "test.doc@1");
  BOOST_CHECK(st->config.registry->find_schema("test.doc@1") == nullptr);
  commit();
  auto compiled = st->config.registry->find_schema("test.doc@1");
  BOOST_REQUIRE(compiled != nullptr);
  BOOST_CHECK(compiled->validate_text(R"({"title": "x"})").valid);
  BOOST_CHECK(!compiled->validate_text(R"({"name": "x"})").valid);
  BOOST_CHECK(history("test.doc@1") == std::vector<std::string>{"schema.registered"});
  auto row = db->read->get(storage::table::schemas, "test.doc@1");
  BOOST_REQUIRE_MESSAGE(row, why(row));
  auto packet = db->read->history("test.doc@1");
  BOOST_REQUIRE(packet && packet->size() == 1);
  auto payload = json::parse(packet->front().payload);
  BOOST_CHECK_EQUAL(payload.doc->find("sha256")->as_string(),
                    contracts::to_hex(contracts::sha256(
                      schema_entry_of("test.doc@1", title_schema).canonical_json)));
}

BOOST_AUTO_TEST_CASE(the_same_schema_ref_with_other_content_is_immutable_ref) {
  register_schema("test.doc@1", title_schema);
  auto again = st->register_schema(schema_entry_of("test.doc@1", title_schema));
  BOOST_CHECK_MESSAGE(again, why(again));
  BOOST_CHECK(st->batch.empty());
  auto other = st->register_schema(schema_entry_of("test.doc@1", other_schema));
  BOOST_REQUIRE(!other);
  BOOST_CHECK_MESSAGE(is(other.error(), ec::immutable_ref), text_of(other.error()));
  BOOST_CHECK(st->batch.empty());
  // A new version is a new ref.
  BOOST_CHECK(st->register_schema(schema_entry_of("test.doc@2", other_schema)));
}

BOOST_AUTO_TEST_CASE(zenith_checks_what_crossed_the_wire) {
  auto bad_ref = st->register_schema({"nope", "{}"});
  BOOST_CHECK(!bad_ref && is(bad_ref.error(), ec::invalid_ref));
  auto not_json = st->register_schema({"x@1", "{"});
  BOOST_CHECK(!not_json && is(not_json.error(), ec::invalid_json));
  auto policy = contracts::default_policy();
  policy.ref = "zero@1";
  policy.max_attempts = 0;
  auto bad_policy = st->register_policy(policy);
  BOOST_CHECK(!bad_policy && is(bad_policy.error(), ec::schema_violation));
  BOOST_CHECK(st->batch.empty());
}

BOOST_AUTO_TEST_CASE(the_same_policy_ref_with_other_content_is_immutable_ref) {
  auto changed = contracts::default_policy();
  changed.max_attempts = 5;
  auto r = st->register_policy(changed);
  BOOST_REQUIRE(!r);
  BOOST_CHECK(is(r.error(), ec::immutable_ref));
  BOOST_CHECK(st->register_policy(contracts::default_policy()));
  BOOST_CHECK(st->batch.empty());
}

BOOST_AUTO_TEST_CASE(schemas_and_policies_survive_a_restart) {
  register_schema("test.doc@1", title_schema);
  auto twice = reg.check_policy("twice@1", twice_policy);
  BOOST_REQUIRE(twice);
  BOOST_REQUIRE(st->register_policy(*twice));
  commit();
  restart();
  BOOST_CHECK(st->batch.empty());
  BOOST_CHECK(st->config.registry->find_schema("test.doc@1") != nullptr);
  BOOST_CHECK(st->config.registry->policy("twice@1") == *twice);
  BOOST_CHECK(st->config.registry->policy("default@1") == contracts::default_policy());
  auto other = st->register_schema(schema_entry_of("test.doc@1", other_schema));
  BOOST_CHECK(!other && is(other.error(), ec::immutable_ref));
}

BOOST_AUTO_TEST_CASE(pre_flight_checks_values_against_registered_schemas) {
  register_schema("test.doc@1", title_schema);
  auto entry = reg.check_module(module_naming("namer", "test.doc@1"), "/modules/m");
  BOOST_REQUIRE_MESSAGE(entry, why(entry));
  BOOST_REQUIRE(st->enroll(*entry));
  commit();
  contracts::task_request bad;
  bad.module_ref = "namer@1";
  bad.values["doc"] = R"({"name": "no title"})";
  auto refused = st->submit(bad);
  BOOST_REQUIRE(!refused.ok);
  BOOST_CHECK(refused.problems.front().code == ec::missing_field
              || refused.problems.front().code == ec::schema_violation);
  BOOST_CHECK_EQUAL(refused.problems.front().pointer, "/values/doc/title");
  contracts::task_request good = bad;
  good.values["doc"] = R"({"title": "a title"})";
  auto accepted = st->submit(good);
  BOOST_CHECK(accepted.ok);
}

BOOST_AUTO_TEST_SUITE_END()

// -- the actors on CAF's deterministic scheduler ------------------------------------------

namespace {

/// Zenith, a pool that runs nothing (its orders go unread), and the
/// registry over folder `modules`, on the test coordinator.
struct actor_fixture : zenith_actor_fixture {
  temp_dir modules{"omniva-registry-"};
  std::shared_ptr<contracts::registry_store> store
    = std::make_shared<contracts::registry_store>();
  actors::registry_actor registry;

  actor_fixture() : zenith_actor_fixture("omniva-registry-") {
    actors::zenith_config zc;
    zc.pools = {test_pool(1)};
    zc.registry = store;
    spawn_zenith(zc);
    registry = sys.spawn(actors::registry,
                         actors::registry_config{{modules.path.string()}}, store,
                         db->read, zenith);
    sched.run();
  }

  ~actor_fixture() {
    // The registry first; Zenith and the pool follow (the base fixture).
    caf::anon_send_exit(registry, caf::exit_reason::user_shutdown);
  }

  contracts::registry_report rescan() {
    auto h = self->request(registry, caf::infinite, atom::rescan_v,
                           std::string{"node"});
    sched.run();
    contracts::registry_report out;
    h.receive([&](contracts::registry_report& r) { out = std::move(r); },
              [](caf::error& e) { BOOST_FAIL(text_of(e)); });
    return out;
  }

  /// Sends `xs` to the registry and returns its answer.
  template <class... Ts>
  caf::expected<std::string> ask(Ts... xs) {
    // Every request is made on behalf of the operator "tester".
    auto h = self->request(registry, caf::infinite, xs..., std::string{"tester"});
    sched.run();
    caf::expected<std::string> out{std::string{}};
    h.receive([&](std::string& ref) { out = std::move(ref); },
              [&](caf::error& e) { out = std::move(e); });
    return out;
  }
};

std::vector<std::tuple<registry_kind, std::string, registry_outcome>>
outcomes(const contracts::registry_report& r) {
  std::vector<std::tuple<registry_kind, std::string, registry_outcome>> out;
  for (auto& i : r.items)
    out.emplace_back(i.kind, i.ref, i.outcome);
  return out;
}

} // namespace

BOOST_FIXTURE_TEST_SUITE(registry_actor_tests, actor_fixture)

BOOST_AUTO_TEST_CASE(zenith_commits_the_default_policy_at_its_first_start) {
  BOOST_CHECK_EQUAL(zenith_st().commits, 1u);
  BOOST_CHECK(db->read->get(storage::table::policies, "default@1"));
}

BOOST_AUTO_TEST_CASE(a_rescan_registers_schemas_before_the_modules_naming_them) {
  // The module sorts before the folder bringing the schema it names.
  write(modules.path / "a_namer" / "module.json", module_naming("namer", "test.doc@1"));
  write(modules.path / "z_provider" / "module.json", module_naming("provider", "ClipCandidate"));
  write(modules.path / "z_provider" / "schemas" / "test.doc@1.json", title_schema);
  write(modules.path / "policies" / "twice@1.json", twice_policy);
  auto first = rescan();
  using o = registry_outcome;
  std::vector<std::tuple<registry_kind, std::string, registry_outcome>> want{
    {registry_kind::schema, "test.doc@1", o::registered},
    {registry_kind::policy, "twice@1", o::registered},
    {registry_kind::module, "namer@1", o::registered},
    {registry_kind::module, "provider@1", o::registered}};
  BOOST_CHECK(outcomes(first) == want);
  BOOST_CHECK(store->find_schema("test.doc@1") != nullptr);
  BOOST_CHECK(store->policy("twice@1").has_value());
  BOOST_CHECK_EQUAL(zenith_st().modules.count("namer@1"), 1u);
  // Nothing new: everything unchanged, nothing committed.
  auto commits = zenith_st().commits;
  auto second = rescan();
  for (auto& w : want)
    std::get<2>(w) = o::unchanged;
  BOOST_CHECK(outcomes(second) == want);
  BOOST_CHECK_EQUAL(zenith_st().commits, commits);
  auto report = storage::verify(*db->read);
  BOOST_CHECK_MESSAGE(report.ok, report.reason);
}

BOOST_AUTO_TEST_CASE(a_rescan_reports_what_it_refuses_and_registers_the_rest) {
  write(modules.path / "orphan" / "module.json", module_naming("orphan", "nowhere.doc@1"));
  write(modules.path / "fine" / "module.json", module_naming("fine", "ClipCandidate"));
  write(modules.path / "schemas" / "test.doc@1.json", title_schema);
  BOOST_REQUIRE_EQUAL(rescan().count(registry_outcome::registered), 2u);
  // The schema file and a contract change under the same refs: Zenith
  // refuses both.
  write(modules.path / "schemas" / "test.doc@1.json", other_schema);
  auto changed = module_naming("fine", "ClipCandidate");
  changed.replace(changed.find("Names a schema."), 15, "Changed, same ref.");
  write(modules.path / "fine" / "module.json", changed);
  auto report = rescan();
  BOOST_CHECK_EQUAL(report.count(registry_outcome::refused), 3u);
  std::set<std::string> refs;
  for (auto& item : report.items) {
    refs.insert(item.ref);
    BOOST_CHECK(item.outcome == registry_outcome::refused);
    if (item.ref == "orphan@1") {
      BOOST_CHECK(item.error.code == ec::invalid_ref);
      BOOST_CHECK_EQUAL(item.error.pointer, "/inputs/0/constraints/schema");
    } else {
      BOOST_CHECK_MESSAGE(item.error.code == ec::immutable_ref, item.ref);
    }
  }
  BOOST_CHECK(refs == (std::set<std::string>{"test.doc@1", "orphan@1", "fine@1"}));
  // The first content stays.
  BOOST_CHECK(store->schema("test.doc@1")->canonical_json
              == schema_entry_of("test.doc@1", title_schema).canonical_json);
}

BOOST_AUTO_TEST_CASE(loading_a_module_folder_answers_its_ref_or_why_not) {
  auto folder = modules.path / "namer";
  write(folder / "module.json", module_naming("namer", "test.doc@1"));
  auto refused = ask(atom::load_v, folder.string());
  BOOST_REQUIRE(!refused);
  BOOST_CHECK_MESSAGE(is(refused.error(), ec::invalid_ref), text_of(refused.error()));
  auto p = contracts::problem_from_error(refused.error());
  BOOST_REQUIRE(p);
  BOOST_CHECK_EQUAL(p->pointer, "/inputs/0/constraints/schema");
  // The folder brings the schema: now it registers.
  write(folder / "schemas" / "test.doc@1.json", title_schema);
  auto ref = ask(atom::load_v, folder.string());
  BOOST_CHECK_MESSAGE(ref && *ref == "namer@1", why(ref));
  auto none = ask(atom::load_v, (modules.path / "nowhere").string());
  BOOST_CHECK(!none && is(none.error(), ec::not_found));
}

BOOST_AUTO_TEST_CASE(a_schema_and_a_module_registered_by_request) {
  auto refused = ask(atom::enroll_v, module_naming("namer", "test.doc@1"),
                     std::string{});
  BOOST_CHECK(!refused && is(refused.error(), ec::invalid_ref));
  auto ref = ask(atom::schema_v, std::string{"test.doc@1"}, title_schema);
  BOOST_REQUIRE_MESSAGE(ref, why(ref));
  // The answer came after the commit: the store has it already.
  BOOST_CHECK(store->find_schema("test.doc@1") != nullptr);
  auto module = ask(atom::enroll_v, module_naming("namer", "test.doc@1"),
                    std::string{});
  BOOST_CHECK_MESSAGE(module && *module == "namer@1", why(module));
  auto other = ask(atom::schema_v, std::string{"test.doc@1"}, other_schema);
  BOOST_CHECK(!other && is(other.error(), ec::immutable_ref));
  auto broken = ask(atom::schema_v, std::string{"broken@1"},
                    std::string{R"({"type": 12})"});
  BOOST_REQUIRE(!broken);
  BOOST_CHECK(is(broken.error(), ec::invalid_schema));
  BOOST_CHECK_EQUAL(contracts::problem_from_error(broken.error())->pointer, "/type");
}

BOOST_AUTO_TEST_SUITE_END()
