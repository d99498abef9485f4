// The item metadata and filter candidate part of `recsys check` (see
// check.hpp): every item_meta value is a UTF-8 JSON object and the stored
// field names parse, so the server's list entries and filters never meet a
// value they cannot read; every candidates record decodes, belongs to a known
// user or item and the serving generation, and names only known items, so a
// filtered request never looks up an index past the id maps.
#include <fmt/format.h>
#include <simdjson.h>

#include <cmath>
#include <stdexcept>
#include <unordered_set>

#include "store/candidates.hpp"
#include "store/check.hpp"
#include "store/ids.hpp"
#include "store/items.hpp"

namespace recsys::store {

namespace {

void check_item_meta(const Database& db, const Txn& txn, CheckReport& report) {
  simdjson::dom::parser parser;
  std::size_t count = 0;
  {
    Cursor cursor = Cursor::open(txn, db.tables().item_meta);
    std::string_view k, v;
    for (bool ok = cursor.get(k, v, MDB_FIRST); ok; ok = cursor.get(k, v, MDB_NEXT)) {
      ++count;
      simdjson::padded_string padded(v);
      simdjson::dom::object object;
      // simdjson validates UTF-8 while parsing.
      if (k.empty() || parser.parse(padded).get(object) != simdjson::SUCCESS) {
        report.add("item_meta", printable_key(k), "value is not a UTF-8 JSON object (run recsys items again)");
      }
    }
  }
  try {
    if (item_fields(db, txn).empty() && count > 0) {
      report.add("meta", "'item_fields'", "missing while item_meta holds metadata (run recsys items again)");
    }
  } catch (const std::runtime_error& e) {
    report.add("meta", "'item_fields'", e.what());
  }
}

// One candidates record: `kind` + id -> ListHeader and packed {index, score}.
void check_candidate_record(const Database& db, const Txn& txn, std::string_view k, std::string_view v,
                            std::optional<std::uint32_t> depth, CheckReport& report) {
  const std::string key = printable_key(k);
  const char kind = k.empty() ? '\0' : k.front();
  std::string_view id = k.empty() ? k : k.substr(1);
  if (kind == static_cast<char>(CandidateKind::User)) {
    if (!find_index(db, txn, IdKind::User, id)) report.add("candidates", key, "candidates of an unknown user");
  } else if (kind == static_cast<char>(CandidateKind::Similar)) {
    if (!find_index(db, txn, IdKind::Item, id)) report.add("candidates", key, "candidates of an unknown item");
  } else {
    return report.add("candidates", key, "key starts with neither 'u' (user) nor 's' (similar items)");
  }
  Candidates c;
  try {
    c = parse_candidates(v);
  } catch (const std::runtime_error& e) {
    return report.add("candidates", key, e.what());
  }
  if (!report.serving || c.header.generation != *report.serving) {
    report.add("candidates", key, fmt::format("candidates of generation {} but serving generation is {}",
                                              c.header.generation,
                                              report.serving ? std::to_string(*report.serving) : "none"));
  }
  if (depth && c.items.size() > *depth) {
    report.add("candidates", key, fmt::format("{} candidates, more than the depth {}", c.items.size(), *depth));
  }
  std::unordered_set<std::uint32_t> seen;
  for (std::size_t i = 0; i < c.items.size(); ++i) {
    const auto& r = c.items[i];
    if (r.item >= report.items) {
      report.add("candidates", key, fmt::format("candidate {} is item index {}, past the {} items", i, r.item, report.items));
    } else if (!seen.insert(r.item).second) {
      report.add("candidates", key, fmt::format("candidate {} repeats item index {}", i, r.item));
    } else if (kind == static_cast<char>(CandidateKind::Similar) && find_id(db, txn, IdKind::Item, r.item) == id) {
      report.add("candidates", key, fmt::format("candidate {} is the item itself", i));
    }
    if (!std::isfinite(r.score)) report.add("candidates", key, fmt::format("candidate {} has a score that is not finite", i));
  }
}

void check_candidates(const Database& db, const Txn& txn, CheckReport& report) {
  const auto depth = cache_depth(db, txn);
  std::size_t records = 0;
  {
    Cursor cursor = Cursor::open(txn, db.tables().candidates);
    std::string_view k, v;
    for (bool ok = cursor.get(k, v, MDB_FIRST); ok; ok = cursor.get(k, v, MDB_NEXT)) {
      ++records;
      check_candidate_record(db, txn, k, v, depth, report);
    }
  }
  if (records > 0 && !depth) report.add("meta", "'cache_depth'", "missing while candidates are stored");
  // Users without a record take their candidates from the stored fallback order.
  try {
    auto order = fallback_order(db, txn);
    for (std::size_t i = 0; i < order.size(); ++i) {
      if (order[i].item >= report.items) {
        report.add("meta", "'fallback_order'",
                   fmt::format("entry {} is item index {}, past the {} items", i, order[i].item, report.items));
        break;
      }
    }
  } catch (const std::runtime_error& e) {
    report.add("meta", "'fallback_order'", e.what());
  }
}

}  // namespace

void check_items(const Database& db, const Txn& txn, CheckReport& report) {
  check_item_meta(db, txn, report);
  check_candidates(db, txn, report);
}

}  // namespace recsys::store
