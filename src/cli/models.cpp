// recsys models list|delete GEN|prune --keep N: the stored model generations.
// Every `train` adds one; these remove old ones. The serving generation (set by
// precompute) is never deleted: its factors are what fold-in and /v1/model read.
// Each delete is one write transaction: a generation's description and factors
// go together, and a server beside it never sees half a generation.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <string_view>
#include <vector>

#include "cli/info_models.hpp"
#include "cli/options.hpp"
#include "store/models.hpp"
#include "util/json.hpp"

namespace recsys::cli {

namespace {

// Characters of UTF-8 `text` (its bytes that do not continue a character).
std::size_t display_width(std::string_view text) {
  return static_cast<std::size_t>(
      std::count_if(text.begin(), text.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

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
      out += fmt::format("{{\"generation\":{},\"serving\":{},{},\"trained_at\":{},\"metrics\":{}}}", m.generation,
                         m.generation == serving ? "true" : "false", model_json_members(s), json::quote(s.trained_at),
                         s.metrics_json);
    }
    std::printf("%s]\n", out.c_str());
    return;
  }
  if (models.empty()) {
    std::printf("no model generations (run recsys train)\n");
    return;
  }
  // The model column is as wide as its longest entry (in characters: "λ" is two bytes).
  std::vector<ModelSummary> summaries;
  std::vector<std::string> texts;
  std::size_t width = 5;
  for (const auto& m : models) {
    summaries.push_back(summarize_model(m.description));
    texts.push_back(model_text(summaries.back()));
    width = std::max(width, display_width(texts.back()));
  }
  auto padded = [&](const std::string& text) { return text + std::string(width - display_width(text), ' '); };
  std::printf("%10s  %-7s  %-20s  %s  %s\n", "generation", "serving", "trained at", padded("model").c_str(), "metrics");
  for (std::size_t j = 0; j < models.size(); ++j) {
    const auto& s = summaries[j];
    std::printf("%10u  %-7s  %-20s  %s  %s\n", models[j].generation, models[j].generation == serving ? "yes" : "",
                s.trained_at.c_str(), padded(texts[j]).c_str(), s.metrics_text.empty() ? "-" : s.metrics_text.c_str());
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
