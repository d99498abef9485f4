// recsys import FILE...: store ratings without training (PRODUCT.md §1).
#include <cstdio>
#include <memory>

#include "cli/import_options.hpp"
#include "cli/options.hpp"

namespace recsys::cli {

namespace {

struct ImportCommand {
  std::vector<std::string> files;
  data::ImportOptions import;
  bool quiet = false;
};

void run_import(const GlobalOptions& global, const ImportCommand& cmd) {
  auto db = open_database(global, store::OpenMode::Create);
  data::ImportOptions options = cmd.import;
  options.threads = global.threads;
  data::ImportReport report;
  try {
    report = data::import_files(db, cmd.files, options);
  } catch (...) {
    discard_if_created(std::move(db));
    throw;
  }
  print_import_errors(report);
  if (!cmd.quiet) std::fputs(import_summary(report).c_str(), stdout);
}

}  // namespace

void setup_import(CLI::App& app, const GlobalOptions& global, Runner& run) {
  auto cmd = std::make_shared<ImportCommand>();
  auto* sub = app.add_subcommand("import", "Store rating files in the database (one transaction: all or nothing)");
  sub->add_option("files", cmd->files, "Rating files: CSV, TSV (u.data), :: (ratings.dat); .gz, .zst; - for stdin")
      ->required();
  add_import_options(*sub, cmd->import);
  sub->add_flag("-q,--quiet", cmd->quiet, "Print only errors");
  sub->callback([&global, &run, cmd] { run = [&global, cmd] { run_import(global, *cmd); }; });
}

}  // namespace recsys::cli
