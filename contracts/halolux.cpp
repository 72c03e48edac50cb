#include "contracts/halolux.hpp"

#include "contracts/error_code.hpp"
#include "contracts/hex.hpp"
#include "contracts/json.hpp"

#include <algorithm>
#include <charconv>
#include <map>
#include <set>
#include <span>
#include <utility>

namespace omniva::halolux {

using contracts::ec;
using contracts::make_error;
using contracts::packet;

namespace {

constexpr uint64_t end_of_log = UINT64_MAX;

/// Packets of a trace read at once while paging it.
constexpr size_t trace_chunk = 512;

/// Statements about the tasks holding an asset, at most.
constexpr size_t max_holders = 100;

/// Statements about the tasks taking an asset as input, at most.
constexpr size_t max_consumers = 50;

/// The longest id looked up; longer ones name nothing.
constexpr size_t max_id_bytes = 256;

/// How far back a quarantine target's packets are searched for its last
/// change (a target's history mixes advice with decisions).
constexpr int quarantine_lookback = 4;

// -- payloads -------------------------------------------------------------------------

/// A packet with its payload parsed once (an empty object when it is not a
/// JSON object).
struct event {
  packet p;
  json::value body;
};

event to_event(packet p) {
  event e{std::move(p), json::value{json::object{}}};
  if (auto doc = json::parse(e.p.payload); doc && doc.doc->is_object())
    e.body = std::move(*doc.doc);
  return e;
}

std::vector<event> to_events(std::vector<packet> ps) {
  std::vector<event> out;
  out.reserve(ps.size());
  for (auto& p : ps)
    out.push_back(to_event(std::move(p)));
  return out;
}

const json::value* member(const json::value& v, std::string_view key) {
  return v.is_object() ? v.find(key) : nullptr;
}

/// Member `key` as text: a string as is, another value as JSON, "" when
/// missing or null.
std::string text(const json::value& v, std::string_view key) {
  auto* m = member(v, key);
  if (m == nullptr || m->is_null())
    return {};
  return m->is_string() ? m->as_string() : json::serialize(*m);
}

/// Member `key` as a clause inside a sentence: text without its final
/// period (engines write their reasons as sentences).
std::string clause(const json::value& v, std::string_view key) {
  auto out = text(v, key);
  while (!out.empty() && (out.back() == '.' || out.back() == ' '))
    out.pop_back();
  return out;
}

std::optional<int64_t> integer(const json::value& v, std::string_view key) {
  auto* m = member(v, key);
  return m ? m->as_int64() : std::nullopt;
}

bool truth(const json::value& v, std::string_view key) {
  auto* m = member(v, key);
  return m && m->is_bool() && m->as_bool();
}

const json::array& list(const json::value& v, std::string_view key) {
  static const json::array none;
  auto* m = member(v, key);
  return m && m->is_array() ? m->as_array() : none;
}

using key_ids = std::vector<std::pair<std::string, std::string>>;

/// The members of object member `key` as (name, asset id): a string member
/// is the id; an object member's `asset_id` is (`task.succeeded` outputs).
key_ids pairs(const json::value& v, std::string_view key) {
  key_ids out;
  auto* m = member(v, key);
  if (!m || !m->is_object())
    return out;
  for (auto& [name, x] : m->as_object()) {
    if (x.is_string())
      out.emplace_back(name, x.as_string());
    else if (auto id = text(x, "asset_id"); !id.empty())
      out.emplace_back(name, id);
  }
  return out;
}

bool has_value(const key_ids& xs, std::string_view id) {
  return std::any_of(xs.begin(), xs.end(),
                     [&](auto& kv) { return kv.second == id; });
}

std::string key_of(const key_ids& xs, std::string_view id) {
  for (auto& [k, v] : xs)
    if (v == id)
      return k;
  return {};
}

/// The items of array member `key` whose member `field` is `id`.
std::vector<const json::value*> items_for(const json::value& body,
                                          std::string_view key,
                                          std::string_view id,
                                          std::string_view field = "task_id") {
  std::vector<const json::value*> out;
  for (auto& x : list(body, key))
    if (text(x, field) == id)
      out.push_back(&x);
  return out;
}

const json::value* item_for(const json::value& body, std::string_view key,
                            std::string_view id,
                            std::string_view field = "task_id") {
  auto xs = items_for(body, key, id, field);
  return xs.empty() ? nullptr : xs.front();
}

bool names(const packet& p, std::string_view subject) {
  return std::find(p.subjects.begin(), p.subjects.end(), subject)
         != p.subjects.end();
}

/// The ids of the rows of table `t` a packet's `_rows` records.
std::vector<std::string> row_keys(const json::value& body, std::string_view t) {
  std::vector<std::string> out;
  if (auto* rows = member(body, "_rows"))
    if (auto* xs = member(*rows, t); xs && xs->is_object())
      for (auto& [k, v] : xs->as_object())
        out.push_back(k);
  return out;
}

std::string created_task_of(const event& e) {
  if (auto id = text(e.body, "task_id"); !id.empty())
    return id;
  std::vector<std::string> found;
  for (auto& k : row_keys(e.body, "tasks"))
    if (names(e.p, k))
      found.push_back(k);
  if (found.size() == 1)
    return found.front();
  auto inputs = pairs(e.body, "inputs");
  auto outputs = pairs(e.body, "outputs");
  found.clear();
  for (auto& s : e.p.subjects)
    if (!s.starts_with("dup:") && !has_value(inputs, s) && !has_value(outputs, s))
      found.push_back(s);
  return found.size() == 1 ? found.front() : std::string{};
}

/// The task a `task.*` packet is about among `known` (its `_rows` task row
/// first); "" when none of them.
std::string task_of(const event& e, const std::set<std::string>& known) {
  if (e.p.kind == "task.created")
    return created_task_of(e);
  for (auto& k : row_keys(e.body, "tasks"))
    if (known.count(k) && names(e.p, k))
      return k;
  for (auto& s : e.p.subjects)
    if (known.count(s))
      return s;
  return {};
}

// -- words ----------------------------------------------------------------------------

/// " by O" when the packet names its operator.
std::string by(const event& e) {
  auto o = text(e.body, "operator");
  return o.empty() ? std::string{} : " by " + o;
}

/// "O" or `fallback` ("an operator").
std::string who_did(const event& e, std::string fallback = "An operator") {
  auto o = text(e.body, "operator");
  return o.empty() ? fallback : o;
}

std::string join(const std::vector<std::string>& xs, std::string_view sep = ", ") {
  std::string out;
  for (auto& x : xs) {
    if (!out.empty())
      out += sep;
    out += x;
  }
  return out;
}

std::string listing(const key_ids& xs) {
  std::vector<std::string> parts;
  for (auto& [k, v] : xs)
    parts.push_back(k + " → " + v);
  return join(parts);
}

/// "pool a (quarantined, score 0.5), pool b (does_not_fit)".
std::string discards(const json::value& route) {
  std::vector<std::string> parts;
  for (auto& d : list(route, "discarded")) {
    auto part = "pool " + text(d, "pool");
    auto reason = text(d, "reason");
    if (!reason.empty())
      part += " (" + reason + ")";
    parts.push_back(std::move(part));
  }
  return join(parts);
}

std::string status_of_kind(const event& e) {
  auto& k = e.p.kind;
  if (k == "task.succeeded" || k == "task.reused")
    return "DONE";
  if (k == "task.failed")
    return "ERROR";
  if (k == "task.cancelled")
    return "CANCELLED";
  if (k == "task.skipped")
    return "SKIPPED";
  if (k == "task.dispatched")
    return "RUNNING";
  if (k == "task.ready")
    return "READY";
  if (k == "task.requeued" || k == "task.retried" || k == "task.revived")
    return "PENDING";
  if (k == "task.created")
    return text(e.body, "status");
  return {};
}

bool is_terminal(std::string_view status) {
  return status == "DONE" || status == "ERROR" || status == "CANCELLED"
         || status == "SKIPPED";
}

std::string engine_of(const event& e, const json::value& item) {
  if (auto engine = text(e.body, "engine"); !engine.empty())
    return engine;
  static const std::set<std::string> paradox{"ready", "wait", "reuse",
                                             "reuse_wait", "run", "skip"};
  return paradox.count(text(item, "decision")) ? "paradox" : "eclipse";
}

// -- statements and evidence -------------------------------------------------------------

/// The chain being built: statements with the position they take (a seq of
/// the subject's story; related statements sort beside the packet they
/// explain), kept in insertion order among equals.
class story {
public:
  void add(uint64_t at, std::string statement, const packet& p) {
    steps_.push_back({at, steps_.size(), {std::move(statement), p.id}});
  }

