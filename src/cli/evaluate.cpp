// recsys evaluate [--test FILE] [--k 10] [--model GEN]: re-runs the evaluation
// of a stored model.
//
// With --test, the stored factors are scored on that file's ratings (ids mapped
// through the stored id maps; unknown users and items skipped), with every
// stored rating excluded from the ranking. Without it, the hold-out split is
// not kept in the database, so it is re-made from the stored ratings with the
// model's split, test fraction and seed. A model stored with --no-refit was
// fitted on exactly that train part and is scored as is. A refitted model has
// seen the test ratings, so scoring it would be in-sample and flatter it:
// instead its parameters are fitted again on the train part and that fit is
// scored, which reproduces the numbers `train` reported (docs/training.md).
#include <fmt/format.h>
#include <simdjson.h>

#include <algorithm>
#include <cstdio>
#include <limits>
#include <memory>
#include <numeric>
#include <optional>
#include <utility>

#include "cli/model_io.hpp"
#include "cli/options.hpp"
#include "cli/train_ease.hpp"
#include "data/format.hpp"
#include "data/import.hpp"
#include "data/rating_reader.hpp"
#include "data/split.hpp"
#include "eval/evaluate.hpp"
#include "model/als.hpp"
#include "store/ids.hpp"
#include "util/error.hpp"
#include "util/file.hpp"
#include "util/log.hpp"
#include "util/parallel.hpp"

