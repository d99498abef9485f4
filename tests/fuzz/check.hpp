// Invariant checks for the fuzz targets: a broken invariant prints what was
// expected and aborts, which libFuzzer reports as a crash and saves the input.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <exception>

namespace recsys::fuzz {

[[noreturn]] inline void invariant_failed(const char* what, const char* file, int line) {
  std::fprintf(stderr, "%s:%d: invariant broken: %s\n", file, line, what);
  std::abort();
}

}  // namespace recsys::fuzz

#define FUZZ_CHECK(cond) \
  ((cond) ? void(0) : ::recsys::fuzz::invariant_failed(#cond, __FILE__, __LINE__))
