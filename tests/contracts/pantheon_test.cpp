#define BOOST_TEST_MODULE pantheon
#include <boost/test/unit_test.hpp>

// Pantheon's pure logic (contracts/pantheon.hpp): the features of a clip
// candidate, each persona's vote, the consensus and dissent, Lattice's
// priority, the selection, the report and its reading back, the personas
// document's checks, and the ballot an actor answers.

#include "contracts/json_schema.hpp"
#include "contracts/lattice.hpp"
#include "contracts/pantheon.hpp"
#include "contracts/schema_catalog.hpp"

#include <string>
#include <vector>

using namespace omniva;
using namespace omniva::pantheon;

namespace {

json::value doc(std::string_view text) {
  auto parsed = json::parse(text);
  BOOST_REQUIRE_MESSAGE(parsed, "bad test JSON: " << text);
  return *parsed.doc;
}

/// A ClipCandidate as the Analyzer writes it.
json::value candidate(double start, double end, double confidence, int faces,
                      std::vector<std::string> tags) {
  json::value c{json::object{}};
  c.set("start_time", start);
  c.set("end_time", end);
  c.set("confidence", confidence);
  c.set("subject_focus", faces > 0 ? "creator" : "scene");
  c.set("faces_detected", faces);
  json::array t;
  for (auto& x : tags)
    t.push_back(x);
  c.set("semantic_tags", json::value{std::move(t)});
  c.set("pantheon_votes", json::value{json::object{}});
  c.set("lattice_priority", 0);
  return c;
}

json::value analysis() {
  return doc(R"({"video_id": "3f1c1d1e-8a5b-4c1e-9d2a-1b2c3d4e5f60",
                 "transcript": "omniva turns long videos into short clips",
                 "keywords_detected": ["omniva"], "virality_score": 0.6,
                 "relevance_score": 0.8, "clip_candidates": []})");
}

double vote_of(const report& r, size_t c, std::string_view agent) {
  for (auto& row : r.rows)
    if (row.candidate == c && row.agent == agent)
      return row.vote;
  BOOST_FAIL("no row for " << c << " " << agent);
  return -1;
}

} // namespace

BOOST_AUTO_TEST_CASE(features_follow_the_documented_formulas) {
  auto f = features_of(candidate(10, 40, 0.9, 2, {"speech", "omniva", "faces"}),
                       analysis());
  BOOST_TEST(f["confidence"] == 0.9);
  BOOST_TEST(f["uncertainty"] == 0.1, boost::test_tools::tolerance(1e-9));
  BOOST_TEST(f["faces"] == 0.666667, boost::test_tools::tolerance(1e-9));
  // 30 s: 1 - (30 - 15) / 45.
  BOOST_TEST(f["brevity"] == 0.666667, boost::test_tools::tolerance(1e-9));
  BOOST_TEST(f["tags"] == 0.6, boost::test_tools::tolerance(1e-9));
  BOOST_TEST(f["keyword"] == 1.0); // "omniva" was detected
  BOOST_TEST(f["virality"] == 0.6);
  BOOST_TEST(f["relevance"] == 0.8);
  // A keyword tag the Analyzer writes counts too; no analysis gives zeros.
  auto g = features_of(candidate(0, 5, 0.5, 9, {"keyword:launch"}), json::value{});
  BOOST_TEST(g["keyword"] == 1.0);
  BOOST_TEST(g["faces"] == 1.0);
  BOOST_TEST(g["brevity"] == 1.0);
  BOOST_TEST(g["virality"] == 0.0);
  BOOST_TEST(features_of(candidate(0, 90, 0.5, 0, {}), json::value{})["brevity"] == 0.0);
}

