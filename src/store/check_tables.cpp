// The recsys-level pass of `recsys check` (see check.hpp): each function below
// checks one part of the schema in docs/storage.md inside one read snapshot.
#include <fmt/format.h>
#include <simdjson.h>

#include <charconv>
#include <cmath>
#include <cstring>
#include <map>
#include <unordered_set>

#include "store/cache.hpp"
#include "store/check.hpp"
#include "store/ids.hpp"
#include "store/models.hpp"
#include "store/ratings.hpp"

namespace recsys::store {

namespace {

std::string index_key(std::uint32_t index) { return std::to_string(index); }

// Both directions of one id map: keys are dense 0..n-1, every index maps to an
// id that maps back to it, and every id maps to an index that maps back.
std::uint32_t check_id_map(const Database& db, const Txn& txn, IdKind kind, CheckReport& report) {
  bool users = kind == IdKind::User;
  const Dbi& ids = users ? db.tables().user_ids : db.tables().item_ids;
  const Dbi& keys = users ? db.tables().user_keys : db.tables().item_keys;
  const char* ids_name = users ? "user_ids" : "item_ids";
  const char* keys_name = users ? "user_keys" : "item_keys";
  const auto count = static_cast<std::uint32_t>(keys.size(txn));

  std::uint32_t expected = 0;
  Cursor cursor = Cursor::open(txn, keys);
  std::string_view k, v;
  for (bool ok = cursor.get(k, v, MDB_FIRST); ok; ok = cursor.get(k, v, MDB_NEXT)) {
    if (k.size() != sizeof(std::uint32_t)) {
      report.add(keys_name, printable_key(k), "key is not a 4-byte index");
      continue;
    }
    auto index = load<std::uint32_t>(k);
    if (index != expected) report.add(keys_name, index_key(index), fmt::format("indexes skip from {}", expected));
    expected = index + 1;
    if (v.empty() || v.size() > kMaxStoredIdBytes) {
      report.add(keys_name, index_key(index), fmt::format("id of {} bytes", v.size()));
      continue;
    }
    auto back = ids.get(txn, v);
    if (!back) {
      report.add(keys_name, index_key(index), fmt::format("id {} is not in {}", printable_key(v), ids_name));
    } else if (back->size() != 4 || find_index(db, txn, kind, v) != index) {
      report.add(keys_name, index_key(index), fmt::format("id {} maps back to another index", printable_key(v)));
    }
  }
  cursor.close();

  Cursor forward = Cursor::open(txn, ids);
  for (bool ok = forward.get(k, v, MDB_FIRST); ok; ok = forward.get(k, v, MDB_NEXT)) {
    if (v.size() != 4) {
      report.add(ids_name, printable_key(k), "index is not 4 bytes");
      continue;
    }
    std::uint32_t index = static_cast<unsigned char>(v[0]) | static_cast<unsigned char>(v[1]) << 8 |
                          static_cast<unsigned char>(v[2]) << 16 | std::uint32_t{static_cast<unsigned char>(v[3])} << 24;
    auto back = keys.get(txn, bytes_of(index));
    if (index >= count || !back) {
      report.add(ids_name, printable_key(k), fmt::format("index {} has no entry in {}", index, keys_name));
    } else if (*back != k) {
      report.add(ids_name, printable_key(k), fmt::format("index {} maps back to {}", index, printable_key(*back)));
    }
  }
  if (ids.size(txn) != count) {
    report.add(ids_name, "", fmt::format("{} entries but {} has {}", ids.size(txn), keys_name, count));
  }
  return count;
}

// Ratings: known users and items, sorted lists, finite values inside the
// stored range, and a total equal to the stored count.
void check_ratings(const Database& db, const Txn& txn, CheckReport& report) {
  RatingStats stats = rating_stats(db, txn);
  bool have_stats = db.tables().meta.get(txn, "ratings_stats").has_value();
  std::uint64_t total = 0;
  std::vector<RatingRecord> records;
  Cursor cursor = Cursor::open(txn, db.tables().ratings);
  std::string_view k, v;
  for (bool ok = cursor.get(k, v, MDB_FIRST); ok; ok = cursor.get(k, v, MDB_NEXT)) {
    if (k.size() != 4) {
      report.add("ratings", printable_key(k), "key is not a 4-byte user index");
      continue;
    }
    auto user = load<std::uint32_t>(k);
    std::string key = index_key(user);
    if (user >= report.users) report.add("ratings", key, "user index has no id");
    if (v.empty() || v.size() % sizeof(RatingRecord) != 0) {
      report.add("ratings", key, fmt::format("list of {} bytes is not a non-empty multiple of 16", v.size()));
      continue;
    }
    decode_ratings(v, records);
    total += records.size();
    for (std::size_t i = 0; i < records.size(); ++i) {
      const auto& r = records[i];
      if (i > 0 && records[i - 1].item >= r.item) {
        report.add("ratings", key, fmt::format("items not in ascending order at item {}", r.item));
      }
      if (r.item >= report.items) report.add("ratings", key, fmt::format("item index {} has no id", r.item));
      if (!std::isfinite(r.value)) {
        report.add("ratings", key, fmt::format("item {}: value is not finite", r.item));
      } else if (have_stats && (r.value < stats.min_value || r.value > stats.max_value)) {
        report.add("ratings", key, fmt::format("item {}: value {} outside the stored range [{}, {}]", r.item,
                                               r.value, stats.min_value, stats.max_value));
      }
    }
  }
  report.ratings = total;
  if (!have_stats && total > 0) report.add("meta", "'ratings_stats'", "missing while ratings are stored");
  if (have_stats && stats.count != total) {
    report.add("meta", "'ratings_stats'", fmt::format("records {} ratings but {} are stored", stats.count, total));
  }
}

// Sizes a model description declares. `factors` may sit in a "params" object
// (as rank::params_of_description reads it); users/items are absent from
// descriptions written by hand, and then only what the rows show is checked.
struct ModelShape {
  std::uint64_t factors = 0;
  std::optional<std::uint64_t> users, items;
  bool user_rows = true;  // false for EASE ("model":"ease"): B only, no user rows
};

std::optional<ModelShape> parse_shape(std::string_view description) {
  simdjson::dom::parser parser;
  simdjson::padded_string padded(description);
  simdjson::dom::element doc, params;
  ModelShape s;
  if (parser.parse(padded).get(doc) || !doc.is_object()) return std::nullopt;
  if (doc["factors"].get(s.factors) &&
      (doc["params"].get(params) || !params.is_object() || params["factors"].get(s.factors))) {
    return std::nullopt;
  }
  std::uint64_t n = 0;
  std::string_view family;
  if (!doc["model"].get(family) && family == "ease") s.user_rows = false;
  if (!doc["users"].get(n)) s.users = n;
  if (!doc["items"].get(n)) s.items = n;
  return s;
}

std::uint32_t be32(const char* p) {
  auto b = reinterpret_cast<const unsigned char*>(p);
  return std::uint32_t{b[0]} << 24 | std::uint32_t{b[1]} << 16 | std::uint32_t{b[2]} << 8 | b[3];
}

// Factor rows against their generation's description (declared rows present,
// of the declared width, finite). Rows of a generation
// without a description are one finding per generation (a deleted description
// orphans every row of it), counted here and reported after the walk.
void check_factor_rows(const Database& db, const Txn& txn, const std::map<std::uint32_t, ModelShape>& shapes,
                       CheckReport& report) {
  std::map<std::uint32_t, std::uint64_t> orphans;
  // (generation, side) -> next expected row; rows arrive in key order.
  std::map<std::pair<std::uint32_t, char>, std::uint64_t> next;
  std::vector<float> row;
  std::string_view k, v;
  Cursor factors = Cursor::open(txn, db.tables().factors);
  for (bool ok = factors.get(k, v, MDB_FIRST); ok; ok = factors.get(k, v, MDB_NEXT)) {
    if (k.size() != 9 || (k[4] != 'u' && k[4] != 'i' && k[4] != kFingerprintSide)) {
      report.add("factors", printable_key(k), "key is not (generation, side, row)");
      continue;
    }
    std::uint32_t generation = be32(k.data());
    char side = k[4];
    std::uint32_t r = be32(k.data() + 5);
    if (side == kFingerprintSide) {  // one row: a u64 per user index (models.hpp)
      const std::string key = fmt::format("{}/fingerprints", generation);
      if (shapes.find(generation) == shapes.end()) {
        ++orphans[generation];
      } else if (r != 0 || v.size() % sizeof(std::uint64_t) != 0) {
        report.add("factors", key, "not one row of 8-byte user fingerprints");
      } else if (v.size() / sizeof(std::uint64_t) > report.users) {
        report.add("factors", key, fmt::format("{} fingerprints for {} user ids", v.size() / sizeof(std::uint64_t),
                                               report.users));
      }
      continue;
    }
    std::string key = fmt::format("{}/{}/{}", generation, side == 'u' ? "user" : "item", r);
    auto shape = shapes.find(generation);
    if (shape == shapes.end()) {
      ++orphans[generation];
      continue;
    }
    // Without a declared count, item rows must still be contiguous; user rows
    // may have gaps (folded-in users), so nothing more is known.
    constexpr std::uint64_t kUnknown = ~std::uint64_t{0};
    auto declared_opt = side == 'u' ? shape->second.users : shape->second.items;
    std::uint64_t declared = declared_opt.value_or(side == 'i' ? kUnknown : 0);
    if (side == 'u' && !shape->second.user_rows) declared = 0;
    auto& expected = next[{generation, side}];
    if (r > expected && expected < declared) {
      report.add("factors", key, fmt::format("rows {}..{} are missing", expected, std::min<std::uint64_t>(r, declared) - 1));
    }
    expected = std::max<std::uint64_t>(expected, std::uint64_t{r} + 1);
    if (side == 'i' && (r >= report.items || r >= declared)) report.add("factors", key, "row beyond the model's items or the item ids");
    if (side == 'u' && r >= report.users) report.add("factors", key, "row of a user index without an id");
    if (v.size() != shape->second.factors * sizeof(float)) {
      report.add("factors", key, fmt::format("row of {} bytes, expected {} factors", v.size(), shape->second.factors));
      continue;
    }
    row.resize(v.size() / sizeof(float));
    if (!v.empty()) std::memcpy(row.data(), v.data(), v.size());
    for (float f : row) {
      if (!std::isfinite(f)) {
        report.add("factors", key, "value is not finite");
        break;
      }
    }
  }
  for (const auto& [generation, shape] : shapes) {
    for (char side : {'u', 'i'}) {
      std::uint64_t declared = (side == 'u' ? shape.users : shape.items).value_or(0);
      if (side == 'u' && !shape.user_rows) declared = 0;
      std::uint64_t seen = next.count({generation, side}) ? next[{generation, side}] : 0;
      if (seen < declared) {
        report.add("factors", fmt::format("{}/{}", generation, side == 'u' ? "user" : "item"),
                   fmt::format("rows {}..{} are missing", seen, declared - 1));
      }
    }
  }
  for (const auto& [generation, rows] : orphans) {
    report.add("factors", std::to_string(generation),
               fmt::format("{} row(s) of a generation without a model description", rows));
  }
}

// Model generations: a readable description per generation, and for each
// side the factor rows 0..rows-1 it declares, of the declared width, finite.
// User rows past the declared count are users folded in by events later, so
// they only need an id.
void check_models(const Database& db, const Txn& txn, CheckReport& report) {
  std::map<std::uint32_t, ModelShape> shapes;
  Cursor models = Cursor::open(txn, db.tables().models);
  std::string_view k, v;
  for (bool ok = models.get(k, v, MDB_FIRST); ok; ok = models.get(k, v, MDB_NEXT)) {
    if (k.size() != 4) {
      report.add("models", printable_key(k), "key is not a 4-byte generation");
      continue;
    }
    auto generation = load<std::uint32_t>(k);
    auto shape = parse_shape(v);
    if (!shape) {
      report.add("models", index_key(generation), "description is not a JSON object with the factor count");
      continue;
    }
    if (shape->users.value_or(0) > report.users || shape->items.value_or(0) > report.items) {
      report.add("models", index_key(generation),
                 fmt::format("{} users and {} items, more than the {} and {} ids", shape->users.value_or(0),
                             shape->items.value_or(0), report.users, report.items));
    }
    shapes[generation] = *shape;
  }
  models.close();
  report.models = shapes.size();
  // Before the rows: a missing serving generation is the finding that matters,
  // and must not be pushed past the report's limit by its orphaned rows.
  report.serving = serving_generation(db, txn);
  if (report.serving && !shapes.count(*report.serving)) {
    report.add("meta", "'serving_model'", fmt::format("generation {} is not stored", *report.serving));
  }
  check_factor_rows(db, txn, shapes, report);
}

}  // namespace

void check_tables(const Database& db, const Txn& txn, CheckReport& report) {
  report.users = check_id_map(db, txn, IdKind::User, report);
  report.items = check_id_map(db, txn, IdKind::Item, report);
  check_ratings(db, txn, report);
  check_models(db, txn, report);
  check_caches(db, txn, report);
  check_items(db, txn, report);
}

}  // namespace recsys::store
