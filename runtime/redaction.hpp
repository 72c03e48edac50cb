#pragma once

// What leaves an execution is clean: secret values never appear in a
// module's logs or in an outcome's message (they become "***"), and
// messages are printable UTF-8 on one line, since they end up in JSON,
// packets and log lines. The adapters apply both to everything they report.

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace omniva::runtime {

/// What a secret value is replaced by.
inline constexpr std::string_view redacted = "***";

/// Returns the values of `secrets` (name -> value) to redact: empty ones
/// left out, duplicates once, longest first (so that a value containing
/// another is replaced whole).
std::vector<std::string>
secret_values(const std::map<std::string, std::string>& secrets);

/// Returns `text` with every occurrence of every value of `values` (as
/// `secret_values` orders them) replaced by "***".
std::string scrub(std::string text, const std::vector<std::string>& values);

/// What became of a file given to `redact_file`.
enum class redaction {
  /// It held no secret (or there was none to look for, or no file): left
  /// as it was.
  clean,
  /// Every secret in it was replaced by "***" (the file is a new one, mode
  /// 0600).
  redacted,
  /// It could not be read or rewritten, so it may hold a secret: it was
  /// removed (or, when it could not be removed, emptied).
  withheld,
  /// It could not be redacted, removed nor emptied: it may still hold a
  /// secret.
  failed,
};

/// Returns the name of `x` ("clean", "withheld", ...).
std::string_view to_string(redaction x) noexcept;

/// Rewrites the file at `path` with every occurrence of `values` replaced
/// by "***", streaming (logs may be large; a value split across two reads
/// is still found) through a temporary file beside it (`<path>.redacting`,
/// mode 0600) renamed over it. A file holding no secret is left untouched.
/// Fails closed: a file that cannot be read, or whose redacted copy cannot
/// be written, is removed rather than kept unredacted.
redaction redact_file(const std::string& path,
                      const std::vector<std::string>& values);

/// Returns `text` with every byte sequence that is not valid UTF-8, and
/// every control character but tab, replaced by '?'.
std::string sanitize_text(std::string_view text);

/// Returns whether `text` is valid UTF-8 without control characters (tab
/// allowed): whether `sanitize_text` would leave it as it is.
bool is_clean_text(std::string_view text);

/// Returns `message` fit to report: secret values of `secrets` scrubbed,
/// then sanitized.
std::string clean_message(std::string message,
                          const std::map<std::string, std::string>& secrets);

} // namespace omniva::runtime