  std::vector<contracts::reasoning_step> chain() && {
    std::stable_sort(steps_.begin(), steps_.end(),
                     [](auto& x, auto& y) { return x.at < y.at; });
    std::vector<contracts::reasoning_step> out;
    out.reserve(steps_.size());
    for (auto& s : steps_)
      out.push_back(std::move(s.step));
    return out;
  }

private:
  struct entry {
    uint64_t at;
    size_t order;
    contracts::reasoning_step step;
  };
  std::vector<entry> steps_;
};

/// Expected evidence: how much, how much is there, what is not.
struct ledger {
  size_t expected = 0;
  size_t present = 0;
  std::vector<std::string> missing;

  void have() {
    ++expected;
    ++present;
  }

  void lack(std::string why) {
    ++expected;
    missing.push_back(std::move(why));
  }

  void add(const ledger& other, const std::string& prefix) {
    expected += other.expected;
    present += other.present;
    for (auto& m : other.missing)
      missing.push_back(prefix + m);
  }

  double completeness() const {
    return expected == 0 ? 1.0
                         : static_cast<double>(present)
                             / static_cast<double>(expected);
  }
};

// -- a task's history, replayed ----------------------------------------------------------

/// What the history of a task says about one attempt.
struct attempt_facts {
  const event* dispatch = nullptr;
  /// The moment it became READY before the dispatch.
  const event* ready = nullptr;
  /// The route Lattice gave before the dispatch.
  const event* route = nullptr;
  /// How it ended: `task.attempt_failed`, `task.succeeded`, a
  /// `task.cancelled` that stopped it, or (before Eclipse) `task.failed`.
  const event* end = nullptr;
  bool failed = false;
  const event* plan = nullptr;
  const event* decision = nullptr;
  std::string decided;
  const event* requeue = nullptr;
};

/// A task as its history tells it.
struct task_state {
  std::string id;
  std::vector<event> history;
  /// Whether the history was cut at `max_history` packets.
  bool truncated = false;
  const event* created = nullptr;
  std::string module_ref;
  std::string trace_id;
  key_ids inputs;
  key_ids outputs;
  /// Its status after the last packet ("" when no packet tells).
  std::string status;
  const event* status_by = nullptr;
  uint32_t attempt = 1;
  std::map<uint32_t, attempt_facts> attempts;
  const event* clearance = nullptr;
  std::string clear_action;
  std::string duplicate_of;
  const event* paradox_decision = nullptr;
  std::string paradox_decided;
  /// Paradox decisions with no clearance before them.
  std::vector<const event*> unadvised;
  /// The last moment it became READY, the last route after it, the last
  /// requeue.
  const event* ready = nullptr;
  const event* route = nullptr;
  const event* requeue = nullptr;
  /// The last time admission held it back (`task.held`) since it last
  /// became READY or was dispatched.
  const event* held = nullptr;
  /// The packet that finished it (none after a retry).
  const event* terminal = nullptr;
  /// The last decision that means an end (fail, poison, skip, reuse) since
  /// the task last ran again.
  const event* end_decision = nullptr;
  std::string end_decided;
};

/// Replays `s.history` into `s`; narrates each packet into `out` when
/// given.
void replay(task_state& s, story* out) {
  auto& id = s.id;
  auto say = [&](const event& e, std::string statement) {
    if (out != nullptr)
      out->add(e.p.seq, std::move(statement), e.p);
  };
  auto set_status = [&](const event& e, std::string status) {
    if (status.empty())
      return;
    s.status = std::move(status);
    s.status_by = &e;
  };
  for (auto& e : s.history) {
    auto& k = e.p.kind;
    auto& b = e.body;
    if (k == "task.created") {
      if (created_task_of(e) != id)
        continue;
      s.created = &e;
      s.module_ref = text(b, "module_ref");
      s.trace_id = e.p.trace_id;
      s.inputs = pairs(b, "inputs");
      s.outputs = pairs(b, "outputs");
      auto status = text(b, "status");
      set_status(e, status.empty() ? "PENDING" : status);
      if (s.status == "READY")
        s.ready = &e;
      std::string st = "Task " + id + " (module " + s.module_ref
                       + ") was submitted" + by(e) + " at " + e.p.at
                       + ": pre-flight passed and it was created "
                       + s.status;
      if (!s.inputs.empty())
        st += ", with inputs " + listing(s.inputs);
      if (!s.outputs.empty())
        st += (s.inputs.empty() ? ", promising " : " and promising ")
              + std::string{"outputs "} + listing(s.outputs);
      say(e, st + ".");
    } else if (k == "advice.paradox") {
      auto* item = item_for(b, "items", id);
      if (item == nullptr)
        continue;
      s.clearance = &e;
      s.clear_action = text(*item, "action");
      s.duplicate_of = text(*item, "duplicate_of");
      auto& d = s.duplicate_of;
      if (s.clear_action == "clear")
        say(e, "Paradox found no identical task and cleared it.");
      else if (s.clear_action == "ignore")
        say(e, "Paradox found an identical earlier task, " + d
                 + "; the module's contract allows duplicates, so it "
                   "advised running it anyway.");
      else if (s.clear_action == "reuse")
        say(e, "Paradox found the identical task " + d
                 + " and advised reusing its outputs, as the module's "
                   "contract asks.");
      else if (s.clear_action == "block")
        say(e, "Paradox found the identical task " + d
                 + " and advised blocking this one, as the module's "
                   "contract asks.");
      else
        say(e, "Paradox advised '" + s.clear_action + "'"
                 + (d.empty() ? std::string{} : " (identical task " + d + ")")
                 + ".");
    } else if (k == "decision.zenith") {
      for (auto* item : items_for(b, "decisions", id)) {
        auto decided = text(*item, "decision");
        auto engine = engine_of(e, *item);
        auto reason = clause(*item, "reason");
        auto why = reason.empty() ? std::string{} : " (" + reason + ")";
        if (engine == "paradox") {
          s.paradox_decision = &e;
          s.paradox_decided = decided;
          if (s.clearance == nullptr)
            s.unadvised.push_back(&e);
          auto d = text(*item, "duplicate_of");
          if (d.empty())
            d = s.duplicate_of;
          if (decided == "ready") {
            set_status(e, "READY");
            s.ready = &e;
            say(e, "Zenith cleared it: its inputs are AVAILABLE, so it "
                   "became READY" + why + ".");
          } else if (decided == "wait") {
            set_status(e, "PENDING");
            say(e, "Zenith cleared it; it waits for its inputs" + why + ".");
          } else if (decided == "reuse") {
            s.end_decision = &e;
            s.end_decided = decided;
            say(e, "Zenith decided to bind it to the outputs of the "
                   "identical task " + d + why + ".");
          } else if (decided == "reuse_wait") {
            set_status(e, "PENDING");
            say(e, "Zenith decided it waits for the identical task " + d
                     + " to finish, to reuse its outputs" + why + ".");
          } else if (decided == "run") {
            say(e, "Zenith decided it runs itself: the identical task " + d
                     + " failed" + why + ".");
          } else if (decided == "skip") {
            s.end_decision = &e;
            s.end_decided = decided;
            say(e, "Zenith decided to skip it: it duplicates task " + d + why
                     + ".");
          } else {
            say(e, "Zenith decided '" + decided + "' on Paradox's advice"
                     + why + ".");
          }
          continue;
        }
        // Eclipse: the decision on the latest failed attempt without one.
        auto n = integer(*item, "attempt");
        attempt_facts* a = nullptr;
        if (n && *n > 0)
          a = &s.attempts[static_cast<uint32_t>(*n)];
        else
          for (auto it = s.attempts.rbegin(); it != s.attempts.rend(); ++it)
            if (it->second.end != nullptr && it->second.decision == nullptr) {
              a = &it->second;
              break;
            }
        if (a != nullptr) {
          a->decision = &e;
          a->decided = decided;
        }
        auto code = text(*item, "code");
        if (decided == "retry") {
          say(e, "Zenith decided to retry it" + why + ".");
        } else if (decided == "fail") {
          s.end_decision = &e;
          s.end_decided = decided;
          say(e, "Zenith decided it fails"
                   + (code.empty() ? std::string{} : " with " + code) + why
                   + ".");
        } else if (decided == "poison") {
          s.end_decision = &e;
          s.end_decided = decided;
          say(e, "Zenith decided it is a poison task: its workers were lost "
                 "too often" + why + ".");
        } else {
          say(e, "Zenith decided '" + decided + "' on Eclipse's advice" + why
                   + ".");
        }
      }
    } else if (k == "advice.lattice") {
      auto* route = item_for(b, "routes", id);
      if (route == nullptr)
        continue;
      s.route = &e;
      auto pool = text(*route, "pool");
      auto dropped = discards(*route);
      if (pool.empty()) {
        say(e, "Lattice found no pool for it"
                 + (dropped.empty() ? std::string{} : " (it discarded " + dropped + ")")
                 + "; it waits for one.");
      } else {
        std::vector<std::string> figures;
        for (auto key : {"score", "rank", "routing_sequence"})
          if (auto x = text(*route, key); !x.empty())
            figures.push_back(std::string{key == std::string_view{"routing_sequence"}
                                            ? "routing sequence"
                                            : key}
                              + " " + x);
        say(e, "Lattice routed it to pool " + pool
                 + (figures.empty() ? std::string{} : " (" + join(figures) + ")")
                 + (dropped.empty() ? std::string{} : "; it discarded " + dropped)
                 + ".");
      }
    } else if (k == "task.held") {
      s.held = &e;
      say(e, "Admission held it back at " + e.p.at + ": " + clause(b, "saw")
               + " (" + text(b, "predicate") + ", " + text(b, "code") + ").");
    } else if (k == "task.dispatched") {
      s.held = nullptr;
      auto n = static_cast<uint32_t>(integer(b, "attempt").value_or(s.attempt));
      s.attempt = n;
      auto& a = s.attempts[n];
      a.dispatch = &e;
      a.ready = s.ready;
      a.route = s.route;
      auto pool = text(b, "pool");
      // It waited for a worker from when it was both READY and routed
      // (the engines answer apart: a route may come before the clearance).
      if (s.route != nullptr) {
        auto since = s.ready != nullptr ? std::max(s.route->p.at, s.ready->p.at)
                                        : s.route->p.at;
        auto* r = item_for(s.route->body, "routes", id);
        auto routed = r ? text(*r, "pool") : std::string{};
        if (!routed.empty() && since != e.p.at)
          say(e, "It waited for a free worker in pool " + routed + " from "
                   + since + " until " + e.p.at + ".");
      }
      auto execution = text(b, "execution_id");
      std::string admitted;
      if (auto* adm = b.find("admission"); adm != nullptr && adm->is_object()) {
        if (auto reserved = integer(*adm, "reserved_usd_micro"))
          admitted += "; admission reserved " + std::to_string(*reserved)
                      + " micro-USD";
        for (auto& q : list(*adm, "quotas"))
          admitted += "; it took " + text(q, "units") + " units of quota "
                      + text(q, "quota");
        for (auto& l : list(*adm, "leases"))
          admitted += "; it leased " + text(l, "prefix") + " until "
                      + text(l, "expires_at");
      }
      say(e, "Attempt " + std::to_string(n) + " was dispatched to pool " + pool
               + " at " + e.p.at
               + (execution.empty() ? std::string{} : " (execution " + execution + ")")
               + (truth(b, "probe") ? " as the probe of a half-open breaker"
                                    : "")
               + admitted + ".");
      set_status(e, "RUNNING");
    } else if (k == "task.attempt_failed") {
      auto n = static_cast<uint32_t>(integer(b, "attempt").value_or(s.attempt));
      auto& a = s.attempts[n];
      a.end = &e;
      a.failed = true;
      auto message = clause(b, "message");
      std::string st = "Attempt " + std::to_string(n) + " failed at " + e.p.at
                       + ": " + text(b, "code")
                       + (message.empty() ? std::string{} : " — " + message);
      if (truth(b, "lost"))
        st += " (its worker went silent)";
      else if (truth(b, "transient"))
        st += " (the failure may be transient)";
      say(e, st + ".");
    } else if (k == "advice.eclipse") {
      for (auto* plan : items_for(b, "plans", id)) {
        auto n = static_cast<uint32_t>(integer(*plan, "attempt").value_or(s.attempt));
        s.attempts[n].plan = &e;
        auto action = text(*plan, "action");
        auto reason = clause(*plan, "reason");
        auto tail = reason.empty() ? std::string{"."} : ": " + reason + ".";
        auto judged = "Eclipse judged the failure of attempt " + std::to_string(n)
                      + " (" + text(*plan, "code") + ") "
                      + text(*plan, "failure_class");
        if (action == "retry") {
          auto avoid = text(*plan, "avoid_pool");
          say(e, judged + " and planned a retry after "
                   + text(*plan, "delay_ms") + " ms"
                   + (avoid.empty() ? std::string{} : ", away from pool " + avoid)
                   + tail);
        } else if (action == "fail") {
          say(e, judged + " and advised that the task fails" + tail);
        } else if (action == "poison") {
          say(e, judged + " and advised ending it as a poison task" + tail);
        } else {
          say(e, judged + " and advised '" + action + "'" + tail);
        }
      }
      auto pool = s.attempts.count(s.attempt) && s.attempts[s.attempt].dispatch
                    ? text(s.attempts[s.attempt].dispatch->body, "pool")
                    : std::string{};
      for (auto& breaker : list(b, "breakers")) {
        auto target = text(breaker, "target");
        if (target != contracts::module_target(s.module_ref)
            && (pool.empty() || target != contracts::pool_target(pool)))
          continue;
        auto reason = clause(breaker, "reason");
        say(e, "Eclipse advised that the breaker of " + target + " be "
                 + text(breaker, "state") + " after "
                 + text(breaker, "failures") + " consecutive failures"
                 + (reason.empty() ? std::string{} : ": " + reason) + ".");
      }
    } else if (k == "task.requeued") {
      auto n = static_cast<uint32_t>(integer(b, "attempt").value_or(s.attempt + 1));
      if (n > 1)
        s.attempts[n - 1].requeue = &e;
      s.attempt = n;
      s.requeue = &e;
      s.ready = nullptr;
      s.route = nullptr;
      auto reason = clause(b, "reason");
      auto not_before = text(b, "not_before");
      say(e, "Attempt " + std::to_string(n) + " was queued at " + e.p.at
               + (reason.empty() ? std::string{} : " (" + reason + ")")
               + (not_before.empty() ? std::string{}
                                     : "; it may not start before " + not_before)
               + ".");
      set_status(e, "PENDING");
    } else if (k == "task.ready") {
      set_status(e, "READY");
      s.ready = &e;
      s.held = nullptr;
      std::string woken;
      for (auto& subject : e.p.subjects)
        if (subject != id) {
          auto key = key_of(s.inputs, subject);
          woken = " when input " + (key.empty() ? subject : key + " (asset " + subject + ")")
                  + " became AVAILABLE";
          break;
        }
      auto reason = clause(b, "reason");
      say(e, "It became READY at " + e.p.at + woken
               + (reason.empty() ? std::string{} : " (" + reason + ")") + ".");
    } else if (k == "task.succeeded") {
      auto& a = s.attempts[s.attempt];
      if (a.end == nullptr)
        a.end = &e;
      auto outs = pairs(b, "outputs");
      say(e, "Attempt " + std::to_string(s.attempt) + " succeeded at " + e.p.at
               + (outs.empty() ? std::string{}
                               : "; its outputs " + listing(outs) + " are AVAILABLE")
               + ".");
      set_status(e, "DONE");
      s.terminal = &e;
    } else if (k == "task.failed") {
      if (auto it = s.attempts.find(s.attempt);
          it != s.attempts.end() && it->second.dispatch != nullptr
          && it->second.end == nullptr && s.status == "RUNNING")
        it->second.end = &e;
      auto message = clause(b, "message");
      say(e, "It ended ERROR at " + e.p.at + ": " + text(b, "code")
               + (message.empty() ? std::string{} : " — " + message) + ".");
      set_status(e, "ERROR");
      s.terminal = &e;
    } else if (k == "task.cancelled") {
      auto stopped = text(b, "stopped");
      if (!stopped.empty())
        if (auto it = s.attempts.find(s.attempt);
            it != s.attempts.end() && it->second.end == nullptr)
          it->second.end = &e;
      say(e, who_did(e) + " cancelled it at " + e.p.at
               + (stopped.empty() ? std::string{}
                                  : ", stopping attempt " + stopped)
               + ".");
      set_status(e, "CANCELLED");
      s.terminal = &e;
    } else if (k == "task.skipped") {
      auto code = text(b, "code");
      say(e, "It was SKIPPED at " + e.p.at + ": it duplicates task "
               + text(b, "duplicate_of")
               + (code.empty() ? std::string{} : " (" + code + ")")
               + "; its outputs failed.");
      set_status(e, "SKIPPED");
      s.terminal = &e;
    } else if (k == "task.reused") {
      auto from = text(b, "reused_from");
      if (from == id) {
        std::string other;
        for (auto& t : row_keys(b, "tasks"))
          if (t != id && names(e.p, t))
            other = t;
        say(e, (other.empty() ? std::string{"Another task"} : "Task " + other)
                 + " reused its outputs at " + e.p.at + ".");
        continue;
      }
      auto outs = pairs(b, "outputs");
      say(e, "It was DONE at " + e.p.at
               + " without running: its outputs are those of the identical "
                 "task " + from
               + (outs.empty() ? std::string{} : " (" + listing(outs) + ")")
               + ".");
      set_status(e, "DONE");
      s.terminal = &e;
    } else if (k == "task.retried" || k == "task.revived") {
      auto n = integer(b, "attempt");
      if (n && *n > 0)
        s.attempt = static_cast<uint32_t>(*n);
      s.terminal = nullptr;
      s.end_decision = nullptr;
      s.end_decided.clear();
      s.ready = nullptr;
      s.route = nullptr;
      s.requeue = nullptr;
      if (k == "task.retried")
        say(e, who_did(e) + " retried it at " + e.p.at + ": attempt "
                 + std::to_string(s.attempt) + ".");
      else
        say(e, "It was revived at " + e.p.at + " as attempt "
                 + std::to_string(s.attempt) + " because task "
                 + text(b, "because") + " was retried.");
      set_status(e, "PENDING");
    } else if (k == "task.priority_changed") {
      say(e, who_did(e) + " set its priority to " + text(b, "priority")
               + " at " + e.p.at + ".");
    } else if (k == "operator.override") {
      auto target = text(b, "target");
      auto reason = clause(b, "reason");
      say(e, who_did(e) + " asked for " + text(b, "action")
               + (target.empty() || target == id ? std::string{} : " on " + target)
               + " at " + e.p.at
               + (reason.empty() ? std::string{} : ": " + reason) + ".");
    } else if (k == "task.files_removed") {
      say(e, "The retention pass removed its files at " + e.p.at + ".");
    } else {
      say(e, "A " + k + " packet" + (e.p.actor.empty() ? "" : " from " + e.p.actor)
               + " named it at " + e.p.at + ".");
    }
  }
}

/// What should be in the history of task `s` and is not.
ledger account(const task_state& s) {
  ledger l;
  auto& id = s.id;
  if (s.created != nullptr) {
    l.have(); // its submission
    l.have(); // its pre-flight outcome
  } else {
    l.lack("no task.created records the submission of task " + id);
    l.lack("no task.created records the pre-flight outcome of task " + id);
  }
  bool dispatched = std::any_of(s.attempts.begin(), s.attempts.end(),
                                [](auto& a) { return a.second.dispatch; });
  // A task cancelled (or failed in cascade) before Paradox answered never
  // gets a clearance: none is expected then.
  bool ended_early = s.terminal != nullptr && !dispatched
                     && (s.terminal->p.kind == "task.cancelled"
                         || s.terminal->p.kind == "task.failed");
  if (s.clearance != nullptr)
    l.have();
  else if (!ended_early || s.paradox_decision != nullptr)
    l.lack("no Paradox clearance (advice.paradox) names task " + id);
  if (s.paradox_decision != nullptr)
    l.have();
  else if (s.clearance != nullptr)
    l.lack("Paradox's advice on task " + id + " (packet " + s.clearance->p.id
           + ") is followed by no decision of Zenith (decision.zenith)");
  for (auto& [n, a] : s.attempts) {
    auto attempt = "attempt " + std::to_string(n) + " of task " + id;
    if (a.dispatch != nullptr) {
      l.have();
    } else if (a.end || a.requeue || a.decision || a.plan) {
      auto* shown = a.end ? a.end : a.requeue ? a.requeue : a.decision ? a.decision : a.plan;
      l.lack(attempt + " left a trace (packet " + shown->p.id
             + ") but no task.dispatched records its dispatch");
    }
    if (a.dispatch != nullptr) {
      bool running = s.status == "RUNNING" && s.attempt == n;
      if (a.end != nullptr)
        l.have();
      else if (!running)
        l.lack(attempt + " was dispatched (packet " + a.dispatch->p.id
               + ") but no packet records how it ended");
    }
    if (a.failed) {
      if (a.decision != nullptr)
        l.have();
      else
        l.lack(attempt + " failed (packet " + a.end->p.id
               + ") but no decision of Zenith on Eclipse's plan for it is "
                 "recorded");
    }
    if (a.decided == "retry") {
      if (a.requeue != nullptr)
        l.have();
      else
        l.lack("Zenith decided to retry " + attempt + " (packet "
               + a.decision->p.id + ") but no task.requeued records attempt "
               + std::to_string(n + 1));
    }
  }
  for (auto* d : s.unadvised)
    l.lack("Zenith's decision on task " + id + " (packet " + d->p.id
           + ") follows no advice.paradox naming it");
  if (s.terminal != nullptr)
    l.have();
  else if (s.end_decision != nullptr)
    l.lack("Zenith decided '" + s.end_decided + "' for task " + id
           + " (packet " + s.end_decision->p.id
           + ") but no packet records the task's end");
  return l;
}

// -- quarantines -------------------------------------------------------------------------

/// A quarantine target's state as one packet sets it.
struct quarantine_change {
  /// `open`, `half_open` or `closed`.
  std::string state;
  std::string by;
  std::string reason;
};

std::optional<quarantine_change> quarantine_of(const event& e,
                                               std::string_view target) {
  if (e.p.kind == "decision.zenith") {
    auto* item = item_for(e.body, "decisions", target, "target");
    if (item == nullptr)
      return std::nullopt;
    auto d = text(*item, "decision");
    std::string state = d == "quarantine" || d == "open"          ? "open"
                        : d == "probe" || d == "half_open"        ? "half_open"
                        : d == "release" || d == "closed" || d == "close" ? "closed"
                                                                  : "";
    if (state.empty())
      return std::nullopt;
    return quarantine_change{state, "Eclipse's breaker", clause(*item, "reason")};
  }
  if (e.p.kind == "operator.override" && text(e.body, "target") == target) {
    auto action = text(e.body, "action");
    std::string state = action == "quarantine.add"      ? "open"
                        : action == "quarantine.remove" ? "closed"
                                                        : "";
    if (state.empty())
      return std::nullopt;
    return quarantine_change{state, who_did(e, "an operator"),
                             clause(e.body, "reason")};
  }
  return std::nullopt;
}

// -- the explainer -----------------------------------------------------------------------

/// What is known of an asset's production, from its first packet and its
/// producer's history.
struct asset_origin {
  /// The first packet naming it (registration or the producer's creation).
  std::optional<event> first;
  /// The producing task's id; "" for a registered asset.
  std::string producer;
};

/// One change of an output's state, as its producer's history shows it.
struct output_change {
  const event* by;
  std::string state;
};

class explainer {
public:
  explicit explainer(const lineage_source& src) : src_(src) {
  }

