#pragma once

/// @file
/// Hexadecimal digits: the one decoder of a digit and the one encoder of bytes.
///
/// Digests, percent-escapes, `\x`/`\u` escapes in patterns and UUIDs all read
/// hex digits; they read them here, so "is this a hex digit" has one answer.
/// Header-only: the digit decoder runs inside scanners on hot paths.

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace omniva::contracts {

/// Returns the value of hex digit `c` (0-15, either case); -1 when `c` is none.
constexpr int hex_digit_value(char c) noexcept {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

/// Returns whether `c` is an ASCII hex digit, in either case.
constexpr bool is_hex_digit(char c) noexcept {
  return hex_digit_value(c) >= 0;
}

/// Returns `bytes` as lowercase hex digits, two per byte.
///
/// A `digest` (`std::array<uint8_t, 32>`) converts to the span, so
/// `to_hex(sha256(x))` is the packet id form.
inline std::string to_hex(std::span<const uint8_t> bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out(2 * bytes.size(), '0');
  for (size_t i = 0; i < bytes.size(); ++i) {
    out[2 * i] = digits[bytes[i] >> 4];
    out[2 * i + 1] = digits[bytes[i] & 0xF];
  }
  return out;
}

/// Decodes exactly `2 * out.size()` hex digits (either case) into `out`.
///
/// Returns false, leaving `out` unspecified, when `hex` has another length or
/// holds a character that is not a hex digit.
inline bool from_hex(std::string_view hex, std::span<uint8_t> out) noexcept {
  if (hex.size() != 2 * out.size())
    return false;
  for (size_t i = 0; i < out.size(); ++i) {
    int hi = hex_digit_value(hex[2 * i]);
    int lo = hex_digit_value(hex[2 * i + 1]);
    if (hi < 0 || lo < 0)
      return false;
    out[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return true;
}

} // namespace omniva::contracts
