// recsys train [FILE...]: import (when files are given), split, fit ALS on the
// train part, evaluate against a most-popular baseline, refit on everything,
// and store the model as a new generation (PRODUCT.md §2, docs/training.md).
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <optional>
#include <fstream>
#include <memory>

#include "cli/import_options.hpp"
#include "cli/model_io.hpp"
#include "cli/options.hpp"
#include "cli/train_ease.hpp"
#include "cli/train_options.hpp"
#include "cli/tuned_defaults.hpp"
#include "data/import.hpp"
#include "data/split.hpp"
#include "eval/curve.hpp"
#include "eval/data_stats.hpp"
#include "eval/evaluate.hpp"
#include "eval/html_report.hpp"
#include "model/als.hpp"
#include "util/error.hpp"
#include "util/file.hpp"
#include "util/log.hpp"
#include "util/parallel.hpp"
#include "util/progress.hpp"
#include "util/timer.hpp"

namespace recsys::cli {

namespace {

// Validation nDCG during the evaluation fit: at iteration 1, every second one
// after it and the last. On MovieLens 100k one validation (a top-k over all
// 943 test users) costs about one ALS iteration, so measuring every iteration
// would almost double the fit (docs/dashboard.md has the figures).
constexpr std::uint32_t kValidateEvery = 2;

struct TrainOptions {
  std::vector<std::string> files;
  data::ImportOptions import;
  ModelOptions model;
  SplitOptions split;
  bool no_refit = false;
  bool no_loss = false;
  bool refit = true;
  bool loss = true;
  std::string metrics_json;
  std::string report;  // --report: the overview as one HTML file
  std::size_t keep = 0;  // 0: keep every generation
  std::size_t max_items = kEaseMaxItems;  // --model ease only
};

// One ALS fit with a progress line per iteration (phase, i/n, loss, ETA).
// With `curve`, each iteration's loss (and with `validation` its nDCG@k on the
// held-out ratings) is recorded for the dashboard.
model::Factors fit(const model::ModelParams& params, const model::RatingMatrix& m, unsigned threads, bool loss,
                   const std::string& phase, double& final_loss, eval::TrainingCurve* curve = nullptr,
                   const eval::Validation* validation = nullptr) {
  Progress progress(phase, params.iterations, "iterations");
  model::FitOptions options;
  options.threads = threads;
  options.compute_loss = loss;
  final_loss = std::nan("");
  options.on_iteration = [&](const model::IterationInfo& info) {
    final_loss = info.loss;
    const double per_rating = info.loss / static_cast<double>(std::max<std::size_t>(1, m.by_user.nnz()));
    std::string extra = fmt::format("{:.2f}s/it", info.seconds);
    if (curve) {
      eval::CurvePoint p{info.iteration, per_rating, std::nan(""), info.seconds};
      const bool due = info.iteration == 1 || info.iteration == info.iterations || (info.iteration - 1) % curve->every == 0;
      if (validation && info.factors && due) {
        p.ndcg = validation->ndcg(info.factors->users, info.factors->items);
      }
      if (validation && !std::isnan(p.ndcg)) extra = fmt::format("ndcg@{} {:.4f}  ", curve->k, p.ndcg) + extra;
      curve->points.push_back(p);
    }
    if (loss) extra = fmt::format("loss {:.6g}  ", per_rating) + extra;
    progress.update(info.iteration, extra, true);
  };
  auto factors = model::fit_als(params, m, options);
  progress.finish();
  return factors;
}

model::RatingMatrix matrix_of(const model::ModelParams& p, const data::RatingTable& t) {
  return model::build_rating_matrix(p, t.n_users, t.n_items, t.users, t.items, t.values);
}

void check_trainable(const data::RatingTable& t) {
  if (t.size() == 0) throw std::runtime_error("no ratings stored: give rating files (recsys train FILE...) or run recsys import first");
  std::vector<char> seen(t.n_users, 0);
  std::size_t users = 0;
  for (auto u : t.users) users += seen[u] ? 0 : (seen[u] = 1);
  if (users < 2)
    throw std::runtime_error(fmt::format("only {} user has ratings: collaborative filtering needs at least two users", users));
}

// `files_stored` is set once the files given are imported (committed).
void run_train(const GlobalOptions& global, const TrainOptions& options, bool& files_stored) {
  Timer timer;
  model::ModelParams params = resolve_model_options(options.model);
  SplitOptions split_options = options.split;
  check_split_options(split_options);
  // Said, not refused (a config file may name the file for every train): no
  // file, rather than one claiming metrics (it was left out without a word).
  if (split_options.kind == data::SplitKind::None && !options.metrics_json.empty())
    log::warn("--metrics-json {} is not written: --split none evaluates nothing", options.metrics_json);
  const unsigned threads = resolve_threads(global.threads);
  // Fail before any work (and before the database changes) when a report cannot be written.
  if (!options.report.empty()) util::check_writable(options.report, "the report");
  if (!options.metrics_json.empty()) util::check_writable(options.metrics_json, "the metrics");

  auto db = open_database(global, options.files.empty() ? store::OpenMode::ReadWrite : store::OpenMode::Create);
  // Said first (and flushed: stdout may be a file or the journal, where the
  // log lines on stderr would overtake it): every number below depends on it.
  std::optional<TunedDefaults> tuned;
  try {
    tuned = load_tuned_defaults(db);
  } catch (const std::runtime_error& e) {
    std::printf("tuned defaults not used: %s\n", e.what());  // a damaged or newer document must not stop training
  }
  std::string tuned_line;
  if (tuned) {
    ModelOptions model_options = options.model;
    tuned_line = apply_tuned_defaults(*tuned, stored_data_size(db), model_options);
    std::printf("%s\n", tuned_line.c_str());
    params = resolve_model_options(model_options);
  }
  std::fflush(stdout);
  if (!options.files.empty()) {
    data::ImportOptions import = options.import;
    import.threads = global.threads;
    data::ImportReport imported;
    try {
      imported = data::import_files(db, options.files, import);
    } catch (...) {
      discard_if_created(std::move(db));
      throw;
    }
    files_stored = true;
    interrupt_line.store(
        "\nrecsys: interrupted: the rating files given were imported and stay stored (run recsys train without "
        "them); the training after the import is not stored, and the database stays consistent\n");
    print_import_errors(imported);
    std::printf("%s", import_summary(imported).c_str());
    // The first line judged the data before the import; the fit is on what is
    // stored now (a tuned EASE must not start on twice its items because the
    // items came with this command).
    if (tuned) {
      ModelOptions model_options = options.model;
      std::string after = apply_tuned_defaults(*tuned, stored_data_size(db), model_options);
      if (after != tuned_line) {
        std::printf("with the imported ratings: %s\n", after.c_str());
        params = resolve_model_options(model_options);
      }
    }
  }
  data::RatingTable all;
  // Whose ratings the final fit saw: precompute folds in the users whose
  // ratings changed after this snapshot (events while training runs).
  std::vector<std::uint64_t> fingerprints;
  {
    auto txn = db.begin_read();
    all = data::load_ratings(db, txn, &fingerprints);
  }
  check_trainable(all);
  if (split_options.kind != data::SplitKind::Chrono) std::vector<std::int64_t>().swap(all.timestamps);  // unused: memory
  const std::string data_stats = eval::data_stats_json(eval::compute_data_stats(all));
  params = model::resolve_for_data(params, all.values);
  // The model family: ALS factors, or EASE's B fitted in closed form (train_ease.hpp).
  const bool ease = params.family == model::Family::Ease;
  if (ease) {
    check_ease_fits(all.n_items, all.size(), options.max_items, options.keep > 0);
    params.factors = all.n_items;  // B's width: the stored item rows are items × items
    log::info("training EASE: {} ratings, {} users, {} items, λ {:g}, {} input, {} threads", all.size(), all.n_users,
              all.n_items, params.regularization, model::to_string(params.confidence), threads);
  } else {
    log::info("training {} ALS: {} ratings, {} users, {} items, {} factors, {} threads",
              model::to_string(params.feedback), all.size(), all.n_users, all.n_items, params.factors, threads);
  }

  TrainSummary summary;
  summary.users = all.n_users;
  summary.items = all.n_items;
  summary.ratings = all.size();
  summary.split = std::string(data::to_string(split_options.kind));
  summary.test_fraction = split_options.kind == data::SplitKind::None ? 0.0 : split_options.test_fraction;

  std::optional<eval::EvalReport> report;
  model::Factors factors;
  double loss = 0;
  if (split_options.kind != data::SplitKind::None) {
    auto split = data::split_ratings(all, split_options.kind, split_options.test_fraction, params.seed);
    log::info("{} split: {} train, {} test ratings", summary.split, split.train.size(), split.test.size());
    if (split.untimed) log::warn("{}", data::kUntimedChronoNotice);
    auto train = ease ? model::RatingMatrix{} : matrix_of(params, split.train);
    params.mean_user_ratings = train.mean_user_ratings;  // stored with this fit (--no-refit)
    if (ease) {
      factors = fit_ease_model(params, split.train, threads, "fit on train split");  // closed form: no curve
    } else {
      eval::TrainingCurve curve;
      curve.k = split_options.k;
      curve.phase = "fit on train split";
      eval::Validation validation(train.by_user, split.test, split_options.k, threads);
      curve.users = validation.users();
      curve.every = kValidateEvery;
      factors = fit(params, train, threads, options.loss, curve.phase, loss, &curve, &validation);
      summary.curve = eval::curve_json(curve);
    }
    eval::EvalOptions eo;
    eo.k = split_options.k;
    eo.threads = threads;
    eo.rating_metrics = params.feedback == model::Feedback::Explicit;
    report = ease ? evaluate_ease(params, factors.items, split.train, split.test, eo)
                  : eval::evaluate(factors.users, factors.items, train.by_user, split.test, eo);
    std::printf("%s", eval::format_report(*report).c_str());
    std::fflush(stdout);
    if (!options.metrics_json.empty()) util::write_file(options.metrics_json, eval::report_json(*report) + '\n');
    summary.ratings = split.train.size();
  }
  if (split_options.kind == data::SplitKind::None || options.refit) {
    factors = {};  // the split's fit is replaced: never hold two (EASE: items² floats each)
    if (ease) {
      factors = fit_ease_model(params, all, threads, "fit on all ratings");
      summary.ratings = all.size();
    } else {
      // The last use of the loaded ratings: the matrix consumes them, so the
      // fit does not hold both (12 bytes per rating; docs/training.md).
      const std::size_t rating_count = all.size();
      auto matrix = model::build_rating_matrix(params, all.n_users, all.n_items, std::move(all.users),
                                               std::move(all.items), std::move(all.values));
      all = {};
      summary.ratings = rating_count;
      params.mean_user_ratings = matrix.mean_user_ratings;
      eval::TrainingCurve curve;  // without a split there is no validation: the loss only
      curve.k = split_options.k;
      curve.phase = "fit on all ratings";
      factors = fit(params, matrix, threads, options.loss, curve.phase, loss,
                    split_options.kind == data::SplitKind::None ? &curve : nullptr);
      if (split_options.kind == data::SplitKind::None) summary.curve = eval::curve_json(curve);
    }
    summary.refit = split_options.kind != data::SplitKind::None;
  }
  summary.final_loss = loss;
  summary.train_seconds = timer.seconds();
  summary.data = data_stats;
  std::vector<std::uint32_t> deleted;
  const std::string description = describe_model(params, summary, report ? &*report : nullptr);
  // Only a fit on every rating of the snapshot (not --no-refit's fit on the
  // train part) has the users' factors those fingerprints describe.
  const bool fitted_on_all = split_options.kind == data::SplitKind::None || options.refit;
  if (ease || !fitted_on_all) fingerprints.clear();
  auto generation = store_model(db, description, factors, options.keep, &deleted, fingerprints);
  if (!options.report.empty()) {
    // The same object GET /v1/model answers: the generation first, then the description.
    try {
      util::write_file(options.report, eval::html_report(fmt::format("{{\"generation\":{},\"serving\":false,{}",
                                                                   generation, std::string_view(description).substr(1))));
    } catch (const std::runtime_error& e) {
      throw std::runtime_error(fmt::format("{} (the model is stored as generation {})", e.what(), generation));
    }
    std::printf("%s", fmt::format("report written to {}\n", options.report).c_str());
  }
  std::string kind = ease ? fmt::format("EASE, λ {:g}", params.regularization)
                          : fmt::format("{} ALS, {} factors", model::to_string(params.feedback), params.factors);
  std::printf("%s", fmt::format("model generation {}: {}, {} users, {} items, {} ratings, {:.1f}s\n", generation, kind,
                                summary.users, summary.items, summary.ratings, summary.train_seconds)
                        .c_str());
  if (!deleted.empty()) std::printf("%s", fmt::format("deleted generations {} (--keep {})\n", fmt::join(deleted, ", "), options.keep).c_str());
  std::printf("run recsys precompute to serve it\n");
}

}  // namespace

void setup_train(CLI::App& app, const GlobalOptions& global, Runner& run) {
  auto options = std::make_shared<TrainOptions>();
  auto* sub = app.add_subcommand("train", "Import rating files (if given), fit ALS, evaluate it and store the model");
  sub->add_option("files", options->files, "Rating files to import first (none: train on the stored ratings)");
  add_import_options(*sub, options->import);
  add_model_options(*sub, options->model);
  add_split_options(*sub, options->split);
  // Plain flags, inverted in the callback: CLI11 prints "!--no-x" flags as "--no-x{false}" in --help.
  sub->add_flag("--no-refit", options->no_refit, "Store the model fitted on the train split instead of refitting on all");
  sub->add_flag("--no-loss", options->no_loss, "Do not compute the loss after each iteration (faster)");
  sub->add_option("--metrics-json", options->metrics_json, "Write the evaluation report as JSON to this file");
  sub->add_option("--max-items", options->max_items, "--model ease: refuse more items than this (B is items² × 4 bytes)")
      ->capture_default_str();
  sub->add_option("--report", options->report, "Also write the overview (metrics, training curve, data) as one HTML file");
  sub->add_option("--keep", options->keep, "Then keep only the N newest model generations (and the serving one)")
      ->check(kPositive);
  sub->callback([&global, &run, options, sub] {
    note_given_options(*sub, options->model);
    options->refit = !options->no_refit;
    options->loss = !options->no_loss;
    run = [&global, options] {
      // A failure after the import (too few users, divergence, a full disk)
      // leaves the files imported, and the same command again is refused
      // without --append or --replace: the message says so, as tune's does.
      bool stored = false;
      const std::string note = " (the rating files given were imported and stay stored: run recsys train without them)";
      try {
        run_train(global, *options, stored);
      } catch (const UsageError& e) {
        if (!stored) throw;
        throw UsageError(std::string(e.what()) + note);
      } catch (const std::runtime_error& e) {
        if (!stored) throw;
        throw std::runtime_error(std::string(e.what()) + note);
      }
    };
  });
}

}  // namespace recsys::cli
