#define BOOST_TEST_MODULE calendar
#include <boost/test/unit_test.hpp>

// The calendar rule of RFC 3339 dates, and that the timestamp parser and the
// `date` / `date-time` format checks both follow it.

#include "contracts/calendar.hpp"
#include "contracts/ids.hpp"
#include "contracts/json_format.hpp"

#include <array>
#include <cstdio>
#include <string>

using namespace omniva::contracts;

namespace {

std::string date_text(int year, int month, int day) {
  char buffer[16];
  std::snprintf(buffer, sizeof buffer, "%04d-%02d-%02d", year, month, day);
  return buffer;
}

} // namespace

BOOST_AUTO_TEST_CASE(february_29_exists_in_leap_years_only) {
  BOOST_TEST(is_valid_date(2024, 2, 29));  // divisible by 4
  BOOST_TEST(!is_valid_date(2023, 2, 29));
  BOOST_TEST(!is_valid_date(1900, 2, 29)); // divisible by 100, not by 400
  BOOST_TEST(is_valid_date(2000, 2, 29));  // divisible by 400
  BOOST_TEST(!is_valid_date(2024, 2, 30));
}

BOOST_AUTO_TEST_CASE(months_have_their_lengths) {
  constexpr std::array<int, 12> lengths = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  for (int month = 1; month <= 12; ++month) {
    int last = lengths[static_cast<size_t>(month - 1)];
    BOOST_CHECK_MESSAGE(is_valid_date(2023, month, last), "2023-" << month << "-" << last);
    BOOST_CHECK_MESSAGE(!is_valid_date(2023, month, last + 1),
                        "2023-" << month << "-" << last + 1);
  }
}

BOOST_AUTO_TEST_CASE(months_and_days_outside_their_ranges_are_no_dates) {
  BOOST_TEST(!is_valid_date(2024, 0, 1));
  BOOST_TEST(!is_valid_date(2024, 13, 1));
  BOOST_TEST(!is_valid_date(2024, 1, 0));
  BOOST_TEST(!is_valid_date(2024, -1, 1));
  // Month 257 would wrap around to 1 in a byte.
  BOOST_TEST(!is_valid_date(2024, 257, 1));
  BOOST_TEST(!is_valid_date(2024, 1, 288));
  BOOST_TEST(is_valid_date(0, 1, 1));
}

BOOST_AUTO_TEST_CASE(a_full_date_is_ten_ascii_characters) {
  auto d = read_full_date("2024-02-29");
  BOOST_REQUIRE(d);
  BOOST_TEST(static_cast<int>(d->year()) == 2024);
  BOOST_TEST(static_cast<unsigned>(d->month()) == 2u);
  BOOST_TEST(static_cast<unsigned>(d->day()) == 29u);
  BOOST_TEST(read_full_date("2024-02-29T00:00:00Z").has_value()); // the rest is the caller's
  BOOST_TEST(!read_full_date("2023-02-29"));
  BOOST_TEST(!read_full_date("2024-2-29"));
  BOOST_TEST(!read_full_date("2024/02/29"));
  BOOST_TEST(!read_full_date("2024-02-2"));
  BOOST_TEST(!read_full_date("\xef\xbc\x92" "024-02-29")); // a fullwidth digit
}

BOOST_AUTO_TEST_CASE(the_timestamp_parser_and_the_date_formats_accept_the_same_days) {
  for (int year : {1900, 2000, 2023, 2024}) {
    for (int month = 0; month <= 13; ++month) {
      for (int day = 0; day <= 32; ++day) {
        auto date = date_text(year, month, day);
        auto date_time = date + "T12:00:00Z";
        bool valid = is_valid_date(year, month, day);
        BOOST_CHECK_MESSAGE(check_format(string_format::date, date) == valid, date);
        BOOST_CHECK_MESSAGE(check_format(string_format::date_time, date_time) == valid,
                            date_time);
        BOOST_CHECK_MESSAGE(is_timestamp(date_time) == valid, date_time);
      }
    }
  }
}
