#define BOOST_TEST_MODULE uri
#include <boost/test/unit_test.hpp>

#include "contracts/uri.hpp"

#include <string>
#include <string_view>
#include <utility>

using omniva::contracts::percent_decode;
using omniva::contracts::resolve_uri;
using omniva::contracts::strip_fragment;
using omniva::contracts::uri_authority;
using omniva::contracts::uri_fragment;
using omniva::contracts::uri_reference;

namespace {

// The base URI of the examples in RFC 3986 §5.4.
constexpr std::string_view rfc_base = "http://a/b/c/d;p?q";

// Asserts that each (reference, expected target) pair resolves against `base` as given.
void require_resolutions(std::string_view base,
                         std::initializer_list<std::pair<std::string_view, std::string_view>> cases) {
  for (const auto& [reference, expected] : cases)
    BOOST_CHECK_MESSAGE(resolve_uri(base, reference) == expected,
                        "resolving \"" << reference << "\" against \"" << base << "\" gave \""
                                       << resolve_uri(base, reference) << "\", expected \""
                                       << expected << "\"");
}

}  // namespace

BOOST_AUTO_TEST_SUITE(parse)

BOOST_AUTO_TEST_CASE(splits_a_full_uri_into_five_components) {
  const auto uri = uri_reference::parse("http://www.ics.uci.edu/pub/ietf/uri/?q=1#Related");
  BOOST_TEST(uri.scheme.value_or("<none>") == "http");
  BOOST_TEST(uri.authority.value_or("<none>") == "www.ics.uci.edu");
  BOOST_TEST(uri.path == "/pub/ietf/uri/");
  BOOST_TEST(uri.query.value_or("<none>") == "q=1");
  BOOST_TEST(uri.fragment.value_or("<none>") == "Related");
  BOOST_TEST(uri.is_absolute());
}

BOOST_AUTO_TEST_CASE(absent_components_differ_from_empty_ones) {
  const auto with_empty = uri_reference::parse("http://a/b?#");
  BOOST_TEST(with_empty.query.has_value());
  BOOST_TEST(with_empty.query->empty());
  BOOST_TEST(with_empty.fragment.has_value());
  BOOST_TEST(with_empty.fragment->empty());

  const auto without = uri_reference::parse("http://a/b");
  BOOST_TEST(!without.query.has_value());
  BOOST_TEST(!without.fragment.has_value());
}

BOOST_AUTO_TEST_CASE(urn_has_no_authority_and_keeps_colons_in_the_path) {
  const auto urn = uri_reference::parse("urn:uuid:deadbeef-1234-ffff-ffff-4321feebdaed#foo");
  BOOST_TEST(urn.scheme.value_or("<none>") == "urn");
  BOOST_TEST(!urn.authority.has_value());
  BOOST_TEST(urn.path == "uuid:deadbeef-1234-ffff-ffff-4321feebdaed");
  BOOST_TEST(urn.fragment.value_or("<none>") == "foo");
}

BOOST_AUTO_TEST_CASE(relative_references_have_no_scheme) {
  const auto network = uri_reference::parse("//host/path");
  BOOST_TEST(!network.is_absolute());
  BOOST_TEST(network.authority.value_or("<none>") == "host");
  BOOST_TEST(network.path == "/path");

  const auto fragment_only = uri_reference::parse("#/definitions/a");
  BOOST_TEST(!fragment_only.is_absolute());
  BOOST_TEST(fragment_only.path.empty());
  BOOST_TEST(fragment_only.fragment.value_or("<none>") == "/definitions/a");

  // A colon after a slash does not start a scheme (Appendix B: [^:/?#]+ before ':').
  const auto colon_later = uri_reference::parse("./a:b");
  BOOST_TEST(!colon_later.is_absolute());
  BOOST_TEST(colon_later.path == "./a:b");
}

