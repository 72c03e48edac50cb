#define BOOST_TEST_MODULE contracts_media_type
#include <boost/test/unit_test.hpp>

// Media types: one rule for every part of the engine. Case never matters,
// parameters never take part in matching, and `application/json` or any
// `+json` suffix is JSON.

#include "contracts/media_type.hpp"

#include <string>
#include <vector>

using namespace omniva::contracts;

// -- parsing and normalising ------------------------------------------------------------

BOOST_AUTO_TEST_CASE(a_media_type_parses_into_lowercase_type_subtype_and_parameters) {
  auto t = parse_media_type(" Text/Plain ; Charset=UTF-8;format=\"flowed \\\"x\\\"\" ");
  BOOST_REQUIRE(t);
  BOOST_TEST(t->type == "text");
  BOOST_TEST(t->subtype == "plain");
  BOOST_TEST(t->essence() == "text/plain");
  BOOST_REQUIRE_EQUAL(t->parameters.size(), 2u);
  BOOST_TEST(t->parameters[0].first == "charset");
  BOOST_TEST(t->parameters[0].second == "UTF-8"); // values keep their case
  BOOST_TEST(t->parameters[1].first == "format");
  BOOST_TEST(t->parameters[1].second == "flowed \"x\"");
}

BOOST_AUTO_TEST_CASE(malformed_media_types_do_not_parse) {
  for (auto* text : {"", "text", "text/", "/plain", "text/plain/x", "te xt/plain",
                     "text/plain; charset", "text/plain; =utf-8",
                     "text/plain; charset=\"open", "text/plain; a=b c=d"})
    BOOST_TEST(!parse_media_type(text), "'" << text << "' parsed");
  BOOST_TEST(!parse_media_type("video/*"));
  BOOST_TEST(parse_media_type("video/*", true)->subtype == "*");
}

BOOST_AUTO_TEST_CASE(the_essence_drops_parameters_and_case) {
  BOOST_TEST(media_type_essence("Application/LD+JSON; profile=x") == "application/ld+json");
  BOOST_TEST(media_type_essence("\ttext/csv ") == "text/csv");
}

BOOST_AUTO_TEST_CASE(a_valid_media_type_is_exactly_type_slash_subtype) {
  BOOST_TEST(is_valid_media_type("image/png", false));
  BOOST_TEST(is_valid_media_type("application/vnd.omniva.result+json", false));
  BOOST_TEST(!is_valid_media_type("image/png; q=1", false));
  BOOST_TEST(!is_valid_media_type(" image/png", false));
  BOOST_TEST(!is_valid_media_type("image/*", false));
  BOOST_TEST(is_valid_media_type("image/*", true));
}

// -- matching -------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(matching_ignores_case_and_parameters) {
  BOOST_TEST(media_type_matches("video/mp4", "Video/MP4; codecs=avc1"));
  BOOST_TEST(media_type_matches("Video/MP4", "video/mp4"));
  BOOST_TEST(media_type_matches("video/*", "VIDEO/webm"));
  BOOST_TEST(!media_type_matches("video/*", "audio/mpeg"));
  BOOST_TEST(!media_type_matches("video/mp4", "video/mp4x"));
  BOOST_TEST(!media_type_matches("video/*", "video/"));
}

BOOST_AUTO_TEST_CASE(a_contract_list_accepts_any_of_its_types_and_an_empty_list_all) {
  std::vector<std::string> accepted{"image/png", "video/*"};
  BOOST_TEST(media_type_accepted(accepted, "IMAGE/PNG"));
  BOOST_TEST(media_type_accepted(accepted, "video/webm; codecs=vp9"));
  BOOST_TEST(!media_type_accepted(accepted, "image/jpeg"));
  BOOST_TEST(!media_type_accepted(accepted, ""));
  BOOST_TEST(media_type_accepted({}, "anything/at-all"));
}

// -- kinds ------------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(application_json_and_every_json_suffix_are_json_in_any_case) {
  for (auto* t : {"application/json", "Application/JSON", "application/json; charset=utf-8",
                  "application/ld+json", "application/vnd.omniva.result+JSON",
                  " application/geo+json ; x=y"})
    BOOST_TEST(is_json_media_type(t), t);
  for (auto* t : {"text/plain", "application/jsonl", "application/json-seq",
                  "text/json5", "application/x-json-stream", ""})
    BOOST_TEST(!is_json_media_type(t), t);
}

BOOST_AUTO_TEST_CASE(text_types_are_text_in_any_case) {
  BOOST_TEST(is_text_media_type("text/markdown"));
  BOOST_TEST(is_text_media_type("TEXT/Plain; charset=utf-8"));
  BOOST_TEST(is_text_media_type("text/*"));
  BOOST_TEST(!is_text_media_type("application/json"));
  BOOST_TEST(!is_text_media_type("textual/plain"));
}
