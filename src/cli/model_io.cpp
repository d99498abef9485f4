#include "cli/model_io.hpp"

#include <fmt/format.h>

#include <chrono>
#include <cmath>
#include <ctime>
#include <stdexcept>

#include "store/models.hpp"
#include "util/json.hpp"

namespace recsys::cli {

namespace {

std::string utc_now_iso8601() {
  std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

store::FactorMatrix to_store(const model::RowMatrixXf& m) {
  store::FactorMatrix out;
  out.rows = static_cast<std::uint32_t>(m.rows());
  out.cols = static_cast<std::uint32_t>(m.cols());
  out.data.assign(m.data(), m.data() + m.size());
  return out;
}

model::RowMatrixXf from_store(const store::FactorMatrix& m, std::uint32_t expected_cols) {
  if (m.rows > 0 && m.cols != expected_cols)
    throw std::runtime_error(fmt::format("stored factors have {} columns, the model says {}", m.cols, expected_cols));
  model::RowMatrixXf out(m.rows, expected_cols);
  if (!m.data.empty()) std::copy(m.data.begin(), m.data.end(), out.data());
  return out;
}

}  // namespace

std::string describe_model(const model::ModelParams& params, const TrainSummary& s, const eval::EvalReport* report) {
  std::string out = model::params_to_json(params);
  out.pop_back();  // continue the parameters object
  out += fmt::format(",\"users\":{},\"items\":{},\"ratings\":{},\"trained_at\":", s.users, s.items, s.ratings);
  json::append_string(out, utc_now_iso8601());
  out += ",\"train_seconds\":";
  json::append_number(out, s.train_seconds);
  // Per rating, as the progress lines print it (docs/storage.md).
  out += ",\"loss\":";
  json::append_number(out, s.ratings > 0 ? s.final_loss / static_cast<double>(s.ratings) : s.final_loss);
  out += ",\"split\":";
  json::append_string(out, s.split);
  out += ",\"test_fraction\":";
  json::append_number(out, s.test_fraction);
  out += fmt::format(",\"refit\":{}", s.refit ? "true" : "false");
  if (report) {
    out += ",\"metrics\":" + eval::metrics_json(report->model, report->rating, report->k, report->ndcg_ci, report->map_ci);
    out += ",\"baseline\":" + eval::metrics_json(report->baseline, std::nullopt, report->k);
    out += ",\"evaluation\":" + eval::report_json(*report);
  }
  if (!s.curve.empty()) out += ",\"curve\":" + s.curve;
  if (!s.data.empty()) out += ",\"data\":" + s.data;
  out += '}';
  return out;
}

std::uint32_t store_model(store::Database& db, const std::string& description, const model::Factors& factors,
                          std::size_t keep, std::vector<std::uint32_t>* deleted,
                          std::span<const std::uint64_t> fingerprints) {
  auto users = to_store(factors.users);
  // Item rows are written straight from the matrix: EASE's B (items² floats)
  // is never copied.
  store::FactorMatrix no_items;
  no_items.cols = users.cols;
  return db.write([&](store::Txn& txn) {
    auto generation = store::save_model(db, txn, description, users, no_items);
    const auto width = static_cast<std::size_t>(factors.items.cols());
    for (Eigen::Index r = 0; r < factors.items.rows(); ++r) {
      store::put_factor_row(db, txn, generation, store::Side::Items, static_cast<std::uint32_t>(r),
                            std::span<const float>(factors.items.row(r).data(), width));
    }
    if (!fingerprints.empty()) store::put_user_fingerprints(db, txn, generation, fingerprints);
    if (keep > 0) {
      auto gone = store::prune_models(db, txn, keep);
      if (deleted) *deleted = std::move(gone);
    }
    return generation;
  });
}

StoredModel load_model(store::Database& db, std::optional<std::uint32_t> generation) {
  auto txn = db.begin_read();
  auto record = generation ? store::find_model(db, txn, *generation) : store::latest_model(db, txn);
  if (!record) {
    if (generation) throw std::runtime_error(fmt::format("no model generation {} in {}", *generation, db.path().string()));
    throw std::runtime_error(fmt::format("no model in {}: run recsys train first", db.path().string()));
  }
  StoredModel m;
  m.generation = record->generation;
  m.description = record->description;
  m.params = model::params_from_json(m.description);
  m.factors.users = from_store(store::load_factors(db, txn, m.generation, store::Side::Users), m.params.factors);
  m.factors.items = from_store(store::load_factors(db, txn, m.generation, store::Side::Items), m.params.factors);
  return m;
}

}  // namespace recsys::cli
