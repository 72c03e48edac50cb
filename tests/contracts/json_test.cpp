#define BOOST_TEST_MODULE json
#include <boost/test/unit_test.hpp>

#include <limits>

#include "contracts/json.hpp"

using namespace omniva;

BOOST_AUTO_TEST_CASE(parse_keeps_member_order_and_number_kinds) {
  auto r = json::parse(R"({"b": 1, "a": [true, null, 2.5, "x", 18446744073709551615]})");
  BOOST_REQUIRE(r);
  auto& obj = r.doc->as_object();
  BOOST_TEST(obj[0].first == "b");
  BOOST_TEST(obj[1].first == "a");
  BOOST_TEST((r.doc->find("b")->type() == json::kind::integer));
  auto& xs = r.doc->find("a")->as_array();
  BOOST_TEST((xs[2].type() == json::kind::number));
  BOOST_TEST((xs[4].type() == json::kind::unsigned_integer));
}

BOOST_AUTO_TEST_CASE(parse_errors_are_sentences) {
  BOOST_TEST(!json::parse(""));
  BOOST_TEST(json::parse("").error.message.find("empty") != std::string::npos);
  auto deep = std::string(5000, '[') + std::string(5000, ']');
  auto r = json::parse(deep);
  BOOST_TEST(!r);
  BOOST_TEST(r.error.message.find("nested too deeply") != std::string::npos);
  BOOST_TEST(!json::parse("[1,]"));
  BOOST_TEST(!json::parse("1e400"));
  BOOST_TEST(!json::parse("\"\xff\""));
}

BOOST_AUTO_TEST_CASE(integers_beyond_64_bits_become_numbers) {
  auto r = json::parse(R"({"n": 123456789012345678901234, "s": "123456789012345678901234"})");
  BOOST_REQUIRE(r);
  BOOST_TEST((r.doc->find("n")->type() == json::kind::number));
  BOOST_TEST(r.doc->find("n")->as_double() == 1.23456789012345678901234e23);
  BOOST_TEST(r.doc->find("s")->as_string() == "123456789012345678901234");
}

BOOST_AUTO_TEST_CASE(negative_19_digit_integers_below_int64_become_numbers) {
  // Fuzzing finding 1 (docs/fuzzing.md): the writer prints such a double as
  // a 19-digit integer literal, which the reader refused.
  auto below = json::parse("-9223372036875487232");
  BOOST_REQUIRE_MESSAGE(below, below.error.message);
  BOOST_TEST((below.doc->type() == json::kind::number));
  BOOST_TEST(below.doc->as_double() == -9223372036875487232.0);
  auto min = json::parse("-9223372036854775808");
  BOOST_REQUIRE(min);
  BOOST_TEST(*min.doc->as_int64() == std::numeric_limits<int64_t>::min());
  auto found = json::parse("-9223372036875487903.99");
  BOOST_REQUIRE(found);
  auto again = json::parse(json::serialize(*found.doc));
  BOOST_REQUIRE_MESSAGE(again, again.error.message);
  BOOST_TEST((*again.doc == *found.doc));
}

BOOST_AUTO_TEST_CASE(duplicate_keys_keep_the_last_value) {
  auto r = json::parse(R"({"a": 1, "a": 2})");
  BOOST_REQUIRE(r);
  BOOST_TEST(r.doc->as_object().size() == 1u);
  BOOST_TEST(*r.doc->find("a")->as_int64() == 2);
}

BOOST_AUTO_TEST_CASE(equality_compares_numbers_by_value_and_ignores_member_order) {
  BOOST_TEST((*json::parse("1") .doc == *json::parse("1.0").doc));
  BOOST_TEST((*json::parse(R"({"a":1,"b":[2]})").doc
              == *json::parse(R"({"b":[2.0],"a":1})").doc));
  BOOST_TEST(!(*json::parse("[1,2]").doc == *json::parse("[2,1]").doc));
  BOOST_TEST(!(*json::parse("true").doc == *json::parse("1").doc));
}

BOOST_AUTO_TEST_CASE(serialize_round_trips_and_escapes) {
  auto text = R"({"s":"a\"b\\c\n\u0001","n":-3,"d":0.1,"e":[],"o":{}})";
  auto r = json::parse(text);
  BOOST_REQUIRE(r);
  BOOST_TEST(json::serialize(*r.doc) == text);
}

BOOST_AUTO_TEST_CASE(canonical_form_sorts_keys_and_normalises_numbers) {
  auto a = json::parse(R"({"b": 1.0, "a": {"y": [1e2], "x": "s"}})");
  auto b = json::parse(R"({"a":{"x":"s","y":[100]},"b":1})");
  BOOST_TEST(json::serialize(*a.doc, json::style::canonical)
             == R"({"a":{"x":"s","y":[100]},"b":1})");
  BOOST_TEST(json::serialize(*a.doc, json::style::canonical)
             == json::serialize(*b.doc, json::style::canonical));
}

BOOST_AUTO_TEST_CASE(pretty_output_indents) {
  json::value v;
  v.set("a", 1);
  v.set("b", json::array{1, 2});
  BOOST_TEST(json::serialize(v, json::style::pretty)
             == "{\n  \"a\": 1,\n  \"b\": [\n    1,\n    2\n  ]\n}");
}

BOOST_AUTO_TEST_CASE(set_replaces_and_erase_removes) {
  json::value v;
  v.set("a", 1);
  v.set("a", "two");
  BOOST_TEST(v.find("a")->as_string() == "two");
  BOOST_TEST(v.erase("a"));
  BOOST_TEST(!v.erase("a"));
  BOOST_TEST(v.as_object().empty());
}

BOOST_AUTO_TEST_CASE(json_pointers_resolve_and_escape) {
  auto r = json::parse(R"({"a/b": {"c~d": [10, 20]}})");
  BOOST_REQUIRE(r);
  BOOST_TEST(json::resolve_pointer(*r.doc, "/a~1b/c~0d/1")->as_int64().value() == 20);
  BOOST_TEST(json::resolve_pointer(*r.doc, "") == &*r.doc);
  BOOST_TEST(json::resolve_pointer(*r.doc, "/a~1b/c~0d/2") == nullptr);
  BOOST_TEST(json::resolve_pointer(*r.doc, "/a~1b/c~0d/01") == nullptr);
  BOOST_TEST(json::resolve_pointer(*r.doc, "/x~2") == nullptr);
  BOOST_TEST(json::resolve_pointer(*r.doc, "nope") == nullptr);
  BOOST_TEST(json::append_pointer("/input_mapping", "a/b") == "/input_mapping/a~1b");
  BOOST_TEST(json::append_pointer("/xs", size_t{3}) == "/xs/3");
}
