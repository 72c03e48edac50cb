#pragma once

// Pantheon's pure logic (docs/engines.md, "Pantheon"): personas vote on clip
// candidates. Each persona weighs the same documented features of a
// candidate (and of the analysis it came from) its own way; the report has
// one row per (candidate, persona) with the columns `agent`, `vote`,
// `confidence` and `commentary`, and per candidate the consensus (the
// persona-weighted mean vote), the dissent (the largest distance of a vote
// from the consensus, and who dissents most) and the priority Lattice gives
// it. Everything is rounded to 1e-6 and sorted by fixed keys, so identical
// inputs give identical reports, byte for byte. The actor
// (actors/pantheon.hpp) only feeds ballots through it; Zenith records the
// report as advice and decides.

#include "contracts/error_code.hpp"
#include "contracts/json.hpp"

#include <caf/expected.hpp>
#include <caf/meta/type_name.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace omniva::pantheon {

/// The features a persona may weigh, each in [0, 1]:
/// - `confidence`: the candidate's `confidence`;
/// - `uncertainty`: 1 - `confidence`;
/// - `faces`: min(`faces_detected`, 3) / 3;
/// - `brevity`: 1 up to 15 s, then falling linearly to 0 at 60 s;
/// - `tags`: min(|`semantic_tags`|, 5) / 5;
/// - `keyword`: 1 when a semantic tag is one of the analysis's
///   `keywords_detected` (or `keyword:<k>` for one), else 0;
/// - `virality`, `relevance`: the analysis's `virality_score`,
///   `relevance_score` (0 without an analysis).
inline constexpr std::string_view feature_names[] = {
  "confidence", "uncertainty", "faces",     "brevity",
  "tags",       "keyword",     "virality",  "relevance",
};

/// Whether `name` is one of `feature_names`.
bool is_feature(std::string_view name) noexcept;

/// One persona: how it weighs the features, and how much its vote counts.
struct persona {
  /// snake_case name: the key of its vote in `pantheon_votes`.
  std::string agent;
  /// Its weight in the consensus (> 0).
  double weight = 1.0;
  /// Feature -> weight (>= 0, at least one > 0): the vote is the weighted
  /// mean of the features.
  std::map<std::string, double> features;
  /// What it stands for, said in its commentary.
  std::string stance;

  friend bool operator==(const persona&, const persona&) = default;
};

/// A set of personas, a registry entry `name@N` (`personas@1` is built in).
struct personas {
  std::string ref;
  std::vector<persona> agents;

  friend bool operator==(const personas&, const personas&) = default;
};

/// The ref of the personas every node has.
inline constexpr std::string_view default_personas_ref = "personas@1";

/// `personas@1`: `risk_mitigation` (confidence 0.5, faces 0.3, relevance
/// 0.2; weight 1), `exploratory_push` (tags 0.4, virality 0.3, uncertainty
/// 0.3; weight 1), `trend_chasing` (virality 0.4, keyword 0.3, brevity 0.3;
/// weight 1).
personas default_personas();

/// Reads a personas document `{"agents": [{"agent", "weight"?, "features",
/// "stance"?}], "description"?}` registered as `ref`; every problem with its
/// pointer (`invalid_argument`, `unknown_field`, `missing_field`,
/// `duplicate_key`).
struct personas_check {
  std::optional<personas> entry;
  std::vector<contracts::problem> problems;
};
personas_check check_personas(std::string_view ref, const json::value& doc);

/// The document of `p` (what `check_personas` reads).
json::value to_json(const personas& p);

/// Checks personas text for registration as `ref`: `invalid_ref` at "/ref"
/// when `ref` is not `name@N` (a letter first; letters, digits, '.', '_',
/// '-'; a positive version), `invalid_json` when `text` is not JSON, else
/// every problem of `check_personas`. On success `canonical_json` is the
/// document in canonical form (what a registration stores).
struct personas_text_check {
  std::optional<personas> entry;
  std::string canonical_json;
  std::vector<contracts::problem> problems;
};
personas_text_check check_personas_text(std::string_view ref,
                                        std::string_view text);

/// The built-in `personas@1` document in canonical form: what a
/// registration of `personas@1` must equal (it cannot be replaced).
std::string default_personas_json();

/// A candidate's features (see `feature_names`); `context` is the analysis
/// the candidate came from (null when none).
std::map<std::string, double> features_of(const json::value& candidate,
                                          const json::value& context);