BOOST_AUTO_TEST_CASE(each_persona_votes_its_weighted_mean) {
  auto p = default_personas();
  BOOST_REQUIRE_EQUAL(p.agents.size(), 3u);
  std::vector<json::value> cs{candidate(10, 40, 0.9, 2, {"speech", "omniva", "faces"})};
  auto r = vote(p, cs, analysis());
  // risk_mitigation: 0.5 * 0.9 + 0.3 * 2/3 + 0.2 * 0.8 = 0.81.
  BOOST_TEST(vote_of(r, 0, "risk_mitigation") == 0.81, boost::test_tools::tolerance(1e-6));
  // exploratory_push: 0.4 * 0.6 + 0.3 * 0.6 + 0.3 * 0.1 = 0.45.
  BOOST_TEST(vote_of(r, 0, "exploratory_push") == 0.45, boost::test_tools::tolerance(1e-6));
  // trend_chasing: 0.4 * 0.6 + 0.3 * 1 + 0.3 * 2/3 = 0.74.
  BOOST_TEST(vote_of(r, 0, "trend_chasing") == 0.74, boost::test_tools::tolerance(1e-6));
  auto& v = r.verdicts.at(0);
  BOOST_TEST(v.consensus == (0.81 + 0.45 + 0.74) / 3, boost::test_tools::tolerance(1e-6));
  BOOST_TEST(v.dissenter == "exploratory_push");
  BOOST_TEST(v.dissent == 0.666667 - 0.45, boost::test_tools::tolerance(1e-6));
  BOOST_TEST(v.lattice_priority == lattice::clip_priority(v.consensus, v.dissent));
  BOOST_TEST(v.priority_delta == v.lattice_priority); // it was 0 before
  // The rows carry the report's columns.
  for (auto& row : r.rows) {
    BOOST_TEST(row.confidence > 0.0);
    BOOST_TEST(row.confidence <= 1.0);
    BOOST_TEST(!row.commentary.empty());
  }
  // Rows by agent name: exploratory_push (0.45) doubts, risk_mitigation backs.
  BOOST_TEST(r.rows[0].agent == "exploratory_push");
  BOOST_TEST(r.rows[0].commentary.find("doubts this clip") == 0u);
  BOOST_TEST(r.rows[1].commentary.find("backs this clip") == 0u);
  BOOST_TEST(r.rows[1].commentary.find("strongest signal confidence (0.90)")
             != std::string::npos);
}

