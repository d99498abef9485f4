// A database built the way a user builds one, by the real binary: generate,
// import, train, precompute. Shared by the check and crash tests.
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

#include "process.hpp"
#include "temp_dir.hpp"

namespace recsys::test {

// Runs recsys and throws with its stderr unless it exits 0.
inline RunResult must_run(const std::vector<std::string>& args, const TempDir& dir) {
  auto r = run_recsys(args, dir);
  if (r.status != 0) throw std::runtime_error("recsys failed (" + std::to_string(r.status) + "): " + r.err);
  return r;
}

struct PipelineOptions {
  int users = 300;
  int items = 200;
  int ratings = 6000;
  int factors = 8;
  int iterations = 3;
  unsigned seed = 7;
};

// Writes DIR/ratings.csv and builds DIR/<name> from it: import, train, precompute.
inline std::string build_pipeline_db(const TempDir& dir, const std::string& name, const PipelineOptions& o = {}) {
  std::string db = (dir / name).string();
  std::string csv = (dir / (name + ".csv")).string();
  must_run({"generate", "--users", std::to_string(o.users), "--items", std::to_string(o.items), "--ratings",
            std::to_string(o.ratings), "--seed", std::to_string(o.seed), "-o", csv},
           dir);
  must_run({"--db", db, "import", csv}, dir);
  must_run({"--db", db, "--threads", "1", "train", "--factors", std::to_string(o.factors), "--iterations",
            std::to_string(o.iterations), "--split", "none"},
           dir);
  must_run({"--db", db, "precompute", "--k", "10"}, dir);
  return db;
}

}  // namespace recsys::test
