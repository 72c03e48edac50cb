#define BOOST_TEST_MODULE ecma_regex
#include <boost/test/unit_test.hpp>

// The one ECMA-262 dialect of every pattern: what the translator writes for
// RE2, what it refuses and why, what a compiled pattern matches, and that a
// pattern means the same in a JSON Schema, in a module contract's VALUE
// constraint and to the `regex` format.

#include "contracts/ecma_regex.hpp"
#include "contracts/json.hpp"
#include "contracts/json_format.hpp"
#include "contracts/json_schema.hpp"
#include "contracts/module_contract.hpp"
#include "tests/test_print.hpp"

#include <memory>
#include <string>
#include <string_view>
#include <vector>

using namespace omniva::contracts;
namespace json = omniva::json;

namespace {

std::string re2_of(std::string_view pattern) {
  auto t = translate_ecma_regex(pattern);
  BOOST_REQUIRE_MESSAGE(t.runnable(), pattern << ": " << t.malformed << t.unsupported);
  return t.re2_pattern;
}

ecma_regex compiled(std::string_view pattern) {
  std::string why;
  auto re = ecma_regex::compile(pattern, why);
  BOOST_REQUIRE_MESSAGE(re, pattern << " " << why);
  return std::move(*re);
}

/// A JSON string holding `text`.
std::string quoted(std::string_view text) {
  std::string out;
  json::append_quoted(out, text);
  return out;
}

/// The schema engine's verdict on `text` for `{"pattern": pattern}`.
bool schema_accepts(std::string_view pattern, std::string_view text) {
  auto doc = json::parse(R"({"pattern": )" + quoted(pattern) + "}");
  BOOST_REQUIRE(doc);
  schema_registry registry;
  auto schema = compile_schema(*doc.doc, registry);
  BOOST_REQUIRE_MESSAGE(schema, "the schema engine refuses " << pattern);
  return schema.schema->validate_text(quoted(text)).valid;
}

/// A contract constraint's verdict on `text` for a VALUE string input with
/// `constraints.pattern` = `pattern`.
bool constraint_accepts(std::string_view pattern, std::string_view text) {
  input_spec input;
  input.key = "caption";
  input.contract_type = input_kind::value;
  input.dtype = value_dtype::string;
  input.pattern = std::string{pattern};
  auto problems = check_value(input, json::value{std::string{text}}, "/values/caption");
  for (auto& p : problems)
    BOOST_REQUIRE_MESSAGE(p.code == ec::pattern_mismatch, p.message);
  return problems.empty();
}

/// The problems of a module contract whose VALUE input has `pattern`.
std::vector<problem> contract_problems(std::string_view pattern) {
  auto text = R"({
    "name": "captioner", "version": 1, "description": "Checks a caption.",
    "inputs": [{"key": "caption", "label": "Caption", "contract_type": "VALUE",
                "dtype": "string", "constraints": {"pattern": )"
              + quoted(pattern) + R"(}}],
    "outputs": [{"key": "out", "label": "Out", "contract_type": "ASSET",
                 "media_type": "text/plain"}],
    "resources": {"cpu": 1, "memory_gb": 0.25, "gpu": false, "timeout_s": 30},
    "run": {"command": ["true"]},
    "schema_version": "1.0.0"
  })";
  return parse_module_contract(text).problems;
}

} // namespace

// -- translation -------------------------------------------------------------------

BOOST_AUTO_TEST_SUITE(translation)

BOOST_AUTO_TEST_CASE(what_ecma_and_re2_spell_alike_passes_through) {
  BOOST_TEST(re2_of("^[a-z0-9_-]+$") == "^[a-z0-9_-]+$");
  BOOST_TEST(re2_of("\\d{3}-\\w+|x*?") == "\\d{3}-\\w+|x*?");
  BOOST_TEST(re2_of("\\.\\/\\$") == "\\.\\/\\$");
}

BOOST_AUTO_TEST_CASE(unicode_escapes_become_code_points) {
  BOOST_TEST(re2_of("\\u00e9") == "\\x{E9}");
  BOOST_TEST(re2_of("\\u{1F600}") == "\\x{1F600}");
  BOOST_TEST(re2_of("\\uD83D\\uDE00") == "\\x{1F600}"); // a surrogate pair is one
  BOOST_TEST(re2_of("\\cJ") == "\\x{A}");
  BOOST_TEST(re2_of("\\0") == "\\x00");
}

BOOST_AUTO_TEST_CASE(long_property_names_become_the_short_ones_re2_knows) {
  BOOST_TEST(re2_of("\\p{Letter}") == "\\p{L}");
  BOOST_TEST(re2_of("\\P{Uppercase_Letter}") == "\\P{Lu}");
  BOOST_TEST(re2_of("\\p{General_Category=Decimal_Number}") == "\\p{Nd}");
  BOOST_TEST(re2_of("\\p{gc=Lu}") == "\\p{Lu}");
  BOOST_TEST(re2_of("\\p{Script=Greek}") == "\\p{Greek}");
}

