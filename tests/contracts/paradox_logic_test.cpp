#define BOOST_TEST_MODULE paradox_logic
#include <boost/test/unit_test.hpp>

// Paradox's pure logic (contracts/paradox.hpp): the duplicate key of a task
// and the index that turns keys into advice.

#include "contracts/paradox.hpp"

#include <map>
#include <optional>
#include <string>
#include <vector>

using namespace omniva::contracts;
using namespace omniva::paradox;

namespace {

/// A scraper-like module whose duplicates are keyed on two parts of `job`.
module_contract scraper(int64_t version = 1) {
  module_contract c;
  c.name = "scrape";
  c.version = version;
  c.duplicates.mode = duplicate_mode::block;
  c.duplicates.key["job"] = {"/platform", "/target_url"};
  return c;
}

/// The assets the tests' lookups know.
struct asset_table {
  std::map<std::string, asset_record> rows;

  void add_file(const std::string& id, std::string sha,
                asset_status status = asset_status::available) {
    asset_record a;
    a.asset_id = id;
    a.kind = asset_kind::file;
    a.media_type = "video/mp4";
    a.status = status;
    a.sha256 = std::move(sha);
    rows[id] = a;
  }

  void add_value(const std::string& id, std::string json) {
    asset_record a;
    a.asset_id = id;
    a.kind = asset_kind::value;
    a.dtype = "json";
    a.status = asset_status::available;
    a.value_json = std::move(json);
    a.sha256 = std::string(64, 'e');
    rows[id] = a;
  }

  asset_lookup lookup() const {
    return [this](std::string_view id) -> const asset_record* {
      auto i = rows.find(std::string{id});
      return i == rows.end() ? nullptr : &i->second;
    };
  }
};

const std::string sha_a = std::string(64, 'a');
const std::string sha_b = std::string(64, 'b');

/// The key of a task of `c` with only values.
std::string key_of(const module_contract& c,
                   const std::map<std::string, std::string>& values) {
  return duplicate_key(c, {}, values, {});
}

clearance_item item(std::string task, std::string key,
                    duplicate_mode mode = duplicate_mode::allow) {
  return {std::move(task), "scrape@1", std::move(key), mode};
}

} // namespace

// -- the key ---------------------------------------------------------------------------

BOOST_AUTO_TEST_SUITE(duplicate_keys)

