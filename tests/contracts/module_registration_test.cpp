#define BOOST_TEST_MODULE module_registration
#include <boost/test/unit_test.hpp>

// Registering a module: a module.json text checked into the entry Zenith
// commits, and the one codec of the `modules` row that stores it.

#include "contracts/module_registration.hpp"
#include "tests/test_print.hpp"

#include <string>

using namespace omniva::contracts;
namespace json = omniva::json;

namespace {

/// A valid contract, written with insignificant white space and members out
/// of order, so that its canonical form differs from the text.
const std::string namer_text = R"({
  "version": 1, "name": "namer",   "description": "Names things.",
  "inputs": [{"key": "what", "label": "What", "contract_type": "VALUE", "dtype": "string"}],
  "outputs": [{"key": "name", "label": "Name", "contract_type": "ASSET",
               "media_type": "text/plain"}],
  "resources": {"cpu": 1, "memory_gb": 0.25, "gpu": false, "timeout_s": 30},
  "run": {"command": ["./name.sh"]},
  "schema_version": "1.0.0"
})";

module_entry namer_entry() {
  auto entry = check_module_text(namer_text, "/modules/namer", {});
  BOOST_REQUIRE(entry);
  return *entry;
}

} // namespace

BOOST_AUTO_TEST_CASE(a_valid_module_json_becomes_an_entry_with_its_folder_and_canonical_form) {
  auto entry = namer_entry();
  BOOST_TEST(entry.contract.ref() == "namer@1");
  BOOST_TEST(entry.dir == "/modules/namer");
  BOOST_TEST(entry.canonical_json
             == json::serialize(*json::parse(namer_text).doc, json::style::canonical));
  BOOST_TEST(entry.canonical_json.starts_with(R"({"description":"Names things.")"));
}

BOOST_AUTO_TEST_CASE(a_contract_with_problems_is_one_error_led_by_the_first_problem) {
  auto text = namer_text;
  text.replace(text.find("\"namer\""), 7, "\"Bad Name\"");
  text.replace(text.find("./name.sh"), 9, "");
  auto entry = check_module_text(text, "", {});
  BOOST_REQUIRE(!entry);
  auto p = problem_from_error(entry.error());
  BOOST_REQUIRE(p);
  BOOST_TEST(p->code == ec::invalid_ref);
  BOOST_TEST(p->pointer == "/name");
  // Every problem is in the message.
  BOOST_TEST(p->message.find("invalid_ref /name") != std::string::npos);
  BOOST_TEST(p->message.find("empty_command /run/command/0") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(text_that_is_not_json_is_invalid_json) {
  auto entry = check_module_text("{", "", {});
  BOOST_REQUIRE(!entry);
  auto p = problem_from_error(entry.error());
  BOOST_REQUIRE(p);
  BOOST_TEST(p->code == ec::invalid_json);
}

BOOST_AUTO_TEST_CASE(a_row_holds_the_canonical_contract_and_the_folder) {
  auto entry = namer_entry();
  auto row = encode_module_row(entry);
  BOOST_TEST(row == R"({"contract":)" + entry.canonical_json + R"(,"dir":"/modules/namer"})");
}

BOOST_AUTO_TEST_CASE(a_row_decodes_to_the_entry_it_was_encoded_from) {
  auto entry = namer_entry();
  auto back = decode_module_row("namer@1", encode_module_row(entry));
  BOOST_REQUIRE(back);
  BOOST_TEST((*back == entry));
  auto row = read_module_row(encode_module_row(entry));
  BOOST_REQUIRE(row);
  BOOST_TEST(row->dir == "/modules/namer");
  BOOST_TEST(json::serialize(row->contract, json::style::canonical) == entry.canonical_json);
}

BOOST_AUTO_TEST_CASE(a_row_without_a_folder_reads_as_the_empty_folder) {
  auto row = read_module_row(R"({"contract": {"name": "x"}, "dir": 7})");
  BOOST_REQUIRE(row);
  BOOST_TEST(row->dir == "");
  BOOST_TEST(read_module_row(R"({"contract": {}})")->dir == "");
}

BOOST_AUTO_TEST_CASE(a_damaged_row_is_corruption_naming_the_ref) {
  BOOST_TEST(!read_module_row("not json"));
  BOOST_TEST(!read_module_row(R"({"dir": "/m"})"));
  auto missing = decode_module_row("namer@1", R"({"dir": "/m"})");
  BOOST_REQUIRE(!missing);
  auto p = problem_from_error(missing.error());
  BOOST_REQUIRE(p);
  BOOST_TEST(p->code == ec::corruption);
  BOOST_TEST(p->message == "module row namer@1 has no contract");
  auto broken = decode_module_row("namer@1", R"({"contract": {"name": 5}, "dir": ""})");
  BOOST_REQUIRE(!broken);
  BOOST_TEST(problem_from_error(broken.error())->message == "module row namer@1 does not parse");
}
