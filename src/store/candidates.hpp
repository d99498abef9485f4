// Deeper candidate lists for filtered requests (?genre=Comedy): precompute
// keeps the best `depth` items per user and per item besides the top-k bodies,
// as packed {u32 item index, f32 score} after a ListHeader. Only filtered
// requests read them, so the unfiltered path does not pay for the depth.
//
// Table candidates: "u" + external user id -> a user's candidates (unseen
// items, or the fallback without their items); "s" + external item id -> an
// item's most similar items. meta "cache_depth" (u32) is the depth precompute
// used; events write candidates with it. Users without a record get the
// stored fallback ranking (meta "fallback_order"). docs/storage.md, "Caches".
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "store/cache.hpp"
#include "store/database.hpp"

namespace recsys::store {

enum class CandidateKind : char { User = 'u', Similar = 's' };

struct Candidates {
  ListHeader header;              // source, generation, count
  std::vector<RankedItem> items;  // best first
};

std::string candidate_key(CandidateKind kind, std::string_view id);
// The stored bytes of a candidate list.
std::string encode_candidates(ListSource source, std::uint32_t generation, std::span<const RankedItem> items);
// An id of kMaxStoredIdBytes (stored by an older version) makes a key over
// LMDB's limit: it has no record. put and delete skip it, get finds nothing.
void put_candidates(const Database& db, const Txn& txn, CandidateKind kind, std::string_view id,
                    std::string_view bytes, unsigned int flags = 0);
void delete_candidates(const Database& db, const Txn& txn, CandidateKind kind, std::string_view id);
// nullopt when absent; throws on bytes that are not a candidate list.
std::optional<Candidates> get_candidates(const Database& db, const Txn& txn, CandidateKind kind, std::string_view id);
Candidates parse_candidates(std::string_view bytes);

std::optional<std::uint32_t> cache_depth(const Database& db, const Txn& txn);
void set_cache_depth(const Database& db, const Txn& txn, std::uint32_t depth);

}  // namespace recsys::store
