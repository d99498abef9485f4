// Id maps: external user/item ids (opaque byte strings, at most kMaxIdBytes)
// to dense u32 indexes and back. Tables user_ids/item_ids map the string to a
// little-endian u32; user_keys/item_keys map the native u32 (MDB_INTEGERKEY)
// back to the string. Indexes are assigned in order of first appearance and
// never reused: the maps are append-only, so a re-import keeps every index and
// stored models stay valid.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "store/database.hpp"

namespace recsys::store {

enum class IdKind { User, Item };

// LMDB's default maximum key size is 511 bytes. An id is a key of
// user_ids/item_ids and of the caches, and with one kind byte before it a key
// of `candidates` (store/candidates.hpp): new ids may have at most 510 bytes.
// Versions before 2026-11-27 took 511, so a stored id may have one byte more
// (kMaxStoredIdBytes): such an id is found and served, but has no candidates
// record (put_candidates skips it; filters answer from its plain list).
inline constexpr std::size_t kMaxIdBytes = 510;
inline constexpr std::size_t kMaxStoredIdBytes = 511;

const char* id_kind_name(IdKind kind);  // "user" or "item"

// Number of ids stored (= the next index to assign).
std::uint32_t id_count(const Database& db, const Txn& txn, IdKind kind);

std::optional<std::uint32_t> find_index(const Database& db, const Txn& txn, IdKind kind, std::string_view id);
// The view points into the map and is valid until the transaction ends.
std::optional<std::string_view> find_id(const Database& db, const Txn& txn, IdKind kind, std::uint32_t index);

// The index of `id`, adding it (as index id_count()) when it is new.
// `added`, when given, tells whether it was new. Throws on an empty or too long id.
std::uint32_t get_or_add_index(const Database& db, const Txn& txn, IdKind kind, std::string_view id,
                               bool* added = nullptr);

// The bulk import's id placement: returns the index of every ids[k] (distinct
// ids), adding those not stored yet at the end in order. Another writer (a live
// server's events) may have added some of them, or other ids, since the caller
// read the maps, so the result is only known inside the write transaction.
std::vector<std::uint32_t> append_ids(const Database& db, const Txn& txn, IdKind kind,
                                      const std::vector<std::string_view>& ids);

// Whole maps in memory, for serving and precompute.
std::vector<std::string> load_id_strings(const Database& db, const Txn& txn, IdKind kind);  // index -> id

struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};
using IdIndexMap = std::unordered_map<std::string, std::uint32_t, StringHash, std::equal_to<>>;
IdIndexMap load_id_index(const Database& db, const Txn& txn, IdKind kind);  // id -> index

// Throws std::invalid_argument unless `id` can be stored (non-empty, <= kMaxIdBytes).
void check_id(IdKind kind, std::string_view id);

}  // namespace recsys::store