  // -- reading --

  caf::expected<std::vector<event>> events_of(std::string_view subject,
                                              size_t limit = max_history,
                                              uint64_t first = 1,
                                              uint64_t last = end_of_log) {
    auto ps = src_.history(subject, first, last, limit);
    if (!ps)
      return ps.error();
    return to_events(std::move(*ps));
  }

  caf::expected<std::optional<event>> first_event(std::string_view subject) {
    auto xs = events_of(subject, 1);
    if (!xs)
      return xs.error();
    if (xs->empty())
      return std::optional<event>{};
    return std::optional<event>{std::move(xs->front())};
  }

  caf::expected<std::optional<event>> last_event(std::string_view subject,
                                                 uint64_t at_most = end_of_log) {
    auto seq = src_.last_seq(subject, at_most);
    if (!seq)
      return seq.error();
    if (*seq == 0)
      return std::optional<event>{};
    auto p = src_.at(*seq);
    if (!p)
      return p.error();
    return std::optional<event>{to_event(std::move(*p))};
  }

  /// The task `id` replayed from `history` (narrated into `out` when
  /// given); replaces what was known of it.
  task_state& adopt(const std::string& id, std::vector<event> history,
                    story* out) {
    task_state s;
    s.id = id;
    s.truncated = history.size() >= max_history;
    s.history = std::move(history);
    auto& stored = tasks_[id] = std::move(s);
    replay(stored, out);
    return stored;
  }

