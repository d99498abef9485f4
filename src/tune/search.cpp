#include "tune/search.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "tune/trial.hpp"
#include "util/random.hpp"

namespace recsys::tune {

namespace {

using Clock = std::chrono::steady_clock;

double available_memory() {
  return static_cast<double>(sysconf(_SC_AVPHYS_PAGES)) * static_cast<double>(sysconf(_SC_PAGESIZE));
}

// Hyperband's shape: fidelities 3, 8, 24 iterations (R = 24, η = 3), three
// brackets of 9, 5 and 3 configurations (Li et al. 2018, algorithm 1).
constexpr std::uint32_t kMaxIterations = 24;
constexpr int kEta = 3;
constexpr int kBrackets = 3;
constexpr const char* kDefaultsStage = "defaults";
// Cost units (about flops) per second and thread assumed before a family has
// a measured rate: ALS streams ratings (memory-bound), EASE is dense BLAS.
constexpr double kPriorIalsUnitsPerSecond = 1e9;
constexpr double kPriorEaseUnitsPerSecond = 1e10;
constexpr int kRounds = 3;        // Hyperband rounds (new random configurations each)
constexpr int kMovesPerStep = 3;  // refinement moves per step size
// EASE's λ is one-dimensional: from 300, ×3 and ÷3, then onwards in the
// direction that improves (an EASE fit costs items³, so few of them).
constexpr float kEaseFirstLambda = 300.0f;
constexpr float kEaseStep = 3.0f;

double metric_of(const eval::UserRanking& u, Metric m) {
  switch (m) {
    case Metric::Ndcg: return u.ndcg;
    case Metric::Map: return u.ap;
    case Metric::Recall: return u.recall;
  }
  return u.ndcg;
}

double mean(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return v.empty() ? 0.0 : s / static_cast<double>(v.size());
}

// A planned step: take `state` (or a new trial when null) to settings.iterations.
struct Job {
  std::size_t id = 0;
  std::string stage;
  Settings settings;
  std::uint32_t from = 0;
  std::unique_ptr<Trial> state;
  bool done = false;
};

// Runs batches of jobs over the worker threads and keeps the results, the
// budget and the time estimates. Owned by search(); its mutex guards every
// member written by the workers (results_, rates_, skipped_, out_of_budget_)
// and serialises on_trial.
class Runner {
 public:
  Runner(const TuneData& data, const SearchOptions& o) : data_(data), o_(o), start_(Clock::now()) {}

  double now() const { return o_.elapsed_before + std::chrono::duration<double>(Clock::now() - start_).count(); }
  bool stopped() const { return o_.stop && o_.stop->load(); }
  bool keep_going() const { return !stopped() && now() < o_.budget_seconds; }
  // Whether to plan more trials: time left and --max-trials not reached.
  bool more_trials() const { return keep_going() && (o_.max_trials == 0 || ids_ < o_.max_trials); }
  std::size_t next_id() { return ++ids_; }

  // Runs the jobs, several at once when threads and memory allow; each
  // completed job's result is appended and its state kept in the job.
  void run(std::vector<Job>& jobs) {
    if (jobs.empty()) return;
    const unsigned concurrent = concurrency(jobs);
    const unsigned share = std::max(1u, o_.threads / concurrent);
    std::atomic<std::size_t> next{0};
    std::vector<std::exception_ptr> errors(concurrent);
    auto work = [&](unsigned w) {
      try {
        for (std::size_t j; (j = next.fetch_add(1)) < jobs.size();) run_one(jobs[j], share);
      } catch (...) {
        errors[w] = std::current_exception();
      }
    };
    if (concurrent == 1) {
      work(0);
    } else {
      std::vector<std::thread> pool;
      for (unsigned w = 0; w < concurrent; ++w) pool.emplace_back(work, w);
      for (auto& t : pool) t.join();
    }
    for (auto& e : errors)
      if (e) std::rethrow_exception(e);
  }

