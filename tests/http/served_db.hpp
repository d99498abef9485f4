// A small database in a temp dir, precomputed (or not), for server tests.
#pragma once

#include <string>

#include "../rank/small_db.hpp"
#include "rank/precompute.hpp"
#include "temp_dir.hpp"

namespace recsys::test {

struct ServedDb {
  TempDir dir;
  SmallDb s;
  std::string db;
  ServedDb(int users, int items, unsigned seed, std::size_t k, bool precompute = true) {
    db = (dir / "db").string();
    s = make_small_db(dir / "db", users, items, seed);
    if (precompute) {
      auto handle = open_db(dir / "db");
      rank::PrecomputeOptions o;
      o.k = k;
      rank::precompute(handle, o);
    }
  }
};

}  // namespace recsys::test