  /// The task `id` replayed, read once per explanation.
  caf::expected<task_state*> task(const std::string& id) {
    if (auto i = tasks_.find(id); i != tasks_.end())
      return &i->second;
    auto h = events_of(id);
    if (!h)
      return h.error();
    return &adopt(id, std::move(*h), nullptr);
  }

  /// A task related to the subject (a producer, an identical task), or
  /// null once `max_related_tasks` were read.
  caf::expected<task_state*> related(const std::string& id) {
    if (auto i = tasks_.find(id); i != tasks_.end())
      return &i->second;
    if (related_ >= max_related_tasks)
      return nullptr;
    ++related_;
    return task(id);
  }

  caf::expected<asset_origin> origin(const std::string& asset_id) {
    asset_origin out;
    auto first = first_event(asset_id);
    if (!first)
      return first.error();
    out.first = std::move(*first);
    if (out.first && out.first->p.kind == "task.created"
        && has_value(pairs(out.first->body, "outputs"), asset_id))
      out.producer = created_task_of(*out.first);
    return out;
  }

  /// How the state of output `asset_id` of the replayed producer changed,
  /// in order.
  static std::vector<output_change> changes_of(const task_state& p,
                                               std::string_view asset_id) {
    std::vector<output_change> out;
    for (auto& e : p.history) {
      auto& k = e.p.kind;
      if (k == "task.created" || !names(e.p, asset_id))
        continue;
      if (k == "task.reused" && text(e.body, "reused_from") == p.id)
        continue;
      std::string state;
      if (k == "task.succeeded" || k == "task.reused")
        state = "AVAILABLE";
      else if (k == "task.failed" || k == "task.cancelled" || k == "task.skipped")
        state = "FAILED";
      else if (k == "task.retried" || k == "task.revived")
        state = "PENDING";
      if (!state.empty())
        out.push_back({&e, std::move(state)});
    }
    return out;
  }

