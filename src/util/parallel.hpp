// Static-partition parallel loops over an index range. Workers hand their
// exceptions back to the caller (the first one is rethrown), as fastText does.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <exception>
#include <functional>
#include <mutex>
#include <system_error>
#include <thread>
#include <vector>

namespace recsys {

// Number of worker threads to use: `requested` if positive, else all cores.
inline unsigned resolve_threads(int requested) {
  if (requested > 0) return static_cast<unsigned>(requested);
  unsigned hw = std::thread::hardware_concurrency();
  return hw == 0 ? 1 : hw;
}

// Runs work(0), …, work(threads - 1) on threads of their own and joins them.
// A thread the system will not start (pthread_create failing under an
// address-space or a process limit: each thread maps a stack) leaves its
// share, and those after it, to the caller: before, the threads already
// started were destroyed unjoined and std::terminate aborted the process.
// `work` must be safe to call from several threads at once. One thread: the
// caller's.
template <typename Work>
void run_threads(unsigned threads, Work&& work) {
  if (threads <= 1) {
    work(0u);
    return;
  }
  std::vector<std::thread> pool;
  pool.reserve(threads);
  unsigned t = 0;
  for (; t < threads; ++t) {
    try {
      pool.emplace_back(std::ref(work), t);
    } catch (const std::system_error&) {
      break;
    }
  }
  std::exception_ptr error;
  try {
    for (; t < threads; ++t) work(t);
  } catch (...) {
    error = std::current_exception();
  }
  for (auto& th : pool) th.join();
  if (error) std::rethrow_exception(error);
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
  std::vector<std::exception_ptr> errors(threads);
  run_threads(threads, [&](unsigned t) {
    try {
      fn(n * t / threads, n * (t + 1) / threads, t);
    } catch (...) {
      errors[t] = std::current_exception();
    }
  });
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
  std::vector<std::exception_ptr> errors(threads);
  run_threads(threads, [&](unsigned t) {
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
  for (auto& e : errors)
    if (e) std::rethrow_exception(e);
}

}  // namespace recsys