BOOST_AUTO_TEST_CASE(identical_inputs_give_identical_reports_sorted_by_fixed_keys) {
  auto p = default_personas();
  std::vector<json::value> cs{candidate(0, 8, 0.4, 0, {"scene_cut"}),
                              candidate(8, 20, 0.9, 1, {"omniva", "speech"}),
                              candidate(20, 30, 0.9, 1, {"omniva", "speech"})};
  auto a = json::serialize(to_json(vote(p, cs, analysis())), json::style::canonical);
  // The personas listed in another order vote the same.
  auto q = p;
  std::reverse(q.agents.begin(), q.agents.end());
  auto b = json::serialize(to_json(vote(q, cs, analysis())), json::style::canonical);
  BOOST_TEST(a == b);
  auto r = vote(p, cs, analysis());
  for (size_t i = 1; i < r.rows.size(); ++i) {
    auto& x = r.rows[i - 1];
    auto& y = r.rows[i];
    BOOST_TEST((x.candidate < y.candidate
                || (x.candidate == y.candidate && x.agent < y.agent)));
  }
  // Ties keep the earlier candidate first; the weakest comes last.
  BOOST_TEST(r.ranking == (std::vector<size_t>{1, 2, 0}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(select_keeps_the_top_by_consensus_in_their_order) {
  auto p = default_personas();
  std::vector<json::value> cs{candidate(0, 8, 0.2, 0, {}),
                              candidate(8, 20, 0.9, 1, {"omniva", "speech"}),
                              candidate(20, 30, 0.5, 0, {"speech"}),
                              candidate(30, 40, 0.95, 2, {"omniva", "speech", "faces"})};
  auto r = vote(p, cs, analysis());
  BOOST_TEST(select(r, 2, std::nullopt) == (std::vector<size_t>{1, 3}),
             boost::test_tools::per_element());
  BOOST_TEST(select(r, std::nullopt, std::nullopt).size() == 4u);
  // min_consensus drops the weak ones before top counts.
  auto strong = select(r, 10, r.verdicts[2].consensus + 1e-9);
  for (auto c : strong)
    BOOST_TEST(r.verdicts[c].consensus > r.verdicts[2].consensus);
  BOOST_TEST(select(r, 3, 1.0).empty());
  // The promoted candidate is still a valid ClipCandidate.
  auto promoted = annotate(cs[3], r.verdicts[3]);
  BOOST_TEST(promoted.find("pantheon_votes")->as_object().size() == 3u);
  BOOST_TEST(promoted.find("lattice_priority")->as_double() == r.verdicts[3].lattice_priority);
  auto schema = contracts::schema_catalog::shipped().find("ClipCandidate");
  BOOST_REQUIRE(schema);
  BOOST_TEST(schema->validate(promoted).valid);
}

BOOST_AUTO_TEST_CASE(the_report_reads_back) {
  auto r = vote(default_personas(),
                {candidate(0, 8, 0.4, 0, {"x"}), candidate(8, 12, 0.7, 1, {"omniva"})},
                analysis());
  auto text = json::serialize(to_json(r), json::style::canonical);
  auto back = read_report(doc(text));
  BOOST_REQUIRE(back);
  BOOST_TEST(json::serialize(to_json(*back), json::style::canonical) == text);
  BOOST_TEST(!read_report(doc(R"({"personas": "p@1"})")));
  BOOST_TEST(!read_report(doc(
    R"({"personas": "p@1", "rows": [], "candidates": [], "ranking": [3]})")));
}

BOOST_AUTO_TEST_CASE(a_personas_document_is_checked_whole) {
  auto ok = check_personas("mine@1", doc(R"({"agents": [
      {"agent": "brand_safety", "weight": 2, "features": {"confidence": 1, "faces": 0.5},
       "stance": "no surprises"},
      {"agent": "hype", "features": {"virality": 1}}]})"));
  BOOST_REQUIRE(ok.entry);
  BOOST_TEST(ok.entry->agents.size() == 2u);
  BOOST_TEST(ok.entry->agents[0].weight == 2.0);
  // Round trip through the document.
  auto again = check_personas("mine@1", to_json(*ok.entry));
  BOOST_REQUIRE(again.entry);
  BOOST_TEST((*again.entry == *ok.entry));
  auto bad = check_personas("mine@1", doc(R"({"agents": [
      {"agent": "Bad Name", "features": {"confidence": 1}},
      {"agent": "dup", "features": {"sparkle": 1}, "weight": 0},
      {"agent": "dup", "features": {"confidence": 0}, "extra": true}],
      "colour": "red"})"));
  BOOST_TEST(!bad.entry);
  std::vector<std::string> where;
  for (auto& p : bad.problems)
    where.push_back(std::string{contracts::to_string(p.code)} + " " + p.pointer);
  std::vector<std::string> expected{
    "unknown_field /colour",
    "invalid_argument /agents/0/agent",
    "invalid_argument /agents/1/weight",
    "invalid_argument /agents/1/features/sparkle",
    "invalid_argument /agents/1/features",
    "unknown_field /agents/2/extra",
    "duplicate_key /agents/2/agent",
    "invalid_argument /agents/2/features",
  };
  BOOST_TEST(where == expected, boost::test_tools::per_element());
  BOOST_TEST(!check_personas("x@1", doc("[]")).entry);
  BOOST_TEST(check_personas("x@1", doc(R"({"agents": []})")).problems.front().pointer
             == "/agents");
}

BOOST_AUTO_TEST_CASE(a_ballot_gets_the_report_or_a_problem) {
  contracts::pantheon_ballot b;
  b.key = "run\nedit#0";
  auto personas = to_json(default_personas());
  personas.set("ref", "personas@1");
  b.personas_json = json::serialize(personas);
  b.candidates_json = json::serialize(json::value{json::array{
    candidate(0, 8, 0.4, 0, {"x"}), candidate(8, 12, 0.7, 1, {"omniva"})}});
  b.context_json = json::serialize(analysis());
  auto a = contracts::advise(b);
  BOOST_TEST(a.key == b.key);
  BOOST_TEST(a.problem.empty());
  auto r = read_report(doc(a.report_json));
  BOOST_REQUIRE(r);
  BOOST_TEST(r->personas_ref == "personas@1");
  BOOST_TEST(r->verdicts.size() == 2u);
  BOOST_TEST(contracts::advise(b).report_json == a.report_json);
  b.candidates_json = "{not json";
  BOOST_TEST(!contracts::advise(b).problem.empty());
}
