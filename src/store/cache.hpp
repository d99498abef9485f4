// The serving cache: ready-to-send ranked lists keyed by external id, written
// by precompute (and by real-time events for one user) and read by the server
// with one lookup. Tables: user_recs (user id -> list), item_similar (item id
// -> list), popularity ("fallback" -> list).
//
// A stored list (docs/storage.md, "Caches"):
//   ListHeader (12 bytes, native order) | u32 end offset of each entry | text
// where text is the entries' JSON `{"item":"242","score":0.93},{"item":...}`.
// Entry i spans text[end[i-1] + 1, end[i]) (the comma between entries is not
// part of either), so the first k entries are text[0, end[k-1]) and a response
// is that prefix wrapped in a small envelope: no JSON is built per request.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "store/database.hpp"

namespace recsys::store {

inline constexpr std::uint16_t kListFormat = 1;
inline constexpr std::string_view kFallbackKey = "fallback";

enum class ListSource : std::uint8_t { Model = 0, Fallback = 1 };
const char* list_source_name(ListSource s);  // "model" or "fallback"

struct ListHeader {
  std::uint16_t format = kListFormat;
  ListSource source = ListSource::Model;
  std::uint8_t reserved = 0;
  std::uint32_t generation = 0;  // model generation the scores come from
  std::uint32_t count = 0;       // entries
};
static_assert(sizeof(ListHeader) == 12);

enum class CacheTable { UserRecs, ItemSimilar, Popularity };

// A decoded view of stored list bytes (valid while the bytes are).
class ListView {
 public:
  // Throws std::runtime_error when the bytes are not a list of this format.
  static ListView parse(std::string_view bytes);

  const ListHeader& header() const { return header_; }
  std::uint32_t size() const { return header_.count; }
  // JSON of the first min(k, size()) entries, comma-separated.
  std::string_view prefix(std::size_t k) const;
  // JSON of entry i: {"item":...,"score":...}
  std::string_view entry(std::size_t i) const;
  // Whether entry i is for the item whose JSON-quoted id is `quoted_id`.
  bool entry_is(std::size_t i, std::string_view quoted_id) const;

 private:
  std::uint32_t end(std::size_t i) const;
  ListHeader header_;
  const char* ends_ = nullptr;
  std::string_view text_;
};

// Builds list values. Reusable: clear() keeps the buffers.
class ListBuilder {
 public:
  void clear();
  // `entry_head` is `{"item":<quoted id>,"score":` (see entry_head());
  // `tail` the item's metadata members, `,"title":...` (store/items.hpp).
  void add(std::string_view entry_head, float score, std::string_view tail = {});
  // Adds a whole entry `{"item":...}` as it is (refreshing stored lists).
  void add_entry(std::string_view entry);
  std::size_t size() const { return ends_.size(); }
  // The stored bytes for these entries.
  std::string_view finish(ListSource source, std::uint32_t generation);

 private:
  std::vector<std::uint32_t> ends_;
  std::string text_;
  std::string bytes_;
};

// `{"item":"<escaped id>","score":` for an item id: precomputed once per item.
// An entry is head, score, the item's metadata tail (may be empty), `}`.
std::string entry_head(std::string_view item_id);
// Appends a score the way lists store it: integers as integers, else 4
// significant digits (ranking needs order, not precision).
void append_score(std::string& out, float score);

std::optional<ListView> get_list(const Database& db, const Txn& txn, CacheTable table, std::string_view key);
void put_list(const Database& db, const Txn& txn, CacheTable table, std::string_view key, std::string_view bytes,
              unsigned int flags = 0);
// Empties the cache tables and the candidates (inside the precompute transaction).
void clear_caches(const Database& db, const Txn& txn);
std::size_t cache_entries(const Database& db, const Txn& txn, CacheTable table);

// The list answering for a user: their own, else the popularity fallback;
// nullopt only when nothing was precomputed yet.
std::optional<ListView> user_list(const Database& db, const Txn& txn, std::string_view user);
// The similar items of an item: its own list, else (a known item without
// factors, e.g. first seen in an event) the popularity fallback; nullopt for
// an unknown item or when nothing was precomputed yet.
std::optional<ListView> similar_list(const Database& db, const Txn& txn, std::string_view item);

// Appends a response body {"<key_name>":<id>,"model":G,"source":"...","items":[...]}
// with the first k entries of `list` that are not in `excluded` (JSON-quoted ids).
void append_body(std::string& out, std::string_view key_name, std::string_view id, const ListView& list,
                 std::size_t k, std::span<const std::string> excluded = {});

// The fallback ranking of every recommendable item, best first (meta
// "fallback_order", written by precompute with the lists): real-time events
// cut a user's own fallback from it, without the items the user rated.
struct RankedItem {
  std::uint32_t item;
  float score;
};
static_assert(sizeof(RankedItem) == 8, "RankedItem is stored as 8 packed bytes");
void put_fallback_order(const Database& db, const Txn& txn, std::span<const RankedItem> order);
// Decodes the first `limit` entries (all when limit is 0); empty when absent.
std::vector<RankedItem> fallback_order(const Database& db, const Txn& txn, std::size_t limit = 0);

// Removes one list (no-op when absent).
void delete_list(const Database& db, const Txn& txn, CacheTable table, std::string_view key);

// The k the stored lists were computed with (events recompute lists with it).
std::optional<std::uint32_t> cache_k(const Database& db, const Txn& txn);
void set_cache_k(const Database& db, const Txn& txn, std::uint32_t k);

}  // namespace recsys::store
