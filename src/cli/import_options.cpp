#include "cli/import_options.hpp"

#include <fmt/format.h>

#include <cstdio>
#include <filesystem>

#include "store/ids.hpp"

namespace recsys::cli {

void add_import_options(CLI::App& sub, data::ImportOptions& o) {
  sub.add_option("--format", o.format, "Input format: auto (detect per file), csv (comma or semicolon, detected), tsv or dat (::)")
      ->check(CLI::IsMember({"auto", "csv", "tsv", "dat"}))
      ->capture_default_str();
  sub.add_option("--columns", o.columns,
                 "Columns user,item[,rating[,timestamp]] as header names or 0-based indexes; "
                 "an empty entry means none (0,1,,2: no rating column)");
  sub.add_option("--values", o.values,
                 "What the value column holds: ratings (explicit: a re-rating replaces the old one), counts "
                 "(implicit: plays, clicks; duplicates and events add up) or auto (ratings when every file has one)")
      ->check(CLI::IsMember({"auto", "ratings", "counts"}))
      ->capture_default_str();
  auto* append =
      sub.add_flag("--append", o.append, "Add to the stored ratings (required when ratings are stored, or --replace)");
  auto* replace =
      sub.add_flag("--replace", o.replace, "Replace the stored ratings (required when ratings are stored, or --append)");
  // Declared to CLI11 so that one of them on the command line drops the other
  // from a config file (cli/config.cpp) instead of refusing both.
  append->excludes(replace);
  sub.add_flag("--strict", o.strict, "Abort at the first malformed row (nothing is written)");
  sub.add_option("--max-bad-fraction", o.max_bad_fraction,
                 "Abort (nothing is written) when a file has a larger share of malformed rows: the wrong file")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
}

void discard_if_created(store::Database&& db) noexcept {
  if (!db.created_data()) return;
  const bool made_directory = db.created();
  std::filesystem::path path = db.path();
  try {
    {
      store::Database gone = std::move(db);
      auto txn = gone.begin_read();
      // Another process may have started to use it meanwhile: keep it then.
      if (store::id_count(gone, txn, store::IdKind::User) > 0 || store::id_count(gone, txn, store::IdKind::Item) > 0) {
        return;
      }
    }  // closed before its files go
    // ... or have it open, importing into it (a concurrent first import
    // failed with "cannot open .../data.mdb" when its database was removed).
    if (store::in_use_by_another_process(path)) return;
    std::error_code ec;
    std::filesystem::remove(path / "data.mdb", ec);
    // A directory that existed keeps LMDB's lock file: a process that opened
    // it meanwhile keeps the one lock table every later process will use.
    if (!made_directory) return;
    std::filesystem::remove(path / "lock.mdb", ec);
    std::filesystem::remove(path, ec);  // only when nothing else is in it
  } catch (const std::exception&) {
    // Best effort: the import's own error is the one to report.
  }
}

void print_import_errors(const data::ImportReport& report) {
  for (const auto& e : report.errors) std::fprintf(stderr, "%s\n", e.c_str());
  if (report.skipped > report.errors.size()) {
    std::fprintf(stderr, "... and %llu more malformed rows\n",
                 static_cast<unsigned long long>(report.skipped - report.errors.size()));
  }
}

std::string import_summary(const data::ImportReport& r) {
  double rate = r.seconds > 0 ? static_cast<double>(r.rows_read) / r.seconds : 0.0;
  return fmt::format(
      "rows read       {}\n"
      "imported        {}{}\n"
      "skipped         {}{}\n"
      "ratings stored  {} ({} feedback){}\n"
      "users           {} ({} new, {} with ratings)\n"
      "items           {} ({} new)\n"
      "elapsed         {:.2f} s ({:.0f} rows/s)\n",
      r.rows_read, r.imported,
      r.duplicates > 0 ? fmt::format(" ({} duplicate user-item pairs merged)", r.duplicates) : std::string(),
      r.skipped, r.skipped > 0 ? " malformed rows (reasons above)" : "", r.ratings, store::feedback_name(r.feedback),
      r.values_note.empty() ? std::string() : "\n                " + r.values_note,
      r.users, r.new_users, r.users_with_ratings, r.items, r.new_items, r.seconds, rate);
}

}  // namespace recsys::cli
