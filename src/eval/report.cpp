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
  // Nothing evaluated (no test user, no scored pair) is null, not a 0 that
  // reads as a result (an RMSE of 0 looked perfect).
  for (const auto& r : rows(k)) {
    out += ',';
    json::append_string(out, r.key);
    out += ':';
    if (m.users == 0) {
      out += "null";
    } else {
      json::append_number(out, m.*r.field);
    }
  }
  out += fmt::format(",\"users\":{}", m.users);
  if (rating) {
    auto append_error = [&](double x) {
      if (rating->predicted == 0) {
        out += "null";
      } else {
        json::append_number(out, x);
      }
    };
    out += ",\"rmse\":";
    append_error(rating->rmse);
    out += ",\"mae\":";
    append_error(rating->mae);
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
  // "n/a" where nothing was evaluated: 0.0000 read as a measured result.
  auto cell = [](bool measured, double x) { return measured ? fmt::format("{:.4f}", x) : std::string("n/a"); };
  for (const auto& row : rows(r.k)) {
    double a = r.model.*row.field, b = r.baseline.*row.field;
    const bool ranked = r.model.users > 0;
    std::string lift = ranked && b > 0 ? fmt::format("{:.2f}x", a / b) : "-";
    out += fmt::format("{:<14} {:>9}{} {:>13} {:>7}\n", row.name, cell(ranked, a),
                       ci_cell(interval_text(r, row.field)), cell(r.baseline.users > 0, b), lift);
  }
  if (r.rating) {
    const bool scored = r.rating->predicted > 0;
    out += fmt::format("{:<14} {:>9}{} {:>13} {:>7}\n", "RMSE", cell(scored, r.rating->rmse), ci_cell(""), "-", "");
    out += fmt::format("{:<14} {:>9}{} {:>13} {:>7}\n", "MAE", cell(scored, r.rating->mae), ci_cell(""), "-", "");
  }
  out += fmt::format("{} test users, {} test ratings ({} train), k = {}", r.model.users, r.test_ratings,
                     r.train_ratings, r.k);
  if (r.untrained_test_ratings > 0)
    out += fmt::format("; {} test ratings of items without a train rating (never ranked: no hit possible)",
                       r.untrained_test_ratings);
  if (ci) out += fmt::format("; intervals: bootstrap over users, {} resamples", kBootstrapResamples);
  if (r.rating && r.rating->skipped > 0)
    out += fmt::format("; {} test pairs without a trained user or item not scored", r.rating->skipped);
  out += '\n';
  if (r.model.users == 0)
    out += "nothing to rank: no test rating to score (too few ratings per user for this split, or every test "
           "rating left out)\n";
  return out;
}

std::string report_json(const EvalReport& r) {
  std::string out = fmt::format(
      "{{\"k\":{},\"users\":{},\"train_ratings\":{},\"test_ratings\":{},\"untrained_test_ratings\":{},\"model\":", r.k,
      r.model.users, r.train_ratings, r.test_ratings, r.untrained_test_ratings);
  out += metrics_json(r.model, r.rating, r.k, r.ndcg_ci, r.map_ci);
  out += ",\"baseline\":";
  out += metrics_json(r.baseline, std::nullopt, r.k);
  out += ",\"seconds\":";
  json::append_number(out, r.seconds);
  out += '}';
  return out;
}

}  // namespace recsys::eval
