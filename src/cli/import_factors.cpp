// recsys import-factors: serve a model trained elsewhere. Reads user and item
// factors as Spark MLlib's ALS writes them (JSON lines {"id":…,"features":[…]}
// or CSV id,f1,…), maps their ids through (and into) the id maps, and stores
// them as a new model generation that `recsys precompute` then serves.
#include <fmt/format.h>

#include <cstdio>
#include <memory>

#include "cli/model_io.hpp"
#include "cli/options.hpp"
#include "data/factor_reader.hpp"
#include "model/params.hpp"
#include "store/ids.hpp"
#include "store/models.hpp"
#include "util/error.hpp"
#include "util/timer.hpp"

namespace recsys::cli {

namespace {

struct ImportFactorsOptions {
  std::string users;
  std::string items;
  std::string user_map;  // optional: original_id,index (e.g. Spark StringIndexer labels)
  std::string item_map;
  std::string feedback = "implicit";
  float regularization = 0.1f;  // Spark's regParam default
  float alpha = 1.0f;           // Spark's alpha default
};

// Rows indexed by the stored id maps; ids not stored yet are added.
store::FactorMatrix place_rows(const store::Database& db, const store::Txn& txn, store::IdKind kind,
                               const data::ExternalFactors& in) {
  std::vector<std::uint32_t> index(in.ids.size());
  for (std::size_t r = 0; r < in.ids.size(); ++r) index[r] = store::get_or_add_index(db, txn, kind, in.ids[r]);
  store::FactorMatrix m;
  m.rows = store::id_count(db, txn, kind);
  m.cols = in.cols;
  m.data.assign(std::size_t{m.rows} * m.cols, 0.0f);  // ids without factors stay zero (popularity fallback)
  for (std::size_t r = 0; r < in.ids.size(); ++r) {
    std::copy_n(in.data.begin() + static_cast<std::ptrdiff_t>(r * in.cols), in.cols,
                m.data.begin() + static_cast<std::ptrdiff_t>(std::size_t{index[r]} * m.cols));
  }
  return m;
}

void run_import_factors(const GlobalOptions& global, const ImportFactorsOptions& options) {
  model::ModelParams params;
  try {
    params.feedback = model::feedback_from_string(options.feedback);
  } catch (const std::invalid_argument& e) {
    throw UsageError(e.what());
  }
  // Spark's implicit ALS uses linear confidence 1 + alpha * r.
  params.confidence = model::Confidence::Linear;
  params.regularization = options.regularization;
  // Spark's ALS multiplies regParam by each user's number of ratings (ALS-WR);
  // fold-in must solve the same system or new users' factors are off-scale.
  params.weighted_lambda = true;
  params.alpha = options.alpha;
  params.epsilon = 1.0f;
  params.user_norm = 0.0f;  // Spark solved each user's row without it

  Timer timer;
  const data::FactorLimits limits{model::kMaxFactors, model::kMaxFactorMagnitude};
  auto users = data::read_factor_files(options.users, limits);
  auto items = data::read_factor_files(options.items, limits);
  if (!options.user_map.empty()) data::map_factor_ids(users, options.user_map);
  if (!options.item_map.empty()) data::map_factor_ids(items, options.item_map);
  if (users.cols != items.cols) {
    throw std::runtime_error(fmt::format("user factors have {} features but item factors have {}", users.cols,
                                         items.cols));
  }
  params.factors = users.cols;
  params.iterations = 0;  // trained elsewhere

  auto db = open_database(global, store::OpenMode::Create);
  std::uint32_t generation = db.write([&](store::Txn& txn) {
    auto user_rows = place_rows(db, txn, store::IdKind::User, users);
    auto item_rows = place_rows(db, txn, store::IdKind::Item, items);
    TrainSummary summary;
    summary.users = user_rows.rows;
    summary.items = item_rows.rows;
    summary.final_loss = std::numeric_limits<double>::quiet_NaN();
    std::string description = describe_model(params, summary, nullptr);
    return store::save_model(db, txn, description, user_rows, item_rows);
  });
  std::printf("%s", fmt::format("model generation {}: {} user and {} item factor rows of {} features imported "
                                "in {:.2f} s\nrun recsys precompute to serve it\n",
                                generation, users.ids.size(), items.ids.size(), users.cols, timer.seconds())
                        .c_str());
}

}  // namespace

void setup_import_factors(CLI::App& app, const GlobalOptions& global, Runner& run) {
  auto options = std::make_shared<ImportFactorsOptions>();
  auto* sub = app.add_subcommand(
      "import-factors", "Store user and item factors trained elsewhere (Spark ALS JSON lines or CSV) as a new model");
  sub->add_option("--users", options->users, "User factors: a file or a directory of part files")->required();
  sub->add_option("--items", options->items, "Item factors: a file or a directory of part files")->required();
  sub->add_option("--user-map", options->user_map,
                  "Map of original user ids to the factor files' ids: lines original_id,index");
  sub->add_option("--item-map", options->item_map,
                  "Map of original item ids to the factor files' ids: lines original_id,index");
  sub->add_option("--feedback", options->feedback, "How the factors were trained: implicit or explicit")
      ->capture_default_str();
  sub->add_option("--regularization", options->regularization, "Spark's regParam (used by real-time fold-in, scaled by each user's number of ratings as Spark does)")
      ->capture_default_str()
      ->check(kNonNegative);
  sub->add_option("--alpha", options->alpha, "Spark's alpha (implicit; used by real-time fold-in)")
      ->capture_default_str()
      ->check(kNonNegative);
  sub->callback([&global, &run, options] { run = [&global, options] { run_import_factors(global, *options); }; });
}

}  // namespace recsys::cli
