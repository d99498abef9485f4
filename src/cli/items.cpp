// recsys items FILE: item metadata (titles, genres, any fields) shown in every
// answer (PRODUCT.md §1, §10). The metadata and the cached lists that carry it
// are replaced in ONE write transaction: served bodies never mix two loads.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cstdio>
#include <memory>

#include "cli/import_options.hpp"
#include "cli/options.hpp"
#include "data/item_reader.hpp"
#include "store/ids.hpp"
#include "store/items.hpp"
#include "util/timer.hpp"

namespace recsys::cli {

namespace {

struct ItemsCommand {
  std::string file;
  std::string format = "auto";
  std::string encoding = "auto";
  data::ItemReadOptions read;
  bool quiet = false;
};

struct Stored {
  std::size_t known = 0;  // items the ratings (id maps) know
  std::size_t lists = 0;  // cached lists rewritten
};

void run_items(const GlobalOptions& global, const ItemsCommand& cmd) {
  Timer timer;
  data::ItemReadOptions options = cmd.read;
  options.format = data::parse_item_format(cmd.format);
  options.encoding = data::parse_encoding(cmd.encoding);
  // Parse everything before the database is touched: a bad file changes nothing.
  data::ItemReadResult read = data::read_item_file(cmd.file, options);
  auto db = open_database(global, store::OpenMode::Create);
  Stored stored;
  try {
    stored = db.write([&](store::Txn& txn) {
      Stored s;
      store::replace_item_metadata(db, txn, read.items, read.fields);
      for (const auto& item : read.items) s.known += store::find_index(db, txn, store::IdKind::Item, item.id).has_value();
      s.lists = store::refresh_cached_lists(db, txn);
      return s;
    });
  } catch (...) {
    discard_if_created(std::move(db));
    throw;
  }
  for (const auto& e : read.errors) std::fprintf(stderr, "%s\n", e.c_str());
  if (read.skipped > read.errors.size()) {
    std::fprintf(stderr, "... and %llu more bad rows\n",
                 static_cast<unsigned long long>(read.skipped - read.errors.size()));
  }
  for (const auto& why : read.dropped) std::fprintf(stderr, "%s: not stored: %s\n", cmd.file.c_str(), why.c_str());
  if (cmd.quiet) return;
  std::string summary = fmt::format(
      "format          {} ({})\n"
      "rows read       {}\n"
      "skipped         {}{}\n"
      "items stored    {} ({} in the ratings, {} not yet: kept for later imports and events)\n"
      "fields          {}\n"
      "lists updated   {}\n"
      "elapsed         {:.2f} s\n",
      data::item_format_name(read.format), data::encoding_name(read.encoding), read.rows_read, read.skipped,
      read.skipped > 0 ? " bad rows (reasons above)" : "", read.items.size(), stored.known,
      read.items.size() - stored.known, read.fields.empty() ? std::string("(none)") : fmt::format("{}", fmt::join(read.fields, ", ")),
      stored.lists, timer.seconds());
  std::fputs(summary.c_str(), stdout);
}

}  // namespace

void setup_items(CLI::App& app, const GlobalOptions& global, Runner& run) {
  auto cmd = std::make_shared<ItemsCommand>();
  auto* sub = app.add_subcommand("items",
                                 "Store item metadata (titles, genres, any fields) shown in every answer; replaces "
                                 "what was stored, in one transaction");
  sub->add_option("file", cmd->file, "u.item, movies.csv, or a CSV/TSV/JSON-lines file; .gz, .zst; - for stdin")
      ->required();
  sub->add_option("--format", cmd->format, "auto (detect), uitem, movies, csv, tsv or jsonl")
      ->check(CLI::IsMember({"auto", "uitem", "movies", "csv", "tsv", "jsonl"}))
      ->capture_default_str();
  sub->add_option("--columns", cmd->read.columns,
                  "CSV/TSV/JSON lines: the id column, then the fields: header names or 0-based indexes, "
                  "name=column to name one (id,title,genres or 0,title=1,genres=2)");
  sub->add_option("--fields", cmd->read.fields,
                  "Fields besides the title to store and show in answers (default: u.item genres, others all)");
  sub->add_option("--encoding", cmd->encoding, "auto (u.item: Latin-1 unless valid UTF-8; others UTF-8), utf-8, latin-1")
      ->check(CLI::IsMember({"auto", "utf-8", "utf8", "latin-1", "latin1"}))
      ->capture_default_str();
  sub->add_flag("--strict", cmd->read.strict, "Abort at the first bad row (nothing is written)");
  sub->add_option("--max-bad-fraction", cmd->read.max_bad_fraction,
                  "Abort (nothing is written) when a larger share of rows is bad: the wrong file")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  sub->add_flag("-q,--quiet", cmd->quiet, "Print only errors");
  sub->callback([&global, &run, cmd] { run = [&global, cmd] { run_items(global, *cmd); }; });
}

}  // namespace recsys::cli
