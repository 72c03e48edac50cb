#define BOOST_TEST_MODULE backup
#include <boost/test/unit_test.hpp>

// The checks around backups (runtime/backup.hpp) without a node: where a
// backup may go, and what a restore refuses before it writes anything (a
// manifest that does not match its sum, a path leaving the folder, another
// format version, a file that is not what the manifest says). A whole
// backup and restore through real nodes is tests/node_backup_test.py.

#include "contracts/error_code.hpp"
#include "contracts/hex.hpp"
#include "contracts/json.hpp"
#include "contracts/packet.hpp"
#include "runtime/backup.hpp"

#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

using namespace omniva;
using namespace omniva::runtime;
using contracts::ec;
namespace fs = std::filesystem;

namespace {

struct temp_dir {
  fs::path path;
  temp_dir() {
    std::random_device rd;
    path = fs::temp_directory_path() / ("omniva-rbackup-" + std::to_string(rd()));
    fs::create_directories(path);
  }
  ~temp_dir() {
    std::error_code ignored;
    fs::remove_all(path, ignored);
  }
  std::string at(const std::string& name) const {
    return (path / name).string();
  }
};

void write(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream{p, std::ios::binary} << text;
}

std::string sha(const std::string& text) {
  return contracts::to_hex(contracts::sha256(text));
}

std::string text_of(const caf::error& e) {
  return e ? contracts::render_error(e.code(), e.category(), e.context())
           : std::string{"no error"};
}

bool is(const caf::error& err, ec code) {
  return err.category() == contracts::error_category
         && err.code() == static_cast<uint8_t>(code);
}

/// A backup folder at `dir` whose manifest lists `files` (path -> content
/// written), with `listed` overriding what the manifest says of a path, and
/// a correct sum.
void make_backup(const fs::path& dir,
                 const std::vector<std::pair<std::string, std::string>>& files,
                 json::value extra_file = {}, int64_t version = 1) {
  json::array listed;
  for (auto& [path, content] : files) {
    write(dir / path, content);
    listed.push_back(json::object{{"path", path},
                                  {"size", static_cast<int64_t>(content.size())},
                                  {"sha256", sha(content)}});
  }
  if (!extra_file.is_null())
    listed.push_back(std::move(extra_file));
  json::value m{json::object{}};
  m.set("format", "omniva-backup");
  m.set("format_version", version);
  m.set("created_at", "2026-12-06T00:00:00.000Z");
  m.set("source", json::object{{"data_dir", "/old/data"},
                               {"origin", json::array{json::value{"/older"}}}});
  m.set("log", json::object{{"packets", 0}, {"last_seq", 0}, {"head", ""}});
  m.set("files", json::value{std::move(listed)});
  auto text = json::serialize(m);
  write(dir / "manifest.json", text);
  write(dir / "manifest.json.sha256", sha(text) + "  manifest.json\n");
}

} // namespace

BOOST_AUTO_TEST_CASE(a_backup_goes_to_a_new_or_empty_absolute_folder_outside_the_data) {
  temp_dir t;
  auto data = t.at("data");
  fs::create_directories(data);
  BOOST_CHECK(!check_backup_destination(t.at("new/backup"), data));
  fs::create_directories(t.at("empty"));
  BOOST_CHECK(!check_backup_destination(t.at("empty"), data));
  auto e = check_backup_destination("relative/backup", data);
  BOOST_CHECK_MESSAGE(is(e, ec::invalid_argument), text_of(e));
  write(t.path / "full" / "x", "x");
  e = check_backup_destination(t.at("full"), data);
  BOOST_CHECK_MESSAGE(is(e, ec::invalid_argument), text_of(e));
  BOOST_CHECK(text_of(e).find("not empty") != std::string::npos);
  write(t.path / "file", "x");
  BOOST_CHECK(is(check_backup_destination(t.at("file"), data), ec::invalid_argument));
  BOOST_CHECK(is(check_backup_destination(t.at("data/b"), data),
                 ec::path_not_allowed));
  BOOST_CHECK(is(check_backup_destination(t.path.string(), data),
                 ec::path_not_allowed));
  // Through a symlink into the data folder too.
  fs::create_directory_symlink(data, t.at("link"));
  BOOST_CHECK(is(check_backup_destination(t.at("link/b"), data),
                 ec::path_not_allowed));
}

BOOST_AUTO_TEST_CASE(a_backup_that_matches_its_manifest_is_read) {
  temp_dir t;
  make_backup(t.path / "b", {{"token", "secret\n"}, {"blobs/sha256/ab/x", "bytes"}});
  auto m = check_backup(t.at("b"));
  BOOST_REQUIRE_MESSAGE(m, (m ? "" : text_of(m.error())));
  BOOST_CHECK_EQUAL(m->files.size(), 2u);
  BOOST_CHECK_EQUAL(m->source_data_dir, "/old/data");
  BOOST_REQUIRE_EQUAL(m->source_origin.size(), 1u);
  BOOST_CHECK_EQUAL(m->source_origin[0], "/older");
}

