#define BOOST_TEST_MODULE lineage_export
#include <boost/test/unit_test.hpp>

#include "contracts/json.hpp"
#include "contracts/lineage_export.hpp"
#include "contracts/packet.hpp"

#include <string>
#include <vector>

using namespace omniva;
using namespace omniva::contracts;

namespace {

/// A chain of `n` packets as a committer would make them (seq from 1, each
/// `prev` the id of the one before); the payload of one holds an `id`
/// member and a string with quotes and a comma, as a module's could.
std::vector<packet> chain(size_t n) {
  std::vector<packet> out;
  std::string prev;
  for (size_t i = 1; i <= n; ++i) {
    packet p;
    p.seq = i;
    p.prev = prev;
    p.kind = i % 2 ? "task.created" : "task.succeeded";
    p.actor = "zenith";
    p.trace_id = "3b241101-e2bb-4255-8caf-4136c566a962";
    p.subjects = {"task-" + std::to_string(i)};
    p.at = "2026-11-21T05:30:27.077Z";
    p.payload = R"({"id":"x","note":"a \"quoted\", \"id\":\"y\"","n":)"
                + std::to_string(i) + "}";
    p.id = *compute_id(p);
    prev = p.id;
    out.push_back(p);
  }
  return out;
}

/// The export line of `p`, as the node writes it.
std::string line_of(const packet& p) {
  auto canonical = canonical_form(p);
  BOOST_REQUIRE(canonical);
  auto line = export_line(p.id, *canonical);
  BOOST_REQUIRE(line);
  return *line;
}

/// Checks `lines`; returns the first problem.
std::optional<export_problem> check(const std::vector<std::string>& lines,
                                    export_checker* out = nullptr) {
  export_checker local;
  auto& checker = out ? *out : local;
  for (auto& l : lines)
    if (auto p = checker.add(l))
      return p;
  return std::nullopt;
}

std::vector<std::string> lines_of(const std::vector<packet>& xs) {
  std::vector<std::string> out;
  for (auto& p : xs)
    out.push_back(line_of(p));
  return out;
}

} // namespace

BOOST_AUTO_TEST_CASE(a_line_is_the_canonical_form_with_the_id_in_its_sorted_place) {
  auto p = chain(1).front();
  auto line = line_of(p);
  // The line is canonical JSON of the packet with its id...
  auto doc = json::parse(line);
  BOOST_REQUIRE(doc);
  BOOST_TEST(json::serialize(*doc.doc, json::style::canonical) == line);
  BOOST_TEST(doc.doc->find("id")->as_string() == p.id);
  // ...and without `"id":"<id>",` it is exactly the bytes that were hashed.
  auto member = "\"id\":\"" + p.id + "\",";
  auto stripped = line;
  stripped.erase(stripped.find(member), member.size());
  BOOST_TEST(stripped == *canonical_form(p));
  BOOST_TEST(to_hex(sha256(stripped)) == p.id);
}

BOOST_AUTO_TEST_CASE(text_that_is_not_a_packet_has_no_export_line) {
  BOOST_TEST(!export_line(std::string(64, 'a'), "[1,2]"));
  BOOST_TEST(!export_line(std::string(64, 'a'), R"({"actor":"x","at":"y"})"));
  BOOST_TEST(!export_line(std::string(64, 'a'), ""));
}

BOOST_AUTO_TEST_CASE(a_whole_export_checks_and_says_where_it_starts_and_ends) {
  auto xs = chain(5);
  export_checker checker;
  BOOST_TEST(!check(lines_of(xs), &checker));
  BOOST_TEST(checker.lines() == 5u);
  BOOST_TEST(checker.first_seq() == 1u);
  BOOST_TEST(checker.first_prev() == "");
  BOOST_TEST(checker.last_seq() == 5u);
  BOOST_TEST(checker.last_id() == xs.back().id);
}