  std::vector<TrialResult> take_results() {
    std::sort(results_.begin(), results_.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
    return std::move(results_);
  }
  std::size_t skipped() const { return skipped_; }
  bool out_of_budget() const { return out_of_budget_; }
  // Results so far (the search reads them between batches, when no worker runs).
  const std::vector<TrialResult>& results() const { return results_; }

 private:
  // As many jobs at once as threads, while their memory fits in half of what
  // is available. The thread share per trial follows from the batch size and
  // --threads alone, so results do not depend on timing.
  unsigned concurrency(const std::vector<Job>& jobs) const {
    unsigned n = static_cast<unsigned>(std::min<std::size_t>(o_.threads, jobs.size()));
    double need = 0;
    for (const auto& j : jobs) need = std::max(need, trial_memory(j.settings, data_));
    const double available = available_memory();
    while (n > 1 && n * need > available / 2) --n;
    return std::max(1u, n);
  }

  // Seconds the job should take: its cost times the seconds per cost unit
  // measured on finished trials of the family, or before there are any a
  // cautious prior (kPriorUnitsPerSecond per thread), so a first EASE fit
  // on many items is not launched blind into a short budget.
  double estimate(const Job& job, unsigned threads) {
    const double cost = trial_cost(job.settings, job.from, job.settings.iterations, data_);
    std::lock_guard lock(mutex_);
    auto it = rates_.find(job.settings.family);
    if (it == rates_.end() || it->second.second <= 0) {
      const double prior = job.settings.family == Family::Ease ? kPriorEaseUnitsPerSecond : kPriorIalsUnitsPerSecond;
      return cost / (prior * threads);
    }
    return it->second.first / it->second.second * cost;
  }

  void run_one(Job& job, unsigned threads) {
    if (o_.max_trials > 0 && job.id > o_.max_trials) return;  // the plan ends here
    // Launch only what can finish within the budget.
    if (stopped() || now() + estimate(job, threads) > o_.budget_seconds) {
      std::lock_guard lock(mutex_);
      ++skipped_;
      if (!stopped()) out_of_budget_ = true;
      job.state.reset();
      return;
    }
    Clock::time_point t0 = Clock::now();
    if (!job.state) job.state = start_trial(job.settings, data_);
    if (!job.state->advance(job.settings.iterations, threads, [this] { return keep_going(); })) {
      std::lock_guard lock(mutex_);
      ++skipped_;
      if (!stopped()) out_of_budget_ = true;
      job.state.reset();
      return;
    }
    auto report = job.state->evaluate(data_, o_.metric.k, threads);
    TrialResult r;
    r.id = job.id;
    r.stage = job.stage;
    r.settings = job.settings;
    r.threads = threads;
    r.per_user.reserve(report.per_user.size());
    for (const auto& u : report.per_user) r.per_user.push_back(metric_of(u, o_.metric.metric));
    r.metric = mean(r.per_user);
    r.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    job.done = true;
    std::lock_guard lock(mutex_);
    auto& rate = rates_[job.settings.family];
    rate.first += r.seconds;
    rate.second += trial_cost(job.settings, job.from, job.settings.iterations, data_);
    if (o_.on_trial) o_.on_trial(r);
    results_.push_back(std::move(r));
  }

  const TuneData& data_;
  const SearchOptions& o_;
  Clock::time_point start_;
  std::size_t ids_ = 0;  // search thread only
  std::mutex mutex_;
  std::vector<TrialResult> results_;
  std::map<Family, std::pair<double, double>> rates_;  // family -> (seconds, cost units)
  std::size_t skipped_ = 0;
  bool out_of_budget_ = false;
};

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

bool tried(const std::vector<TrialResult>& results, const Settings& s) {
  return std::any_of(results.begin(), results.end(), [&](const auto& r) { return r.settings == s; });
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
void refine(Runner& runner, RunSettings&& run_settings) {
  for (double step : {2.0, std::sqrt(2.0), std::pow(2.0, 0.25)}) {
    for (int move = 0; move < kMovesPerStep && runner.more_trials(); ++move) {
      const auto& results = runner.results();
      if (results.empty()) return;
      const double before = results[best_of(results)].metric;
      std::vector<Settings> next;
      for (const auto& n : neighbours(results[best_of(results)].settings, step))
        if (!tried(results, n)) next.push_back(n);
      if (next.empty()) break;
      run_settings(next, fmt::format("refine x{:.3g}", step));
      if (!(runner.results()[best_of(runner.results())].metric > before)) break;
    }
  }
}

Settings ease(float lambda) {
  Settings s;
  s.family = Family::Ease;
  s.factors = 0;
  s.alpha = 0;
  s.iterations = 1;
  s.confidence = model::Confidence::Binary;
  s.regularization = lambda;
  return s;
}

bool ease_fits(const TuneData& data) { return trial_memory(ease(1), data) <= available_memory() / 2; }

// EASE's λ: 300, then 100 and 900 together, then on by ×3 in the better
// direction while it improves (at most two more steps).
template <typename RunSettings>
void ease_search(Runner& runner, RunSettings&& run_settings) {
  auto metric_of_lambda = [&](float lambda) {
    for (const auto& r : runner.results())
      if (r.settings == ease(lambda)) return r.metric;
    return -1.0;
  };
  run_settings({ease(kEaseFirstLambda)}, "ease");
  if (!runner.more_trials()) return;
  run_settings({ease(kEaseFirstLambda / kEaseStep), ease(kEaseFirstLambda * kEaseStep)}, "ease");
  float lambda = kEaseFirstLambda;
  for (float candidate : {kEaseFirstLambda / kEaseStep, kEaseFirstLambda * kEaseStep})
    if (metric_of_lambda(candidate) > metric_of_lambda(lambda)) lambda = candidate;
  if (lambda == kEaseFirstLambda) return;
  const float step = lambda < kEaseFirstLambda ? 1.0f / kEaseStep : kEaseStep;
  for (int more = 0; more < 2 && runner.more_trials(); ++more) {
    const float next = lambda * step;
    run_settings({ease(next)}, "ease");
    if (!(metric_of_lambda(next) > metric_of_lambda(lambda))) return;
    lambda = next;
  }
}

}  // namespace

MetricSpec parse_metric(const std::string& text) {
  MetricSpec m;
  m.name = text;
  auto at = text.find('@');
  std::string head = text.substr(0, at);
  if (at != std::string::npos) {
    const std::string tail = text.substr(at + 1);
    if (tail.empty() || tail.find_first_not_of("0123456789") != std::string::npos || std::stoul(tail) == 0)
      throw std::invalid_argument(fmt::format("--metric {}: k after '@' must be a positive number", text));
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
  auto has = [&](Family f) { return std::find(o.families.begin(), o.families.end(), f) != o.families.end(); };
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
        for (std::size_t c = 0; c < n; ++c) configs.push_back(sample_ials(rng));
        run_bracket(runner, b, std::move(configs));
      }
    }
    if (round == 0 && has(Family::Ease)) {
      if (ease_fits(data)) {
        ease_search(runner, run_settings);
      } else if (o.on_note) {
        o.on_note(fmt::format("EASE skipped: its {} items need {:.0f} MiB, more than half the available memory",
                              data.train.n_items, trial_memory(ease(1), data) / 1048576.0));
      }
    }
    refine(runner, run_settings);
  }

  SearchResult out;
  out.skipped = runner.skipped();
  out.out_of_budget = runner.out_of_budget();
  out.interrupted = o.stop && o.stop->load();
  out.seconds = runner.now();
  out.trials = runner.take_results();
  if (out.trials.empty())
    throw std::runtime_error(out.interrupted ? "interrupted before the first trial finished"
                                             : "the budget ended before the first trial finished: give a larger --budget");
  out.best = best_of(out.trials);
  double floor = -1;
  for (const auto& t : out.trials)
    if (t.stage == kDefaultsStage) floor = t.metric;
  out.chosen = o.prefer_simpler ? choose(out.trials, out.best, floor) : out.best;
  out.best_interval = eval::bootstrap_mean(out.trials[out.best].per_user);
  return out;
}

}  // namespace recsys::tune
