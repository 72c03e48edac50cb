#include "contracts/json.hpp"

#include <simdjson.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>
#include <limits>
#include <sstream>

namespace omniva::json {

namespace {

value from_element(simdjson::dom::element e) {
  using simdjson::dom::element_type;
  switch (e.type()) {
    case element_type::ARRAY: {
      array xs;
      auto arr = simdjson::dom::array(e);
      xs.reserve(arr.size());
      for (auto child : arr)
        xs.emplace_back(from_element(child));
      return value{std::move(xs)};
    }
    case element_type::OBJECT: {
      object xs;
      auto obj = simdjson::dom::object(e);
      xs.reserve(obj.size());
      for (auto field : obj) {
        auto key = std::string{field.key};
        // RFC 8259 leaves duplicates open; the last one wins, as elsewhere.
        auto i = std::find_if(xs.begin(), xs.end(),
                              [&](auto& kv) { return kv.first == key; });
        if (i != xs.end())
          i->second = from_element(field.value);
        else
          xs.emplace_back(std::move(key), from_element(field.value));
      }
      return value{std::move(xs)};
    }
    case element_type::INT64:
      return value{int64_t{e.get_int64().value_unsafe()}};
    case element_type::UINT64:
      return value{uint64_t{e.get_uint64().value_unsafe()}};
    case element_type::DOUBLE:
      return value{e.get_double().value_unsafe()};
    case element_type::STRING:
      return value{std::string{e.get_string().value_unsafe()}};
    case element_type::BOOL:
      return value{e.get_bool().value_unsafe()};
    case element_type::NULL_VALUE:
      return value{};
  }
  return value{};
}

std::string describe(simdjson::error_code ec) {
  switch (ec) {
    case simdjson::DEPTH_ERROR:
      return "the document is nested too deeply";
    case simdjson::NUMBER_ERROR:
      return "a number is malformed or out of range";
    case simdjson::STRING_ERROR:
    case simdjson::UNCLOSED_STRING:
      return "a string is malformed or not closed";
    case simdjson::UTF8_ERROR:
      return "the text is not valid UTF-8";
    case simdjson::EMPTY:
      return "the text is empty";
    case simdjson::UNESCAPED_CHARS:
      return "a string holds an unescaped control character";
    case simdjson::CAPACITY:
      return "the document is too large";
    default:
      return simdjson::error_message(ec);
  }
}

bool is_digit(char c) noexcept {
  return c >= '0' && c <= '9';
}

} // namespace

std::string_view to_string(kind k) noexcept {
  switch (k) {
    case kind::null:
      return "null";
    case kind::boolean:
      return "boolean";
    case kind::integer:
    case kind::unsigned_integer:
      return "integer";
    case kind::number:
      return "number";
    case kind::string:
      return "string";
    case kind::array:
      return "array";
    case kind::object:
      return "object";
  }
  return "unknown";
}

value::value(uint64_t x) noexcept {
  if (x <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
    data_ = static_cast<int64_t>(x);
  else
    data_ = x;
}

kind value::type() const noexcept {
  return static_cast<kind>(data_.index());
}

bool value::is_number() const noexcept {
  auto k = type();
  return k == kind::integer || k == kind::unsigned_integer
         || k == kind::number;
}

bool value::is_integral() const noexcept {
  switch (type()) {
    case kind::integer:
    case kind::unsigned_integer:
      return true;
    case kind::number: {
      auto d = std::get<double>(data_);
      return std::isfinite(d) && std::trunc(d) == d;
    }
    default:
      return false;
  }
}

double value::as_double() const {
  switch (type()) {
    case kind::integer:
      return static_cast<double>(std::get<int64_t>(data_));
    case kind::unsigned_integer:
      return static_cast<double>(std::get<uint64_t>(data_));
    default:
      return std::get<double>(data_);
  }
}

std::optional<int64_t> value::as_int64() const noexcept {
  switch (type()) {
    case kind::integer:
      return std::get<int64_t>(data_);
    case kind::number: {
      auto d = std::get<double>(data_);
      if (std::trunc(d) == d && d >= -9.2233720368547758e18
          && d < 9.2233720368547758e18)
        return static_cast<int64_t>(d);
      return std::nullopt;
    }
    default:
      return std::nullopt;
  }
}

const value* value::find(std::string_view key) const noexcept {
  if (auto* xs = std::get_if<object>(&data_))
    for (auto& [k, v] : *xs)
      if (k == key)
        return &v;
  return nullptr;
}

value* value::find(std::string_view key) noexcept {
  return const_cast<value*>(std::as_const(*this).find(key));
}

value& value::set(std::string key, value x) {
  if (is_null())
    data_ = object{};
  auto& xs = std::get<object>(data_);
  for (auto& [k, v] : xs)
    if (k == key) {
      v = std::move(x);
      return v;
    }
  xs.emplace_back(std::move(key), std::move(x));
  return xs.back().second;
}

bool value::erase(std::string_view key) {
  auto* xs = std::get_if<object>(&data_);
  if (xs == nullptr)
    return false;
  auto i = std::find_if(xs->begin(), xs->end(),
                        [&](auto& kv) { return kv.first == key; });
  if (i == xs->end())
    return false;
  xs->erase(i);
  return true;
}

value& value::push_back(value x) {
  if (is_null())
    data_ = array{};
  auto& xs = std::get<array>(data_);
  xs.emplace_back(std::move(x));
  return xs.back();
}

bool operator==(const value& x, const value& y) noexcept {
  if (x.is_number() && y.is_number()) {
    auto kx = x.type();
    auto ky = y.type();
    if (kx == kind::number || ky == kind::number)
      return x.as_double() == y.as_double();
    if (kx != ky)
      return false; // int64 vs uint64 > INT64_MAX never overlap
    return x.data_ == y.data_;
  }
  if (x.type() != y.type())
    return false;
  if (x.is_object()) {
    auto& xs = x.as_object();
    auto& ys = y.as_object();
    if (xs.size() != ys.size())
      return false;
    for (auto& [k, v] : xs) {
      auto* other = y.find(k);
      if (other == nullptr || !(v == *other))
        return false;
    }
    return true;
  }
  if (x.is_array()) {
    auto& xs = x.as_array();
    auto& ys = y.as_array();
    return std::equal(xs.begin(), xs.end(), ys.begin(), ys.end());
  }
  return x.data_ == y.data_;
}

std::optional<std::string> widen_big_integers(std::string_view text) {
  std::string out;
  bool changed = false;
  size_t i = 0;
  size_t copied = 0;
  auto n = text.size();
  while (i < n) {
    auto c = text[i];
    if (c == '"') {
      // Skip the string, honouring escapes.
      ++i;
      while (i < n && text[i] != '"')
        i += text[i] == '\\' ? 2 : 1;
      ++i;
      continue;
    }
    if (is_digit(c) && (i == 0 || !is_digit(text[i - 1]))) {
      auto start = i;
      while (i < n && is_digit(text[i]))
        ++i;
      auto digits = i - start;
      bool integer_literal = i >= n || (text[i] != '.' && text[i] != 'e'
                                        && text[i] != 'E');
      // 19 digits fit in 64 bits up to 9223372036854775807 (or 18 446...
      // unsigned), but a negative one only down to -9223372036854775808.
      bool negative = start > 0 && text[start - 1] == '-';
      bool below_int64 = negative && digits == 19
                         && text.substr(start, 19) > "9223372036854775808";
      if (integer_literal && (digits > 19 || below_int64) && text[start] != '0') {
        out.append(text.substr(copied, start - copied));
        out += text[start];
        out += '.';
        out.append(text.substr(start + 1, digits - 1));
        out += 'e';
        out += std::to_string(digits - 1);
        copied = i;
        changed = true;
      }
      continue;
    }
    ++i;
  }
  if (!changed)
    return std::nullopt;
  out.append(text.substr(copied));
  return out;
}

namespace {

/// Documents up to this size are parsed by a parser kept per thread, so the
/// many small documents of the hot paths (rows, payloads, manifests) do not
/// each allocate and free simdjson's buffers.
constexpr size_t reused_parser_capacity = 64 * 1024;

} // namespace

parse_result parse(std::string_view text, size_t max_depth) {
  // (Its maximum stays simdjson's, so a document widened by
  // widen_big_integers past the capacity still parses.)
  thread_local simdjson::dom::parser reused{simdjson::SIMDJSON_MAXSIZE_BYTES};
  thread_local size_t reused_depth = 0;
  std::optional<simdjson::dom::parser> own;
  simdjson::dom::parser* chosen = &reused;
  if (text.size() <= reused_parser_capacity) {
    if (reused_depth != max_depth) {
      if (auto err = reused.allocate(reused_parser_capacity, max_depth);
          err != simdjson::SUCCESS) {
        reused_depth = 0;
        return {std::nullopt, {describe(err)}};
      }
      reused_depth = max_depth;
    }
  } else {
    chosen = &own.emplace(simdjson::SIMDJSON_MAXSIZE_BYTES);
    if (auto err = own->allocate(text.size(), max_depth);
        err != simdjson::SUCCESS)
      return {std::nullopt, {describe(err)}};
  }
  auto& parser = *chosen;
  simdjson::dom::element root;
  auto err = parser.parse(text.data(), text.size(), true).get(root);
  if (err == simdjson::NUMBER_ERROR) {
    if (auto widened = widen_big_integers(text))
      err = parser.parse(widened->data(), widened->size(), true).get(root);
  }
  if (err != simdjson::SUCCESS)
    return {std::nullopt, {"invalid JSON: " + describe(err)}};
  return {from_element(root), {}};
}

parse_result parse_file(const std::string& path, size_t max_depth) {
  std::ifstream in{path, std::ios::binary};
  if (!in)
    return {std::nullopt, {"cannot read " + path}};
  std::ostringstream buf;
  buf << in.rdbuf();
  auto result = parse(buf.str(), max_depth);
  if (!result)
    result.error.message = path + ": " + result.error.message;
  return result;
}

// -- writing ------------------------------------------------------------------

void append_quoted(std::string& out, std::string_view text) {
  static constexpr char hex[] = "0123456789abcdef";
  out += '"';
  size_t run = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c != '"' && c != '\\')
      continue;
    out.append(text.substr(run, i - run));
    run = i + 1;
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      default:
        out += "\\u00";
        out += hex[c >> 4];
        out += hex[c & 0xF];
    }
  }
  out.append(text.substr(run));
  out += '"';
}