  // -- quarantines --

  /// The last change of `target` at or before `seq`, looking back a few
  /// packets (a target's history mixes advice with decisions).
  caf::expected<std::optional<std::pair<event, quarantine_change>>>
  quarantine_at(const std::string& target, uint64_t seq) {
    using result = std::optional<std::pair<event, quarantine_change>>;
    auto at_most = seq;
    for (int i = 0; i < quarantine_lookback && at_most > 0; ++i) {
      auto e = last_event(target, at_most);
      if (!e)
        return e.error();
      if (!*e)
        return result{};
      if (auto q = quarantine_of(**e, target))
        return result{std::pair{std::move(**e), std::move(*q)}};
      at_most = (*e)->p.seq - 1;
    }
    return result{};
  }

  // -- why it waits --

  /// States why task `s` (not finished) waits now, and follows what it
  /// waits for up to `max_depth` tasks deep. `who` names it in sentences
  /// ("It", "Task <id>"); the statements take position `now` in the story.
  caf::error waits_now(task_state& s, uint32_t depth, uint32_t max_depth,
                       const std::string& who, std::set<std::string>& visited,
                       story& out, uint64_t now) {
    visited.insert(s.id);
    if (s.status == "PENDING") {
      if (s.requeue != nullptr && s.status_by == s.requeue) {
        auto nb = text(s.requeue->body, "not_before");
        if (!nb.empty())
          out.add(now, who + " waits for its backoff: attempt "
                         + std::to_string(s.attempt)
                         + " may not start before " + nb + ".",
                  s.requeue->p);
      }
      if (s.created != nullptr && s.clearance == nullptr
          && s.paradox_decision == nullptr)
        out.add(now, who + " has no Paradox clearance yet: no advice.paradox "
                       "follows its creation.",
                s.created->p);
      if (s.paradox_decided == "reuse_wait" && s.paradox_decision != nullptr
          && !s.duplicate_of.empty() && depth < max_depth) {
        auto d = related(s.duplicate_of);
        if (!d)
          return d.error();
        if (*d != nullptr && (*d)->status_by != nullptr) {
          auto& dup = **d;
          out.add(now, who + " waits for the identical task " + dup.id
                         + " to finish; it is " + dup.status + " since "
                         + dup.status_by->p.at + ".",
                  dup.status_by->p);
          if (!is_terminal(dup.status) && !visited.count(dup.id)
              && depth + 1 < max_depth)
            if (auto err = waits_now(dup, depth + 1, max_depth,
                                     "Task " + dup.id, visited, out, now))
              return err;
        }
      }
      for (auto& [key, asset_id] : s.inputs) {
        if (depth >= max_depth)
          break;
        auto o = origin(asset_id);
        if (!o)
          return o.error();
        // A registered input is AVAILABLE from the start; one no packet
        // names is listed as missing by the task's own explanation.
        if (!o->first || o->producer.empty() || o->producer == s.id)
          continue;
        auto p = related(o->producer);
        if (!p)
          return p.error();
        if (*p == nullptr)
          continue;
        auto& producer = **p;
        auto changes = changes_of(producer, asset_id);
        auto state = changes.empty() ? std::string{"PENDING"} : changes.back().state;
        if (state == "AVAILABLE")
          continue;
        if (state == "FAILED") {
          out.add(now, "Input " + key + " (asset " + asset_id + ") of "
                         + (depth == 0 ? std::string{"this task"} : "task " + s.id)
                         + " FAILED: task " + producer.id + " ended "
                         + producer.status + " at "
                         + changes.back().by->p.at + ".",
                  changes.back().by->p);
          continue;
        }
        auto* shown = producer.status_by ? producer.status_by : &*o->first;
        out.add(now, who + " waits for input " + key + " (asset " + asset_id
                       + "), promised by task " + producer.id
                       + (producer.module_ref.empty() ? std::string{}
                                                      : " (module " + producer.module_ref + ")")
                       + ", which is "
                       + (producer.status.empty() ? std::string{"in an unknown state"}
                                                  : producer.status)
                       + " since " + shown->p.at + ".",
                shown->p);
        if (!visited.count(producer.id) && !is_terminal(producer.status)
            && depth + 1 < max_depth)
          if (auto err = waits_now(producer, depth + 1, max_depth,
                                   "Task " + producer.id, visited, out, now))
            return err;
      }
      return caf::none;
    }
    if (s.status == "READY") {
      if (s.held != nullptr) {
        // Admission (docs/policies.md): a budget, a quota or a lease.
        out.add(now, who + " waits: admission holds it back since "
                       + s.held->p.at + ": " + clause(s.held->body, "saw") + " ("
                       + text(s.held->body, "predicate") + ", "
                       + text(s.held->body, "code") + ").",
                s.held->p);
        return caf::none;
      }
      bool quarantined = false;
      if (!s.module_ref.empty()) {
        auto target = contracts::module_target(s.module_ref);
        auto q = quarantine_at(target, now);
        if (!q)
          return q.error();
        if (*q && (*q)->second.state != "closed") {
          quarantined = true;
          auto& [e, change] = **q;
          out.add(now, who + " waits: its module " + s.module_ref + " is "
                         + (change.state == "open" ? "quarantined"
                                                   : "half-open (one probe may go)")
                         + " since " + e.p.at + ", set by " + change.by
                         + (change.reason.empty() ? std::string{} : ": " + change.reason)
                         + ".",
                  e.p);
        }
      }
      if (s.route != nullptr) {
        auto* r = item_for(s.route->body, "routes", s.id);
        auto pool = r ? text(*r, "pool") : std::string{};
        if (!pool.empty()) {
          auto rank = r ? text(*r, "rank") : std::string{};
          auto since = s.ready != nullptr
                         ? std::max(s.route->p.at, s.ready->p.at)
                         : s.route->p.at;
          out.add(now, who + " is queued in pool " + pool
                         + (rank.empty() ? std::string{} : " (rank " + rank + ")")
                         + " since " + since
                         + " and waits for a free worker.",
                  s.route->p);
        } else {
          out.add(now, who + " waits for a pool: Lattice found none for it at "
                         + s.route->p.at
                         + (r && !discards(*r).empty() ? " (it discarded " + discards(*r) + ")"
                                                       : std::string{})
                         + ".",
                  s.route->p);
          static const json::array none;
          size_t looked = 0;
          for (auto& d : r ? list(*r, "discarded") : none) {
            if (text(d, "reason") != "quarantined" || looked++ >= 4)
              continue;
            auto target = contracts::pool_target(text(d, "pool"));
            auto q = quarantine_at(target, now);
            if (!q)
              return q.error();
            if (*q && (*q)->second.state != "closed") {
              auto& [e, change] = **q;
              out.add(now, "Pool " + text(d, "pool") + " is quarantined since "
                             + e.p.at + ", set by " + change.by
                             + (change.reason.empty() ? std::string{} : ": " + change.reason)
                             + ".",
                      e.p);
            }
          }
        }
      } else if (!quarantined && s.ready != nullptr) {
        out.add(now, who + " is READY since " + s.ready->p.at
                       + "; no route of Lattice follows yet.",
                s.ready->p);
      }
      return caf::none;
    }
    if (s.status == "RUNNING") {
      auto i = s.attempts.find(s.attempt);
      if (i != s.attempts.end() && i->second.dispatch != nullptr)
        out.add(now, who + " runs attempt " + std::to_string(s.attempt)
                       + " in pool " + text(i->second.dispatch->body, "pool")
                       + " since " + i->second.dispatch->p.at + ".",
                i->second.dispatch->p);
    }
    return caf::none;
  }

  // -- a task --

