// One model family behind one interface, so the search treats iALS and EASE
// alike: a trial is started from settings, advanced to a fidelity (iALS
// iterations, warm-started; EASE has one), and scored on the validation part.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>

#include "eval/evaluate.hpp"
#include "tune/settings.hpp"
#include "tune/validation.hpp"

namespace recsys::tune {

class Trial {
 public:
  virtual ~Trial() = default;
  // Fits up to `iterations` in total, continuing from the current state.
  // `keep_going` is asked after every iteration; when it says no the trial
  // stops and advance returns false (the state is then unusable).
  virtual bool advance(std::uint32_t iterations, unsigned threads, const std::function<bool()>& keep_going) = 0;
  // Scores the current state on the validation part (per-user results kept,
  // no bootstrap: the search compares trials pairwise).
  // Scores the model on the validation part. iALS throws
  // rank::ProductsStopped when keep_going turns false before the scoring is
  // done; EASE's scoring (rank::top_k_ease) runs to the end.
  virtual eval::EvalReport evaluate(const TuneData& data, std::size_t k, unsigned threads,
                                    const std::function<bool()>& keep_going) const = 0;
};

// `threads` in the calls above is the trial's share of the worker threads
// (results depend on it, as for `recsys train`).
std::unique_ptr<Trial> start_trial(const Settings& s, const TuneData& data);

// Relative cost of taking a trial from `from` to `to` iterations and scoring
// it (flop-like units; the search converts them to seconds with the rate it
// measures on finished trials).
double trial_cost(const Settings& s, std::uint32_t from, std::uint32_t to, const TuneData& data);

// Bytes a running trial holds (to bound how many run at once).
double trial_memory(const Settings& s, const TuneData& data);

}  // namespace recsys::tune
