#pragma once

// How Boost.Test prints the project's error codes in failure messages: by
// their stable names ("missing_input"), not as numbers. Tests that compare
// codes include this header.

#include "contracts/error_code.hpp"

#include <ostream>

namespace omniva::contracts {

/// Prints `x` by its stable name (`to_string`); found by Boost.Test's lookup.
inline std::ostream& boost_test_print_type(std::ostream& os, ec x) {
  return os << to_string(x);
}

} // namespace omniva::contracts
