#include "runtime/cli_bench_support.hpp"

#include "contracts/error_code.hpp"

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

} // namespace omniva::cli::bench
