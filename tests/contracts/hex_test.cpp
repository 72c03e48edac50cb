#define BOOST_TEST_MODULE hex
#include <boost/test/unit_test.hpp>

// The one hex codec: digits in either case decode, bytes encode as lowercase
// pairs, and what one writes the other reads back.

#include "contracts/hex.hpp"
#include "contracts/packet.hpp"

#include <array>
#include <cstdint>
#include <string>
#include <vector>

using namespace omniva::contracts;

BOOST_AUTO_TEST_CASE(every_hex_digit_has_its_value_in_either_case) {
  const std::string lower = "0123456789abcdef";
  const std::string upper = "0123456789ABCDEF";
  for (int v = 0; v < 16; ++v) {
    BOOST_TEST(hex_digit_value(lower[static_cast<size_t>(v)]) == v);
    BOOST_TEST(hex_digit_value(upper[static_cast<size_t>(v)]) == v);
  }
}

BOOST_AUTO_TEST_CASE(no_other_byte_is_a_hex_digit) {
  const std::string digits = "0123456789abcdefABCDEF";
  for (int c = 0; c < 256; ++c) {
    auto ch = static_cast<char>(c);
    bool listed = digits.find(ch) != std::string::npos;
    BOOST_CHECK_MESSAGE(is_hex_digit(ch) == listed, "byte " << c);
    if (!listed)
      BOOST_CHECK_EQUAL(hex_digit_value(ch), -1);
  }
}

BOOST_AUTO_TEST_CASE(bytes_encode_as_lowercase_pairs) {
  const std::vector<uint8_t> bytes{0x00, 0x0f, 0xa0, 0xff, 0x7e};
  BOOST_TEST(to_hex(bytes) == "000fa0ff7e");
  BOOST_TEST(to_hex(std::vector<uint8_t>{}) == "");
}

BOOST_AUTO_TEST_CASE(every_byte_value_round_trips) {
  std::array<uint8_t, 256> all{};
  for (size_t i = 0; i < all.size(); ++i)
    all[i] = static_cast<uint8_t>(i);
  auto text = to_hex(all);
  BOOST_TEST(text.size() == 512u);
  std::array<uint8_t, 256> back{};
  BOOST_REQUIRE(from_hex(text, back));
  BOOST_TEST(back == all);
}

BOOST_AUTO_TEST_CASE(uppercase_digits_decode_too) {
  std::array<uint8_t, 2> out{};
  BOOST_REQUIRE(from_hex("BeEF", out));
  BOOST_TEST(out[0] == 0xbe);
  BOOST_TEST(out[1] == 0xef);
}

BOOST_AUTO_TEST_CASE(a_wrong_length_or_a_non_digit_is_refused) {
  std::array<uint8_t, 2> out{};
  BOOST_TEST(!from_hex("abc", out));
  BOOST_TEST(!from_hex("abcdef", out));
  BOOST_TEST(!from_hex("abcg", out));
  BOOST_TEST(!from_hex("ab c", out));
}

BOOST_AUTO_TEST_CASE(a_digest_is_64_hex_digits_and_reads_back) {
  // `to_hex` of a digest is the packet id form; `digest_from_hex` its inverse.
  auto d = sha256("abc");
  auto text = to_hex(d);
  BOOST_TEST(text == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  auto back = digest_from_hex(text);
  BOOST_REQUIRE(back);
  BOOST_TEST((*back == d));
}
