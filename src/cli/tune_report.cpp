#include "cli/tune_report.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <numeric>
#include <vector>

#include "util/json.hpp"

namespace recsys::cli {

namespace {

// Trial indexes by metric, best first (ties: the earlier trial).
std::vector<std::size_t> ranking(const tune::SearchResult& s) {
  std::vector<std::size_t> order(s.trials.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](auto a, auto b) { return s.trials[a].metric > s.trials[b].metric; });
  return order;
}

// `fields`: more members, written before the closing brace (",\"part_metrics\":[…]").
std::string trial_json(const tune::TrialResult& r, const std::string& fields = "") {
  std::string out = fmt::format("{{\"id\":{},\"stage\":", r.id);
  json::append_string(out, r.stage);
  out += ",\"family\":";
  json::append_string(out, tune::to_string(r.settings.family));
  out += ",\"settings\":" + tune::settings_json(r.settings);
  out += fmt::format(",\"iterations\":{},\"metric\":", r.settings.iterations);
  json::append_number(out, r.metric);
  out += ",\"seconds\":";
  json::append_number(out, r.seconds);
  out += fmt::format(",\"threads\":{}", r.threads);
  return out + fields + '}';
}

// The column titles of row().
std::string header(const std::string& metric, const std::string& last) {
  return fmt::format("{:>4} {:>5}  {:<5} {:>8} {:>7} {:>7} {:>10} {:>5} {:>5}  {:>9}  {}\n", "rank", "trial", "model",
                     "factors", "lambda", "alpha", "confidence", "unorm", "iter", metric, last);
}

std::string row(std::size_t rank, const tune::TrialResult& r, const std::string& mark) {
  const auto& p = r.settings;
  const bool ials = p.family == tune::Family::Ials;
  return fmt::format("{:>4} {:>5}  {:<5} {:>8} {:>7} {:>7} {:>10} {:>5} {:>5}  {:>9.4f}  {}\n", rank, r.id,
                     tune::to_string(p.family), ials ? std::to_string(p.factors) : "-",
                     fmt::format("{:g}", p.regularization), ials ? fmt::format("{:g}", p.alpha) : "-",
                     ials ? std::string(model::to_string(p.confidence)) : "-", ials ? fmt::format("{:g}", p.user_norm) : "-",
                     ials ? std::to_string(p.iterations) : "-", r.metric, mark);
}

}  // namespace

std::string trial_line(const tune::TrialResult& r, const std::string& metric, double elapsed) {
  return fmt::format("trial {:>3}  {:<22} {:<5} {}  {} {:.4f}  {:.2f}s  elapsed {:.1f}s\n", r.id, r.stage,
                     tune::to_string(r.settings.family), tune::describe(r.settings), metric, r.metric, r.seconds,
                     elapsed);
}

std::string leaderboard_table(const tune::SearchResult& s, const TuneRun& run) {
  std::string out = "\n";
  out += header(run.metric, "");
  std::size_t rank = 0;
  // With a confirmation that decided, the search's choice is its base, not what is stored.
  const char* chosen_mark = s.confirmation.decided ? "<- search's choice" : "<- chosen";
  for (auto j : ranking(s)) {
    std::string mark = j == s.chosen ? chosen_mark : "";
    if (j == s.best && j != s.chosen) mark = "<- best";
    out += row(++rank, s.trials[j], mark);
  }
  const auto& best = s.trials[s.best];
  out += fmt::format("\nbest: trial {} {} {:.4f}, bootstrap 95% interval [{:.4f}, {:.4f}]\n", best.id, run.metric,
                     best.metric, s.best_interval.low, s.best_interval.high);
  if (s.chosen != s.best)
    out += fmt::format("{}: trial {} ({}), the simplest whose difference from the best is within noise\n",
                       s.confirmation.decided ? "search's choice" : "chosen", s.trials[s.chosen].id,
                       tune::describe(s.trials[s.chosen].settings));
  const auto& c = s.confirmation;
  if (!c.candidates.empty()) {
    out += fmt::format("\nconfirmation: {} candidates, each fitted on {:g}% of the train part and scored on the rest, "
                       "{} of {} parts\n",
                       c.candidates.size(), 100 * (1 - c.fraction), c.parts, c.planned_parts);
    out += header(run.metric, "per part");
    std::vector<std::size_t> order(c.candidates.size());
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::stable_sort(order.begin(), order.end(),
                     [&](auto a, auto b) { return c.candidates[a].metric > c.candidates[b].metric; });
    std::size_t rank = 0;
    for (auto j : order) {
      std::string parts;
      for (double m : c.part_metrics[j]) parts += fmt::format("{}{:.4f}", parts.empty() ? "" : " ", m);
      std::string mark = c.decided && j == c.chosen ? "  <- chosen" : "";
      out += row(++rank, c.candidates[j], parts + mark);
    }
  }
  if (!c.left_out.empty()) {
    std::string list;
    for (const auto& v : c.left_out) {
      if (!list.empty()) list += "; ";
      list += tune::describe(v);
    }
    out += fmt::format("confirmation variants left out (two parts of every candidate would pass the budget): {}\n", list);
  }
  out += '\n';
  if (c.decided) {
    // "chosen", not "stored": the table is printed before the store, which can still fail.
    out += fmt::format("chosen: {} (the highest mean over the confirmation parts)\n",
                       tune::describe(c.candidates[c.chosen].settings));
  } else if (!c.not_decided.empty() && s.trials[s.best].metric > 0) {
    out += fmt::format("confirmation not decided ({}): chosen by the search, {}\n", c.not_decided,
                       tune::describe(s.trials[s.chosen].settings));
  }
  out += fmt::format("{} trials", s.trials.size());
  if (c.trials > 0) out += fmt::format(" and {} confirmation trials", c.trials);
  out += fmt::format(" in {:.1f}s (budget {:g}s)", s.seconds, run.budget_seconds);
  if (s.skipped > 0) out += fmt::format("; {} planned trials not run", s.skipped);
  if (s.failed > 0) out += fmt::format("; {} failed (see above)", s.failed);
  if (s.interrupted) out += "; interrupted: kept the best so far";
  else if (s.out_of_budget) out += "; stopped by the budget";
  return out + '\n';
}

