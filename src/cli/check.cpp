// recsys check: verifies a database without changing it (store/check.hpp) and
// lists what is wrong, one finding per line. Exit 0 when sound, 1 otherwise,
// so scripts and crash tests can rely on the status alone.
#include <fmt/format.h>

#include <cstdio>
#include <memory>
#include <stdexcept>

#include "cli/options.hpp"
#include "store/check.hpp"
#include "util/fault_guard.hpp"

namespace recsys::cli {

namespace {

void run_check(const GlobalOptions& global) {
  std::filesystem::path path = global.db.empty() ? store::default_db_path() : std::filesystem::path(global.db);
  store::CheckReport r;
  {
    // A page damaged badly enough makes LMDB fault or stop at an assertion
    // (which store/check.cpp prints as a finding first): one line, exit 1.
    util::FaultGuard guard(fmt::format(
        "recsys: error: check: LMDB stopped at a damaged page of '{}' and the check cannot go past it; restore a "
        "backup (recsys backup --no-compact keeps a copy of the damaged file, damage included, for inspection)\n",
        path.string()));
    r = store::check_environment(path);
  }
  std::string out;
  for (const auto& line : r.findings) out += line + '\n';
  if (r.total > r.findings.size()) out += fmt::format("… and {} more findings\n", r.total - r.findings.size());
  std::fputs(out.c_str(), stdout);
  if (!r.ok()) {
    std::fflush(stdout);
    throw std::runtime_error(fmt::format("check: {} finding{} in '{}'", r.total, r.total == 1 ? "" : "s",
                                         path.string()));
  }
  std::printf("%s", fmt::format("ok: {} tables, {} entries, {} pages; {} users, {} items, {} ratings, {} models, "
                                "serving {}, {} cached lists\n",
                                r.tables, r.entries, r.pages, r.users, r.items, r.ratings, r.models,
                                r.serving ? fmt::format("generation {}", *r.serving) : "none", r.lists)
                        .c_str());
}

}  // namespace

void setup_check(CLI::App& app, const GlobalOptions& global, Runner& run) {
  auto* sub = app.add_subcommand("check",
                                 "Verify the database: LMDB structure, id maps, rating totals, models and caches");
  sub->callback([&global, &run] { run = [&global] { run_check(global); }; });
}

}  // namespace recsys::cli
