#include "contracts/uri.hpp"

#include "contracts/hex.hpp"

#include <cstddef>

namespace omniva::contracts {

namespace {

constexpr auto npos = std::string_view::npos;

// Removes the last segment and its preceding "/" from `output` (RFC 3986
// §5.2.4 step 2C); with no "/" left the whole buffer goes.
void remove_last_segment(std::string& output) {
  size_t slash = output.rfind('/');
  output.erase(slash == std::string::npos ? 0 : slash);
}

// RFC 3986 §5.2.4. The input buffer is a view that only ever shrinks from the
// front; the two rules that "replace a prefix with '/'" point it at a literal.
std::string remove_dot_segments(std::string_view input) {
  std::string output;
  output.reserve(input.size());
  while (!input.empty()) {
    if (input.starts_with("../")) {
      input.remove_prefix(3);
    } else if (input.starts_with("./")) {
      input.remove_prefix(2);
    } else if (input.starts_with("/./")) {
      input.remove_prefix(2);
    } else if (input == "/.") {
      input = "/";
    } else if (input.starts_with("/../")) {
      input.remove_prefix(3);
      remove_last_segment(output);
    } else if (input == "/..") {
      input = "/";
      remove_last_segment(output);
    } else if (input == "." || input == "..") {
      input = {};
    } else {
      size_t end = input.find('/', 1);
      if (end == npos)
        end = input.size();
      output.append(input.substr(0, end));
      input.remove_prefix(end);
    }
  }
  return output;
}

// RFC 3986 §5.2.3.
std::string merge_paths(const uri_reference& base, std::string_view reference_path) {
  if (base.authority && base.path.empty()) {
    std::string merged = "/";
    merged.append(reference_path);
    return merged;
  }
  size_t slash = base.path.rfind('/');
  std::string merged = slash == std::string::npos ? std::string{} : base.path.substr(0, slash + 1);
  merged.append(reference_path);
  return merged;
}

}  // namespace

uri_reference uri_reference::parse(std::string_view text) {
  uri_reference result;
  // ^(([^:/?#]+):)?
  if (size_t stop = text.find_first_of(":/?#"); stop != npos && stop > 0 && text[stop] == ':') {
    result.scheme.emplace(text.substr(0, stop));
    text.remove_prefix(stop + 1);
  }
  // (//([^/?#]*))?
  if (text.starts_with("//")) {
    size_t end = text.find_first_of("/?#", 2);
    if (end == npos)
      end = text.size();
    result.authority.emplace(text.substr(2, end - 2));
    text.remove_prefix(end);
  }
  // ([^?#]*)
  size_t path_end = text.find_first_of("?#");
  if (path_end == npos)
    path_end = text.size();
  result.path.assign(text.substr(0, path_end));
  text.remove_prefix(path_end);
  // (\?([^#]*))?
  if (text.starts_with('?')) {
    size_t end = text.find('#');
    if (end == npos)
      end = text.size();
    result.query.emplace(text.substr(1, end - 1));
    text.remove_prefix(end);
  }
  // (#(.*))?
  if (text.starts_with('#'))
    result.fragment.emplace(text.substr(1));
  return result;
}

std::string uri_reference::to_string() const {
  std::string result;
  result.reserve((scheme ? scheme->size() + 1 : 0) + (authority ? authority->size() + 2 : 0)
                 + path.size() + (query ? query->size() + 1 : 0)
                 + (fragment ? fragment->size() + 1 : 0));
  if (scheme) {
    result += *scheme;
    result += ':';
  }
  if (authority) {
    result += "//";
    result += *authority;
  }
  result += path;
  if (query) {
    result += '?';
    result += *query;
  }
  if (fragment) {
    result += '#';
    result += *fragment;
  }
  return result;
}

bool uri_reference::is_absolute() const noexcept {
  return scheme.has_value();
}

std::string resolve_uri(std::string_view base, std::string_view reference) {
  if (base.empty())
    return std::string(reference);
  const uri_reference r = uri_reference::parse(reference);
  const uri_reference b = uri_reference::parse(base);
  uri_reference t;
  if (r.scheme) {
    t.scheme = r.scheme;
    t.authority = r.authority;
    t.path = remove_dot_segments(r.path);
    t.query = r.query;
  } else {
    if (r.authority) {
      t.authority = r.authority;
      t.path = remove_dot_segments(r.path);
      t.query = r.query;
    } else {
      if (r.path.empty()) {
        // A fragment-only or query-only reference: this is what keeps
        // "urn:uuid:...#foo" intact, since a urn path has no "/" to merge at.
        t.path = b.path;
        t.query = r.query ? r.query : b.query;
      } else {
        t.path = r.path.starts_with('/') ? remove_dot_segments(r.path)
                                         : remove_dot_segments(merge_paths(b, r.path));
        t.query = r.query;
      }
      t.authority = b.authority;
    }
    t.scheme = b.scheme;
  }
  t.fragment = r.fragment;
  return t.to_string();
}

std::string strip_fragment(std::string_view uri) {
  return std::string(uri.substr(0, uri.find('#')));
}

std::string uri_fragment(std::string_view uri) {
  size_t hash = uri.find('#');
  return hash == npos ? std::string{} : percent_decode(uri.substr(hash + 1));
}

std::optional<std::string> percent_decode(std::string_view text, percent_decoding options) {
  std::string result;
  result.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '%') {
      int hi = i + 2 < text.size() ? hex_digit_value(text[i + 1]) : -1;
      int lo = hi >= 0 ? hex_digit_value(text[i + 2]) : -1;
      if (lo >= 0) {
        result += static_cast<char>(hi * 16 + lo);
        i += 2;
      } else if (options.strict) {
        return std::nullopt;
      } else {
        result += c;
      }
    } else if (c == '+' && options.plus_as_space) {
      result += ' ';
    } else {
      result += c;
    }
  }
  return result;
}

std::string percent_decode(std::string_view text) {
  // Never nullopt: only strict decoding refuses.
  return *percent_decode(text, percent_decoding{});
}

std::optional<uri_authority> uri_authority::parse(std::string_view authority) {
  uri_authority result;
  if (size_t at = authority.find('@'); at != npos) {
    result.userinfo.emplace(authority.substr(0, at));
    authority.remove_prefix(at + 1);
  }
  std::string_view rest;
  if (authority.starts_with('[')) {
    size_t close = authority.find(']');
    if (close == npos)
      return std::nullopt;
    result.host.assign(authority.substr(1, close - 1));
    result.ip_literal = true;
    rest = authority.substr(close + 1);
    if (!rest.empty() && rest.front() != ':')
      return std::nullopt;
  } else {
    size_t colon = authority.find(':');
    result.host.assign(authority.substr(0, colon));
    rest = colon == npos ? std::string_view{} : authority.substr(colon);
  }
  if (!rest.empty())
    result.port.emplace(rest.substr(1));
  return result;
}

}  // namespace omniva::contracts
