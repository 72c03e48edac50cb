#include "contracts/histogram.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>

namespace omniva::contracts {

namespace {

/// Prometheus renders floats in Go's shortest form; %.17g keeps the value.
std::string number(double x) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.17g", x);
  // Shorten what %.17g makes long (0.10000000000000001 -> 0.1).
  for (int precision = 1; precision < 17; ++precision) {
    char shorter[32];
    std::snprintf(shorter, sizeof shorter, "%.*g", precision, x);
    if (std::strtod(shorter, nullptr) == x)
      return shorter;
  }
  return buf;
}

} // namespace

histogram::histogram(std::span<const double> bounds)
  : bounds_(bounds.begin(), bounds.end()), counts_(bounds.size() + 1, 0) {
}

void histogram::observe(double x) noexcept {
  if (!(x > 0))
    x = 0;
  auto i = std::lower_bound(bounds_.begin(), bounds_.end(), x) - bounds_.begin();
  ++counts_[static_cast<size_t>(i)];
  ++count_;
  sum_ += x;
}

void histogram::render(std::string& out, std::string_view name,
                       std::string_view labels) const {
  std::string sep = labels.empty() ? "" : ",";
  uint64_t cumulative = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    cumulative += counts_[i];
    out += name;
    out += "_bucket{";
    out += labels;
    out += sep;
    out += "le=\"";
    out += i < bounds_.size() ? number(bounds_[i]) : std::string{"+Inf"};
    out += "\"} ";
    out += std::to_string(cumulative);
    out += '\n';
  }
  auto tail = [&](std::string_view suffix, const std::string& value) {
    out += name;
    out += suffix;
    if (!labels.empty()) {
      out += '{';
      out += labels;
      out += '}';
    }
    out += ' ';
    out += value;
    out += '\n';
  };
  tail("_sum", number(sum_));
  tail("_count", std::to_string(count_));
}

histogram_family::histogram_family(std::string name, std::string help,
                                   std::string label,
                                   std::span<const double> bounds)
  : name_(std::move(name)),
    help_(std::move(help)),
    label_(std::move(label)),
    bounds_(bounds.begin(), bounds.end()) {
}

void histogram_family::observe(const std::string& label_value, double x) {
  auto i = by_label_.find(label_value);
  if (i == by_label_.end())
    i = by_label_.emplace(label_value, histogram{bounds_}).first;
  i->second.observe(x);
}

void histogram_family::render(std::string& out) const {
  out += "# HELP " + name_ + " " + help_ + "\n";
  out += "# TYPE " + name_ + " histogram\n";
  for (auto& [value, h] : by_label_)
    h.render(out, name_, label_ + "=\"" + escape_label_value(value) + "\"");
}

std::string escape_label_value(std::string_view x) {
  std::string out;
  out.reserve(x.size());
  for (char c : x) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

} // namespace omniva::contracts