namespace recsys::cli {

namespace {

struct EvaluateOptions {
  std::string test_file;
  std::string format = "auto";
  std::string columns;
  double max_bad_fraction = data::ImportOptions{}.max_bad_fraction;  // as import's
  std::size_t k = 10;
  std::uint32_t generation = 0;  // 0: the latest
  std::string metrics_json;
};

// The split settings recorded in a model description.
struct StoredSplit {
  data::SplitKind kind = data::SplitKind::None;
  double test_fraction = 0.25;
  bool refit = true;
};

StoredSplit stored_split(const std::string& description) {
  simdjson::dom::parser parser;
  simdjson::padded_string padded(description);
  simdjson::dom::element doc;
  if (parser.parse(padded).get(doc) != simdjson::SUCCESS) throw std::runtime_error("model description is not JSON");
  StoredSplit s;
  std::string_view kind;
  if (doc["split"].get_string().get(kind) == simdjson::SUCCESS) s.kind = data::split_kind_from_string(kind);
  double fraction;
  if (doc["test_fraction"].get_double().get(fraction) == simdjson::SUCCESS) s.test_fraction = fraction;
  bool refit;
  if (doc["refit"].get_bool().get(refit) == simdjson::SUCCESS) s.refit = refit;
  return s;
}

// The test file's ratings in the stored index spaces; pairs with an id the
// model does not know are dropped (and counted).
data::RatingTable read_test_file(store::Database& db, const EvaluateOptions& o, const StoredModel& m,
                                 unsigned threads) {
  data::ReadResult in;
  std::vector<std::string> user_ids, item_ids;
  {
    auto txn = db.begin_read();
    user_ids = store::load_id_strings(db, txn, store::IdKind::User);
    item_ids = store::load_id_strings(db, txn, store::IdKind::Item);
  }
  in.users.load_stored(std::vector<std::string_view>(user_ids.begin(), user_ids.end()));
  in.items.load_stored(std::vector<std::string_view>(item_ids.begin(), item_ids.end()));
  data::ReadOptions read;
  try {
    read.format = data::parse_format(o.format);
    if (!o.columns.empty()) read.columns = data::parse_columns(o.columns);
  } catch (const std::invalid_argument& e) {
    throw UsageError(e.what());
  }
  read.threads = threads;
  // As import: malformed rows are named, and a file with more than 10 % of
  // them is refused (it is likely not a ratings file, or the wrong columns);
  // they were dropped without a word, and the metrics of what remained printed.
  read.max_bad_fraction = o.max_bad_fraction;
  read.refused = "nothing scored";
  read.progress = false;
  data::read_rating_files({o.test_file}, read, in);
  if (in.skipped > 0) {
    for (const auto& e : in.errors) log::warn("{}", e);
    log::warn("{}: {} of {} rows are malformed and were skipped{}", o.test_file, in.skipped, in.rows_read,
              in.skipped > in.errors.size() ? " (the first reasons above)" : " (reasons above)");
  }
  data::RatingTable test;
  // EASE has no user rows: any stored user is scored from their ratings.
  test.n_users = m.params.family == model::Family::Ease ? static_cast<std::uint32_t>(user_ids.size())
                                                        : static_cast<std::uint32_t>(m.factors.users.rows());
  test.n_items = static_cast<std::uint32_t>(m.factors.items.rows());
  // A pair given twice counts once (the last row's value, as import keeps for
  // ratings): counted twice it doubled the relevant items, halving recall and MAP.
  std::vector<std::size_t> order(in.rows.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return std::pair(in.rows.users[a], in.rows.items[a]) < std::pair(in.rows.users[b], in.rows.items[b]);
  });
  std::size_t unknown = 0, repeated = 0;
  for (std::size_t p = 0; p < order.size(); ++p) {
    const std::size_t j = order[p];
    if (in.rows.users[j] >= test.n_users || in.rows.items[j] >= test.n_items) {
      ++unknown;
      continue;
    }
    if (p + 1 < order.size() && in.rows.users[order[p + 1]] == in.rows.users[j] &&
        in.rows.items[order[p + 1]] == in.rows.items[j]) {
      ++repeated;  // a later row of the same pair follows
      continue;
    }
    test.push_back(in.rows.users[j], in.rows.items[j], in.rows.values[j], in.rows.timestamps[j]);
  }
  if (unknown > 0) log::warn("{}: {} ratings of users or items the model does not know were skipped", o.test_file, unknown);
  if (repeated > 0)
    log::warn("{}: {} rows repeat a (user, item) pair given elsewhere in the file; each pair counts once (the last "
              "row's value)",
              o.test_file, repeated);
  if (test.size() == 0) throw std::runtime_error(fmt::format("{}: no rating of a known user and item", o.test_file));
  return test;
}

// Stored ratings are never recommended, so a test pair the database holds can
// never be a hit: testing on ratings the model was trained on (u.data, then
// u1.test) scores 0 with no other sign of the mistake.
void warn_if_test_is_stored(const model::Csr& stored, const data::RatingTable& test, const std::string& file) {
  std::size_t held = 0;
  for (std::size_t j = 0; j < test.size(); ++j) {
    auto row = stored.row_indices(test.users[j]);
    held += std::binary_search(row.begin(), row.end(), test.items[j]) ? 1 : 0;
  }
  if (held == 0) return;
  log::warn("{}: {} of its {} test ratings ({:.1f}%) are stored in the database too; stored ratings are never "
            "recommended, so they cannot be hits. Test on ratings the model was not trained on (e.g. import and "
            "train ml-100k's u1.base, then evaluate --test u1.test)",
            file, held, test.size(), 100.0 * static_cast<double>(held) / static_cast<double>(test.size()));
}

void run_evaluate(const GlobalOptions& global, const EvaluateOptions& o) {
  if (o.k == 0) throw UsageError("--k must be at least 1");
  const unsigned threads = resolve_threads(global.threads);
  auto db = open_database(global, store::OpenMode::ReadOnly);
  StoredModel m = load_model(db, o.generation == 0 ? std::nullopt : std::optional<std::uint32_t>(o.generation));
  data::RatingTable all;
  {
    auto txn = db.begin_read();
    all = data::load_ratings(db, txn);
  }
  // The model's users and items are a prefix of the id maps (ids only grow).
  all.n_users = std::max<std::uint32_t>(all.n_users, static_cast<std::uint32_t>(m.factors.users.rows()));
  all.n_items = std::max<std::uint32_t>(all.n_items, static_cast<std::uint32_t>(m.factors.items.rows()));
  eval::EvalOptions eo;
  eo.k = o.k;
  eo.threads = threads;
  eo.rating_metrics = m.params.feedback == model::Feedback::Explicit;

  // EASE (no user rows; B's rows are items): scores come from the ratings, and
  // items newer than B are simply not scored (cli/train_ease.hpp).
  const bool ease = m.params.family == model::Family::Ease;
  model::RowMatrixXf users, items;
  if (!ease) {
    users = m.factors.users;
    items = m.factors.items;
    users.conservativeResize(all.n_users, Eigen::NoChange);  // rows for users added since: zero factors
    items.conservativeResize(all.n_items, Eigen::NoChange);
    users.bottomRows(all.n_users - m.factors.users.rows()).setZero();
    items.bottomRows(all.n_items - m.factors.items.rows()).setZero();
  }

  eval::EvalReport report;
  if (!o.test_file.empty()) {
    auto test = read_test_file(db, o, m, threads);
    test.n_users = all.n_users;
    test.n_items = all.n_items;
    auto train = model::build_csr(all.n_users, all.n_items, all.users, all.items, all.values);
    warn_if_test_is_stored(train, test, o.test_file);
    std::printf("model generation %u scored on %s (stored ratings excluded from the ranking)\n", m.generation,
                o.test_file.c_str());
    if (ease) {
      report = evaluate_ease(m.params, m.factors.items, all, test, eo);
    } else {
      report = eval::evaluate(users, items, train, test, eo);
    }
  } else {
    StoredSplit s = stored_split(m.description);
    if (s.kind == data::SplitKind::None)
      throw UsageError(fmt::format("model generation {} was trained without a split (--split none): give --test FILE",
                                   m.generation));
    auto split = data::split_ratings(all, s.kind, s.test_fraction, m.params.seed);
    if (split.untimed) log::warn("{}", data::kUntimedChronoNotice);
    // The train part's pairs: what is excluded from the ranking, and (explicit)
    // the raw ratings whose range clips RMSE's predictions. Confidence weights
    // only for a refit, which fits: a model scored as stored needs none, and
    // values stored since that overflow them must not stop its evaluation.
    model::Csr train_by_user;
    if (s.refit) {
      std::printf("model generation %u was refitted on all ratings; scoring a fit of its parameters on the %s "
                  "train split instead (seed %llu)\n",
                  m.generation, std::string(data::to_string(s.kind)).c_str(),
                  static_cast<unsigned long long>(m.params.seed));
      model::FitOptions fo;
      fo.threads = threads;
      fo.compute_loss = false;
      m.factors = {};  // one B at a time (EASE)
      auto train = model::build_rating_matrix(m.params, all.n_users, all.n_items, split.train.users,
                                              split.train.items, split.train.values);
      auto fitted = ease ? fit_ease_model(m.params, split.train, threads, "fit on train split")
                         : model::fit_als(m.params, train, fo);
      users = std::move(fitted.users);
      items = std::move(fitted.items);
      train_by_user = std::move(train.by_user);
    } else {
      std::printf("model generation %u scored on its %s test split (seed %llu)\n", m.generation,
                  std::string(data::to_string(s.kind)).c_str(), static_cast<unsigned long long>(m.params.seed));
      train_by_user = model::build_csr(all.n_users, all.n_items, split.train.users, split.train.items,
                                       split.train.values);
      // Users and items stored since the model was trained have no factors
      // (or row of B) in it: users were scored with zero factors (arbitrary
      // lists) and items could never be hits, which pulled the figures down
      // without a word. Their test ratings are left out and counted, as
      // --test leaves out users and items the model does not know; EASE
      // scores any user from their ratings.
      const auto known_users = ease ? all.n_users : static_cast<std::uint32_t>(m.factors.users.rows());
      const auto known_items = static_cast<std::uint32_t>(m.factors.items.rows());
      data::RatingTable kept;
      kept.n_users = split.test.n_users;
      kept.n_items = split.test.n_items;
      std::vector<char> new_user(all.n_users, 0), new_item(all.n_items, 0);
      for (std::size_t j = 0; j < split.test.size(); ++j) {
        const auto u = split.test.users[j], i = split.test.items[j];
        if (u >= known_users || i >= known_items) {
          if (u >= known_users) new_user[u] = 1;
          if (i >= known_items) new_item[i] = 1;
          continue;
        }
        kept.push_back(u, i, split.test.values[j], split.test.timestamps[j]);
      }
      if (kept.size() < split.test.size()) {
        log::warn("{} test ratings of {} users and {} items stored after generation {} was trained were left out (the "
                  "model has no factors for them); train again to evaluate on the current ratings",
                  split.test.size() - kept.size(), std::count(new_user.begin(), new_user.end(), 1),
                  std::count(new_item.begin(), new_item.end(), 1), m.generation);
        split.test = std::move(kept);
      }
      // Never ranked either (NaN factors are never selected): their zero rows
      // scored 0 and could fill a list.
      if (!ease && items.rows() > known_items)
        items.bottomRows(items.rows() - known_items).setConstant(std::numeric_limits<float>::quiet_NaN());
    }
    // Explicit models keep the raw ratings in the matrix: RMSE clipping reads their range.
    if (ease) {
      report = evaluate_ease(m.params, s.refit ? items : m.factors.items, split.train, split.test, eo);
    } else {
      report = eval::evaluate(users, items, train_by_user, split.test, eo);
    }
  }
  std::printf("%s", eval::format_report(report).c_str());
  if (!o.metrics_json.empty()) {
    util::write_file(o.metrics_json, eval::report_json(report) + '\n');
  }
}

}  // namespace

void setup_evaluate(CLI::App& app, const GlobalOptions& global, Runner& run) {
  auto o = std::make_shared<EvaluateOptions>();
  auto* sub = app.add_subcommand("evaluate", "Re-run the evaluation of a stored model");
  sub->add_option("--test", o->test_file, "Score the model on this ratings file instead of the stored split");
  sub->add_option("--format", o->format, "Format of --test: auto, csv, tsv, dat")->capture_default_str();
  sub->add_option("--columns", o->columns, "Columns of --test: user,item[,rating[,timestamp]]");
  sub->add_option("--max-bad-fraction", o->max_bad_fraction,
                  "Refuse --test when more than this share of its rows is malformed (each one is named)")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  sub->add_option("--k", o->k, "Length of the ranked lists evaluated")->capture_default_str();
  sub->add_option("--model", o->generation, "Model generation (default: the latest)")->check(kPositive);
  sub->add_option("--metrics-json", o->metrics_json, "Write the report as JSON to this file");
  sub->callback([&global, &run, o] { run = [&global, o] { run_evaluate(global, *o); }; });
}

}  // namespace recsys::cli
