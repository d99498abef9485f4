// recsys similar ITEM: the cached most similar items (cosine on ALS item factors, EASE: its row of B).
#include <memory>
#include <stdexcept>
#include <string>

#include "cli/list_output.hpp"
#include "cli/options.hpp"
#include "store/cache.hpp"
#include "store/ids.hpp"
#include "store/items.hpp"
#include "util/error.hpp"

namespace recsys::cli {

namespace {

struct SimilarOptions {
  std::string item;
  std::size_t k = 10;
  bool json = false;
};

void run_similar(const GlobalOptions& global, const SimilarOptions& options) {
  if (options.k == 0) throw UsageError("k must be a positive integer");  // as GET ...?k=0 answers, and recommend
  auto db = open_database(global, store::OpenMode::ReadOnly);
  auto txn = db.begin_read();
  auto list = store::similar_list(db, txn, options.item);
  if (!list) {
    if (!store::find_index(db, txn, store::IdKind::Item, options.item)) {
      throw std::runtime_error("unknown item '" + options.item + "'");
    }
    throw std::runtime_error("no precomputed lists: run recsys precompute first");
  }
  print_list("item", options.item, *list, options.k, options.json,
             store::item_title(db, txn, options.item).value_or(std::string()));
}

}  // namespace

void setup_similar(CLI::App& app, const GlobalOptions& global, Runner& run) {
  auto options = std::make_shared<SimilarOptions>();
  auto* sub = app.add_subcommand("similar", "Print the items most similar to an item (cosine on ALS item factors; EASE: the largest weights of its row of B)");
  sub->add_option("item", options->item, "External item id")->required();
  sub->add_option("--k", options->k, "Number of items (up to the precomputed k)")->capture_default_str();
  sub->add_flag("--json", options->json, "Print the JSON body the server sends");
  sub->callback([&global, &run, options] { run = [&global, options] { run_similar(global, *options); }; });
}

}  // namespace recsys::cli