BOOST_AUTO_TEST_CASE(is_64_lowercase_hex_digits_and_stable) {
  auto c = scraper();
  std::map<std::string, std::string> v{{"limit", "10"}};
  auto k = key_of(c, v);
  BOOST_REQUIRE_EQUAL(k.size(), 64u);
  for (char ch : k)
    BOOST_CHECK((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f'));
  BOOST_CHECK_EQUAL(key_of(c, v), k);
}

BOOST_AUTO_TEST_CASE(values_count_as_canonical_json) {
  module_contract c;
  c.name = "m";
  c.version = 1;
  auto k1 = key_of(c, {{"cfg", R"({"a":1,"b":[1,2]})"}});
  auto k2 = key_of(c, {{"cfg", R"({ "b" : [1, 2], "a" : 1.0 })"}});
  BOOST_CHECK_EQUAL(k1, k2);
}

BOOST_AUTO_TEST_CASE(a_changed_value_changes_the_key) {
  module_contract c;
  c.name = "m";
  c.version = 1;
  BOOST_CHECK_NE(key_of(c, {{"limit", "10"}}), key_of(c, {{"limit", "11"}}));
  BOOST_CHECK_NE(key_of(c, {{"limit", "10"}}), key_of(c, {{"limit", "\"10\""}}));
}

BOOST_AUTO_TEST_CASE(the_module_ref_counts) {
  std::map<std::string, std::string> v{{"limit", "10"}};
  BOOST_CHECK_NE(key_of(scraper(1), v), key_of(scraper(2), v));
}

BOOST_AUTO_TEST_CASE(parts_are_framed) {
  module_contract c;
  c.name = "m";
  c.version = 1;
  BOOST_CHECK_NE(key_of(c, {{"x1", "2"}}), key_of(c, {{"x", "12"}}));
  // An asset id may hold anything: the one input "a" -> "p" followed by
  // "b" = 2 must not read as the one input "a" -> "pinputbvalue2", which
  // it would if the parts were merely concatenated.
  asset_table t;
  t.add_file("p", "", asset_status::pending);
  t.add_file("pinputbvalue2", "", asset_status::pending);
  BOOST_CHECK_NE(duplicate_key(c, {{"a", "p"}}, {{"b", "2"}}, t.lookup()),
                 duplicate_key(c, {{"a", "pinputbvalue2"}}, {}, t.lookup()));
}

BOOST_AUTO_TEST_CASE(only_inputs_present_in_the_task_count) {
  module_contract c;
  c.name = "m";
  c.version = 1;
  BOOST_CHECK_NE(key_of(c, {{"a", "1"}}), key_of(c, {{"a", "1"}, {"b", "2"}}));
}

BOOST_AUTO_TEST_CASE(pointers_select_the_parts_that_count) {
  auto c = scraper();
  auto base = key_of(c, {{"job", R"({"platform":"yt","target_url":"https://x/1","job_id":"j1","at":"t1"})"}});
  // The ignored parts (a fresh job id, a timestamp) do not count ...
  BOOST_CHECK_EQUAL(
    key_of(c, {{"job", R"({"platform":"yt","target_url":"https://x/1","job_id":"j2","at":"t2"})"}}),
    base);
  // ... the named ones do.
  BOOST_CHECK_NE(
    key_of(c, {{"job", R"({"platform":"tt","target_url":"https://x/1","job_id":"j1","at":"t1"})"}}),
    base);
  BOOST_CHECK_NE(
    key_of(c, {{"job", R"({"platform":"yt","target_url":"https://x/2","job_id":"j1","at":"t1"})"}}),
    base);
}

BOOST_AUTO_TEST_CASE(a_pointer_that_resolves_to_nothing_is_absent_not_null) {
  auto c = scraper();
  auto absent = key_of(c, {{"job", R"({"platform":"yt"})"}});
  auto null = key_of(c, {{"job", R"({"platform":"yt","target_url":null})"}});
  BOOST_CHECK_NE(absent, null);
  BOOST_CHECK_EQUAL(key_of(c, {{"job", R"({"platform":"yt","other":1})"}}), absent);
}

BOOST_AUTO_TEST_CASE(inputs_without_pointers_count_whole) {
  auto c = scraper();
  BOOST_CHECK_NE(key_of(c, {{"opts", R"({"job_id":"j1"})"}}),
                 key_of(c, {{"opts", R"({"job_id":"j2"})"}}));
}

BOOST_AUTO_TEST_CASE(a_value_asset_counts_by_its_value_with_pointers) {
  auto c = scraper();
  asset_table t;
  t.add_value("v1", R"({"platform":"yt","target_url":"u","job_id":"j1"})");
  t.add_value("v2", R"({"platform":"yt","target_url":"u","job_id":"j2"})");
  t.add_value("v3", R"({"platform":"tt","target_url":"u","job_id":"j1"})");
  auto k1 = duplicate_key(c, {{"job", "v1"}}, {}, t.lookup());
  BOOST_CHECK_EQUAL(duplicate_key(c, {{"job", "v2"}}, {}, t.lookup()), k1);
  BOOST_CHECK_NE(duplicate_key(c, {{"job", "v3"}}, {}, t.lookup()), k1);
}

BOOST_AUTO_TEST_CASE(a_file_asset_counts_by_its_content_hash) {
  module_contract c;
  c.name = "m";
  c.version = 1;
  asset_table t;
  t.add_file("f1", sha_a);
  t.add_file("f2", sha_a); // same content, another id
  t.add_file("f3", sha_b);
  auto k1 = duplicate_key(c, {{"video", "f1"}}, {}, t.lookup());
  BOOST_CHECK_EQUAL(duplicate_key(c, {{"video", "f2"}}, {}, t.lookup()), k1);
  BOOST_CHECK_NE(duplicate_key(c, {{"video", "f3"}}, {}, t.lookup()), k1);
}

BOOST_AUTO_TEST_CASE(a_pending_asset_counts_by_its_id) {
  module_contract c;
  c.name = "m";
  c.version = 1;
  asset_table t;
  t.add_file("p1", "", asset_status::pending);
  t.add_file("p2", "", asset_status::pending);
  auto k1 = duplicate_key(c, {{"video", "p1"}}, {}, t.lookup());
  BOOST_CHECK_EQUAL(duplicate_key(c, {{"video", "p1"}}, {}, t.lookup()), k1);
  BOOST_CHECK_NE(duplicate_key(c, {{"video", "p2"}}, {}, t.lookup()), k1);
  // Once its content is known, the hash counts instead of the promise.
  t.add_file("p1", sha_a);
  BOOST_CHECK_NE(duplicate_key(c, {{"video", "p1"}}, {}, t.lookup()), k1);
}

BOOST_AUTO_TEST_CASE(an_asset_and_a_value_under_one_key_differ) {
  module_contract c;
  c.name = "m";
  c.version = 1;
  asset_table t;
  t.add_file("f1", sha_a);
  BOOST_CHECK_NE(duplicate_key(c, {{"x", "f1"}}, {}, t.lookup()),
                 duplicate_key(c, {}, {{"x", "\"" + sha_a + "\""}}, t.lookup()));
}

BOOST_AUTO_TEST_CASE(the_subject_names_the_key) {
  BOOST_CHECK_EQUAL(duplicate_subject("abc"), "dup:abc");
}

BOOST_AUTO_TEST_SUITE_END()

// -- the index ---------------------------------------------------------------------------

BOOST_AUTO_TEST_SUITE(duplicates_index)

BOOST_AUTO_TEST_CASE(the_first_task_of_a_key_is_clear) {
  duplicate_index idx;
  auto a = idx.advise(item("t1", "k"));
  BOOST_CHECK_EQUAL(a.task_id, "t1");
  BOOST_CHECK_EQUAL(a.action, "clear");
  BOOST_CHECK_EQUAL(a.duplicate_of, "");
  BOOST_CHECK_EQUAL(a.key, "k");
  BOOST_CHECK_EQUAL(idx.size(), 1u);
}

BOOST_AUTO_TEST_CASE(a_duplicate_gets_its_contracts_action) {
  duplicate_index idx;
  idx.advise(item("t1", "k"));
  auto allow = idx.advise(item("t2", "k", duplicate_mode::allow));
  BOOST_CHECK_EQUAL(allow.action, "ignore");
  BOOST_CHECK_EQUAL(allow.duplicate_of, "t1");
  auto reuse = idx.advise(item("t3", "k", duplicate_mode::reuse));
  BOOST_CHECK_EQUAL(reuse.action, "reuse");
  BOOST_CHECK_EQUAL(reuse.duplicate_of, "t1");
  auto block = idx.advise(item("t4", "k", duplicate_mode::block));
  BOOST_CHECK_EQUAL(block.action, "block");
  BOOST_CHECK_EQUAL(block.duplicate_of, "t1");
  BOOST_CHECK_EQUAL(idx.size(), 1u);
}

BOOST_AUTO_TEST_CASE(a_task_never_duplicates_itself) {
  duplicate_index idx;
  idx.advise(item("t1", "k", duplicate_mode::block));
  auto again = idx.advise(item("t1", "k", duplicate_mode::block));
  BOOST_CHECK_EQUAL(again.action, "clear");
  BOOST_CHECK_EQUAL(again.duplicate_of, "");
}

BOOST_AUTO_TEST_CASE(other_keys_are_clear) {
  duplicate_index idx;
  idx.advise(item("t1", "k1"));
  BOOST_CHECK_EQUAL(idx.advise(item("t2", "k2", duplicate_mode::block)).action,
                    "clear");
  BOOST_CHECK_EQUAL(idx.size(), 2u);
}

BOOST_AUTO_TEST_CASE(the_durable_index_is_asked_once_per_key) {
  duplicate_index idx;
  int calls = 0;
  durable_lookup durable = [&](std::string_view key) -> std::optional<std::string> {
    ++calls;
    BOOST_CHECK_EQUAL(key, "k");
    return std::string{"old"};
  };
  auto a = idx.advise(item("t1", "k", duplicate_mode::reuse), durable);
  BOOST_CHECK_EQUAL(a.action, "reuse");
  BOOST_CHECK_EQUAL(a.duplicate_of, "old");
  auto b = idx.advise(item("t2", "k", duplicate_mode::block), durable);
  BOOST_CHECK_EQUAL(b.action, "block");
  BOOST_CHECK_EQUAL(b.duplicate_of, "old");
  BOOST_CHECK_EQUAL(calls, 1);
}

BOOST_AUTO_TEST_CASE(a_durable_miss_is_remembered) {
  duplicate_index idx;
  int calls = 0;
  durable_lookup durable = [&](std::string_view) -> std::optional<std::string> {
    ++calls;
    return std::nullopt;
  };
  BOOST_CHECK_EQUAL(idx.advise(item("t1", "k", duplicate_mode::block), durable).action,
                    "clear");
  auto b = idx.advise(item("t2", "k", duplicate_mode::block), durable);
  BOOST_CHECK_EQUAL(b.action, "block");
  BOOST_CHECK_EQUAL(b.duplicate_of, "t1");
  BOOST_CHECK_EQUAL(calls, 1);
}

BOOST_AUTO_TEST_CASE(the_durable_index_naming_the_task_itself_is_clear) {
  // After a restart the task's own `dup:<key>` subject is the first one.
  duplicate_index idx;
  durable_lookup durable = [](std::string_view) -> std::optional<std::string> {
    return std::string{"t1"};
  };
  BOOST_CHECK_EQUAL(idx.advise(item("t1", "k", duplicate_mode::reuse), durable).action,
                    "clear");
  BOOST_CHECK_EQUAL(idx.advise(item("t2", "k", duplicate_mode::reuse), durable).duplicate_of,
                    "t1");
}

BOOST_AUTO_TEST_CASE(allow_items_do_not_ask_the_durable_index) {
  duplicate_index idx;
  int calls = 0;
  durable_lookup durable = [&](std::string_view) -> std::optional<std::string> {
    ++calls;
    return std::string{"old"};
  };
  BOOST_CHECK_EQUAL(idx.advise(item("t1", "k"), durable).action, "clear");
  BOOST_CHECK_EQUAL(calls, 0);
}

BOOST_AUTO_TEST_CASE(a_batch_is_advised_in_order) {
  duplicate_index idx;
  auto out = idx.advise(std::vector<clearance_item>{
    item("t1", "k"), item("t2", "k", duplicate_mode::block), item("t3", "j")});
  BOOST_REQUIRE_EQUAL(out.items.size(), 3u);
  BOOST_CHECK_EQUAL(out.items[0].action, "clear");
  BOOST_CHECK_EQUAL(out.items[1].task_id, "t2");
  BOOST_CHECK_EQUAL(out.items[1].action, "block");
  BOOST_CHECK_EQUAL(out.items[1].duplicate_of, "t1");
  BOOST_CHECK_EQUAL(out.items[2].action, "clear");
}

BOOST_AUTO_TEST_SUITE_END()
