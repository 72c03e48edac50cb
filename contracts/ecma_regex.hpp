#pragma once

/// @file
/// ECMA-262 regular expressions, run on RE2: the one dialect of every pattern.
///
/// JSON Schema's `pattern` and `patternProperties`, the `regex` format check
/// and a module contract's VALUE `constraints.pattern` all read their pattern
/// here, so a pattern a module author tries against the schema engine means
/// the same in a contract constraint.
///
/// Patterns are read with the grammar of ECMA-262's `u` flag (the one JSON
/// Schema recommends and its test suite assumes: `\a` or a lone `]` is an
/// error, not a literal) and translated into RE2 syntax where the two differ:
/// `\uXXXX`, `\u{...}`, `\cX`, `[]`, `[^]`, long Unicode property names
/// (`\p{Letter}`, `\p{Script=Greek}`), modifier groups (`(?i:...)`), named
/// groups, and the ECMA-262 meaning of `.` (any character but a line
/// terminator) and `\s` (Unicode white space and line terminators).
///
/// RE2 matches in time linear in the input, so a hostile pattern cannot hang
/// the node; the price is that it cannot run lookaround or backreferences. A
/// pattern using them is well-formed ECMA-262 (the `regex` format accepts it)
/// but cannot be compiled for matching.

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace re2 {
class RE2;
} // namespace re2

namespace omniva::contracts {

/// An ECMA-262 pattern translated into RE2 syntax, or why it cannot be.
struct ecma_translation {
  /// The pattern in RE2 syntax. Where the original uses a construct RE2
  /// cannot run, a construct of the same syntactic role stands in (a
  /// lookaround becomes a group, a backreference an empty group), so that
  /// RE2 can still judge the rest of the pattern's form.
  std::string re2_pattern;
  /// Why the pattern is not well-formed ECMA-262, as a phrase ("an unclosed
  /// group"); empty when it is well formed.
  std::string malformed;
  /// Why RE2 cannot run the pattern with its ECMA-262 meaning (lookaround, a
  /// backreference, a count above 1000), as a phrase; empty when it can.
  std::string unsupported;

  /// Whether the pattern is well-formed ECMA-262 (as far as the translator
  /// reads it; RE2 judges the rest, such as `[z-a]`).
  bool well_formed() const noexcept {
    return malformed.empty();
  }

  /// Whether `re2_pattern` means what the original means.
  bool runnable() const noexcept {
    return malformed.empty() && unsupported.empty();
  }
};

/// Translates the ECMA-262 pattern `pattern` into RE2 syntax (see the file
/// comment). Never throws except `std::bad_alloc`.
[[nodiscard]] ecma_translation translate_ecma_regex(std::string_view pattern);

/// Returns whether `pattern` is a well-formed ECMA-262 regular expression:
/// the JSON Schema `regex` format. Lookaround and backreferences count as
/// well formed, and so do counts beyond RE2's limits.
[[nodiscard]] bool is_ecma_regex(std::string_view pattern);

namespace detail {

/// A pattern of the shape schemas use most (`^[a-z_]+$`, `^\d+\.\d+$`,
/// `^[A-Za-z0-9_-]{11}$`): anchored at both ends, a sequence of ASCII
/// classes each with a count range, where a class with a variable count is
/// disjoint from the next one, so a greedy scan decides the match exactly,
/// without backtracking and without RE2's per-call overhead.
struct anchored_class_sequence {
  /// One class and how often it repeats.
  struct step {
    /// The ASCII characters of the class.
    std::array<bool, 128> chars{};
    /// The least number of repetitions.
    size_t min = 1;
    /// The most; SIZE_MAX for no limit.
    size_t max = 1;
  };
  /// The classes, in order.
  std::vector<step> steps;

  /// Returns whether the whole of `s` matches.
  bool matches(std::string_view s) const noexcept {
    size_t pos = 0;
    for (auto& st : steps) {
      size_t n = 0;
      while (n < st.max && pos < s.size()) {
        auto c = static_cast<unsigned char>(s[pos]);
        if (c >= 128 || !st.chars[c])
          break;
        ++pos;
        ++n;
      }
      if (n < st.min)
        return false;
    }
    return pos == s.size();
  }
};

/// Returns the anchored class sequence `pattern` (well-formed ECMA-262) is,
/// nullopt when it has another shape.
std::optional<anchored_class_sequence> make_anchored_class_sequence(std::string_view pattern);

} // namespace detail

/// An ECMA-262 pattern compiled for searching. Immutable once compiled and
/// safe to share between threads.
class ecma_regex {
public:
  /// Compiles `pattern`; nullopt when it is malformed or RE2 cannot run it,
  /// with `why` set to a phrase that follows "the pattern" ("is not an
  /// ECMA-262 regular expression: an unclosed group").
  [[nodiscard]] static std::optional<ecma_regex> compile(std::string_view pattern,
                                                         std::string& why);

  /// Moves the compiled pattern; `other` is left empty (not to be searched).
  ecma_regex(ecma_regex&& other) noexcept;
  /// Moves the compiled pattern; `other` is left empty (not to be searched).
  ecma_regex& operator=(ecma_regex&& other) noexcept;
  /// Releases the RE2 program.
  ~ecma_regex();

  /// Returns whether `text` (UTF-8) contains a match anywhere: the pattern is
  /// not implicitly anchored, as JSON Schema's `pattern` is not.
  bool search(std::string_view text) const noexcept {
    if (simple_)
      return simple_->matches(text);
    return search_re2(text);
  }

  /// The pattern as written, in ECMA-262 syntax.
  const std::string& source() const noexcept {
    return source_;
  }

private:
  /// An empty pattern; only `compile` makes a usable one.
  ecma_regex() = default;

  /// `search` for patterns the simple matcher does not take.
  bool search_re2(std::string_view text) const noexcept;

  /// The pattern as written.
  std::string source_;
  /// The translated pattern, compiled (always set, also when `simple_` is).
  std::unique_ptr<const re2::RE2> re_;
  /// Set when the pattern is simple enough to match without RE2.
  std::optional<detail::anchored_class_sequence> simple_;
};

} // namespace omniva::contracts
