#define BOOST_TEST_MODULE json_format
#include <boost/test/unit_test.hpp>

#include "contracts/json_format.hpp"

#include <initializer_list>
#include <string>
#include <string_view>

// Most cases restate the "optional/format" cases of the official
// JSON-Schema-Test-Suite (draft 2020-12) as assertions, grouped by the rule
// they show. Non-ASCII characters are written as UTF-8 bytes; a string literal
// is split after each hex escape so that following characters are not read as
// more hex digits.

using namespace std::string_view_literals;
using omniva::contracts::check_format;
using omniva::contracts::format_from_name;
using omniva::contracts::string_format;

// Enumerators have no operator<<; a failed comparison still names the test case.
BOOST_TEST_DONT_PRINT_LOG_VALUE(string_format)

namespace {

// Renders `value` with control and non-ASCII bytes escaped, for failure messages.
std::string printable(std::string_view value) {
  std::string out = "\"";
  for (char c : value) {
    auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte >= 0x7F) {
      constexpr std::string_view digits = "0123456789abcdef";
      out += "\\x";
      out += digits[byte >> 4];
      out += digits[byte & 0xF];
    } else {
      out += c;
    }
  }
  return out + "\"";
}

// Asserts that `format` accepts every value, naming each one that it rejects.
void require_valid(string_format format, std::initializer_list<std::string_view> values) {
  for (std::string_view value : values)
    BOOST_CHECK_MESSAGE(check_format(format, value), "should accept " << printable(value));
}

// Asserts that `format` rejects every value, naming each one that it accepts.
void require_invalid(string_format format, std::initializer_list<std::string_view> values) {
  for (std::string_view value : values)
    BOOST_CHECK_MESSAGE(!check_format(format, value), "should reject " << printable(value));
}

}  // namespace

BOOST_AUTO_TEST_SUITE(format_names)

BOOST_AUTO_TEST_CASE(specification_names_map_to_their_formats) {
  BOOST_TEST(format_from_name("date-time") == string_format::date_time);
  BOOST_TEST(format_from_name("date") == string_format::date);
  BOOST_TEST(format_from_name("time") == string_format::time);
  BOOST_TEST(format_from_name("duration") == string_format::duration);
  BOOST_TEST(format_from_name("email") == string_format::email);
  BOOST_TEST(format_from_name("hostname") == string_format::hostname);
  BOOST_TEST(format_from_name("ipv4") == string_format::ipv4);
  BOOST_TEST(format_from_name("ipv6") == string_format::ipv6);
  BOOST_TEST(format_from_name("uri") == string_format::uri);
  BOOST_TEST(format_from_name("uri-reference") == string_format::uri_reference);
  BOOST_TEST(format_from_name("uuid") == string_format::uuid);
  BOOST_TEST(format_from_name("json-pointer") == string_format::json_pointer);
  BOOST_TEST(format_from_name("relative-json-pointer")
             == string_format::relative_json_pointer);
  BOOST_TEST(format_from_name("regex") == string_format::regex);
}

BOOST_AUTO_TEST_CASE(other_names_are_unknown) {
  BOOST_TEST(format_from_name("idn-email") == string_format::unknown);
  BOOST_TEST(format_from_name("uri-template") == string_format::unknown);
  BOOST_TEST(format_from_name("date_time") == string_format::unknown);
  BOOST_TEST(format_from_name("Date-Time") == string_format::unknown);
  BOOST_TEST(format_from_name("") == string_format::unknown);
}

