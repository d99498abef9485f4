// The training curve: objective and validation nDCG@k after each ALS iteration
// of the evaluation fit, stored with the generation (docs/dashboard.md) so the
// dashboard and `train --report` can show how training converged.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "data/rating_table.hpp"
#include "model/matrix.hpp"
#include "model/rating_matrix.hpp"

namespace recsys::eval {

struct CurvePoint {
  std::uint32_t iteration = 0;
  double loss = 0;     // objective per training rating; NaN when not computed
  double ndcg = 0;     // validation nDCG@k; NaN when not measured at this iteration
  double seconds = 0;  // wall time of the iteration
};

struct TrainingCurve {
  std::size_t k = 10;
  std::size_t users = 0;    // test users the validation nDCG averages over (0: none measured)
  std::uint32_t every = 1;  // validation measured at iteration 1, every N-th after it, and the last
  std::string phase;        // which fit the points describe
  std::vector<CurvePoint> points;
};

// Validation nDCG@k of intermediate factors on the held-out ratings. The test
// users and their sorted test items are prepared once; each call is one blocked
// top-k product over at most `max_users` test users, evenly spaced (all of them
// on MovieLens 100k), so its cost stays a small part of an ALS iteration however
// many users there are. The final metrics still come from evaluate() on all.
class Validation {
 public:
  static constexpr std::size_t kDefaultMaxUsers = 1000;
  Validation(const model::Csr& train_by_user, const data::RatingTable& test, std::size_t k, unsigned threads,
             std::size_t max_users = kDefaultMaxUsers);
  std::size_t users() const { return test_users_.size(); }
  double ndcg(const model::RowMatrixXf& users, const model::RowMatrixXf& items) const;
  bool empty() const { return test_users_.empty(); }

 private:
  const model::Csr& train_;
  model::Csr test_by_user_;
  std::vector<char> trained_;  // items with a train rating: the only ones ranked
  std::vector<std::uint32_t> test_users_;
  std::size_t k_;
  unsigned threads_;
};

// {"k":10,"users":943,"every":1,"phase":"…","iterations":[1,…],"loss":[…],"ndcg":[…],"seconds":[…]}
// (NaN written as null).
std::string curve_json(const TrainingCurve& curve);

}  // namespace recsys::eval