  /// The inputs of task `s` in the past: where each came from, and whether
  /// the task waited for it.
  caf::error inputs_then(task_state& s, story& out, ledger& l) {
    if (s.created == nullptr)
      return caf::none;
    auto at = s.created->p.seq;
    for (auto& [key, asset_id] : s.inputs) {
      auto o = origin(asset_id);
      if (!o)
        return o.error();
      if (!o->first) {
        l.lack("input " + key + " of task " + s.id + " names asset "
               + asset_id + ", which no packet names");
        continue;
      }
      auto& first = *o->first;
      if (first.p.kind == "asset.registered") {
        out.add(at, "Input " + key + " (asset " + asset_id + ") was registered"
                      + by(first) + " at " + first.p.at + ".",
                first.p);
        continue;
      }
      if (o->producer.empty()) {
        l.lack("no packet records where input " + key + " (asset " + asset_id
               + ") of task " + s.id + " comes from: neither its "
                 "registration nor the task that promised it");
        continue;
      }
      if (o->producer == s.id)
        continue;
      auto p = related(o->producer);
      if (!p)
        return p.error();
      if (*p == nullptr)
        continue;
      auto& producer = **p;
      auto changes = changes_of(producer, asset_id);
      const output_change* before = nullptr;
      for (auto& c : changes)
        if (c.by->p.seq < at)
          before = &c;
      if (before != nullptr && before->state == "AVAILABLE") {
        out.add(at, "Input " + key + " (asset " + asset_id
                      + ") was made by task " + producer.id
                      + ", AVAILABLE since " + before->by->p.at + ".",
                before->by->p);
        continue;
      }
      bool came_later = std::any_of(changes.begin(), changes.end(),
                                    [&](auto& c) { return c.by->p.seq > at; });
      if (!came_later && !is_terminal(s.status))
        continue; // still awaited: what it waits for now says so
      out.add(at, "It waited for input " + key + " (asset " + asset_id
                    + "), promised by task " + producer.id
                    + (producer.module_ref.empty() ? std::string{}
                                                   : " (module " + producer.module_ref + ")")
                    + ".",
              first.p);
      size_t told = 0;
      for (auto& c : changes) {
        if (c.by->p.seq < at || told++ >= 4)
          continue;
        if (c.state == "AVAILABLE")
          out.add(c.by->p.seq, "Task " + producer.id + " finished at "
                                 + c.by->p.at + ": input " + key
                                 + " became AVAILABLE.",
                  c.by->p);
        else if (c.state == "FAILED")
          out.add(c.by->p.seq, "Task " + producer.id + " ended "
                                 + status_of_kind(*c.by) + " at " + c.by->p.at
                                 + ": input " + key + " FAILED.",
                  c.by->p);
        else
          out.add(c.by->p.seq, "Task " + producer.id + " ran again from "
                                 + c.by->p.at + ": input " + key
                                 + " was PENDING again.",
                  c.by->p);
      }
    }
    return caf::none;
  }

  /// The quarantines a READY task waited through before each dispatch.
  caf::error quarantines_then(task_state& s, story& out) {
    if (s.module_ref.empty())
      return caf::none;
    auto target = contracts::module_target(s.module_ref);
    for (auto& [n, a] : s.attempts) {
      if (a.dispatch == nullptr || a.ready == nullptr
          || a.ready->p.at == a.dispatch->p.at)
        continue;
      auto from = a.ready->p.seq;
      auto to = a.dispatch->p.seq;
      auto q = quarantine_at(target, from);
      if (!q)
        return q.error();
      if (*q && (*q)->second.state != "closed") {
        auto& [e, change] = **q;
        out.add(from, "When it became READY, module " + s.module_ref + " was "
                        + (change.state == "open" ? "quarantined" : "half-open")
                        + " (since " + e.p.at + ", set by " + change.by
                        + (change.reason.empty() ? std::string{} : ": " + change.reason)
                        + ").",
                e.p);
      }
      auto during = events_of(target, max_target_packets, from + 1, to);
      if (!during)
        return during.error();
      for (auto& e : *during)
        if (auto change = quarantine_of(e, target))
          out.add(e.p.seq, "The quarantine of module " + s.module_ref
                             + " became " + change->state + " at " + e.p.at
                             + ", set by " + change->by
                             + (change->reason.empty() ? std::string{}
                                                       : ": " + change->reason)
                             + ".",
                  e.p);
    }
    return caf::none;
  }

  caf::expected<contracts::explanation> explain_task(const std::string& id,
                                                     std::vector<event> h) {
    story out;
    auto& s = adopt(id, std::move(h), &out);
    auto l = account(s);
    if (s.truncated && !s.history.empty())
      out.add(s.history.back().p.seq,
              "Only the first " + std::to_string(max_history)
                + " packets of its history were read, up to this one.",
              s.history.back().p);
    if (!s.duplicate_of.empty() && s.clearance != nullptr
        && s.duplicate_of != id && related_ < max_related_tasks) {
      ++related_;
      auto first = first_event(s.duplicate_of);
      if (!first)
        return first.error();
      if (*first && (*first)->p.kind == "task.created")
        out.add(s.clearance->p.seq,
                "The identical task " + s.duplicate_of + " (module "
                  + text((*first)->body, "module_ref") + ") was submitted"
                  + by(**first) + " at " + (*first)->p.at + ".",
                (*first)->p);
    }
    if (auto err = inputs_then(s, out, l))
      return err;
    if (auto err = quarantines_then(s, out))
      return err;
    if (s.status_by != nullptr) {
      out.add(end_of_log, "Now it is " + s.status + " (since "
                            + s.status_by->p.at + ").",
              s.status_by->p);
      if (!is_terminal(s.status)) {
        std::set<std::string> visited;
        if (auto err = waits_now(s, 0, max_wait_depth, "It", visited, out,
                                 end_of_log))
          return err;
      }
    }
    return finish(id, "task", std::move(out), std::move(l));
  }

  /// A task of a trace's page, briefly: its submission, its state now and,
  /// unfinished, what it waits for (one task deep).
  caf::error brief_task(const std::string& id, uint64_t at, story& out,
                        ledger& total) {
    auto t = task(id);
    if (!t)
      return t.error();
    auto& s = **t;
    auto l = account(s);
    if (s.created != nullptr)
      out.add(at, "Task " + id + " (module " + s.module_ref + ") was submitted"
                    + by(*s.created) + " at " + s.created->p.at + ".",
              s.created->p);
    if (s.status_by != nullptr) {
      out.add(at, "Task " + id + " is " + s.status + " since "
                    + s.status_by->p.at + ".",
              s.status_by->p);
      if (!is_terminal(s.status)) {
        std::set<std::string> visited;
        if (auto err = waits_now(s, 0, 1, "Task " + id, visited, out, at))
          return err;
      }
    }
    total.add(l, "task " + id + ": ");
    return caf::none;
  }

  // -- an asset --