BOOST_AUTO_TEST_CASE(dot_and_white_space_keep_their_ecma_meaning) {
  BOOST_TEST(re2_of(".") == "[^\\n\\r\\x{2028}\\x{2029}]");
  BOOST_TEST(re2_of("(?s:.)") == "(?s:[\\x00-\\x{10FFFF}])");
  BOOST_TEST(re2_of("(?s:a)(.)") == "(?s:a)([^\\n\\r\\x{2028}\\x{2029}])");
  BOOST_TEST(re2_of("[.]") == "[.]");
  BOOST_TEST(re2_of("\\s").find("\\x{A0}") != std::string::npos);
  BOOST_TEST(re2_of("\\s").find("\\x09-\\x0D") != std::string::npos); // with VT
}

BOOST_AUTO_TEST_CASE(empty_classes_and_modifier_groups_get_re2_spellings) {
  BOOST_TEST(re2_of("[]") == "[^\\x00-\\x{10FFFF}]");
  BOOST_TEST(re2_of("[^]") == "[\\x00-\\x{10FFFF}]");
  BOOST_TEST(re2_of("(?i:abc)") == "(?i:abc)");
  BOOST_TEST(re2_of("(?i-m:abc)") == "(?i-m:abc)");
  BOOST_TEST(re2_of("(?<year>\\d{4})") == "(\\d{4})");
  BOOST_TEST(re2_of("[[:alpha:]") == "[\\[:alpha:]");
}

BOOST_AUTO_TEST_CASE(a_malformed_pattern_is_refused_with_a_reason) {
  for (std::string_view bad : {"(a", "a)", "[ab", "*a", "a**", "]", "}", "\\a", "\\-",
                               "a{2,1}", "(?P<n>x)", "(?i)x", "\\k<nope>", "(a)\\2", "\\"}) {
    auto t = translate_ecma_regex(bad);
    BOOST_CHECK_MESSAGE(!t.well_formed(), bad << " was read as well formed");
    BOOST_CHECK_MESSAGE(!t.malformed.empty(), bad << " has no reason");
  }
  BOOST_TEST(translate_ecma_regex("(a").malformed == "a group is not closed");
  BOOST_TEST(translate_ecma_regex("\\a").malformed == "\\a is not an ECMA-262 escape");
}

BOOST_AUTO_TEST_CASE(what_re2_cannot_run_is_well_formed_but_not_runnable) {
  for (std::string_view pattern : {"(?=x)y", "(?!x)y", "(?<=a)b", "(?<!a)b", "(a)\\1",
                                   "(?<n>a)\\k<n>", "a{2000}"}) {
    auto t = translate_ecma_regex(pattern);
    BOOST_CHECK_MESSAGE(t.well_formed(), pattern << ": " << t.malformed);
    BOOST_CHECK_MESSAGE(!t.runnable(), pattern << " was taken as runnable");
  }
  BOOST_TEST(translate_ecma_regex("(?=x)").unsupported == "a lookahead or lookbehind assertion");
  BOOST_TEST(translate_ecma_regex("(a)\\1").unsupported == "a backreference");
  BOOST_TEST(translate_ecma_regex("a{2000}").unsupported == "a count above 1000");
}

BOOST_AUTO_TEST_SUITE_END()

// -- matching ----------------------------------------------------------------------

BOOST_AUTO_TEST_SUITE(matching)

BOOST_AUTO_TEST_CASE(a_pattern_is_searched_for_not_anchored) {
  auto re = compiled("b+");
  BOOST_TEST(re.search("abbc"));
  BOOST_TEST(!re.search("ac"));
  BOOST_TEST(re.source() == "b+");
}

BOOST_AUTO_TEST_CASE(dot_stops_at_every_line_terminator) {
  auto re = compiled("^a.b$");
  BOOST_TEST(re.search("axb"));
  BOOST_TEST(re.search("a\xc3\xa9" "b")); // one code point, two bytes
  BOOST_TEST(!re.search("a\nb"));
  BOOST_TEST(!re.search("a\rb"));
  BOOST_TEST(!re.search("a\xe2\x80\xa8" "b")); // U+2028
  BOOST_TEST(compiled("^a(?s:.)b$").search("a\rb"));
  BOOST_TEST(compiled("^[^]$").search("\n"));
  BOOST_TEST(!compiled("[]").search("anything"));
}

BOOST_AUTO_TEST_CASE(white_space_is_unicode_white_space) {
  auto re = compiled("^\\s+$");
  BOOST_TEST(re.search(" \t\n\v\f\r"));
  BOOST_TEST(re.search("\xc2\xa0"));          // NO-BREAK SPACE
  BOOST_TEST(re.search("\xe3\x80\x80"));      // IDEOGRAPHIC SPACE
  BOOST_TEST(re.search("\xef\xbb\xbf"));      // ZERO WIDTH NO-BREAK SPACE
  BOOST_TEST(!re.search("\xe2\x80\x8b"));     // ZERO WIDTH SPACE is not
  BOOST_TEST(!re.search("a"));
  auto non_space = compiled("^[\\S]+$");
  BOOST_TEST(non_space.search("abc\xc3\xa9"));
  BOOST_TEST(!non_space.search("a\xc2\xa0" "b"));
}

