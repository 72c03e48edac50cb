#include "contracts/pantheon.hpp"

#include "contracts/lattice.hpp"
#include "contracts/registry_store.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <set>

namespace omniva::pantheon {

using contracts::ec;
using contracts::problem;

namespace {

/// Rounds to 1e-6: the report's numbers survive a JSON round trip and
/// compare equal across runs.
double round6(double x) {
  return std::round(x * 1e6) / 1e6;
}

double clamp01(double x) {
  return std::clamp(x, 0.0, 1.0);
}

double number_at(const json::value& v, std::string_view key, double fallback) {
  auto* x = v.find(key);
  return x != nullptr && x->is_number() ? x->as_double() : fallback;
}

bool is_snake(std::string_view s) {
  return !s.empty() && s.size() <= 64
         && std::all_of(s.begin(), s.end(),
                        [](char c) { return (c >= 'a' && c <= 'z') || c == '_'; });
}

persona make(std::string agent, std::map<std::string, double> features,
             std::string stance) {
  persona p;
  p.agent = std::move(agent);
  p.features = std::move(features);
  p.stance = std::move(stance);
  return p;
}

/// The feature name as people read it in a commentary.
std::string_view label(std::string_view feature) {
  if (feature == "faces")
    return "faces on screen";
  if (feature == "brevity")
    return "short length";
  if (feature == "tags")
    return "topic breadth";
  if (feature == "keyword")
    return "a spotted keyword";
  return feature;
}

} // namespace

bool is_feature(std::string_view name) noexcept {
  return std::find(std::begin(feature_names), std::end(feature_names), name)
         != std::end(feature_names);
}

personas default_personas() {
  personas p;
  p.ref = std::string{default_personas_ref};
  p.agents.push_back(make("risk_mitigation",
                          {{"confidence", 0.5}, {"faces", 0.3}, {"relevance", 0.2}},
                          "keeps what is certain, on topic and shows a person"));
  p.agents.push_back(make("exploratory_push",
                          {{"tags", 0.4}, {"virality", 0.3}, {"uncertainty", 0.3}},
                          "backs broad, unusual moments the others might skip"));
  p.agents.push_back(make("trend_chasing",
                          {{"virality", 0.4}, {"keyword", 0.3}, {"brevity", 0.3}},
                          "wants short, viral clips that hit a keyword"));
  return p;
}

personas_check check_personas(std::string_view ref, const json::value& doc) {
  personas_check out;
  auto bad = [&](ec code, std::string pointer, std::string message) {
    out.problems.push_back({code, std::move(pointer), std::move(message)});
  };
  if (!doc.is_object()) {
    bad(ec::invalid_argument, "", "a personas document is a JSON object");
    return out;
  }
  for (auto& [k, v] : doc.as_object())
    if (k != "agents" && k != "description")
      bad(ec::unknown_field, json::append_pointer("", k),
          "unknown member '" + k + "' (agents, description)");
  auto* agents = doc.find("agents");
  if (agents == nullptr) {
    bad(ec::missing_field, "/agents", "a personas document lists its agents");
    return out;
  }
  if (!agents->is_array() || agents->as_array().empty()) {
    bad(ec::invalid_argument, "/agents", "agents is a non-empty array");
    return out;
  }
  personas p;
  p.ref = std::string{ref};
  std::set<std::string> seen;
  size_t i = 0;
  for (auto& a : agents->as_array()) {
    auto at = json::append_pointer("/agents", i++);
    if (!a.is_object()) {
      bad(ec::invalid_argument, at, "an agent is an object");
      continue;
    }
    persona x;
    for (auto& [k, v] : a.as_object())
      if (k != "agent" && k != "weight" && k != "features" && k != "stance")
        bad(ec::unknown_field, json::append_pointer(at, k),
            "unknown member '" + k + "' (agent, weight, features, stance)");
    auto* name = a.find("agent");
    if (name == nullptr)
      bad(ec::missing_field, at + "/agent", "an agent has a name");
    else if (!name->is_string() || !is_snake(name->as_string()))
      bad(ec::invalid_argument, at + "/agent",
          "an agent's name is snake_case: lowercase letters and '_'");
    else if (!seen.insert(name->as_string()).second)
      bad(ec::duplicate_key, at + "/agent",
          "the agent '" + name->as_string() + "' is listed twice");
    else
      x.agent = name->as_string();
    if (auto* w = a.find("weight")) {
      if (!w->is_number() || !(w->as_double() > 0) || w->as_double() > 1e6)
        bad(ec::invalid_argument, at + "/weight",
            "weight is a number above 0 (at most 1e6)");
      else
        x.weight = w->as_double();
    }
    if (auto* s = a.find("stance")) {
      if (!s->is_string() || s->as_string().size() > 200)
        bad(ec::invalid_argument, at + "/stance",
            "stance is a string of at most 200 characters");
      else
        x.stance = s->as_string();
    }
    auto* f = a.find("features");
    if (f == nullptr) {
      bad(ec::missing_field, at + "/features", "an agent weighs features");
    } else if (!f->is_object()) {
      bad(ec::invalid_argument, at + "/features",
          "features is an object: feature -> weight");
    } else {
      double sum = 0;
      for (auto& [k, v] : f->as_object()) {
        auto fp = json::append_pointer(at + "/features", k);
        if (!is_feature(k)) {
          bad(ec::invalid_argument, fp,
              "unknown feature '" + k
                + "' (confidence, uncertainty, faces, brevity, tags, keyword, "
                  "virality, relevance)");
        } else if (!v.is_number() || v.as_double() < 0 || v.as_double() > 1e6) {
          bad(ec::invalid_argument, fp, "a feature's weight is a number >= 0");
        } else {
          x.features[k] = v.as_double();
          sum += v.as_double();
        }
      }
      if (!(sum > 0) && f->is_object())
        bad(ec::invalid_argument, at + "/features",
            "at least one feature has a weight above 0");
    }
    p.agents.push_back(std::move(x));
  }
  if (out.problems.empty())
    out.entry = std::move(p);
  return out;
}

json::value to_json(const personas& p) {
  json::value doc{json::object{}};
  json::array agents;
  for (auto& a : p.agents) {
    json::value x{json::object{}};
    x.set("agent", a.agent);
    x.set("weight", a.weight);
    json::value f{json::object{}};
    for (auto& [k, w] : a.features)
      f.set(k, w);
    x.set("features", std::move(f));
    if (!a.stance.empty())
      x.set("stance", a.stance);
    agents.push_back(std::move(x));
  }
  doc.set("agents", json::value{std::move(agents)});
  return doc;
}

personas_text_check check_personas_text(std::string_view ref,
                                        std::string_view text) {
  personas_text_check out;
  if (!contracts::is_registry_ref(ref)) {
    std::string shown{ref.substr(0, 200)};
    out.problems.push_back(
      {ec::invalid_ref, "/ref",
       "'" + shown
         + "' is not a personas ref: a name (a letter first; letters, "
           "digits, '.', '_', '-'), '@' and a positive version (e.g. "
           "personas@2)"});
    return out;
  }
  auto parsed = json::parse(text, json::default_max_depth,
                            json::duplicates::refuse);
  if (!parsed) {
    if (parsed.error.duplicate_key)
      out.problems.push_back(
        {ec::duplicate_key, parsed.error.pointer, parsed.error.message});
    else
      out.problems.push_back({ec::invalid_json, "",
                              "the personas document is not JSON: "
                                + parsed.error.message});
    return out;
  }
  auto checked = check_personas(ref, *parsed.doc);
  out.problems = std::move(checked.problems);
  if (checked.entry) {
    out.entry = std::move(checked.entry);
    out.canonical_json = json::serialize(*parsed.doc, json::style::canonical);
  }
  return out;
}

std::string default_personas_json() {
  return json::serialize(to_json(default_personas()), json::style::canonical);
}

std::map<std::string, double> features_of(const json::value& candidate,
                                          const json::value& context) {
  std::map<std::string, double> f;
  double confidence = clamp01(number_at(candidate, "confidence", 0));
  f["confidence"] = confidence;
  f["uncertainty"] = 1 - confidence;
  f["faces"] = std::min(number_at(candidate, "faces_detected", 0), 3.0) / 3.0;
  double length = number_at(candidate, "end_time", 0)
                  - number_at(candidate, "start_time", 0);
  f["brevity"] = length <= 15 ? 1.0 : clamp01(1 - (length - 15) / 45);
  std::vector<std::string> tags;
  if (auto* t = candidate.find("semantic_tags"); t != nullptr && t->is_array())
    for (auto& x : t->as_array())
      if (x.is_string())
        tags.push_back(x.as_string());
  f["tags"] = std::min<double>(static_cast<double>(tags.size()), 5.0) / 5.0;
  std::set<std::string> keywords;
  if (auto* k = context.find("keywords_detected"); k != nullptr && k->is_array())
    for (auto& x : k->as_array())
      if (x.is_string())
        keywords.insert(x.as_string());
  bool hit = std::any_of(tags.begin(), tags.end(), [&](const std::string& t) {
    return keywords.count(t) > 0
           || (t.rfind("keyword:", 0) == 0 && !t.substr(8).empty());
  });
  f["keyword"] = hit ? 1.0 : 0.0;
  f["virality"] = clamp01(number_at(context, "virality_score", 0));
  f["relevance"] = clamp01(number_at(context, "relevance_score", 0));
  for (auto& [k, v] : f)
    v = round6(v);
  return f;
}

report vote(const personas& p, const std::vector<json::value>& candidates,
            const json::value& context) {
  report r;
  r.personas_ref = p.ref;
  // Agents in name order: the rows' order does not depend on the document's.
  std::vector<const persona*> agents;
  for (auto& a : p.agents)
    agents.push_back(&a);
  std::sort(agents.begin(), agents.end(),
            [](auto* x, auto* y) { return x->agent < y->agent; });
  double total_weight = 0;
  for (auto* a : agents)
    total_weight += a->weight;
  for (size_t c = 0; c < candidates.size(); ++c) {
    auto f = features_of(candidates[c], context);
    bool has_context = context.is_object();
    verdict v;
    v.candidate = c;
    double weighted = 0;
    for (auto* a : agents) {
      double sum = 0;
      double weights = 0;
      double known = 0;
      std::string best;
      std::string worst;
      for (auto& [name, w] : a->features) {
        if (w <= 0)
          continue;
        sum += w * f[name];
        weights += w;
        bool from_context = name == "virality" || name == "relevance"
                            || name == "keyword";
        if (!from_context || has_context)
          known += w;
        if (best.empty() || f[name] > f[best])
          best = name;
        if (worst.empty() || f[name] < f[worst])
          worst = name;
      }
      vote_row row;
      row.candidate = c;
      row.agent = a->agent;
      row.vote = round6(weights > 0 ? sum / weights : 0);
      double coverage = weights > 0 ? known / weights : 0;
      row.confidence = round6(coverage * (0.5 + std::abs(row.vote - 0.5)));
      row.commentary = fmt::format(
        "{} {} ({}): strongest signal {} ({:.2f}), weakest {} ({:.2f})",
        row.vote >= 0.5 ? "backs" : "doubts", "this clip", a->stance,
        label(best), f[best], label(worst), f[worst]);
      v.votes[a->agent] = row.vote;
      weighted += a->weight * row.vote;
      r.rows.push_back(std::move(row));
    }
    v.consensus = round6(total_weight > 0 ? weighted / total_weight : 0);
    for (auto* a : agents) {
      double d = round6(std::abs(v.votes[a->agent] - v.consensus));
      if (agents.size() > 1 && (v.dissenter.empty() || d > v.dissent)) {
        v.dissent = d;
        v.dissenter = a->agent;
      }
    }
    v.lattice_priority = lattice::clip_priority(v.consensus, v.dissent);
    v.priority_delta =
      round6(v.lattice_priority
             - clamp01(number_at(candidates[c], "lattice_priority", 0)));
    r.verdicts.push_back(std::move(v));
  }
  for (size_t c = 0; c < r.verdicts.size(); ++c)
    r.ranking.push_back(c);
  std::stable_sort(r.ranking.begin(), r.ranking.end(), [&](size_t a, size_t b) {
    return r.verdicts[a].consensus > r.verdicts[b].consensus;
  });
  return r;
}

std::vector<size_t> select(const report& r, std::optional<int64_t> top,
                           std::optional<double> min_consensus) {
  std::vector<size_t> kept;
  for (auto c : r.ranking)
    if (!min_consensus || r.verdicts[c].consensus >= *min_consensus)
      kept.push_back(c);
  if (top && kept.size() > static_cast<size_t>(std::max<int64_t>(*top, 0)))
    kept.resize(static_cast<size_t>(*top));
  std::sort(kept.begin(), kept.end());
  return kept;
}

json::value annotate(const json::value& candidate, const verdict& v) {
  json::value out = candidate;
  if (!out.is_object())
    return out;
  json::value votes{json::object{}};
  for (auto& [agent, x] : v.votes)
    votes.set(agent, x);
  out.set("pantheon_votes", std::move(votes));
  out.set("lattice_priority", v.lattice_priority);
  return out;
}

json::value to_json(const report& r) {
  json::value doc{json::object{}};
  doc.set("personas", r.personas_ref);
  json::array rows;
  for (auto& x : r.rows) {
    json::value row{json::object{}};
    row.set("candidate", static_cast<int64_t>(x.candidate));
    row.set("agent", x.agent);
    row.set("vote", x.vote);
    row.set("confidence", x.confidence);
    row.set("commentary", x.commentary);
    rows.push_back(std::move(row));
  }
  doc.set("rows", json::value{std::move(rows)});
  json::array verdicts;
  for (auto& v : r.verdicts) {
    json::value x{json::object{}};
    x.set("candidate", static_cast<int64_t>(v.candidate));
    x.set("consensus", v.consensus);
    x.set("dissent", v.dissent);
    x.set("dissenter", v.dissenter);
    json::value votes{json::object{}};
    for (auto& [agent, vote] : v.votes)
      votes.set(agent, vote);
    x.set("votes", std::move(votes));
    x.set("lattice_priority", v.lattice_priority);
    x.set("priority_delta", v.priority_delta);
    verdicts.push_back(std::move(x));
  }
  doc.set("candidates", json::value{std::move(verdicts)});
  json::array ranking;
  for (auto c : r.ranking)
    ranking.push_back(static_cast<int64_t>(c));
  doc.set("ranking", json::value{std::move(ranking)});
  return doc;
}

std::optional<report> read_report(const json::value& doc) {
  auto index = [](const json::value& v, std::string_view key) -> std::optional<size_t> {
    auto* x = v.find(key);
    if (x == nullptr)
      return std::nullopt;
    auto n = x->as_int64();
    if (!n || *n < 0)
      return std::nullopt;
    return static_cast<size_t>(*n);
  };
  report r;
  auto* personas = doc.find("personas");
  auto* rows = doc.find("rows");
  auto* verdicts = doc.find("candidates");
  auto* ranking = doc.find("ranking");
  if (personas == nullptr || !personas->is_string() || rows == nullptr
      || !rows->is_array() || verdicts == nullptr || !verdicts->is_array()
      || ranking == nullptr || !ranking->is_array())
    return std::nullopt;
  r.personas_ref = personas->as_string();
  for (auto& x : rows->as_array()) {
    vote_row row;
    auto c = index(x, "candidate");
    auto* agent = x.find("agent");
    auto* commentary = x.find("commentary");
    if (!c || agent == nullptr || !agent->is_string() || commentary == nullptr
        || !commentary->is_string())
      return std::nullopt;
    row.candidate = *c;
    row.agent = agent->as_string();
    row.vote = number_at(x, "vote", 0);
    row.confidence = number_at(x, "confidence", 0);
    row.commentary = commentary->as_string();
    r.rows.push_back(std::move(row));
  }
  for (auto& x : verdicts->as_array()) {
    verdict v;
    auto c = index(x, "candidate");
    auto* votes = x.find("votes");
    if (!c || *c != r.verdicts.size() || votes == nullptr || !votes->is_object())
      return std::nullopt;
    v.candidate = *c;
    v.consensus = number_at(x, "consensus", 0);
    v.dissent = number_at(x, "dissent", 0);
    if (auto* d = x.find("dissenter"); d != nullptr && d->is_string())
      v.dissenter = d->as_string();
    for (auto& [agent, vote] : votes->as_object()) {
      if (!vote.is_number())
        return std::nullopt;
      v.votes[agent] = vote.as_double();
    }
    v.lattice_priority = number_at(x, "lattice_priority", 0);
    v.priority_delta = number_at(x, "priority_delta", 0);
    r.verdicts.push_back(std::move(v));
  }
  for (auto& x : ranking->as_array()) {
    auto n = x.as_int64();
    if (!n || *n < 0 || static_cast<size_t>(*n) >= r.verdicts.size())
      return std::nullopt;
    r.ranking.push_back(static_cast<size_t>(*n));
  }
  if (r.ranking.size() != r.verdicts.size())
    return std::nullopt;
  return r;
}

} // namespace omniva::pantheon

namespace omniva::contracts {

pantheon_advice advise(const pantheon_ballot& ballot) {
  pantheon_advice out;
  out.key = ballot.key;
  auto personas_doc = json::parse(ballot.personas_json);
  auto candidates = json::parse(ballot.candidates_json);
  auto context = json::parse(ballot.context_json);
  if (!personas_doc || !candidates || !candidates.doc->is_array() || !context) {
    out.problem = "the ballot is not readable JSON";
    return out;
  }
  auto ref = personas_doc.doc->find("ref");
  auto doc = *personas_doc.doc;
  doc.erase("ref");
  auto checked = pantheon::check_personas(
    ref != nullptr && ref->is_string() ? ref->as_string() : "", doc);
  if (!checked.entry) {
    out.problem = "the personas do not check: " + checked.problems.front().pointer
                  + ": " + checked.problems.front().message;
    return out;
  }
  auto r = pantheon::vote(*checked.entry, candidates.doc->as_array(), *context.doc);
  out.report_json = json::serialize(pantheon::to_json(r), json::style::canonical);
  return out;
}

} // namespace omniva::contracts
