// The ALS objectives, evaluated without touching the unobserved pairs.
//
// Implicit (Hu et al. 2008, eq. 3), with s = x_uᵀy_i and c = 1 + w:
//   Σ_{u,i} c_ui (p_ui − s)² + λ(‖X‖² + ‖Y‖²)
//   = Σ_u x_uᵀ(YᵀY)x_u + Σ_{observed} [c (1 − s)² − s²] + λ(‖X‖² + ‖Y‖²)
// since every unobserved pair has c = 1, p = 0 and contributes s².
// Explicit (weighted λ): Σ_{observed} (r − s)² + λ(Σ_u n_u‖x_u‖² + Σ_i n_i‖y_i‖²).
#include <vector>

#include "model/als.hpp"
#include "util/parallel.hpp"

namespace recsys::model {

double als_loss(const ModelParams& params, const RatingMatrix& ratings, const Factors& f, unsigned threads) {
  const Csr& m = ratings.by_user;
  const bool implicit = params.feedback == Feedback::Implicit;
  Eigen::MatrixXf gram;
  if (implicit) gram = gram_matrix(f.items, threads);
  threads = std::max(1u, threads);
  std::vector<double> partial(threads, 0.0);
  // Fixed chunks, summed in order: the same value for the same thread count.
  parallel_chunks(m.rows, threads, [&](std::size_t begin, std::size_t end, unsigned t) {
    double sum = 0.0;
    Eigen::VectorXf gx(f.users.cols());
    for (std::size_t u = begin; u < end; ++u) {
      auto x = f.users.row(static_cast<Eigen::Index>(u));
      auto idx = m.row_indices(static_cast<std::uint32_t>(u));
      auto val = m.row_values(static_cast<std::uint32_t>(u));
      if (implicit) {
        gx.noalias() = gram * x.transpose();
        sum += static_cast<double>(x.dot(gx.transpose()));
      }
      for (std::size_t j = 0; j < idx.size(); ++j) {
        double s = x.dot(f.items.row(idx[j]));
        if (implicit) {
          double c = 1.0 + val[j];
          sum += c * (1.0 - s) * (1.0 - s) - s * s;
        } else {
          sum += (val[j] - s) * (val[j] - s);
        }
      }
      double weight = implicit ? 1.0 : static_cast<double>(idx.size());
      sum += params.regularization * weight * x.squaredNorm();
    }
    partial[t] = sum;
  });
  double total = 0.0;
  for (double p : partial) total += p;
  const Csr& mi = ratings.by_item;
  for (std::uint32_t i = 0; i < mi.rows; ++i) {
    double weight = implicit ? 1.0 : static_cast<double>(mi.row_size(i));
    total += params.regularization * weight * f.items.row(i).squaredNorm();
  }
  return total;
}

}  // namespace recsys::model
