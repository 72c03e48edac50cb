#include "contracts/ecma_regex.hpp"

#include "contracts/hex.hpp"

#include <re2/re2.h>

#include <algorithm>
#include <climits>
#include <cstdint>

namespace omniva::contracts {

namespace {

constexpr bool is_ascii_digit(char c) noexcept {
  return c >= '0' && c <= '9';
}

constexpr bool is_ascii_alpha(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

// ECMA-262 `\s`: WhiteSpace and LineTerminator (tab, LF, VT, FF, CR, space,
// NBSP, the Zs separators, LS, PS, ZWNBSP), as the body of an RE2 class. RE2's
// own `\s` is ASCII only and leaves out VT.
constexpr std::string_view white_space_ranges
  = "\\x09-\\x0D\\x20\\x{A0}\\x{1680}\\x{2000}-\\x{200A}\\x{2028}\\x{2029}"
    "\\x{202F}\\x{205F}\\x{3000}\\x{FEFF}";

// ECMA-262 `\S`: every code point the ranges above leave out. Written out
// rather than negated so that it can stand inside another class (`[\S-]`).
constexpr std::string_view non_white_space_ranges
  = "\\x00-\\x08\\x0E-\\x1F\\x21-\\x{9F}\\x{A1}-\\x{167F}\\x{1681}-\\x{1FFF}"
    "\\x{200B}-\\x{2027}\\x{202A}-\\x{202E}\\x{2030}-\\x{205E}\\x{2060}-\\x{2FFF}"
    "\\x{3001}-\\x{FEFE}\\x{FF00}-\\x{10FFFF}";

// ECMA-262 `.` without the `s` flag: anything but a LineTerminator (RE2's `.`
// stops at LF only).
constexpr std::string_view any_but_line_terminator = "[^\\n\\r\\x{2028}\\x{2029}]";

// `.` under the `s` flag, and `[^]`.
constexpr std::string_view any_code_point = "[\\x00-\\x{10FFFF}]";

// RE2 repeats an atom at most this many times; ECMA-262 has no limit.
constexpr unsigned long re2_repeat_limit = 1000;

// Long General_Category names (Unicode PropertyValueAliases) that ECMA-262
// accepts and RE2 knows only by their short names.
constexpr std::pair<std::string_view, std::string_view> category_long_names[] = {
  {"Letter", "L"},
  {"Lowercase_Letter", "Ll"},
  {"Uppercase_Letter", "Lu"},
  {"Titlecase_Letter", "Lt"},
  {"Modifier_Letter", "Lm"},
  {"Other_Letter", "Lo"},
  {"Mark", "M"},
  {"Combining_Mark", "M"},
  {"Nonspacing_Mark", "Mn"},
  {"Spacing_Mark", "Mc"},
  {"Enclosing_Mark", "Me"},
  {"Number", "N"},
  {"Decimal_Number", "Nd"},
  {"digit", "Nd"},
  {"Letter_Number", "Nl"},
  {"Other_Number", "No"},
  {"Punctuation", "P"},
  {"punct", "P"},
  {"Connector_Punctuation", "Pc"},
  {"Dash_Punctuation", "Pd"},
  {"Open_Punctuation", "Ps"},
  {"Close_Punctuation", "Pe"},
  {"Initial_Punctuation", "Pi"},
  {"Final_Punctuation", "Pf"},
  {"Other_Punctuation", "Po"},
  {"Symbol", "S"},
  {"Math_Symbol", "Sm"},
  {"Currency_Symbol", "Sc"},
  {"Modifier_Symbol", "Sk"},
  {"Other_Symbol", "So"},
  {"Separator", "Z"},
  {"Space_Separator", "Zs"},
  {"Line_Separator", "Zl"},
  {"Paragraph_Separator", "Zp"},
  {"Other", "C"},
  {"Control", "Cc"},
  {"cntrl", "Cc"},
  {"Format", "Cf"},
  {"Surrogate", "Cs"},
  {"Private_Use", "Co"},
};

// Reads the pattern with the `u` flag's grammar and writes the RE2 pattern.
// Returns false at the first place the grammar is broken, with the reason in
// `malformed_`; constructs RE2 cannot run are noted in `unsupported_` and
// replaced by something with the same syntactic role, so that the rest is
// still read (and RE2 can still judge it).
class translator {
public:
  explicit translator(std::string_view pattern) : pattern_(pattern) {
    out_.reserve(pattern.size() + 16);
  }

  ecma_translation run() && {
    ecma_translation result;
    if (!translate())
      result.malformed = malformed_.empty() ? "it breaks the ECMA-262 grammar"
                                            : std::move(malformed_);
    result.unsupported = std::move(unsupported_);
    result.re2_pattern = std::move(out_);
    return result;
  }

private:
  // What the previous token was, to reject quantifiers with nothing to repeat.
  enum class token { none, atom, assertion, quantifier, lazy_quantifier };

  // One open group.
  struct group {
    // A lookaround: it closes as an assertion, which cannot be quantified.
    bool is_assertion = false;
    // Whether `.` matched line terminators outside the group.
    bool dot_all_outside = false;
  };

  bool fail(std::string why) {
    malformed_ = std::move(why);
    return false;
  }

  void cannot_run(std::string_view why) {
    if (unsupported_.empty())
      unsupported_ = why;
  }

  bool translate() {
    while (pos_ < pattern_.size()) {
      char c = pattern_[pos_];
      switch (c) {
        case '\\':
          ++pos_;
          if (!translate_escape(false))
            return false;
          break;
        case '(':
          if (!open_group())
            return false;
          break;
        case ')':
          if (groups_.empty())
            return fail("a ')' closes no group");
          last_ = groups_.back().is_assertion ? token::assertion : token::atom;
          dot_all_ = groups_.back().dot_all_outside;
          groups_.pop_back();
          out_ += ')';
          ++pos_;
          break;
        case '[':
          if (!translate_class())
            return false;
          last_ = token::atom;
          break;
        case '*':
        case '+':
        case '?':
          if (!quantify(c == '?'))
            return fail(std::string{"the quantifier '"} + c + "' has nothing to repeat");
          out_ += c;
          ++pos_;
          break;
        case '{':
          if (!quantify(false))
            return fail("the count '{' has nothing to repeat");
          if (!translate_braces())
            return false;
          break;
        case '}':
        case ']':
          // Lone brackets are literals in Annex B only, not in the `u` grammar.
          return fail(std::string{"a lone '"} + c + "' (write \\" + c + " for the character)");
        case '^':
        case '$':
          out_ += c;
          ++pos_;
          last_ = token::assertion;
          break;
        case '|':
          out_ += c;
          ++pos_;
          last_ = token::none;
          break;
        case '.':
          out_ += dot_all_ ? any_code_point : any_but_line_terminator;
          ++pos_;
          last_ = token::atom;
          break;
        default:
          out_ += c;
          ++pos_;
          last_ = token::atom;
          break;
      }
    }
    if (!groups_.empty())
      return fail("a group is not closed");
    if (max_backreference_ > capturing_groups_)
      return fail("a backreference names group " + std::to_string(max_backreference_)
                  + " but there are " + std::to_string(capturing_groups_));
    for (size_t i = 0; i < group_names_.size(); ++i)
      for (size_t j = i + 1; j < group_names_.size(); ++j)
        if (group_names_[i] == group_names_[j])
          return fail("the group name '" + std::string{group_names_[i]} + "' is used twice");
    for (std::string_view reference : named_references_)
      if (std::find(group_names_.begin(), group_names_.end(), reference)
          == group_names_.end())
        return fail("\\k<" + std::string{reference} + "> names no group");
    return true;
  }

  bool quantify(bool question_mark) {
    if (last_ == token::atom) {
      last_ = token::quantifier;
      return true;
    }
    if (question_mark && last_ == token::quantifier) {
      last_ = token::lazy_quantifier;
      return true;
    }
    return false;
  }

  bool starts_with(std::string_view prefix) const noexcept {
    return pattern_.substr(pos_).starts_with(prefix);
  }

  bool open_group() {
    if (starts_with("(?=") || starts_with("(?!") || starts_with("(?<=")
        || starts_with("(?<!")) {
      pos_ += starts_with("(?<") ? 4 : 3;
      cannot_run("a lookahead or lookbehind assertion");
      return push_group("(?:", true, dot_all_);
    }
    if (starts_with("(?<")) {
      pos_ += 3;
      std::string_view name = read_group_name('>');
      if (name.empty())
        return fail("a group name is not an identifier followed by '>'");
      group_names_.push_back(name);
      ++capturing_groups_;
      // RE2 restricts names to word characters, so the group stays unnamed and
      // names are checked here instead; nothing refers to a group by name in
      // RE2 (backreferences cannot run anyway).
      return push_group("(", false, dot_all_);
    }
    if (starts_with("(?")) {
      pos_ += 2;
      return translate_modifiers();
    }
    ++pos_;
    ++capturing_groups_;
    return push_group("(", false, dot_all_);
  }

  bool push_group(std::string_view opening, bool is_assertion, bool dot_all) {
    groups_.push_back({is_assertion, dot_all_});
    dot_all_ = dot_all;
    out_ += opening;
    last_ = token::none;
    return true;
  }

  // `(?:` or an ES2025 modifier group `(?ims-ims:`; the position is after "(?".
  // Inline flags without a colon, such as `(?i)`, are not ECMA-262; neither is
  // a flag named twice, nor `(?-:`. RE2 knows the same three flags, so they
  // are kept (`s` also decides what `.` becomes inside the group).
  bool translate_modifiers() {
    std::string added;
    std::string removed;
    unsigned seen = 0;
    bool removing = false;
    for (; pos_ < pattern_.size(); ++pos_) {
      char c = pattern_[pos_];
      if (c == ':') {
        ++pos_;
        if (removing && removed.empty() && added.empty())
          return fail("'(?-:' removes no flag");
        bool dot_all = added.find('s') != std::string::npos
                         ? true
                         : (removed.find('s') != std::string::npos ? false : dot_all_);
        std::string opening = "(?" + added;
        if (!removed.empty())
          opening += "-" + removed;
        opening += ':';
        return push_group(opening, false, dot_all);
      }
      if (c == '-' && !removing) {
        removing = true;
        continue;
      }
      size_t bit = std::string_view("ims").find(c);
      if (bit == std::string_view::npos)
        return fail("'(?' starts neither a group modifier (?ims-ims:...) nor a lookaround");
      if ((seen & (1U << bit)) != 0)
        return fail(std::string{"the flag '"} + c + "' is named twice in a group modifier");
      seen |= 1U << bit;
      (removing ? removed : added) += c;
    }
    return fail("a group modifier does not end in ':'");
  }

  // Reads a group name up to `terminator`; empty when it is not an identifier.
  // Non-ASCII bytes are accepted as identifier characters without consulting
  // Unicode ID_Start, which errs on the side of accepting.
  std::string_view read_group_name(char terminator) {
    size_t first = pos_;
    while (pos_ < pattern_.size() && pattern_[pos_] != terminator) {
      char c = pattern_[pos_];
      bool identifier = is_ascii_alpha(c) || c == '$' || c == '_'
                        || static_cast<unsigned char>(c) >= 0x80
                        || (pos_ > first && is_ascii_digit(c));
      if (!identifier)
        return {};
      ++pos_;
    }
    if (pos_ >= pattern_.size() || pos_ == first)
      return {};
    std::string_view name = pattern_.substr(first, pos_ - first);
    ++pos_; // the terminator
    return name;
  }

  // `{n}`, `{n,}` or `{n,m}`. RE2 caps counts at 1000 and ECMA-262 does not:
  // larger counts are clamped (the form stays checkable) and noted as
  // something RE2 cannot run; clamping keeps n <= m, the only other rule.
  bool translate_braces() {
    ++pos_;
    auto read_count = [this](unsigned long& value) {
      size_t first = pos_;
      value = 0;
      while (pos_ < pattern_.size() && is_ascii_digit(pattern_[pos_])) {
        value = std::min(value * 10 + static_cast<unsigned long>(pattern_[pos_] - '0'),
                         1'000'000'000UL);
        ++pos_;
      }
      return pos_ > first;
    };
    unsigned long low = 0;
    unsigned long high = 0;
    if (!read_count(low))
      return fail("a count '{' does not start with a number");
    bool has_comma = pos_ < pattern_.size() && pattern_[pos_] == ',';
    bool has_high = false;
    if (has_comma) {
      ++pos_;
      has_high = read_count(high);
    }
    if (pos_ >= pattern_.size() || pattern_[pos_] != '}')
      return fail("a count is not of the form {n}, {n,} or {n,m}");
    ++pos_;
    if (has_high && high < low)
      return fail("the count {" + std::to_string(low) + "," + std::to_string(high)
                  + "} has its bounds out of order");
    if (low > re2_repeat_limit || (has_high && high > re2_repeat_limit))
      cannot_run("a count above 1000");
    out_ += '{';
    out_ += std::to_string(std::min(low, re2_repeat_limit));
    if (has_comma)
      out_ += ',';
    if (has_high)
      out_ += std::to_string(std::min(high, re2_repeat_limit));
    out_ += '}';
    return true;
  }

  bool translate_class() {
    ++pos_;
    bool negated = pos_ < pattern_.size() && pattern_[pos_] == '^';
    if (negated)
      ++pos_;
    if (pos_ < pattern_.size() && pattern_[pos_] == ']') {
      // `[]` matches nothing and `[^]` anything; RE2 has neither spelling.
      ++pos_;
      out_ += negated ? any_code_point : "[^\\x00-\\x{10FFFF}]";
      return true;
    }
    out_ += negated ? "[^" : "[";
    while (pos_ < pattern_.size()) {
      char c = pattern_[pos_];
      if (c == ']') {
        out_ += ']';
        ++pos_;
        return true;
      }
      if (c == '\\') {
        ++pos_;
        if (!translate_escape(true))
          return false;
      } else if (c == '[') {
        // Escaped so that RE2 does not read `[:alpha:]` as a POSIX class.
        out_ += "\\[";
        ++pos_;
      } else {
        out_ += c;
        ++pos_;
      }
    }
    return fail("a character class '[' is not closed");
  }

  void append_code_point(uint32_t code_point) {
    constexpr std::string_view digits = "0123456789ABCDEF";
    out_ += "\\x{";
    bool started = false;
    for (int shift = 20; shift >= 0; shift -= 4) {
      uint32_t nibble = (code_point >> shift) & 0xF;
      started = started || nibble != 0 || shift == 0;
      if (started)
        out_ += digits[nibble];
    }
    out_ += '}';
  }

  // Reads `HHHH` or `{H...}` after `\u`; -1 when malformed. A surrogate pair
  // written as two escapes is one code point.
  long read_unicode_escape() {
    auto read_hex = [this](size_t count) -> long {
      if (pos_ + count > pattern_.size())
        return -1;
      long value = 0;
      for (size_t i = 0; i < count; ++i) {
        int digit_value = hex_digit_value(pattern_[pos_ + i]);
        if (digit_value < 0)
          return -1;
        value = value * 16 + digit_value;
      }
      pos_ += count;
      return value;
    };
    if (pos_ < pattern_.size() && pattern_[pos_] == '{') {
      ++pos_;
      size_t first = pos_;
      long value = 0;
      while (pos_ < pattern_.size() && is_hex_digit(pattern_[pos_])) {
        value = value * 16 + hex_digit_value(pattern_[pos_]);
        if (value > 0x10FFFF)
          return -1;
        ++pos_;
      }
      if (pos_ == first || pos_ >= pattern_.size() || pattern_[pos_] != '}')
        return -1;
      ++pos_;
      return value;
    }
    long value = read_hex(4);
    if (value >= 0xD800 && value <= 0xDBFF && starts_with("\\u")) {
      size_t saved = pos_;
      pos_ += 2;
      long low = read_hex(4);
      if (low >= 0xDC00 && low <= 0xDFFF)
        return 0x10000 + ((value - 0xD800) << 10) + (low - 0xDC00);
      pos_ = saved;
    }
    return value;
  }

  // The position is after the backslash.
  bool translate_escape(bool in_class) {
    if (pos_ >= pattern_.size())
      return fail("the pattern ends in a lone backslash");
    char c = pattern_[pos_++];
    switch (c) {
      case 'd':
      case 'D':
      case 'w':
      case 'W':
      case 'f':
      case 'n':
      case 'r':
      case 't':
      case 'v':
        // ASCII digits and word characters, and the control escapes, mean
        // the same in RE2.
        out_ += '\\';
        out_ += c;
        last_ = token::atom;
        return true;
      case 's':
      case 'S': {
        auto ranges = c == 's' ? white_space_ranges : non_white_space_ranges;
        if (in_class) {
          out_ += ranges;
        } else {
          out_ += '[';
          out_ += ranges;
          out_ += ']';
        }
        last_ = token::atom;
        return true;
      }
      case 'b':
      case 'B':
        if (in_class) {
          if (c == 'B')
            return fail("\\B is not allowed in a character class");
          out_ += "\\x08"; // backspace inside a class
          return true;
        }
        out_ += '\\';
        out_ += c;
        last_ = token::assertion;
        return true;
      case '0':
        if (pos_ < pattern_.size() && is_ascii_digit(pattern_[pos_]))
          return fail("\\0 followed by a digit is a legacy octal escape (Annex B only)");
        out_ += "\\x00";
        last_ = token::atom;
        return true;
      case 'c':
        if (pos_ >= pattern_.size() || !is_ascii_alpha(pattern_[pos_]))
          return fail("\\c is not followed by a letter");
        append_code_point(static_cast<uint32_t>(pattern_[pos_++]) % 32);
        last_ = token::atom;
        return true;
      case 'x':
        if (pos_ + 2 > pattern_.size() || !is_hex_digit(pattern_[pos_])
            || !is_hex_digit(pattern_[pos_ + 1]))
          return fail("\\x is not followed by two hex digits");
        out_ += "\\x";
        out_ += pattern_.substr(pos_, 2);
        pos_ += 2;
        last_ = token::atom;
        return true;
      case 'u': {
        long code_point = read_unicode_escape();
        if (code_point < 0)
          return fail("\\u is not followed by four hex digits or {code point}");
        append_code_point(static_cast<uint32_t>(code_point));
        last_ = token::atom;
        return true;
      }
      case 'p':
      case 'P':
        last_ = token::atom;
        return translate_property(c);
      case 'k': {
        if (in_class)
          return fail("\\k is not allowed in a character class");
        if (pos_ >= pattern_.size() || pattern_[pos_] != '<')
          return fail("\\k is not followed by <name>");
        ++pos_;
        std::string_view name = read_group_name('>');
        if (name.empty())
          return fail("\\k<...> does not hold a group name");
        named_references_.push_back(name);
        cannot_run("a backreference");
        out_ += "(?:)";
        last_ = token::atom;
        return true;
      }
      case '-':
        if (!in_class)
          return fail("\\- is an escape inside a character class only");
        out_ += "\\-";
        return true;
      default:
        break;
    }
    if (c >= '1' && c <= '9') {
      if (in_class)
        return fail("a backreference is not allowed in a character class");
      unsigned long number = static_cast<unsigned long>(c - '0');
      while (pos_ < pattern_.size() && is_ascii_digit(pattern_[pos_]))
        number = std::min(number * 10 + static_cast<unsigned long>(pattern_[pos_++] - '0'),
                          1'000'000UL);
      max_backreference_ = std::max(max_backreference_, number);
      cannot_run("a backreference");
      out_ += "(?:)";
      last_ = token::atom;
      return true;
    }
    if (std::string_view("^$\\.*+?()[]{}|/").find(c) != std::string_view::npos) {
      out_ += '\\';
      out_ += c;
      last_ = token::atom;
      return true;
    }
    // Identity escapes of other characters are Annex B only.
    if (static_cast<unsigned char>(c) >= 0x80)
      return fail("a backslash before a non-ASCII character is not an escape");
    return fail(std::string{"\\"} + c + " is not an ECMA-262 escape");
  }

  // `\p{Name}` or `\p{Key=Value}`; the position is after the `p`. RE2 knows
  // general categories by their short names and scripts by their names, so
  // the key is dropped, long category names become short ones, and RE2
  // decides whether the value exists.
  bool translate_property(char kind) {
    if (pos_ >= pattern_.size() || pattern_[pos_] != '{')
      return fail(std::string{"\\"} + kind + " is not followed by {property}");
    size_t close = pattern_.find('}', pos_);
    if (close == std::string_view::npos)
      return fail(std::string{"\\"} + kind + "{ is not closed");
    std::string_view body = pattern_.substr(pos_ + 1, close - pos_ - 1);
    pos_ = close + 1;
    if (body.empty())
      return fail(std::string{"\\"} + kind + "{} names no property");
    for (char c : body)
      if (!is_ascii_alpha(c) && !is_ascii_digit(c) && c != '_' && c != '=')
        return fail(std::string{"\\"} + kind + "{" + std::string{body}
                    + "} is not a property name");
    bool category = true;
    if (size_t equals = body.find('='); equals != std::string_view::npos) {
      std::string_view key = body.substr(0, equals);
      bool script = key == "Script" || key == "sc" || key == "Script_Extensions"
                    || key == "scx";
      if (!script && key != "General_Category" && key != "gc")
        return fail(std::string{"\\"} + kind + "{" + std::string{body}
                    + "} has a key other than General_Category or Script");
      category = !script;
      body.remove_prefix(equals + 1);
    }
    if (category)
      for (auto& [long_name, short_name] : category_long_names)
        if (body == long_name) {
          body = short_name;
          break;
        }
    out_ += '\\';
    out_ += kind;
    out_ += '{';
    out_ += body;
    out_ += '}';
    return true;
  }

  std::string_view pattern_;
  size_t pos_ = 0;
  std::string out_;
  token last_ = token::none;
  // Whether `.` matches line terminators here (the `s` modifier).
  bool dot_all_ = false;
  std::vector<group> groups_;
  unsigned long capturing_groups_ = 0;
  unsigned long max_backreference_ = 0;
  std::vector<std::string_view> group_names_;
  std::vector<std::string_view> named_references_;
  std::string malformed_;
  std::string unsupported_;
};

re2::RE2::Options re2_options() {
  re2::RE2::Options options;
  options.set_encoding(re2::RE2::Options::EncodingUTF8);
  options.set_log_errors(false); // a refused pattern is an answer, not a log line
  return options;
}

} // namespace

ecma_translation translate_ecma_regex(std::string_view pattern) {
  return translator{pattern}.run();
}

bool is_ecma_regex(std::string_view pattern) {
  auto translated = translate_ecma_regex(pattern);
  if (!translated.well_formed())
    return false;
  re2::RE2 compiled(translated.re2_pattern, re2_options());
  if (compiled.ok())
    return true;
  // These errors come from RE2's own size limits (nested counts, program
  // size), which ECMA-262 does not have; the pattern itself is well formed.
  return compiled.error_code() == re2::RE2::ErrorRepeatSize
         || compiled.error_code() == re2::RE2::ErrorPatternTooLarge;
}

// -- the anchored class sequence ---------------------------------------------------

namespace detail {

std::optional<anchored_class_sequence> make_anchored_class_sequence(std::string_view p) {
  if (p.size() < 2 || p.front() != '^' || p.back() != '$')
    return std::nullopt;
  p = p.substr(1, p.size() - 2);
  anchored_class_sequence out;
  // `\s` is not taken: ECMA-262's white space reaches beyond ASCII, which
  // this matcher does not read.
  auto add_escape = [](std::array<bool, 128>& set, char e) {
    auto range = [&](char a, char b) {
      for (int c = a; c <= b; ++c)
        set[static_cast<size_t>(c)] = true;
    };
    switch (e) {
      case 'd':
        range('0', '9');
        return true;
      case 'w':
        range('0', '9');
        range('a', 'z');
        range('A', 'Z');
        set['_'] = true;
        return true;
      default:
        if (is_ascii_alpha(e) || is_ascii_digit(e) || e < 0x20
            || static_cast<unsigned char>(e) >= 128)
          return false; // \s, \b, \p, \1, ... : not simple
        set[static_cast<size_t>(e)] = true;
        return true;
    }
  };
  size_t i = 0;
  while (i < p.size()) {
    anchored_class_sequence::step st;
    auto c = p[i];
    if (c == '[') {
      ++i;
      if (i < p.size() && p[i] == '^')
        return std::nullopt;
      bool closed = false;
      while (i < p.size()) {
        auto x = p[i];
        if (x == ']') {
          closed = true;
          ++i;
          break;
        }
        if (x == '\\') {
          if (i + 1 >= p.size() || !add_escape(st.chars, p[i + 1]))
            return std::nullopt;
          i += 2;
          continue;
        }
        if (static_cast<unsigned char>(x) >= 128 || x == '[')
          return std::nullopt;
        if (i + 2 < p.size() && p[i + 1] == '-' && p[i + 2] != ']') {
          auto hi = p[i + 2];
          if (hi == '\\' || static_cast<unsigned char>(hi) >= 128 || hi < x)
            return std::nullopt;
          for (int y = x; y <= hi; ++y)
            st.chars[static_cast<size_t>(y)] = true;
          i += 3;
          continue;
        }
        st.chars[static_cast<size_t>(x)] = true;
        ++i;
      }
      if (!closed)
        return std::nullopt;
    } else if (c == '\\') {
      if (i + 1 >= p.size() || !add_escape(st.chars, p[i + 1]))
        return std::nullopt;
      i += 2;
    } else if (std::string_view{"().|*+?{}^$"}.find(c) != std::string_view::npos
               || static_cast<unsigned char>(c) >= 128) {
      return std::nullopt;
    } else {
      st.chars[static_cast<size_t>(c)] = true;
      ++i;
    }
    if (i < p.size()) {
      auto q = p[i];
      if (q == '+') {
        st.max = SIZE_MAX;
        ++i;
      } else if (q == '*') {
        st.min = 0;
        st.max = SIZE_MAX;
        ++i;
      } else if (q == '?') {
        st.min = 0;
        ++i;
      } else if (q == '{') {
        auto close = p.find('}', i);
        if (close == std::string_view::npos)
          return std::nullopt;
        auto body = p.substr(i + 1, close - i - 1);
        auto comma = body.find(',');
        auto num = [](std::string_view t, size_t& v) {
          if (t.empty() || t.size() > 6)
            return false;
          v = 0;
          for (auto d : t) {
            if (d < '0' || d > '9')
              return false;
            v = v * 10 + static_cast<size_t>(d - '0');
          }
          return true;
        };
        if (comma == std::string_view::npos) {
          if (!num(body, st.min))
            return std::nullopt;
          st.max = st.min;
        } else {
          if (!num(body.substr(0, comma), st.min))
            return std::nullopt;
          auto hi = body.substr(comma + 1);
          if (hi.empty())
            st.max = SIZE_MAX;
          else if (!num(hi, st.max) || st.max < st.min)
            return std::nullopt;
        }
        i = close + 1;
      }
      if (i < p.size() && (p[i] == '?' || p[i] == '+'))
        return std::nullopt; // lazy or possessive quantifiers
    }
    out.steps.push_back(st);
  }
  // Greedy is exact only if a variable step never competes with the next.
  for (size_t k = 0; k + 1 < out.steps.size(); ++k) {
    if (out.steps[k].min == out.steps[k].max)
      continue;
    for (size_t c = 0; c < 128; ++c)
      if (out.steps[k].chars[c] && out.steps[k + 1].chars[c])
        return std::nullopt;
  }
  return out;
}

} // namespace detail

// -- ecma_regex ---------------------------------------------------------------------

ecma_regex::ecma_regex(ecma_regex&&) noexcept = default;
ecma_regex& ecma_regex::operator=(ecma_regex&&) noexcept = default;
ecma_regex::~ecma_regex() = default;

std::optional<ecma_regex> ecma_regex::compile(std::string_view pattern, std::string& why) {
  auto translated = translate_ecma_regex(pattern);
  if (!translated.well_formed()) {
    why = "is not an ECMA-262 regular expression: " + translated.malformed;
    return std::nullopt;
  }
  if (!translated.runnable()) {
    why = "uses " + translated.unsupported
          + ", which RE2 cannot run (it matches in time linear in the input)";
    return std::nullopt;
  }
  auto re = std::make_unique<const re2::RE2>(translated.re2_pattern, re2_options());
  if (!re->ok()) {
    why = "is refused by RE2: " + re->error();
    return std::nullopt;
  }
  ecma_regex result;
  result.source_.assign(pattern);
  result.re_ = std::move(re);
  result.simple_ = detail::make_anchored_class_sequence(pattern);
  return result;
}

bool ecma_regex::search_re2(std::string_view text) const noexcept {
  return re2::RE2::PartialMatch(re2::StringPiece(text.data(), text.size()), *re_);
}

} // namespace omniva::contracts