std::string leaderboard_json(const tune::SearchResult& s, const TuneRun& run, const tune::TuneData& data) {
  std::string out = "{\"metric\":";
  json::append_string(out, run.metric);
  out += ",\"budget_seconds\":";
  json::append_number(out, run.budget_seconds);
  out += ",\"elapsed_seconds\":";
  json::append_number(out, s.seconds);
  out += fmt::format(",\"seed\":{},\"threads\":{},\"models\":", run.seed, run.threads);
  json::append_string(out, run.models);
  out += ",\"prefer\":";
  json::append_string(out, run.prefer);
  out += fmt::format(",\"interrupted\":{},\"out_of_budget\":{},\"skipped\":{},\"failed\":{}",
                     s.interrupted ? "true" : "false", s.out_of_budget ? "true" : "false", s.skipped, s.failed);
  out += fmt::format(",\"data\":{{\"train_ratings\":{},\"validation_ratings\":{},\"validation_users\":{},"
                     "\"test_ratings_untouched\":{}}}",
                     data.train.size(), data.validation.size(), s.trials[s.best].per_user.size(), data.test_ratings);
  out += ",\"trials\":[";
  bool first = true;
  for (auto j : ranking(s)) {
    if (!first) out += ',';
    first = false;
    out += trial_json(s.trials[j]);
  }
  out += "],\"best\":" + trial_json(s.trials[s.best]);
  out += ",\"best_interval\":[";
  json::append_number(out, s.best_interval.low);
  out += ',';
  json::append_number(out, s.best_interval.high);
  out += "],\"search_chosen\":" + trial_json(s.trials[s.chosen]);
  const auto& c = s.confirmation;
  out += fmt::format(",\"confirmation\":{{\"fraction\":{},\"planned_parts\":{},\"parts\":{},\"trials\":{},"
                     "\"decided\":{},\"not_decided\":",
                     c.fraction, c.planned_parts, c.parts, c.trials, c.decided ? "true" : "false");
  if (c.decided) {
    out += "null";
  } else {
    json::append_string(out, c.not_decided);
  }
  out += ",\"left_out\":[";
  for (std::size_t j = 0; j < c.left_out.size(); ++j) {
    if (j > 0) out += ',';
    out += tune::settings_json(c.left_out[j]);
  }
  out += "],\"candidates\":[";
  for (std::size_t j = 0; j < c.candidates.size(); ++j) {
    std::string parts = ",\"part_metrics\":[";
    for (std::size_t k = 0; k < c.part_metrics[j].size(); ++k) {
      if (k > 0) parts += ',';
      json::append_number(parts, c.part_metrics[j][k]);
    }
    if (j > 0) out += ',';
    out += trial_json(c.candidates[j], parts + "]");
  }
  out += "]},\"chosen\":" + trial_json(s.result()) + "}";
  return out;
}

}  // namespace recsys::cli