/// One row of the report.
struct vote_row {
  /// The candidate's index in the ballot.
  size_t candidate = 0;
  std::string agent;
  /// In [0, 1].
  double vote = 0;
  /// In [0, 1]: how sure the persona is (the vote's distance from 0.5, and
  /// how many of its features had a value).
  double confidence = 0;
  std::string commentary;
};

/// The verdict on one candidate.
struct verdict {
  size_t candidate = 0;
  /// Persona-weighted mean vote.
  double consensus = 0;
  /// max |vote - consensus| over the personas.
  double dissent = 0;
  /// The persona farthest from the consensus ("" with one persona).
  std::string dissenter;
  /// agent -> vote: the candidate's `pantheon_votes`.
  std::map<std::string, double> votes;
  /// Lattice's priority from the consensus (`lattice::clip_priority`).
  double lattice_priority = 0;
  /// The change from the candidate's `lattice_priority` before.
  double priority_delta = 0;
};

/// Pantheon's report on a ballot.
struct report {
  std::string personas_ref;
  /// By candidate, then by agent name.
  std::vector<vote_row> rows;
  /// By candidate index.
  std::vector<verdict> verdicts;
  /// Candidate indices by consensus, highest first (ties: lower index).
  std::vector<size_t> ranking;
};

/// The personas of `p` vote on each candidate (ClipCandidate objects).
/// Pure and deterministic.
report vote(const personas& p, const std::vector<json::value>& candidates,
            const json::value& context);

/// The candidates `select: {"by": "pantheon", "top"?, "min_consensus"?}`
/// keeps: consensus at least `min_consensus`, then the `top` highest (ties:
/// lower index), returned in their original order.
std::vector<size_t> select(const report& r, std::optional<int64_t> top,
                           std::optional<double> min_consensus);

/// `candidate` with its `pantheon_votes` and `lattice_priority` from `v`.
json::value annotate(const json::value& candidate, const verdict& v);

/// Reads what `to_json(report)` wrote; nullopt when it is not that shape.
std::optional<report> read_report(const json::value& doc);

/// `{"personas", "rows": [{"candidate", "agent", "vote", "confidence",
/// "commentary"}], "candidates": [{"candidate", "consensus", "dissent",
/// "dissenter", "votes", "lattice_priority", "priority_delta"}],
/// "ranking"}`.
json::value to_json(const report& r);

} // namespace omniva::pantheon

namespace omniva::contracts {

/// What Zenith asks Pantheon: a vote on the elements of one fan-out.
struct pantheon_ballot {
  /// Zenith's name for the fan-out waiting on it ("run\nstep\nbranch").
  std::string key;
  /// The personas document (`pantheon::to_json`), compact JSON.
  std::string personas_json;
  /// The candidates, a JSON array of ClipCandidate objects.
  std::string candidates_json;
  /// The analysis they came from (JSON; "null" when none).
  std::string context_json;

  friend bool operator==(const pantheon_ballot&, const pantheon_ballot&) = default;
};

/// @relates pantheon_ballot
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, pantheon_ballot& x) {
  return f(caf::meta::type_name("pantheon_ballot"), x.key, x.personas_json,
           x.candidates_json, x.context_json);
}

/// Pantheon's answer: the report as canonical JSON, or a problem.
struct pantheon_advice {
  std::string key;
  std::string report_json;
  /// Set when the ballot could not be read.
  std::string problem;

  friend bool operator==(const pantheon_advice&, const pantheon_advice&) = default;
};

/// @relates pantheon_advice
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, pantheon_advice& x) {
  return f(caf::meta::type_name("pantheon_advice"), x.key, x.report_json,
           x.problem);
}

/// Reads and votes on a ballot: the advice Pantheon answers. Pure.
pantheon_advice advise(const pantheon_ballot& ballot);

/// Zenith's answer to a registration of personas `name@N` (docs/engines.md,
/// "Pantheon"): the entry as registered, or every problem (`invalid_ref`,
/// `invalid_json`, the document's problems with their pointers,
/// `immutable_ref` when the ref is held with other content, personas@1
/// included).
struct personas_registration {
  bool ok = false;
  /// The same ref with the same content was registered before.
  bool unchanged = false;
  std::string ref;
  /// The document as registered, canonical JSON.
  std::string document_json;
  std::vector<problem> problems;

  friend bool operator==(const personas_registration&,
                         const personas_registration&) = default;
};

/// @relates personas_registration
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, personas_registration& x) {
  return f(caf::meta::type_name("personas_registration"), x.ok, x.unchanged,
           x.ref, x.document_json, x.problems);
}

} // namespace omniva::contracts
