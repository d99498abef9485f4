// The evaluation report as a text table and as JSON.
#include <fmt/format.h>

#include <string>

#include "eval/evaluate.hpp"
#include "util/json.hpp"

namespace recsys::eval {

namespace {

struct Row {
  std::string name;
  std::string key;
  double RankingMetrics::*field;
};

std::vector<Row> rows(std::size_t k) {
  return {{fmt::format("precision@{}", k), "precision_at_k", &RankingMetrics::precision},
          {fmt::format("recall@{}", k), "recall_at_k", &RankingMetrics::recall},
          {fmt::format("nDCG@{}", k), "ndcg_at_k", &RankingMetrics::ndcg},
          {"MAP", "map", &RankingMetrics::map},
          {fmt::format("MAP@{}", k), "map_at_k", &RankingMetrics::map_at_k},
          {"coverage", "coverage", &RankingMetrics::coverage}};
}

void append_interval(std::string& out, std::string_view key, const std::optional<Interval>& ci) {
  if (!ci) return;
  out += ',';
  json::append_string(out, key);
  out += ":[";
  json::append_number(out, ci->low);
  out += ',';
  json::append_number(out, ci->high);
  out += ']';
}

// "[0.4781, 0.5080]" for the rows that have a bootstrap interval, else "".
std::string interval_text(const EvalReport& r, double RankingMetrics::*field) {
  const std::optional<Interval>* ci = field == &RankingMetrics::ndcg ? &r.ndcg_ci
                                      : field == &RankingMetrics::map ? &r.map_ci
                                                                      : nullptr;
  if (!ci || !*ci) return "";
  return fmt::format("[{:.4f}, {:.4f}]", (*ci)->low, (*ci)->high);
}

}  // namespace

std::string metrics_json(const RankingMetrics& m, const std::optional<RatingMetrics>& rating, std::size_t k,
                         const std::optional<Interval>& ndcg_ci, const std::optional<Interval>& map_ci) {
  std::string out = fmt::format("{{\"k\":{}", k);
  for (const auto& r : rows(k)) {
    out += ',';
    json::append_string(out, r.key);
    out += ':';
    json::append_number(out, m.*r.field);
  }
  out += fmt::format(",\"users\":{}", m.users);
  if (rating) {
    out += ",\"rmse\":";
    json::append_number(out, rating->rmse);
    out += ",\"mae\":";
    json::append_number(out, rating->mae);
    out += fmt::format(",\"predicted\":{},\"skipped\":{}", rating->predicted, rating->skipped);
  }
  append_interval(out, "ndcg_at_k_ci", ndcg_ci);
  append_interval(out, "map_ci", map_ci);
  out += '}';
  return out;
}

std::string format_report(const EvalReport& r) {
  // The interval column only when there is one (bootstrap on; users evaluated).
  const bool ci = r.ndcg_ci.has_value();
  const std::string ci_head = ci ? fmt::format(" {:<18}", "95% interval") : "";
  auto ci_cell = [&](const std::string& text) { return ci ? fmt::format(" {:<18}", text) : std::string(); };
  std::string out = fmt::format("{:<14} {:>9}{} {:>13} {:>7}\n", "metric", "model", ci_head, "most popular", "lift");
  for (const auto& row : rows(r.k)) {
    double a = r.model.*row.field, b = r.baseline.*row.field;
    std::string lift = b > 0 ? fmt::format("{:.2f}x", a / b) : "-";
    out += fmt::format("{:<14} {:>9.4f}{} {:>13.4f} {:>7}\n", row.name, a, ci_cell(interval_text(r, row.field)), b,
                       lift);
  }
  if (r.rating) {
    out += fmt::format("{:<14} {:>9.4f}{} {:>13} {:>7}\n", "RMSE", r.rating->rmse, ci_cell(""), "-", "");
    out += fmt::format("{:<14} {:>9.4f}{} {:>13} {:>7}\n", "MAE", r.rating->mae, ci_cell(""), "-", "");
  }
  out += fmt::format("{} test users, {} test ratings ({} train), k = {}", r.model.users, r.test_ratings,
                     r.train_ratings, r.k);
  if (ci) out += fmt::format("; intervals: bootstrap over users, {} resamples", kBootstrapResamples);
  if (r.rating && r.rating->skipped > 0)
    out += fmt::format("; {} test pairs without a trained user or item not scored", r.rating->skipped);
  out += '\n';
  return out;
}

std::string report_json(const EvalReport& r) {
  std::string out = fmt::format("{{\"k\":{},\"users\":{},\"train_ratings\":{},\"test_ratings\":{},\"model\":", r.k,
                                r.model.users, r.train_ratings, r.test_ratings);
  out += metrics_json(r.model, r.rating, r.k, r.ndcg_ci, r.map_ci);
  out += ",\"baseline\":";
  out += metrics_json(r.baseline, std::nullopt, r.k);
  out += ",\"seconds\":";
  json::append_number(out, r.seconds);
  out += '}';
  return out;
}

}  // namespace recsys::eval
