// recsys tune [FILE...]: import (when files are given), carve a validation
// part from the train part of train's own split, search model families and
// settings within a wall-time budget (tune/search.hpp), print the leaderboard,
// and store the chosen settings as training defaults (cli/tuned_defaults.hpp).
// Ctrl-C stops the search; what finished is kept and stored.
#include <fmt/format.h>
#include <signal.h>

#include <algorithm>
#include <limits>
#include <array>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <ctime>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>

#include "cli/import_options.hpp"
#include "cli/options.hpp"
#include "cli/train_ease.hpp"
#include "cli/tune_report.hpp"
#include "cli/tuned_defaults.hpp"
#include "data/import.hpp"
#include "data/split.hpp"
#include "store/tuned.hpp"
#include "tune/search.hpp"
#include "util/error.hpp"
#include "util/log.hpp"
#include "util/parallel.hpp"
#include "util/timer.hpp"

namespace recsys::cli {

namespace {

struct TuneOptions {
  std::vector<std::string> files;
  data::ImportOptions import;
  std::string budget = "10m";
  std::string metric = "ndcg@10";
  std::string models = "ials,ease";
  std::string split = "stratified";
  double test_fraction = 0.25;
  std::uint64_t seed = 42;
  std::size_t max_trials = 0;
  std::string prefer = "simpler";
  bool json = false;
  bool reset = false;
};

// "30s", "5m", "1h", "90" (seconds) -> seconds; UsageError otherwise.
double parse_budget(const std::string& text) {
  std::size_t used = 0;
  double value = 0;
  // A decimal number and a unit, nothing else: stod alone also takes leading
  // blanks, hexadecimal (0x10) and "infinity".
  const bool decimal = !text.empty() && text.find_first_not_of("0123456789.eE+-smh") == std::string::npos;
  try {
    if (decimal) value = std::stod(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  const std::string unit = used == 0 ? "" : text.substr(used);
  double scale = unit.empty() || unit == "s" ? 1 : unit == "m" ? 60 : unit == "h" ? 3600 : 0;
  if (used == 0 || scale == 0 || !(value > 0) || !std::isfinite(value * scale))
    throw UsageError(fmt::format("--budget '{}': give a positive time such as 30s, 5m or 1h", text));
  return value * scale;
}

std::vector<tune::Family> parse_models(const std::string& text) {
  std::vector<tune::Family> out;
  std::size_t at = 0;
  while (at <= text.size()) {
    std::size_t comma = text.find(',', at);
    std::string name = text.substr(at, comma == std::string::npos ? std::string::npos : comma - at);
    try {
      auto f = tune::family_from_string(name);
      if (std::find(out.begin(), out.end(), f) == out.end()) out.push_back(f);
    } catch (const std::invalid_argument& e) {
      throw UsageError(fmt::format("--models: {}", e.what()));
    }
    if (comma == std::string::npos) break;
    at = comma + 1;
  }
  return out;
}

std::string utc_now() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// Ctrl-C (SIGINT) or SIGTERM (systemd, timeout) while searching sets this
// flag; the search polls it between iterations. The one piece of
// process-wide state here: a signal handler can reach nothing else (and the
// signals cannot be blocked in every thread instead: OpenBLAS starts its
// threads before main).
std::atomic<bool> interrupted{false};
static_assert(std::atomic<bool>::is_always_lock_free, "the signal handler needs a lock-free flag");

// The first signal asks the search to finish; the handler then gives the
// signal back its default action, so a second one ends the process at once
// (an EASE fit cannot stop midway and may take minutes). sigaction is
// async-signal-safe.
// SIGHUP (the terminal or ssh session went away) stops it the same way.
constexpr std::array<int, 3> kStopSignals = {SIGINT, SIGTERM, SIGHUP};

// Which of kStopSignals have the handler (the others stay ignored, also after
// the first signal): written before the handlers are installed, read by them.
volatile std::sig_atomic_t handled[kStopSignals.size()] = {};

extern "C" void on_stop_signal(int) {
  interrupted.store(true);
  struct sigaction fallback {};
  fallback.sa_handler = SIG_DFL;
  sigemptyset(&fallback.sa_mask);
  for (std::size_t j = 0; j < kStopSignals.size(); ++j)
    if (handled[j]) sigaction(kStopSignals[j], &fallback, nullptr);
}

// Ignores SIGPIPE for its lifetime, from before tune's first line: output
// written to a pipe whose reader left (`tune | head -1`, `tune | true`) must
// not end the search unstored; main reports the lost output at the end.
class PipeIgnored {
 public:
  PipeIgnored() {
    struct sigaction ignore {};
    ignore.sa_handler = SIG_IGN;
    sigemptyset(&ignore.sa_mask);
    sigaction(SIGPIPE, &ignore, &previous_);
  }
  ~PipeIgnored() {
    // While SIGPIPE is still ignored, on every way out: what stdout buffered
    // for a pipe is written here, and a reader that went away sets its error,
    // which main reports (exit 1). Flushed later, the leaderboard raised
    // SIGPIPE and killed tune with 141, without a word.
    std::fflush(stdout);
    sigaction(SIGPIPE, &previous_, nullptr);
  }
  PipeIgnored(const PipeIgnored&) = delete;
  PipeIgnored& operator=(const PipeIgnored&) = delete;

 private:
  struct sigaction previous_ {};
};

// Installs the handler for the stop signals for its lifetime, then puts the
// previous ones back. A signal the process was started ignoring (SIGINT of a
// background job of a shell script, SIGHUP under nohup) stays ignored.
class InterruptWatch {
 public:
  InterruptWatch() {
    interrupted.store(false);
    struct sigaction action {};
    action.sa_handler = on_stop_signal;
    sigemptyset(&action.sa_mask);
    for (std::size_t j = 0; j < kStopSignals.size(); ++j) {
      sigaction(kStopSignals[j], nullptr, &previous_[j]);
      handled[j] = previous_[j].sa_handler != SIG_IGN;
    }
    for (std::size_t j = 0; j < kStopSignals.size(); ++j)
      if (handled[j]) sigaction(kStopSignals[j], &action, nullptr);
  }
  ~InterruptWatch() {
    for (std::size_t j = 0; j < kStopSignals.size(); ++j) sigaction(kStopSignals[j], &previous_[j], nullptr);
  }
  InterruptWatch(const InterruptWatch&) = delete;
  InterruptWatch& operator=(const InterruptWatch&) = delete;

 private:
  std::array<struct sigaction, kStopSignals.size()> previous_ {};
};

void reset_defaults(const GlobalOptions& global) {
  auto db = open_database(global, store::OpenMode::ReadWrite);
  std::string from = "an earlier tune";
  try {
    if (auto old = load_tuned_defaults(db)) from = tuned_date(*old);
  } catch (const std::runtime_error&) {
    from = "an earlier tune (unreadable)";  // forgetting them is the remedy
  }
  bool erased = db.write([&](store::Txn& txn) { return store::erase_tuned_defaults(db, txn); });
  if (erased) {
    std::printf("forgot the tuned defaults from %s: recsys train uses the built-in defaults again\n", from.c_str());
  } else {
    std::printf("no tuned defaults stored\n");
  }
}

// Everything after the import: the validation part, the search, the store.
void search_and_store(store::Database& db, const TuneOptions& o, tune::SearchOptions search, data::SplitKind kind,
                      double budget, unsigned threads, Timer& timer) {
  tune::TuneData data;
  DataSize tuned_on;  // all stored ratings and items, recorded with the result
  std::string ease_skipped;
  {
    data::RatingTable all;
    {
      auto txn = db.begin_read();
      all = data::load_ratings(db, txn);
    }
    if (all.size() == 0) throw std::runtime_error("no ratings stored: give rating files (recsys tune FILE...) or run recsys import first");
    if (kind != data::SplitKind::Chrono) std::vector<std::int64_t>().swap(all.timestamps);
    tuned_on = {all.size(), all.n_items};
    data = tune::carve_validation(all, kind, o.test_fraction, o.seed);
    if (data.untimed) log::warn("{}", data::kUntimedChronoNotice);
    // A tuned EASE that `train` would then refuse (train_ease.hpp: --max-items'
    // default, MemAvailable for the whole catalogue) is not worth searching.
    auto ease = std::find(search.families.begin(), search.families.end(), tune::Family::Ease);
    if (ease != search.families.end()) {
      try {
        check_ease_fits(all.n_items, all.size(), kEaseMaxItems);
      } catch (const std::runtime_error& e) {
        search.families.erase(ease);
        ease_skipped = fmt::format("EASE skipped: recsys train could not fit it on all {} items: {}", all.n_items,
                                   e.what());
        if (search.families.empty()) throw std::runtime_error(ease_skipped);
      }
    }
  }
  // recall@k with k at least the items any validated user could be shown
  // (the items with a train rating, less their own): every list holds every
  // such item and every setting scores the same. (Only k ≥ all the items was
  // refused.)
  if (search.metric.metric == tune::Metric::Recall) {
    std::vector<std::uint32_t> rated(data.train.n_users, 0);
    std::vector<char> trained(data.train.n_items, 0);
    for (std::size_t r = 0; r < data.train.size(); ++r) {
      ++rated[data.train.users[r]];
      trained[data.train.items[r]] = 1;
    }
    const auto rankable = static_cast<std::size_t>(std::count(trained.begin(), trained.end(), 1));
    std::uint32_t fewest = std::numeric_limits<std::uint32_t>::max();
    for (auto u : data.validation.users) fewest = std::min(fewest, u < rated.size() ? rated[u] : 0u);
    if (data.validation.size() == 0) fewest = 0;
    const std::size_t unrated = rankable - std::min<std::size_t>(fewest, rankable);
    if (search.metric.k >= unrated)
      throw UsageError(fmt::format("--metric {}: k must be smaller than {}, the most items with a train rating that a "
                                   "validated user has not rated: every list would hold all of them and every "
                                   "setting score the same",
                                   search.metric.name, unrated));
  }
  std::FILE* progress = o.json ? stderr : stdout;  // --json: stdout carries the JSON only
  std::fprintf(progress,
               "tuning %s on %zu train / %zu validation ratings (test part of %zu ratings not used), "
               "models %s, budget %gs, seed %llu, %u threads\n",
               search.metric.name.c_str(), data.train.size(), data.validation.size(), data.test_ratings,
               o.models.c_str(), budget, static_cast<unsigned long long>(o.seed), threads);
  if (!ease_skipped.empty()) std::fprintf(progress, "%s\n", ease_skipped.c_str());
  std::fflush(progress);

  search.seed = o.seed;
  search.max_trials = o.max_trials;
  search.prefer_simpler = o.prefer == "simpler";
  search.threads = threads;
  search.budget_seconds = budget;
  search.reserve_seconds = std::min(0.05 * budget, 15.0);
  search.elapsed_before = timer.seconds();
  search.stop = &interrupted;
  search.on_trial = [&](const tune::TrialResult& r) {
    std::fputs(trial_line(r, search.metric.name, timer.seconds()).c_str(), progress);
    std::fflush(progress);
  };
  search.on_note = [&](const std::string& note) {
    std::fprintf(progress, "%s\n", note.c_str());
    std::fflush(progress);
  };
  // Until the end: a signal during the search stops it and the best so far is stored.
  InterruptWatch watch;
  tune::SearchResult result = tune::search(data, search);
  TuneRun run{search.metric.name, budget, o.seed, threads, o.models, o.prefer};
  std::fputs(leaderboard_table(result, run).c_str(), progress);

  const auto& chosen = result.result();
  if (!(result.trials[result.best].metric > 0)) {
    if (o.json) std::printf("%s\n", leaderboard_json(result, run, data).c_str());
    throw std::runtime_error(fmt::format(
        "every trial scored 0 on the validation part ({} ratings of {} users): nothing tells the settings apart, so "
        "nothing was stored (tuned defaults stored before, if any, stay); tune needs more ratings per user and items "
        "rated by several users",
        data.validation.size(), result.trials[result.best].per_user.size()));
  }
  TunedDefaults tuned{chosen.settings, utc_now(), search.metric.name, chosen.metric, tuned_on};
  db.write([&](store::Txn& txn) { store::put_tuned_defaults(db, txn, tuned_defaults_json(tuned)); });
  std::fprintf(progress, "stored as training defaults: %s %s (recsys train uses them; options given override)\n",
               std::string(tune::to_string(chosen.settings.family)).c_str(),
               tune::describe(chosen.settings).c_str());
  if (o.json) std::printf("%s\n", leaderboard_json(result, run, data).c_str());
}

void run_tune(const GlobalOptions& global, const TuneOptions& o) {
  Timer timer;
  if (o.reset) {
    if (!o.files.empty()) throw UsageError("--reset forgets the stored tuned defaults and takes no rating files");
    return reset_defaults(global);
  }
  const double budget = parse_budget(o.budget);
  tune::SearchOptions search;
  try {
    search.metric = tune::parse_metric(o.metric);
  } catch (const std::invalid_argument& e) {
    throw UsageError(e.what());
  }
  search.families = parse_models(o.models);
  data::SplitKind kind;
  try {
    kind = data::split_kind_from_string(o.split);
  } catch (const std::invalid_argument& e) {
    throw UsageError(e.what());
  }
  if (kind == data::SplitKind::None) throw UsageError("--split none: tune needs a held-out part to validate on");
  if (!(o.test_fraction > 0 && o.test_fraction < 1))
    throw UsageError(fmt::format("--test-fraction must be between 0 and 1, exclusive (got {})", o.test_fraction));
  const unsigned threads = resolve_threads(global.threads);

  PipeIgnored pipe_ignored;  // before the first line tune writes
  auto db = open_database(global, o.files.empty() ? store::OpenMode::ReadWrite : store::OpenMode::Create);
  if (!o.files.empty()) {
    data::ImportOptions import = o.import;
    import.threads = global.threads;
    data::ImportReport imported;
    try {
      imported = data::import_files(db, o.files, import);
    } catch (...) {
      discard_if_created(std::move(db));
      throw;
    }
    print_import_errors(imported);
    std::fprintf(o.json ? stderr : stdout, "%s", import_summary(imported).c_str());
  }
  if (o.files.empty()) return search_and_store(db, o, search, kind, budget, threads, timer);
  // A failure from here on leaves the files imported (one committed
  // transaction, like train FILE): the message says so, since a re-run with
  // the same files is refused without --append or --replace.
  const std::string imported = " (the rating files given were imported and stay stored: run recsys tune without them)";
  try {
    search_and_store(db, o, search, kind, budget, threads, timer);
  } catch (const UsageError& e) {
    throw UsageError(std::string(e.what()) + imported);
  } catch (const std::runtime_error& e) {
    throw std::runtime_error(std::string(e.what()) + imported);
  }
}

}  // namespace

void setup_tune(CLI::App& app, const GlobalOptions& global, Runner& run) {
  auto o = std::make_shared<TuneOptions>();
  auto* sub = app.add_subcommand("tune", "Search model families and settings within a time budget; store the best "
                                         "as training defaults");
  sub->add_option("files", o->files, "Rating files to import first (none: tune on the stored ratings)");
  add_import_options(*sub, o->import);
  sub->add_option("--budget", o->budget, "Wall time for the search: 30s, 5m, 1h")->capture_default_str();
  sub->add_option("--metric", o->metric, "What to maximise: ndcg@K, map or recall@K")->capture_default_str();
  sub->add_option("--models", o->models, "Model families to search, comma separated: ials, ease")->capture_default_str();
  sub->add_option("--split", o->split, "Hold-out split, as train's (its test part is never used): stratified, random, chrono")
      ->check(CLI::IsMember({"stratified", "random", "chrono"}))
      ->capture_default_str();
  sub->add_option("--test-fraction", o->test_fraction, "As train's --test-fraction; validation takes the same fraction of the rest")
      ->capture_default_str();
  sub->add_option("--seed", o->seed, "Seed of the split (as train's) and of the search")->capture_default_str();
  sub->add_option("--max-trials", o->max_trials, "Stop after this many trials (0: as many as the budget allows)")
      ->capture_default_str();
  sub->add_option("--prefer", o->prefer,
                  "simpler: the simplest model within the bootstrap interval of the best; best: the highest metric")
      ->check(CLI::IsMember({"simpler", "best"}))
      ->capture_default_str();
  sub->add_flag("--json", o->json, "Print the leaderboard as JSON on stdout (progress goes to stderr)");
  sub->add_flag("--reset", o->reset, "Forget the stored tuned defaults and exit");
  sub->callback([&global, &run, o] { run = [&global, o] { run_tune(global, *o); }; });
}

}  // namespace recsys::cli