  caf::expected<contracts::explanation> explain_asset(const std::string& id,
                                                      std::vector<event> h) {
    story out;
    ledger l;
    auto& first = h.front();
    std::string producer;
    std::string status;
    const event* status_by = nullptr;
    if (first.p.kind == "asset.registered") {
      l.have();
      std::vector<std::string> about;
      for (auto key : {"kind", "media_type", "dtype", "sha256"})
        if (auto x = text(first.body, key); !x.empty())
          about.push_back(std::string{key == std::string_view{"media_type"}
                                        ? "media type"
                                        : key}
                          + " " + x);
      out.add(first.p.seq, "Asset " + id
                             + (about.empty() ? std::string{} : " (" + join(about) + ")")
                             + " was registered" + by(first) + " at "
                             + first.p.at + ": it is AVAILABLE.",
              first.p);
      status = "AVAILABLE";
      status_by = &first;
    } else if (first.p.kind == "task.created"
               && has_value(pairs(first.body, "outputs"), id)) {
      l.have();
      producer = created_task_of(first);
      out.add(first.p.seq, "Asset " + id + " was promised as output '"
                             + key_of(pairs(first.body, "outputs"), id)
                             + "' of task " + producer + " (module "
                             + text(first.body, "module_ref")
                             + "), submitted" + by(first) + " at "
                             + first.p.at + ": it is PENDING until the task "
                               "succeeds.",
              first.p);
      status = "PENDING";
      status_by = &first;
    } else {
      l.lack("no packet records where asset " + id
             + " comes from: neither its registration nor the task that "
               "promised it");
    }
    std::set<std::string> known;
    if (!producer.empty())
      known.insert(producer);
    // The tasks that took it as input, in order, and whether each ended.
    std::vector<std::pair<std::string, const event*>> consumers;
    std::set<std::string> ended;
    const event* producer_end = nullptr;
    size_t told_consumers = 0;
    for (auto& e : h) {
      if (&e == &first)
        continue;
      auto& k = e.p.kind;
      if (k == "task.created") {
        auto c = created_task_of(e);
        auto inputs = pairs(e.body, "inputs");
        if (c.empty() || !has_value(inputs, id))
          continue;
        known.insert(c);
        consumers.emplace_back(c, &e);
        if (told_consumers++ < max_consumers)
          out.add(e.p.seq, "Task " + c + " (module " + text(e.body, "module_ref")
                             + ") took it as input '" + key_of(inputs, id)
                             + "' at " + e.p.at + ".",
                  e.p);
        continue;
      }
      if (k == "asset.deleted") {
        status = "deleted";
        status_by = &e;
        out.add(e.p.seq, "It was deleted" + by(e) + " at " + e.p.at + ".", e.p);
        continue;
      }
      if (k == "asset.purged") {
        status = "PURGED";
        status_by = &e;
        out.add(e.p.seq, "The retention pass removed its content at " + e.p.at
                           + ": it is PURGED (its record and lineage stay).",
                e.p);
        continue;
      }
      if (k == "asset.holds_moved") {
        out.add(e.p.seq, "Its holds became rows of their own at " + e.p.at
                           + " (a storage upgrade).",
                e.p);
        continue;
      }
      if (!k.starts_with("task.")) {
        out.add(e.p.seq, "A " + k + " packet" + (e.p.actor.empty() ? "" : " from " + e.p.actor)
                           + " named it at " + e.p.at + ".",
                e.p);
        continue;
      }
      auto t = task_of(e, known);
      if (!producer.empty() && t == producer) {
        if (k == "task.reused" && text(e.body, "reused_from") == producer)
          continue;
        auto was = status;
        if (k == "task.succeeded") {
          std::string sha;
          if (auto* outs = member(e.body, "outputs"); outs && outs->is_object())
            for (auto& [key, produced] : outs->as_object())
              if (text(produced, "asset_id") == id)
                sha = text(produced, "sha256");
          status = "AVAILABLE";
          out.add(e.p.seq, "Task " + producer + " succeeded at " + e.p.at
                             + ": it is AVAILABLE"
                             + (sha.empty() ? std::string{} : " (sha256 " + sha + ")")
                             + ".",
                  e.p);
        } else if (k == "task.reused") {
          status = "AVAILABLE";
          out.add(e.p.seq, "At " + e.p.at + " it was bound to the output of task "
                             + text(e.body, "reused_from")
                             + ", identical to its producer: it is AVAILABLE.",
                  e.p);
        } else if (k == "task.failed" || k == "task.cancelled"
                   || k == "task.skipped") {
          status = "FAILED";
          auto code = text(e.body, "code");
          out.add(e.p.seq, "Task " + producer + " ended " + status_of_kind(e)
                             + " at " + e.p.at
                             + (code.empty() ? std::string{} : " (" + code + ")")
                             + ": it FAILED and will never exist.",
                  e.p);
        } else if (k == "task.retried" || k == "task.revived") {
          status = "PENDING";
          out.add(e.p.seq, "Task " + producer + " ran again from " + e.p.at
                             + ": it is PENDING again.",
                  e.p);
        } else {
          continue;
        }
        if (status != was || status_by == nullptr)
          status_by = &e;
        producer_end = is_terminal(status_of_kind(e)) ? &e : nullptr;
        continue;
      }
      if (t.empty())
        continue;
      if (k == "task.ready") {
        out.add(e.p.seq, "Task " + t + " became READY at " + e.p.at
                           + " once it was AVAILABLE.",
                e.p);
      } else if (is_terminal(status_of_kind(e))) {
        ended.insert(t);
      } else if (k == "task.retried" || k == "task.revived") {
        ended.erase(t);
      }
    }
    if (h.size() >= max_history)
      out.add(h.back().p.seq,
              "Only the first " + std::to_string(max_history)
                + " packets of its history were read, up to this one.",
              h.back().p);
    // Its producer's end must show in its history.
    if (!producer.empty()) {
      auto last = last_event(producer);
      if (!last)
        return last.error();
      if (*last && is_terminal(status_of_kind(**last))
          && !((*last)->p.kind == "task.reused"
               && text((*last)->body, "reused_from") == producer)) {
        if (producer_end != nullptr && producer_end->p.seq == (*last)->p.seq)
          l.have();
        else if (!names((*last)->p, id))
          l.lack("task " + producer + " ended (packet " + (*last)->p.id
                 + ") but no packet records what became of its output " + id);
        else
          l.have();
      }
    }
    // Who holds it now: the tasks that took it and have not ended.
    size_t holders = 0;
    for (auto& [c, created] : consumers) {
      if (ended.count(c) || holders >= max_holders)
        continue;
      auto last = last_event(c);
      if (!last)
        return last.error();
      if (!*last || is_terminal(status_of_kind(**last)))
        continue;
      ++holders;
      out.add(end_of_log, "Task " + c + " holds it: it has not finished (its "
                            "last packet is " + (*last)->p.kind + " at "
                            + (*last)->p.at + ").",
              (*last)->p);
    }
    if (status_by != nullptr)
      out.add(end_of_log - 1, "Now it is " + status + " (since "
                                + status_by->p.at + ").",
              status_by->p);
    return finish(id, "asset", std::move(out), std::move(l));
  }

  // -- a trace --

  caf::expected<contracts::explanation>
  explain_trace(const std::string& id, uint32_t limit, uint64_t after) {
    std::vector<std::pair<uint64_t, std::string>> page;
    std::vector<event> shown; // a trace without tasks: its first packets
    // A pipeline run's own story (docs/pipelines.md): its start, the
    // fan-outs and fan-ins Zenith decided, its end; bounded.
    std::vector<event> run_events;
    bool more = false;
    bool ended = false;
    auto first = after + 1;
    size_t after_full = 0; // packets read once the page was full
    while (!ended) {
      auto chunk = src_.trace(id, first, end_of_log, trace_chunk);
      if (!chunk)
        return chunk.error();
      ended = chunk->size() < trace_chunk;
      if (chunk->empty())
        break;
      first = chunk->back().seq + 1;
      for (auto& p : *chunk) {
        if (page.size() >= limit) {
          ++after_full;
          if (p.kind == "task.created") {
            more = true;
            break;
          }
          continue;
        }
        if (after == 0 && run_events.size() < max_run_events
            && (p.kind.starts_with("run.") || p.kind == "advice.pantheon"
                || (p.kind == "decision.zenith"
                    && p.payload.find("\"engine\":\"pipeline\"")
                         != std::string::npos
                    && p.payload.find("\"decision\":\"create\"")
                         == std::string::npos)))
          run_events.push_back(to_event(p));
        if (p.kind == "task.created") {
          auto e = to_event(p);
          if (auto t = created_task_of(e); !t.empty())
            page.emplace_back(p.seq, t);
        } else if (after == 0 && page.empty() && shown.size() < limit) {
          shown.push_back(to_event(p));
        }
      }
      if (more)
        break;
      if (page.size() >= limit && after_full >= trace_chunk) {
        // A long tail without tasks: the next page may be empty.
        more = !ended;
        break;
      }
    }
    story out;
    ledger l;
    if (page.empty() && after == 0) {
      for (auto& e : shown)
        out.add(e.p.seq, "Trace " + id + ": " + e.p.kind
                           + (e.p.actor.empty() ? "" : " by " + e.p.actor)
                           + " at " + e.p.at
                           + (e.p.subjects.empty() ? std::string{}
                                                   : ", naming " + join(e.p.subjects))
                           + ".",
                e.p);
    }
    for (auto& e : run_events)
      out.add(e.p.seq, run_statement(e), e.p);
    for (auto& [seq, task_id] : page)
      if (auto err = brief_task(task_id, seq, out, l))
        return err;
    auto x = finish(id, "trace", std::move(out), std::move(l));
    if (!x)
      return x;
    if (more && !page.empty())
      x->next_cursor = trace_cursor(id, page.back().first);
    std::string head = "Trace " + id + ": ";
    if (page.empty())
      head += after == 0 ? "it holds no task. " : "no more tasks. ";
    else
      head += std::to_string(page.size())
              + (page.size() == 1 ? " task" : " tasks")
              + " on this page, in the order they were created"
              + (x->next_cursor.empty() ? ". " : "; more follow. ");
    x->narrative = head + x->narrative;
    return x;
  }

  /// The most statements about a run's own packets one explanation gives.
  static constexpr size_t max_run_events = 64;

