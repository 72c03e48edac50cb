#define BOOST_TEST_MODULE json
#include <boost/test/unit_test.hpp>

#include <limits>
#include <string>
#include <vector>

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

// -- duplicate members ------------------------------------------------------------

BOOST_AUTO_TEST_CASE(duplicate_keys_are_refused_with_the_pointer_of_the_second) {
  auto r = json::parse(R"({"a": 1, "b": {"x": [0, {"k": 1, "k~/": 2, "k": 3}]}})",
                       json::default_max_depth, json::duplicates::refuse);
  BOOST_REQUIRE(!r);
  BOOST_TEST(r.error.duplicate_key);
  BOOST_TEST(r.error.pointer == "/b/x/1/k");
  BOOST_TEST(r.error.message.find("\"k\" appears twice") != std::string::npos);
  auto top = json::parse(R"({"a": 1, "a": 2})", json::default_max_depth,
                         json::duplicates::refuse);
  BOOST_REQUIRE(!top);
  BOOST_TEST(top.error.pointer == "/a");
  auto escaped = json::parse(R"({"m": {"a/b": 1, "a/b": 1}})",
                             json::default_max_depth, json::duplicates::refuse);
  BOOST_TEST(escaped.error.pointer == "/m/a~1b");
  // Not JSON at all is no duplicate.
  auto broken = json::parse("{", json::default_max_depth, json::duplicates::refuse);
  BOOST_TEST(!broken.error.duplicate_key);
  BOOST_TEST(broken.error.pointer.empty());
}

BOOST_AUTO_TEST_CASE(distinct_keys_pass_when_duplicates_are_refused) {
  auto r = json::parse(R"({"a": 1, "b": [{"a": 2}, {"a": 3}], "c": {"a": 4}})",
                       json::default_max_depth, json::duplicates::refuse);
  BOOST_REQUIRE_MESSAGE(r, r.error.message);
  BOOST_TEST(*r.doc->find("c")->find("a")->as_int64() == 4);
}

BOOST_AUTO_TEST_CASE(duplicates_in_large_objects_are_found_too) {
  // Past the linear scan's limit the keys go through a hash map.
  std::string text = "{";
  for (int i = 0; i < 100; ++i)
    text += "\"k" + std::to_string(i) + "\":" + std::to_string(i) + ",";
  auto fine = json::parse(text.substr(0, text.size() - 1) + "}",
                          json::default_max_depth, json::duplicates::refuse);
  BOOST_REQUIRE(fine);
  BOOST_TEST(fine.doc->as_object().size() == 100u);
  auto dup = json::parse(text + "\"k57\":0}", json::default_max_depth,
                         json::duplicates::refuse);
  BOOST_REQUIRE(!dup);
  BOOST_TEST(dup.error.pointer == "/k57");
  auto last = json::parse(text + "\"k57\":-1}");
  BOOST_REQUIRE(last);
  BOOST_TEST(last.doc->as_object().size() == 100u);
  BOOST_TEST(*last.doc->find("k57")->as_int64() == -1);
}

// -- numbers: one integer rule -------------------------------------------------------

BOOST_AUTO_TEST_CASE(a_literal_with_a_fraction_never_reads_as_an_integer) {
  for (auto text : {"1e-400", "-1e-400", "1.5", "1.0000000000000000001",
                    "0.99999999999999999999", "123456789012.00000000000001",
                    "-3.0000000000000000000001", "4503599627370495.5"}) {
    auto r = json::parse(text);
    BOOST_REQUIRE_MESSAGE(r, text);
    BOOST_CHECK_MESSAGE(!r.doc->is_integral(), text);
    BOOST_CHECK_MESSAGE(!r.doc->as_int64(), text);
    BOOST_TEST((r.doc->type() == json::kind::number));
    // ... and its serialization does not either.
    auto again = json::parse(json::serialize(*r.doc));
    BOOST_REQUIRE(again);
    BOOST_CHECK_MESSAGE(!again.doc->is_integral(), text);
  }
  // The nudge keeps the value: toward the exact one, by one ulp.
  BOOST_TEST(json::parse("1e-400").doc->as_double() > 0.0);
  BOOST_TEST(json::parse("1e-400").doc->as_double() < 1e-300);
  BOOST_TEST(json::parse("-1e-400").doc->as_double() < 0.0);
  BOOST_TEST(json::parse("1.0000000000000000001").doc->as_double() > 1.0);
  BOOST_TEST(json::parse("0.99999999999999999999").doc->as_double() < 1.0);
  // Beyond 2^52 no double has a fraction: the number is not integral.
  for (auto text : {"9007199254740993.5", "4503599627370496.5",
                    "-123456789012345678.9"}) {
    auto wide = json::parse(text);
    BOOST_CHECK_MESSAGE(!wide.doc->is_integral(), text);
    BOOST_CHECK_MESSAGE(!wide.doc->as_int64(), text);
    // Its text keeps a fraction that reads back as the same double.
    auto again = json::parse(json::serialize(*wide.doc));
    BOOST_REQUIRE(again);
    BOOST_CHECK_MESSAGE(!again.doc->is_integral(), text);
    BOOST_TEST(again.doc->as_double() == wide.doc->as_double());
  }
}

