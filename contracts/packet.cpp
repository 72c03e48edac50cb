#include "contracts/packet.hpp"

#include <openssl/evp.h>

#include <memory>

namespace omniva::contracts {

digest sha256(std::string_view bytes) noexcept {
  // OpenSSL 3 looks the algorithm up on every one-shot SHA256() call; fetch
  // it once and reuse one context per thread (hashing is on the commit and
  // verify hot paths).
  static EVP_MD* algorithm = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  thread_local std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx{
    EVP_MD_CTX_new(), EVP_MD_CTX_free};
  digest d{};
  unsigned int size = 0;
  EVP_DigestInit_ex(ctx.get(), algorithm, nullptr);
  EVP_DigestUpdate(ctx.get(), bytes.data(), bytes.size());
  EVP_DigestFinal_ex(ctx.get(), d.data(), &size);
  return d;
}

std::optional<digest> digest_from_hex(std::string_view hex) noexcept {
  digest d;
  if (!from_hex(hex, d))
    return std::nullopt;
  return d;
}

namespace {

json::array strings(const std::vector<std::string>& xs) {
  json::array out;
  out.reserve(xs.size());
  for (auto& x : xs)
    out.emplace_back(x);
  return out;
}

std::optional<json::value> packet_without_id(const packet& x) {
  auto payload = json::parse(x.payload);
  if (!payload || !payload.doc->is_object())
    return std::nullopt;
  json::value v{json::object{}};
  v.set("_meta_parents", strings(x.meta_parents));
  v.set("actor", x.actor);
  v.set("at", x.at);
  v.set("kind", x.kind);
  v.set("payload", std::move(*payload.doc));
  v.set("prev", x.prev);
  v.set("schema_version", x.schema_version);
  v.set("seq", x.seq);
  v.set("subjects", strings(x.subjects));
  v.set("trace_id", x.trace_id);
  return v;
}

bool read_strings(const json::value* v, std::vector<std::string>& out) {
  if (v == nullptr || !v->is_array())
    return false;
  for (auto& s : v->as_array()) {
    if (!s.is_string())
      return false;
    out.push_back(s.as_string());
  }
  return true;
}

bool read_string(const json::value& doc, std::string_view key,
                 std::string& out) {
  auto* v = doc.find(key);
  if (v == nullptr || !v->is_string())
    return false;
  out = v->as_string();
  return true;
}

} // namespace

std::optional<std::string> canonical_form(const packet& x) {
  auto v = packet_without_id(x);
  if (!v)
    return std::nullopt;
  return json::serialize(*v, json::style::canonical);
}

std::optional<std::string> compute_id(const packet& x) {
  auto text = canonical_form(x);
  if (!text)
    return std::nullopt;
  return to_hex(sha256(*text));
}

std::optional<packet> packet_from_canonical(std::string_view text) {
  auto doc = json::parse(text);
  if (!doc || !doc.doc->is_object())
    return std::nullopt;
  auto& d = *doc.doc;
  packet x;
  auto* seq = d.find("seq");
  auto* payload = d.find("payload");
  if (seq == nullptr || !seq->as_int64() || *seq->as_int64() < 0
      || payload == nullptr || !payload->is_object()
      || !read_string(d, "prev", x.prev) || !read_string(d, "kind", x.kind)
      || !read_string(d, "actor", x.actor)
      || !read_string(d, "trace_id", x.trace_id)
      || !read_string(d, "at", x.at)
      || !read_string(d, "schema_version", x.schema_version)
      || !read_strings(d.find("_meta_parents"), x.meta_parents)
      || !read_strings(d.find("subjects"), x.subjects))
    return std::nullopt;
  x.seq = static_cast<uint64_t>(*seq->as_int64());
  x.payload = json::serialize(*payload, json::style::canonical);
  return x;
}

json::value to_json(const packet& x) {
  json::value v{json::object{}};
  v.set("id", x.id);
  v.set("seq", x.seq);
  v.set("prev", x.prev);
  v.set("kind", x.kind);
  v.set("actor", x.actor);
  v.set("trace_id", x.trace_id);
  v.set("_meta_parents", strings(x.meta_parents));
  v.set("subjects", strings(x.subjects));
  v.set("at", x.at);
  v.set("schema_version", x.schema_version);
  auto payload = json::parse(x.payload);
  v.set("payload", payload ? std::move(*payload.doc) : json::value{json::object{}});
  return v;
}

} // namespace omniva::contracts