  /// One statement about a run's packet or a pipeline decision.
  static std::string run_statement(const event& e) {
    auto& b = e.body;
    auto run = text(b, "run_id");
    auto pipeline = text(b, "pipeline");
    if (e.p.kind == "run.started")
      return "Run " + run + " of pipeline " + pipeline + " started at "
             + e.p.at + (text(b, "trigger_id").empty()
                           ? std::string{}
                           : " (trigger " + text(b, "trigger_id") + ")")
             + ".";
    if (e.p.kind == "run.done" || e.p.kind == "run.failed") {
      std::string missing;
      if (auto* m = b.find("missing"); m && m->is_number())
        missing = ", " + std::to_string(static_cast<int64_t>(m->as_double()))
                  + " task(s) did not succeed";
      std::string why;
      if (auto* err = b.find("error"); err && err->is_object())
        why = ": " + text(*err, "message");
      return "Run " + run + " ended "
             + (e.p.kind == "run.done" ? "DONE" : "FAILED") + " at " + e.p.at
             + missing + why + ".";
    }
    if (e.p.kind.starts_with("run."))
      return "Run " + run + ": " + e.p.kind.substr(4) + " at " + e.p.at
             + (text(b, "operator").empty() ? std::string{}
                                            : " by " + text(b, "operator"))
             + ".";
    auto decision = text(b, "decision");
    auto step = text(b, "step");
    auto branch = text(b, "branch");
    auto where = branch.empty() ? std::string{} : " in branch " + branch;
    if (e.p.kind == "advice.pantheon")
      return pantheon_statement(b, step, where, e.p.at);
    if (decision == "fan_out") {
      std::string counts;
      if (auto* n = b.find("elements"); n && n->is_number())
        counts = std::to_string(static_cast<int64_t>(n->as_double()))
                 + " element(s)";
      if (auto* k = b.find("kept"); k && k->is_array())
        counts += ", " + std::to_string(k->as_array().size()) + " kept";
      return "Zenith fanned step " + step + where + " out over the list "
             + text(b, "list") + " (" + counts + (text(b, "select").empty()
                                                    ? std::string{}
                                                    : ", selected by "
                                                        + text(b, "select"))
             + ") at " + e.p.at + ", the list as its evidence.";
    }
    if (decision == "collect") {
      auto count = [&](const char* k) {
        auto* n = b.find(k);
        return n && n->is_number()
                 ? std::to_string(static_cast<int64_t>(n->as_double()))
                 : std::string{"0"};
      };
      return "Zenith gathered step " + step + "'s inputs" + where + ": "
             + count("gathered") + " output(s), " + count("missing")
             + " missing, at " + e.p.at + ".";
    }
    return "Zenith decided " + decision + " for step " + step + where + ".";
  }

  /// Pantheon's vote on the candidates of a fan-out: the ranking with each
  /// consensus, who dissented most, and the report asset.
  static std::string pantheon_statement(const json::value& b,
                                        const std::string& step,
                                        const std::string& where,
                                        const std::string& at) {
    auto* report = b.find("report");
    auto* ranking = report != nullptr ? report->find("ranking") : nullptr;
    auto* verdicts = report != nullptr ? report->find("candidates") : nullptr;
    std::vector<std::string> ranked;
    std::string dissent;
    if (ranking != nullptr && ranking->is_array() && verdicts != nullptr
        && verdicts->is_array()) {
      auto& all = verdicts->as_array();
      for (auto& r : ranking->as_array()) {
        auto i = r.as_int64();
        if (!i || *i < 0 || static_cast<size_t>(*i) >= all.size())
          continue;
        auto& v = all[static_cast<size_t>(*i)];
        if (ranked.size() < 5)
          ranked.push_back("candidate " + std::to_string(*i) + " ("
                           + text(v, "consensus") + ")");
        if (dissent.empty() && !text(v, "dissenter").empty())
          dissent = "; on the first, " + text(v, "dissenter")
                    + " dissented most (by " + text(v, "dissent") + ")";
      }
    }
    auto n = verdicts != nullptr && verdicts->is_array() ? verdicts->as_array().size()
                                                         : 0;
    return "Pantheon's personas (" + text(b, "personas") + ") voted on "
           + std::to_string(n) + " candidate(s) of step " + step + where
           + " at " + at + ": by consensus " + join(ranked)
           + (n > ranked.size() ? ", ..." : "") + dissent + "; the report is asset "
           + text(b, "report_asset") + ".";
  }

  caf::expected<contracts::explanation> finish(const std::string& id,
                                               std::string kind, story out,
                                               ledger l) {
    contracts::explanation x;
    x.subject = id;
    x.subject_kind = std::move(kind);
    x.chain = std::move(out).chain();
    for (auto& step : x.chain) {
      if (!x.narrative.empty())
        x.narrative += ' ';
      x.narrative += step.statement;
    }
    x.missing = std::move(l.missing);
    x.completeness = l.completeness();
    if (!x.missing.empty()) {
      if (!x.narrative.empty())
        x.narrative += ' ';
      x.narrative += std::to_string(x.missing.size())
                     + (x.missing.size() == 1 ? " piece" : " pieces")
                     + " of the evidence the lineage should hold "
                     + (x.missing.size() == 1 ? "is" : "are")
                     + " missing (see missing).";
    }
    return x;
  }

private:
  const lineage_source& src_;
  /// Tasks replayed so far, by id.
  std::map<std::string, task_state> tasks_;
  size_t related_ = 0;
};

/// A short check sum tying a cursor to its trace.
std::string cursor_check(std::string_view trace_id, uint64_t seq) {
  std::string text{"halolux\n"};
  text += trace_id;
  text += '\n';
  text += std::to_string(seq);
  auto d = contracts::sha256(text);
  return contracts::to_hex(std::span<const uint8_t>{d.data(), 8});
}

} // namespace

std::string created_task(const packet& p) {
  return created_task_of(to_event(p));
}

std::string_view subject_kind(std::string_view id,
                              const std::vector<packet>& history) {
  for (auto& p : history) {
    if (p.kind.starts_with("asset.") && names(p, id))
      return "asset";
    auto e = to_event(p);
    if (p.kind == "task.created") {
      if (has_value(pairs(e.body, "inputs"), id)
          || has_value(pairs(e.body, "outputs"), id))
        return "asset";
      if (created_task_of(e) == id)
        return "task";
    }
    auto tasks = row_keys(e.body, "tasks");
    if (std::find(tasks.begin(), tasks.end(), id) != tasks.end())
      return "task";
    auto assets = row_keys(e.body, "assets");
    if (std::find(assets.begin(), assets.end(), id) != assets.end())
      return "asset";
    for (auto key : {"items", "routes", "plans", "decisions"})
      if (item_for(e.body, key, id) != nullptr)
        return "task";
  }
  return {};
}

std::string trace_cursor(std::string_view trace_id, uint64_t seq) {
  return "t" + std::to_string(seq) + "." + cursor_check(trace_id, seq);
}

std::optional<uint64_t> read_trace_cursor(std::string_view trace_id,
                                          std::string_view cursor) {
  if (cursor.size() < 3 || cursor.front() != 't')
    return std::nullopt;
  auto dot = cursor.find('.');
  if (dot == std::string_view::npos || dot < 2)
    return std::nullopt;
  uint64_t seq = 0;
  auto digits = cursor.substr(1, dot - 1);
  auto [end, err] = std::from_chars(digits.data(), digits.data() + digits.size(), seq);
  if (err != std::errc{} || end != digits.data() + digits.size() || seq == 0
      || digits.front() == '0')
    return std::nullopt;
  if (cursor.substr(dot + 1) != cursor_check(trace_id, seq))
    return std::nullopt;
  return seq;
}

caf::expected<contracts::explanation> explain(const contracts::explain_query& q,
                                              const lineage_source& src) {
  if (q.limit > max_limit)
    return make_error(ec::invalid_filter,
                      "limit must be between 1 and " + std::to_string(max_limit)
                        + " (tasks per page of a trace)",
                      "/limit");
  auto limit = q.limit == 0 ? default_limit : q.limit;
  if (q.id.empty() || q.id.size() > max_id_bytes)
    return make_error(ec::not_found,
                      q.id.empty() ? "no id to explain: give a task, an asset "
                                     "or a trace id"
                                   : "no task, asset or trace has an id of "
                                       + std::to_string(q.id.size())
                                       + " bytes");
  auto h = src.history(q.id, 1, end_of_log, max_history);
  if (!h)
    return h.error();
  explainer x{src};
  if (!h->empty()) {
    auto kind = subject_kind(q.id, *h);
    if (kind.empty())
      return make_error(ec::not_found,
                        "'" + q.id + "' is not a task, an asset or a trace ("
                          + std::to_string(h->size())
                          + " packets name it: `omniva lineage show "
                          + q.id + "` lists them)");
    if (!q.cursor.empty())
      return make_error(ec::invalid_filter,
                        "a cursor pages the explanation of a trace; '" + q.id
                          + "' is " + (kind == "task" ? "a task" : "an asset"),
                        "/cursor");
    if (kind == "task")
      return x.explain_task(q.id, to_events(std::move(*h)));
    return x.explain_asset(q.id, to_events(std::move(*h)));
  }
  uint64_t after = 0;
  if (!q.cursor.empty()) {
    auto seq = read_trace_cursor(q.id, q.cursor);
    if (!seq)
      return make_error(ec::invalid_filter,
                        "the cursor is not one this node gave for trace '"
                          + q.id + "': use the next_cursor of the page before",
                        "/cursor");
    after = *seq;
  }
  auto any = src.trace(q.id, 1, end_of_log, 1);
  if (!any)
    return any.error();
  if (any->empty())
    return make_error(ec::not_found, "no task, asset or trace '" + q.id
                                       + "' is in the lineage log");
  return x.explain_trace(q.id, limit, after);
}

} // namespace omniva::halolux
