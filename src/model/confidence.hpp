// Implicit feedback: how a stored value r becomes a confidence weight.
// Hu, Koren & Volinsky (2008), eq. (2)-(3): preference p = 1 for every observed
// pair and confidence c = 1 + alpha * f(r), with f(r) = r (linear),
// log(1 + r / epsilon) (log) or 1 (binary). Non-positive values give f = 0
// (binary: 1, any stored pair is an observation).
#pragma once

#include <cmath>

#include "model/params.hpp"

namespace recsys::model {

// c - 1 = alpha * f(r): the extra weight an observed pair gets over an unobserved
// one. The log form uses epsilon = the median stored value (resolve_for_data):
// f is then unit-free, log 2 for a typical value whether r is a star rating or
// a play count in the thousands, so one alpha serves both (docs/training.md).
inline float confidence_excess(Confidence kind, float alpha, float epsilon, float r) {
  if (!(r > 0.0f)) return kind == Confidence::Binary ? alpha : 0.0f;
  switch (kind) {
    case Confidence::Linear: return alpha * r;
    case Confidence::Log: return alpha * std::log1p(r / (epsilon > 0.0f ? epsilon : 1.0f));
    case Confidence::Binary: return alpha;
  }
  return 0.0f;
}

}  // namespace recsys::model
