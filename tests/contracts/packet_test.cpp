#define BOOST_TEST_MODULE packet
#include <boost/test/unit_test.hpp>

#include "contracts/packet.hpp"

using namespace omniva;
using namespace omniva::contracts;

namespace {

packet sample() {
  packet p;
  p.seq = 7;
  p.prev = std::string(64, 'a');
  p.kind = "task.created";
  p.actor = "zenith";
  p.trace_id = "3b241101-e2bb-4255-8caf-4136c566a962";
  p.meta_parents = {std::string(64, 'b')};
  p.subjects = {"task-1", "asset-2"};
  p.at = "2026-11-21T05:30:27.077Z";
  p.payload = R"({"module_ref":"face-detect@1","inputs":{"v":"asset-2"}})";
  return p;
}

} // namespace

BOOST_AUTO_TEST_CASE(the_same_packet_always_has_the_same_id) {
  auto a = compute_id(sample());
  auto b = compute_id(sample());
  BOOST_REQUIRE(a && b);
  BOOST_TEST(*a == *b);
  BOOST_TEST(a->size() == 64u);
}

BOOST_AUTO_TEST_CASE(payload_spelling_does_not_change_the_id) {
  auto p = sample();
  auto q = sample();
  // Member order, whitespace, number and escape spelling are normalised.
  q.payload = R"({ "inputs" : {"v":"asset\u002d2"}, "module_ref":"face-detect@1" })";
  BOOST_TEST(*compute_id(p) == *compute_id(q));
  p.payload = R"({"n": 1.0, "m": 1e2})";
  q.payload = R"({"m": 100, "n": 1})";
  BOOST_TEST(*compute_id(p) == *compute_id(q));
}

BOOST_AUTO_TEST_CASE(any_field_change_changes_the_id) {
  auto base = *compute_id(sample());
  std::vector<std::function<void(packet&)>> changes{
    [](packet& p) { p.seq += 1; },
    [](packet& p) { p.prev = std::string(64, 'c'); },
    [](packet& p) { p.kind = "task.succeeded"; },
    [](packet& p) { p.actor = "eclipse"; },
    [](packet& p) { p.trace_id = "00000000-0000-4000-8000-000000000000"; },
    [](packet& p) { p.meta_parents.push_back(std::string(64, 'd')); },
    [](packet& p) { p.subjects.pop_back(); },
    [](packet& p) { p.at = "2026-11-21T05:30:27.078Z"; },
    [](packet& p) { p.schema_version = "1.0.1"; },
    [](packet& p) { p.payload = R"({"module_ref":"face-detect@2","inputs":{"v":"asset-2"}})"; },
  };
  for (size_t i = 0; i < changes.size(); ++i) {
    auto p = sample();
    changes[i](p);
    BOOST_TEST(*compute_id(p) != base, "change " << i << " kept the id");
  }
}

BOOST_AUTO_TEST_CASE(the_id_does_not_depend_on_the_id_field) {
  auto p = sample();
  p.id = "whatever";
  BOOST_TEST(*compute_id(p) == *compute_id(sample()));
}

BOOST_AUTO_TEST_CASE(canonical_form_round_trips) {
  auto p = sample();
  auto text = canonical_form(p);
  BOOST_REQUIRE(text);
  BOOST_TEST(text->find(' ') == std::string::npos);
  BOOST_TEST(text->front() == '{');
  BOOST_TEST(text->find("\"_meta_parents\"") < text->find("\"actor\""));
  auto back = packet_from_canonical(*text);
  BOOST_REQUIRE(back);
  BOOST_TEST(*canonical_form(*back) == *text);
  BOOST_TEST(back->kind == p.kind);
  BOOST_TEST(back->subjects == p.subjects);
}

BOOST_AUTO_TEST_CASE(a_payload_that_is_not_an_object_has_no_id) {
  auto p = sample();
  p.payload = "[1,2]";
  BOOST_TEST(!compute_id(p));
  p.payload = "{oops";
  BOOST_TEST(!compute_id(p));
}

BOOST_AUTO_TEST_CASE(digests_print_and_parse_as_hex) {
  auto d = sha256("abc");
  BOOST_TEST(to_hex(d)
             == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  BOOST_TEST((*digest_from_hex(to_hex(d)) == d));
  BOOST_TEST(!digest_from_hex("xyz"));
  BOOST_TEST(!digest_from_hex(std::string(64, 'g')));
}