void append_number(std::string& out, double x) {
  if (!std::isfinite(x)) {
    out += "null"; // JSON has no NaN or infinity
    return;
  }
  char buf[32];
  if (std::trunc(x) == x && std::fabs(x) < 9.007199254740992e15) {
    auto r = std::to_chars(buf, buf + sizeof(buf), static_cast<int64_t>(x));
    out.append(buf, r.ptr);
    return;
  }
  auto r = std::to_chars(buf, buf + sizeof(buf), x);
  out.append(buf, r.ptr);
}

namespace {

void indent(std::string& out, int depth) {
  out += '\n';
  out.append(static_cast<size_t>(depth) * 2, ' ');
}

void write(std::string& out, const value& x, style s, int depth) {
  char buf[32];
  switch (x.type()) {
    case kind::null:
      out += "null";
      return;
    case kind::boolean:
      out += x.as_bool() ? "true" : "false";
      return;
    case kind::integer: {
      auto r = std::to_chars(buf, buf + sizeof(buf),
                             std::get<int64_t>(x.data()));
      out.append(buf, r.ptr);
      return;
    }
    case kind::unsigned_integer: {
      auto r = std::to_chars(buf, buf + sizeof(buf),
                             std::get<uint64_t>(x.data()));
      out.append(buf, r.ptr);
      return;
    }
    case kind::number:
      append_number(out, std::get<double>(x.data()));
      return;
    case kind::string:
      append_quoted(out, x.as_string());
      return;
    case kind::array: {
      auto& xs = x.as_array();
      out += '[';
      for (size_t i = 0; i < xs.size(); ++i) {
        if (i > 0)
          out += ',';
        if (s == style::pretty)
          indent(out, depth + 1);
        write(out, xs[i], s, depth + 1);
      }
      if (s == style::pretty && !xs.empty())
        indent(out, depth);
      out += ']';
      return;
    }
    case kind::object: {
      auto& xs = x.as_object();
      std::vector<const std::pair<std::string, value>*> members;
      members.reserve(xs.size());
      for (auto& kv : xs)
        members.push_back(&kv);
      if (s == style::canonical)
        std::sort(members.begin(), members.end(),
                  [](auto* a, auto* b) { return a->first < b->first; });
      out += '{';
      for (size_t i = 0; i < members.size(); ++i) {
        if (i > 0)
          out += ',';
        if (s == style::pretty)
          indent(out, depth + 1);
        append_quoted(out, members[i]->first);
        out += s == style::pretty ? ": " : ":";
        write(out, members[i]->second, s, depth + 1);
      }
      if (s == style::pretty && !members.empty())
        indent(out, depth);
      out += '}';
      return;
    }
  }
}

} // namespace

