// Static-partition parallel loops over an index range. Workers hand their
// exceptions back to the caller (the first one is rethrown), as fastText does.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace recsys {

// Number of worker threads to use: `requested` if positive, else all cores.
inline unsigned resolve_threads(int requested) {
  if (requested > 0) return static_cast<unsigned>(requested);
  unsigned hw = std::thread::hardware_concurrency();
  return hw == 0 ? 1 : hw;
}

// Calls fn(begin, end, worker) on `threads` contiguous chunks of [0, n).
// Deterministic: the chunk boundaries depend only on n and threads.
template <typename Fn>
void parallel_chunks(std::size_t n, unsigned threads, Fn&& fn) {
  threads = static_cast<unsigned>(std::max<std::size_t>(1, std::min<std::size_t>(threads, n)));
  if (threads <= 1) {
    fn(std::size_t{0}, n, 0u);
    return;
  }
  std::vector<std::thread> pool;
  std::vector<std::exception_ptr> errors(threads);
  pool.reserve(threads);
  for (unsigned t = 0; t < threads; ++t) {
    std::size_t begin = n * t / threads;
    std::size_t end = n * (t + 1) / threads;
    pool.emplace_back([&, begin, end, t] {
      try {
        fn(begin, end, t);
      } catch (...) {
        errors[t] = std::current_exception();
      }
    });
  }
  for (auto& th : pool) th.join();
  for (auto& e : errors)
    if (e) std::rethrow_exception(e);
}

// Dynamic scheduling: workers take blocks of `grain` indexes from a shared
// counter, so uneven rows (power-law users) balance out. fn(begin, end, worker).
template <typename Fn>
void parallel_dynamic(std::size_t n, unsigned threads, std::size_t grain, Fn&& fn) {
  grain = std::max<std::size_t>(1, grain);
  std::size_t blocks = (n + grain - 1) / grain;
  threads = static_cast<unsigned>(std::max<std::size_t>(1, std::min<std::size_t>(threads, blocks)));
  if (threads <= 1) {
    for (std::size_t b = 0; b < n; b += grain) fn(b, std::min(n, b + grain), 0u);
    return;
  }
  std::atomic<std::size_t> next{0};
  std::vector<std::thread> pool;
  std::vector<std::exception_ptr> errors(threads);
  for (unsigned t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      try {
        for (;;) {
          std::size_t b = next.fetch_add(grain);
          if (b >= n) break;
          fn(b, std::min(n, b + grain), t);
        }
      } catch (...) {
        errors[t] = std::current_exception();
        next.store(n);  // stop the others early
      }
    });
  }
  for (auto& th : pool) th.join();
  for (auto& e : errors)
    if (e) std::rethrow_exception(e);
}

}  // namespace recsys
