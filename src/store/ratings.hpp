// Stored ratings: per user (u32 index, MDB_INTEGERKEY) one value holding that
// user's RatingRecords packed and sorted by item, so one user's list is one
// lookup and an event merges into it cheaply. Totals (count, value range,
// feedback kind) live in `meta` under "ratings_stats" so `info` is O(1).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "store/database.hpp"

namespace recsys::store {

// 16 bytes, native byte order. LMDB values are not 8-byte aligned: decode with
// memcpy (decode_ratings), never by casting the stored pointer.
struct RatingRecord {
  std::uint32_t item;
  float value;
  std::int64_t timestamp;  // seconds since the epoch, 0 when unknown
};
static_assert(sizeof(RatingRecord) == 16, "RatingRecord is stored as 16 packed bytes");

// The largest rating value stored: import refuses larger ones (a wrong column,
// e.g. a timestamp) and events too; implicit sums saturate at it.
inline constexpr float kMaxRatingValue = 1e9f;

enum class Feedback : std::uint32_t { Unknown = 0, Implicit = 1, Explicit = 2 };
const char* feedback_name(Feedback f);  // "unknown", "implicit", "explicit"

// How a rating for a (user, item) pair already present combines with a new one:
// explicit ratings are replaced (last one wins), implicit values add up.
enum class DuplicatePolicy { LastWins, Sum };
inline DuplicatePolicy policy_for(Feedback f) {
  return f == Feedback::Implicit ? DuplicatePolicy::Sum : DuplicatePolicy::LastWins;
}

struct RatingStats {
  std::uint64_t count = 0;  // stored ratings
  float min_value = 0;      // range of stored values (after --append or events: a bound)
  float max_value = 0;
  Feedback feedback = Feedback::Unknown;  // whether the imported data had a rating column
};

// Decodes stored bytes (a multiple of 16) into `out` (replacing its content).
void decode_ratings(std::string_view bytes, std::vector<RatingRecord>& out);

std::vector<RatingRecord> get_user_ratings(const Database& db, const Txn& txn, std::uint32_t user);
// Replaces one user's list; `records` must be sorted by item without repeats
// (checked). An empty list deletes the entry. Does not touch the stats.
void put_user_ratings(const Database& db, const Txn& txn, std::uint32_t user, std::span<const RatingRecord> records,
                      unsigned int flags = 0);

// Merges `incoming` (any order; later entries win or add up per `policy`) into
// the user's stored list and updates the stats: the path of real-time events.
// Returns the user's list after the merge.
std::vector<RatingRecord> merge_user_ratings(const Database& db, const Txn& txn, std::uint32_t user,
                                             std::span<const RatingRecord> incoming, DuplicatePolicy policy);

// Sorts by item (stable: for equal items later entries come later) and folds
// repeats per `policy` (sums saturate at ±kMaxRatingValue, so repeated events
// never make a value infinite); returns the new length of `records`.
std::size_t sort_and_fold(std::span<RatingRecord> records, DuplicatePolicy policy);

// Calls fn(user, records) for every user with ratings, in user order. The span
// is only valid during the call.
void for_each_user_ratings(const Database& db, const Txn& txn,
                           const std::function<void(std::uint32_t, std::span<const RatingRecord>)>& fn);

// A hash of one user's stored ratings (items, values, timestamps; never 0,
// which stands for "no ratings"): tells whether a user's ratings changed
// between two snapshots (precompute against its own snapshot, and against
// the snapshot a model was trained on: models.hpp, user fingerprints).
std::uint64_t ratings_fingerprint(std::span<const RatingRecord> records);

// Removes every stored rating and resets the stats.
void clear_ratings(const Database& db, const Txn& txn);

std::size_t users_with_ratings(const Database& db, const Txn& txn);
RatingStats rating_stats(const Database& db, const Txn& txn);
void put_rating_stats(const Database& db, const Txn& txn, const RatingStats& stats);

}  // namespace recsys::store
