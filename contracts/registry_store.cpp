#include "contracts/registry_store.hpp"

#include "contracts/predicate.hpp" // max_usd_micro

#include "contracts/json_schema.hpp"
#include "contracts/pantheon.hpp"
#include "contracts/schema_catalog.hpp"

#include <algorithm>
#include <map>

namespace omniva::contracts {

namespace {

bool is_letter(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

bool is_digit(char c) noexcept {
  return c >= '0' && c <= '9';
}

/// The largest policy values (one day of pause, a hundred attempts or
/// pauses): the same bounds as the shipped schema `policy`.
constexpr int64_t max_attempts_limit = 100;
constexpr int64_t max_backoff_ms = 86'400'000;
constexpr size_t max_backoff_values = 100;
/// At most this many `retry_on` codes, each at most this long.
constexpr size_t max_retry_on_codes = 100;
constexpr size_t max_retry_on_length = 64;
/// The largest jitter, in percent of a pause.
constexpr uint32_t max_jitter_pct = 100;
/// The jitter a policy without `jitter_pct` has (policy_entry's default).
const uint32_t default_jitter_pct = policy_entry{}.jitter_pct;
/// The longest lease (a week) and the lease a policy without `leases` has.
constexpr uint32_t max_lease_ttl_s = 604'800;
const uint32_t default_lease_ttl_s = policy_entry{}.lease_ttl_s;

/// A failure code as `retry_on` lists it: snake_case (a lowercase letter,
/// then lowercase letters, digits and '_'), like every error code's name.
bool is_snake_case_code(std::string_view s) noexcept {
  return !s.empty() && s.size() <= max_retry_on_length && s.front() >= 'a'
         && s.front() <= 'z'
         && std::all_of(s.begin(), s.end(), [](char c) {
              return (c >= 'a' && c <= 'z') || is_digit(c) || c == '_';
            });
}

std::string ref_problem_text(std::string_view ref) {
  return "'" + std::string{ref}
         + "' is not a registry ref: a name (letters, digits, '.', '_', '-'; "
           "a letter first), '@' and a positive version, e.g. "
           "\"media.metadata@1\"";
}

} // namespace

policy_entry default_policy() {
  policy_entry p;
  p.ref = std::string{default_policy_ref};
  p.description = "Three attempts; pauses of 1 s, 5 s and 15 s between them.";
  p.max_attempts = 3;
  p.backoff_ms = {1000, 5000, 15000};
  return p;
}

bool is_registry_ref(std::string_view ref) noexcept {
  auto at = ref.find('@');
  if (at == std::string_view::npos || at == 0)
    return false;
  auto name = ref.substr(0, at);
  auto version = ref.substr(at + 1);
  if (!is_letter(name.front())
      || !std::all_of(name.begin(), name.end(), [](char c) {
           return is_letter(c) || is_digit(c) || c == '.' || c == '_'
                  || c == '-';
         }))
    return false;
  return !version.empty() && version.size() <= 18 && version.front() != '0'
         && std::all_of(version.begin(), version.end(), is_digit);
}

std::optional<std::string> ref_of_file_name(std::string_view file_name) {
  constexpr std::string_view suffix = ".json";
  if (!file_name.ends_with(suffix))
    return std::nullopt;
  auto ref = file_name.substr(0, file_name.size() - suffix.size());
  if (!is_registry_ref(ref))
    return std::nullopt;
  return std::string{ref};
}

// -- schemas ----------------------------------------------------------------------

schema_check check_schema_document(std::string_view ref, const json::value& doc) {
  schema_check out;
  if (!is_registry_ref(ref))
    out.problems.push_back({ec::invalid_ref, "", ref_problem_text(ref)});
  if (!doc.is_object() && !doc.is_bool()) {
    out.problems.push_back({ec::invalid_schema, "",
                            "a JSON Schema is an object or a boolean, not "
                              + std::string{json::to_string(doc.type())}});
    return out;
  }
  // Compiled against the shipped schemas (so `$ref: "ClipCandidate.json"`
  // resolves); cached by canonical text, so checking the same document again
  // (Zenith, then the store) does not compile it again.
  auto compiled = schema_catalog::shipped().compile_inline(doc);
  for (auto& e : compiled.errors)
    out.problems.push_back({ec::invalid_schema, e.keyword_location,
                            "the schema is not valid: " + e.message});
  if (!compiled && compiled.errors.empty())
    out.problems.push_back({ec::invalid_schema, "", "the schema does not compile"});
  if (!out.problems.empty())
    return out;
  out.entry = schema_entry{std::string{ref},
                           json::serialize(doc, json::style::canonical)};
  out.compiled = std::move(compiled.schema);
  return out;
}

schema_check check_schema_text(std::string_view ref, std::string_view text) {
  auto doc = json::parse(text);
  if (!doc) {
    schema_check out;
    out.problems.push_back({ec::invalid_json, "", doc.error.message});
    return out;
  }
  return check_schema_document(ref, *doc.doc);
}

// -- policies ---------------------------------------------------------------------

policy_check check_policy_document(std::string_view ref, const json::value& doc) {
  policy_check out;
  if (!is_registry_ref(ref))
    out.problems.push_back({ec::invalid_ref, "", ref_problem_text(ref)});
  auto compiled = schema_catalog::shipped().compile("policy");
  if (!compiled) {
    out.problems.push_back({ec::invalid_schema, "",
                            "the shipped schema 'policy' does not compile"});
    return out;
  }
  auto verdict = compiled.schema->validate(doc);
  auto problems = schema_problems(verdict.errors, ec::schema_violation, "",
                                  schema_problem_codes::refined);
  if (!verdict.valid && problems.empty())
    problems.push_back({ec::schema_violation, "", "the policy is not valid"});
  out.problems.insert(out.problems.end(), problems.begin(), problems.end());
  if (auto* named = doc.find("ref"); named && named->is_string()
                                     && named->as_string() != ref)
    out.problems.push_back({ec::invalid_ref, "/ref",
                            "the policy names itself '" + named->as_string()
                              + "' but is registered as '" + std::string{ref}
                              + "'"});
  if (!out.problems.empty())
    return out;
  // Valid against the schema: every member below has its type and range.
  policy_entry p;
  p.ref = std::string{ref};
  if (auto* d = doc.find("description"))
    p.description = d->as_string();
  if (auto* retry = doc.find("retry")) {
    p.max_attempts = static_cast<uint32_t>(*retry->find("max_attempts")->as_int64());
    for (auto& b : retry->find("backoff_ms")->as_array())
      p.backoff_ms.push_back(static_cast<uint32_t>(*b.as_int64()));
    if (auto* codes = retry->find("retry_on"))
      for (auto& code : codes->as_array())
        p.retry_on.push_back(code.as_string());
    if (auto* jitter = retry->find("jitter_pct"))
      p.jitter_pct = static_cast<uint32_t>(*jitter->as_int64());
  }
  if (auto* budget = doc.find("budget"))
    p.budget_max_usd_micro = *budget->find("max_usd_micro")->as_int64();
  if (auto* leases = doc.find("leases")) {
    if (auto* ttl = leases->find("default_ttl_s"))
      p.lease_ttl_s = static_cast<uint32_t>(*ttl->as_int64());
    if (auto* on = leases->find("enable_path_leases"))
      p.path_leases = on->as_bool();
  }
  out.entry = std::move(p);
  return out;
}

policy_check check_policy_text(std::string_view ref, std::string_view text) {
  auto doc = json::parse(text);
  if (!doc) {
    policy_check out;
    out.problems.push_back({ec::invalid_json, "", doc.error.message});
    return out;
  }
  return check_policy_document(ref, *doc.doc);
}

std::vector<problem> check_policy_entry(const policy_entry& x) {
  std::vector<problem> out;
  if (!is_registry_ref(x.ref))
    out.push_back({ec::invalid_ref, "/ref", ref_problem_text(x.ref)});
  if (x.max_attempts < 1 || x.max_attempts > max_attempts_limit)
    out.push_back({ec::schema_violation, "/retry/max_attempts",
                   "max_attempts must be 1 .. 100, not "
                     + std::to_string(x.max_attempts)});
  if (x.backoff_ms.size() > max_backoff_values)
    out.push_back({ec::schema_violation, "/retry/backoff_ms",
                   "at most 100 pauses, not "
                     + std::to_string(x.backoff_ms.size())});
  for (size_t i = 0; i < x.backoff_ms.size(); ++i)
    if (x.backoff_ms[i] > max_backoff_ms)
      out.push_back({ec::schema_violation,
                     json::append_pointer("/retry/backoff_ms", i),
                     "a pause is at most 86400000 ms (one day), not "
                       + std::to_string(x.backoff_ms[i])});
  if (x.retry_on.size() > max_retry_on_codes)
    out.push_back({ec::schema_violation, "/retry/retry_on",
                   "at most 100 codes to retry, not "
                     + std::to_string(x.retry_on.size())});
  for (size_t i = 0; i < x.retry_on.size(); ++i) {
    auto at = json::append_pointer("/retry/retry_on", i);
    if (!is_snake_case_code(x.retry_on[i]))
      out.push_back({ec::schema_violation, at,
                     "'" + x.retry_on[i]
                       + "' is not a failure code: snake_case, a lowercase "
                         "letter first, at most 64 characters"});
    else if (std::find(x.retry_on.begin(), x.retry_on.begin() + i,
                       x.retry_on[i])
             != x.retry_on.begin() + i)
      out.push_back({ec::schema_violation, at,
                     "the code '" + x.retry_on[i] + "' is listed twice"});
  }
  if (x.jitter_pct > max_jitter_pct)
    out.push_back({ec::schema_violation, "/retry/jitter_pct",
                   "jitter_pct must be 0 .. 100, not "
                     + std::to_string(x.jitter_pct)});
  if (x.budget_max_usd_micro < -1 || x.budget_max_usd_micro > max_usd_micro)
    out.push_back({ec::schema_violation, "/budget/max_usd_micro",
                   "max_usd_micro must be 0 .. 10^15, not "
                     + std::to_string(x.budget_max_usd_micro)});
  if (x.lease_ttl_s < 1 || x.lease_ttl_s > max_lease_ttl_s)
    out.push_back({ec::schema_violation, "/leases/default_ttl_s",
                   "default_ttl_s must be 1 .. 604800 (a week), not "
                     + std::to_string(x.lease_ttl_s)});
  return out;
}

json::value to_json(const policy_entry& x) {
  json::value out{json::object{}};
  out.set("ref", x.ref);
  if (!x.description.empty())
    out.set("description", x.description);
  json::array backoff;
  for (auto ms : x.backoff_ms)
    backoff.emplace_back(static_cast<int64_t>(ms));
  json::value retry{json::object{}};
  retry.set("max_attempts", static_cast<int64_t>(x.max_attempts));
  retry.set("backoff_ms", json::value{std::move(backoff)});
  // Defaults are left out: a policy written before these members existed
  // (default@1 among them) keeps its form.
  if (!x.retry_on.empty()) {
    json::array codes;
    for (auto& code : x.retry_on)
      codes.emplace_back(code);
    retry.set("retry_on", json::value{std::move(codes)});
  }
  if (x.jitter_pct != default_jitter_pct)
    retry.set("jitter_pct", static_cast<int64_t>(x.jitter_pct));
  out.set("retry", std::move(retry));
  // Left out when they are the defaults (no cap, no leases), for the same
  // reason.
  if (x.budget_max_usd_micro >= 0)
    out.set("budget", json::object{{"max_usd_micro", json::value{x.budget_max_usd_micro}}});
  if (x.path_leases || x.lease_ttl_s != default_lease_ttl_s) {
    json::value leases{json::object{}};
    leases.set("default_ttl_s", static_cast<int64_t>(x.lease_ttl_s));
    leases.set("enable_path_leases", x.path_leases);
    out.set("leases", std::move(leases));
  }
  return out;
}

// -- the store ----------------------------------------------------------------------

namespace {

/// One registered schema: never changes once published.
struct schema_slot {
  schema_entry entry;
  json::value document;
  std::shared_ptr<const compiled_schema> compiled;
};

} // namespace

struct registry_store::snapshot {
  std::map<std::string, std::shared_ptr<const schema_slot>, std::less<>> schemas;
  std::map<std::string, policy_entry, std::less<>> policies;
  std::map<std::string, std::shared_ptr<const pipeline_spec>, std::less<>>
    pipelines;
  /// Personas of Pantheon: ref -> the document, canonical JSON.
  std::map<std::string, std::string, std::less<>> personas;
  /// Registered predicates (the shipped ones are not here).
  std::map<std::string, predicate_entry, std::less<>> predicates;
};

registry_store::registry_store() {
  auto first = std::make_shared<snapshot>();
  auto p = default_policy();
  first->policies.emplace(p.ref, p);
  first->personas.emplace(std::string{pantheon::default_personas_ref},
                          pantheon::default_personas_json());
  current_ = std::move(first);
}

registry_store::~registry_store() = default;

std::shared_ptr<const registry_store::snapshot> registry_store::current() const {
  std::lock_guard guard{mtx_};
  return current_;
}

caf::error registry_store::add_schema(const schema_entry& x) {
  if (auto s = current(); s->schemas.contains(x.ref)) {
    if (s->schemas.find(x.ref)->second->entry.canonical_json == x.canonical_json)
      return caf::none;
    return make_error(ec::immutable_ref,
                      "the schema " + x.ref + " is held with other content");
  }
  // Parse and compile outside the lock (cached by canonical text).
  auto checked = check_schema_text(x.ref, x.canonical_json);
  if (!checked)
    return make_error(checked.problems.front().code,
                      checked.problems.front().message,
                      checked.problems.front().pointer);
  auto slot = std::make_shared<schema_slot>();
  slot->entry = x;
  slot->document = std::move(*json::parse(x.canonical_json).doc);
  slot->compiled = std::move(checked.compiled);
  std::lock_guard guard{mtx_};
  if (auto held = current_->schemas.find(x.ref); held != current_->schemas.end())
    return held->second->entry.canonical_json == x.canonical_json
             ? caf::none
             : make_error(ec::immutable_ref,
                          "the schema " + x.ref + " is held with other content");
  auto next = std::make_shared<snapshot>(*current_);
  next->schemas.emplace(x.ref, std::move(slot));
  current_ = std::move(next);
  return caf::none;
}

caf::error registry_store::add_policy(const policy_entry& x) {
  if (auto problems = check_policy_entry(x); !problems.empty())
    return make_error(problems.front().code, problems.front().message,
                      problems.front().pointer);
  std::lock_guard guard{mtx_};
  if (auto held = current_->policies.find(x.ref);
      held != current_->policies.end())
    return held->second == x
             ? caf::none
             : make_error(ec::immutable_ref,
                          "the policy " + x.ref + " is held with other content");
  auto next = std::make_shared<snapshot>(*current_);
  next->policies.emplace(x.ref, x);
  current_ = std::move(next);
  return caf::none;
}

std::shared_ptr<const compiled_schema>
registry_store::find_schema(std::string_view ref) const {
  auto s = current();
  auto i = s->schemas.find(ref);
  return i == s->schemas.end() ? nullptr : i->second->compiled;
}

std::optional<schema_entry> registry_store::schema(std::string_view ref) const {
  auto s = current();
  auto i = s->schemas.find(ref);
  if (i == s->schemas.end())
    return std::nullopt;
  return i->second->entry;
}

std::optional<json::value>
registry_store::schema_document(std::string_view ref) const {
  auto s = current();
  auto i = s->schemas.find(ref);
  if (i == s->schemas.end())
    return std::nullopt;
  return i->second->document;
}

std::vector<schema_entry> registry_store::schemas() const {
  auto s = current();
  std::vector<schema_entry> out;
  out.reserve(s->schemas.size());
  for (auto& [ref, slot] : s->schemas)
    out.push_back(slot->entry);
  return out;
}

std::optional<policy_entry> registry_store::policy(std::string_view ref) const {
  auto s = current();
  auto i = s->policies.find(ref);
  if (i == s->policies.end())
    return std::nullopt;
  return i->second;
}

std::vector<policy_entry> registry_store::policies() const {
  auto s = current();
  std::vector<policy_entry> out;
  out.reserve(s->policies.size());
  for (auto& [ref, p] : s->policies)
    out.push_back(p);
  return out;
}

caf::error registry_store::add_pipeline(const pipeline_spec& x) {
  std::lock_guard guard{mtx_};
  auto ref = x.ref();
  if (auto held = current_->pipelines.find(ref);
      held != current_->pipelines.end())
    return held->second->document_json == x.document_json
             ? caf::none
             : make_error(ec::immutable_ref,
                          "the pipeline " + ref + " is held with other content");
  auto next = std::make_shared<snapshot>(*current_);
  next->pipelines.emplace(ref, std::make_shared<const pipeline_spec>(x));
  current_ = std::move(next);
  return caf::none;
}

std::shared_ptr<const pipeline_spec>
registry_store::pipeline(std::string_view ref) const {
  auto s = current();
  auto i = s->pipelines.find(ref);
  return i == s->pipelines.end() ? nullptr : i->second;
}

std::vector<std::shared_ptr<const pipeline_spec>>
registry_store::pipelines() const {
  auto s = current();
  std::vector<std::shared_ptr<const pipeline_spec>> out;
  out.reserve(s->pipelines.size());
  for (auto& [ref, p] : s->pipelines)
    out.push_back(p);
  return out;
}

caf::error registry_store::add_personas(const std::string& ref,
                                       const std::string& canonical_json) {
  std::lock_guard guard{mtx_};
  if (auto held = current_->personas.find(ref);
      held != current_->personas.end())
    return held->second == canonical_json
             ? caf::none
             : make_error(ec::immutable_ref,
                          "the personas " + ref + " are held with other content");
  auto next = std::make_shared<snapshot>(*current_);
  next->personas.emplace(ref, canonical_json);
  current_ = std::move(next);
  return caf::none;
}

std::optional<std::string> registry_store::personas(std::string_view ref) const {
  auto s = current();
  auto i = s->personas.find(ref);
  if (i == s->personas.end())
    return std::nullopt;
  return i->second;
}

std::vector<std::pair<std::string, std::string>>
registry_store::all_personas() const {
  auto s = current();
  return {s->personas.begin(), s->personas.end()};
}

caf::error registry_store::add_predicate(const predicate_entry& x) {
  for (auto& shipped : shipped_predicates())
    if (shipped.ref == x.ref)
      return make_error(ec::invalid_ref,
                        "the predicate " + x.ref + " is a shipped one");
  std::lock_guard guard{mtx_};
  if (auto held = current_->predicates.find(x.ref);
      held != current_->predicates.end())
    return held->second == x
             ? caf::none
             : make_error(ec::immutable_ref,
                          "the predicate " + x.ref + " is held with other content");
  auto next = std::make_shared<snapshot>(*current_);
  next->predicates.emplace(x.ref, x);
  current_ = std::move(next);
  return caf::none;
}

std::optional<predicate_entry> registry_store::predicate(std::string_view ref) const {
  auto s = current();
  if (auto i = s->predicates.find(ref); i != s->predicates.end())
    return i->second;
  for (auto& shipped : shipped_predicates())
    if (shipped.ref == ref)
      return shipped;
  return std::nullopt;
}

std::vector<predicate_entry> registry_store::predicates() const {
  auto s = current();
  std::vector<predicate_entry> out;
  out.reserve(s->predicates.size());
  for (auto& [ref, e] : s->predicates)
    out.push_back(e);
  return out;
}

predicate_resolver make_predicate_resolver(std::shared_ptr<const registry_store> store) {
  return [store = std::move(store)](std::string_view id) {
    return store->predicate(id);
  };
}

schema_resolver make_schema_resolver(std::shared_ptr<const registry_store> store) {
  return [store = std::move(store)](std::string_view id) {
    return store->find_schema(id);
  };
}

} // namespace omniva::contracts
