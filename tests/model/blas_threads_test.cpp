// OpenBLAS's process-wide thread count under overlapping holders.
#include <catch2/catch.hpp>
#include <cblas.h>

#include <optional>

#include "model/blas_threads.hpp"

using recsys::model::BlasThreads;

TEST_CASE("overlapping BLAS thread holders keep their count until the last one leaves") {
  const int original = openblas_get_num_threads();
  openblas_set_num_threads(2);
  const int before = openblas_get_num_threads();
  if (before < 2) {
    // OpenBLAS caps the count at the cores it found: nothing to tell apart here.
    WARN("OpenBLAS runs one thread on this machine: the restore order cannot be observed");
  }
  {
    std::optional<BlasThreads> a(std::in_place, 1u), b(std::in_place, 1u);
    CHECK(openblas_get_num_threads() == 1);
    // The first holder leaves while the second still multiplies: single-threaded
    // must stay (a save/restore per holder put back `before` here).
    a.reset();
    CHECK(openblas_get_num_threads() == 1);
    b.reset();
    CHECK(openblas_get_num_threads() == before);
  }
  {
    std::optional<BlasThreads> outer(std::in_place, 1u);
    { BlasThreads inner(1); }  // nested and left first
    CHECK(openblas_get_num_threads() == 1);
  }
  CHECK(openblas_get_num_threads() == before);
  openblas_set_num_threads(original);
}
