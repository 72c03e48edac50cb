#include "runtime/cli_bench_support.hpp"

#include "contracts/error_code.hpp"
#include "runtime/node.hpp"

#include <sys/resource.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>

namespace omniva::cli::bench {

double ms_between(steady::time_point a, steady::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

double seconds_between(steady::time_point a, steady::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

double rounded(double x, int digits) {
  auto scale = std::pow(10.0, digits);
  return std::round(x * scale) / scale;
}

double quantile(const std::vector<double>& xs, double q) {
  if (xs.empty())
    return 0;
  auto rank = static_cast<size_t>(std::ceil(q * static_cast<double>(xs.size())));
  return xs[std::clamp<size_t>(rank, 1, xs.size()) - 1];
}

json::value latency_json(std::vector<double> ms, int digits) {
  std::sort(ms.begin(), ms.end());
  json::value out{json::object{}};
  out.set("samples", static_cast<uint64_t>(ms.size()));
  out.set("p50_ms", rounded(quantile(ms, 0.5), digits));
  out.set("p90_ms", rounded(quantile(ms, 0.9), digits));
  out.set("p99_ms", rounded(quantile(ms, 0.99), digits));
  out.set("max_ms", rounded(ms.empty() ? 0.0 : ms.back(), digits));
  return out;
}

double peak_rss_mb() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;
}

std::string error_text(const caf::error& err) {
  return contracts::render_error(err.code(), err.category(), err.context());
}

double metric(const std::string& text, std::string_view name) {
  size_t at = 0;
  while ((at = text.find(name, at)) != std::string::npos) {
    bool line_start = at == 0 || text[at - 1] == '\n';
    auto after = at + name.size();
    if (line_start && after < text.size() && text[after] == ' ')
      return std::strtod(text.c_str() + after + 1, nullptr);
    at = after;
  }
  return 0;
}

std::vector<std::string>
write_modules(const std::filesystem::path& root,
              const std::vector<std::pair<std::string_view, std::string_view>>& modules) {
  std::vector<std::string> dirs;
  for (auto& [name, text] : modules) {
    auto dir = root / std::string{name};
    std::filesystem::create_directories(dir);
    std::ofstream{dir / "module.json"} << text;
    dirs.push_back(dir.string());
  }
  return dirs;
}

double cpu_seconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  auto secs = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
  };
  return secs(usage.ru_utime) + secs(usage.ru_stime);
}

commit_counters commit_counters::of(runtime::node& node) {
  auto text = node.metrics();
  return {metric(text, "omniva_commits_total"),
          metric(text, "omniva_packets_total"), cpu_seconds(),
          metric(text, "omniva_commit_write_seconds_total"),
          metric(text, "omniva_commit_seal_seconds_total")};
}

const std::string_view value_module = R"({
  "name": "bench-value",
  "version": 1,
  "description": "Benchmark module: one int in, one JSON document out (mock only).",
  "inputs": [
    {"key": "n", "label": "N", "contract_type": "VALUE", "dtype": "int"}
  ],
  "outputs": [
    {"key": "result", "label": "Result", "contract_type": "ASSET",
     "media_type": "application/json"}
  ],
  "resources": {"cpu": 1, "memory_gb": 0.1, "gpu": false, "timeout_s": 30},
  "run": {"command": ["false"]},
  "schema_version": "1.0.0"
})";

contracts::task_request value_request(uint64_t n) {
  contracts::task_request r;
  r.module_ref = "bench-value@1";
  r.values["n"] = std::to_string(n);
  r.mode = contracts::execution_mode::mock;
  return r;
}

work_folder::~work_folder() {
  std::error_code ignored;
  if (!outputs.empty())
    std::filesystem::remove_all(outputs, ignored);
  if (!keep && !path.empty())
    std::filesystem::remove_all(path, ignored);
}

caf::error outputs_in_memory(const std::filesystem::path& data,
                             const std::filesystem::path& memory) {
  std::error_code err;
  auto target = memory / data.filename();
  std::filesystem::create_directories(target, err);
  if (!err)
    std::filesystem::create_directories(data, err);
  if (!err)
    std::filesystem::create_directory_symlink(target, data / "outputs", err);
  if (err)
    return contracts::make_error(contracts::ec::io_error,
                                 "cannot link " + (data / "outputs").string()
                                   + " to " + target.string() + ": "
                                   + err.message());
  return caf::none;
}

caf::expected<std::unique_ptr<runtime::node>>
start_node(const std::filesystem::path& data,
           const std::vector<std::string>& module_dirs, bool serve_http,
           uint32_t workers, size_t scheduler_threads) {
  runtime::node_options opts;
  opts.scheduler_threads = scheduler_threads;
  opts.data_dir = data.string();
  opts.serve_http = serve_http;
  opts.http_port = 0;
  opts.force_mock = true;
  opts.sync = true;
  if (workers > 0) {
    auto pool = runtime::default_pool();
    pool.workers = workers;
    opts.pools.push_back(pool);
  }
  auto n = runtime::node::start(opts);
  if (!n)
    return n.error();
  for (auto& dir : module_dirs)
    if (auto ref = (*n)->register_module_dir(dir); !ref)
      return ref.error();
  return n;
}

} // namespace omniva::cli::bench
