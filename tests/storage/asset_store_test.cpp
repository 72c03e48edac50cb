#define BOOST_TEST_MODULE asset_store
#include <boost/test/unit_test.hpp>

#include "contracts/error_code.hpp"
#include "contracts/packet.hpp"
#include "storage/asset_store.hpp"

#include <fcntl.h>
#include <sys/stat.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <sstream>
#include <thread>
#include <vector>

using namespace omniva;
using namespace omniva::storage;
using contracts::ec;

namespace fs = std::filesystem;

namespace {

/// A fresh folder, removed afterwards.
struct temp_dir {
  fs::path path;
  temp_dir() {
    std::random_device rd;
    path = fs::canonical(fs::temp_directory_path())
           / ("omniva-assets-" + std::to_string(rd()) + "-"
              + std::to_string(rd()));
    fs::create_directories(path);
  }
  ~temp_dir() {
    std::error_code ignored;
    fs::remove_all(path, ignored);
  }
};

bool is(const caf::error& err, ec code) {
  return err.category() == contracts::error_category
         && err.code() == static_cast<uint8_t>(code);
}

/// "code: sentence", for failure messages.
std::string describe(const caf::error& err) {
  if (!err)
    return "no error";
  return contracts::render_error(err.code(), err.category(), err.context());
}

/// Why `r` holds no value ("ok" when it does): Boost.Test builds a message
/// even when the check passes, so `r.error()` alone would be wrong.
template <class T>
std::string why(const caf::expected<T>& r) {
  return r ? std::string{"ok"} : describe(r.error());
}

void write(const fs::path& p, const std::string& bytes) {
  fs::create_directories(p.parent_path());
  std::ofstream out{p, std::ios::binary | std::ios::trunc};
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  BOOST_REQUIRE(out.good());
}

std::string read(const fs::path& p) {
  std::ifstream in{p, std::ios::binary};
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string sha256_hex(const std::string& bytes) {
  return contracts::to_hex(contracts::sha256(bytes));
}

/// The smallest PNG header libmagic recognises: signature and IHDR.
std::string png_header() {
  static const unsigned char bytes[] = {
    0x89, 'P',  'N',  'G',  '\r', '\n', 0x1a, '\n', 0x00, 0x00, 0x00,
    0x0d, 'I',  'H',  'D',  'R',  0x00, 0x00, 0x00, 0x01, 0x00, 0x00,
    0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4, 0x89};
  return std::string{reinterpret_cast<const char*>(bytes), sizeof(bytes)};
}

/// The files in `dir` (recursively), as paths relative to it.
std::set<std::string> files_in(const fs::path& dir) {
  std::set<std::string> out;
  for (auto& e : fs::recursive_directory_iterator(dir))
    if (!e.is_directory())
      out.insert(fs::relative(e.path(), dir).string());
  return out;
}

/// A data folder with its store, and a folder of user files next to it.
struct fixture {
  temp_dir base;
  fs::path data = base.path / "data";
  fs::path user = base.path / "user";
  asset_store store{data.string()};

  fixture() {
    fs::create_directories(user);
  }

  fs::path user_file(const std::string& name, const std::string& bytes) {
    auto p = user / name;
    write(p, bytes);
    return p;
  }

  stored_blob add(const fs::path& p,
                  std::optional<std::string> media_type = std::nullopt) {
    auto r = store.add_file(p.string(), std::move(media_type));
    BOOST_REQUIRE_MESSAGE(r, "add_file failed: " << why(r));
    return *r;
  }
};

} // namespace

BOOST_FIXTURE_TEST_SUITE(adding_files, fixture)

BOOST_AUTO_TEST_CASE(a_file_is_copied_and_later_edits_of_the_original_change_nothing) {
  auto p = user_file("note.txt", "first version\n");
  auto blob = add(p);
  BOOST_TEST(blob.path != p.string());
  BOOST_TEST(read(blob.path) == "first version\n");
  write(p, "second version, longer than the first\n");
  BOOST_TEST(read(blob.path) == "first version\n");
  fs::remove(p);
  BOOST_TEST(read(blob.path) == "first version\n");
}

BOOST_AUTO_TEST_CASE(hash_size_and_path_are_those_of_the_content) {
  auto blob = add(user_file("abc.bin", "abc"));
  // FIPS 180-2, appendix B.1.
  BOOST_TEST(blob.sha256
             == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  BOOST_TEST(blob.size == 3u);
  BOOST_TEST(blob.path
             == (data / "blobs" / "sha256" / "ba"
                 / "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
                  .string());
  BOOST_TEST(blob.path == store.blob_path(blob.sha256));
  BOOST_TEST(!blob.deduplicated);
}

BOOST_AUTO_TEST_CASE(an_empty_file_is_a_blob_of_size_zero) {
  auto blob = add(user_file("empty", ""));
  BOOST_TEST(blob.sha256
             == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  BOOST_TEST(blob.size == 0u);
  BOOST_TEST(blob.media_type == "application/octet-stream");
  BOOST_TEST(fs::file_size(blob.path) == 0u);
}

BOOST_AUTO_TEST_CASE(blobs_are_read_only) {
  auto blob = add(user_file("ro.txt", "read me\n"));
  struct stat st {};
  BOOST_REQUIRE(::stat(blob.path.c_str(), &st) == 0);
  BOOST_TEST((st.st_mode & 07777) == 0444u);
}

BOOST_AUTO_TEST_CASE(identical_content_is_stored_once) {
  auto a = add(user_file("a.txt", "same bytes\n"));
  auto b = add(user_file("b.txt", "same bytes\n"));
  BOOST_TEST(!a.deduplicated);
  BOOST_TEST(b.deduplicated);
  BOOST_TEST(a.sha256 == b.sha256);
  BOOST_TEST(a.path == b.path);
  BOOST_TEST(files_in(data / "blobs").size() == 1u);
  // The dropped copy does not linger in the temp folder.
  BOOST_TEST(files_in(store.temp_dir()).empty());
}

BOOST_AUTO_TEST_CASE(adding_content_again_renews_its_blob_time) {
  // Retention keeps a blob whose modification time changed since it planned
  // to remove it: a deduplicated add must renew the time.
  auto a = add(user_file("old.txt", "wanted again\n"));
  struct timespec long_ago[2] = {{1000000000, 0}, {1000000000, 0}};
  BOOST_REQUIRE(::utimensat(AT_FDCWD, a.path.c_str(), long_ago, 0) == 0);
  auto b = add(user_file("new.txt", "wanted again\n"));
  BOOST_TEST(b.deduplicated);
  struct stat st {};
  BOOST_REQUIRE(::stat(b.path.c_str(), &st) == 0);
  BOOST_TEST(st.st_mtim.tv_sec > 1000000000);
}

BOOST_AUTO_TEST_CASE(a_png_header_is_image_png) {
  BOOST_TEST(add(user_file("pic", png_header())).media_type == "image/png");
}

BOOST_AUTO_TEST_CASE(a_json_object_or_array_is_application_json) {
  BOOST_TEST(add(user_file("doc", R"({"a": [1, 2, {"b": null}]})" "\n"))
               .media_type
             == "application/json");
  BOOST_TEST(add(user_file("list", "[1, 2, 3]")).media_type
             == "application/json");
}

BOOST_AUTO_TEST_CASE(a_json_file_longer_than_libmagic_looks_is_application_json) {
  // libmagic examines the first 7 MiB only; cut there, the text is not JSON
  // and libmagic says text/plain.
  std::string doc = "[";
  while (doc.size() < (9u << 20))
    doc += R"({"key":12345,"value":"some text of a record"},)";
  doc += "0]\n";
  BOOST_TEST(add(user_file("big.json", doc)).media_type == "application/json");
}

BOOST_AUTO_TEST_CASE(a_lone_json_scalar_stays_text_plain) {
  BOOST_TEST(add(user_file("n", "42\n")).media_type == "text/plain");
}

BOOST_AUTO_TEST_CASE(plain_text_is_text_plain) {
  BOOST_TEST(add(user_file("t", "hello world\nthis is text\n")).media_type
             == "text/plain");
  // Looks like JSON at first, but is not.
  BOOST_TEST(add(user_file("u", "{ not json at all }\n")).media_type
             == "text/plain");
}

BOOST_AUTO_TEST_CASE(a_given_media_type_wins_over_detection) {
  auto blob = add(user_file("pic", png_header()), "application/x-custom");
  BOOST_TEST(blob.media_type == "application/x-custom");
}

BOOST_AUTO_TEST_CASE(a_malformed_given_media_type_is_refused_before_copying) {
  auto r = store.add_file(user_file("x", "x").string(), "not a media type");
  BOOST_REQUIRE(!r);
  BOOST_TEST(is(r.error(), ec::invalid_media_type), describe(r.error()));
  BOOST_TEST(files_in(data / "blobs").empty());
}

BOOST_AUTO_TEST_CASE(a_missing_file_is_not_found) {
  auto r = store.add_file((user / "nope").string(), std::nullopt);
  BOOST_REQUIRE(!r);
  BOOST_TEST(is(r.error(), ec::not_found), describe(r.error()));
}

BOOST_AUTO_TEST_CASE(a_directory_is_not_added) {
  auto r = store.add_file(user.string(), std::nullopt);
  BOOST_REQUIRE(!r);
  BOOST_TEST(is(r.error(), ec::invalid_argument), describe(r.error()));
}

BOOST_AUTO_TEST_CASE(a_fifo_is_refused_without_blocking) {
  auto p = user / "fifo";
  BOOST_REQUIRE(::mkfifo(p.c_str(), 0600) == 0);
  auto r = store.add_file(p.string(), std::nullopt);
  BOOST_REQUIRE(!r);
  BOOST_TEST(is(r.error(), ec::invalid_argument), describe(r.error()));
}

BOOST_AUTO_TEST_CASE(a_symlink_is_not_followed_by_add_file) {
  auto target = user_file("target.txt", "secret\n");
  auto link = user / "link";
  fs::create_symlink(target, link);
  auto r = store.add_file(link.string(), std::nullopt);
  BOOST_REQUIRE(!r);
  BOOST_TEST(is(r.error(), ec::path_not_allowed), describe(r.error()));
}

BOOST_AUTO_TEST_CASE(a_big_file_is_streamed_intact) {
  // 20 MiB plus a partial chunk, pseudo-random so a misplaced chunk shows.
  std::string bytes(20 * 1024 * 1024 + 12345, '\0');
  std::mt19937_64 gen{42};
  for (auto& c : bytes)
    c = static_cast<char>(gen());
  auto blob = add(user_file("big.bin", bytes));
  BOOST_TEST(blob.size == bytes.size());
  BOOST_TEST(blob.sha256 == sha256_hex(bytes));
  BOOST_TEST((read(blob.path) == bytes));
  BOOST_TEST(blob.media_type == "application/octet-stream");
}

BOOST_AUTO_TEST_CASE(eight_threads_add_the_same_and_different_files_at_once) {
  constexpr int threads = 8;
  constexpr int rounds = 5;
  auto shared = user_file("shared.bin", std::string(300000, 's'));
  std::vector<std::string> own_bytes;
  std::vector<fs::path> own;
  for (int i = 0; i < threads; ++i) {
    own_bytes.push_back("file of thread " + std::to_string(i) + "\n"
                        + std::string(100000 + i, 'a' + i));
    own.push_back(user_file("own" + std::to_string(i), own_bytes.back()));
  }
  std::vector<std::vector<stored_blob>> shared_results(threads);
  std::vector<std::vector<stored_blob>> own_results(threads);
  std::atomic<int> failures{0};
  std::atomic<bool> go{false};
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([&, t] {
      while (!go.load())
        std::this_thread::yield();
      for (int r = 0; r < rounds; ++r) {
        auto a = store.add_file(shared.string(), std::nullopt);
        auto b = store.add_file(own[t].string(), std::nullopt);
        if (!a || !b) {
          ++failures;
          continue;
        }
        shared_results[t].push_back(*a);
        own_results[t].push_back(*b);
      }
    });
  go = true;
  for (auto& th : pool)
    th.join();
  BOOST_REQUIRE(failures == 0);
  auto shared_hash = sha256_hex(std::string(300000, 's'));
  int installed = 0;
  for (int t = 0; t < threads; ++t) {
    BOOST_REQUIRE(shared_results[t].size() == size_t{rounds});
    for (auto& b : shared_results[t]) {
      BOOST_TEST(b.sha256 == shared_hash);
      BOOST_TEST(b.path == store.blob_path(shared_hash));
      BOOST_TEST(b.media_type == "text/plain");
      installed += b.deduplicated ? 0 : 1;
    }
    for (auto& b : own_results[t]) {
      BOOST_TEST(b.sha256 == sha256_hex(own_bytes[t]));
      BOOST_TEST(read(b.path) == own_bytes[t]);
    }
    // Each thread's own file: installed by its first add, deduplicated later.
    BOOST_TEST(!own_results[t].front().deduplicated);
    BOOST_TEST(own_results[t].back().deduplicated);
  }
  // Of 40 adds of the same content exactly one put it in place.
  BOOST_TEST(installed == 1);
  BOOST_TEST(read(store.blob_path(shared_hash)) == std::string(300000, 's'));
  BOOST_TEST(files_in(data / "blobs").size() == size_t{threads + 1});
  BOOST_TEST(files_in(store.temp_dir()).empty());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_FIXTURE_TEST_SUITE(uploads, fixture)

BOOST_AUTO_TEST_CASE(the_temp_dir_is_inside_the_data_folder_and_exists) {
  BOOST_TEST(store.temp_dir() == (data / "tmp").string());
  BOOST_TEST(fs::is_directory(store.temp_dir()));
}

BOOST_AUTO_TEST_CASE(sweeping_removes_what_an_earlier_run_left_in_the_temp_dir) {
  write(data / "kept.txt", "kept\n");
  auto blob = store.add_file((data / "kept.txt").string(), std::nullopt);
  BOOST_REQUIRE_MESSAGE(blob, why(blob));
  write(fs::path{store.temp_dir()} / "upload-7", "half an upload");
  fs::create_directories(fs::path{store.temp_dir()} / "partial");
  write(fs::path{store.temp_dir()} / "partial" / "x", "x");
  BOOST_TEST(store.sweep_temp_dir() == 2u);
  BOOST_TEST(fs::is_empty(store.temp_dir()));
  BOOST_TEST(read(blob->path) == "kept\n"); // blobs are not touched
  BOOST_TEST(store.sweep_temp_dir() == 0u);
}

BOOST_AUTO_TEST_CASE(an_upload_is_moved_into_the_store) {
  auto upload = fs::path{store.temp_dir()} / "upload-1";
  write(upload, "uploaded bytes\n");
  auto r = store.add_temp_file(upload.string(), std::nullopt);
  BOOST_REQUIRE_MESSAGE(r, why(r));
  BOOST_TEST(!fs::exists(upload));
  BOOST_TEST(r->sha256 == sha256_hex("uploaded bytes\n"));
  BOOST_TEST(r->size == 15u);
  BOOST_TEST(r->media_type == "text/plain");
  BOOST_TEST(read(r->path) == "uploaded bytes\n");
  BOOST_TEST(!r->deduplicated);
}

BOOST_AUTO_TEST_CASE(an_upload_of_known_content_is_deleted_and_deduplicated) {
  auto first = add(user_file("a", "known\n"));
  auto upload = fs::path{store.temp_dir()} / "upload-2";
  write(upload, "known\n");
  auto r = store.add_temp_file(upload.string(), "text/x-known");
  BOOST_REQUIRE_MESSAGE(r, why(r));
  BOOST_TEST(r->deduplicated);
  BOOST_TEST(r->path == first.path);
  BOOST_TEST(r->media_type == "text/x-known");
  BOOST_TEST(!fs::exists(upload));
}

BOOST_AUTO_TEST_CASE(a_file_outside_the_temp_dir_is_not_moved) {
  auto p = user_file("mine.txt", "the user's own file\n");
  auto r = store.add_temp_file(p.string(), std::nullopt);
  BOOST_REQUIRE(!r);
  BOOST_TEST(is(r.error(), ec::invalid_argument), describe(r.error()));
  BOOST_TEST(read(p) == "the user's own file\n");
}

BOOST_AUTO_TEST_CASE(a_missing_upload_is_not_found) {
  auto r = store.add_temp_file(store.temp_dir() + "/gone", std::nullopt);
  BOOST_REQUIRE(!r);
  BOOST_TEST(is(r.error(), ec::not_found), describe(r.error()));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_FIXTURE_TEST_SUITE(allowed_roots, fixture)

BOOST_AUTO_TEST_CASE(a_file_inside_a_root_is_allowed_as_its_real_path) {
  auto p = user_file("sub/ok.txt", "ok");
  auto r = asset_store::check_allowed((user / "sub" / ".." / "sub" / "ok.txt")
                                        .string(),
                                      {data.string(), user.string()});
  BOOST_REQUIRE_MESSAGE(r, why(r));
  BOOST_TEST(*r == p.string());
}

BOOST_AUTO_TEST_CASE(a_root_given_with_a_trailing_slash_or_relative_parts_works) {
  auto p = user_file("ok.txt", "ok");
  auto r = asset_store::check_allowed(
    p.string(), {user.string() + "/", (user / "x" / "..").string()});
  BOOST_REQUIRE_MESSAGE(r, why(r));
  BOOST_TEST(*r == p.string());
}

BOOST_AUTO_TEST_CASE(a_file_outside_every_root_is_refused) {
  auto p = user_file("elsewhere.txt", "x");
  auto r = asset_store::check_allowed(p.string(), {data.string()});
  BOOST_REQUIRE(!r);
  BOOST_TEST(is(r.error(), ec::path_not_allowed), describe(r.error()));
  r = asset_store::check_allowed("/etc/passwd", {data.string(), user.string()});
  BOOST_REQUIRE(!r);
  BOOST_TEST(is(r.error(), ec::path_not_allowed), describe(r.error()));
}

BOOST_AUTO_TEST_CASE(no_roots_allow_nothing) {
  auto p = user_file("x.txt", "x");
  auto r = asset_store::check_allowed(p.string(), {});
  BOOST_REQUIRE(!r);
  BOOST_TEST(is(r.error(), ec::path_not_allowed), describe(r.error()));
}

BOOST_AUTO_TEST_CASE(dot_dot_cannot_escape_a_root) {
  user_file("secret.txt", "secret");
  fs::create_directories(data / "inner");
  auto r = asset_store::check_allowed(
    (data / "inner" / ".." / ".." / "user" / "secret.txt").string(),
    {data.string()});
  BOOST_REQUIRE(!r);
  BOOST_TEST(is(r.error(), ec::path_not_allowed), describe(r.error()));
}

BOOST_AUTO_TEST_CASE(a_symlink_inside_a_root_pointing_outside_is_refused) {
  auto secret = user_file("secret.txt", "secret");
  fs::create_directories(data);
  fs::create_symlink(secret, data / "innocent.txt");
  auto r = asset_store::check_allowed((data / "innocent.txt").string(),
                                      {data.string()});
  BOOST_REQUIRE(!r);
  BOOST_TEST(is(r.error(), ec::path_not_allowed), describe(r.error()));
  // Also through a symlinked folder.
  fs::create_directory_symlink(user, data / "door");
  r = asset_store::check_allowed((data / "door" / "secret.txt").string(),
                                 {data.string()});
  BOOST_REQUIRE(!r);
  BOOST_TEST(is(r.error(), ec::path_not_allowed), describe(r.error()));
}

BOOST_AUTO_TEST_CASE(a_symlink_inside_a_root_to_a_file_inside_is_allowed) {
  auto target = user_file("real.txt", "real");
  fs::create_symlink(target, user / "alias.txt");
  auto r = asset_store::check_allowed((user / "alias.txt").string(),
                                      {user.string()});
  BOOST_REQUIRE_MESSAGE(r, why(r));
  BOOST_TEST(*r == target.string());
}

BOOST_AUTO_TEST_CASE(a_sibling_folder_sharing_the_prefix_is_not_inside) {
  auto p = base.path / "user2" / "x.txt";
  write(p, "x");
  auto r = asset_store::check_allowed(p.string(), {user.string()});
  BOOST_REQUIRE(!r);
  BOOST_TEST(is(r.error(), ec::path_not_allowed), describe(r.error()));
}

BOOST_AUTO_TEST_CASE(a_directory_is_refused) {
  fs::create_directories(user / "folder");
  auto r = asset_store::check_allowed((user / "folder").string(),
                                      {user.string()});
  BOOST_REQUIRE(!r);
  BOOST_TEST(is(r.error(), ec::invalid_argument), describe(r.error()));
  // The root itself too.
  r = asset_store::check_allowed(user.string(), {user.string()});
  BOOST_REQUIRE(!r);
  BOOST_TEST(is(r.error(), ec::invalid_argument), describe(r.error()));
}

BOOST_AUTO_TEST_CASE(a_device_is_refused) {
  auto r = asset_store::check_allowed("/dev/null", {"/dev"});
  BOOST_REQUIRE(!r);
  BOOST_TEST(is(r.error(), ec::invalid_argument), describe(r.error()));
}

BOOST_AUTO_TEST_CASE(a_missing_file_inside_a_root_is_not_found) {
  auto r = asset_store::check_allowed((user / "missing" / "x.txt").string(),
                                      {user.string()});
  BOOST_REQUIRE(!r);
  BOOST_TEST(is(r.error(), ec::not_found), describe(r.error()));
}

BOOST_AUTO_TEST_CASE(a_missing_file_outside_the_roots_is_refused_not_reported_missing) {
  auto r = asset_store::check_allowed((base.path / "other" / "x.txt").string(),
                                      {user.string()});
  BOOST_REQUIRE(!r);
  BOOST_TEST(is(r.error(), ec::path_not_allowed), describe(r.error()));
}

BOOST_AUTO_TEST_CASE(a_relative_or_empty_path_is_refused) {
  auto r = asset_store::check_allowed("user/x.txt", {user.string()});
  BOOST_REQUIRE(!r);
  BOOST_TEST(is(r.error(), ec::invalid_argument), describe(r.error()));
  r = asset_store::check_allowed("", {user.string()});
  BOOST_REQUIRE(!r);
  BOOST_TEST(is(r.error(), ec::invalid_argument), describe(r.error()));
}

BOOST_AUTO_TEST_CASE(a_path_with_a_nul_byte_says_so) {
  auto path = (user / "a.txt").string() + std::string{"\0b.txt", 6};
  auto r = asset_store::check_allowed(path, {user.string()});
  BOOST_REQUIRE(!r);
  BOOST_TEST(is(r.error(), ec::invalid_argument), describe(r.error()));
  BOOST_TEST(describe(r.error()).find("NUL byte") != std::string::npos,
             describe(r.error()));
  BOOST_TEST(describe(r.error()).find("empty") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(the_node_s_own_secrets_are_never_added) {
  // The data folder is an allowed root by default: its secrets are not.
  write(data / "token", "0123456789abcdef0123456789abcdef\n");
  write(data / "cluster-secret", "shared\n");
  write(data / "db" / "CURRENT", "MANIFEST-000001\n");
  write(data / "db" / "sub" / "000042.sst", "rows");
  auto roots = default_allowed_roots(data.string());
  for (auto name : {"token", "cluster-secret", "db/CURRENT", "db/sub/000042.sst"}) {
    auto real = asset_store::check_allowed((data / name).string(), roots);
    BOOST_REQUIRE_MESSAGE(real, why(real)); // inside a root...
    auto r = store.add_file(*real, std::nullopt); // ... but a secret
    BOOST_REQUIRE_MESSAGE(!r, name);
    BOOST_TEST(is(r.error(), ec::path_not_allowed), describe(r.error()));
    BOOST_TEST(describe(r.error()).find("the node's own secret")
                 != std::string::npos,
               describe(r.error()));
  }
  // Through "..", a symlink or a hard link it is the same file.
  auto dotted = (data / "blobs" / ".." / "token").string();
  BOOST_TEST(is(store.check_not_secret(dotted), ec::path_not_allowed));
  fs::create_symlink(data / "token", user / "link");
  BOOST_TEST(is(store.check_not_secret((user / "link").string()),
                ec::path_not_allowed));
  fs::create_hard_link(data / "token", user / "hard");
  BOOST_TEST(is(store.add_file((user / "hard").string(), std::nullopt).error(),
                ec::path_not_allowed));
  BOOST_TEST(files_in(data / "blobs").empty());
  // Other files of the data folder are fine.
  write(data / "notes.txt", "mine");
  BOOST_TEST(!store.check_not_secret((data / "notes.txt").string()));
  BOOST_TEST(!store.check_not_secret((data / "dbx").string()));
  BOOST_TEST((node_secret_paths(data.string())
              == std::vector<std::string>{(data / "token").string(),
                                          (data / "cluster-secret").string(),
                                          (data / "db").string(),
                                          (data / "webhooks").string()}));
}

BOOST_AUTO_TEST_CASE(the_default_roots_are_the_working_directory_and_the_data_folder) {
  auto roots = default_allowed_roots(data.string());
  BOOST_REQUIRE(roots.size() == 2u);
  BOOST_TEST(roots[0] == fs::current_path().string());
  BOOST_TEST(roots[1] == data.string());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_FIXTURE_TEST_SUITE(value_files, fixture)

BOOST_AUTO_TEST_CASE(a_value_becomes_a_json_file_named_after_its_key) {
  auto dir = base.path / "exec" / "task-1" / "1";
  auto r = asset_store::write_value_file(dir.string(), "threshold",
                                         R"({"level":0.5})");
  BOOST_REQUIRE_MESSAGE(r, why(r));
  BOOST_TEST(*r == (dir / "threshold.json").string());
  BOOST_TEST(read(*r) == R"({"level":0.5})");
  BOOST_TEST(asset_store::detect_media_type(*r) == "application/json");
  // Nothing else is left in the folder.
  BOOST_TEST(files_in(dir) == std::set<std::string>{"threshold.json"});
}

BOOST_AUTO_TEST_CASE(a_value_file_is_replaced_by_a_newer_value) {
  auto dir = base.path / "exec";
  BOOST_REQUIRE(asset_store::write_value_file(dir.string(), "n", "1"));
  auto r = asset_store::write_value_file(dir.string(), "n", "\"two\"");
  BOOST_REQUIRE_MESSAGE(r, why(r));
  BOOST_TEST(read(*r) == "\"two\"");
}

BOOST_AUTO_TEST_CASE(a_key_that_could_leave_the_folder_is_refused) {
  auto dir = (base.path / "exec").string();
  std::vector<std::string> keys{"",   "../escape", "a/b", ".",
                                "..", "9lives",    "-x",  std::string(129, 'k')};
  for (const auto& key : keys) {
    auto r = asset_store::write_value_file(dir, key, "1");
    BOOST_REQUIRE_MESSAGE(!r, "key '" << key << "' was accepted");
    BOOST_TEST(is(r.error(), ec::invalid_argument), describe(r.error()));
  }
  BOOST_TEST(!fs::exists(base.path / "escape.json"));
}

BOOST_AUTO_TEST_CASE(a_value_that_is_not_json_is_refused) {
  auto r = asset_store::write_value_file((base.path / "exec").string(), "v",
                                         "{not json");
  BOOST_REQUIRE(!r);
  BOOST_TEST(is(r.error(), ec::invalid_json), describe(r.error()));
}

BOOST_AUTO_TEST_SUITE_END()
