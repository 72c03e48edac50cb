#pragma once

// The module a newcomer starts from (`omniva module init NAME`): a folder
// holding a contract, a program that reads its input manifest and writes
// its outputs and output manifest, a sample input and a README. What it
// writes passes `omniva contract check` and runs (`omniva module run`, a
// node) as it is.
//
// The module counts the words and lines of a text file (ASSET input `text`,
// text/plain) into a JSON report (output `report`, application/json, with an
// inline JSON Schema), and fails — one line on stderr, exit status 1, which
// the runtime reports as `exit_code` quoting that line — when the text has
// fewer words than the VALUE input `min_words` (int, 0 to 1,000,000, default
// 1). In Python (`main.py`, standard library only) or in POSIX sh
// (`main.sh`: wc, tr, printf; python3 reads the manifest's JSON, since sh
// has no JSON parser); both write the same report for the same text.

#include "contracts/error_code.hpp"

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace omniva::runtime {

/// The language of a module's program.
enum class module_language {
  /// `main.py`, run as `python3 main.py`.
  python,
  /// `main.sh`, run as `sh main.sh`.
  shell,
};

/// Returns "python" or "shell".
std::string_view to_string(module_language x) noexcept;

/// Parses "python" or "shell"; nullopt for anything else.
std::optional<module_language>
module_language_from_string(std::string_view name) noexcept;

/// One file of a new module folder.
struct module_file {
  /// Relative to the module folder ("sample/text.txt").
  std::string path;
  /// The whole content.
  std::string content;
};

/// The files of a new module, or why there are none.
struct module_template {
  /// The module's ref, `<name>@1`.
  std::string ref;
  /// module.json, the program, README.md, sample/text.txt.
  std::vector<module_file> files;
  /// What is wrong with the name: the contract's own check of it
  /// (`invalid_ref` at "/name": lowercase letters, digits, '-', '_' and
  /// '.', starting with a letter). Empty when `files` is set.
  std::vector<contracts::problem> problems;

  explicit operator bool() const noexcept {
    return problems.empty();
  }
};

/// Returns the files of module `name` (version 1) with its program in
/// `language`; the contract is checked as `omniva contract check` checks
/// it, so a name the contract refuses gives its problems and no files.
/// Pure.
module_template make_module_template(std::string_view name,
                                     module_language language);

/// Writes `t`'s files into `dir`, which must not exist or be an empty
/// folder (created with its parents when missing). Returns the problem,
/// none on success: `invalid_argument` (`dir` is a file, or a folder that
/// is not empty: nothing is written into it), `io_error` (a folder or file
/// that cannot be written; what was written stays).
std::optional<contracts::problem> write_module_template(const module_template& t,
                                                        const std::filesystem::path& dir);

} // namespace omniva::runtime
