// Runs the trials of `recsys tune` (tune/search.cpp plans them): batches of
// jobs over the worker threads within the wall-time budget, with the time
// estimates that decide whether a trial may still start, and the results.
#pragma once

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "tune/search.hpp"
#include "tune/trial.hpp"
#include "util/memory.hpp"
#include "util/parallel.hpp"

namespace recsys::tune::detail {

using Clock = std::chrono::steady_clock;

// Bytes a new trial may take (util/memory.hpp: MemAvailable).
inline double available_memory() { return static_cast<double>(recsys::available_memory()); }

// Cost units (about flops) per second and thread assumed before a family has
// a measured rate: ALS streams ratings (memory-bound), EASE is dense BLAS.
constexpr double kPriorIalsUnitsPerSecond = 1e9;
constexpr double kPriorEaseUnitsPerSecond = 1e10;

inline double metric_of(const eval::UserRanking& u, Metric m) {
  switch (m) {
    case Metric::Ndcg: return u.ndcg;
    case Metric::Map: return u.ap;
    case Metric::Recall: return u.recall;
  }
  return u.ndcg;
}

inline double mean(const std::vector<double>& v) {
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
// budget and the time estimates. Owned by search() (one thread plans and
// calls run(); workers live only inside run()); its mutex guards every
// member written by the workers (results_, rates_, skipped_, failed_,
// failed_settings_, too_long_noted_, out_of_budget_) and serialises on_trial
// and on_note.
class Runner {
 public:
  Runner(const TuneData& data, const SearchOptions& o)
      : data_(&data), o_(o), start_(Clock::now()), trials_end_(o.budget_seconds - o.reserve_seconds) {}

  double now() const { return o_.elapsed_before + std::chrono::duration<double>(Clock::now() - start_).count(); }
  bool stopped() const { return o_.stop && o_.stop->load(); }
  bool keep_going() const { return !stopped() && now() < trials_end(); }
  // Trials end this much before the budget: the rest is the choice's
  // (search.hpp). The search moves it earlier to keep time for its last
  // stage, then back.
  double trials_end() const { return trials_end_; }
  void set_trials_end(double seconds) { trials_end_ = seconds; }
  // The data the next batches fit and score on (the confirmation parts);
  // between batches only.
  void use_data(const TuneData& data) { data_ = &data; }
  // Seconds the batch should take, as run() would run it (its concurrency and
  // thread shares): the sum over the concurrent workers, and at least its
  // longest job (a family with no finished trial: the prior estimate).
  double batch_estimate(const std::vector<Job>& jobs) {
    if (jobs.empty()) return 0.0;
    const unsigned concurrent = concurrency(jobs);
    const unsigned share = std::max(1u, o_.threads / concurrent);
    double total = 0, longest = 0;
    for (const auto& j : jobs) {
      const double seconds = estimate(j, share);
      total += seconds;
      longest = std::max(longest, seconds);
    }
    return std::max(total / concurrent, longest);
  }
  // Whether the plan goes on: --max-trials not reached. Once the budget or
  // Ctrl-C has ended the search, the rest of the plan still passes through
  // run(), which counts it as skipped without fitting anything: a plan cut
  // between two batches then reports out_of_budget and its skipped trials
  // like one cut inside a batch.
  bool more_trials() const { return o_.max_trials == 0 || ids_ < o_.max_trials; }
  // Whether n more trials fit within --max-trials.
  bool room_for(std::size_t n) const { return o_.max_trials == 0 || ids_ + n <= o_.max_trials; }
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
    run_threads(concurrent, work);
    for (auto& e : errors)
      if (e) std::rethrow_exception(e);
    // In id order, whatever order the workers finished in: the search picks
    // the first of equal metrics, so the plan does not depend on timing.
    std::sort(results_.begin(), results_.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
  }

  std::vector<TrialResult> take_results() {
    std::sort(results_.begin(), results_.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
    std::vector<TrialResult> out;
    out.swap(results_);
    return out;
  }
  std::size_t skipped() const { return skipped_; }
  std::size_t failed() const { return failed_; }
  // Settings whose trial threw (read between batches, as results()).
  const std::vector<Settings>& failed_settings() const { return failed_settings_; }
  bool out_of_budget() const { return out_of_budget_; }
  // Results so far (the search reads them between batches, when no worker runs).
  const std::vector<TrialResult>& results() const { return results_; }

 private:
  // As many jobs at once as threads, while their memory fits in half of what
  // is available. The thread share per trial follows from the batch size and
  // --threads alone, so results do not depend on timing.
  unsigned concurrency(const std::vector<Job>& jobs) const {
    unsigned n = static_cast<unsigned>(std::min<std::size_t>(o_.threads, jobs.size()));
    // EASE fits set OpenBLAS's process-wide thread count around their BLAS
    // calls (model/ease.cpp): two at once would race on it, so they run one
    // at a time, each with every thread.
    for (const auto& j : jobs)
      if (j.settings.family == Family::Ease) n = 1;
    double need = 0;
    for (const auto& j : jobs) need = std::max(need, trial_memory(j.settings, *data_));
    const double available = available_memory();
    while (n > 1 && n * need > available / 2) --n;
    return std::max(1u, n);
  }

  // Seconds the job should take: its cost times the thread-seconds per cost
  // unit measured on finished trials of the family, over its threads (trials
  // of one batch share the threads, the last rung of a bracket has them all),
  // or before there are any a cautious prior (kPriorUnitsPerSecond per
  // thread), so a first EASE fit on many items is not launched blind into a
  // short budget.
  double estimate(const Job& job, unsigned threads) {
    const double cost = trial_cost(job.settings, job.from, job.settings.iterations, *data_);
    std::lock_guard lock(mutex_);
    auto it = rates_.find(job.settings.family);
    if (it == rates_.end() || it->second.second <= 0) {
      const double prior = job.settings.family == Family::Ease ? kPriorEaseUnitsPerSecond : kPriorIalsUnitsPerSecond;
      return cost / (prior * threads);
    }
    return it->second.first / it->second.second * cost / threads;
  }

  // Whether an iALS trial has finished: until one has, the first iALS trial
  // (the built-in defaults, alone in the first batch) starts whatever the
  // prior estimate says. It measures the rate, its result is the floor of
  // the choice, and ALS stops at the next iteration boundary when the budget
  // ends; the prior alone, about 15 times too slow on MovieLens, skipped it
  // under a short budget and left no floor.
  bool calibrating(const Job& job) {
    std::lock_guard lock(mutex_);
    return job.settings.family == Family::Ials && rates_.find(Family::Ials) == rates_.end();
  }

  void run_one(Job& job, unsigned threads) {
    if (o_.max_trials > 0 && job.id > o_.max_trials) return;  // the plan ends here
    // Launch only what can finish within the budget.
    const double started = now();
    const double expected = calibrating(job) ? 0.0 : estimate(job, threads);
    if (stopped() || started + expected > trials_end() || started >= trials_end()) {
      std::lock_guard lock(mutex_);
      ++skipped_;
      if (!stopped()) out_of_budget_ = true;
      job.state.reset();
      // Said once per family when it is the estimate, not the clock, that
      // keeps a trial out: a family asked for and never tried is news.
      if (!stopped() && started < trials_end() && o_.on_note && too_long_noted_.insert(job.settings.family).second)
        o_.on_note(fmt::format("{} trials not started from {:.1f}s on: {} is estimated at {:.1f}s, more than the {:.1f}s "
                               "of budget left",
                               to_string(job.settings.family), started, describe(job.settings), expected,
                               trials_end() - started));
      return;
    }
    Clock::time_point t0 = Clock::now();
    eval::EvalReport report;
    try {
      if (!job.state) job.state = start_trial(job.settings, *data_);
      if (!job.state->advance(job.settings.iterations, threads, [this] { return keep_going(); })) {
        std::lock_guard lock(mutex_);
        ++skipped_;
        if (!stopped()) out_of_budget_ = true;
        job.state.reset();
        return;
      }
      report = job.state->evaluate(*data_, o_.metric.k, threads, [this] { return keep_going(); });
    } catch (const rank::ProductsStopped&) {
      // The budget ended while scoring (a loaded machine can make one trial's
      // scoring take seconds): dropped like a fit stopped at an iteration.
      std::lock_guard lock(mutex_);
      ++skipped_;
      if (!stopped()) out_of_budget_ = true;
      job.state.reset();
      return;
    } catch (const std::exception& e) {
      // One setting that cannot be fitted (EASE's Cholesky failing, ALS
      // diverging, memory) ends its trial, not the search.
      job.state.reset();
      std::lock_guard lock(mutex_);
      ++failed_;
      failed_settings_.push_back(job.settings);
      if (o_.on_note) o_.on_note(fmt::format("trial {} failed ({}): {}", job.id, describe(job.settings), e.what()));
      return;
    }
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
    rate.first += r.seconds * threads;
    rate.second += trial_cost(job.settings, job.from, job.settings.iterations, *data_);
    if (o_.on_trial) o_.on_trial(r);
    results_.push_back(std::move(r));
  }

  const TuneData* data_;  // search thread only (use_data), read by workers inside run()
  const SearchOptions& o_;
  Clock::time_point start_;
  double trials_end_;  // search thread only, between batches
  std::size_t ids_ = 0;  // search thread only
  std::mutex mutex_;
  std::vector<TrialResult> results_;
  std::map<Family, std::pair<double, double>> rates_;  // family -> (thread-seconds, cost units)
  std::size_t skipped_ = 0;
  std::size_t failed_ = 0;
  std::vector<Settings> failed_settings_;
  std::set<Family> too_long_noted_;  // families whose skip for a long estimate was said
  bool out_of_budget_ = false;
};

}  // namespace recsys::tune::detail