BOOST_AUTO_TEST_CASE(a_file_unlike_the_manifest_is_named) {
  temp_dir t;
  make_backup(t.path / "b", {{"token", "secret\n"}, {"blobs/sha256/ab/x", "bytes"},
                             {"outputs/t/1/out.json", "{}"}});
  write(t.path / "b" / "blobs/sha256/ab/x", "BYTES"); // same size, other bytes
  write(t.path / "b" / "token", "longer secret\n");
  fs::remove(t.path / "b" / "outputs/t/1/out.json");
  auto m = check_backup(t.at("b"));
  BOOST_REQUIRE(!m);
  auto why = text_of(m.error());
  BOOST_CHECK_MESSAGE(is(m.error(), ec::corruption), why);
  BOOST_CHECK(why.find("3 file(s)") != std::string::npos);
  BOOST_CHECK(why.find("blobs/sha256/ab/x (its SHA-256 differs") != std::string::npos);
  BOOST_CHECK(why.find("token (14 bytes, the manifest says 7)") != std::string::npos);
  BOOST_CHECK(why.find("outputs/t/1/out.json (missing)") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_manifest_unlike_its_sum_is_refused) {
  temp_dir t;
  make_backup(t.path / "b", {{"token", "secret\n"}});
  std::ofstream{t.path / "b" / "manifest.json", std::ios::app} << " ";
  auto m = check_backup(t.at("b"));
  BOOST_REQUIRE(!m);
  BOOST_CHECK(is(m.error(), ec::corruption));
  BOOST_CHECK(text_of(m.error()).find("manifest.json") != std::string::npos);
  fs::remove(t.path / "b" / "manifest.json.sha256");
  m = check_backup(t.at("b"));
  BOOST_REQUIRE(!m);
  BOOST_CHECK(is(m.error(), ec::not_found));
}

BOOST_AUTO_TEST_CASE(a_path_leaving_the_folder_is_refused) {
  temp_dir t;
  for (auto bad : {"../evil", "/etc/passwd", "a/../../evil", "./token", "origin"}) {
    auto dir = t.path / ("b" + std::to_string(std::hash<std::string>{}(bad)));
    make_backup(dir, {{"token", "x"}},
                json::object{{"path", bad}, {"size", 1},
                             {"sha256", sha("x")}});
    auto m = check_backup(dir.string());
    BOOST_REQUIRE_MESSAGE(!m, bad);
    BOOST_CHECK_MESSAGE(is(m.error(), ec::invalid_argument),
                        bad << ": " << text_of(m.error()));
  }
}

BOOST_AUTO_TEST_CASE(another_format_version_is_refused) {
  temp_dir t;
  make_backup(t.path / "b", {{"token", "x"}}, {}, 2);
  auto m = check_backup(t.at("b"));
  BOOST_REQUIRE(!m);
  BOOST_CHECK(is(m.error(), ec::invalid_argument));
  BOOST_CHECK(text_of(m.error()).find("format_version 2") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_restore_writes_nothing_unless_every_file_matches) {
  temp_dir t;
  make_backup(t.path / "b", {{"token", "secret\n"}, {"blobs/sha256/ab/x", "bytes"}});
  write(t.path / "b" / "token", "SECRET\n");
  auto r = restore_backup(t.at("b"), t.at("new"));
  BOOST_REQUIRE(!r);
  BOOST_CHECK(is(r.error(), ec::corruption));
  BOOST_CHECK(!fs::exists(t.at("new")));
}

BOOST_AUTO_TEST_CASE(a_restore_copies_the_files_and_records_the_origin) {
  temp_dir t;
  make_backup(t.path / "b", {{"token", "secret\n"}, {"blobs/sha256/ab/x", "bytes"}});
  fs::permissions(t.path / "b" / "token", fs::perms::owner_read | fs::perms::owner_write,
                  fs::perm_options::replace);
  auto r = restore_backup(t.at("b"), t.at("new"));
  // Copied, but this backup has no database: the verify says so.
  BOOST_REQUIRE_MESSAGE(r, (r ? "" : text_of(r.error())));
  BOOST_CHECK_EQUAL(r->files, 2u);
  BOOST_CHECK(!r->verify.ok);
  BOOST_CHECK(fs::exists(t.path / "new" / "blobs/sha256/ab/x"));
  BOOST_CHECK((fs::status(t.path / "new" / "token").permissions() & fs::perms::all)
              == (fs::perms::owner_read | fs::perms::owner_write));
  std::ifstream origin{t.path / "new" / "origin"};
  std::string first, second;
  std::getline(origin, first);
  std::getline(origin, second);
  BOOST_CHECK_EQUAL(first, "/older");
  BOOST_CHECK_EQUAL(second, "/old/data");
  // Into a folder that is not empty: refused, left alone.
  write(t.path / "full" / "keep", "mine");
  auto full = restore_backup(t.at("b"), t.at("full"));
  BOOST_REQUIRE(!full);
  BOOST_CHECK(is(full.error(), ec::invalid_argument));
  BOOST_CHECK_EQUAL(std::distance(fs::directory_iterator(t.path / "full"),
                                  fs::directory_iterator{}),
                    1);
}