BOOST_AUTO_TEST_CASE(a_literal_whose_exact_value_is_an_integer_is_one) {
  struct case_t {
    const char* text;
    int64_t value;
  };
  for (auto [text, expected] :
       {case_t{"1.0", 1}, case_t{"1e2", 100}, case_t{"0.5e1", 5},
        case_t{"-0.0", 0}, case_t{"0e-999", 0}, case_t{"-2.50e1", -25},
        case_t{"12300e-2", 123}, case_t{"9007199254740993.0", 9007199254740993},
        case_t{"9.223372036854775807e18", INT64_MAX},
        case_t{"-9.223372036854775808e18", INT64_MIN}}) {
    auto r = json::parse(text);
    BOOST_REQUIRE_MESSAGE(r, text);
    BOOST_CHECK_MESSAGE(r.doc->is_integral(), text);
    BOOST_REQUIRE_MESSAGE(r.doc->as_int64(), text);
    BOOST_CHECK_MESSAGE(*r.doc->as_int64() == expected, text);
    BOOST_TEST((r.doc->type() == json::kind::integer));
  }
  auto u = json::parse("1.8446744073709551615e19");
  BOOST_TEST((u.doc->type() == json::kind::unsigned_integer));
  BOOST_TEST(json::serialize(*u.doc) == "18446744073709551615");
}

BOOST_AUTO_TEST_CASE(an_integer_beyond_64_bits_is_integral_but_not_an_int64) {
  // 2^200: integral (JSON Schema says so), too large for as_int64.
  auto r = json::parse("1606938044258990275541962092341162602522202993782792835301376");
  BOOST_REQUIRE(r);
  BOOST_TEST(r.doc->is_integral());
  BOOST_TEST(!r.doc->as_int64());
  BOOST_TEST(json::parse("1e300").doc->is_integral());
  BOOST_TEST(!json::parse("1e300").doc->as_int64());
}

BOOST_AUTO_TEST_CASE(numbers_in_strings_do_not_confuse_the_literal_reader) {
  // The literals are matched to DOM numbers by their order in the text.
  auto r = json::parse(R"({"s-1": "2.5 -3e4 \" 7", "a": [1e-400, 2.0, "x1.5"], "b": 3e0})");
  BOOST_REQUIRE(r);
  auto& a = r.doc->find("a")->as_array();
  BOOST_TEST(!a[0].is_integral());
  BOOST_TEST(*a[1].as_int64() == 2);
  BOOST_TEST(*r.doc->find("b")->as_int64() == 3);
}

// -- always valid UTF-8 ---------------------------------------------------------------

namespace {

/// Whether `s` is well-formed UTF-8 (checked independently of the writer:
/// through the reader, which refuses anything else).
bool valid_utf8_json(const std::string& s) {
  return static_cast<bool>(json::parse(s));
}

} // namespace

BOOST_AUTO_TEST_CASE(invalid_utf8_is_replaced_so_the_output_is_valid_json) {
  struct case_t {
    std::string in;
    std::string out; // the quoted string written
  };
  const std::string fffd = "\xEF\xBF\xBD";
  for (auto& [in, out] : std::vector<case_t>{
         {"\xff\xfe", "\"" + fffd + fffd + "\""},
         {"no tasks row '\xff\xfe'", "\"no tasks row '" + fffd + fffd + "'\""},
         {"a\x80" "b", "\"a" + fffd + "b\""},
         {"\xc3", "\"" + fffd + "\""},                       // truncated
         {"\xc0\xaf", "\"" + fffd + fffd + "\""},            // overlong
         {"\xed\xa0\x80", "\"" + fffd + fffd + fffd + "\""}, // surrogate
         {"\xf4\x90\x80\x80", "\"" + fffd + fffd + fffd + fffd + "\""},
         {"\xe2\x82", "\"" + fffd + "\""},                   // maximal subpart
         {"\xf0\x9f\x98" "x", "\"" + fffd + "x\""},
       }) {
    std::string got;
    json::append_quoted(got, in);
    BOOST_CHECK_MESSAGE(got == out, "for " + in);
    BOOST_TEST(valid_utf8_json(got));
  }
}

BOOST_AUTO_TEST_CASE(valid_utf8_passes_through_unchanged) {
  std::string text = "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xef\xbf\xbd \xf4\x8f\xbf\xbf";
  std::string got;
  json::append_quoted(got, text);
  BOOST_TEST(got == "\"" + text + "\"");
}

BOOST_AUTO_TEST_CASE(keys_and_nested_strings_are_made_valid_utf8_too) {
  json::value doc{json::object{}};
  doc.set("\xff", json::array{json::value{std::string{"x\xfe"}}});
  for (auto style : {json::style::compact, json::style::pretty,
                     json::style::canonical}) {
    auto text = json::serialize(doc, style);
    BOOST_TEST(valid_utf8_json(text));
    BOOST_TEST(text.find('\xff') == std::string::npos);
    BOOST_TEST(text.find('\xfe') == std::string::npos);
  }
}
