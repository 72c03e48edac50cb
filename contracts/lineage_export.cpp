#include "contracts/lineage_export.hpp"

#include "contracts/hex.hpp"
#include "contracts/json.hpp"
#include "contracts/packet.hpp"

namespace omniva::contracts {

namespace {

/// Where the member `"id"` goes in the canonical text of an object: before
/// the first top-level member whose name sorts after "id" (the text is
/// canonical: its members are sorted). npos when there is none, or the text
/// is not an object.
size_t id_slot(std::string_view text) {
  if (text.empty() || text.front() != '{')
    return std::string_view::npos;
  int depth = 0;
  bool in_string = false;
  bool expect_key = false;
  size_t key_start = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    auto c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i; // the escaped character never ends the string
      } else if (c == '"') {
        in_string = false;
        if (expect_key) {
          expect_key = false;
          auto key = text.substr(key_start + 1, i - key_start - 1);
          if (key > "id")
            return key_start;
        }
      }
      continue;
    }
    switch (c) {
      case '"':
        in_string = true;
        key_start = i;
        break;
      case '{':
      case '[':
        ++depth;
        expect_key = depth == 1; // the object's first member follows
        break;
      case '}':
      case ']':
        --depth;
        break;
      case ',':
        expect_key = depth == 1;
        break;
      default:
        break;
    }
  }
  return std::string_view::npos;
}

/// The member an export adds: `"id":"<hex>",`.
std::string id_member(std::string_view id_hex) {
  std::string out = "\"id\":\"";
  out += id_hex;
  out += "\",";
  return out;
}

/// "line 7 (seq 42)" or "line 7".
std::string where(uint64_t line, uint64_t seq) {
  auto out = "line " + std::to_string(line);
  if (seq > 0)
    out += " (seq " + std::to_string(seq) + ")";
  return out;
}

} // namespace

std::optional<std::string> export_line(std::string_view id_hex,
                                       std::string_view canonical) {
  auto slot = id_slot(canonical);
  if (slot == std::string_view::npos)
    return std::nullopt;
  std::string out;
  out.reserve(canonical.size() + id_hex.size() + 8);
  out.append(canonical.substr(0, slot));
  out += id_member(id_hex);
  out.append(canonical.substr(slot));
  return out;
}

std::optional<export_problem> export_checker::add(std::string_view line) {
  auto n = ++lines_;
  auto problem = [&](uint64_t seq, ec code, std::string reason) {
    return export_problem{n, seq, code, std::move(reason)};
  };
  auto doc = json::parse(line);
  if (!doc || !doc.doc->is_object())
    return problem(0, ec::invalid_json,
                   where(n, 0) + " is not a JSON object"
                     + (doc ? std::string{} : ": " + doc.error.message));
  auto& d = *doc.doc;
  auto* seq_member = d.find("seq");
  uint64_t seq = 0;
  if (seq_member != nullptr && seq_member->as_int64()
      && *seq_member->as_int64() > 0)
    seq = static_cast<uint64_t>(*seq_member->as_int64());
  auto* id_value = d.find("id");
  if (id_value == nullptr || !id_value->is_string()
      || !digest_from_hex(id_value->as_string())
      || to_hex(*digest_from_hex(id_value->as_string())) != id_value->as_string())
    return problem(seq, ec::invalid_json,
                   where(n, seq)
                     + " has no id of 64 lowercase hex digits: not a line of "
                       "a lineage export");
  auto id = id_value->as_string();
  if (seq == 0)
    return problem(0, ec::invalid_json,
                   where(n, 0) + " has no seq (a positive integer)");
  std::string stripped{line};
  auto member = id_member(id);
  auto at = stripped.find(member);
  if (at == std::string::npos)
    return problem(seq, ec::invalid_json,
                   where(n, seq) + ": its id is not followed by another "
                                   "member, as in a lineage export");
  stripped.erase(at, member.size());
  auto actual = to_hex(sha256(stripped));
  // Whatever else is wrong, the chain goes on from what the line says.
  auto previous_seq = last_seq_;
  auto previous_id = std::move(last_id_);
  last_seq_ = seq;
  last_id_ = id;
  if (n == 1) {
    first_seq_ = seq;
    if (auto* prev = d.find("prev"); prev && prev->is_string())
      first_prev_ = prev->as_string();
  }
  if (actual != id)
    return problem(seq, ec::corruption,
                   where(n, seq) + " was changed: its content hashes to "
                     + actual + ", not to its id " + id);
  auto p = packet_from_canonical(stripped);
  if (!p)
    return problem(seq, ec::invalid_json,
                   where(n, seq) + " is not a packet (a member is missing or "
                                   "of the wrong type)");
  if (n == 1) {
    if (seq == 1 && !p->prev.empty())
      return problem(seq, ec::corruption,
                     where(n, seq) + " is the first packet of the log but "
                                     "names a prev");
    return std::nullopt;
  }
  if (seq != previous_seq + 1)
    return problem(seq, ec::corruption,
                   "the chain breaks at " + where(n, seq) + ": it follows seq "
                     + std::to_string(previous_seq)
                     + " (packets are missing, added or out of order)");
  if (p->prev != previous_id)
    return problem(seq, ec::corruption,
                   "the chain breaks at " + where(n, seq) + ": its prev is "
                     + (p->prev.empty() ? std::string{"empty"} : p->prev)
                     + " but the line before has the id " + previous_id);
  return std::nullopt;
}

} // namespace omniva::contracts
