#include "cli/tuned_defaults.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <simdjson.h>

#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "store/ratings.hpp"
#include "store/tuned.hpp"
#include "util/json.hpp"

namespace recsys::cli {

std::string tuned_defaults_json(const TunedDefaults& t) {
  std::string out = "{\"tuned_at\":";
  json::append_string(out, t.tuned_at);
  out += ",\"metric\":";
  json::append_string(out, t.metric);
  out += ",\"value\":";
  json::append_number(out, t.value);
  out += ",\"settings\":" + tune::settings_json(t.settings);
  out += fmt::format(",\"data\":{{\"ratings\":{},\"items\":{}}}}}", t.data.ratings, t.data.items);
  return out;
}

TunedDefaults parse_tuned_defaults(std::string_view text) {
  auto unreadable = [](const std::string& why) {
    return std::runtime_error(fmt::format("the stored tuned defaults are unreadable ({}): recsys tune --reset forgets "
                                          "them, recsys tune replaces them",
                                          why));
  };
  simdjson::dom::parser parser;
  simdjson::padded_string padded(text);
  simdjson::dom::element doc;
  if (parser.parse(padded).get(doc) != simdjson::SUCCESS || !doc.is_object()) throw unreadable("not a JSON object");
  TunedDefaults t;
  std::string_view s;
  if (doc["tuned_at"].get_string().get(s) == simdjson::SUCCESS) t.tuned_at = std::string(s);
  if (doc["metric"].get_string().get(s) == simdjson::SUCCESS) t.metric = std::string(s);
  double v;
  if (doc["value"].get_double().get(v) == simdjson::SUCCESS) t.value = v;
  std::uint64_t n;
  if (doc["data"]["ratings"].get_uint64().get(n) == simdjson::SUCCESS) t.data.ratings = n;
  if (doc["data"]["items"].get_uint64().get(n) == simdjson::SUCCESS) t.data.items = n;
  simdjson::dom::element settings;
  if (doc["settings"].get(settings) != simdjson::SUCCESS) throw unreadable("no settings");
  try {
    t.settings = tune::settings_from_json(simdjson::minify(settings));
  } catch (const std::runtime_error& e) {
    throw unreadable(e.what());
  }
  return t;
}

std::optional<TunedDefaults> load_tuned_defaults(store::Database& db) {
  std::optional<std::string> text;
  {
    auto txn = db.begin_read();
    text = store::tuned_defaults(db, txn);
  }
  if (!text) return std::nullopt;
  return parse_tuned_defaults(*text);
}

DataSize stored_data_size(store::Database& db) {
  auto txn = db.begin_read();
  return {store::rating_stats(db, txn).count, db.tables().item_ids.size(txn)};
}

std::string tuned_date(const TunedDefaults& t) {
  // "2026-11-26T15:50:02Z" -> "2026-11-26 15:50 UTC"
  if (t.tuned_at.size() >= 16) return t.tuned_at.substr(0, 10) + ' ' + t.tuned_at.substr(11, 5) + " UTC";
  return t.tuned_at;
}

std::string apply_tuned_defaults(const TunedDefaults& t, const DataSize& now, ModelOptions& o) {
  const auto& s = t.settings;
  if (o.feedback != "implicit")
    return fmt::format("tuned defaults from {} not used: they are for implicit feedback", tuned_date(t));
  // Tuned on a different data set (or a much smaller one): said, and for EASE,
  // whose fit grows with items³, not applied beyond twice the items.
  const bool known = t.data.ratings > 0 && t.data.items > 0;
  auto far = [](double a, double b) { return a > 2 * b || b > 2 * a; };
  const std::string tuned_on = fmt::format("tuned on {} ratings and {} items, the data now has {} and {}",
                                           t.data.ratings, t.data.items, now.ratings, now.items);
  if (known && s.family == tune::Family::Ease && now.items > 2 * t.data.items && !(o.given.count("model") > 0))
    return fmt::format("tuned defaults from {} (ease) not used: {} (an EASE fit grows with items³); run recsys tune "
                       "again",
                       tuned_date(t), tuned_on);
  const std::string stale =
      known && (far(double(now.ratings), double(t.data.ratings)) || far(double(now.items), double(t.data.items)))
          ? fmt::format(" (warning: {}; run recsys tune again)", tuned_on)
          : std::string();
  std::vector<std::string> used, kept;
  auto given = [&](const char* name) { return o.given.count(name) > 0; };
  auto apply = [&](const char* name, std::string value, auto&& set) {
    if (given(name)) {
      kept.push_back(name);
    } else {
      set();
      used.push_back(fmt::format("{} {}", name, value));
    }
  };
  const char* family = s.family == tune::Family::Ease ? "ease" : "als";
  if (given("model") && o.family != family)
    return fmt::format("tuned defaults from {} ({}) not used: --model {} given", tuned_date(t), tune::to_string(s.family),
                       o.family);
  if (s.family == tune::Family::Ease) {
    // An option only ALS has asks for ALS (a tuned EASE would ignore it);
    // --user-norm 0 and --nonnegative=false change nothing. With --model ease
    // given too, the ALS option is the one ignored (train warns), not the
    // tuned λ (it was dropped for the built-in one without a word).
    const std::pair<const char*, bool> als_only[] = {{"factors", true},
                                                     {"iterations", true},
                                                     {"solver", true},
                                                     {"user-norm", o.user_norm != 0},
                                                     {"nonnegative", o.nonnegative}};
    for (const auto& [name, effective] : als_only)
      if (given(name) && effective && !given("model"))
        return fmt::format("tuned defaults from {} (ease) not used: --{} given, an ALS setting", tuned_date(t), name);
    o.family = "ease";
    used.push_back("model ease");
    apply("regularization", fmt::format("{:g}", s.regularization), [&] { o.regularization = s.regularization; });
    if (given("confidence")) kept.push_back("confidence (tuned on binary input)");
    if (given("alpha")) kept.push_back("alpha");
  } else {
    const bool other_confidence = given("confidence") && o.confidence != model::to_string(s.confidence);
    apply("factors", std::to_string(s.factors), [&] { o.factors = s.factors; });
    apply("iterations", std::to_string(s.iterations), [&] { o.iterations = s.iterations; });
    apply("regularization", fmt::format("{:g}", s.regularization), [&] { o.regularization = s.regularization; });
    if (other_confidence) {
      kept.push_back("alpha (tuned for another confidence)");
    } else {
      apply("alpha", fmt::format("{:g}", s.alpha), [&] { o.alpha = s.alpha; });
    }
    if (other_confidence) {
      kept.push_back("user-norm (tuned for another confidence)");
    } else {
      apply("user-norm", fmt::format("{:g}", s.user_norm), [&] { o.user_norm = s.user_norm; });
    }
    apply("confidence", std::string(model::to_string(s.confidence)),
          [&] { o.confidence = std::string(model::to_string(s.confidence)); });
  }
  std::string line = fmt::format("using tuned defaults from {} ({} {:.4f} on validation): {}", tuned_date(t),
                                 t.metric, t.value, used.empty() ? "none" : fmt::format("{}", fmt::join(used, ", ")));
  if (!kept.empty()) line += fmt::format("; given options kept: {}", fmt::join(kept, ", "));
  return line + stale;
}

}  // namespace recsys::cli
