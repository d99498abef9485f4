// recsys info: what the database holds, as text or JSON. The report is a list
// of sections (database, ratings, then models and caches); each section is
// built by one function below from one read transaction, so adding a section
// is adding a function and one line in run_info.
#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cli/info_models.hpp"
#include "cli/options.hpp"
#include "cli/tuned_defaults.hpp"
#include "store/models.hpp"
#include "store/cache.hpp"
#include "store/candidates.hpp"
#include "store/ids.hpp"
#include "store/items.hpp"
#include "store/ratings.hpp"
#include "store/tuned.hpp"
#include "util/json.hpp"

namespace recsys::cli {

namespace {

struct InfoOptions {
  bool json = false;
};

// One line of a section: `json` is a JSON value, `text` what a person reads.
struct InfoField {
  std::string key;
  std::string label;
  std::string json;
  std::string text;
};

struct InfoSection {
  std::string key;    // JSON object name
  std::string title;  // text heading
  std::vector<InfoField> fields;

  void number(std::string k, std::string label, double v, std::string text = "") {
    std::string j;
    json::append_number(j, v);
    fields.push_back({std::move(k), std::move(label), j, text.empty() ? j : std::move(text)});
  }
  void string(std::string k, std::string label, std::string_view v) {
    fields.push_back({std::move(k), std::move(label), json::quote(v), std::string(v)});
  }
};

InfoSection database_section(store::Database& db, const store::Txn& txn) {
  InfoSection s{"database", "database", {}};
  s.string("path", "path", db.path().string());
  s.number("schema_version", "schema version", db.meta_u32(txn, "schema_version").value_or(0));
  auto file = static_cast<double>(db.file_size());
  auto map = static_cast<double>(db.env().map_size());
  s.number("file_bytes", "file size", file, fmt::format("{:.1f} MiB", file / 1048576.0));
  s.number("map_bytes", "map size", map, fmt::format("{:.1f} MiB", map / 1048576.0));
  // After months of writes the file sits at its high-water mark: say how much
  // of it holds data, and how to give the rest back.
  const auto space = db.space_use(txn);
  const double used = static_cast<double>(space.used_bytes);
  // Up to the file's end: a commit that failed for space left pages past the
  // last one committed, which later writes reuse.
  const double end = std::max(file, static_cast<double>(space.end_bytes));
  const double free = end > used ? end - used : 0;
  s.number("used_bytes", "data", used, fmt::format("{:.1f} MiB", used / 1048576.0));
  s.number("free_bytes", "free inside the file", free,
           fmt::format("{:.1f} MiB{}", free / 1048576.0,
                       free > 64 * 1048576.0 && free > used ? " (reused by later writes; recsys backup DEST writes a "
                                                                "compact copy)"
                                                              : " (reused by later writes)"));
  return s;
}

InfoSection ratings_section(store::Database& db, const store::Txn& txn) {
  InfoSection s{"ratings", "ratings", {}};
  auto stats = store::rating_stats(db, txn);
  double users = store::id_count(db, txn, store::IdKind::User);
  double items = store::id_count(db, txn, store::IdKind::Item);
  s.number("ratings", "ratings", static_cast<double>(stats.count));
  s.number("users", "users", users);
  s.number("users_with_ratings", "users with ratings", static_cast<double>(store::users_with_ratings(db, txn)));
  s.number("items", "items", items);
  if (stats.count > 0) {
    const bool ratings = stats.feedback == store::Feedback::Explicit;
    s.number("min_value", ratings ? "lowest rating" : "lowest value", stats.min_value);
    s.number("max_value", ratings ? "highest rating" : "highest value", stats.max_value);
    double density = static_cast<double>(stats.count) / (users * items);
    s.number("density", "density", density, fmt::format("{:.4f}%", 100.0 * density));
  }
  s.string("feedback", "feedback", store::feedback_name(stats.feedback));
  return s;
}

// Item metadata (recsys items): how many items have it, of which in the
// ratings, and the stored fields.
InfoSection items_section(const store::Database& db, const store::Txn& txn) {
  InfoSection s{"item_metadata", "item metadata", {}};
  auto fields = store::item_fields(db, txn);
  s.number("items", "items", static_cast<double>(store::item_metadata_count(db, txn)));
  std::string j = "[", text;
  for (const auto& f : fields) {
    j += (j.size() > 1 ? "," : "") + json::quote(f);
    text += (text.empty() ? "" : ", ") + f;
  }
  s.fields.push_back({"fields", "fields", j + "]", text.empty() ? "(none: recsys items FILE loads titles)" : text});
  return s;
}

// Model generations (cli/info_models.cpp).
InfoSection models_section(const store::Database& db, const store::Txn& txn) {
  InfoSection s{"models", "models", {}};
  for (auto& line : model_info(db, txn)) s.fields.push_back({line.key, line.label, line.json, line.text});
  return s;
}

// The precomputed lists the server answers from (recsys precompute): their k,
// how many there are, and whether they come from the newest model.
InfoSection caches_section(const store::Database& db, const store::Txn& txn) {
  InfoSection s{"caches", "caches (recsys precompute)", {}};
  auto k = store::cache_k(db, txn);
  if (!k) {
    s.fields.push_back({"k", "lists", "null", "none (run recsys precompute)"});
    return s;
  }
  s.number("k", "k", *k);
  if (auto depth = store::cache_depth(db, txn)) s.number("depth", "candidates kept", *depth);
  const double users = static_cast<double>(store::cache_entries(db, txn, store::CacheTable::UserRecs));
  const double known = store::id_count(db, txn, store::IdKind::User);
  s.number("user_lists", "user lists", users,
           users < known ? fmt::format("{:g} ({:g} {} without one get{} the fallback list)", users, known - users,
                                                   known - users == 1 ? "user" : "users", known - users == 1 ? "s" : "")
                         : fmt::format("{:g}", users));
  s.number("similar_lists", "similar-item lists", static_cast<double>(
                                                      store::cache_entries(db, txn, store::CacheTable::ItemSimilar)));
  std::uint32_t fallback = 0;
  if (auto bytes = store::get_list(db, txn, store::CacheTable::Popularity, store::kFallbackKey)) {
    fallback = bytes->size();
  }
  s.number("fallback_items", "fallback list", fallback, fmt::format("{} items", fallback));
  auto serving = store::serving_generation(db, txn);
  auto models = store::list_models(db, txn);
  std::string text = serving ? std::to_string(*serving) : "none";
  if (!models.empty() && (!serving || models.back().generation > *serving)) {
    text += fmt::format(" (the latest is generation {}: run recsys precompute to serve it)", models.back().generation);
  }
  s.fields.push_back({"generation", "from generation", serving ? std::to_string(*serving) : "null", text});
  return s;
}

// Settings stored by recsys tune (cli/tuned_defaults.hpp), when there are any.
std::optional<InfoSection> tuned_section(const store::Database& db, const store::Txn& txn) {
  auto text = store::tuned_defaults(db, txn);
  if (!text) return std::nullopt;
  InfoSection s{"tuned_defaults", "tuned training defaults (recsys tune; --reset forgets them)", {}};
  TunedDefaults t;
  try {
    t = parse_tuned_defaults(*text);
  } catch (const std::runtime_error& e) {
    s.string("error", "unreadable", e.what());  // info shows what is stored, whatever it is
    return s;
  }
  s.string("tuned_at", "tuned at", t.tuned_at);
  s.string("family", "model", tune::to_string(t.settings.family));
  s.fields.push_back({"settings", "settings", tune::settings_json(t.settings), tune::describe(t.settings)});
  s.string("metric", "metric", t.metric);
  s.number("value", "on validation", t.value, fmt::format("{:.4f}", t.value));  // as train and tune print it; JSON keeps all digits
  return s;
}

void print_text(const std::vector<InfoSection>& sections) {
  std::string out;
  for (const auto& s : sections) {
    if (!out.empty()) out += '\n';
    out += s.title + '\n';
    for (const auto& f : s.fields) out += fmt::format("  {:<20} {}\n", f.label, f.text);
  }
  std::fputs(out.c_str(), stdout);
}

void print_json(const std::vector<InfoSection>& sections) {
  std::string out = "{";
  for (std::size_t k = 0; k < sections.size(); ++k) {
    if (k) out += ',';
    json::append_string(out, sections[k].key);
    out += ":{";
    for (std::size_t f = 0; f < sections[k].fields.size(); ++f) {
      if (f) out += ',';
      json::append_string(out, sections[k].fields[f].key);
      out += ':' + sections[k].fields[f].json;
    }
    out += '}';
  }
  out += "}\n";
  std::fputs(out.c_str(), stdout);
}

void run_info(const GlobalOptions& global, const InfoOptions& options) {
  auto db = open_database(global, store::OpenMode::ReadOnly);
  auto txn = db.begin_read();
  std::vector<InfoSection> sections;
  sections.push_back(database_section(db, txn));
  sections.push_back(ratings_section(db, txn));
  sections.push_back(items_section(db, txn));
  sections.push_back(models_section(db, txn));
  sections.push_back(caches_section(db, txn));
  if (auto tuned = tuned_section(db, txn)) sections.push_back(std::move(*tuned));
  txn.abort();
  if (options.json) {
    print_json(sections);
  } else {
    print_text(sections);
  }
}

}  // namespace

void setup_info(CLI::App& app, const GlobalOptions& global, Runner& run) {
  auto options = std::make_shared<InfoOptions>();
  auto* sub = app.add_subcommand("info", "Print what the database holds: counts, sizes, models, caches");
  sub->add_flag("--json", options->json, "Print as JSON");
  sub->callback([&global, &run, options] { run = [&global, options] { run_info(global, *options); }; });
}

}  // namespace recsys::cli
