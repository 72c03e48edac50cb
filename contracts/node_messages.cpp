#include "contracts/node_messages.hpp"

#include <charconv>

namespace omniva::contracts {

bool fits(const module_contract& contract, const pool_spec& pool) noexcept {
  auto& r = contract.resources;
  return r.cpu <= pool.cpu && r.memory_gb <= pool.memory_gb
         && (!r.gpu || pool.gpu);
}

std::optional<pool_spec> parse_pool_spec(std::string_view text) {
  std::vector<std::string_view> parts;
  size_t pos = 0;
  while (true) {
    auto colon = text.find(':', pos);
    parts.push_back(text.substr(pos, colon == std::string_view::npos
                                       ? std::string_view::npos
                                       : colon - pos));
    if (colon == std::string_view::npos)
      break;
    pos = colon + 1;
  }
  if (parts.size() < 4 || parts.size() > 5 || parts[0].empty())
    return std::nullopt;
  pool_spec p;
  p.name = std::string{parts[0]};
  auto number = [](std::string_view s, auto& out) {
    auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc{} && ptr == s.data() + s.size();
  };
  if (!number(parts[1], p.workers) || p.workers == 0
      || !number(parts[2], p.cpu) || p.cpu <= 0
      || !number(parts[3], p.memory_gb) || p.memory_gb <= 0)
    return std::nullopt;
  if (parts.size() == 5) {
    if (parts[4] == "gpu" || parts[4] == "true")
      p.gpu = true;
    else if (parts[4] != "false" && parts[4] != "nogpu")
      return std::nullopt;
  }
  return p;
}

} // namespace omniva::contracts
