#include "tune/search.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <stdexcept>

#include "eval/data_stats.hpp"
#include "tune/runner.hpp"
#include "tune/trial.hpp"
#include "util/random.hpp"

namespace recsys::tune {

namespace {

using namespace detail;

// Hyperband's shape: fidelities 3, 8, 24 iterations (R = 24, η = 3), three
// brackets of 9, 5 and 3 configurations (Li et al. 2018, algorithm 1).
constexpr std::uint32_t kMaxIterations = 24;
constexpr int kEta = 3;
constexpr int kBrackets = 3;
constexpr const char* kDefaultsStage = "defaults";
constexpr int kRounds = 3;        // Hyperband rounds (new random configurations each)
constexpr int kMovesPerStep = 3;  // refinement moves per step size
// EASE's λ is one-dimensional: from 300, ×3 and ÷3, then onwards in the
// direction that improves (an EASE fit costs items³, so few of them).
constexpr float kEaseFirstLambda = 300.0f;
constexpr float kEaseStep = 3.0f;
// The confirmation (search.hpp): 4 parts of 10 % of the train part, decided
// on at least 2; when the search would use the whole budget, its last quarter
// is kept for the confirmation.
constexpr std::size_t kConfirmParts = 4;
constexpr std::size_t kConfirmMinParts = 2;
constexpr double kConfirmFraction = 0.1;
constexpr double kConfirmShare = 0.25;

std::string bracket_stage(int b, int rung, int rungs) {
  return fmt::format("bracket {}/{} rung {}/{}", b + 1, kBrackets, rung + 1, rungs);
}

// Successive halving: n configurations at the bracket's first fidelity, the
// best 1/η promoted (warm-started) to the next, to kMaxIterations.
void run_bracket(Runner& runner, int b, std::vector<Settings> configs) {
  const int s = kBrackets - 1 - b;  // rungs after the first
  std::vector<Job> jobs;
  for (auto& c : configs) {
    Job j;
    j.settings = c;
    jobs.push_back(std::move(j));
  }
  for (int rung = 0; rung <= s && !jobs.empty(); ++rung) {
    const auto iterations =
        static_cast<std::uint32_t>(std::lround(kMaxIterations * std::pow(double(kEta), rung - s)));
    for (auto& j : jobs) {
      j.from = j.state ? j.settings.iterations : 0;
      j.settings.iterations = iterations;
      j.id = runner.next_id();
      j.stage = bracket_stage(b, rung, s + 1);
      j.done = false;
    }
    runner.run(jobs);
    if (rung == s) break;
    // Promote the best ⌊n/η⌋ (at least one) of those that finished.
    std::map<std::size_t, double> metric;
    for (const auto& r : runner.results()) metric[r.id] = r.metric;
    std::vector<Job> finished;
    for (auto& j : jobs)
      if (j.done) finished.push_back(std::move(j));
    std::stable_sort(finished.begin(), finished.end(),
                     [&](const Job& a, const Job& c) { return metric[a.id] > metric[c.id]; });
    finished.resize(std::min(finished.size(), std::max<std::size_t>(1, jobs.size() / kEta)));
    jobs = std::move(finished);
  }
}

// Finished or failed: a setting whose fit threw would throw again.
bool tried(const Runner& runner, const Settings& s) {
  const auto& results = runner.results();
  const auto& failed = runner.failed_settings();
  return std::any_of(results.begin(), results.end(), [&](const auto& r) { return r.settings == s; }) ||
         std::find(failed.begin(), failed.end(), s) != failed.end();
}

// The metric of the finished trial with these settings, or -1 when there is none.
double metric_of(const std::vector<TrialResult>& results, const Settings& s) {
  for (const auto& r : results)
    if (r.settings == s) return r.metric;
  return -1.0;
}

std::size_t best_of(const std::vector<TrialResult>& results) {
  std::size_t best = 0;
  for (std::size_t j = 1; j < results.size(); ++j)
    if (results[j].metric > results[best].metric) best = j;
  return best;
}

// Local search around the best: moves of ×/÷ 2, then √2, then 2^¼; each step
// size is repeated while it improves the best (at most kMovesPerStep times).
template <typename RunSettings>
void refine(Runner& runner, RunSettings&& run_settings, std::uint32_t max_factors) {
  for (double step : {2.0, std::sqrt(2.0), std::pow(2.0, 0.25)}) {
    for (int move = 0; move < kMovesPerStep && runner.more_trials(); ++move) {
      const auto& results = runner.results();
      if (results.empty()) return;
      const double before = results[best_of(results)].metric;
      std::vector<Settings> next;
      for (const auto& n : neighbours(results[best_of(results)].settings, step, max_factors))
        if (!tried(runner, n)) next.push_back(n);
      if (next.empty()) break;
      run_settings(next, fmt::format("refine x{:.3g}", step));
      if (!(runner.results()[best_of(runner.results())].metric > before)) break;
    }
  }
}

// The per-user confidence normalisation (model/params.hpp), tried last on the
// iALS trial results[base] (the best, then the one the tie rule would choose):
// β 0.25 and 0.5, then ±0.125 around the better if it beat the base. Searched earlier (drawn in the brackets, as a refinement direction,
// or after each round) it led the greedy moves to few factors and iterations,
// below the defaults on the test part (docs/training.md "Tuning").
template <typename RunSettings>
void user_norm_search(Runner& runner, RunSettings&& run_settings, std::size_t base) {
  const auto& results = runner.results();
  const Settings start = results[base].settings;
  const double start_metric = results[base].metric;
  auto with_norm = [&](float beta) {
    Settings s = start;
    s.user_norm = beta;
    return s;
  };
  auto norm_metric = [&](float beta) { return metric_of(runner.results(), with_norm(beta)); };
  auto run_norms = [&](std::initializer_list<float> betas) {
    std::vector<Settings> next;
    for (float b : betas)
      if (!tried(runner, with_norm(b))) next.push_back(with_norm(b));
    if (!next.empty()) run_settings(next, "user norm");
  };
  run_norms({0.25f, 0.5f});
  const float better = norm_metric(0.5f) > norm_metric(0.25f) ? 0.5f : 0.25f;
  if (runner.more_trials() && norm_metric(better) > start_metric) run_norms({better - 0.125f, better + 0.125f});
}

bool ease_fits(const TuneData& data) { return trial_memory(ease_settings(1), data) <= available_memory() / 2; }

// EASE's λ: 300, then 100 and 900 together, then on by ×3 in the better
// direction while it improves (at most two more steps).
template <typename RunSettings>
void ease_search(Runner& runner, RunSettings&& run_settings) {
  auto metric_of_lambda = [&](float lambda) { return metric_of(runner.results(), ease_settings(lambda)); };
  run_settings({ease_settings(kEaseFirstLambda)}, "ease");
  if (!runner.more_trials()) return;
  run_settings({ease_settings(kEaseFirstLambda / kEaseStep), ease_settings(kEaseFirstLambda * kEaseStep)}, "ease");
  float lambda = kEaseFirstLambda;
  for (float candidate : {kEaseFirstLambda / kEaseStep, kEaseFirstLambda * kEaseStep})
    if (metric_of_lambda(candidate) > metric_of_lambda(lambda)) lambda = candidate;
  if (lambda == kEaseFirstLambda) return;
  const float step = lambda < kEaseFirstLambda ? 1.0f / kEaseStep : kEaseStep;
  for (int more = 0; more < 2 && runner.more_trials(); ++more) {
    const float next = lambda * step;
    run_settings({ease_settings(next)}, "ease");
    if (!(metric_of_lambda(next) > metric_of_lambda(lambda))) return;
    lambda = next;
  }
}

// The search's last stage (search.hpp Confirmation): the candidates on each
// part in turn, while the budget, --max-trials and Ctrl-C allow a whole part
// (and, until two are done, the parts still needed to decide). A candidate
// that fails is dropped (its trial is reported as failed).
void confirm(Runner& runner, const TuneData& data, SearchResult& out, bool has_ials, std::uint32_t max_factors) {
  auto& c = out.confirmation;
  std::vector<Settings> candidates;
  auto add = [&](const Settings& s) {
    if (std::find(candidates.begin(), candidates.end(), s) == candidates.end()) candidates.push_back(s);
  };
  for (const auto& s : confirmation_variants(out.trials[out.chosen].settings, max_factors)) add(s);
  for (const auto& s : confirmation_variants(out.trials[out.best].settings, max_factors)) add(s);
  if (has_ials) add(default_ials());
  if (candidates.size() < 2) {
    c.not_decided = "a single candidate";
    return;
  }
  if (data.kind == data::SplitKind::Chrono) {
    // The chrono split holds out each user's latest ratings whatever the
    // seed: every part would be the same part.
    c.not_decided = "--split chrono: its parts would all be the same";
    return;
  }
  // A part fits on (1 − fraction) of the train part where the search's trials
  // fit on data.train, and the costs grow with the ratings fitted.
  const double scale = (1.0 - kConfirmFraction) * static_cast<double>(data.train_part.size()) /
                       std::max<double>(1.0, static_cast<double>(data.train.size()));
  auto estimate = [&](const std::vector<Settings>& list) {
    std::vector<Job> ials_jobs, ease_jobs;
    for (const auto& s : list) {
      Job job;
      job.settings = s;
      (s.family == Family::Ease ? ease_jobs : ials_jobs).push_back(std::move(job));
    }
    return scale * (runner.batch_estimate(ials_jobs) + runner.batch_estimate(ease_jobs));
  };
  auto two_parts_fit = [&](const std::vector<Settings>& list) {
    return runner.now() + static_cast<double>(kConfirmMinParts) * estimate(list) <= runner.trials_end();
  };
  std::vector<TrialResult> first(candidates.size());
  std::vector<std::vector<double>> metrics(candidates.size());
  std::vector<double> seconds(candidates.size(), 0.0);
  std::vector<bool> alive(candidates.size(), true);
  for (std::size_t part = 0; part < kConfirmParts; ++part) {
    const auto n = static_cast<std::size_t>(std::count(alive.begin(), alive.end(), true));
    if (n < 2) {
      c.not_decided = "candidates failed";
      break;
    }
    if (runner.stopped()) {
      c.not_decided = "interrupted";
      break;
    }
    const std::size_t needed = part < kConfirmMinParts ? kConfirmMinParts - part : 1;
    if (runner.now() >= runner.trials_end()) {
      c.not_decided = "the budget";
      break;
    }
    if (!runner.room_for(n * needed)) {
      c.not_decided = "--max-trials";
      break;
    }
    if (part == 0 && !two_parts_fit(candidates)) {
      // Two parts of every candidate beyond the budget: the costliest
      // variants (by their estimated time) are left out, one at a time, until
      // two parts of the rest fit. The search's chosen and best settings and
      // the defaults stay: a confirmation of fewer variants still decides
      // between them, where none left the tie rule's choice, which fits on
      // more data disfavour (docs/training.md, step 8). When even those do
      // not fit, nothing is left out and the check below ends the stage.
      auto fewer = candidates;
      auto left_out = leave_out_costliest(
          fewer, {out.trials[out.chosen].settings, out.trials[out.best].settings, default_ials()},
          [&](const Settings& s) { return estimate({s}); }, two_parts_fit);
      if (fewer.size() >= 2 && two_parts_fit(fewer)) {
        candidates = std::move(fewer);
        c.left_out = std::move(left_out);
        first.resize(candidates.size());
        metrics.resize(candidates.size());
        seconds.resize(candidates.size());
        alive.assign(candidates.size(), true);
      }
    }
    std::vector<Job> ials_jobs, ease_jobs;
    for (std::size_t j = 0; j < candidates.size(); ++j) {
      if (!alive[j]) continue;
      Job job;
      job.settings = candidates[j];
      job.stage = fmt::format("confirm {}/{}", part + 1, kConfirmParts);
      (candidates[j].family == Family::Ease ? ease_jobs : ials_jobs).push_back(std::move(job));
    }
    // Estimated on the search's data before carving (carving re-splits the
    // whole train part and cannot stop), scaled to the part's ratings.
    std::vector<Settings> alive_settings;
    for (std::size_t j = 0; j < candidates.size(); ++j)
      if (alive[j]) alive_settings.push_back(candidates[j]);
    const double part_seconds = estimate(alive_settings);
    if (runner.now() + static_cast<double>(needed) * part_seconds > runner.trials_end()) {
      c.not_decided = "the budget";
      break;
    }
    TuneData part_data;
    try {
      part_data = carve_part(data, kConfirmFraction, part);
    } catch (const std::runtime_error&) {
      c.not_decided = "too few ratings for its parts";
      break;
    }
    // EASE runs alone with every thread (Runner::concurrency): its
    // candidates have a batch of their own, so the iALS ones still run side
    // by side.
    runner.use_data(part_data);
    const std::size_t failed_before = runner.failed_settings().size();
    for (auto* jobs : {&ials_jobs, &ease_jobs}) {
      for (auto& job : *jobs) job.id = runner.next_id();
      runner.run(*jobs);
    }
    runner.use_data(data);
    auto results = runner.take_results();
    std::vector<std::pair<std::size_t, const TrialResult*>> scored;
    for (const auto* jobs : {&ials_jobs, &ease_jobs}) {
      for (const auto& job : *jobs) {
        const auto j = static_cast<std::size_t>(
            std::find(candidates.begin(), candidates.end(), job.settings) - candidates.begin());
        auto r = std::find_if(results.begin(), results.end(), [&](const auto& x) { return x.id == job.id; });
        if (r == results.end()) {
          // Failed: dropped. Otherwise cut by the budget or Ctrl-C: the part does not count.
          const auto& failed = runner.failed_settings();
          if (std::find(failed.begin() + static_cast<std::ptrdiff_t>(failed_before), failed.end(), candidates[j]) !=
              failed.end())
            alive[j] = false;
          continue;
        }
        ++c.trials;
        scored.emplace_back(j, &*r);
      }
    }
    bool complete = true;
    for (std::size_t j = 0; j < candidates.size(); ++j)
      if (alive[j] && std::none_of(scored.begin(), scored.end(), [&](const auto& x) { return x.first == j; }))
        complete = false;
    if (!complete) {
      c.not_decided = runner.stopped() ? "interrupted" : "the budget";
      break;
    }
    for (const auto& [j, r] : scored) {
      if (!alive[j]) continue;
      if (c.parts == 0) first[j] = *r;
      metrics[j].push_back(r->metric);
      seconds[j] += r->seconds;
    }
    ++c.parts;
  }
  for (std::size_t j = 0; j < candidates.size(); ++j) {
    if (!alive[j] || c.parts == 0 || metrics[j].size() != c.parts) continue;
    TrialResult r = first[j];
    r.stage = "confirmation";
    r.metric = mean(metrics[j]);
    r.seconds = seconds[j];
    r.per_user.clear();  // the parts validate different ratings
    c.candidates.push_back(std::move(r));
    c.part_metrics.push_back(metrics[j]);
  }
  if (c.parts < kConfirmMinParts || c.candidates.size() < 2) {
    if (c.not_decided.empty()) c.not_decided = c.parts < kConfirmMinParts ? "too few parts" : "candidates failed";
    return;
  }
  c.not_decided.clear();
  c.decided = true;
  // The highest mean, whatever --prefer says: the tie rule already chose the
  // base in the search, and applied again here it takes back what fits on
  // more data favour (measured: docs/training.md "Five splits of ML-100k").
  c.chosen = best_of(c.candidates);
}

}  // namespace

MetricSpec parse_metric(const std::string& text) {
  MetricSpec m;
  m.name = text;
  auto at = text.find('@');
  std::string head = text.substr(0, at);
  if (at != std::string::npos) {
    const std::string tail = text.substr(at + 1);
    // At most 9 digits: no overflow, and far more than any catalogue (evaluation caps lists at the items).
    if (tail.empty() || tail.size() > 9 || tail.find_first_not_of("0123456789") != std::string::npos ||
        std::stoul(tail) == 0)
      throw std::invalid_argument(fmt::format("--metric {}: k after '@' must be a number from 1 to 999999999", text));
    m.k = std::stoul(tail);
  }
  if (head == "ndcg") {
    m.metric = Metric::Ndcg;
  } else if (head == "recall") {
    m.metric = Metric::Recall;
  } else if (head == "map" && at == std::string::npos) {
    m.metric = Metric::Map;
  } else {
    throw std::invalid_argument(fmt::format("unknown --metric '{}' (ndcg@10, map or recall@10)", text));
  }
  if (at == std::string::npos && m.metric != Metric::Map) m.name = fmt::format("{}@{}", head, m.k);
  return m;
}

std::size_t choose(const std::vector<TrialResult>& trials, std::size_t best, double floor) {
  std::size_t chosen = best;
  const auto& b = trials[best].per_user;
  std::vector<double> diff(b.size());
  for (std::size_t j = 0; j < trials.size(); ++j) {
    const auto& t = trials[j];
    if (j == best || t.per_user.size() != b.size() || t.metric < floor) continue;
    const bool candidate = simpler(t.settings, trials[chosen].settings) ||
                           (!simpler(trials[chosen].settings, t.settings) && t.metric > trials[chosen].metric);
    if (!candidate) continue;
    for (std::size_t u = 0; u < b.size(); ++u) diff[u] = b[u] - t.per_user[u];
    if (eval::bootstrap_mean(diff).low <= 0) chosen = j;  // no real difference from the best
  }
  return chosen;
}

SearchResult search(const TuneData& data, const SearchOptions& o) {
  Runner runner(data, o);
  // The confirmation's share: the search's trials end earlier by it, and it
  // gets the rest (with what the search did not use).
  auto has = [&](Family f) { return std::find(o.families.begin(), o.families.end(), f) != o.families.end(); };
  const auto present = eval::compute_data_stats(data.train_part);  // users and items with ratings
  const std::uint32_t max_factors = factor_ceiling(present.users, present.items);
  if (max_factors < kSearchMaxFactors && has(Family::Ials) && o.on_note)
    o.on_note(fmt::format("iALS factors capped at {}: the train part has {} users and {} items with ratings, and "
                          "factors beyond the smaller count add no capacity",
                          max_factors, present.users, present.items));
  const double end = runner.trials_end();
  // Not for EASE alone (no variants), a chrono split (one part) or
  // --max-trials (the plan decides, and a search cut by the budget still
  // spends its ids on the trials it skips).
  if (has(Family::Ials) && data.kind != data::SplitKind::Chrono && o.max_trials == 0)
    runner.set_trials_end(end - kConfirmShare * std::max(0.0, end - o.elapsed_before));
  auto run_settings = [&](const std::vector<Settings>& list, const std::string& stage) {
    std::vector<Job> jobs;
    for (const auto& s : list) {
      Job j;
      j.id = runner.next_id();
      j.stage = stage;
      j.settings = s;
      jobs.push_back(std::move(j));
    }
    runner.run(jobs);
  };
  // The built-in defaults first: the baseline every other trial must beat.
  if (has(Family::Ials)) run_settings({default_ials()}, kDefaultsStage);
  // Rounds of Hyperband brackets, each followed by a local refinement around
  // the best so far; the budget (or --max-trials) decides how many run.
  for (int round = 0; round < kRounds && runner.more_trials(); ++round) {
    if (has(Family::Ials)) {
      for (int b = 0; b < kBrackets && runner.more_trials(); ++b) {
        const int s = kBrackets - 1 - b;
        const auto n = static_cast<std::size_t>(std::ceil(kBrackets / double(s + 1) * std::pow(double(kEta), s)));
        SplitMix rng(o.seed, static_cast<std::uint64_t>(round * kBrackets + b));
        std::vector<Settings> configs;
        for (std::size_t c = 0; c < n; ++c) configs.push_back(sample_ials(rng, max_factors));
        run_bracket(runner, b, std::move(configs));
      }
    }
    if (round == 0 && has(Family::Ease)) {
      if (ease_fits(data)) {
        ease_search(runner, run_settings);
      } else if (o.on_note) {
        o.on_note(fmt::format("EASE skipped: its {} items need {:.0f} MiB, more than half the available memory",
                              data.train.n_items, trial_memory(ease_settings(1), data) / 1048576.0));
      }
    }
    refine(runner, run_settings, max_factors);
  }
  auto best_ials = [&] {
    const auto& results = runner.results();
    std::size_t base = results.size();
    for (std::size_t j = 0; j < results.size(); ++j)
      if (results[j].settings.family == Family::Ials && (base == results.size() || results[j].metric > results[base].metric))
        base = j;
    return base;
  };
  auto floor_of = [](const std::vector<TrialResult>& trials) {
    double floor = -1;
    for (const auto& t : trials)
      if (t.stage == kDefaultsStage) floor = t.metric;
    return floor;
  };
  if (has(Family::Ials) && runner.more_trials()) {
    if (auto base = best_ials(); base < runner.results().size()) user_norm_search(runner, run_settings, base);
  }
  // The tie rule may choose a setting other than the best: the user norm on it too.
  if (has(Family::Ials) && o.prefer_simpler && runner.more_trials() && !runner.results().empty()) {
    const auto& results = runner.results();
    std::size_t c = choose(results, best_of(results), floor_of(results));
    if (results[c].settings.family == Family::Ials && results[c].settings.user_norm == 0)
      user_norm_search(runner, run_settings, c);
  }

  SearchResult out;
  out.trials = runner.take_results();
  if (out.trials.empty())
    throw std::runtime_error(runner.stopped()       ? "interrupted before the first trial finished"
                             : runner.failed() > 0 ? "every trial failed (the reasons are above)"
                                              : "no trial finished within the budget (the notes above say what did not fit): give a larger --budget");
  out.best = best_of(out.trials);
  out.chosen = o.prefer_simpler ? choose(out.trials, out.best, floor_of(out.trials)) : out.best;
  // The user norm does not count as complexity: the chosen model with the
  // user norm that scored best.
  for (std::size_t j = 0; j < out.trials.size(); ++j) {
    Settings a = out.trials[j].settings, b = out.trials[out.chosen].settings;
    a.user_norm = b.user_norm;
    if (a == b && out.trials[j].metric > out.trials[out.chosen].metric) out.chosen = j;
  }
  out.best_interval = eval::bootstrap_mean(out.trials[out.best].per_user);
  out.confirmation.planned_parts = kConfirmParts;
  out.confirmation.fraction = kConfirmFraction;
  if (out.trials[out.best].metric > 0) {
    runner.set_trials_end(end);
    confirm(runner, data, out, has(Family::Ials), max_factors);
  } else {
    out.confirmation.not_decided = "every trial scored 0";
  }
  out.skipped = runner.skipped();
  out.failed = runner.failed();
  out.out_of_budget = runner.out_of_budget();
  out.interrupted = o.stop && o.stop->load();
  out.seconds = runner.now();
  return out;
}

}  // namespace recsys::tune
