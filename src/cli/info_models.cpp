#include "cli/info_models.hpp"

#include <fmt/format.h>
#include <simdjson.h>

#include "store/models.hpp"
#include "util/json.hpp"

namespace recsys::cli {

ModelSummary summarize_model(const std::string& description) {
  ModelSummary s;
  simdjson::dom::parser parser;
  simdjson::padded_string padded(description);
  simdjson::dom::element doc;
  if (parser.parse(padded).get(doc) != simdjson::SUCCESS) return s;
  std::string_view v;
  if (doc["feedback"].get_string().get(v) == simdjson::SUCCESS) s.feedback = std::string(v);
  if (doc["model"].get_string().get(v) == simdjson::SUCCESS) s.family = std::string(v);
  double lambda;
  if (doc["regularization"].get_double().get(lambda) == simdjson::SUCCESS) s.regularization = lambda;
  if (doc["confidence"].get_string().get(v) == simdjson::SUCCESS) s.confidence = std::string(v);
  double alpha;
  if (doc["alpha"].get_double().get(alpha) == simdjson::SUCCESS) s.alpha = alpha;
  if (doc["trained_at"].get_string().get(v) == simdjson::SUCCESS) s.trained_at = std::string(v);
  if (doc["factors"].get_uint64().get(s.factors) != simdjson::SUCCESS) s.factors = 0;
  if (s.family.empty()) s.family = s.feedback == "explicit" ? "als-explicit" : "ials";
  simdjson::dom::object metrics;
  if (doc["metrics"].get_object().get(metrics) != simdjson::SUCCESS) return s;
  s.metrics_json = simdjson::minify(metrics);
  std::uint64_t k = 10;
  if (metrics["k"].get_uint64().get(k) != simdjson::SUCCESS) k = 10;
  auto add = [&](const char* key, std::string label) {
    double x;
    if (metrics[key].get_double().get(x) != simdjson::SUCCESS) return;
    if (!s.metrics_text.empty()) s.metrics_text += "  ";
    s.metrics_text += fmt::format("{} {:.4f}", label, x);
  };
  add("ndcg_at_k", fmt::format("nDCG@{}", k));
  add("map", "MAP");
  add("precision_at_k", fmt::format("P@{}", k));
  add("recall_at_k", fmt::format("R@{}", k));
  add("rmse", "RMSE");
  return s;
}

std::string model_text(const ModelSummary& s) {
  if (s.family != "ease") return fmt::format("{} ALS, {} factors", s.feedback, s.factors);
  std::string input =
      s.confidence == "binary" ? "binary input" : fmt::format("{} input α {:g}", s.confidence, s.alpha);
  return fmt::format("EASE, λ {:g}, {}, {} items", s.regularization, input, s.factors);
}

std::string model_json_members(const ModelSummary& s) {
  if (s.family != "ease") {
    return fmt::format("\"model\":{},\"feedback\":{},\"factors\":{}", json::quote(s.family), json::quote(s.feedback),
                       s.factors);
  }
  std::string out = "\"model\":\"ease\",\"regularization\":";
  json::append_number(out, s.regularization);
  out += fmt::format(",\"confidence\":{},\"items\":{}", json::quote(s.confidence), s.factors);
  return out;
}

std::vector<InfoLine> model_info(const store::Database& db, const store::Txn& txn) {
  std::vector<InfoLine> lines;
  auto models = store::list_models(db, txn);
  auto serving = store::serving_generation(db, txn);
  std::string list = "[";
  for (std::size_t j = 0; j < models.size(); ++j) {
    ModelSummary s = summarize_model(models[j].description);
    if (j > 0) list += ',';
    list += fmt::format("{{\"generation\":{},{},\"trained_at\":{},\"metrics\":{}}}", models[j].generation,
                        model_json_members(s), json::quote(s.trained_at), s.metrics_json);
  }
  list += ']';
  // Every train adds a generation and none is deleted unless asked: the count
  // and the size of their factors say when to prune.
  const auto factor_bytes = db.space_use(txn).factor_bytes;
  std::string text = models.empty()      ? "none (run recsys train)"
                     : models.size() > 10 ? fmt::format("{} (prune: recsys models prune --keep N, or train --keep N)", models.size())
                                          : fmt::format("{}", models.size());
  lines.push_back({"generations", "generations", list, text});
  lines.push_back({"factor_bytes", "stored factors", std::to_string(factor_bytes),
                   fmt::format("{:.1f} MiB (every generation's)", static_cast<double>(factor_bytes) / 1048576.0)});
  lines.push_back({"serving", "serving generation", serving ? std::to_string(*serving) : "null",
                   serving ? std::to_string(*serving) : "none (run recsys precompute)"});
  if (!models.empty()) {
    const auto& latest = models.back();
    ModelSummary s = summarize_model(latest.description);
    lines.push_back({"latest", "latest generation", std::to_string(latest.generation),
                     s.family == "ease"
                         ? fmt::format("{}: ease (EASE, λ {:g}, {} × {} item weights), trained {}", latest.generation,
                                       s.regularization, s.factors, s.factors, s.trained_at)
                         : fmt::format("{}: {} ({} ALS, {} factors), trained {}", latest.generation, s.family,
                                       s.feedback, s.factors, s.trained_at)});
    lines.push_back({"latest_metrics", "latest metrics", s.metrics_json,
                     !s.metrics_text.empty()   ? s.metrics_text
                     : s.metrics_json == "null" ? "not evaluated (trained with --split none, or imported)"
                                              : "nothing evaluated (the test part was empty)"});
  }
  return lines;
}

}  // namespace recsys::cli