BOOST_AUTO_TEST_CASE(empty_authority_is_present) {
  const auto file = uri_reference::parse("file:///etc/hosts");
  BOOST_TEST(file.authority.has_value());
  BOOST_TEST(file.authority->empty());
  BOOST_TEST(file.path == "/etc/hosts");
}

BOOST_AUTO_TEST_CASE(empty_text_is_an_empty_relative_reference) {
  const auto empty = uri_reference::parse("");
  BOOST_TEST(!empty.scheme.has_value());
  BOOST_TEST(!empty.authority.has_value());
  BOOST_TEST(empty.path.empty());
  BOOST_TEST(!empty.query.has_value());
  BOOST_TEST(!empty.fragment.has_value());
}

BOOST_AUTO_TEST_CASE(to_string_recomposes_the_parsed_text_exactly) {
  for (std::string_view text :
       {"http://a/b/c/d;p?q", "http://a/b?#", "urn:uuid:1#", "//host", "?", "#", "",
        "file:///x", "mailto:a@b", "a/b/../c", "http://u@h:80/p?q#f", "//[::1]:8/x"})
    BOOST_TEST(uri_reference::parse(text).to_string() == text);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(resolve)

BOOST_AUTO_TEST_CASE(rfc3986_normal_examples) {
  require_resolutions(rfc_base, {
                                    {"g:h", "g:h"},
                                    {"g", "http://a/b/c/g"},
                                    {"./g", "http://a/b/c/g"},
                                    {"g/", "http://a/b/c/g/"},
                                    {"/g", "http://a/g"},
                                    {"//g", "http://g"},
                                    {"?y", "http://a/b/c/d;p?y"},
                                    {"g?y", "http://a/b/c/g?y"},
                                    {"#s", "http://a/b/c/d;p?q#s"},
                                    {"g#s", "http://a/b/c/g#s"},
                                    {"g?y#s", "http://a/b/c/g?y#s"},
                                    {";x", "http://a/b/c/;x"},
                                    {"g;x", "http://a/b/c/g;x"},
                                    {"g;x?y#s", "http://a/b/c/g;x?y#s"},
                                    {"", "http://a/b/c/d;p?q"},
                                    {".", "http://a/b/c/"},
                                    {"./", "http://a/b/c/"},
                                    {"..", "http://a/b/"},
                                    {"../", "http://a/b/"},
                                    {"../g", "http://a/b/g"},
                                    {"../..", "http://a/"},
                                    {"../../", "http://a/"},
                                    {"../../g", "http://a/g"},
                                });
}

BOOST_AUTO_TEST_CASE(rfc3986_abnormal_examples) {
  require_resolutions(rfc_base, {
                                    {"../../../g", "http://a/g"},
                                    {"../../../../g", "http://a/g"},
                                    {"/./g", "http://a/g"},
                                    {"/../g", "http://a/g"},
                                    {"g.", "http://a/b/c/g."},
                                    {".g", "http://a/b/c/.g"},
                                    {"g..", "http://a/b/c/g.."},
                                    {"..g", "http://a/b/c/..g"},
                                    {"./../g", "http://a/b/g"},
                                    {"./g/.", "http://a/b/c/g/"},
                                    {"g/./h", "http://a/b/c/g/h"},
                                    {"g/../h", "http://a/b/c/h"},
                                    {"g;x=1/./y", "http://a/b/c/g;x=1/y"},
                                    {"g;x=1/../y", "http://a/b/c/y"},
                                    {"g?y/./x", "http://a/b/c/g?y/./x"},
                                    {"g?y/../x", "http://a/b/c/g?y/../x"},
                                    {"g#s/./x", "http://a/b/c/g#s/./x"},
                                    {"g#s/../x", "http://a/b/c/g#s/../x"},
                                    {"http:g", "http:g"},
                                });
}

BOOST_AUTO_TEST_CASE(fragment_only_reference_keeps_a_urn_base) {
  require_resolutions("urn:uuid:deadbeef-1234-ffff-ffff-4321feebdaed",
                      {
                          {"#foo", "urn:uuid:deadbeef-1234-ffff-ffff-4321feebdaed#foo"},
                          {"#/$defs/bar", "urn:uuid:deadbeef-1234-ffff-ffff-4321feebdaed#/$defs/bar"},
                          {"", "urn:uuid:deadbeef-1234-ffff-ffff-4321feebdaed"},
                          {"urn:uuid:other", "urn:uuid:other"},
                      });
}

BOOST_AUTO_TEST_CASE(base_fragment_is_replaced_or_dropped) {
  require_resolutions("http://example.com/root.json#/old",
                      {
                          {"#/new", "http://example.com/root.json#/new"},
                          {"", "http://example.com/root.json"},
                          {"other.json", "http://example.com/other.json"},
                      });
}

BOOST_AUTO_TEST_CASE(schema_style_references_against_http_bases) {
  require_resolutions("http://localhost:1234/draft2020-12/tree",
                      {
                          {"node", "http://localhost:1234/draft2020-12/node"},
                          {"baseUriChange/", "http://localhost:1234/draft2020-12/baseUriChange/"},
                          {"folderInteger.json",
                           "http://localhost:1234/draft2020-12/folderInteger.json"},
                      });
  require_resolutions("http://example.com",
                      {{"a.json", "http://example.com/a.json"}, {"#x", "http://example.com#x"}});
}

BOOST_AUTO_TEST_CASE(empty_base_returns_the_reference_unchanged) {
  for (std::string_view reference : {"", "#foo", "a/./b/../c", "//host/x", "http://a/../b"})
    BOOST_TEST(resolve_uri("", reference) == reference);
}

BOOST_AUTO_TEST_CASE(absolute_reference_has_its_dot_segments_removed) {
  require_resolutions(rfc_base, {{"http://x/a/./b/../c", "http://x/a/c"}, {"//x/../y", "http://x/y"}});
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(fragments)

BOOST_AUTO_TEST_CASE(strip_fragment_removes_everything_from_the_hash) {
  BOOST_TEST(strip_fragment("http://a/b#c") == "http://a/b");
  BOOST_TEST(strip_fragment("http://a/b#") == "http://a/b");
  BOOST_TEST(strip_fragment("http://a/b") == "http://a/b");
  BOOST_TEST(strip_fragment("urn:x:y#/a#b") == "urn:x:y");
  BOOST_TEST(strip_fragment("#only") == "");
}

BOOST_AUTO_TEST_CASE(uri_fragment_returns_the_decoded_fragment) {
  BOOST_TEST(uri_fragment("http://a/b#/definitions/a%20b") == "/definitions/a b");
  BOOST_TEST(uri_fragment("http://a/b#foo") == "foo");
  BOOST_TEST(uri_fragment("#/%25") == "/%");
}

BOOST_AUTO_TEST_CASE(uri_fragment_is_empty_without_a_fragment) {
  BOOST_TEST(uri_fragment("http://a/b") == "");
  BOOST_TEST(uri_fragment("http://a/b#") == "");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(percent_decoding)

BOOST_AUTO_TEST_CASE(decodes_escapes_in_either_case) {
  BOOST_TEST(percent_decode("a%20b") == "a b");
  BOOST_TEST(percent_decode("%7e%7E") == "~~");
  BOOST_TEST(percent_decode("%C3%A9") == "\xc3\xa9");
  BOOST_TEST(percent_decode("%25") == "%");
}

BOOST_AUTO_TEST_CASE(keeps_invalid_escapes_as_they_are) {
  BOOST_TEST(percent_decode("%") == "%");
  BOOST_TEST(percent_decode("%A") == "%A");
  BOOST_TEST(percent_decode("%zz%41") == "%zzA");
  BOOST_TEST(percent_decode("100%") == "100%");
  BOOST_TEST(percent_decode("%%41") == "%A");
}

BOOST_AUTO_TEST_CASE(decodes_nul_without_truncating) {
  const std::string decoded = percent_decode("a%00b");
  BOOST_REQUIRE_EQUAL(decoded.size(), 3U);
  BOOST_TEST(decoded[1] == '\0');
}

BOOST_AUTO_TEST_CASE(a_plus_stays_a_plus_unless_form_decoding_is_asked_for) {
  // RFC 3986 gives "+" no meaning; application/x-www-form-urlencoded (query
  // strings) reads it as a space. An escaped plus is a plus either way.
  BOOST_TEST(percent_decode("a+b") == "a+b");
  BOOST_TEST(percent_decode("a+b", {}).value_or("<refused>") == "a+b");
  BOOST_TEST(percent_decode("a+b", {.plus_as_space = true}).value_or("<refused>") == "a b");
  BOOST_TEST(percent_decode("%2B+%2b", {.plus_as_space = true}).value_or("<refused>") == "+ +");
}

BOOST_AUTO_TEST_CASE(strict_decoding_refuses_a_malformed_escape) {
  constexpr omniva::contracts::percent_decoding strict{.strict = true};
  for (std::string_view bad : {"%", "%A", "a%zz", "100%", "%%41", "%4"})
    BOOST_CHECK_MESSAGE(!percent_decode(bad, strict), "\"" << bad << "\" was decoded");
  BOOST_TEST(percent_decode("a%20b%7E", strict).value_or("<refused>") == "a b~");
  BOOST_TEST(percent_decode("", strict).value_or("<refused>") == "");
}

BOOST_AUTO_TEST_CASE(strict_form_decoding_is_what_query_strings_get) {
  constexpr omniva::contracts::percent_decoding form{.plus_as_space = true, .strict = true};
  BOOST_TEST(percent_decode("caf%C3%A9+au+lait", form).value_or("<refused>")
             == "caf\xc3\xa9 au lait");
  BOOST_TEST(!percent_decode("50%+off", form));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(authority)

BOOST_AUTO_TEST_CASE(splits_user_information_host_and_port) {
  auto a = uri_authority::parse("joe:secret@example.com:8080");
  BOOST_REQUIRE(a);
  BOOST_TEST(a->userinfo.value_or("<none>") == "joe:secret");
  BOOST_TEST(a->host == "example.com");
  BOOST_TEST(!a->ip_literal);
  BOOST_TEST(a->port.value_or("<none>") == "8080");
}

BOOST_AUTO_TEST_CASE(a_missing_port_and_an_empty_port_differ) {
  auto none = uri_authority::parse("example.com");
  BOOST_REQUIRE(none);
  BOOST_TEST(!none->port);
  BOOST_TEST(!none->userinfo);
  auto empty = uri_authority::parse("example.com:");
  BOOST_REQUIRE(empty);
  BOOST_TEST(empty->port.value_or("<none>") == "");
}

BOOST_AUTO_TEST_CASE(an_ip_literal_loses_its_brackets_and_keeps_its_colons) {
  auto a = uri_authority::parse("[::1]:9000");
  BOOST_REQUIRE(a);
  BOOST_TEST(a->host == "::1");
  BOOST_TEST(a->ip_literal);
  BOOST_TEST(a->port.value_or("<none>") == "9000");
  auto bare = uri_authority::parse("[fe80::1]");
  BOOST_REQUIRE(bare);
  BOOST_TEST(bare->host == "fe80::1");
  BOOST_TEST(!bare->port);
}

BOOST_AUTO_TEST_CASE(a_reg_name_ends_at_its_first_colon) {
  auto a = uri_authority::parse("a:b:80");
  BOOST_REQUIRE(a);
  BOOST_TEST(a->host == "a");
  BOOST_TEST(a->port.value_or("<none>") == "b:80");
}

BOOST_AUTO_TEST_CASE(an_unclosed_or_trailing_bracket_is_refused) {
  BOOST_TEST(!uri_authority::parse("[::1"));
  BOOST_TEST(!uri_authority::parse("[::1]x"));
  BOOST_TEST(!uri_authority::parse("[::1]80"));
}

BOOST_AUTO_TEST_SUITE_END()
