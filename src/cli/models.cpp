// recsys models list|delete GEN|prune --keep N: the stored model generations.
// Every `train` adds one; these remove old ones. The serving generation (set by
// precompute) is never deleted: its factors are what fold-in and /v1/model read.
// Each delete is one write transaction: a generation's description and factors
// go together, and a server beside it never sees half a generation.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cstdio>
#include <memory>

#include "cli/info_models.hpp"
#include "cli/options.hpp"
#include "store/models.hpp"
#include "util/json.hpp"

namespace recsys::cli {

namespace {

struct ModelsOptions {
  bool json = false;
  std::uint32_t generation = 0;
  std::size_t keep = 0;
};

void list(const GlobalOptions& global, const ModelsOptions& options) {
  auto db = open_database(global, store::OpenMode::ReadOnly);
  auto txn = db.begin_read();
  auto models = store::list_models(db, txn);
  auto serving = store::serving_generation(db, txn);
  if (options.json) {
    std::string out = "[";
    for (const auto& m : models) {
      auto s = summarize_model(m.description);
      if (out.size() > 1) out += ',';
      out += fmt::format("{{\"generation\":{},\"serving\":{},\"feedback\":{},\"factors\":{},\"trained_at\":{},\"metrics\":{}}}",
                         m.generation, m.generation == serving ? "true" : "false", json::quote(s.feedback), s.factors,
                         json::quote(s.trained_at), s.metrics_json);
    }
    std::printf("%s]\n", out.c_str());
    return;
  }
  if (models.empty()) {
    std::printf("no model generations (run recsys train)\n");
    return;
  }
  std::printf("%10s  %-7s  %-8s  %7s  %-20s  %s\n", "generation", "serving", "feedback", "factors", "trained at",
              "metrics");
  for (const auto& m : models) {
    auto s = summarize_model(m.description);
    std::printf("%10u  %-7s  %-8s  %7llu  %-20s  %s\n", m.generation, m.generation == serving ? "yes" : "",
                s.feedback.c_str(), static_cast<unsigned long long>(s.factors), s.trained_at.c_str(),
                s.metrics_text.empty() ? "-" : s.metrics_text.c_str());
  }
}

void remove(const GlobalOptions& global, const ModelsOptions& options) {
  auto db = open_database(global, store::OpenMode::ReadWrite);
  db.write([&](store::Txn& txn) { store::delete_model(db, txn, options.generation); });
  std::printf("deleted model generation %u\n", options.generation);
}

void prune(const GlobalOptions& global, const ModelsOptions& options) {
  auto db = open_database(global, store::OpenMode::ReadWrite);
  auto deleted = db.write([&](store::Txn& txn) { return store::prune_models(db, txn, options.keep); });
  if (deleted.empty()) {
    std::printf("nothing to delete\n");
  } else {
    std::printf("%s", fmt::format("deleted model generations {}\n", fmt::join(deleted, ", ")).c_str());
  }
}

}  // namespace

void setup_models(CLI::App& app, const GlobalOptions& global, Runner& run) {
  auto options = std::make_shared<ModelsOptions>();
  auto* sub = app.add_subcommand("models", "List or delete stored model generations");
  sub->require_subcommand(1);

  auto* list_cmd = sub->add_subcommand("list", "List the generations: number, serving, parameters, metrics");
  list_cmd->add_flag("--json", options->json, "Print a JSON array");
  list_cmd->callback([&global, &run, options] { run = [&global, options] { list(global, *options); }; });

  auto* delete_cmd = sub->add_subcommand("delete", "Delete one generation (never the serving one)");
  delete_cmd->add_option("generation", options->generation, "Generation number (see recsys models list)")
      ->required()
      ->check(kPositive);
  delete_cmd->callback([&global, &run, options] { run = [&global, options] { remove(global, *options); }; });

  auto* prune_cmd = sub->add_subcommand("prune", "Delete all but the newest generations (never the serving one)");
  prune_cmd->add_option("--keep", options->keep, "Generations to keep, newest first")
      ->required()
      ->check(kPositive);
  prune_cmd->callback([&global, &run, options] { run = [&global, options] { prune(global, *options); }; });
}

}  // namespace recsys::cli
