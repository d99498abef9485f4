// A database of 150,000 generated ratings (3000 users × 1500 items) for the
// tune tests whose budget or signal must arrive while the plan still runs:
// the whole plan takes far longer than a few seconds on it.
#pragma once

#include <catch2/catch.hpp>

#include <string>

#include "process.hpp"
#include "temp_dir.hpp"

namespace recsys::test {

// Generates the ratings into `dir` and imports them; returns the database path.
inline std::string generated_db(const TempDir& dir) {
  auto db = (dir / "db").string();
  auto file = (dir / "g.csv").string();
  REQUIRE(run_recsys({"generate", "--users", "3000", "--items", "1500", "--ratings", "150000", "-o", file}, dir).status ==
          0);
  REQUIRE(run_recsys({"--db", db, "import", file}, dir).status == 0);
  return db;
}

}  // namespace recsys::test
