#include "contracts/ids.hpp"

#include "contracts/calendar.hpp"
#include "contracts/hex.hpp"

#include <openssl/rand.h>

#include <array>
#include <cstdio>
#include <random>

namespace omniva::contracts {

namespace {

using bytes16 = std::array<uint8_t, 16>;

/// Stamps version 4 and the RFC 4122 variant onto 16 random bytes and
/// writes them in canonical form.
std::string format_uuid_v4(bytes16 b) {
  b[6] = static_cast<uint8_t>((b[6] & 0x0F) | 0x40);
  b[8] = static_cast<uint8_t>((b[8] & 0x3F) | 0x80);
  std::string result = to_hex(b);
  result.reserve(36);
  // 8-4-4-4-12: dashes from the back, so that earlier positions stay put.
  for (size_t at : {20, 16, 12, 8})
    result.insert(at, 1, '-');
  return result;
}

/// One step of splitmix64 (Steele, Lea, Flood 2014): the output for state `z`.
constexpr uint64_t splitmix64_mix(uint64_t z) noexcept {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

constexpr uint64_t splitmix64_gamma = 0x9E3779B97F4A7C15ULL;

/// Reads exactly `n` decimal digits at `pos`; advances `pos`.
bool read_digits(std::string_view text, size_t& pos, size_t n,
                 int& out) noexcept {
  if (pos > text.size() || text.size() - pos < n)
    return false;
  int value = 0;
  for (size_t i = 0; i < n; ++i) {
    char c = text[pos + i];
    if (c < '0' || c > '9')
      return false;
    value = value * 10 + (c - '0');
  }
  out = value;
  pos += n;
  return true;
}

bool expect(std::string_view text, size_t& pos, char c) noexcept {
  if (pos >= text.size() || text[pos] != c)
    return false;
  ++pos;
  return true;
}

} // namespace

// -- identifiers ---------------------------------------------------------------

id_source::~id_source() = default;

std::string random_id_source::next_uuid() {
  bytes16 b;
  if (RAND_bytes(b.data(), static_cast<int>(b.size())) != 1) {
    thread_local std::random_device device;
    for (size_t i = 0; i < b.size(); i += 4) {
      auto r = device();
      for (size_t j = 0; j < 4; ++j)
        b[i + j] = static_cast<uint8_t>(r >> (8 * j));
    }
  }
  return format_uuid_v4(b);
}

std::string seeded_id_source::next_uuid() {
  // Reserve two steps of the sequence at once so that concurrent callers
  // never share a step.
  auto base = state_.fetch_add(2 * splitmix64_gamma, std::memory_order_relaxed);
  uint64_t hi = splitmix64_mix(base + splitmix64_gamma);
  uint64_t lo = splitmix64_mix(base + 2 * splitmix64_gamma);
  bytes16 b;
  for (size_t i = 0; i < 8; ++i) {
    b[i] = static_cast<uint8_t>(hi >> (56 - 8 * i));
    b[8 + i] = static_cast<uint8_t>(lo >> (56 - 8 * i));
  }
  return format_uuid_v4(b);
}

bool is_uuid(std::string_view text) noexcept {
  if (text.size() != 36)
    return false;
  for (size_t i = 0; i < text.size(); ++i) {
    bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? text[i] != '-' : !is_hex_digit(text[i]))
      return false;
  }
  return true;
}

bool is_uuid_v4(std::string_view text) noexcept {
  if (!is_uuid(text) || text[14] != '4')
    return false;
  switch (text[19]) {
    case '8':
    case '9':
    case 'a':
    case 'b':
    case 'A':
    case 'B':
      return true;
    default:
      return false;
  }
}

// -- time ----------------------------------------------------------------------

clock_source::~clock_source() = default;

timestamp system_clock::now() {
  return std::chrono::floor<std::chrono::milliseconds>(
    std::chrono::system_clock::now());
}

timestamp steady_clock_source::now() {
  auto since = std::chrono::steady_clock::now().time_since_epoch();
  return timestamp{std::chrono::floor<std::chrono::milliseconds>(since)};
}

timestamp manual_clock::now() {
  return timestamp{std::chrono::milliseconds{now_.load()}};
}

void manual_clock::set(timestamp t) noexcept {
  now_.store(t.time_since_epoch().count());
}

timestamp manual_clock::advance(std::chrono::milliseconds d) noexcept {
  auto ms = now_.fetch_add(d.count()) + d.count();
  return timestamp{std::chrono::milliseconds{ms}};
}

std::string format_timestamp(timestamp t) {
  using namespace std::chrono;
  // Clamp to what four-digit years can say.
  constexpr auto lowest = sys_days{year{0} / January / 1};
  constexpr timestamp highest = sys_days{year{9999} / December / 31} + days{1}
                                - milliseconds{1};
  if (t < lowest)
    t = timestamp{lowest};
  else if (t > highest)
    t = highest;
  auto midnight = floor<days>(t);
  year_month_day ymd{midnight};
  hh_mm_ss<milliseconds> tod{t - midnight};
  // Fixed-width digits written directly: this runs for every packet and
  // row Zenith writes, and snprintf's format parsing showed in profiles.
  std::string out(24, '0');
  auto put = [&](size_t at, int width, int value) {
    for (int i = width - 1; i >= 0; --i, value /= 10)
      out[at + static_cast<size_t>(i)] = static_cast<char>('0' + value % 10);
  };
  put(0, 4, static_cast<int>(ymd.year()));
  out[4] = '-';
  put(5, 2, static_cast<int>(static_cast<unsigned>(ymd.month())));
  out[7] = '-';
  put(8, 2, static_cast<int>(static_cast<unsigned>(ymd.day())));
  out[10] = 'T';
  put(11, 2, static_cast<int>(tod.hours().count()));
  out[13] = ':';
  put(14, 2, static_cast<int>(tod.minutes().count()));
  out[16] = ':';
  put(17, 2, static_cast<int>(tod.seconds().count()));
  out[19] = '.';
  put(20, 3, static_cast<int>(tod.subseconds().count()));
  out[23] = 'Z';
  return out;
}

std::optional<timestamp> parse_timestamp(std::string_view text) noexcept {
  using namespace std::chrono;
  auto date = read_full_date(text);
  if (!date)
    return std::nullopt;
  size_t pos = 10;
  int h = 0, mi = 0, s = 0;
  if (pos >= text.size() || (text[pos] != 'T' && text[pos] != 't'))
    return std::nullopt;
  ++pos;
  if (!read_digits(text, pos, 2, h) || !expect(text, pos, ':')
      || !read_digits(text, pos, 2, mi) || !expect(text, pos, ':')
      || !read_digits(text, pos, 2, s))
    return std::nullopt;
  if (h > 23 || mi > 59 || s > 60)
    return std::nullopt;
  int64_t millis = 0;
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    size_t first = pos;
    int64_t scale = 100;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
      millis += (text[pos] - '0') * scale;
      scale /= 10;
      ++pos;
    }
    if (pos == first)
      return std::nullopt;
  }
  int offset_minutes = 0;
  if (pos >= text.size())
    return std::nullopt;
  if (text[pos] == 'Z' || text[pos] == 'z') {
    ++pos;
  } else if (text[pos] == '+' || text[pos] == '-') {
    int sign = text[pos] == '-' ? -1 : 1;
    ++pos;
    int oh = 0, om = 0;
    if (!read_digits(text, pos, 2, oh) || !expect(text, pos, ':')
        || !read_digits(text, pos, 2, om) || oh > 23 || om > 59)
      return std::nullopt;
    offset_minutes = sign * (oh * 60 + om);
  } else {
    return std::nullopt;
  }
  if (pos != text.size())
    return std::nullopt;
  auto local = timestamp{sys_days{*date}} + hours{h} + minutes{mi} + seconds{s}
               + milliseconds{millis};
  return local - minutes{offset_minutes};
}

} // namespace omniva::contracts