BOOST_AUTO_TEST_CASE(unknown_format_accepts_anything) {
  require_valid(string_format::unknown, {"", "anything at all", "\xff\xfe"sv, "\0"sv});
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(date_time_format)

BOOST_AUTO_TEST_CASE(accepts_rfc3339_date_times_with_any_offset_and_fraction) {
  require_valid(string_format::date_time,
                {"1963-06-19T08:30:06.283185Z", "1963-06-19T08:30:06Z",
                 "1937-01-01T12:00:27.87+00:20", "1990-12-31T15:59:50.123-08:00",
                 "1985-04-12T00:59:59.999999999999999Z", "2020-02-29T00:00:00Z"});
}

BOOST_AUTO_TEST_CASE(t_and_z_are_case_insensitive) {
  require_valid(string_format::date_time, {"1963-06-19t08:30:06.283185z"});
}

BOOST_AUTO_TEST_CASE(leap_second_is_valid_only_at_2359_utc) {
  require_valid(string_format::date_time,
                {"1998-12-31T23:59:60Z", "1998-12-31T15:59:60.123-08:00"});
  require_invalid(string_format::date_time,
                  {"1998-12-31T23:59:61Z", "1998-12-31T23:58:60Z", "1998-12-31T22:59:60Z",
                   "2016-12-31T24:59:60+01:00"});
}

BOOST_AUTO_TEST_CASE(rejects_out_of_range_fields) {
  require_invalid(string_format::date_time,
                  {"1990-02-31T15:59:59.123-08:00", "1990-12-31T24:00:00Z",
                   "1990-12-31T15:60:00Z", "1990-12-31T15:59:59-24:00",
                   "1990-12-31T10:00:00+10:60", "2021-02-29T00:00:00Z"});
}

BOOST_AUTO_TEST_CASE(rejects_malformed_offsets) {
  require_invalid(string_format::date_time,
                  {"1963-06-19T08:30:06.28123+01:00Z", "1985-04-12T23:20:50+01",
                   "1985-04-12T23:20:50", "1985-04-12T23:20:50.Z"});
}

BOOST_AUTO_TEST_CASE(rejects_other_iso8601_shapes_and_padding_errors) {
  require_invalid(string_format::date_time,
                  {"06/19/1963 08:30:06 PST", "2013-350T01:01:01", "1963-6-19T08:30:06.283185Z",
                   "1963-06-1T08:30:06.283185Z", "+11963-06-19T08:30:06.283185Z",
                   "1963-06-19 08:30:06Z", ""});
}

BOOST_AUTO_TEST_CASE(rejects_non_ascii_digits_and_trailing_whitespace) {
  require_invalid(string_format::date_time,
                  {"1963-06-1\xe0\xa7\xaa" "T00:00:00Z",  // Bengali 4 in the date
                   "1963-06-11T0\xe0\xa7\xaa" ":00:00Z",  // Bengali 4 in the time
                   "1985-04-12T23:20:50Z\n", " 1985-04-12T23:20:50Z"});
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(date_format)

BOOST_AUTO_TEST_CASE(accepts_the_last_day_of_every_month) {
  require_valid(string_format::date,
                {"2020-01-31", "2021-02-28", "2020-03-31", "2020-04-30", "2020-05-31",
                 "2020-06-30", "2020-07-31", "2020-08-31", "2020-09-30", "2020-10-31",
                 "2020-11-30", "2020-12-31"});
}

BOOST_AUTO_TEST_CASE(rejects_the_day_after_the_last_of_every_month) {
  require_invalid(string_format::date,
                  {"2020-01-32", "2020-02-30", "2020-03-32", "2020-04-31", "2020-05-32",
                   "2020-06-31", "2020-07-32", "2020-08-32", "2020-09-31", "2020-10-32",
                   "2020-11-31", "2020-12-32"});
}

BOOST_AUTO_TEST_CASE(february_29_follows_gregorian_leap_years) {
  require_valid(string_format::date, {"2020-02-29", "0400-02-29", "2000-02-29"});
  require_invalid(string_format::date, {"2021-02-29", "0100-02-29", "2100-02-29"});
}

BOOST_AUTO_TEST_CASE(accepts_any_four_digit_year) {
  require_valid(string_format::date, {"0001-01-01", "1582-10-10", "9999-12-31", "0000-01-01"});
}

BOOST_AUTO_TEST_CASE(rejects_zero_and_out_of_range_month_or_day) {
  require_invalid(string_format::date, {"2024-00-15", "1998-13-01", "2024-01-00"});
}

BOOST_AUTO_TEST_CASE(requires_exact_field_widths_and_hyphens) {
  require_invalid(string_format::date,
                  {"1998-1-20", "1998-01-1", "20-01-01", "998-01-01", "12020-01-01",
                   "2020-001-01", "2020-01-001", "2147483648-01-01", "20230328", "2020:01:01",
                   "2020.01.01", "2020 01 01", "2020-01/01", "2020--01-01", "2020-01--01",
                   "06/19/1963", "2013-350", "2023-W01", "2023-W13-2", "2022W527"});
}

BOOST_AUTO_TEST_CASE(rejects_signs_letters_and_trailing_content) {
  require_invalid(string_format::date,
                  {"", "+2020-01-01", "-2020-01-01", "YYYY-01-01", "2020-MM-01", "2020-01-DD",
                   "2020-01-0:", " 2024-01-15", "2024-01-15 ", "2020 -01-01", "2020-01-01X",
                   "2020-01-01Z", "2020-01-01 00:00:00Z", "2020-11-28T23:55:45Z",
                   "2020-01-01\0"sv});
}

BOOST_AUTO_TEST_CASE(rejects_non_ascii_digits_and_dashes) {
  require_invalid(string_format::date,
                  {"1963-06-1\xe0\xa7\xaa",               // Bengali 4
                   "2020-0\xe0\xa7\xaa" "-01",            // Bengali 4 in the month
                   "\xe0\xa7\xa8" "020-01-01",            // Bengali 2 in the year
                   "\xe0\xa7\xa8" "0-01-01",              // ten bytes, eight characters
                   "2020\xe2\x80\x93" "01\xe2\x80\x93" "01"});  // en dashes
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(time_format)

BOOST_AUTO_TEST_CASE(accepts_times_with_an_offset) {
  require_valid(string_format::time,
                {"08:30:06Z", "23:20:50.52Z", "08:30:06.283185Z", "08:30:06+00:20",
                 "08:30:06-08:00", "12:34:56-00:00", "08:30:06z", "00:00:00+23:59"});
}

BOOST_AUTO_TEST_CASE(requires_an_offset) {
  require_invalid(string_format::time, {"12:00:00", "12:00:00.52", "08:30:06 PST",
                                        "08:30:06#00:20", "01:01:01,1111"});
}

BOOST_AUTO_TEST_CASE(leap_second_is_valid_when_the_utc_time_is_2359) {
  require_valid(string_format::time,
                {"23:59:60Z", "23:59:60+00:00", "01:29:60+01:30", "23:29:60+23:30",
                 "15:59:60-08:00", "00:29:60-23:30"});
}

BOOST_AUTO_TEST_CASE(leap_second_is_invalid_at_any_other_utc_minute) {
  require_invalid(string_format::time,
                  {"22:59:60Z", "23:58:60Z", "22:59:60+00:00", "23:58:60+00:00",
                   "23:59:60+01:00", "23:59:60+00:30", "23:59:60-01:00", "23:59:60-00:30",
                   "22:59:60+01:00"});
}

BOOST_AUTO_TEST_CASE(rejects_out_of_range_fields) {
  require_invalid(string_format::time, {"24:00:00Z", "00:60:00Z", "00:00:61Z",
                                        "01:02:03+24:00", "01:02:03+00:60"});
}

BOOST_AUTO_TEST_CASE(requires_two_digit_fields) {
  require_invalid(string_format::time,
                  {"008:030:006Z", "8:3:6Z", "8:0030:6Z", "08:30:06-8:000", "ab:cd:ef",
                   "1\xe0\xa7\xa8" ":00:00Z"});  // Bengali 2
}

BOOST_AUTO_TEST_CASE(rejects_both_z_and_offset_and_a_full_date_time) {
  require_invalid(string_format::time, {"01:02:03Z+00:30", "2020-11-28T23:55:45Z", ""});
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(duration_format)

BOOST_AUTO_TEST_CASE(accepts_date_and_time_elements_in_order) {
  require_valid(string_format::duration,
                {"P4DT12H30M5S", "P4Y", "PT0S", "P0D", "P1M", "PT1M", "PT36H", "P1DT12H",
                 "P1Y2M3DT4H5M6S", "P1Y2M3D", "PT1H2M3S", "P1M2D", "PT1H30M",
                 "P10Y10M10DT10H10M10S", "P1Y2M", "PT1H2M", "PT1M2S", "P01D",
                 "P999999999999999999999999999999999999999999999999999999999999999999999999999"
                 "999D"});
}

BOOST_AUTO_TEST_CASE(weeks_stand_alone) {
  require_valid(string_format::duration, {"P2W", "P0W"});
  require_invalid(string_format::duration, {"P1Y2W", "P1WT1H", "P0Y1W", "PW", "PT1W"});
}

BOOST_AUTO_TEST_CASE(rejects_units_out_of_order_or_skipping_a_unit) {
  require_invalid(string_format::duration,
                  {"P2D1Y", "P1Y2D", "PT1H2S", "P1M1Y", "PT2S1M", "P1Y1Y"});
}

BOOST_AUTO_TEST_CASE(time_units_need_the_t_separator_and_t_needs_an_element) {
  require_invalid(string_format::duration,
                  {"PT1D", "P1D2H", "P2S", "P1YT", "PT", "P", "P1D2T3H"});
}

BOOST_AUTO_TEST_CASE(rejects_numbers_without_units_signs_and_fractions) {
  require_invalid(string_format::duration,
                  {"4DT12H30M5S", "P1", "PT0.5S", "PT0,5S", "P1e2D", "-P1D", "P-1D",
                   "P\xe0\xa7\xa8" "Y",  // Bengali 2
                   " P1D", "P1D ", "P1D\n", ""});
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(email_format)

BOOST_AUTO_TEST_CASE(accepts_dot_atom_local_parts) {
  require_valid(string_format::email,
                {"joe.bloggs@example.com", "te~st@example.com", "~test@example.com",
                 "test~@example.com", "te.s.t@example.com", "a!#$%&'*+-/=?^_`{|}~z@example.com",
                 "x@localhost"});
}

BOOST_AUTO_TEST_CASE(accepts_quoted_local_parts) {
  require_valid(string_format::email,
                {"\"joe bloggs\"@example.com", "\"joe..bloggs\"@example.com",
                 "\"joe@bloggs\"@example.com", "\"a\\\"b\"@example.com"});
}

BOOST_AUTO_TEST_CASE(accepts_address_literals) {
  require_valid(string_format::email,
                {"joe.bloggs@[127.0.0.1]", "joe.bloggs@[IPv6:::1]",
                 "joe.bloggs@[ipv6:2001:db8::1]"});
  require_invalid(string_format::email,
                  {"joe.bloggs@[127.0.0.300]", "joe.bloggs@[::1]", "joe.bloggs@[IPv6:1.2.3.4]",
                   "joe.bloggs@[IPv6\x1a::1]", "joe.bloggs@[]"});
}

BOOST_AUTO_TEST_CASE(rejects_leading_trailing_and_consecutive_dots_in_local_part) {
  require_invalid(string_format::email,
                  {".test@example.com", "test.@example.com", "te..st@example.com"});
}

BOOST_AUTO_TEST_CASE(requires_both_parts_and_a_valid_domain) {
  require_invalid(string_format::email,
                  {"2962", "@example.com", "joe.bloggs@", "joe.bloggs@invalid=domain.com",
                   "joe@-example.com", "joe@example.com.", "\"unterminated@example.com"});
}

BOOST_AUTO_TEST_CASE(rejects_lists_headers_and_unquoted_spaces) {
  require_invalid(string_format::email,
                  {"user1@oceania.org, user2@oceania.org",
                   "\"Winston Smith\" <winston.smith@recdep.minitrue> (Records Department)",
                   "joe bloggs@example.com", "j\xc3\xb6" "e@example.com"});
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(hostname_format)

BOOST_AUTO_TEST_CASE(accepts_letter_digit_hyphen_labels) {
  require_valid(string_format::hostname,
                {"www.example.com", "hostname", "h0stn4me", "1host", "hostnam3", "host-name",
                 "a--b.com", "123.456", "xn--9n2bp8q.xn--9t4b11yi5a"});
}

BOOST_AUTO_TEST_CASE(rejects_empty_labels_and_dots_at_either_end) {
  require_invalid(string_format::hostname,
                  {"", ".", ".example", "example.", "www..example.com"});
}

BOOST_AUTO_TEST_CASE(labels_cannot_start_or_end_with_a_hyphen) {
  require_invalid(string_format::hostname, {"-hostname", "hostname-", "a.-b.c", "a.b-.c"});
}

BOOST_AUTO_TEST_CASE(label_is_at_most_63_characters) {
  const std::string label63(63, 'a');
  require_valid(string_format::hostname, {label63 + ".com"});
  require_invalid(string_format::hostname, {label63 + "a.com"});
}

BOOST_AUTO_TEST_CASE(name_is_at_most_253_characters) {
  const std::string label(63, 'a');
  const std::string name253 = label + "." + label + "." + label + "." + std::string(61, 'b');
  BOOST_REQUIRE_EQUAL(name253.size(), 253U);
  require_valid(string_format::hostname, {name253});
  require_invalid(string_format::hostname, {name253 + "b"});
}

BOOST_AUTO_TEST_CASE(rejects_other_characters_and_non_ascii) {
  require_invalid(string_format::hostname,
                  {"host_name", "example.com\n", "exa mple.com",
                   "example\xef\xbc\x8e" "com",       // fullwidth full stop
                   "\xe2\x84\xaa" "elvin.example.com"});  // KELVIN SIGN
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(ipv4_format)

BOOST_AUTO_TEST_CASE(accepts_dotted_quads_from_0_to_255) {
  require_valid(string_format::ipv4, {"192.168.0.1", "0.0.0.0", "255.255.255.255", "200.0.0.0",
                                      "10.20.30.40"});
}

BOOST_AUTO_TEST_CASE(requires_exactly_four_parts) {
  require_invalid(string_format::ipv4, {"127.0.0.0.1", "127.0", "127.1", "127.0.1", "2130706433",
                                        "192.168..1", ".192.168.0.1", "192.168.0.1.", ""});
}

BOOST_AUTO_TEST_CASE(rejects_out_of_range_parts) {
  require_invalid(string_format::ipv4, {"256.256.256.256", "192.168.0.256", "1000.0.0.1"});
}

BOOST_AUTO_TEST_CASE(rejects_leading_zeros) {
  require_invalid(string_format::ipv4, {"087.10.0.1", "00.0.0.0", "1.2.3.04"});
}

BOOST_AUTO_TEST_CASE(rejects_other_notations_and_suffixes) {
  require_invalid(string_format::ipv4,
                  {"0x7f000001", "0x7f.0.0.1", "0o10.0.0.1", "1e2.0.0.1", "+1.2.3.4", "-1.2.3.4",
                   "192.168.a.1", "192.168.1.0/24", "192.168.0.1:80", "::ffff:192.168.0.1",
                   " 192.168.0.1", "192.168.0.1 ", "192.168.0.1\n", "192.168.0.1\t",
                   "192. 168.0.1", "192.168.0.1\0.evil.com"sv});
}

BOOST_AUTO_TEST_CASE(rejects_non_ascii_digits) {
  require_invalid(string_format::ipv4,
                  {"1\xe0\xa7\xa8" "7.0.0.1",  // Bengali 2
                   "\xef\xbc\x91\xef\xbc\x99\xef\xbc\x92.\xef\xbc\x91\xef\xbc\x96\xef\xbc\x98."
                   "\xef\xbc\x91.\xef\xbc\x91"});  // fullwidth digits
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(ipv6_format)

BOOST_AUTO_TEST_CASE(accepts_full_and_compressed_forms) {
  require_valid(string_format::ipv6,
                {"::1", "::abef", "::", "::42:ff:1", "d6::", "1:d6::42", "1:2:3:4:5:6:7:8",
                 "1:2:3:4:5:6:7::", "::2:3:4:5:6:7:8", "FE80::ABCD"});
}

BOOST_AUTO_TEST_CASE(accepts_an_ipv4_tail_in_the_last_32_bits) {
  require_valid(string_format::ipv6,
                {"1::d6:192.168.0.1", "1:2::192.168.0.1", "::ffff:192.168.0.1",
                 "1000:1000:1000:1000:1000:1000:255.255.255.255", "::1.2.3.4"});
  require_invalid(string_format::ipv6,
                  {"1::2:192.168.256.1", "1::2:192.168.ff.1", "1:2:3:4:1.2.3",
                   "::ffff:192.168.0.01", "100:100:100:100:100:100:255.255.255.255.255",
                   "100:100:100:100:100:100:100:255.255.255.255", "1.2.3.4::",
                   "1:2:3:4:5:6::1.2.3.4"});
}

BOOST_AUTO_TEST_CASE(groups_have_one_to_four_hex_digits) {
  require_invalid(string_format::ipv6, {"12345::", "::abcef", "::laptop"});
}

BOOST_AUTO_TEST_CASE(needs_eight_groups_or_one_double_colon) {
  require_invalid(string_format::ipv6,
                  {"1:1:1:1:1:1:1:1:1:1:1:1:1:1:1:1", "1:2:3:4:5:6:7", "1", "127.0.0.1",
                   "1::d6::42", "1:2:3:4:5:::8", ":2:3:4:5:6:7:8", "1:2:3:4:5:6:7:",
                   ":2:3:4::8", "1:2:3:4:5:6:7:8::", ""});
}

BOOST_AUTO_TEST_CASE(rejects_zone_ids_prefixes_brackets_and_whitespace) {
  require_invalid(string_format::ipv6,
                  {"fe80::a%eth1", "fe80::/64", "[::1]", "  ::1", "::1  ",
                   "1:2:3:4:5:6:7:\xe0\xa7\xaa",            // Bengali 4
                   "1:2::192.16\xe0\xa7\xaa" ".0.1"});      // Bengali 4 in the IPv4 part
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(uri_format)

BOOST_AUTO_TEST_CASE(accepts_absolute_uris_of_many_schemes) {
  require_valid(string_format::uri,
                {"http://foo.bar/?baz=qux#quux", "http://foo.com/blah_(wikipedia)_blah#cite-1",
                 "http://foo.bar/?q=Test%20URL-encoded%20stuff", "http://xn--nw2a.xn--j6w193g/",
                 "http://-.~_!$&'()*+,;=:%40:80%2f::::::@example.com", "http://223.255.255.254",
                 "ftp://ftp.is.co.za/rfc/rfc1808.txt", "http://www.ietf.org/rfc/rfc2396.txt",
                 "ldap://[2001:db8::7]/c=GB?objectClass?one", "mailto:John.Doe@example.com",
                 "news:comp.infosystems.www.servers.unix", "tel:+1-816-555-1212",
                 "urn:oasis:names:specification:docbook:dtd:xml:4.1.2",
                 "urn:uuid:2eb8aa08-aa98-11ea-b4aa-73b441d16380", "file:///etc/hosts",
                 "http://example.com:/", "http://[v1.fe80::a+en1]/", "a+b-c.d:"});
}

BOOST_AUTO_TEST_CASE(host_that_looks_like_a_bad_ipv4_is_a_reg_name) {
  require_valid(string_format::uri, {"http://087.10.0.1/", "http://999.999.999.999/"});
}

BOOST_AUTO_TEST_CASE(requires_a_scheme) {
  require_invalid(string_format::uri,
                  {"//foo.bar/?baz=qux#quux", "/abc", "abc", ":// should fail", "", "#frag"});
}

BOOST_AUTO_TEST_CASE(scheme_starts_with_a_letter_and_has_no_other_punctuation) {
  require_invalid(string_format::uri,
                  {"bar,baz:foo", "1http://example.com", "ht_tp://example.com"});
}

BOOST_AUTO_TEST_CASE(rejects_characters_outside_the_grammar) {
  require_invalid(string_format::uri,
                  {"\\\\WINDOWS\\fileshare", "http:// shouldfail.com",
                   "https://example.org/foobar\xc2\xae.txt", "https://example.org/foobar\\.txt",
                   "https://example.org/foobar\".txt", "https://example.org/foobar<>.txt",
                   "https://example.org/foobar{}.txt", "https://example.org/foobar^.txt",
                   "https://example.org/foobar`.txt", "https://example.org/foo bar.txt",
                   "https://example.org/foobar|.txt", "http://example.com/a#b#c",
                   "http://example.com/\n"});
}

BOOST_AUTO_TEST_CASE(percent_sign_needs_two_hex_digits) {
  require_invalid(string_format::uri, {"http://example.com/%6G", "http://example.com/%A",
                                       "http://example.com/%", "http://example.com/?q=%"});
}

BOOST_AUTO_TEST_CASE(authority_has_userinfo_host_and_numeric_port) {
  require_invalid(string_format::uri,
                  {"https://[@example.org/test.txt", "http://example.com:abc/path",
                   "http://a:1:2/", "http://a@b@example.com/"});
}

BOOST_AUTO_TEST_CASE(ip_literal_must_be_ipv6_or_ipvfuture) {
  require_invalid(string_format::uri,
                  {"http://[::ffff:01.2.3.4]", "http://[fe80::1%25eth0]/", "http://[1.2.3.4]/",
                   "http://[::1/", "http://[::1]x/", "http://[v1.]/", "http://[v.x]/"});
}

BOOST_AUTO_TEST_CASE(square_brackets_only_delimit_an_ip_literal) {
  require_invalid(string_format::uri, {"http:/[::1]", "http://example.com/[x]",
                                       "http://example.com/?q=[1]"});
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(uri_reference_format)

BOOST_AUTO_TEST_CASE(accepts_absolute_and_relative_references) {
  require_valid(string_format::uri_reference,
                {"http://foo.bar/?baz=qux#quux", "//foo.bar/?baz=qux#quux", "/abc", "abc",
                 "#fragment", "", "?query=1", "//", "./this:that", "a/b:c",
                 "http://087.10.0.1/", "http://999.999.999.999/", "../../x?y#z"});
}

BOOST_AUTO_TEST_CASE(colon_in_first_segment_of_a_relative_path_is_invalid) {
  require_invalid(string_format::uri_reference, {"1:b", "a b:c"});
}

BOOST_AUTO_TEST_CASE(rejects_characters_outside_the_grammar) {
  require_invalid(string_format::uri_reference,
                  {"\\\\WINDOWS\\fileshare", "#frag\\ment", "/foobar\xc2\xae.txt",
                   "https://example.org/foobar\\.txt", "/%zz", "/a\"b", "/[::1]", "a b"});
}

BOOST_AUTO_TEST_CASE(authority_rules_apply_to_network_path_references) {
  require_invalid(string_format::uri_reference,
                  {"//example.com:abc/p", "//a@b@example.com/", "//[::ffff:192.168.0.01]/p"});
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(uuid_format)

BOOST_AUTO_TEST_CASE(accepts_hex_in_any_case_and_any_version_or_variant) {
  require_valid(string_format::uuid,
                {"2EB8AA08-AA98-11EA-B4AA-73B441D16380", "2eb8aa08-aa98-11ea-b4aa-73b441d16380",
                 "2eb8aa08-AA98-11ea-B4Aa-73B441D16380", "00000000-0000-0000-0000-000000000000",
                 "98d80576-482e-427f-8434-7f86890ab222", "99c17cbb-656f-564a-940f-1a4568f03487",
                 "99c17cbb-656f-664a-940f-1a4568f03487", "99c17cbb-656f-f64a-940f-1a4568f03487",
                 "2eb8aa08-aa98-11ea-f4aa-73b441d16380"});
}

BOOST_AUTO_TEST_CASE(hyphens_are_required_in_the_8_4_4_4_12_places) {
  require_invalid(string_format::uuid,
                  {"2eb8aa08aa9811eab4aa73b441d16380", "2eb8aa08aa98-11ea-b4aa73b441d16380",
                   "2eb8-aa08-aa98-11ea-b4aa73b44-1d16380", "2eb8aa08aa9811eab4aa73b441d16380----",
                   "2eb8aa0-8aa98-11e-ab4aa7-3b441d16380", "2eb8aa08-aa98-11ea-73b441d16380"});
}

BOOST_AUTO_TEST_CASE(rejects_wrong_length_non_hex_and_wrappers) {
  require_invalid(string_format::uuid,
                  {"2eb8aa08-aa98-11ea-b4aa-73b441d1638", "2eb8aa08-aa98-11ea-b4ga-73b441d16380",
                   "urn:uuid:2eb8aa08-aa98-11ea-b4aa-73b441d16380",
                   "2eb8aa08-aa98-11ea-b4aa-73b441d16380-", "2eb8aa08-aa98-11ea-b4aa-73b441d1_380",
                   "2eb8aa08-aa98-11ea-b4aa-73b441d16380\n",
                   "{2eb8aa08-aa98-11ea-b4aa-73b441d16380}",
                   "\xe0\xa7\xa8" "eb8aa08-aa98-11ea-b4aa-73b441d16380"});  // Bengali 2
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(json_pointer_format)

BOOST_AUTO_TEST_CASE(accepts_the_rfc6901_examples) {
  require_valid(string_format::json_pointer,
                {"", "/foo", "/foo/0", "/", "/a~1b", "/c%d", "/e^f", "/g|h", "/i\\j", "/k\"l",
                 "/ ", "/m~0n"});
}

BOOST_AUTO_TEST_CASE(accepts_empty_tokens_escapes_and_any_other_character) {
  require_valid(string_format::json_pointer,
                {"/foo/bar~0/baz~1/%a", "/foo//bar", "/foo/bar/", "/foo/-", "/foo/-/bar",
                 "/~1~0~0~1~1", "/~1.1", "/~0.1", "/foo/bar/\xf0\x9f\x98\x8e",
                 "/foo\0bar\n\tbaz"sv});
}

BOOST_AUTO_TEST_CASE(tilde_must_be_followed_by_0_or_1) {
  require_invalid(string_format::json_pointer,
                  {"/foo/bar~", "/~0~", "/~0/~", "/~2", "/~-1", "/~~"});
}

BOOST_AUTO_TEST_CASE(must_be_empty_or_start_with_a_slash) {
  require_invalid(string_format::json_pointer, {"#", "#/", "#a", "a", "0", "a/a"});
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(relative_json_pointer_format)

BOOST_AUTO_TEST_CASE(accepts_an_integer_followed_by_a_pointer_or_hash) {
  require_valid(string_format::relative_json_pointer,
                {"1", "0/foo/bar", "2/0/baz/1/zip", "0#", "120/foo/bar", "100", "0//", "0"});
}

BOOST_AUTO_TEST_CASE(accepts_an_index_manipulation_after_the_integer) {
  require_valid(string_format::relative_json_pointer, {"0+1", "1-1/foo", "2+10#", "0-3"});
  require_invalid(string_format::relative_json_pointer,
                  {"0+0", "0+01", "0+", "0-/foo", "0+-1", "0+1+1", "0+a"});
}

BOOST_AUTO_TEST_CASE(integer_is_non_negative_without_sign_or_leading_zero) {
  require_invalid(string_format::relative_json_pointer,
                  {"/foo/bar", "-1/foo/bar", "+1/foo/bar", "01/a", "01#", "",
                   "\xd9\xa1" "/foo"});  // Arabic-Indic 1
}

BOOST_AUTO_TEST_CASE(only_a_single_hash_or_a_valid_pointer_may_follow) {
  require_invalid(string_format::relative_json_pointer,
                  {"0##", "1#/foo/bar", "0/~2", "0/foo/bar~", "1\n", "1a"});
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(regex_format)

BOOST_AUTO_TEST_CASE(accepts_ordinary_patterns) {
  require_valid(string_format::regex,
                {"([abc])+\\s+$", "^[a-z0-9_-]+$", "^\\d{3}-\\d{4}$", "a|b|", "", "\\w+@\\w+\\.com",
                 "[[:alpha:]", "a{2}?", "a*?b+?c??", "\\/", "\\0", "\\x41\\t\\n\\v\\f\\r",
                 "\\p{L}\\P{Lu}", "\\p{Script=Greek}", "[\\d\\s-]", "caf\xc3\xa9"});
}

BOOST_AUTO_TEST_CASE(accepts_ecma_constructs_re2_cannot_run) {
  require_valid(string_format::regex,
                {"(?<name>x)", "(?<n>a)\\k<n>", "(?<=a+)b", "(?<!a)b", "(?=x)y", "(?!x)y",
                 "(a)\\1", "[]", "[^]", "\\cA", "[\\b]", "\\u00e9", "\\u{1F600}",
                 "\\uD83D\\uDE00", "(?i:abc)", "(?i-m:abc)", "a{2000}", "(?:a{1000}){1000}"});
}

BOOST_AUTO_TEST_CASE(rejects_unbalanced_patterns) {
  require_invalid(string_format::regex, {"^(abc]", "abc)", "(abc", "[abc", "\\"});
}

BOOST_AUTO_TEST_CASE(rejects_quantifiers_with_nothing_to_repeat) {
  require_invalid(string_format::regex,
                  {"*a", "a**", "a*+", "+", "?", "{1}", "a|*", "(*)", "^*", "(?=a)*", "a{2}{3}"});
}

BOOST_AUTO_TEST_CASE(rejects_malformed_counts_and_lone_brackets) {
  require_invalid(string_format::regex,
                  {"a{2,1}", "a{", "a{1", "a{,5}", "]", "}", "[z-a]", "[[:alpha:]]"});
}

BOOST_AUTO_TEST_CASE(rejects_escapes_that_are_not_ecma262) {
  require_invalid(string_format::regex,
                  {"\\a", "\\A", "\\z", "\\Q.\\E", "\\e", "\\c1", "\\x4", "\\u12", "\\u{110000}",
                   "\\pL", "\\p{Nonsense}", "\\-", "[\\B]", "\\01", "[\\1]"});
}

BOOST_AUTO_TEST_CASE(rejects_perl_and_python_group_syntax) {
  require_invalid(string_format::regex,
                  {"(?P<name>x)", "(?P<n>a)(?P=n)", "(?#comment)a", "(?i)abc", "(?ims)abc",
                   "(?ii:a)", "(?-:a)", "(?>a)"});
}

BOOST_AUTO_TEST_CASE(backreferences_must_name_an_existing_group) {
  require_invalid(string_format::regex,
                  {"(a)\\2", "\\1", "\\k<missing>", "(?<n>a)\\k<m>", "(?<n>a)(?<n>b)", "(?<>a)",
                   "(?<1a>x)"});
}

BOOST_AUTO_TEST_SUITE_END()
