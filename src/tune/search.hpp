// The search of `recsys tune`: Hyperband (Li et al., JMLR 2018) over the iALS
// settings with ALS iterations as the fidelity — successive halving brackets
// whose survivors are warm-started to the next rung — plus EASE's λ (one
// fidelity: it is closed form), then a refinement around the best (each
// setting doubled and halved, then × and ÷ √2, then 2^¼), then the user norm
// on the best iALS setting and on the one the tie rule would choose, and last
// a confirmation of variants of the choice on fits of 90 % of the train part
// (Confirmation below). Plan and results are
// deterministic for a given seed and thread count; the budget and Ctrl-C only
// cut the plan short, the budget also by leaving out the confirmation's
// costliest variants (docs/training.md "Tuning").
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "eval/bootstrap.hpp"
#include "tune/settings.hpp"
#include "tune/validation.hpp"

namespace recsys::tune {

enum class Metric { Ndcg, Map, Recall };

struct MetricSpec {
  Metric metric = Metric::Ndcg;
  std::size_t k = 10;
  std::string name = "ndcg@10";
};
// "ndcg@K", "recall@K" or "map" (MAP over the top k = 10); throws std::invalid_argument.
MetricSpec parse_metric(const std::string& text);

struct TrialResult {
  std::size_t id = 0;   // 1-based, in plan order
  std::string stage;    // "bracket 1/3 rung 2/3", "ease", "refine ×2", ...
  Settings settings;    // settings.iterations: the fidelity evaluated
  double metric = 0;    // on the validation part
  double seconds = 0;   // wall time of this step (fit from the previous rung + scoring)
  unsigned threads = 1;
  std::vector<double> per_user;  // the metric per validation user (paired comparisons)
};

struct SearchOptions {
  MetricSpec metric;
  std::vector<Family> families = {Family::Ials};
  std::uint64_t seed = 42;
  unsigned threads = 1;
  double budget_seconds = 600;
  std::size_t max_trials = 0;  // 0: as many as the budget allows
  bool prefer_simpler = true;  // the tie rule (choose); false: the best trial is chosen
  double elapsed_before = 0;  // seconds the run already used (loading, splitting): counted in the budget
  // The end of the budget no trial runs into: the choice (a bootstrap per
  // trial), the report and the store after the search. It took 0.8 s of an
  // 8 s budget with 63 trials under load, and the run overran by 10.4 %.
  double reserve_seconds = 0;
  const std::atomic<bool>* stop = nullptr;          // set by SIGINT: finish now, keep what is done
  std::function<void(const TrialResult&)> on_trial;  // progress; called by one thread at a time
  std::function<void(const std::string&)> on_note;   // e.g. a family skipped for memory, a trial that failed
};

// The search's last stage. Its trials fit on 90 % of the train part where the
// search's fit on 1 − --test-fraction of it (75 % by default), and the
// settings that fits on more data favour (more factors, more iterations, the
// user norm; docs/training.md "Tuning", step 8) are not those the search's
// validation part picks. The candidates (confirmation_variants of the tie
// rule's choice and of the best, and the built-in defaults) are each fitted on
// `planned_parts` parts (carve_part: `fraction` of the train part held out, a
// seed per part). When every candidate completed at least two parts, the
// highest mean over them is chosen (the tie rule chose the base in the
// search; applied again it undid the gain, docs/training.md). Otherwise (budget, Ctrl-C, --max-trials, a chrono
// split, failures) the search's choice stands.
struct Confirmation {
  // metric: the mean over the parts counted; per_user empty (the parts
  // validate different ratings); id: its trial on the first part; seconds:
  // summed over the parts counted.
  std::vector<TrialResult> candidates;
  std::vector<std::vector<double>> part_metrics;  // per candidate, one per part counted
  std::size_t parts = 0;          // parts every candidate completed
  std::size_t trials = 0;         // trials finished (parts cut short included; in SearchResult's
                                  // skipped, failed and out_of_budget too)
  std::size_t planned_parts = 0;
  double fraction = 0;            // of the train part validated in each part
  bool decided = false;           // chosen is the stage's choice, and the result's
  std::size_t chosen = 0;         // index into candidates: the highest mean
  std::string not_decided;        // why it did not decide ("" when it did)
  // Variants left out, costliest first, because two parts of every candidate
  // would not fit in the budget (search.cpp confirm).
  std::vector<Settings> left_out;
};

struct SearchResult {
  std::vector<TrialResult> trials;  // completed trials, by id
  std::size_t best = 0;             // index into trials: the highest metric
  std::size_t chosen = 0;           // the simplest within the best's interval (see choose)
  eval::Interval best_interval;     // bootstrap 95 % interval of the best's metric
  std::size_t skipped = 0;          // planned trials not run: out of budget or stopped
  std::size_t failed = 0;           // trials whose fit or scoring threw (each reported through on_note)
  bool interrupted = false;
  bool out_of_budget = false;
  double seconds = 0;               // elapsed, including elapsed_before
  Confirmation confirmation;

  // What tune stores: the confirmation's choice when it decided, else trials[chosen].
  const TrialResult& result() const {
    return confirmation.decided ? confirmation.candidates[confirmation.chosen] : trials[chosen];
  }
};

// Throws std::runtime_error when no trial could complete.
SearchResult search(const TuneData& data, const SearchOptions& options);

// The rule for ties: among trials whose paired bootstrap 95 % interval of
// (best − trial) per-user differences contains 0, and that score at least
// `floor` (the built-in defaults' trial: a tuned result never scores below the
// defaults on validation), the simplest (settings.hpp `simpler`), then the
// higher metric. Returns an index into `trials`. (search() then takes, of the
// chosen setting's trials that differ only in the user norm, the highest.)
std::size_t choose(const std::vector<TrialResult>& trials, std::size_t best, double floor);

}  // namespace recsys::tune
