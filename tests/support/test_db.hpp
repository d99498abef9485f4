// A recsys database in a test's TempDir (at DIR/db).
#pragma once

#include <cstddef>

#include "store/database.hpp"
#include "temp_dir.hpp"

namespace recsys::test {

inline store::Database open_test_db(const TempDir& dir, store::OpenMode mode,
                                    std::size_t initial_map_size = std::size_t{1} << 26) {
  store::OpenOptions o;
  o.path = dir / "db";
  o.mode = mode;
  o.initial_map_size = initial_map_size;
  return store::Database::open(o);
}

}  // namespace recsys::test