void serialize_to(std::string& out, const value& x, style s) {
  write(out, x, s, 0);
}

std::string serialize(const value& x, style s) {
  std::string out;
  serialize_to(out, x, s);
  return out;
}

// -- JSON pointers ------------------------------------------------------------

std::string escape_pointer_token(std::string_view token) {
  std::string out;
  out.reserve(token.size());
  for (auto c : token) {
    if (c == '~')
      out += "~0";
    else if (c == '/')
      out += "~1";
    else
      out += c;
  }
  return out;
}

std::string append_pointer(std::string_view base, std::string_view token) {
  std::string out{base};
  out += '/';
  out += escape_pointer_token(token);
  return out;
}

std::string append_pointer(std::string_view base, size_t index) {
  std::string out{base};
  out += '/';
  out += std::to_string(index);
  return out;
}

const value* resolve_pointer(const value& root, std::string_view pointer) {
  const value* cur = &root;
  if (pointer.empty())
    return cur;
  if (pointer.front() != '/')
    return nullptr;
  size_t pos = 1;
  while (true) {
    auto end = pointer.find('/', pos);
    auto raw = pointer.substr(pos, end == std::string_view::npos
                                     ? std::string_view::npos
                                     : end - pos);
    std::string token;
    for (size_t i = 0; i < raw.size(); ++i) {
      if (raw[i] == '~') {
        if (i + 1 >= raw.size() || (raw[i + 1] != '0' && raw[i + 1] != '1'))
          return nullptr;
        token += raw[i + 1] == '0' ? '~' : '/';
        ++i;
      } else {
        token += raw[i];
      }
    }
    if (cur->is_object()) {
      cur = cur->find(token);
    } else if (cur->is_array()) {
      auto& xs = cur->as_array();
      size_t idx = 0;
      auto [p, ec] = std::from_chars(token.data(), token.data() + token.size(),
                                     idx);
      if (ec != std::errc{} || p != token.data() + token.size()
          || token.empty() || (token.size() > 1 && token[0] == '0')
          || idx >= xs.size())
        return nullptr;
      cur = &xs[idx];
    } else {
      return nullptr;
    }
    if (cur == nullptr)
      return nullptr;
    if (end == std::string_view::npos)
      return cur;
    pos = end + 1;
  }
}

} // namespace omniva::json
