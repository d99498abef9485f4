// Item metadata (recsys items): titles and other fields per item, shown in
// every answer beside the item id and used by request filters.
//
// Table item_meta: external item id -> one JSON object of the item's fields,
// e.g. {"title":"Kolya (1996)","genres":["Comedy"]}. Keyed by the external id,
// not the index, so metadata of items no rating mentions yet is kept and
// picked up when a later import or event brings them. meta "item_fields" holds
// the stored field names (a JSON array, title first) and meta
// "item_meta_version" a counter bumped by every `recsys items`, by which the
// events writer notices that its in-memory copy is stale. Format rules:
// docs/storage.md, "Item metadata".
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "store/database.hpp"

namespace recsys::store {

struct ItemMeta {
  std::string id;
  std::string json;  // a JSON object: {"title":"...",...}
};

// Replaces all metadata with `items` (sorted by id, no repeats) and records
// `fields`; inside the caller's write transaction.
void replace_item_metadata(const Database& db, const Txn& txn, std::span<const ItemMeta> items,
                           std::span<const std::string> fields);

// The stored JSON object of one item; nullopt when it has no metadata.
std::optional<std::string_view> item_metadata(const Database& db, const Txn& txn, std::string_view id);
// The "title" of an item's metadata, when it has one.
std::optional<std::string> item_title(const Database& db, const Txn& txn, std::string_view id);
std::size_t item_metadata_count(const Database& db, const Txn& txn);
// The stored field names, title first; empty when no metadata was loaded.
std::vector<std::string> item_fields(const Database& db, const Txn& txn);
// Bumped by every replace_item_metadata (0: never loaded).
std::uint32_t item_meta_version(const Database& db, const Txn& txn);

// The members of a metadata object as they follow the score in a list entry:
// {"title":"K"} -> `,"title":"K"`; "" for "{}" or no metadata.
std::string entry_tail(std::optional<std::string_view> object_json);
// entry_tail of every id in `ids` (index order), for list writers.
std::vector<std::string> entry_tails(const Database& db, const Txn& txn, std::span<const std::string> ids);

// Rewrites every cached list (user_recs, item_similar, popularity) so each
// entry carries the current metadata: `recsys items` runs it in its own
// transaction, so served bodies never show titles of two loads. Returns the
// number of lists rewritten.
std::size_t refresh_cached_lists(const Database& db, const Txn& txn);

}  // namespace recsys::store
