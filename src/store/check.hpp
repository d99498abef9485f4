// `recsys check`: verifies an environment without changing it. Two passes, each
// over one read-only snapshot of its own (a commit between them is seen by the
// second only):
//   1. LMDB level (check.cpp): every named database opens and its cursor walk
//      matches its entry count; the free list is readable; used + free pages
//      add up to the last page (LMDB's own mdb_audit invariant); the data file
//      is long enough; the schema version is ours.
//   2. recsys level (check_tables.cpp, check_cache.cpp): both directions of the id maps, the
//      ratings against their stored totals, every model generation's factor
//      rows against its description, every cached list against the id
//      maps and the serving generation, and the item metadata and filter
//      candidates (check_items.cpp).
// Each problem is one finding (table, key, what is wrong); a sound database
// has none. The layouts checked are the ones docs/storage.md describes.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "store/database.hpp"

namespace recsys::store {

struct CheckReport {
  // "table key: problem", one per line; at most `limit` are kept, `total` counts all.
  std::vector<std::string> findings;
  std::size_t total = 0;
  std::size_t limit = 1000;

  // What was walked, for the summary line.
  std::size_t tables = 0;
  std::uint64_t entries = 0;
  std::uint64_t pages = 0;
  std::uint32_t users = 0;
  std::uint32_t items = 0;
  std::uint64_t ratings = 0;
  std::size_t models = 0;
  std::optional<std::uint32_t> serving;
  std::size_t lists = 0;

  bool ok() const { return total == 0; }
  void add(std::string_view table, std::string_view key, std::string_view problem);
};

// Checks the environment at `path` (a directory or a file, as --db). Throws
// only when it cannot be opened at all; everything else is a finding.
CheckReport check_environment(const std::filesystem::path& path);
// Its first pass alone, LMDB's structures (every tree walked, the free list,
// the page count), on a single-file environment nobody else has open: what
// backup verifies its compacted copy with. Read without a lock table
// (MDB_NOLOCK): no FILE-lock is made.
CheckReport check_structure(const std::filesystem::path& file);

// The recsys-level pass on an open database (one read transaction); the
// caches part (check_cache.cpp) needs report.users/items from the id maps.
void check_tables(const Database& db, const Txn& txn, CheckReport& report);
void check_caches(const Database& db, const Txn& txn, CheckReport& report);
// Item metadata (item_meta, item_fields) and filter candidates (check_items.cpp).
void check_items(const Database& db, const Txn& txn, CheckReport& report);

// A key as a person reads it: 'text' when printable, else hex bytes.
std::string printable_key(std::string_view bytes);

}  // namespace recsys::store
