#pragma once

// What the local and the mock adapter tests share: the example modules
// under modules/ as orders, inputs, a scratch folder per test case, and a
// WAV file to probe.

#include "actors/registry.hpp"
#include "contracts/json_schema.hpp"
#include "contracts/module_contract.hpp"
#include "contracts/node_messages.hpp"
#include "contracts/packet.hpp"
#include "contracts/registry_store.hpp"
#include "contracts/schema_catalog.hpp"
#include "runtime/adapter.hpp"
#include "runtime/local_adapter.hpp"
#include "runtime/mock_adapter.hpp"

#include <boost/test/unit_test.hpp>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <unistd.h>

namespace omniva::adapter_testing {

using namespace omniva::runtime;
namespace fs = std::filesystem;

/// The task id of every order the tests build.
inline constexpr const char* task_id = "0b6f3c8e-2d4a-4f7b-9c1e-5a8d2f4b6c01";

/// The content of the file at `path` (empty when it cannot be read).
inline std::string read_text(const fs::path& path) {
  std::ifstream in{path, std::ios::binary};
  std::ostringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

/// Writes `content` to the file at `path`, replacing it.
inline void write_text(const fs::path& path, std::string_view content) {
  std::ofstream out{path, std::ios::binary | std::ios::trunc};
  out.write(content.data(), static_cast<std::streamsize>(content.size()));
}

/// `text` parsed; fails the test when it is not JSON.
inline json::value parse_json(const std::string& text) {
  auto parsed = json::parse(text);
  BOOST_REQUIRE_MESSAGE(parsed, "not JSON: " << text);
  return *parsed.doc;
}

/// The folder of an example module.
inline fs::path module_dir(const std::string& name) {
  return fs::path{OMNIVA_SOURCE_DIR} / "modules" / name;
}

/// The parsed contract of an example module.
inline contracts::module_contract load_contract(const std::string& name) {
  auto text = read_text(module_dir(name) / "module.json");
  auto result = contracts::parse_module_contract(text);
  BOOST_REQUIRE_MESSAGE(result, "modules/" << name << "/module.json is not a valid contract");
  return *result.contract;
}

/// The schemas the example modules bring (modules/*/schemas/), as a node's
/// registry holds them: media-probe's output and summarize's input name
/// media.metadata@1.
inline std::shared_ptr<const contracts::registry_store> example_schemas() {
  static const auto store = [] {
    auto s = std::make_shared<contracts::registry_store>();
    auto dir = (fs::path{OMNIVA_SOURCE_DIR} / "modules").string();
    for (auto& c : actors::scan_module_dirs({dir}).candidates) {
      if (c.kind != contracts::registry_kind::schema)
        continue;
      auto text = actors::read_registry_file(c.path);
      auto checked = contracts::check_schema_text(c.ref, text ? *text : "");
      BOOST_REQUIRE_MESSAGE(checked, c.path << " is not a valid schema");
      BOOST_REQUIRE(!s->add_schema(*checked.entry));
    }
    return s;
  }();
  return store;
}

/// A VALUE input `key` holding `value_json`.
inline contracts::dispatched_input value_input(std::string key, std::string value_json) {
  contracts::dispatched_input x;
  x.key = std::move(key);
  x.is_value = true;
  x.value_json = std::move(value_json);
  return x;
}

/// An ASSET input `key`: the file at `path` of `media_type`.
inline contracts::dispatched_input asset_input(std::string key, const fs::path& path,
                           std::string media_type) {
  contracts::dispatched_input x;
  x.key = std::move(key);
  x.path = path.string();
  x.media_type = std::move(media_type);
  return x;
}

/// Whether process `pid` still runs (a zombie counts as gone).
inline bool alive(pid_t pid) {
  std::ifstream in{"/proc/" + std::to_string(pid) + "/stat"};
  if (!in)
    return false;
  std::string stat;
  std::getline(in, stat);
  auto close = stat.rfind(')');
  return close != std::string::npos && close + 2 < stat.size()
         && stat[close + 2] != 'Z';
}

/// A 16-bit mono WAV file of `ms` milliseconds at `rate` Hz.
inline std::string wav_bytes(uint32_t rate, uint32_t ms) {
  auto le32 = [](std::string& s, uint32_t v) {
    for (int i = 0; i < 4; ++i)
      s += static_cast<char>((v >> (8 * i)) & 0xff);
  };
  auto le16 = [](std::string& s, uint16_t v) {
    s += static_cast<char>(v & 0xff);
    s += static_cast<char>(v >> 8);
  };
  uint32_t data_size = rate * 2 * ms / 1000;
  std::string s = "RIFF";
  le32(s, 36 + data_size);
  s += "WAVEfmt ";
  le32(s, 16);
  le16(s, 1);        // PCM
  le16(s, 1);        // channels
  le32(s, rate);     // sample rate
  le32(s, rate * 2); // byte rate
  le16(s, 2);        // block align
  le16(s, 16);       // bits per sample
  s += "data";
  le32(s, data_size);
  for (uint32_t i = 0; i < data_size / 2; ++i)
    le16(s, static_cast<uint16_t>((i * 37) & 0xffff));
  return s;
}

/// What an adapter is given: Zenith's order and the worker's local context.
struct job {
  /// The order, as Zenith would send it.
  contracts::dispatch_order order;
  /// Secrets, schema lookups, heartbeat.
  execution_context context;
};

/// The metrics of an outcome, parsed.
inline json::value metrics_of(const contracts::execution_outcome& r) {
  return parse_json(r.metrics_json);
}

/// A scratch folder per test case, removed afterwards.
struct fixture {
  fs::path root;

  fixture() {
    std::string tmpl = (fs::temp_directory_path() / "omniva-adapter-XXXXXX").string();
    BOOST_REQUIRE(mkdtemp(tmpl.data()) != nullptr);
    root = tmpl;
    // A known environment: the module must see LANG but never this canary.
    setenv("LANG", "C.UTF-8", 1);
    setenv("OMNIVA_LEAK_CANARY", "canary-value-must-not-leak", 1);
  }

  ~fixture() {
    std::error_code err;
    fs::remove_all(root, err);
  }

  /// An order for example module `name`, attempt `attempt`.
  job request(const std::string& name, uint32_t attempt = 1) {
    job req;
    req.order.task.task_id = task_id;
    req.order.task.attempt = attempt;
    req.order.execution_id = std::string{task_id} + "/" + std::to_string(attempt);
    req.order.contract = load_contract(name);
    req.order.module_dir = module_dir(name).string();
    req.order.output_dir = (root / "outputs" / task_id / std::to_string(attempt)).string();
    auto schemas = example_schemas();
    req.context.schema_lookup = contracts::make_schema_resolver(schemas);
    req.context.schema_document_lookup = [schemas](std::string_view id) {
      return schemas->schema_document(id);
    };
    return req;
  }

  /// An order for fail_on_request in `mode`.
  job fail_request(const std::string& mode, uint32_t attempt = 1) {
    auto req = request("fail_on_request", attempt);
    req.order.inputs.push_back(value_input("mode", "\"" + mode + "\""));
    return req;
  }

  /// A WAV file in the scratch folder.
  fs::path wav(uint32_t ms = 500) {
    auto path = root / "tone.wav";
    write_text(path, wav_bytes(8000, ms));
    return path;
  }
};

/// Runs the local adapter with `opts` and a short kill grace (tests only).
inline contracts::execution_outcome run_local(const job& req,
                                              local_adapter_options opts) {
  opts.kill_grace = std::chrono::milliseconds{500};
  return local_adapter{opts}.invoke(req.order, req.context);
}

/// Runs the local adapter with its default options and a short kill grace.
inline contracts::execution_outcome run_local(const job& req) {
  return run_local(req, local_adapter_options{});
}

/// Prints a failed result, so a broken test says why.
inline std::string describe(const contracts::execution_outcome& r) {
  return json::serialize(to_json(r));
}

} // namespace omniva::adapter_testing
