#include "store/check.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstring>
#include <system_error>

namespace fs = std::filesystem;

namespace recsys::store {

namespace {

// The tables Database::open creates (docs/storage.md); others are reported
// only when they cannot be read.
constexpr std::array<std::string_view, 13> kTables = {
    "meta",    "user_ids", "user_keys",    "item_ids",     "item_keys",  "ratings",   "models",
    "factors", "user_recs", "item_similar", "popularity", "item_meta", "candidates"};

// LMDB's FREE_DBI: the free list, keyed by transaction id; each value is an
// IDL (a size_t count, then that many page numbers).
constexpr MDB_dbi kFreeDbi = 0;
constexpr MDB_dbi kMainDbi = 1;  // LMDB's MAIN_DBI: table names -> their roots
constexpr std::uint64_t kMetaPages = 2;

std::uint64_t tree_pages(const MDB_stat& st) {
  return std::uint64_t{st.ms_branch_pages} + st.ms_leaf_pages + st.ms_overflow_pages;
}

// Walks one database with a cursor; returns false when the walk failed.
bool walk(const Txn& txn, MDB_dbi dbi, std::string_view name, CheckReport& report, std::uint64_t& entries) {
  entries = 0;
  try {
    Cursor cursor = Cursor::open(txn, Dbi(dbi));
    std::string_view k, v;
    for (bool ok = cursor.get(k, v, MDB_FIRST); ok; ok = cursor.get(k, v, MDB_NEXT)) ++entries;
    return true;
  } catch (const LmdbError& e) {
    report.add(name, "", fmt::format("walking it failed after {} entries: {}", entries, e.what()));
    return false;
  }
}

// Free pages recorded in the free list; nullopt when it cannot be read.
std::optional<std::uint64_t> free_pages(const Txn& txn, std::uint64_t page_count, CheckReport& report) {
  std::uint64_t pages = 0;
  try {
    Cursor cursor = Cursor::open(txn, Dbi(kFreeDbi));
    std::string_view k, v;
    for (bool ok = cursor.get(k, v, MDB_FIRST); ok; ok = cursor.get(k, v, MDB_NEXT)) {
      std::size_t n = 0;
      if (v.size() < sizeof n) {
        report.add("free list", printable_key(k), "record shorter than its page count");
        continue;
      }
      std::memcpy(&n, v.data(), sizeof n);
      if (v.size() != (n + 1) * sizeof(std::size_t)) {
        report.add("free list", printable_key(k), fmt::format("record of {} bytes for {} pages", v.size(), n));
        continue;
      }
      for (std::size_t i = 1; i <= n; ++i) {
        std::size_t pgno;
        std::memcpy(&pgno, v.data() + i * sizeof pgno, sizeof pgno);
        if (pgno < kMetaPages || pgno >= page_count) {
          report.add("free list", printable_key(k), fmt::format("page {} is outside 2..{}", pgno, page_count - 1));
        }
      }
      pages += n;
    }
  } catch (const LmdbError& e) {
    report.add("free list", "", fmt::format("walking it failed: {}", e.what()));
    return std::nullopt;
  }
  return pages;
}

// LMDB aborts the process when it meets a page that breaks its invariants
// (mdb_assert). The finding is printed first, in the report's format, so the
// damage is named even though the check ends there (exit status 134).
void lmdb_assert(MDB_env*, const char* message) {
  std::fprintf(stdout, "environment: LMDB stopped on a damaged page: %s\n", message);
  std::fflush(stdout);
}

// The reason the data file cannot hold what the last commit refers to (a copy
// cut short), or "" when it can. Only a finding, never a refusal at open:
// without MDB_WRITEMAP, LMDB may commit a last page it never wrote (a page
// freed again in the same transaction; mdb_env_copyfd0 cuts its copy to the
// file size for that reason).
std::string truncation(const Env& env, const fs::path& data_file) {
  const MDB_envinfo info = env.info();
  const MDB_stat stat = env.stat();
  const std::uint64_t needed = (std::uint64_t{info.me_last_pgno} + 1) * stat.ms_psize;
  std::error_code ec;
  const auto bytes = fs::file_size(data_file, ec);
  if (ec || bytes >= needed) return {};
  return "the data file " + data_file.string() + " has " + std::to_string(bytes) + " bytes but the last commit uses " +
         std::to_string(needed);
}

// Pass 1: LMDB structures, in a read-only environment of its own. Returns
// whether the recsys-level pass can run (our tables exist, our schema).
bool check_lmdb(const fs::path& path, CheckReport& report, bool private_file = false) {
  Env::Options options;
  // A file nobody else opens (backup's copy before it is published) is read
  // without a lock table: none is left beside it, whatever ends the check.
  options.flags = MDB_RDONLY | MDB_NOTLS | (private_file ? MDB_NOLOCK : 0);
  options.mode = kDbFileMode;  // a lock file made here has the mode of every other command's
  std::error_code ec;
  if (!fs::is_directory(path, ec)) options.flags |= MDB_NOSUBDIR;
  Env env = open_env(path, options, OpenMode::ReadOnly);
  mdb_env_set_assert(env.handle(), lmdb_assert);
  MDB_envinfo before = env.info();
  Txn txn = Txn::begin(env.handle(), MDB_RDONLY);
  MDB_stat env_stat = env.stat();
  const std::uint64_t page_count = std::uint64_t{before.me_last_pgno} + 1;
  std::uint64_t used = kMetaPages + tree_pages(env_stat);

  // The data file must hold every page the last commit refers to.
  fs::path data = options.flags & MDB_NOSUBDIR ? path : path / "data.mdb";
  if (auto cut = truncation(env, data); !cut.empty()) {
    report.add("environment", "", cut);
    return false;  // reading the missing pages through the map would raise SIGBUS
  }

  // Every name in the main database is a table: open and walk each.
  std::vector<std::string> names;
  std::uint64_t main_entries = 0;
  if (!walk(txn, kMainDbi, "main database", report, main_entries)) return false;
  {
    Cursor cursor = Cursor::open(txn, Dbi(kMainDbi));
    std::string_view k, v;
    for (bool ok = cursor.get(k, v, MDB_FIRST); ok; ok = cursor.get(k, v, MDB_NEXT)) names.emplace_back(k);
  }
  bool sound_tables = true;
  for (const auto& name : names) {
    MDB_dbi dbi = 0;
    int rc = mdb_dbi_open(txn.handle(), name.c_str(), 0, &dbi);
    if (rc != MDB_SUCCESS) {
      report.add(name, "", fmt::format("cannot be opened: {}", mdb_strerror(rc)));
      sound_tables = false;
      continue;
    }
    ++report.tables;
    MDB_stat st = Dbi(dbi).stat(txn);
    used += tree_pages(st);
    std::uint64_t entries = 0;
    if (!walk(txn, dbi, name, report, entries)) {
      sound_tables = false;
      // A failed walk can leave the transaction in LMDB's error state, where
      // every later call fails with MDB_BAD_TXN: the other tables and the
      // schema version were lost with the report. The rest is read in a new
      // snapshot (a writer may have committed between: this pass is then two).
      txn = Txn::begin(env.handle(), MDB_RDONLY);
      continue;
    }
    report.entries += entries;
    if (entries != st.ms_entries) {
      report.add(name, "", fmt::format("a cursor walk finds {} entries but the table records {}", entries,
                                       st.ms_entries));
    }
  }
  // The schema version, read first: a version-1 database may lack the tables
  // version 2 added (a read-write open of this version adds them).
  std::optional<std::string_view> version;
  if (std::find(names.begin(), names.end(), "meta") != names.end()) {
    version = Dbi::open(txn, "meta", 0).get(txn, "schema_version");
  }
  const bool version_1 = version && version->size() == sizeof(std::uint32_t) && load<std::uint32_t>(*version) == 1;
  if (names.empty()) {
    // No table at all: a creation that failed before its first commit.
    report.add("environment", "",
               "empty, without any table: its creation did not finish (a full disk, or no file descriptors left); "
               "import ratings into it again (recsys import FILE)");
    return false;
  }
  for (auto table : kTables) {
    if (table == "candidates" && version_1) continue;
    if (std::find(names.begin(), names.end(), table) == names.end()) {
      report.add(table, "", "table is missing: not a recsys database, or a damaged one");
      sound_tables = false;
    }
  }

  // Used + free pages cover every page exactly once (mdb_audit's invariant),
  // when no writer committed while we counted.
  MDB_stat free_stat{};
  bool have_free_stat = mdb_stat(txn.handle(), kFreeDbi, &free_stat) == MDB_SUCCESS;
  auto free = free_pages(txn, page_count, report);
  MDB_envinfo after = env.info();
  bool stable = before.me_last_txnid == after.me_last_txnid && mdb_txn_id(txn.handle()) == before.me_last_txnid;
  if (free && have_free_stat && stable) {
    used += tree_pages(free_stat);
    if (used + *free != page_count) {
      report.add("environment", "", fmt::format("{} pages in use and {} free, but the last commit has {} pages",
                                                used, *free, page_count));
    }
  }
  report.pages = page_count;

  // The schema version, before any recsys-level reading.
  if (std::find(names.begin(), names.end(), "meta") != names.end()) {
    if (!version) {
      report.add("meta", "'schema_version'", "missing: not a recsys database");
      return false;
    }
    const bool readable = version->size() == sizeof(std::uint32_t) &&
                          load<std::uint32_t>(*version) >= kOldestReadableSchema &&
                          load<std::uint32_t>(*version) <= kSchemaVersion;
    if (!readable) {
      std::string found = version->size() == 4 ? std::to_string(load<std::uint32_t>(*version)) : "unreadable";
      report.add("meta", "'schema_version'",
                 fmt::format("is {} but this recsys reads versions {} to {}", found, kOldestReadableSchema,
                             kSchemaVersion));
      return false;
    }
  }
  return sound_tables;
}

}  // namespace

void CheckReport::add(std::string_view table, std::string_view key, std::string_view problem) {
  ++total;
  if (findings.size() >= limit) return;
  std::string line(table);
  if (!key.empty()) {
    line += ' ';
    line += key;
  }
  line += ": ";
  line += problem;
  findings.push_back(std::move(line));
}

std::string printable_key(std::string_view bytes) {
  bool printable = !bytes.empty();
  for (unsigned char c : bytes) printable = printable && c >= 0x20 && c != 0x7f && c != '\'';
  if (printable) {
    std::string out(1, '\'');  // appended, not "'" + s: GCC 12 warns falsely (bug 105329)
    out.append(bytes);
    out.push_back('\'');
    return out;
  }
  std::string out = "0x";
  for (unsigned char c : bytes) out += fmt::format("{:02x}", c);
  return out;
}

CheckReport check_structure(const fs::path& file) {
  CheckReport report;
  check_lmdb(file, report, true);
  return report;
}

CheckReport check_environment(const fs::path& given) {
  CheckReport report;
  const fs::path path = resolve_db_path(given);  // the lock every other process uses
  refuse_file_inside_database(path);
  std::error_code ec;
  if (!fs::exists(path, ec)) {
    throw std::runtime_error("no recsys database at '" + path.string() + "': point --db / RECSYS_DB at one");
  }
  if (fs::is_directory(path, ec) && !fs::exists(path / "data.mdb", ec)) {
    throw std::runtime_error("'" + path.string() + "' is a directory without a recsys database (data.mdb)");
  }
  refuse_unmappable(path, false);
  refuse_second_lock(path);
  if (!check_lmdb(path, report)) return report;
  // Pass 2 opens the environment again: the first one is closed by now, as
  // LMDB requires (one MDB_env per file and process).
  OpenOptions options;
  options.path = path;
  options.mode = OpenMode::ReadOnly;
  Database db = Database::open(options);
  mdb_env_set_assert(db.env().handle(), lmdb_assert);
  Txn txn = db.begin_read();
  try {
    check_tables(db, txn, report);
  } catch (const std::exception& e) {
    report.add("environment", "", std::string("reading the tables stopped: ") + e.what());
  }
  return report;
}

}  // namespace recsys::store
