#define BOOST_TEST_MODULE histogram
#include <boost/test/unit_test.hpp>

#include "contracts/histogram.hpp"

#include <string>

using namespace omniva::contracts;

namespace {

bool has_line(const std::string& text, const std::string& line) {
  return ("\n" + text).find("\n" + line + "\n") != std::string::npos;
}

} // namespace

BOOST_AUTO_TEST_CASE(buckets_are_cumulative_with_sum_and_count) {
  const double bounds[] = {0.1, 1, 10};
  histogram h{bounds};
  h.observe(0.05);
  h.observe(0.1); // on a bound: counted in that bucket (le)
  h.observe(5);
  h.observe(50);
  h.observe(-3); // a clock that went backwards counts as 0
  BOOST_CHECK_EQUAL(h.count(), 5u);
  BOOST_CHECK_CLOSE(h.sum(), 55.15, 1e-9);
  std::string out;
  h.render(out, "x_seconds", "module=\"m\"");
  BOOST_CHECK(has_line(out, "x_seconds_bucket{module=\"m\",le=\"0.1\"} 3"));
  BOOST_CHECK(has_line(out, "x_seconds_bucket{module=\"m\",le=\"1\"} 3"));
  BOOST_CHECK(has_line(out, "x_seconds_bucket{module=\"m\",le=\"10\"} 4"));
  BOOST_CHECK(has_line(out, "x_seconds_bucket{module=\"m\",le=\"+Inf\"} 5"));
  BOOST_CHECK(has_line(out, "x_seconds_sum{module=\"m\"} 55.15"));
  BOOST_CHECK(has_line(out, "x_seconds_count{module=\"m\"} 5"));
}

BOOST_AUTO_TEST_CASE(a_histogram_without_labels_renders_bare_names) {
  const double bounds[] = {1};
  histogram h{bounds};
  h.observe(2);
  std::string out;
  h.render(out, "y");
  BOOST_CHECK(has_line(out, "y_bucket{le=\"1\"} 0"));
  BOOST_CHECK(has_line(out, "y_bucket{le=\"+Inf\"} 1"));
  BOOST_CHECK(has_line(out, "y_sum 2"));
  BOOST_CHECK(has_line(out, "y_count 1"));
}

BOOST_AUTO_TEST_CASE(an_empty_family_writes_help_and_type_only) {
  histogram_family f{"omniva_x_seconds", "What x takes.", "module"};
  std::string out;
  f.render(out);
  BOOST_CHECK_EQUAL(out, "# HELP omniva_x_seconds What x takes.\n"
                         "# TYPE omniva_x_seconds histogram\n");
}

BOOST_AUTO_TEST_CASE(a_family_keeps_one_histogram_per_label_value) {
  const double bounds[] = {1};
  histogram_family f{"t", "T.", "module", bounds};
  f.observe("b@1", 0.5);
  f.observe("a@1", 2);
  f.observe("b@1", 3);
  std::string out;
  f.render(out);
  BOOST_CHECK(has_line(out, "t_count{module=\"a@1\"} 1"));
  BOOST_CHECK(has_line(out, "t_count{module=\"b@1\"} 2"));
  BOOST_CHECK(has_line(out, "t_bucket{module=\"b@1\",le=\"1\"} 1"));
  // In label order.
  BOOST_CHECK_LT(out.find("module=\"a@1\""), out.find("module=\"b@1\""));
}

BOOST_AUTO_TEST_CASE(a_family_by_two_labels_escapes_their_values) {
  const double bounds[] = {1};
  histogram_family f{"t", "T.", std::vector<std::string>{"module", "status"},
                     bounds};
  f.observe_labels({"m\"x\\\n", "DONE"}, 0.5);
  f.observe_labels({"m", "ERROR"}, 0.5);
  f.observe_labels({"m", "ERROR"}, 0.5);
  std::string out;
  f.render(out);
  BOOST_CHECK(has_line(out, "t_count{module=\"m\\\"x\\\\\\n\",status=\"DONE\"} 1"));
  BOOST_CHECK(has_line(out, "t_count{module=\"m\",status=\"ERROR\"} 2"));
  auto* h = f.find({"m", "ERROR"});
  BOOST_REQUIRE(h != nullptr);
  BOOST_CHECK_EQUAL(h->count(), 2u);
  BOOST_CHECK(f.find({"m", "DONE"}) == nullptr);
}

BOOST_AUTO_TEST_CASE(bucket_bounds_are_written_in_their_shortest_form) {
  histogram_family f{"t", "T.", "module"};
  f.observe("m", 0.003);
  std::string out;
  f.render(out);
  BOOST_CHECK(has_line(out, "t_bucket{module=\"m\",le=\"0.0025\"} 0"));
  BOOST_CHECK(has_line(out, "t_bucket{module=\"m\",le=\"0.005\"} 1"));
  BOOST_CHECK(has_line(out, "t_bucket{module=\"m\",le=\"600\"} 1"));
}
