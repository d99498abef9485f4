#include "cli/train_ease.hpp"

#include <fmt/format.h>

#include <stdexcept>
#include <string>

#include "model/ease.hpp"
#include "rank/ease_rank.hpp"
#include "util/log.hpp"
#include "util/memory.hpp"
#include "util/progress.hpp"

namespace recsys::cli {

namespace {

std::string gib(std::size_t bytes) { return fmt::format("{:.2f} GiB", static_cast<double>(bytes) / (1u << 30)); }

model::Csr ease_input_of(const model::ModelParams& params, const data::RatingTable& t) {
  return model::build_ease_input(model::ease_params_of(params), t.n_users, t.n_items, t.users, t.items, t.values);
}

}  // namespace

void check_ease_fits(std::uint32_t n_items, std::size_t ratings, std::size_t max_items, bool prunes) {
  if (n_items > max_items) {
    throw std::runtime_error(fmt::format(
        "EASE keeps an items × items matrix: {} items is more than --max-items {} ({} for B alone); "
        "use --model als (iALS), or raise --max-items if the machine has the memory",
        n_items, max_items, gib(model::ease_memory_bytes(n_items))));
  }
  // The peak is at the store: B plus as much again in the write transaction's
  // dirty pages (LMDB copies every page it writes until the commit), plus the
  // input X twice (by user, and by item for XᵀX). docs/training.md, "EASE".
  const std::size_t copies = prunes ? 3 : 2;
  const std::size_t need =
      copies * model::ease_memory_bytes(n_items) + ratings * 2 * (sizeof(std::uint32_t) + sizeof(float));
  const std::size_t available = available_memory();
  if (available > 0 && need > available) {
    throw std::runtime_error(fmt::format("EASE on {} items needs {} of memory ({} × items² × 4 bytes for B), but only {} is "
                                         "available (MemAvailable); use --model als (iALS) instead",
                                         n_items, gib(need), copies, gib(available)));
  }
}

model::Factors fit_ease_model(const model::ModelParams& params, const data::RatingTable& table, unsigned threads,
                              const std::string& phase) {
  Progress progress(phase, 1, "fit");
  model::Factors out;
  {
    model::Csr x = ease_input_of(params, table);
    out.items = model::fit_ease(model::ease_params_of(params), x, threads);
  }
  out.users.resize(0, out.items.cols());
  progress.finish(fmt::format("λ {:g}, {} × {} weights", params.regularization, out.items.rows(), out.items.cols()));
  return out;
}

eval::EvalReport evaluate_ease(const model::ModelParams& params, const model::RowMatrixXf& b,
                               const data::RatingTable& train, const data::RatingTable& test,
                               const eval::EvalOptions& options) {
  model::Csr x = ease_input_of(params, train);
  auto rank = [&](std::span<const std::uint32_t> users, const rank::ExcludeFn& exclude, const rank::BlockOptions& block) {
    return rank::top_k_ease(x, b, users, exclude, block);
  };
  return eval::evaluate_ranked(rank, x, test, options);
}

}  // namespace recsys::cli
