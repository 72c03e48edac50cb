#include "contracts/histogram.hpp"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cstdlib>

namespace omniva::contracts {

namespace {

/// A number in its shortest round-trip form ("10", "0.0025", "4.5"), as
/// Prometheus writes floats (%g's shortest precision would give "1e+01").
std::string number(double x) {
  char buf[32];
  auto [end, err] = std::to_chars(buf, buf + sizeof buf, x);
  if (err != std::errc{})
    return std::to_string(x);
  return std::string(buf, end);
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
  : histogram_family(std::move(name), std::move(help),
                     std::vector<std::string>{std::move(label)}, bounds) {
}

histogram_family::histogram_family(std::string name, std::string help,
                                   std::vector<std::string> labels,
                                   std::span<const double> bounds)
  : name_(std::move(name)),
    help_(std::move(help)),
    labels_(std::move(labels)),
    bounds_(bounds.begin(), bounds.end()) {
}

void histogram_family::observe(const std::string& label_value, double x) {
  observe_labels(std::vector<std::string>{label_value}, x);
}

void histogram_family::observe_labels(std::vector<std::string> label_values,
                                      double x) {
  label_values.resize(labels_.size());
  auto i = by_label_.find(label_values);
  if (i == by_label_.end())
    i = by_label_.emplace(std::move(label_values), histogram{bounds_}).first;
  i->second.observe(x);
}

const histogram*
histogram_family::find(const std::vector<std::string>& label_values) const {
  auto i = by_label_.find(label_values);
  return i == by_label_.end() ? nullptr : &i->second;
}

void histogram_family::render(std::string& out) const {
  out += "# HELP " + name_ + " " + help_ + "\n";
  out += "# TYPE " + name_ + " histogram\n";
  for (auto& [values, h] : by_label_) {
    std::string labels;
    for (size_t i = 0; i < labels_.size(); ++i) {
      if (i > 0)
        labels += ',';
      labels += labels_[i] + "=\"" + escape_label_value(values[i]) + "\"";
    }
    h.render(out, name_, labels);
  }
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
