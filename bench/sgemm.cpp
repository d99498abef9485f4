// OpenBLAS SGEMM throughput on this machine: the reference that precompute and
// training compare themselves against (bench/precompute.sh prints the ratio).
//
//   sgemm M N K [seconds]    C(M×N) = A(M×K) · B(K×N)ᵀ-shaped like precompute
//
// Prints one line: "sgemm M N K GFLOP/s" where GFLOP = 2·M·N·K·runs / 1e9.
// The matrices are row-major, B is given transposed (items × factors), the way
// precompute multiplies a block of user factors by all item factors.
#include <cblas.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

namespace {

long parse_positive(const char* s, const char* what) {
  char* end = nullptr;
  long v = std::strtol(s, &end, 10);
  if (!end || *end != '\0' || v <= 0) {
    std::fprintf(stderr, "sgemm: %s must be a positive integer, got '%s'\n", what, s);
    std::exit(2);
  }
  return v;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4 || argc > 5) {
    std::fprintf(stderr, "usage: sgemm M N K [seconds]\n");
    return 2;
  }
  const long m = parse_positive(argv[1], "M");
  const long n = parse_positive(argv[2], "N");
  const long k = parse_positive(argv[3], "K");
  const double budget = argc == 5 ? std::atof(argv[4]) : 2.0;

  std::mt19937 rng(7);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> a(static_cast<std::size_t>(m * k)), b(static_cast<std::size_t>(n * k)),
      c(static_cast<std::size_t>(m * n));
  for (auto& x : a) x = dist(rng);
  for (auto& x : b) x = dist(rng);

  auto run = [&] {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(m), static_cast<int>(n),
                static_cast<int>(k), 1.0f, a.data(), static_cast<int>(k), b.data(), static_cast<int>(k), 0.0f,
                c.data(), static_cast<int>(n));
  };
  run();  // warm-up: thread pool start, page faults on C
  using clock = std::chrono::steady_clock;
  long runs = 0;
  auto start = clock::now();
  double elapsed = 0.0;
  do {
    run();
    ++runs;
    elapsed = std::chrono::duration<double>(clock::now() - start).count();
  } while (elapsed < budget);
  double gflops = 2.0 * static_cast<double>(m) * static_cast<double>(n) * static_cast<double>(k) *
                  static_cast<double>(runs) / elapsed / 1e9;
  std::printf("sgemm %ld %ld %ld %.2f\n", m, n, k, gflops);
  return c[0] == 12345.0f ? 1 : 0;  // keep the product observable
}
