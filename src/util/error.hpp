// Error kinds that main() turns into exit codes: UsageError -> 2 (bad options
// or arguments), anything else derived from std::exception -> 1.
#pragma once

#include <stdexcept>
#include <string>

namespace recsys {

class UsageError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

}  // namespace recsys
