#include "store/items.hpp"

#include <simdjson.h>

#include <stdexcept>
#include <unordered_map>
#include <utility>

#include "store/cache.hpp"
#include "util/json.hpp"

namespace recsys::store {

namespace {

constexpr std::string_view kFieldsKey = "item_fields";
constexpr std::string_view kVersionKey = "item_meta_version";
constexpr std::string_view kScoreMark = ",\"score\":";

// Splits a stored entry `{"item":<id>,"score":<n><tail>}` after the score:
// returns the length of `{"item":<id>,"score":<n>`. The quoted id cannot hold
// `,"` unescaped, so the first `,"score":` is the real one; a score has no
// comma or brace.
std::size_t scored_length(std::string_view entry) {
  auto mark = entry.find(kScoreMark);
  if (mark == std::string_view::npos) throw std::runtime_error("cached list entry without a score: run recsys precompute");
  auto end = entry.find_first_of(",}", mark + kScoreMark.size());
  if (end == std::string_view::npos) throw std::runtime_error("cached list entry is not closed: run recsys precompute");
  return end;
}

}  // namespace

void replace_item_metadata(const Database& db, const Txn& txn, std::span<const ItemMeta> items,
                           std::span<const std::string> fields) {
  db.tables().item_meta.clear(txn);
  for (const auto& item : items) db.tables().item_meta.put(txn, item.id, item.json, MDB_APPEND);
  std::string names = "[";
  for (const auto& f : fields) {
    if (names.size() > 1) names += ',';
    json::append_string(names, f);
  }
  names += ']';
  db.put_meta_string(txn, kFieldsKey, names);
  db.put_meta_u32(txn, kVersionKey, item_meta_version(db, txn) + 1);
}

std::optional<std::string_view> item_metadata(const Database& db, const Txn& txn, std::string_view id) {
  return db.tables().item_meta.get(txn, id);
}

std::optional<std::string> item_title(const Database& db, const Txn& txn, std::string_view id) {
  auto meta = item_metadata(db, txn, id);
  if (!meta) return std::nullopt;
  simdjson::dom::parser parser;
  simdjson::padded_string padded(*meta);
  std::string_view title;
  simdjson::dom::element doc;
  if (parser.parse(padded).get(doc) || doc["title"].get(title)) return std::nullopt;
  return std::string(title);
}

std::size_t item_metadata_count(const Database& db, const Txn& txn) { return db.tables().item_meta.size(txn); }

std::vector<std::string> item_fields(const Database& db, const Txn& txn) {
  std::vector<std::string> out;
  auto stored = db.meta_string(txn, kFieldsKey);
  if (!stored) return out;
  simdjson::dom::parser parser;
  simdjson::padded_string padded(*stored);
  simdjson::dom::array names;
  if (parser.parse(padded).get(names) != simdjson::SUCCESS) {
    throw std::runtime_error("meta 'item_fields' is not a JSON array: run recsys items again");
  }
  for (auto name : names) {
    std::string_view s;
    if (name.get(s) == simdjson::SUCCESS) out.emplace_back(s);
  }
  return out;
}

std::uint32_t item_meta_version(const Database& db, const Txn& txn) {
  return db.meta_u32(txn, kVersionKey).value_or(0);
}

std::string entry_tail(std::optional<std::string_view> object_json) {
  if (!object_json || object_json->size() <= 2) return {};
  // {"title":"K"} -> ,"title":"K"
  std::string tail(",");
  tail.append(object_json->substr(1, object_json->size() - 2));
  return tail;
}

std::vector<std::string> entry_tails(const Database& db, const Txn& txn, std::span<const std::string> ids) {
  std::vector<std::string> out(ids.size());
  if (item_metadata_count(db, txn) == 0) return out;
  for (std::size_t i = 0; i < ids.size(); ++i) out[i] = entry_tail(item_metadata(db, txn, ids[i]));
  return out;
}

std::size_t refresh_cached_lists(const Database& db, const Txn& txn) {
  // Each entry's head (`{"item":<id>,"score":`) names its item: the new tail
  // of every item with metadata, by head.
  std::unordered_map<std::string, std::string> tails;
  {
    Cursor cursor = Cursor::open(txn, db.tables().item_meta);
    std::string_view k, v;
    for (bool ok = cursor.get(k, v, MDB_FIRST); ok; ok = cursor.get(k, v, MDB_NEXT)) {
      tails.emplace(entry_head(k), entry_tail(v));
    }
  }
  std::size_t rewritten = 0;
  const Dbi* tables[] = {&db.tables().user_recs, &db.tables().item_similar, &db.tables().popularity};
  ListBuilder builder;
  std::string entry;
  for (const Dbi* table : tables) {
    // Read everything first: a cursor must not walk a table being rewritten.
    std::vector<std::pair<std::string, std::string>> lists;
    {
      Cursor cursor = Cursor::open(txn, *table);
      std::string_view k, v;
      for (bool ok = cursor.get(k, v, MDB_FIRST); ok; ok = cursor.get(k, v, MDB_NEXT)) {
        ListView list = ListView::parse(v);
        builder.clear();
        for (std::uint32_t i = 0; i < list.size(); ++i) {
          std::string_view old = list.entry(i);
          std::size_t scored = scored_length(old);
          entry.assign(old.substr(0, scored));
          auto head_end = old.find(kScoreMark) + kScoreMark.size();
          if (auto it = tails.find(std::string(old.substr(0, head_end))); it != tails.end()) entry += it->second;
          entry += '}';
          builder.add_entry(entry);
        }
        lists.emplace_back(std::string(k), std::string(builder.finish(list.header().source, list.header().generation)));
      }
    }
    for (const auto& [key, bytes] : lists) table->put(txn, key, bytes);
    rewritten += lists.size();
  }
  return rewritten;
}

}  // namespace recsys::store
