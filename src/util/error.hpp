// Error kinds that main() turns into exit codes: UsageError -> 2 (bad options
// or arguments), anything else derived from std::exception -> 1.
#pragma once

#include <atomic>
#include <stdexcept>
#include <string>

namespace recsys {

// The line main's SIGINT/SIGTERM handler writes instead of its own ("the work
// this command had not yet committed is not stored") once a command has
// committed part of its work (train FILE… after its import). A string literal
// (never freed), read in the signal handler: the atomic is lock-free.
inline std::atomic<const char*> interrupt_line{nullptr};
static_assert(std::atomic<const char*>::is_always_lock_free);

class UsageError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

}  // namespace recsys