BOOST_AUTO_TEST_CASE(escapes_and_flags_match_what_they_say) {
  BOOST_TEST(compiled("^(?i:abc)d$").search("ABCd"));
  BOOST_TEST(!compiled("^(?i:abc)d$").search("ABCD"));
  BOOST_TEST(compiled("^\\u{1F600}$").search("\xf0\x9f\x98\x80"));
  BOOST_TEST(compiled("^\\p{Letter}+$").search("h\xc3\xa9llo"));
  BOOST_TEST(!compiled("^\\p{Letter}+$").search("a1"));
  BOOST_TEST(compiled("^\\p{Script=Greek}$").search("\xce\xb1")); // alpha
}

BOOST_AUTO_TEST_CASE(the_simple_matcher_agrees_with_re2) {
  // `^[a-z_]+\d{2}$` takes the matcher without RE2; the same pattern in a
  // group does not. Both must give every verdict alike.
  auto fast = compiled("^[a-z_]+\\d{2}$");
  auto slow = compiled("^(?:[a-z_]+\\d{2})$");
  for (std::string_view text : {"snake_42", "x00", "42", "snake_4", "snake_421", "Snake_42",
                                "sn\xc3\xa9ke_42", "", "a_b_c_99"})
    BOOST_CHECK_MESSAGE(fast.search(text) == slow.search(text), "\"" << text << "\"");
}

BOOST_AUTO_TEST_CASE(compile_says_why_in_a_phrase_after_the_pattern) {
  std::string why;
  BOOST_TEST(!ecma_regex::compile("(a", why));
  BOOST_TEST(why == "is not an ECMA-262 regular expression: a group is not closed");
  BOOST_TEST(!ecma_regex::compile("(a)\\1", why));
  BOOST_TEST(why.starts_with("uses a backreference, which RE2 cannot run"));
  BOOST_TEST(!ecma_regex::compile("[z-a]", why));
  BOOST_TEST(why.starts_with("is refused by RE2: "));
}

BOOST_AUTO_TEST_SUITE_END()

// -- one dialect everywhere ----------------------------------------------------------

BOOST_AUTO_TEST_SUITE(one_dialect)

BOOST_AUTO_TEST_CASE(a_pattern_means_the_same_in_a_schema_and_in_a_contract_constraint) {
  // A pattern a module author tries against the schema engine: a capital
  // letter, white space (here a no-break space counts), two digits, and no
  // line break before the end.
  const std::string_view pattern = "^\\p{Lu}\\s\\d{2}.?$";
  for (std::string_view text : {"A 12", "\xc3\x89\xc2\xa0" "42", "A 12!", "a 12", "A12",
                                "A 12\r", "A\v07", "A 1"}) {
    bool by_schema = schema_accepts(pattern, text);
    bool by_constraint = constraint_accepts(pattern, text);
    BOOST_CHECK_MESSAGE(by_schema == by_constraint,
                        "\"" << text << "\": schema " << by_schema << ", constraint "
                             << by_constraint);
  }
  BOOST_TEST(constraint_accepts(pattern, "\xc3\x89\xc2\xa0" "42"));
  BOOST_TEST(!constraint_accepts(pattern, "A 12\r"));
}

BOOST_AUTO_TEST_CASE(a_pattern_the_schema_engine_refuses_is_an_invalid_pattern_in_a_contract) {
  for (std::string_view pattern : {"(?=x)y", "\\a", "^(a"}) {
    auto problems = contract_problems(pattern);
    BOOST_REQUIRE_MESSAGE(problems.size() == 1u, pattern);
    BOOST_TEST(problems[0].code == ec::invalid_pattern);
    BOOST_TEST(problems[0].pointer == "/inputs/0/constraints/pattern");
    BOOST_TEST(problems[0].message.starts_with("the pattern "));
  }
  BOOST_TEST(contract_problems("^[A-Z]\\s").empty());
}

BOOST_AUTO_TEST_CASE(the_regex_format_accepts_what_re2_cannot_run_but_not_what_is_malformed) {
  BOOST_TEST(check_format(string_format::regex, "(?=x)y"));
  BOOST_TEST(check_format(string_format::regex, "\\p{Letter}"));
  BOOST_TEST(!check_format(string_format::regex, "\\a"));
  BOOST_TEST(is_ecma_regex("(a)\\1"));
  BOOST_TEST(!is_ecma_regex("(a)\\2"));
}

BOOST_AUTO_TEST_SUITE_END()
