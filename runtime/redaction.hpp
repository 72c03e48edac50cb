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

/// Rewrites the file at `path` with every occurrence of `values` replaced
/// by "***", streaming (logs may be large; a value split across two reads
/// is still found). A file holding no secret is left untouched; a file that
/// cannot be read or rewritten is left as it is.
void redact_file(const std::string& path, const std::vector<std::string>& values);

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
