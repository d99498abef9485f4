// recsys backup DEST: a consistent hot copy of the database (mdb_env_copy2 with
// compaction runs inside one read transaction, so a server or an import may keep
// running). DEST becomes a database directory usable with --db on another VM.
#include <fmt/format.h>

#include <cstdio>
#include <filesystem>
#include <memory>

#include "cli/options.hpp"
#include "util/log.hpp"
#include "util/timer.hpp"

namespace recsys::cli {

namespace {

struct BackupOptions {
  std::string dest;
  bool no_compact = false;
};

void run_backup(const GlobalOptions& global, const BackupOptions& options) {
  namespace fs = std::filesystem;
  auto db = open_database(global, store::OpenMode::ReadOnly);
  fs::path dest = options.dest;
  std::error_code ec;
  if (fs::exists(dest, ec)) {
    if (!fs::is_directory(dest) || !fs::is_empty(dest)) {
      throw std::runtime_error("backup destination '" + dest.string() +
                               "' already exists and is not an empty directory; choose a new path");
    }
  } else {
    fs::create_directories(dest);
  }
  Timer timer;
  try {
    db.env().copy_to(dest.string(), !options.no_compact);
  } catch (...) {
    fs::remove_all(dest, ec);  // never leave a half-written copy that looks like a database
    throw;
  }
  auto size = fs::file_size(dest / "data.mdb", ec);
  std::printf("%s", fmt::format("backup of {} written to {} ({:.1f} MiB in {:.2f} s)\n", db.path().string(),
                                dest.string(), static_cast<double>(size) / 1048576.0, timer.seconds())
                        .c_str());
}

}  // namespace

void setup_backup(CLI::App& app, const GlobalOptions& global, Runner& run) {
  auto options = std::make_shared<BackupOptions>();
  auto* sub = app.add_subcommand("backup", "Write a consistent hot copy of the database to DEST (a new directory)");
  sub->add_option("dest", options->dest, "Destination directory (must not exist, or be empty)")->required();
  sub->add_flag("--no-compact", options->no_compact, "Copy pages as they are instead of compacting");
  sub->callback([&global, &run, options] { run = [&global, options] { run_backup(global, *options); }; });
}

}  // namespace recsys::cli