BOOST_AUTO_TEST_CASE(an_export_from_a_later_seq_names_the_id_it_follows) {
  auto xs = chain(5);
  std::vector<packet> tail(xs.begin() + 2, xs.end());
  export_checker checker;
  BOOST_TEST(!check(lines_of(tail), &checker));
  BOOST_TEST(checker.first_seq() == 3u);
  BOOST_TEST(checker.first_prev() == xs[1].id);
}

BOOST_AUTO_TEST_CASE(a_changed_byte_fails_its_own_line) {
  auto lines = lines_of(chain(4));
  auto& third = lines[2];
  auto at = third.find("quoted");
  third[at] = 'Q';
  auto problem = check(lines);
  BOOST_REQUIRE(problem);
  BOOST_TEST(problem->line == 3u);
  BOOST_TEST(problem->seq == 3u);
  BOOST_TEST(to_string(problem->code) == "corruption");
  BOOST_TEST(problem->reason.find("line 3 (seq 3) was changed")
             != std::string::npos, problem->reason);
}

BOOST_AUTO_TEST_CASE(a_changed_id_fails_its_line) {
  auto xs = chain(3);
  auto lines = lines_of(xs);
  auto forged = xs[1].id;
  forged[0] = forged[0] == 'a' ? 'b' : 'a';
  auto at = lines[1].find(xs[1].id);
  lines[1].replace(at, 64, forged);
  auto problem = check(lines);
  BOOST_REQUIRE(problem);
  BOOST_TEST(problem->line == 2u);
  BOOST_TEST(to_string(problem->code) == "corruption");
}

BOOST_AUTO_TEST_CASE(a_deleted_line_breaks_the_chain_at_the_next) {
  auto lines = lines_of(chain(5));
  lines.erase(lines.begin() + 2);
  auto problem = check(lines);
  BOOST_REQUIRE(problem);
  BOOST_TEST(problem->line == 3u);
  BOOST_TEST(problem->seq == 4u);
  BOOST_TEST(to_string(problem->code) == "corruption");
  BOOST_TEST(problem->reason.find("chain breaks at line 3 (seq 4)")
             != std::string::npos, problem->reason);
}

BOOST_AUTO_TEST_CASE(swapped_lines_break_the_chain) {
  auto lines = lines_of(chain(4));
  std::swap(lines[1], lines[2]);
  auto problem = check(lines);
  BOOST_REQUIRE(problem);
  BOOST_TEST(problem->line == 2u);
}

BOOST_AUTO_TEST_CASE(a_re_hashed_packet_with_a_wrong_prev_breaks_the_chain) {
  // Someone rewrote packet 3 and fixed its id: its prev no longer matches
  // (and line 4's prev no longer names it).
  auto xs = chain(4);
  xs[2].prev = std::string(64, 'e');
  xs[2].id = *compute_id(xs[2]);
  auto problem = check(lines_of(xs));
  BOOST_REQUIRE(problem);
  BOOST_TEST(problem->line == 3u);
  BOOST_TEST(problem->reason.find("its prev is " + std::string(64, 'e'))
             != std::string::npos, problem->reason);
}

BOOST_AUTO_TEST_CASE(lines_that_are_not_packets_are_named) {
  auto lines = lines_of(chain(2));
  for (auto bad : {std::string{"not json"}, std::string{"{}"},
                   std::string{R"({"error":{"code":"corruption"}})"},
                   std::string{""}}) {
    auto copy = lines;
    copy.insert(copy.begin() + 1, bad);
    auto problem = check(copy);
    BOOST_REQUIRE(problem);
    BOOST_TEST(problem->line == 2u);
    BOOST_TEST(to_string(problem->code) == "invalid_json");
  }
}

BOOST_AUTO_TEST_CASE(the_first_packet_of_a_log_has_no_prev) {
  auto xs = chain(1);
  xs[0].prev = std::string(64, 'f');
  xs[0].id = *compute_id(xs[0]);
  auto problem = check(lines_of(xs));
  BOOST_REQUIRE(problem);
  BOOST_TEST(problem->line == 1u);
  BOOST_TEST(to_string(problem->code) == "corruption");
}
